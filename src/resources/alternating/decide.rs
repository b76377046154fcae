//! Which users an update of `thingspace_alternating_password_rotation` resets, in what order, logging in with what.
//! A pure function of (prior state, private bytes, configuration, now), so a plan, a saved plan, `-refresh=false` and
//! the apply all reach the same answer.
//!
//! Each user has a standing ([`standing`]), decided on its own:
//! - a user whose stored password is usable (no block) logs in with it; a move of the shared
//!   `current_passwords_wo_version` never makes it log in with its seed, which may be stale (a write-only value
//!   cannot be read back to tell). Only a change of its own `current_passwords` entry re-seeds it;
//! - a blocked user is re-seeded when its seed differs from the one the block was recorded with (a new entry, or a
//!   moved version); else a moved `retry_stored_password_version` allows one log-in with its stored password; else it
//!   stays blocked;
//! - a user the state holds no password for (after an import, or a create that did not finish) logs in with its seed.
//!
//! Users that log in with a seed or retry are reset first, standby before active, so the user reset last, which
//! becomes active, is the active one whenever possible. Otherwise, when the shared schedule
//! ([`crate::resources::schedule`]) says so, only the standby is reset, with the password in state; it then becomes
//! active. The active user is never touched by a scheduled rotation.

use time::OffsetDateTime;

use super::model::Model;
use super::private::{Private, UserBlock, blocked_users, remedy};
use super::reset::{Login, Reset};
use crate::plugin::diagnostics::{Diagnostic, quote};
use crate::plugin::secret::Secret;
use crate::resources::block::{Block, Noted};
use crate::resources::rotating::Rotating;
use crate::resources::schedule::{self, Timing};

/// The decision for an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resets {
    None,
    Steps(Vec<Reset>),
    /// An input is still unknown at plan time; the apply decides with the known values.
    Unknown,
}

/// Where one user stands for the next log-in (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub enum Standing {
    /// The stored password is usable: a scheduled rotation logs in with it.
    Clear,
    /// Log in with the configured seed: a re-seed, or no stored password.
    Seed,
    /// A moved `retry_stored_password_version` allows one log-in with the stored password despite the block.
    Retry,
    /// Blocked: no log-in as this user until a re-seed (or, where it applies, a retry).
    Blocked(UserBlock),
}

/// The order a full rotation resets the users in: standby first, then active; by `usernames` when the state has
/// no roles yet.
pub fn order(prior: &Model, names: &[String; 2]) -> [String; 2] {
    match (
        prior.standby_username.known(),
        prior.active_username.known(),
    ) {
        (Some(s), Some(a)) if names.contains(s) && names.contains(a) && s != a => {
            [s.clone(), a.clone()]
        }
        _ => names.clone(),
    }
}

/// The block of `user` in `prior`, as evidence: the one in the private bytes; else, when the private bytes hold
/// none at all (lost, or an older provider's), one known only from `blocked_reason`, which applies to the seed the
/// object shows and waits for a retry value other than the object's own.
pub fn user_block(prior: &Model, private: &Private, user: &str) -> Option<UserBlock> {
    if !private.blocks.is_empty() {
        return private.block_of(user).cloned();
    }
    let names = prior.names()?;
    let reason = prior.blocked_reason.known()?;
    blocked_users(reason, &names)
        .contains(&user.to_owned())
        .then(|| UserBlock {
            user: user.to_owned(),
            block: Block::unrecorded(prior.retry().cloned()),
            seed: Some(prior.seed(user)),
        })
}

/// Where `user` stands (see the module doc).
pub fn standing(prior: &Model, config: &Model, private: &Private, user: &str) -> Standing {
    let stored = prior.password_of(user).is_some();
    let configured = config.configured_password(user).is_some();
    match user_block(prior, private, user) {
        Some(b) => {
            let recorded = b.seed.clone().unwrap_or_else(|| prior.seed(user));
            if configured && config.seed(user).reseeds(&recorded) {
                Standing::Seed
            } else if stored && b.block.retry_lifts(config.retry()) {
                Standing::Retry
            } else {
                Standing::Blocked(b)
            }
        }
        None if !stored => Standing::Seed,
        None => {
            let entry = config.seed(user).current_password;
            let entry_changed = entry.is_some() && entry != prior.seed(user).current_password;
            if configured && entry_changed {
                Standing::Seed
            } else {
                Standing::Clear
            }
        }
    }
}

/// Decides an update.
pub fn decide(
    prior: &Model,
    config: &Model,
    private: &Private,
    now: OffsetDateTime,
) -> Result<Resets, Diagnostic> {
    let Some(names) = config.names() else {
        return Ok(Resets::Unknown);
    };
    let asked: Vec<Reset> = order(prior, &names)
        .into_iter()
        .filter_map(|user| {
            let login = match standing(prior, config, private, &user) {
                Standing::Seed => Login::Seed,
                Standing::Retry => Login::Stored,
                Standing::Clear | Standing::Blocked(_) => return None,
            };
            Some(Reset { user, login })
        })
        .collect();
    if !asked.is_empty() {
        return Ok(Resets::Steps(asked));
    }
    let verdict = schedule::due(&prior.last(), &config.schedule(), now)?;
    Ok(match verdict {
        Timing::Due(_) => match prior.standby_username.known() {
            Some(standby) => Resets::Steps(vec![Reset {
                user: standby.clone(),
                login: Login::Stored,
            }]),
            None => Resets::Unknown,
        },
        Timing::Unknown => Resets::Unknown,
        Timing::NotDue if config.seed_unknown() => Resets::Unknown,
        Timing::NotDue => Resets::None,
    })
}

/// The error for a reset of `user` that needs its configured seed when there is none (or only an empty one).
pub fn no_seed_error(user: &str) -> Diagnostic {
    Diagnostic::error(
        "No password to log in with",
        format!(
            "A rotation of user {0} is due and needs its password now, but neither current_passwords_wo nor \
current_passwords has a non-empty entry for it (an empty string counts as unset: a CI secret that is not defined \
expands to \"\"). No log-in was attempted. Set current_passwords_wo[{0}] (Terraform 1.11+, with a new \
current_passwords_wo_version) or current_passwords[{0}] to the user's password now.",
            quote(user)
        ),
    )
    .at("current_passwords_wo")
}

/// How a create logs in as `user`: with the hand-off (the password of the object it replaces), unless a block
/// stands in the way or the user is re-seeded; `Err` with the reason when a block stands.
pub fn create_login(
    config: &Model,
    private: &Private,
    known_block: Option<&Noted>,
    handoff: Option<&Secret>,
    user: &str,
) -> Result<Option<Secret>, String> {
    let configured = config.configured_password(user).is_some();
    // The update half of a replacement hands over its blocks with the seeds they were recorded with; a tainted
    // object's replacement finds them in the process-wide view, which already leaves out re-seeded ones.
    let block = match private.block_of(user) {
        Some(b) => {
            let recorded = b.seed.clone().unwrap_or_default();
            (!(configured && config.seed(user).reseeds(&recorded))).then(|| {
                let mut n = Noted::of(&b.block, &remedy(user));
                n.reason = b.reason();
                n
            })
        }
        None => known_block.cloned(),
    };
    match (block, handoff) {
        (Some(b), Some(h)) if b.retry_lifts(config.retry()) => Ok(Some(h.clone())),
        (Some(b), _) => Err(b.reason),
        (None, h) => Ok(h.cloned()),
    }
}
