//! What one provider process knows about each ThingSpace user across resource instances: which seeds are blocked,
//! which passwords the objects in state hold, and which instances claim the user in this plan.
//!
//! Terraform plans and applies every resource instance on its own, in parallel and in no fixed order, and it hides a
//! tainted object from the plan of its replacement (prior state and private bytes are null there). Two facts make a
//! process-wide view possible: every object in state, tainted or not, passes through `UpgradeResourceState` (and,
//! with refresh on, `ReadResource`) in the same process, before that instance is planned; and every instance of
//! the configuration is planned in the same process. So:
//! - an object's block and password are observed here before its replacement is planned (`observe`);
//! - two instances that manage one user are both planned here, and the second claim is refused (`claim`), whatever
//!   the order; likewise a destroy and a create of one user in one plan, which is a rename without `moved`
//!   (`release`).
//!
//! Nothing here is persisted: the evidence that outlives the process is in Terraform's state (`blocked_reason` and
//! the private bytes); this is how one process sees the evidence of the other instances.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plugin::cty::Number;
use crate::plugin::diagnostics::{Diagnostic, quote};
use crate::plugin::secret::Secret;
use crate::timefmt::format_rfc3339;

/// The longest user name accepted.
pub const USERNAME_MAX_CHARS: usize = 128;

/// Why `username` is not a ThingSpace user name, if it is not one.
///
/// ThingSpace user names are printable. The provider accepts 1 to 128 printable ASCII characters without spaces
/// and without `,` (which joins two user names in the ID of the alternating resource). Anything else is refused at
/// validate, before any log-in, and is never echoed raw (see [`quote`]).
pub fn username_problem(username: &str) -> Option<String> {
    if username.is_empty() {
        return Some("it is empty".to_owned());
    }
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Some(format!("it is longer than {USERNAME_MAX_CHARS} characters"));
    }
    if let Some(c) = username.chars().find(|c| !c.is_ascii_graphic()) {
        let what = if c == ' ' {
            "a space".to_owned()
        } else if c.is_control() {
            format!("the control character U+{:04X}", u32::from(c))
        } else {
            format!("the character U+{:04X}", u32::from(c))
        };
        return Some(format!("it contains {what}"));
    }
    if username.contains(',') {
        return Some("it contains \",\"".to_owned());
    }
    None
}

/// The error for an invalid user name at `attribute`.
pub fn username_error(attribute: &str, username: &str, problem: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Invalid {attribute}"),
        format!(
            "{} is not a ThingSpace user name: {problem}. User names are 1 to {USERNAME_MAX_CHARS} printable ASCII \
characters without spaces or commas.",
            quote(username)
        ),
    )
    .at(attribute)
}

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
        self.kind != BlockKind::UserLocked && retry_moved(configured, self.retry.as_ref())
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

/// Why a claim on a user name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Another instance in this plan already manages the user.
    Duplicate,
    /// The user's object is destroyed at one address and created at another in this plan.
    Renamed,
}

impl Conflict {
    /// The plan error for this conflict on `username`.
    pub fn diagnostic(self, username: &str) -> Diagnostic {
        match self {
            Conflict::Duplicate => Diagnostic::error(
                "Duplicate ThingSpace user name",
                format!(
                    "User {} is managed by more than one resource instance in this configuration. Each ThingSpace \
user must be managed by exactly one rotation resource: a second one would log in with a password the first has \
already replaced, and ThingSpace locks a user after 5 failed log-ins. Remove the duplicate (check count, for_each \
and modules). No API call was made.",
                    quote(username)
                ),
            )
            .at("username"),
            Conflict::Renamed => Diagnostic::error(
                "ThingSpace user moves to another resource address",
                format!(
                    "In this plan the object for user {} is destroyed at one address and created at another. The \
new object would log in with the configured seed, but the current password is the one in the old object's state. \
If you renamed the resource, add a moved block (moved {{ from = <old address>, to = <new address> }}) so the new \
address keeps the password. If you really mean to start over, first apply the removal, then create the new \
resource with a re-seed. No API call was made.",
                    quote(username)
                ),
            )
            .at("username"),
        }
    }
}

/// How a planned instance will manage its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimKind {
    /// An update of an object in state: it logs in (if at all) with that object's own password or a re-seed.
    Update,
    /// A create that logs in with the password of an object it takes over (a replacement).
    CreateWithHandoff,
    /// A create that logs in with the configured seed.
    CreateWithSeed,
}

