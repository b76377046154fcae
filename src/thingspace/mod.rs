//! The HTTP client for the ThingSpace Connectivity Management API. It never sees Terraform types.
//!
//! Layout, bottom to top; each file imports only from the ones above it in this list:
//! - [`trust`]: the extra certificate authorities of `ca_file`; [`network`]: where requests go (the base URL and its
//!   source, the proxy from the environment) and what a transport failure was (a name that does not resolve, a
//!   refused connection, a TLS or certificate failure).
//! - `redact`: scrubbing secrets from server-supplied text in every encoding a server could echo them in.
//! - `config`: [`ClientConfig`] and the `base_url` check; [`endpoints`]: the one [`Call`] enumeration of the four
//!   calls, their paths and URLs; `models`: the JSON bodies.
//! - [`error`]: the error of one call, as types (all three error shapes, a failure on the wire, an unreadable answer).
//! - `answer`: reading answers, success and error; [`parse_answer`] reads a whole answer the way the client does
//!   (fuzzed by `fuzz/fuzz_targets/thingspace_response.rs`, property-tested in `proptests`).
//! - [`policy`]: the pure rules beside their tables: what a failure proves about a call's effect (its symptom and
//!   verdict: not processed, refused, unknown) and what to do next (wait, renew the token, log in again, stop).
//! - `transport`: the HTTP session (the two HTTP clients, timeouts, the stop signal, the secrets in play), plain and
//!   critical sends; it knows no call above it.
//! - `attempts`: the one retry loop over the transport and the policy; a failed call carries the verdict computed
//!   where its failure was classified.
//! - `token`: the shared OAuth token; `calls`: the log-in, reset and log-out as hooks of the loop.
//! - `rotate_error`: a rotation's failure with the summary and detail a diagnostic needs and the [`Effect`] the
//!   resource records, and the one translation from a call's failure into it.
//! - [`client`]: the [`Client`] and the rotation flow (log in, reset, log out); the only `impl Client`.
//!
//! Tests run the client against the ThingSpace emulator in-process (`thingspace_emulator`, through the harness in
//! `testing`): `tests` by subject, and `proptests` with fixed seeds.
//!
//! Two facts shape everything here: a reset is not idempotent (a lost answer may mean a new password nobody knows),
//! and ThingSpace locks a user after 5 consecutive failed log-ins. So a log-in or a reset is sent again only after an
//! answer that proves the earlier send was not processed; a failure reports what it may have done (the [`Effect`]);
//! and once ThingSpace has handed out a new password, nothing can turn the rotation into an error.

mod answer;
mod attempts;
mod calls;
pub mod client;
mod config;
pub mod endpoints;
pub mod error;
mod models;
pub mod network;
pub mod policy;
mod redact;
mod rotate_error;
mod token;
mod transport;
pub mod trust;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod proptests;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod testing;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use answer::{parse_answer, parse_error_body};
pub use client::{Client, Rotation, Verification};
pub use config::{BaseUrlError, ClientConfig, validate_base_url};
pub use endpoints::Call;
pub use error::{ApiError, Error, ErrorShape};
pub use network::{BaseUrlSource, ProxyConfig};
pub use policy::{Policy, Verdict};
pub use redact::{ECHOED, redact};
pub use rotate_error::{Effect, RotateError};
pub use trust::CaBundle;
