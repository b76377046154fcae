//! The typed interface of a resource type: its model, schema and lifecycle, in the resource's own terms.
//!
//! A resource never sees gRPC or msgpack. The adapter (`adapter.rs`) does the Terraform side once for every
//! resource: it decodes and encodes the values, nulls write-only attributes, computes `requires_replace` from the
//! schema, and turns panics into diagnostics.

use std::future::Future;

use crate::plugin::diagnostics::Diagnostics;
use crate::plugin::identity::Identity;
use crate::plugin::schema::Schema;
use crate::plugin::wire::Model;

/// What the running Terraform says it supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCapabilities {
    /// Terraform 1.11 and later keep write-only attributes out of state and plan; an older one would store them.
    pub write_only_attributes_allowed: bool,
    /// Terraform accepts a deferred change (not used yet).
    pub deferral_allowed: bool,
}

/// What an operation answers: the state (planned, new or read), the private bytes Terraform keeps beside it, and
/// diagnostics. Terraform passes the private bytes back, opaque to it: read to plan, plan to apply.
#[derive(Debug)]
pub struct Outcome<S> {
    pub state: S,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl<S> Outcome<S> {
    /// `state` with no private bytes and no diagnostics.
    pub fn new(state: S) -> Self {
        Self {
            state,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
}

/// The inputs of a plan for a create (`prior` is `None`) or an update.
#[derive(Debug)]
pub struct PlanRequest<'a, M> {
    pub prior: Option<&'a M>,
    pub config: &'a M,
    pub prior_private: &'a [u8],
}

/// The inputs of a create or an update.
#[derive(Debug)]
pub struct ApplyRequest<'a, M> {
    pub config: &'a M,
    pub planned: M,
    pub planned_private: &'a [u8],
}

/// A resource type. The provider lists its resource types (see [`Provider`](crate::plugin::provider::Provider));
/// the service finds one by its type name and serves it through the adapter.
///
/// `Data` is what the provider's `configure` produced (an API client, say), shared by every resource type of the
/// provider; operations get `None` while the provider is not configured, or its configuration was not yet known.
///
/// Terraform requires the state answers to hold null for write-only attributes: the adapter ensures it, so an
/// implementation may leave them as they are. Likewise it answers every state with its resource identity, when the
/// type has one ([`identity`](Self::identity)).
pub trait Resource: Send + Sync + 'static {
    type Model: Model;
    type Data: Send + Sync + 'static;

    /// The type name configurations use: `<provider>_<name>`.
    fn type_name(&self) -> &'static str;

    /// The schema; its `version` is the state version [`upgrade`](Self::upgrade) brings older states to.
    fn schema(&self) -> Schema;

    /// Checks a configuration before anything else, with no provider data. Unknown values are not errors.
    fn validate(&self, config: &Self::Model, client: ClientCapabilities) -> Diagnostics;

    /// Plans a create or an update: the planned state, and private bytes for the apply.
    fn plan(
        &self,
        data: Option<&Self::Data>,
        request: PlanRequest<'_, Self::Model>,
    ) -> impl Future<Output = Outcome<Self::Model>> + Send;

    /// Plans a destroy, which Terraform asks for because the service declares `plan_destroy`: private bytes for the
    /// destroy's apply, and diagnostics that can refuse it. The planned state is null.
    fn plan_destroy(&self, prior: &Self::Model, prior_private: &[u8]) -> Outcome<()> {
        let _ = (prior, prior_private);
        Outcome::new(())
    }

    /// Creates the object. A state returned with error diagnostics is stored tainted.
    fn create(
        &self,
        data: Option<&Self::Data>,
        request: ApplyRequest<'_, Self::Model>,
    ) -> impl Future<Output = Outcome<Option<Self::Model>>> + Send;

    /// Updates the object in place.
    fn update(
        &self,
        data: Option<&Self::Data>,
        prior: &Self::Model,
        request: ApplyRequest<'_, Self::Model>,
    ) -> impl Future<Output = Outcome<Option<Self::Model>>> + Send;

    /// Deletes the object: a null state removes it from Terraform's state; a state keeps it.
    fn delete(
        &self,
        data: Option<&Self::Data>,
        prior: &Self::Model,
        private: &[u8],
    ) -> impl Future<Output = Outcome<Option<Self::Model>>> + Send;

    /// Refreshes the object: a null state removes it from Terraform's state.
    fn read(
        &self,
        data: Option<&Self::Data>,
        current: &Self::Model,
        private: &[u8],
    ) -> impl Future<Output = Outcome<Option<Self::Model>>> + Send;

    /// The state of an existing object named by the user's import ID.
    fn import(&self, id: &str) -> Result<Self::Model, Diagnostics>;

    /// The resource identity (Terraform 1.12 and later): its schema, the identity of a state, and the import by
    /// identity. `None` (the default) for a type without one: Terraform then imports it by ID only. Called once,
    /// when the type is served.
    fn identity(&self) -> Option<Identity<Self::Model>> {
        None
    }

    /// Brings a stored state of schema `version` (at most the schema's own) to the current model. The adapter has
    /// read it with the current schema: attributes the schema no longer has are dropped, new ones are null.
    fn upgrade(&self, version: i64, prior: Self::Model) -> Result<Self::Model, Diagnostics> {
        let _ = version;
        Ok(prior)
    }
}
