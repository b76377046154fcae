//! The HTTP client for the ThingSpace Connectivity Management API. It never sees Terraform types.
//!
//! Layout:
//! - [`client`]: configuration, the shared reqwest client and OAuth token, and the rotation flow
//!   (log in, reset, log out).
//! - [`retry`]: the retry policy, a pure function of (call, outcome, attempt, jitter), and the verdict of a final
//!   failure (not processed, refused, unknown).
//! - [`error`]: the typed API error (all three error shapes), call failures, and rotation failures with the summary
//!   and detail a diagnostic needs and the [`Effect`] the resource records.
//! - `redact`: scrubbing secrets from server-supplied text in every encoding a server could echo them in.
//! - `models`: the JSON bodies; [`parse_answer`] reads a whole answer the way the client does (fuzzed by
//!   `fuzz/fuzz_targets/thingspace_response.rs`, property-tested in `proptests`).
//!
//! Two facts shape everything here: a reset is not idempotent (a lost answer may mean a new password nobody knows),
//! and ThingSpace locks a user after 5 consecutive failed log-ins. So a log-in or a reset is sent again only after an
//! answer that proves the earlier send was not processed; a failure reports what it may have done (the [`Effect`]);
//! and once ThingSpace has handed out a new password, nothing can turn the rotation into an error.

pub mod client;
pub mod error;
mod models;
mod redact;
pub mod retry;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod fake;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod proptests;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use client::{AnswerKind, Client, ClientConfig, Rotation, parse_answer, validate_base_url};
pub use error::{ApiError, BaseUrlError, Effect, Error, ErrorShape, RotateError, Step};
pub use redact::{ECHOED, redact};
pub use retry::{Policy, Verdict};
