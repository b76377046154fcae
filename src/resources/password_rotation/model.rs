//! The model of `thingspace_password_rotation`: every attribute as Terraform sends and stores it, what the rules read from it, the
//! schema, and the checks of a configuration before any API call.

use crate::plugin::cty::{Attr, Number};
use crate::plugin::secret::Secret;
use crate::resources::block::Seed;

use crate::resources::schedule::{Last, RotationWindow, Triggers};
use serde::{Deserialize, Serialize};

/// The resource type name users write in configurations.
pub const TYPE_NAME: &str = "thingspace_password_rotation";

/// The schema version of the state this code writes. Version 0 predates `rotation_period`, `triggers` and the
/// write-only seed; [`upgrade()`] carries such states forward. `blocked_reason` was added within version 1: a state
/// without it reads as not blocked.
pub const SCHEMA_VERSION: i64 = 1;

/// Every attribute of the resource, as Terraform sends and stores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    pub id: Attr<String>,
    pub username: Attr<String>,
    pub current_password: Attr<Secret>,
    pub current_password_wo: Attr<Secret>,
    pub current_password_wo_version: Attr<Number>,
    pub rotate_after: Attr<String>,
    pub rotation_period: Attr<String>,
    pub triggers: Attr<Triggers>,
    pub rotation_window: Attr<RotationWindow>,
    pub rotation_jitter: Attr<String>,
    pub next_window_start: Attr<String>,
    pub password: Attr<Secret>,
    pub rotated_at: Attr<String>,
    pub blocked_reason: Attr<String>,
    pub max_password_age: Attr<String>,
    pub password_age_deadline: Attr<String>,
    pub retry_stored_password_version: Attr<Number>,
    pub verify_new_password: Attr<bool>,
    pub verified_at: Attr<String>,
}

impl Model {
    /// The seed this object was planned or applied with (see [`Seed`]). An empty `current_password` is no seed.
    pub fn seed(&self) -> Seed {
        Seed {
            current_password: self
                .current_password
                .known()
                .filter(|p| !p.is_empty())
                .cloned(),
            version: self.current_password_wo_version.known().cloned(),
        }
    }

    /// The password to log in with for a re-seed: `current_password_wo`, else `current_password`. An empty value
    /// (a CI secret that was never set expands to "") is no password: logging in with it would only cost a failed
    /// log-in.
    pub fn configured_password(&self) -> Option<Secret> {
        self.current_password_wo
            .known()
            .filter(|p| !p.is_empty())
            .or(self.current_password.known().filter(|p| !p.is_empty()))
            .cloned()
    }

    /// Whether each new password is proven by a log-in (`verify_new_password`, true unless set to false).
    pub fn verifies(&self) -> bool {
        !matches!(self.verify_new_password, Attr::Known(false))
    }

    /// `retry_stored_password_version` when known (see [`crate::resources::block::Block::retry_lifts`]).
    pub fn retry(&self) -> Option<&Number> {
        self.retry_stored_password_version.known()
    }

    /// What the last rotation left in this state, as the shared schedule reads it.
    pub fn last(&self) -> Last<'_> {
        Last {
            triggers: &self.triggers,
            rotated_at: &self.rotated_at,
        }
    }
}
