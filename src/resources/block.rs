//! The evidence a failed rotation leaves so that no later run logs in with the same seed again: the seed an object
//! was planned with ([`Seed`]), the block ([`Block`], persisted in the private bytes and `blocked_reason`), how this
//! process notes one ([`Noted`]), and the messages that say what happened and what lifts it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plugin::cty::Number;
use crate::plugin::diagnostics::{Diagnostic, quote};
use crate::plugin::secret::Secret;
use crate::thingspace::{Effect, RotateError};
use crate::timefmt::format_rfc3339;

/// The configured seed an object was last planned or applied with. Another seed is a re-seed, and only a re-seed
/// lifts a block: a different `current_password`, or a different `current_password_wo_version`. No seed at all is
/// not a re-seed (see [`Seed::reseeds`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seed {
    /// `current_password`, when known and not empty.
    pub current_password: Option<Secret>,
    /// `current_password_wo_version`, when known.
    pub version: Option<Number>,
}

impl Seed {
    /// Whether any seed is configured.
    pub fn is_set(&self) -> bool {
        self.current_password.is_some() || self.version.is_some()
    }

    /// Whether this configured seed re-seeds an object last seeded with `before`. Removing the seed is not a
    /// re-seed: otherwise removing it would lift a block, and the next rotation would log in again with the password
    /// that was just rejected; and setting the same seed again afterwards is no re-seed either.
    pub fn reseeds(&self, before: &Seed) -> bool {
        self.is_set() && self != before
    }
}

/// The argument that allows one more log-in with the password in state after a block whose cause may have been
/// transient (see [`Block::retry_lifts`]). Both rotation resources call it the same.
pub const RETRY_ATTR: &str = "retry_stored_password_version";

/// What may have gone wrong, recorded so that no later run logs in with the same seed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// ThingSpace rejected a log-in: one failed log-in counted toward the lock-out.
    LoginRejected,
    /// ThingSpace refused a log-in because the user is locked: only Verizon support can unlock it.
    UserLocked,
    /// A log-in was sent and its outcome is unknown: it may have counted as a failed log-in.
    LoginUnknown,
    /// A reset was sent and its outcome is unknown: ThingSpace may hold a new password nobody knows.
    ResetUnknown,
    /// The log-in that verifies a password ThingSpace had just issued was rejected: the issued password is stored
    /// but unproven, and never sent again automatically.
    NewPasswordRejected,
    /// A block read from a `blocked_reason` attribute or an older provider's private bytes, kind not recorded.
    Unknown,
}

/// What the log-in that went wrong used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginWith {
    /// The password Terraform held in state (or handed over from the object a replacement replaces).
    Stored,
    /// The configured seed.
    Seed,
}

/// Evidence that logging in again with the same seed may fail and count toward ThingSpace's lock-out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// What happened.
    pub kind: BlockKind,
    /// When, in Unix seconds.
    pub at: i64,
    /// What the log-in used; `None` for a block recorded before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginWith>,
    /// [`RETRY_ATTR`] as configured when the block was recorded: only another value allows the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Number>,
    /// The kind of the earlier block this failed log-in retried (a move of [`RETRY_ATTR`]): what that block said
    /// still holds, and what happened now says more about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried: Option<BlockKind>,
}

/// How a resource's messages name the arguments that lift a block, for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remedy {
    /// The re-seed step, ending without a full stop: "set current_password_wo (or current_password) to the user's
    /// current password and change current_password_wo_version".
    pub reseed: String,
}

impl Remedy {
    /// The single resource's wording.
    pub fn single() -> Self {
        Remedy {
            reseed: "set current_password_wo (or current_password) to the user's current password and change \
current_password_wo_version"
                .to_owned(),
        }
    }
}

/// Whether `configured` (today's [`RETRY_ATTR`]) allows the retry a block recorded with `recorded` waits for: set, and
/// different. Removing it is no move, and neither is setting the recorded value again, as for a seed.
pub fn retry_moved(configured: Option<&Number>, recorded: Option<&Number>) -> bool {
    configured.is_some() && configured != recorded
}

impl Block {
    /// A block of `kind` at `at`, for a log-in with `login` while [`RETRY_ATTR`] was `retry`.
    pub fn new(
        kind: BlockKind,
        at: OffsetDateTime,
        login: LoginWith,
        retry: Option<Number>,
    ) -> Self {
        Self {
            kind,
            at: at.unix_timestamp(),
            login: Some(login),
            retry,
            retried: None,
        }
    }

    /// The same block, recorded by a log-in that retried `earlier` (see [`Block::retried`]).
    pub fn retrying(mut self, earlier: Option<&Block>) -> Self {
        self.retried = earlier.map(|b| b.retried.unwrap_or(b.kind));
        self
    }

