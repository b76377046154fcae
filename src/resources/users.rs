//! The process-wide registry: what one provider process knows about each ThingSpace user across resource
//! instances: which seeds are blocked, which passwords the objects in state hold, and which instances claim the user
//! in this plan (the protocol is `claims.rs`; the evidence itself, `block.rs`).
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

use crate::plugin::secret::Secret;
use crate::resources::block::{Noted, Seed};
use crate::resources::claims::{ClaimKind, Claims, Conflict};

/// The per-user view of one provider process.
#[derive(Debug, Default)]
pub struct Users {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Default)]
struct Entry {
    /// Seeds of blocked objects seen in state, and seeds that failed in this process.
    blocked: Vec<(Seed, Noted)>,
    /// The password of the last object of this user seen in state, with the seed that object was planned with.
    password: Option<(Seed, Secret)>,
    /// Plans in this process that manage the user.
    claims: Claims,
    /// This process deleted an object of this user (the destroy half of a replacement, or a rename).
    deleted: bool,
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

    /// Claims `username` for one planned instance (see [`Claims::claim`]).
    pub fn claim(
        &self,
        username: &str,
        nonce: Option<u64>,
        kind: ClaimKind,
    ) -> Result<u64, Conflict> {
        self.with(username, |e| e.claims.claim(nonce, kind))
            .unwrap_or(Err(Conflict::Duplicate))
    }

    /// Records that an object of `username` is destroyed in this plan (see [`Claims::release`]).
    pub fn release(&self, username: &str) -> Result<(), Conflict> {
        self.with(username, |e| e.claims.release())
            .unwrap_or(Ok(()))
    }

    /// Records that the create with claim `nonce` rotated the password: it holds the current one now.
    pub fn settle(&self, username: &str, nonce: Option<u64>) {
        self.with(username, |e| e.claims.settle(nonce));
    }

    /// Whether this process deleted an object of this user: the create of a replacement then runs after the destroy,
    /// and without it (`create_before_destroy` creates first) the object it replaces is still in state.
    pub fn was_deleted(&self, username: &str) -> bool {
        self.with(username, |e| e.deleted).unwrap_or(false)
    }

    /// Notes that this process deleted the user's object from state.
    pub fn deleted(&self, username: &str) {
        self.with(username, |e| e.deleted = true);
    }

    /// Whether an object of `username` may leave state now (see [`Claims::may_delete`]).
    pub fn may_delete(&self, username: &str) -> bool {
        self.with(username, |e| e.claims.may_delete())
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
    use crate::resources::block::{Block, BlockKind, LoginWith, RETRY_ATTR, Remedy};
    use crate::resources::username::{username_error, username_problem};

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
            BlockKind::NewPasswordRejected,
            BlockKind::Unknown,
        ] {
            for with in [LoginWith::Stored, LoginWith::Seed] {
                let r = Block::new(kind, at, with, None).reason(&remedy);
                assert!(r.contains(&remedy.reseed), "{r}");
                // The retry is offered only where the cause may have been transient and the stored password used.
                let retry = match kind {
                    BlockKind::LoginUnknown | BlockKind::ResetUnknown => with == LoginWith::Stored,
                    BlockKind::Unknown => true,
                    BlockKind::LoginRejected
                    | BlockKind::UserLocked
                    | BlockKind::NewPasswordRejected => false,
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
