//! The model of `thingspace_password_rotation`: every attribute as Terraform sends and stores it, what the rules read from it, the
//! schema, and the checks of a configuration before any API call.

use crate::plugin::cty::{Attr, Number, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::plugin::secret::Secret;
use crate::resources::block::Seed;
use crate::resources::rotating::Rotating;
use crate::resources::schedule::{self, Last, RotationWindow, Triggers};
use crate::resources::username::{username_error, username_problem};
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

/// The resource schema, with the Markdown descriptions the generated docs are built from.
pub fn schema() -> Schema {
    use Presence::*;
    Schema {
        version: SCHEMA_VERSION,
        description: "Rotates the password of a ThingSpace Connectivity Management API user with \
`PUT /api/m2m/v1/session/password/actions/reset`. ThingSpace generates the new password; it is stored in state as \
the sensitive `password` attribute so the same apply can hand it to whatever consumes it.",
        attributes: vec![
            Attribute::new(
                "id",
                Type::String,
                Computed,
                "The user name. Also the import ID.",
            ),
            Attribute::new(
                "username",
                Type::String,
                Required,
                "The ThingSpace (M2M) user whose password is rotated: 1 to 128 printable ASCII characters without \
spaces or commas. Changing it replaces the resource. Each user may be managed by only one resource instance.",
            )
            .requires_replace(),
            Attribute::new(
                "current_password",
                Type::String,
                Optional,
                "The user's password now, used to log in for the first rotation (and again whenever it changes: a \
re-seed). Stored in state; prefer `current_password_wo` on Terraform 1.11 and later. An empty string counts as \
unset. Conflicts with `current_password_wo`.",
            )
            .sensitive(),
            Attribute::new(
                "current_password_wo",
                Type::String,
                Optional,
                "Write-only (Terraform 1.11 and later): the user's password now, never stored in state or plan. \
Used for the first rotation, and again when `current_password_wo_version` changes. An empty string counts as \
unset. Conflicts with `current_password`.",
            )
            .sensitive()
            .write_only(),
            Attribute::new(
                "current_password_wo_version",
                Type::Number,
                Optional,
                "Change this number to re-seed: log in again with `current_password_wo` (or `current_password`, \
which lets a re-seed reuse the same value) and rotate. Use it after the password was changed outside Terraform, or \
after a block (see `blocked_reason`).",
            ),
            Attribute::new(
                "retry_stored_password_version",
                Type::Number,
                Optional,
                "Change this number to allow one more log-in with the password in state after a block whose cause \
may have been transient (a log-in or a reset that got no usable answer; `blocked_reason` says which): the next apply \
logs in once with the stored password, not a seed, and rotates. Each change allows one log-in, so it costs at most \
one failed log-in; if the stored password no longer works, the resource blocks again. It changes nothing while the \
resource is not blocked, and does not lift the block of a locked user. After a rejected password, re-seed instead.",
            ),
            Attribute::new(
                "rotate_after",
                Type::String,
                OptionalComputed,
                "RFC 3339 time after which the next plan rotates the password. A fixed time in the past rotates \
once, not on every apply. When unset and `rotation_period` is set, it is computed as `rotated_at` + \
`rotation_period` (+ the user's `rotation_jitter` offset); when both are unset it is null. When both are set, this \
fixed time wins and `rotation_period` is ignored: once it has passed, every plan warns that no further rotation is \
scheduled.",
            ),
            Attribute::new(
                "rotation_period",
                Type::String,
                Optional,
                "How often to rotate: a Go duration with the extra unit `d` for days (`\"90d\"`, `\"2160h\"`), from \
`1s` to 100 years (`\"36500d\"`). Sets `rotate_after` to `rotated_at` + this period unless `rotate_after` is set.",
            ),
            Attribute::new(
                "triggers",
                Type::Map(Box::new(Type::String)),
                Optional,
                "Arbitrary map of strings; any change to it rotates the password in place, also outside \
`rotation_window`. To rotate from CI without a code change, set a value from a variable: `triggers = { generation = \
var.rotation_generation }` with `TF_VAR_rotation_generation`.",
            ),
            Attribute::new(
                "password",
                Type::String,
                Computed,
                "The password ThingSpace generated at the last rotation. Null after an import until the next apply \
rotates it.",
            )
            .sensitive(),
            Attribute::new(
                "rotated_at",
                Type::String,
                Computed,
                "RFC 3339 UTC time of the last rotation.",
            ),
            Attribute::new(
                "blocked_reason",
                Type::String,
                Computed,
                "Null while rotations can run. Set when a log-in was rejected, a log-in got no usable answer, or a \
reset may have taken effect unseen: then no plan or apply logs in with the same seed again (ThingSpace locks a user \
after 5 failed log-ins), every plan warns, and a rotation that falls due is an error until a re-seed \
(`current_password_wo` with a new `current_password_wo_version`, or a new `current_password`).",
            ),
        ]
        .into_iter()
        .chain(schedule::schema_attributes(1))
        .collect(),
    }
}

/// Errors in a configuration, found before any API call. `write_only_allowed` is Terraform's client capability:
/// a Terraform older than 1.11 does not know write-only attributes and would store the value in state.
pub fn validate(config: &Model, write_only_allowed: bool) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Attr::Known(u) = &config.username
        && let Some(problem) = username_problem(u)
    {
        diags.push(username_error("username", u, &problem));
    }
    diags.extend(schedule::validate(&config.schedule()));
    if !config.current_password.is_null() && !config.current_password_wo.is_null() {
        diags.push(
            Diagnostic::error(
                "Conflicting current password arguments",
                "Set only one of current_password and current_password_wo: both name the user's password now.",
            )
            .at("current_password_wo"),
        );
    }
    if !config.current_password_wo.is_null() && !write_only_allowed {
        diags.push(
            Diagnostic::error(
                "current_password_wo needs Terraform 1.11 or later",
                "This Terraform does not support write-only attributes and would store current_password_wo in \
state. Upgrade Terraform to 1.11 or later, or use current_password instead.",
            )
            .at("current_password_wo"),
        );
    }
    diags
}