    /// A block known only from a `blocked_reason` attribute (private bytes lost, or an older provider's): the kind
    /// and the time were not kept, and the retry value it waits for is the one the object shows.
    pub fn unrecorded(retry: Option<Number>) -> Self {
        Self {
            kind: BlockKind::Unknown,
            at: 0,
            login: None,
            retry,
            retried: None,
        }
    }

    /// Whether a log-in with the stored password may be made despite this block, with [`RETRY_ATTR`] configured as
    /// `configured`. A locked user waits for Verizon support whatever the password, so only a re-seed lifts that.
    pub fn retry_lifts(&self, configured: Option<&Number>) -> bool {
        !matches!(
            self.kind,
            BlockKind::UserLocked | BlockKind::NewPasswordRejected
        ) && retry_moved(configured, self.retry.as_ref())
    }

    /// The text of the `blocked_reason` attribute: what happened, when, and the steps that lift the block, in the
    /// resource's own words (`remedy`). Never holds a secret.
    pub fn reason(&self, remedy: &Remedy) -> String {
        format!("{} {}", self.what(), self.steps(remedy))
    }

    /// What happened, and when.
    pub fn what(&self) -> String {
        let when = OffsetDateTime::from_unix_timestamp(self.at)
            .ok()
            .filter(|_| self.at > 0)
            .map(format_rfc3339)
            .unwrap_or_else(|| "an unknown time".to_owned());
        let with = match self.login {
            Some(LoginWith::Stored) => " with the password in state",
            Some(LoginWith::Seed) => " with the configured seed",
            None => "",
        };
        match (self.kind, self.retried) {
            (BlockKind::LoginRejected, Some(BlockKind::ResetUnknown)) => format!(
                "ThingSpace rejected a log-in{with} at {when}, made to retry after a password reset that may have \
taken effect: it most likely did, so ThingSpace holds a new password Terraform never learnt (one failed log-in \
counts toward the lock-out after 5)."
            ),
            (BlockKind::LoginRejected, _) => format!(
                "ThingSpace rejected a log-in{with} at {when} (one failed log-in counts toward the lock-out after 5)."
            ),
            (BlockKind::UserLocked, _) => format!(
                "ThingSpace answered a log-in{with} at {when} that the user is locked; only Verizon support can \
unlock it."
            ),
            (BlockKind::LoginUnknown, _) => format!(
                "A log-in{with} at {when} got no usable answer and may have counted as a failed log-in."
            ),
            (BlockKind::ResetUnknown, _) => format!(
                "A password reset at {when}, after a log-in{with}, may have taken effect without Terraform learning \
the new password."
            ),
            (BlockKind::NewPasswordRejected, _) => format!(
                "ThingSpace rejected the password it had just issued: the log-in that verifies it failed at {when} \
(one failed log-in counts toward the lock-out after 5). The issued password is still stored in state as the only \
candidate for the real password, and no further log-in is made with it automatically."
            ),
            (BlockKind::Unknown, _) => {
                "An earlier log-in or reset may have failed in a way that makes the stored password unreliable."
                    .to_owned()
            }
        }
    }

    /// The steps that lift the block, in the resource's own words: a re-seed always, and a move of [`RETRY_ATTR`]
    /// where the cause may have been transient and the log-in used the password in state.
    pub fn steps(&self, remedy: &Remedy) -> String {
        let reseed = &remedy.reseed;
        let retry = format!(
            "change {RETRY_ATTR} (for example from 1 to 2): the next apply logs in once more with the password in \
state, and if that password no longer works, that one log-in fails and the resource blocks again"
        );
        match (self.kind, self.login) {
            (BlockKind::LoginRejected, _) if self.retried == Some(BlockKind::ResetUnknown) => {
                format!(
                    "Obtain the user's current password from ThingSpace (the portal, or Verizon support) and re-seed: \
{reseed}."
                )
            }
            (BlockKind::LoginRejected, _) => {
                format!("To rotate again, re-seed with the right password: {reseed}.")
            }
            (BlockKind::UserLocked, _) => format!(
                "No log-in is made until then. After the unlock, re-seed with the password Verizon support gives \
you: {reseed}."
            ),
            (BlockKind::LoginUnknown, Some(LoginWith::Seed)) => format!(
                "If ThingSpace was only briefly unavailable and the seed is right, re-seed with the same password \
(changing the version is enough): {reseed}."
            ),
            (BlockKind::LoginUnknown, _) => format!(
                "If ThingSpace was only briefly unavailable, {retry}. If the password was changed outside Terraform, \
re-seed: {reseed}."
            ),
            (BlockKind::ResetUnknown, Some(LoginWith::Seed)) => format!(
                "If the reset did not take effect (ThingSpace still accepts the seed), re-seed with the same password \
(changing the version is enough); otherwise obtain the user's current password from ThingSpace (the portal, or \
Verizon support) and re-seed with it: {reseed}."
            ),
            (BlockKind::ResetUnknown, _) => format!(
                "If it did not (ThingSpace was only briefly unavailable), {retry}. Otherwise obtain the user's \
current password from ThingSpace (the portal, or Verizon support) and re-seed: {reseed}."
            ),
            (BlockKind::NewPasswordRejected, _) => format!(
                "Ask Verizon support which password the user has (it may be the stored one), then re-seed with it: \
{reseed}."
            ),
            (BlockKind::Unknown, _) => format!(
                "If the password in state still works, {retry}; otherwise re-seed: {reseed}."
            ),
        }
    }
}

