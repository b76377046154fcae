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

/// What may have gone wrong, recorded so that no later run logs in with the same seed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// ThingSpace rejected a log-in: one failed log-in counted toward the lock-out.
    LoginRejected,
    /// A log-in was sent and its outcome is unknown: it may have counted as a failed log-in.
    LoginUnknown,
    /// A reset was sent and its outcome is unknown: ThingSpace may hold a new password nobody knows.
    ResetUnknown,
    /// A block read from a `blocked_reason` attribute or an older provider's private bytes, kind not recorded.
    Unknown,
}

/// Evidence that logging in again with the same seed may fail and count toward ThingSpace's lock-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// What happened.
    pub kind: BlockKind,
    /// When, in Unix seconds.
    pub at: i64,
}

/// The re-seed step every block message ends with.
pub const RESEED_STEP: &str = "To rotate again, re-seed: obtain the user's current password (from ThingSpace or \
Verizon support if the reset may have taken effect), set current_password_wo (or current_password) to it and change \
current_password_wo_version.";

impl Block {
    /// A block of `kind` at `at`.
    pub fn new(kind: BlockKind, at: OffsetDateTime) -> Self {
        Self {
            kind,
            at: at.unix_timestamp(),
        }
    }

    /// The text of the `blocked_reason` attribute: what happened, when, and the fix. Never holds a secret.
    pub fn reason(&self) -> String {
        let when = OffsetDateTime::from_unix_timestamp(self.at)
            .map(format_rfc3339)
            .unwrap_or_else(|_| "an unknown time".to_owned());
        let what = match self.kind {
            BlockKind::LoginRejected => format!(
                "ThingSpace rejected a log-in at {when} (one failed log-in counts toward the lock-out after 5)."
            ),
            BlockKind::LoginUnknown => format!(
                "A log-in at {when} got no usable answer and may have counted as a failed log-in."
            ),
            BlockKind::ResetUnknown => format!(
                "A password reset at {when} may have taken effect without Terraform learning the new password."
            ),
            BlockKind::Unknown => {
                "An earlier log-in or reset may have failed in a way that makes the stored password unreliable."
                    .to_owned()
            }
        };
        format!("{what} {RESEED_STEP}")
    }
}

/// The error for a plan or apply that would log in with a blocked seed.
pub fn blocked_error(username: &str, reason: &str) -> Diagnostic {
    Diagnostic::error(
        "Rotation blocked to protect the user from ThingSpace's lock-out",
        format!(
            "The rotation for user {} needs a log-in, but {} ThingSpace locks a user after 5 consecutive failed \
log-ins and only Verizon support can unlock it, so this provider logs in with the same seed at most once.",
            quote(username),
            lowercase_first(reason)
        ),
    )
    .at("current_password_wo_version")
}

/// The warning every plan of a blocked object shows, even when nothing is due.
pub fn blocked_warning(username: &str, reason: &str) -> Diagnostic {
    Diagnostic::warning(
        "Password rotation is blocked",
        format!(
            "Rotations for user {} are blocked: {} Until then no plan or apply logs in for this user.",
            quote(username),
            lowercase_first(reason)
        ),
    )
    .at("blocked_reason")
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
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

#[derive(Debug, Default)]
struct Entry {
    /// Seeds of blocked objects seen in state, and seeds that failed in this process.
    blocked: Vec<(Seed, String)>,
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
        block: Option<&str>,
        password: Option<&Secret>,
    ) {
        self.with(username, |e| {
            if let Some(reason) = block
                && !e.blocked.iter().any(|(s, _)| s == seed)
            {
                e.blocked.push((seed.clone(), reason.to_owned()));
            }
            if let Some(p) = password {
                e.password = Some((seed.clone(), p.clone()));
            }
        });
    }

    /// The `blocked_reason` of a block on `seed` for `username` seen in this process, if any.
    pub fn blocked(&self, username: &str, seed: &Seed) -> Option<String> {
        self.with(username, |e| {
            e.blocked
                .iter()
                .find(|(s, _)| s == seed)
                .map(|(_, r)| r.clone())
        })
        .flatten()
    }

    /// The password of an object of `username` seen in state, for the replacement of a tainted object, unless the
    /// configuration has re-seeded since (`seed` differs from that object's): a re-seed logs in with the new seed.
    pub fn known_password(&self, username: &str, seed: &Seed) -> Option<Secret> {
        self.with(username, |e| {
            e.password
                .as_ref()
                .filter(|(s, _)| s == seed)
                .map(|(_, p)| p.clone())
        })
        .flatten()
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
    pub fn record_failure(&self, username: &str, seed: &Seed, reason: &str) {
        self.observe(username, seed, Some(reason), None);
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

    #[test]
    fn blocks_apply_to_their_seed_only() {
        let users = Users::default();
        users.observe("alice", &seed("s1"), Some("reason"), None);
        assert_eq!(
            users.blocked("alice", &seed("s1")).as_deref(),
            Some("reason")
        );
        assert_eq!(users.blocked("alice", &seed("s2")), None);
        assert_eq!(users.blocked("bob", &seed("s1")), None);
        users.record_failure("bob", &seed("s1"), "failed here");
        assert_eq!(
            users.blocked("bob", &seed("s1")).as_deref(),
            Some("failed here")
        );
        users.observe("carol", &seed("s"), None, Some(&Secret::new("P1")));
        assert_eq!(
            users.known_password("carol", &seed("s")),
            Some(Secret::new("P1"))
        );
        assert_eq!(users.known_password("carol", &seed("re-seeded")), None);
        assert_eq!(users.known_password("alice", &seed("s1")), None);
    }

    #[test]
    fn block_reasons_say_what_happened_and_the_fix_without_secrets() {
        let at = time::macros::datetime!(2027-03-10 12:00:00 UTC);
        for kind in [
            BlockKind::LoginRejected,
            BlockKind::LoginUnknown,
            BlockKind::ResetUnknown,
            BlockKind::Unknown,
        ] {
            let r = Block::new(kind, at).reason();
            assert!(r.ends_with(RESEED_STEP), "{r}");
        }
        assert!(
            Block::new(BlockKind::ResetUnknown, at)
                .reason()
                .contains("2027-03-10T12:00:00Z")
        );
    }
}
