//! The HTTP client for the ThingSpace Connectivity Management API. It never sees Terraform types.
//!
//! Layout:
//! - [`client`]: the [`Client`] (one reqwest client and one shared OAuth token per process) and the rotation flow
//!   (log in, reset, log out) with the failures it reports.
//! - `config`: [`ClientConfig`], the `base_url` check and the endpoint URLs.
//! - `calls`: the log-in, reset and log-out requests; `token`: the shared OAuth token and its request.
//! - `retrying`: the one retry loop every call goes through, with a hook per call for what differs (the reset's new
//!   log-in after an expired session).
//! - [`retry`]: the retry policy, a pure function of (call, outcome, attempt, jitter); [`outcome`]: what a failure
//!   proves about a call's effect (not processed, refused, unknown).
//! - `http`: sending a request and reading its whole answer, critical sends, waits a stop cancels.
//! - [`network`]: where requests go (the base URL and its source, the proxy from the environment) and what a
//!   transport failure was (a name that does not resolve, a refused connection, a TLS or certificate failure);
//!   [`trust`]: the extra certificate authorities of `ca_file`.
//! - `answer`: reading success answers; [`parse_answer`] reads a whole answer the way the client does (fuzzed by
//!   `fuzz/fuzz_targets/thingspace_response.rs`, property-tested in `proptests`). `models`: the JSON bodies.
//! - [`error`]: the typed API error (all three error shapes) and call failures; `rotate_error`: a rotation's failure
//!   with the summary and detail a diagnostic needs and the [`Effect`] the resource records.
//! - `redact`: scrubbing secrets from server-supplied text in every encoding a server could echo them in.
//!
//! Tests run the client against the ThingSpace emulator in-process (`thingspace_emulator`, through the harness in
//! `testing`): `tests` by subject, and `proptests` with fixed seeds.
//!
//! Two facts shape everything here: a reset is not idempotent (a lost answer may mean a new password nobody knows),
//! and ThingSpace locks a user after 5 consecutive failed log-ins. So a log-in or a reset is sent again only after an
//! answer that proves the earlier send was not processed; a failure reports what it may have done (the [`Effect`]);
//! and once ThingSpace has handed out a new password, nothing can turn the rotation into an error.

mod answer;
mod calls;
pub mod client;
mod config;
pub mod error;
mod http;
mod models;
pub mod network;
pub mod outcome;
mod redact;
pub mod retry;
mod retrying;
mod rotate_error;
mod token;
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

pub use answer::{AnswerKind, parse_answer};
pub use client::{Client, Rotation};
pub use config::{ClientConfig, validate_base_url};
pub use error::{ApiError, BaseUrlError, Error, ErrorShape};
pub use network::{BaseUrlSource, ProxyConfig};
pub use redact::{ECHOED, redact};
pub use retry::{Policy, Verdict};
pub use rotate_error::{Effect, RotateError, Step};
pub use trust::CaBundle;
