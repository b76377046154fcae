//! The model of `thingspace_alternating_password_rotation`: every attribute as Terraform sends and stores it, what the rules read from it, the
//! schema, and the checks of a configuration before any API call.

use crate::plugin::cty::{Attr, Number};
use crate::plugin::diagnostics::Diagnostic;
use crate::plugin::secret::Secret;
use crate::resources::block::Seed;

use crate::resources::schedule::{Last, RotationWindow, Triggers};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The resource type name users write in configurations.
pub const TYPE_NAME: &str = "thingspace_alternating_password_rotation";

/// The schema version of the state this code writes.
pub const SCHEMA_VERSION: i64 = 0;

/// A map from user name to password, as `current_passwords` and `current_passwords_wo` hold it.
pub type Passwords = BTreeMap<String, Attr<Secret>>;

/// Every attribute of the resource, as Terraform sends and stores it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    pub id: Attr<String>,
    pub usernames: Attr<Vec<Attr<String>>>,
    pub current_passwords: Attr<Passwords>,
    pub current_passwords_wo: Attr<Passwords>,
    pub current_passwords_wo_version: Attr<Number>,
    pub rotate_after: Attr<String>,
    pub rotation_period: Attr<String>,
    pub triggers: Attr<Triggers>,
    pub rotation_window: Attr<RotationWindow>,
    pub rotation_jitter: Attr<String>,
    pub next_window_start: Attr<String>,
    pub active_username: Attr<String>,
    pub active_password: Attr<Secret>,
    pub standby_username: Attr<String>,
    pub standby_password: Attr<Secret>,
    pub rotated_at: Attr<String>,
    pub blocked_reason: Attr<String>,
    pub standby_rotated_at: Attr<String>,
    pub max_password_age: Attr<String>,
    pub password_age_deadline: Attr<String>,
    pub retry_stored_password_version: Attr<Number>,
    pub verify_new_password: Attr<bool>,
    pub verified_at: Attr<String>,
}

/// A known, non-empty password from one of the seed maps.
fn map_password(map: &Attr<Passwords>, user: &str) -> Option<Secret> {
    map.known()
        .and_then(|m| m.get(user))
        .and_then(Attr::known)
        .filter(|p| !p.is_empty())
        .cloned()
}

/// Whether a seed map's entry for `user` may still turn out to be a password (it is unknown at plan time).
fn map_may_hold(map: &Attr<Passwords>, user: &str) -> bool {
    match map {
        Attr::Unknown => true,
        Attr::Null => false,
        Attr::Known(m) => match m.get(user) {
            Some(Attr::Unknown) => true,
            Some(Attr::Known(p)) => !p.is_empty(),
            _ => false,
        },
    }
}

impl Model {
    /// The two user names, when the list is known, holds exactly two known names, and they differ.
    pub fn names(&self) -> Option<[String; 2]> {
        match self.usernames.known().map(Vec::as_slice) {
            Some([Attr::Known(a), Attr::Known(b)]) if a != b => Some([a.clone(), b.clone()]),
            _ => None,
        }
    }

    /// The ID: the two names joined with `,` (no user name contains one).
    pub fn joined_id(&self) -> Attr<String> {
        match self.names() {
            Some([a, b]) => Attr::Known(format!("{a},{b}")),
            None => Attr::Unknown,
        }
    }

    /// The seed of `user` this object was planned or applied with: a re-seed of that user is another one.
    pub fn seed(&self, user: &str) -> Seed {
        Seed {
            current_password: map_password(&self.current_passwords, user),
            version: self.current_passwords_wo_version.known().cloned(),
        }
    }

    /// The password to log in as `user` with for a seeded rotation: `current_passwords_wo`, else
    /// `current_passwords`. Empty values count as unset.
    pub fn configured_password(&self, user: &str) -> Option<Secret> {
        map_password(&self.current_passwords_wo, user)
            .or_else(|| map_password(&self.current_passwords, user))
    }

    /// Whether a seed for `user` is configured, or may be once unknown values are known.
    pub fn seed_may_exist(&self, user: &str) -> bool {
        map_may_hold(&self.current_passwords_wo, user)
            || map_may_hold(&self.current_passwords, user)
    }

    /// Whether the seed identity is still unknown (a plan cannot tell a re-seed yet).
    pub fn seed_unknown(&self) -> bool {
        let unknown_map = |m: &Attr<Passwords>| match m {
            Attr::Unknown => true,
            Attr::Known(m) => m.values().any(Attr::is_unknown),
            Attr::Null => false,
        };
        unknown_map(&self.current_passwords) || self.current_passwords_wo_version.is_unknown()
    }

    /// The password this state holds for `user`, in either role.
    pub fn password_of(&self, user: &str) -> Option<&Secret> {
        if self.active_username.known().is_some_and(|u| u == user) {
            return self.active_password.known();
        }
        if self.standby_username.known().is_some_and(|u| u == user) {
            return self.standby_password.known();
        }
        None
    }

    /// `retry_stored_password_version` when known (see [`crate::resources::block::Block::retry_lifts`]).
    /// Whether each new password is proven by a log-in (`verify_new_password`, true unless set to false).
    pub fn verifies(&self) -> bool {
        !matches!(self.verify_new_password, Attr::Known(false))
    }

    pub fn retry(&self) -> Option<&Number> {
        self.retry_stored_password_version.known()
    }

    /// When the older of the two passwords was set: `standby_rotated_at`, else (a state written before it was kept)
    /// `rotated_at`, the earliest the provider can vouch for.
    pub fn oldest_set_at(&self) -> &Attr<String> {
        match &self.standby_rotated_at {
            Attr::Null => &self.rotated_at,
            other => other,
        }
    }

    /// The name the jitter offset is derived from: `usernames[0]`. A user belongs to one resource, so it is as
    /// stable and as distinct as the single resource's `username`.
    pub(super) fn jitter_key(&self) -> &Attr<String> {
        static UNKNOWN: Attr<String> = Attr::Unknown;
        static NULL: Attr<String> = Attr::Null;
        match &self.usernames {
            Attr::Known(names) => names.first().unwrap_or(&NULL),
            Attr::Unknown => &UNKNOWN,
            Attr::Null => &NULL,
        }
    }

    /// What the last rotation left in this state, as the shared schedule reads it.
    pub fn last(&self) -> Last<'_> {
        Last {
            triggers: &self.triggers,
            rotated_at: &self.rotated_at,
        }
    }
}

pub(super) fn usernames_error(detail: impl Into<String>) -> Diagnostic {
    Diagnostic::error("Invalid usernames", detail).at("usernames")
}
