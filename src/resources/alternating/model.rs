//! The model of `thingspace_alternating_password_rotation`: every attribute as Terraform sends and stores it, what the rules read from it, the
//! schema, and the checks of a configuration before any API call.

use crate::plugin::cty::{Attr, Number, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::plugin::secret::Secret;
use crate::resources::block::Seed;
use crate::resources::rotating::Rotating;
use crate::resources::schedule::{self, Last, RotationWindow, Triggers};
use crate::resources::username::{username_error, username_problem};
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

/// The resource schema, with the Markdown descriptions the generated docs are built from.
pub fn schema() -> Schema {
    use Presence::*;
    let string_map = || Type::Map(Box::new(Type::String));
    Schema {
        version: SCHEMA_VERSION,
        description: "Rotates the passwords of two ThingSpace Connectivity Management API users in turn, so \
consumers never break: each rotation resets the user consumers are *not* using (the standby), then publishes it as \
the active one. The previously active user's password keeps working until the next rotation. Use it when consumers \
log in with the rotated password and cannot all pick up a new one at the same moment.",
        attributes: vec![
            Attribute::new(
                "id",
                Type::String,
                Computed,
                "The two user names joined with `,`, in the order of `usernames`. Also the import ID.",
            ),
            Attribute::new(
                "usernames",
                Type::list(Type::String),
                Required,
                "Exactly two distinct ThingSpace (M2M) users of the same account that take turns: 1 to 128 \
printable ASCII characters each, without spaces or commas. The first apply rotates `usernames[0]`, then \
`usernames[1]`, which becomes the active user. Changing the list replaces the resource. Each user may be managed \
by only one resource instance of either rotation resource type.",
            )
            .requires_replace(),
            Attribute::new(
                "current_passwords",
                string_map(),
                Optional,
                "The users' passwords now, keyed by user name: used to log in for the first rotation of each user \
(and again for a user whose entry changes: a re-seed). Stored in state; prefer `current_passwords_wo` on \
Terraform 1.11 and later. An empty string counts as unset. Conflicts with `current_passwords_wo`.",
            )
            .sensitive(),
            Attribute::new(
                "current_passwords_wo",
                string_map(),
                Optional,
                "Write-only (Terraform 1.11 and later): the users' passwords now, keyed by user name, never stored \
in state or plan. Used for the first rotation, and again when `current_passwords_wo_version` changes (which \
re-seeds every user it holds a password for). An empty string counts as unset. Conflicts with `current_passwords`.",
            )
            .sensitive()
            .write_only(),
            Attribute::new(
                "current_passwords_wo_version",
                Type::Number,
                Optional,
                "Change this number to re-seed the users that need it: a blocked user, and a user the state holds no \
password for, log in once with their entry in `current_passwords_wo` (or `current_passwords`) and are rotated. A \
user whose password in state still works is never logged in with its seed because the version moved: its entry \
may be stale, and it keeps using its stored password. Use it after a block (see `blocked_reason`).",
            ),
            Attribute::new(
                "retry_stored_password_version",
                Type::Number,
                Optional,
                "Change this number to allow one more log-in, with the password in state, as each blocked user whose \
block may have had a transient cause (a log-in or a reset that got no usable answer; `blocked_reason` says which): \
the next apply logs in once as that user with its stored password, not a seed, and rotates it. Each change allows \
one log-in per blocked user, so it costs at most one failed log-in each; if the stored password no longer works, the \
user blocks again. It changes nothing while no user is blocked, and does not lift the block of a locked user. After \
a rejected password, re-seed instead.",
            ),
            Attribute::new(
                "rotate_after",
                Type::String,
                OptionalComputed,
                "RFC 3339 time after which the next plan rotates the standby user. A fixed time in the past rotates \
once, not on every apply. When unset and `rotation_period` is set, it is computed as `rotated_at` + \
`rotation_period`; when both are unset it is null.",
            ),
            Attribute::new(
                "rotation_period",
                Type::String,
                Optional,
                "How often to rotate: a Go duration with the extra unit `d` for days (`\"45d\"`, `\"1080h\"`), from \
`1s` to 100 years (`\"36500d\"`). Each user's password then lives for two periods: one active, one standby. Sets \
`rotate_after` to `rotated_at` + this period unless `rotate_after` is set.",
            ),
            Attribute::new(
                "triggers",
                Type::Map(Box::new(Type::String)),
                Optional,
                "Arbitrary map of strings; any change to it rotates the standby user in place.",
            ),
            Attribute::new(
                "active_username",
                Type::String,
                Computed,
                "The user consumers should log in as now: the one rotated last. Unknown in a plan that rotates, so \
resources that use it update in the same apply.",
            ),
            Attribute::new(
                "active_password",
                Type::String,
                Computed,
                "The password of `active_username`, generated by ThingSpace at the last rotation.",
            )
            .sensitive(),
            Attribute::new(
                "standby_username",
                Type::String,
                Computed,
                "The previously active user. Its password keeps working until the next rotation resets it.",
            ),
            Attribute::new(
                "standby_password",
                Type::String,
                Computed,
                "The password of `standby_username`: still valid, so consumers that have not yet picked up the \
active pair keep working. The next rotation logs in with it.",
            )
            .sensitive(),
            Attribute::new(
                "rotated_at",
                Type::String,
                Computed,
                "RFC 3339 UTC time of the last rotation: when `active_username`'s password was set.",
            ),
            Attribute::new(
                "standby_rotated_at",
                Type::String,
                Computed,
                "RFC 3339 UTC time at which `standby_username`'s password was set: the rotation before the last \
one (the create's time after a create). The older of the two passwords, so `password_age_deadline` counts from it.",
            ),
            Attribute::new(
                "blocked_reason",
                Type::String,
                Computed,
                "Null while rotations can run. Set, naming the user, when a log-in was rejected, a log-in got no \
usable answer, or a reset may have taken effect unseen: then no plan or apply logs in as that user with the same \
seed again (ThingSpace locks a user after 5 failed log-ins), every plan warns, and a rotation that needs a log-in as \
that user is an error until a re-seed of it (a new entry in `current_passwords`, or `current_passwords_wo` with a \
new `current_passwords_wo_version`).",
            ),
        ]
        .into_iter()
        .chain(schedule::schema_attributes(2))
        .collect(),
    }
}

fn usernames_error(detail: impl Into<String>) -> Diagnostic {
    Diagnostic::error("Invalid usernames", detail).at("usernames")
}

/// Errors in a configuration, found before any API call. `write_only_allowed` is Terraform's client capability.
pub fn validate(config: &Model, write_only_allowed: bool) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Attr::Known(list) = &config.usernames {
        if list.len() != 2 {
            diags.push(usernames_error(format!(
                "usernames must list exactly 2 ThingSpace users that take turns; it lists {}.",
                list.len()
            )));
        }
        for u in list.iter().filter_map(Attr::known) {
            if let Some(problem) = username_problem(u) {
                diags.push(username_error("usernames", u, &problem));
            }
        }
        if let [Attr::Known(a), Attr::Known(b)] = list.as_slice()
            && a == b
        {
            diags.push(usernames_error(format!(
                "usernames lists user {} twice. List two different users: each rotation resets the one consumers \
are not using.",
                quote(a)
            )));
        }
    }
    diags.extend(schedule::validate(&config.schedule()));
    if !config.current_passwords.is_null() && !config.current_passwords_wo.is_null() {
        diags.push(
            Diagnostic::error(
                "Conflicting current passwords arguments",
                "Set only one of current_passwords and current_passwords_wo: both name the users' passwords now.",
            )
            .at("current_passwords_wo"),
        );
    }
    if !config.current_passwords_wo.is_null() && !write_only_allowed {
        diags.push(
            Diagnostic::error(
                "current_passwords_wo needs Terraform 1.11 or later",
                "This Terraform does not support write-only attributes and would store current_passwords_wo in \
state. Upgrade Terraform to 1.11 or later, or use current_passwords instead.",
            )
            .at("current_passwords_wo"),
        );
    }
    // A key that names neither user is a typo that would leave a user without its seed.
    if let Some(names) = config.names() {
        for (attr, map) in [
            ("current_passwords", &config.current_passwords),
            ("current_passwords_wo", &config.current_passwords_wo),
        ] {
            for key in map.known().into_iter().flat_map(|m| m.keys()) {
                if !names.contains(key) {
                    diags.push(
                        Diagnostic::error(
                            format!("Unknown user in {attr}"),
                            format!(
                                "{attr} has an entry for {}, which is not one of usernames ({} and {}). Key each \
password by the user name it belongs to.",
                                quote(key),
                                quote(&names[0]),
                                quote(&names[1])
                            ),
                        )
                        .at(attr),
                    );
                }
            }
        }
    }
    diags
}
