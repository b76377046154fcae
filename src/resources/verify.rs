//! Proof of every issued password, shared by both rotation resources: the `verify_new_password` and `verified_at`
//! attributes, and what an apply makes of a [`Verification`] (a log-in with the password ThingSpace just issued).

use time::OffsetDateTime;

use crate::plugin::cty::{Attr, Type};
use crate::plugin::diagnostics::{Diagnostic, quote};
use crate::plugin::schema::{Attribute, Presence};
use crate::resources::block::{Block, BlockKind, LoginWith};
use crate::thingspace::{Effect, RotateError, Verification};
use crate::timefmt::format_rfc3339;

/// The two attributes; `password` names the attribute that holds the password verified.
pub fn verification_attributes(password: &'static str) -> Vec<Attribute> {
    let (verify, verified): (&'static str, &'static str) = match password {
        "password" => (
            "Whether each new password is proven before the apply completes: after the reset, the provider logs in \
once with the new password and logs out (the same log-in every consumer will make). Default `true`. A rejection \
blocks the resource (ThingSpace rejected the password it had just issued: no further log-in is made with it); an \
unknown outcome is a warning, and the next plan offers the verification again without a reset.",
            "RFC 3339 UTC time the current `password` was proven by a log-in. Null when it was not (yet) verified: \
`verify_new_password = false`, a verification whose outcome was unknown (the next plan offers it again), or a \
state from before verification existed.",
        ),
        _ => (
            "Whether each new password is proven before the apply completes: after each reset, the provider logs in \
once as that user with the new password and logs out. Default `true`. A rejection blocks that user (ThingSpace \
rejected the password it had just issued: no further log-in is made with it); an unknown outcome is a warning, and \
the next plan offers the verification again without a reset.",
            "RFC 3339 UTC time `active_password` was proven by a log-in. Null when it was not (yet) verified.",
        ),
    };
    vec![
        Attribute::new(
            "verify_new_password",
            Type::Bool,
            Presence::Optional,
            verify,
        ),
        Attribute::new("verified_at", Type::String, Presence::Computed, verified),
    ]
}

/// What an apply records of one verification.
pub enum Verified {
    /// Proven now: `verified_at`.
    At(Attr<String>),
    /// Not asked for, or not done: `verified_at` is null; `pending` when the next plan should offer it again, with
    /// the warning that says so.
    Unproven {
        pending: bool,
        warning: Option<Diagnostic>,
    },
    /// ThingSpace refused the issued password: the block to record, and the error to return.
    Refused { block: Block, error: Diagnostic },
}

/// The record of `verification` for `username`'s new password, made at `now` while `retry_stored_password_version`
/// was `retry`; `remedy` is the resource's re-seed step.
pub fn record(
    username: &str,
    verification: Verification,
    now: OffsetDateTime,
    retry: Option<crate::plugin::cty::Number>,
    remedy: &crate::resources::block::Remedy,
) -> Verified {
    match verification {
        Verification::Skipped => Verified::Unproven {
            pending: false,
            warning: None,
        },
        Verification::Verified => Verified::At(Attr::Known(format_rfc3339(now))),
        Verification::Unknown(e) => Verified::Unproven {
            pending: true,
            warning: Some(unverified_warning(username, &e)),
        },
        Verification::Rejected(e) => {
            let kind = if e.effect() == Effect::UserLocked {
                BlockKind::UserLocked
            } else {
                BlockKind::NewPasswordRejected
            };
            let block = Block::new(kind, now, LoginWith::Stored, retry);
            let error = Diagnostic::error(
                format!(
                    "ThingSpace rejected the password it had just issued for user {}",
                    quote(username)
                ),
                format!(
                    "The reset succeeded, but the log-in that verifies the new password failed: {}. {} The resource is \
now blocked. {}",
                    e.detail(),
                    "The issued password is stored in state all the same, as `password`: it is the only candidate \
for the real password, and no further log-in is made with it automatically (each failed log-in counts toward \
ThingSpace's lock-out after 5).",
                    block.steps(remedy)
                ),
            );
            Verified::Refused { block, error }
        }
    }
}

/// The warning for a verification whose outcome is unknown (or that was not sent).
pub fn unverified_warning(username: &str, e: &RotateError) -> Diagnostic {
    Diagnostic::warning(
        format!("New password for user {} not verified", quote(username)),
        format!(
            "The new password is stored in state, but the log-in that verifies it did not give a usable answer: {}. \
verified_at stays null, and the next plan offers the verification again (one log-in, no reset).",
            e.summary()
        ),
    )
}

/// The warning of a plan that verifies a stored password without a reset.
pub fn verification_planned(username: &str) -> Diagnostic {
    Diagnostic::warning(
        format!("Verification planned for user {}", quote(username)),
        "The last new password was not verified (the log-in that proves it gave no usable answer). This apply logs \
in once with it and logs out; no reset is made."
            .to_owned(),
    )
}
