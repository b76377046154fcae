//! The HTTP client for the ThingSpace Connectivity Management API. It never sees Terraform types.
//!
//! Layout:
//! - [`client`]: configuration, the shared reqwest client and OAuth token, and the rotation flow
//!   (log in, reset, log out).
//! - [`retry`]: the retry policy, a pure function of (call, outcome, attempt, jitter).
//! - [`error`]: the typed API error (all three error shapes), call failures, and rotation failures with the summary
//!   and detail a diagnostic needs.
//! - `models`: the JSON bodies; [`parse_answer`] reads a whole answer the way the client does (fuzzed by
//!   `fuzz/fuzz_targets/thingspace_response.rs`, property-tested in `proptests`).
//!
//! Two facts shape everything here: a reset is not idempotent (a lost answer may mean a new password nobody knows),
//! and ThingSpace locks a user after 5 consecutive failed log-ins. So a reset is never repeated blindly, a failed
//! log-in is never retried, and once ThingSpace has handed out a new password, nothing can turn the rotation into an
//! error.

pub mod client;
pub mod error;
mod models;
pub mod retry;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod proptests;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;

pub use client::{AnswerKind, Client, ClientConfig, Rotation, parse_answer, validate_base_url};
pub use error::{ApiError, BaseUrlError, Error, ErrorShape, Probe, RotateError, Step};
pub use retry::Policy;