#[derive(Clone, Copy, Debug)]
struct Claim {
    nonce: u64,
    kind: ClaimKind,
    /// A create whose rotation succeeded: the user's current password is in its state now.
    settled: bool,
}

/// The per-user view of one provider process.
#[derive(Debug, Default)]
pub struct Users {
    entries: Mutex<HashMap<String, Entry>>,
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

#[derive(Debug, Default)]
struct Entry {
    /// Seeds of blocked objects seen in state, and seeds that failed in this process.
    blocked: Vec<(Seed, Noted)>,
    /// The password of the last object of this user seen in state, with the seed that object was planned with.
    password: Option<(Seed, Secret)>,
    /// Plans in this process that manage the user.
    claims: Vec<Claim>,
    /// Whether a destroy of an object of this user was planned in this process.
    released: bool,
}

impl Users {
    fn with<T>(&self, username: &str, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        // A poisoned lock means another handler panicked mid-update; the guard turned that into a diagnostic, and the
        // data is still the best evidence there is.
        let mut map = match self.entries.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        Some(f(map.entry(username.to_owned()).or_default()))
    }

    /// Records an object of `username` seen in state: its password, and its block with the seed it applies to.
    pub fn observe(
        &self,
        username: &str,
        seed: &Seed,
        block: Option<Noted>,
        password: Option<&Secret>,
    ) {
        self.with(username, |e| {
            if let Some(noted) = block
                && !e.blocked.iter().any(|(s, _)| s == seed)
            {
                e.blocked.push((seed.clone(), noted));
            }
            if let Some(p) = password {
                e.password = Some((seed.clone(), p.clone()));
            }
        });
    }

    /// A block seen in this process for `username` that the configured `seed` does not lift: one recorded with the
    /// same seed, or any when no seed is configured (removing the seed is no re-seed, see [`Seed::reseeds`]).
    pub fn blocked(&self, username: &str, seed: &Seed) -> Option<Noted> {
        self.with(username, |e| {
            e.blocked
                .iter()
                .rev()
                .find(|(s, _)| !seed.reseeds(s))
                .map(|(_, r)| r.clone())
        })
        .flatten()
    }

    /// The password of an object of `username` seen in state, for the replacement of a tainted object, unless the
    /// configuration has re-seeded since (`seed` is set and differs from that object's): a re-seed logs in with the
    /// new seed.
    pub fn known_password(&self, username: &str, seed: &Seed) -> Option<Secret> {
        self.with(username, |e| {
            e.password
                .as_ref()
                .filter(|(s, _)| !seed.reseeds(s))
                .map(|(_, p)| p.clone())
        })
        .flatten()
    }

    /// The password of the last object of `username` seen in state, with the seed that object showed, for a
    /// resource that decides itself which seed changes count (the alternating resource: per user).
    pub fn password_of(&self, username: &str) -> Option<(Seed, Secret)> {
        self.with(username, |e| e.password.clone()).flatten()
    }

    /// Claims `username` for one planned instance. `nonce` is the claim carried from the update half of a
    /// replacement to its create half; it is the same instance, not a second claim. Returns the nonce to carry.
    ///
    /// Refused: a second instance for the user, and a create that logs in with the configured seed while an object of
    /// the user is destroyed in this plan (its password is the current one; a `moved` block keeps it).
    pub fn claim(
        &self,
        username: &str,
        nonce: Option<u64>,
        kind: ClaimKind,
    ) -> Result<u64, Conflict> {
        self.with(username, |e| {
            if let Some(c) = e.claims.iter_mut().find(|c| Some(c.nonce) == nonce) {
                c.kind = kind;
                return Ok(c.nonce);
            }
            if !e.claims.is_empty() {
                return Err(Conflict::Duplicate);
            }
            if e.released && kind == ClaimKind::CreateWithSeed {
                return Err(Conflict::Renamed);
            }
            let nonce = loop {
                let n = fastrand::u64(1..);
                if !e.claims.iter().any(|c| c.nonce == n) {
                    break n;
                }
            };
            e.claims.push(Claim {
                nonce,
                kind,
                settled: false,
            });
            Ok(nonce)
        })
        .unwrap_or(Err(Conflict::Duplicate))
    }

    /// Records that an object of `username` is destroyed in this plan (or leaves it by a change of user name).
    pub fn release(&self, username: &str) -> Result<(), Conflict> {
        self.with(username, |e| {
            e.released = true;
            if e.claims.iter().any(|c| c.kind == ClaimKind::CreateWithSeed) {
                Err(Conflict::Renamed)
            } else {
                Ok(())
            }
        })
        .unwrap_or(Ok(()))
    }

