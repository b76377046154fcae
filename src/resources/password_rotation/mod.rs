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
pub use model::{Model, SCHEMA_VERSION, TYPE_NAME, schema, validate};
pub use plan::{Known, Plan, plan};
pub use private::{PlannedRotation, Private};
pub use upgrade::upgrade;

use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::identity::Identity;
use crate::plugin::schema::Schema;
use crate::resources::block::{Noted, Remedy};
use crate::resources::rotating::{PrivateState, Rotating};
use crate::resources::schedule::Schedule;
use crate::resources::served::Served;
use crate::resources::users::Users;
use time::OffsetDateTime;

/// `thingspace_password_rotation` as the plugin serves it (see [`Served`]).
pub type PasswordRotation = Served<Model>;

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
