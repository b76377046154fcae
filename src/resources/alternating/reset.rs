//! One reset of the alternating resource, as the decision (`decide.rs`) names it and the private bytes (`private.rs`)
//! carry it from plan to apply: the user, and what its log-in uses.

use serde::{Deserialize, Serialize};

/// What a reset of an update logs in with (a create logs in with a hand-off from its plan, else the seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    /// The user's password in the prior state.
    Stored,
    /// The configured seed (`current_passwords_wo`, else `current_passwords`).
    Seed,
}

/// One reset: the user, and what its log-in uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    pub user: String,
    pub login: Login,
}
