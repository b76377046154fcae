//! Which users an update of `thingspace_alternating_password_rotation` resets, in what order, logging in with what.
//! A pure function of (prior state, configuration, now), so a plan, a saved plan, `-refresh=false` and the apply
//! all reach the same answer.
//!
//! - A user the state holds no password for (after an import, or a create that did not finish) is reset with its
//!   configured seed, and so is a user whose seed changed (a re-seed). The standby goes first, so the user reset
//!   last, which becomes active, is the active one whenever possible.
//! - Otherwise, when the shared schedule ([`crate::resources::schedule`]) says so, only the standby is reset, with
//!   the password in state; it then becomes active. The active user is never touched by a scheduled rotation.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Model;
use crate::plugin::diagnostics::Diagnostic;
use crate::resources::schedule::{self, Verdict};

/// What a reset of an update logs in with (a create logs in with a hand-off from its plan, else the seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    /// The user's password in the prior state.
    Stored,
    /// The configured seed (`current_passwords_wo`, else `current_passwords`).
    Seed,
}

/// One reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub user: String,
    pub login: Login,
}

/// The decision for an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    None,
    Steps(Vec<Step>),
    /// An input is still unknown at plan time; the apply decides with the known values.
    Unknown,
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

/// Whether `user` is re-seeded: its seed differs from the one the state was applied with, and there is a password
/// to log in with.
pub fn reseeded(prior: &Model, config: &Model, user: &str) -> bool {
    config.seed(user) != prior.seed(user) && config.configured_password(user).is_some()
}

/// Decides an update.
pub fn decide(prior: &Model, config: &Model, now: OffsetDateTime) -> Result<Decision, Diagnostic> {
    let Some(names) = config.names() else {
        return Ok(Decision::Unknown);
    };
    let seeded: Vec<Step> = order(prior, &names)
        .into_iter()
        .filter(|u| prior.password_of(u).is_none() || reseeded(prior, config, u))
        .map(|user| Step {
            user,
            login: Login::Seed,
        })
        .collect();
    if !seeded.is_empty() {
        return Ok(Decision::Steps(seeded));
    }
    let verdict = schedule::due(&prior.last(), &config.schedule(), now)?;
    Ok(match verdict {
        Verdict::Due(_) => match prior.standby_username.known() {
            Some(standby) => Decision::Steps(vec![Step {
                user: standby.clone(),
                login: Login::Stored,
            }]),
            None => Decision::Unknown,
        },
        Verdict::Unknown => Decision::Unknown,
        Verdict::NotDue if config.seed_unknown() => Decision::Unknown,
        Verdict::NotDue => Decision::None,
    })
}
