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

pub use model::{Model, Passwords, SCHEMA_VERSION, TYPE_NAME, schema, validate};

use time::OffsetDateTime;

use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::identity::Identity;
use crate::plugin::schema::Schema;
use crate::resources::block::Noted;
use crate::resources::rotating::{PrivateState, Rotating};
use crate::resources::schedule::Schedule;
use crate::resources::served::Served;
use crate::resources::users::Users;
use private::Private;

/// `thingspace_alternating_password_rotation` as the plugin serves it (see [`Served`]). Its instances share the
/// provider's process-wide view of each user with `thingspace_password_rotation`.
pub type AlternatingRotation = Served<Model>;

impl Rotating for Model {
    type Private = Private;

    const TYPE_NAME: &'static str = TYPE_NAME;

    fn schema() -> Schema {
        schema()
    }

    fn validate(&self, write_only_allowed: bool) -> Diagnostics {
        validate(self, write_only_allowed)
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
            Private::settled(private.blocks, Some(now.unix_timestamp())).to_bytes(),
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
