//! `thingspace_password_rotation`: the model and schema, validation, import and read, and the [`Resource`] impl
//! that serves them. The rule of when to rotate is in [`decide`], planning in [`plan`](mod@plan), the API calls in
//! [`apply`], the bytes Terraform keeps for us in [`private`], older states in [`upgrade`](mod@upgrade), and the
//! resource identity (`{ username }`, Terraform 1.12 and later) in [`identity`](mod@identity).
//!
//! Everything here works on the typed [`Model`]; the plugin's adapter decodes and encodes Terraform's values around
//! it, keeps the write-only seed out of every state, and plans a change of `username` as a replacement.

pub mod apply;
pub mod decide;
pub mod identity;
pub mod model;
pub mod plan;
pub mod private;
pub mod upgrade;

pub use crate::resources::planning::plan_in_run;
pub use apply::{Applied, ApplyContext};
pub use model::{Model, SCHEMA_VERSION, TYPE_NAME};
pub use plan::{Known, Plan};
pub use private::{PlannedRotation, Private};
pub use upgrade::upgrade;

use crate::plugin::cty::{Attr, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::identity::Identity;
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::resources::block::{Noted, Remedy};
use crate::resources::rotating::{PrivateState, Rotating};
use crate::resources::schedule::{self, Schedule};
use crate::resources::served::Served;
use crate::resources::username::{username_error, username_problem};
use crate::resources::users::Users;
use crate::resources::verify::verification_attributes;
use time::OffsetDateTime;

/// `thingspace_password_rotation` as the plugin serves it (see [`Served`]).
pub type PasswordRotation = Served<Model>;

impl Rotating for Model {
    type Private = Private;

    const TYPE_NAME: &'static str = TYPE_NAME;

    /// The resource schema, with the Markdown descriptions the generated docs are built from.
    fn schema() -> Schema {
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
            .chain(verification_attributes("password"))
            .chain(schedule::schema_attributes(1))
            .collect(),
        }
    }

    /// Errors in a configuration, found before any API call. `write_only_allowed` is Terraform's client capability:
    /// a Terraform older than 1.11 does not know write-only attributes and would store the value in state.
    fn validate(&self, write_only_allowed: bool) -> Diagnostics {
        let config = self;
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

    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            rotate_after: &self.rotate_after,
            rotation_period: &self.rotation_period,
            triggers: &self.triggers,
            rotation_window: &self.rotation_window,
            rotation_jitter: &self.rotation_jitter,
            username: &self.username,
            max_password_age: &self.max_password_age,
            lives: 1,
        }
    }

    fn without_write_only(&self) -> Model {
        Model {
            current_password_wo: Attr::Null,
            ..self.clone()
        }
    }

    /// Reads: no API call (a log-in to check the password would count toward the lock-out); the state stays as it is.
    /// The object's block and password are noted for the plan of a replacement in this process.
    fn read(
        users: &Users,
        prior: &Model,
        prior_private: &[u8],
        now: OffsetDateTime,
    ) -> (Model, Vec<u8>) {
        let private = Private::from_bytes(prior_private);
        let block_seed = private.block_seed(prior);
        Self::observe(users, prior, &private);
        (
            prior.without_write_only(),
            Private::settled(private.block, Some(now.unix_timestamp()))
                .verifying(private.verify)
                .blocked_on(Some(block_seed))
                .to_bytes(),
        )
    }

    fn import(id: &str) -> Result<Model, Diagnostic> {
        identity::import(id)
    }

    fn identity() -> Identity<Model> {
        identity::identity()
    }

    fn upgrade(prior: Model) -> Model {
        upgrade(prior)
    }

    /// Notes an object seen in state (read or upgraded) in the process-wide view, so that the plan of its replacement,
    /// which Terraform gives no prior state, still knows its block and its password.
    fn observe(users: &Users, m: &Model, private: &Private) {
        let Attr::Known(username) = &m.username else {
            return;
        };
        // The block applies to the seed it was recorded with; the password hand-off to the object's current seed.
        let noted = private::recorded_block(m, private).map(|b| {
            let mut noted = Noted::of(&b, &Remedy::single());
            // A block shown only in the attribute keeps its text as written.
            if private.block.is_none()
                && let Some(r) = m.blocked_reason.known()
            {
                noted.reason = r.clone();
            }
            noted
        });
        users.observe(username, &private.block_seed(m), noted, None);
        users.observe(username, &m.seed(), None, m.password.known());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
