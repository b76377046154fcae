//! `thingspace_alternating_password_rotation`: two ThingSpace users that take turns, so consumers never hold a
//! password that was just reset. The model and schema, validation, import and read, and the [`Resource`] impl are
//! here; which users a rotation resets is decided in [`decide`], planning is in [`plan`](mod@plan), the API calls
//! in [`apply`], and the bytes Terraform keeps for us in [`private`].
//!
//! Every rule of `thingspace_password_rotation` holds per user name: the same seeds (per user here), the same blocks
//! (recorded for the one user whose log-in or reset went wrong), the same claims in the process-wide view
//! ([`Users`]), across both resource types.

pub mod apply;
pub mod decide;
pub mod identity;
pub mod model;
pub mod plan;
pub mod private;
pub mod reset;

use model::usernames_error;
pub use model::{Model, Passwords, SCHEMA_VERSION, TYPE_NAME};

use time::OffsetDateTime;

use crate::plugin::cty::{Attr, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::identity::Identity;
use crate::plugin::schema::{Attribute, Presence, Schema};
use crate::resources::block::Noted;
use crate::resources::rotating::{PrivateState, Rotating};
use crate::resources::schedule::{self, Schedule};
use crate::resources::served::Served;
use crate::resources::username::{username_error, username_problem};
use crate::resources::users::Users;
use crate::resources::verify::verification_attributes;
use private::Private;

/// `thingspace_alternating_password_rotation` as the plugin serves it (see [`Served`]). Its instances share the
/// provider's process-wide view of each user with `thingspace_password_rotation`.
pub type AlternatingRotation = Served<Model>;

impl Rotating for Model {
    type Private = Private;

    const TYPE_NAME: &'static str = TYPE_NAME;

    /// The resource schema, with the Markdown descriptions the generated docs are built from.
    fn schema() -> Schema {
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
            .chain(verification_attributes("active_password"))
            .chain(schedule::schema_attributes(2))
            .collect(),
        }
    }

    /// Errors in a configuration, found before any API call. `write_only_allowed` is Terraform's client capability.
    fn validate(&self, write_only_allowed: bool) -> Diagnostics {
        let config = self;
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

    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            rotate_after: &self.rotate_after,
            rotation_period: &self.rotation_period,
            triggers: &self.triggers,
            rotation_window: &self.rotation_window,
            rotation_jitter: &self.rotation_jitter,
            username: self.jitter_key(),
            max_password_age: &self.max_password_age,
            lives: 2,
        }
    }

    fn without_write_only(&self) -> Model {
        Model {
            current_passwords_wo: Attr::Null,
            ..self.clone()
        }
    }

    /// Reads: no API call (a log-in to check a password would count toward the lock-out); the state stays as it is.
    /// The object's blocks and passwords are noted for the plan of a replacement in this process.
    fn read(
        users: &Users,
        prior: &Model,
        prior_private: &[u8],
        now: OffsetDateTime,
    ) -> (Model, Vec<u8>) {
        let private = Private::from_bytes(prior_private);
        Self::observe(users, prior, &private);
        (
            prior.without_write_only(),
            Private::settled(private.blocks, Some(now.unix_timestamp()))
                .verifying(private.verify)
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
        prior.without_write_only()
    }

    /// Notes an object seen in state (read or upgraded) in the process-wide view, per user: the block with the seed it
    /// applies to, and the password with the seed the object shows, so the plan of a replacement (which gets no prior
    /// state) still knows them.
    fn observe(users: &Users, m: &Model, private: &Private) {
        let Some(names) = m.names() else {
            return;
        };
        for user in &names {
            let seed = m.seed(user);
            if let Some(b) = decide::user_block(m, private, user) {
                let mut noted = Noted::of(&b.block, &private::remedy(user));
                noted.reason = b.reason();
                let block_seed = b.seed.clone().unwrap_or_else(|| seed.clone());
                users.observe(user, &block_seed, Some(noted), None);
            }
            users.observe(user, &seed, None, m.password_of(user));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