/// The error for a plan or apply that would log in with a blocked seed.
pub fn blocked_error(username: &str, reason: &str) -> Diagnostic {
    Diagnostic::error(
        "Rotation blocked to protect the user from ThingSpace's lock-out",
        format!(
            "The rotation for user {} needs a log-in, but it is blocked: {reason} ThingSpace locks a user after 5 \
consecutive failed log-ins and only Verizon support can unlock it, so this provider logs in with the same password \
at most once unless you say otherwise.",
            quote(username),
        ),
    )
    .at("current_password_wo_version")
}

/// The warning on a plan whose in-place rotation logs in as a blocked user: the plan goes on, so that other resources
/// of the configuration still rotate, and the apply refuses this one, before any log-in, keeping its state (an
/// error, so the run fails loudly). A create is refused at plan already: its apply could leave no state at all.
pub fn refused_at_apply(username: &str, reason: &str) -> Diagnostic {
    Diagnostic::warning(
        "Rotation blocked to protect the user from ThingSpace's lock-out",
        format!(
            "A rotation of user {} is due, but it is blocked: {reason} The apply refuses this rotation before any \
log-in and keeps the resource as it is; other resources still apply.",
            quote(username),
        ),
    )
    .at("current_password_wo_version")
}

/// The warning every plan of a blocked object shows, even when nothing is due.
pub fn blocked_warning(username: &str, reason: &str) -> Diagnostic {
    Diagnostic::warning(
        "Password rotation is blocked",
        format!(
            "Rotations for user {} are blocked: {reason} Until then no plan or apply logs in for this user.",
            quote(username),
        ),
    )
    .at("blocked_reason")
}

/// A block on one seed of a user, as this process noted it.
#[derive(Clone, Debug, PartialEq)]
pub struct Noted {
    /// The `blocked_reason` text.
    pub reason: String,
    /// [`RETRY_ATTR`] when the block was recorded (see [`Block::retry_lifts`]).
    pub retry: Option<Number>,
    /// Whether the block is of a locked user, which no retry lifts.
    pub locked: bool,
}

impl Noted {
    /// What `block` says, worded by `remedy`.
    pub fn of(block: &Block, remedy: &Remedy) -> Self {
        Noted {
            reason: block.reason(remedy),
            retry: block.retry.clone(),
            locked: block.kind == BlockKind::UserLocked,
        }
    }

    /// Whether a log-in with the stored password may be made despite this block (see [`Block::retry_lifts`]).
    pub fn retry_lifts(&self, configured: Option<&Number>) -> bool {
        !self.locked && retry_moved(configured, self.retry.as_ref())
    }
}

/// What a failed rotation leaves as evidence: `None` when nothing that counts happened at ThingSpace.
pub fn block_kind(e: &RotateError) -> Option<BlockKind> {
    match e.effect() {
        Effect::None => None,
        Effect::LoginRejected => Some(BlockKind::LoginRejected),
        Effect::UserLocked => Some(BlockKind::UserLocked),
        Effect::LoginUnknown => Some(BlockKind::LoginUnknown),
        Effect::ResetUnknown => Some(BlockKind::ResetUnknown),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Issue 22: the text of every block, as `blocked_reason` and the blocked error show it, keeps "ThingSpace"
    /// capitalised (no lower-casing helper) and has no doubled full stop.
    #[test]
    fn every_block_message_is_cleanly_worded() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let kinds = [
            BlockKind::NewPasswordRejected,
            BlockKind::LoginRejected,
            BlockKind::UserLocked,
            BlockKind::LoginUnknown,
            BlockKind::ResetUnknown,
            BlockKind::Unknown,
        ];
        let mut checked = 0;
        for kind in kinds {
            for login in [LoginWith::Stored, LoginWith::Seed] {
                for retried in [false, true] {
                    let block = Block::new(kind, at, login, None);
                    let block = if retried {
                        block.retrying(Some(&Block::new(BlockKind::LoginUnknown, at, login, None)))
                    } else {
                        block
                    };
                    let reason = block.reason(&Remedy::single());
                    let error = blocked_error("svc", &reason);
                    for text in [reason.as_str(), error.detail.as_str()] {
                        assert!(!text.contains("thingSpace"), "{text}");
                        assert!(!text.contains(".."), "{text}");
                        assert!(!text.contains(". ."), "{text}");
                    }
                    assert!(reason.starts_with(char::is_uppercase), "{reason}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 24);
    }
}