    /// Records that the create with claim `nonce` rotated the password: it holds the current one now.
    pub fn settle(&self, username: &str, nonce: Option<u64>) {
        self.with(username, |e| {
            for c in e.claims.iter_mut().filter(|c| Some(c.nonce) == nonce) {
                c.settled = true;
            }
        });
    }

    /// Whether an object of `username` may leave state now. Not while a create of the same user in this apply logs
    /// in with the configured seed and has not yet rotated: Terraform does not order the two when their addresses
    /// differ, and if that create fails, the object being destroyed holds the only copy of the current password.
    pub fn may_delete(&self, username: &str) -> bool {
        self.with(username, |e| {
            !e.claims
                .iter()
                .any(|c| c.kind == ClaimKind::CreateWithSeed && !c.settled)
        })
        .unwrap_or(true)
    }

    /// Records that a log-in or reset with `seed` failed in this process, so no other instance retries it here.
    pub fn record_failure(&self, username: &str, seed: &Seed, noted: Noted) {
        self.with(username, |e| {
            // The newest failure replaces an older note on the same seed: it carries the retry value now in force.
            e.blocked.retain(|(s, _)| s != seed);
            e.blocked.push((seed.clone(), noted));
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn seed(p: &str) -> Seed {
        Seed {
            current_password: Some(Secret::new(p)),
            version: None,
        }
    }

    #[test]
    fn user_names_are_printable_ascii_without_spaces_or_commas() {
        for ok in [
            "svc-ci",
            "a",
            "user@example.com",
            "A.b_c+d~!",
            &"x".repeat(128),
        ] {
            assert_eq!(username_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            (&"x".repeat(129) as &str, "longer than 128"),
            ("svc ci", "a space"),
            ("svc\u{1b}[31m", "U+001B"),
            ("svc\nci", "U+000A"),
            ("svc\u{7f}", "U+007F"),
            ("sv\u{e9}c", "U+00E9"),
            ("a,b", "\",\""),
        ] {
            let p = username_problem(bad).unwrap_or_default();
            assert!(p.contains(why), "{bad:?}: {p}");
        }
        let d = username_error("username", "svc\u{1b}[31m", "x");
        assert!(!d.detail.contains('\u{1b}'), "{}", d.detail);
    }

    #[test]
    fn a_second_claim_is_a_duplicate_unless_it_carries_the_first_claims_nonce() {
        use ClaimKind::*;
        let users = Users::default();
        let n = users.claim("alice", None, Update).unwrap();
        assert_eq!(
            users.claim("alice", Some(n), CreateWithHandoff),
            Ok(n),
            "the create half of a replacement"
        );
        assert_eq!(
            users.claim("alice", None, CreateWithSeed),
            Err(Conflict::Duplicate)
        );
        assert_eq!(
            users.claim("alice", Some(n + 1), Update),
            Err(Conflict::Duplicate)
        );
        assert!(
            users.claim("bob", None, CreateWithSeed).is_ok(),
            "other users are unaffected"
        );
    }

    #[test]
    fn a_destroy_and_a_claim_of_one_user_conflict_in_either_order() {
        use ClaimKind::*;
        let users = Users::default();
        users.release("alice").unwrap();
        assert_eq!(
            users.claim("alice", None, CreateWithSeed),
            Err(Conflict::Renamed)
        );
        let users = Users::default();
        users.claim("alice", None, CreateWithSeed).unwrap();
        assert_eq!(users.release("alice"), Err(Conflict::Renamed));
        let users = Users::default();
        users.release("alice").unwrap();
        users.release("alice").unwrap();
        // A create that takes over the destroyed object's password, or an update, is no conflict.
        let users = Users::default();
        users.release("alice").unwrap();
        assert!(users.claim("alice", None, CreateWithHandoff).is_ok());
        let users = Users::default();
        users.claim("alice", None, Update).unwrap();
        assert!(users.release("alice").is_ok());
    }

    #[test]
    fn an_object_stays_while_a_create_with_the_seed_has_not_rotated() {
        use ClaimKind::*;
        let users = Users::default();
        assert!(users.may_delete("alice"));
        let n = users.claim("alice", None, CreateWithSeed).unwrap();
        assert!(!users.may_delete("alice"));
        assert!(users.may_delete("bob"));
        users.settle("alice", Some(n));
        assert!(users.may_delete("alice"));
        let users = Users::default();
        users.claim("alice", None, CreateWithHandoff).unwrap();
        assert!(
            users.may_delete("alice"),
            "its destroy hands the password on"
        );
    }

    fn noted(reason: &str) -> Noted {
        Noted {
            reason: reason.to_owned(),
            retry: None,
            locked: false,
        }
    }

    #[test]
    fn blocks_apply_to_their_seed_only() {
        let users = Users::default();
        users.observe("alice", &seed("s1"), Some(noted("reason")), None);
        assert_eq!(
            users.blocked("alice", &seed("s1")).map(|n| n.reason),
            Some("reason".to_owned())
        );
        assert_eq!(users.blocked("alice", &seed("s2")), None);
        // Removing the seed is no re-seed: the block still applies.
        assert_eq!(
            users.blocked("alice", &Seed::default()).map(|n| n.reason),
            Some("reason".to_owned())
        );
        assert_eq!(users.blocked("bob", &seed("s1")), None);
        users.record_failure("bob", &seed("s1"), noted("failed here"));
        assert_eq!(
            users.blocked("bob", &seed("s1")).map(|n| n.reason),
            Some("failed here".to_owned())
        );
        users.observe("carol", &seed("s"), None, Some(&Secret::new("P1")));
        assert_eq!(
            users.known_password("carol", &seed("s")),
            Some(Secret::new("P1"))
        );
        assert_eq!(
            users.known_password("carol", &Seed::default()),
            Some(Secret::new("P1"))
        );
        assert_eq!(users.known_password("carol", &seed("re-seeded")), None);
        assert_eq!(users.known_password("alice", &seed("s1")), None);
        assert_eq!(
            users.password_of("carol"),
            Some((seed("s"), Secret::new("P1")))
        );
    }

    #[test]
    fn block_reasons_say_what_happened_and_the_fix_without_secrets() {
        let at = time::macros::datetime!(2027-03-10 12:00:00 UTC);
        let remedy = Remedy::single();
        for kind in [
            BlockKind::LoginRejected,
            BlockKind::UserLocked,
            BlockKind::LoginUnknown,
            BlockKind::ResetUnknown,
            BlockKind::Unknown,
        ] {
            for with in [LoginWith::Stored, LoginWith::Seed] {
                let r = Block::new(kind, at, with, None).reason(&remedy);
                assert!(r.contains(&remedy.reseed), "{r}");
                // The retry is offered only where the cause may have been transient and the stored password used.
                let retry = match kind {
                    BlockKind::LoginUnknown | BlockKind::ResetUnknown => with == LoginWith::Stored,
                    BlockKind::Unknown => true,
                    BlockKind::LoginRejected | BlockKind::UserLocked => false,
                };
                assert_eq!(r.contains(RETRY_ATTR), retry, "{kind:?} {with:?}: {r}");
            }
        }
        let reset =
            Block::new(BlockKind::ResetUnknown, at, LoginWith::Stored, None).reason(&remedy);
        assert!(reset.contains("2027-03-10T12:00:00Z"), "{reset}");
        let locked = Block::new(BlockKind::UserLocked, at, LoginWith::Stored, None);
        assert!(locked.reason(&remedy).contains("Verizon support"));
    }

    #[test]
    fn a_retry_is_a_move_to_another_value_and_never_lifts_a_lock() {
        let at = time::macros::datetime!(2027-03-10 12:00:00 UTC);
        let one = crate::plugin::cty::Number::from(1i64);
        let two = crate::plugin::cty::Number::from(2i64);
        let b = Block::new(
            BlockKind::LoginUnknown,
            at,
            LoginWith::Stored,
            Some(one.clone()),
        );
        assert!(!b.retry_lifts(None), "removing it is no move");
        assert!(!b.retry_lifts(Some(&one)), "the recorded value");
        assert!(b.retry_lifts(Some(&two)));
        let fresh = Block::new(BlockKind::ResetUnknown, at, LoginWith::Stored, None);
        assert!(fresh.retry_lifts(Some(&one)), "first set");
        let locked = Block::new(BlockKind::UserLocked, at, LoginWith::Stored, None);
        assert!(!locked.retry_lifts(Some(&two)));
        assert!(!Noted::of(&locked, &Remedy::single()).retry_lifts(Some(&two)));
        assert!(Noted::of(&b, &Remedy::single()).retry_lifts(Some(&two)));
    }
}
