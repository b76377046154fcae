//! What a rotation resource is, to the code every rotation resource shares: the traits a resource's model implements
//! with its schema and rules ([`Rotating`], [`Plans`], [`Applies`]), the typed private data it keeps beside its state
//! ([`PrivateState`]), and a plan's result ([`Plan`]). `served.rs` serves any such model to the plugin, and
//! `planning.rs` plans it within a run, so a third rotation resource is new files plus impls of these traits.

use std::fmt;
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::identity::Identity;
use crate::plugin::private;
use crate::plugin::schema::Schema;
use crate::plugin::wire::Model;
use crate::resources::applying::{Applied, ApplyContext};
use crate::resources::schedule::Schedule;
use crate::resources::users::Users;

/// A resource's private data: what travels in Terraform's private bytes, read and written through the plugin's
/// versioned envelope.
pub trait PrivateState:
    Serialize + DeserializeOwned + Default + PartialEq + fmt::Debug + Send + Sync
{
    /// The format version written today.
    const VERSION: u8;

    /// Read to plan: when `ReadResource` last looked, in Unix seconds (see [`crate::resources::planning`]).
    fn observed_at(&self) -> Option<i64>;

    /// What bytes of another version, or unreadable ones, mean to this resource.
    fn from_other(bytes: &[u8]) -> Self;

    /// Reads the bytes back. Empty means nothing was carried.
    fn from_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return Self::default();
        }
        private::from_bytes(bytes, Self::VERSION).unwrap_or_else(|| Self::from_other(bytes))
    }

    /// The bytes Terraform stores; empty when there is nothing to carry.
    fn to_bytes(&self) -> Vec<u8> {
        private::to_bytes(self, Self::VERSION)
    }
}

/// The planned state and the private data that go with it.
#[derive(Debug)]
pub struct Plan<M: Rotating> {
    pub planned: M,
    pub private: M::Private,
    pub diagnostics: Diagnostics,
    /// The reasons of the blocks that stand for this plan, if any: a rotation it plans is refused at apply.
    pub blocked: Option<String>,
}

/// A rotation resource, as its model: the schema and what needs no plan or apply. Implemented by each resource's
/// `Model` in its `mod.rs`; the plan's rules are [`Plans`] (its `plan.rs`), the apply's [`Applies`] (its `apply.rs`).
pub trait Rotating: Model + PartialEq + fmt::Debug {
    /// What travels in Terraform's private bytes.
    type Private: PrivateState;

    /// The type name configurations use.
    const TYPE_NAME: &'static str;

    /// The resource schema, with the descriptions the generated docs are built from.
    fn schema() -> Schema;

    /// Errors in a configuration, found before any API call. `write_only_allowed`: Terraform 1.11 or later.
    fn validate(&self, write_only_allowed: bool) -> Diagnostics;

    /// The scheduling arguments, as the shared schedule reads them.
    fn schedule(&self) -> Schedule<'_>;

    /// The same model with its write-only arguments nulled, as every state and plan must be.
    fn without_write_only(&self) -> Self;

    /// Reads: no API call; the state and the private bytes to keep.
    fn read(users: &Users, prior: &Self, private: &[u8], now: OffsetDateTime) -> (Self, Vec<u8>);

    /// The object an import ID names. No API call.
    fn import(id: &str) -> Result<Self, Diagnostic>;

    /// The resource identity (Terraform 1.12 and later).
    fn identity() -> Identity<Self>;

    /// A stored state brought to the current model.
    fn upgrade(prior: Self) -> Self;

    /// Notes an object seen in state (read or upgraded) in the process-wide view, so that the plan of its
    /// replacement, which Terraform gives no prior state, still knows its blocks and passwords.
    fn observe(users: &Users, m: &Self, private: &Self::Private);
}

/// The rules of a rotation resource's plan; `planning.rs` runs them within a Terraform run.
pub trait Plans: Rotating {
    /// What the process-wide view knows that a create's prior state can't say (a tainted object it replaces).
    type Known: Default;

    /// What `users` knows of the configured users and their seeds.
    fn known(users: &Users, config: &Self) -> Self::Known;

    /// Plans a create (`prior` is `None`) or an update as of `now`.
    fn plan(
        prior: Option<&Self>,
        config: &Self,
        now: OffsetDateTime,
        private: &Self::Private,
        known: &Self::Known,
    ) -> Plan<Self> {
        match prior {
            None => Self::plan_create(config, private, known),
            Some(prior) => Self::plan_update(prior, config, now, private),
        }
    }

    /// Plans a create, from the configuration and what the process knows about its users.
    fn plan_create(config: &Self, private: &Self::Private, known: &Self::Known) -> Plan<Self>;

    /// Plans an update as of `now`, from the prior state and private data and the configuration.
    fn plan_update(
        prior: &Self,
        config: &Self,
        now: OffsetDateTime,
        private: &Self::Private,
    ) -> Plan<Self>;

    /// What a plan of an object in state says about its password's age: an error (made a warning in a speculative
    /// plan) past `password_age_deadline` when the plan does not rotate, a warning while a window holds a rotation.
    fn age_diagnostics(
        prior: &Self,
        config: &Self,
        private: &Self::Private,
        p: &Plan<Self>,
        now: OffsetDateTime,
    ) -> Diagnostics;

    /// Claims the configured users in the process-wide view, refusing the plan on a conflict.
    fn claim(
        users: &Users,
        prior: Option<&Self>,
        config: &Self,
        private: &Self::Private,
        p: &mut Plan<Self>,
    );

    /// The debug log line of a plan.
    fn log_plan(p: &Plan<Self>, create: bool);

    /// The warning that says why a planned change rotates, when it does: the plan itself shows only `(sensitive
    /// value)`. Added by `planning.rs` for a plan within a Terraform run.
    fn why(
        prior: Option<&Self>,
        config: &Self,
        p: &Plan<Self>,
    ) -> Option<crate::plugin::diagnostics::Diagnostic>;

    /// Plans a destroy: no API call, but the users are released in the process-wide view. The private bytes for its
    /// apply, and diagnostics that can refuse it.
    fn plan_destroy(prior: &Self, private: &[u8], users: &Users) -> (Vec<u8>, Diagnostics);
}

/// The rules of a rotation resource's apply.
pub trait Applies: Rotating {
    /// Creates the object: the first rotation.
    fn create(
        ctx: &ApplyContext<'_>,
        config: &Self,
        planned: Self,
        private: Self::Private,
        now: fn() -> OffsetDateTime,
    ) -> impl Future<Output = Applied<Self>> + Send;

    /// Updates the object: a rotation when the plan said so, else the change alone.
    fn update(
        ctx: &ApplyContext<'_>,
        prior: &Self,
        config: &Self,
        planned: Self,
        private: Self::Private,
        now: fn() -> OffsetDateTime,
    ) -> impl Future<Output = Applied<Self>> + Send;

    /// Deletes the object: no API call.
    fn delete(ctx: &ApplyContext<'_>, prior: &Self) -> Applied<Self>;
}
