//! The one plugin [`Resource`] every rotation resource is served through: it reads the private bytes into the
//! resource's typed [`PrivateState`], plans within the run (`planning.rs`), applies with the process-wide view of
//! each user, and writes the private bytes back. Each resource supplies its rules through [`Rotating`], [`Plans`] and [`Applies`].

use std::marker::PhantomData;
use std::sync::Arc;

use crate::plugin::diagnostics::Diagnostics;
use crate::plugin::identity::Identity;
use crate::plugin::resource::{ApplyRequest, ClientCapabilities, Outcome, PlanRequest, Resource};
use crate::plugin::schema::Schema;
use crate::resources::applying::ApplyContext;
use crate::resources::planning::plan_in_run;
use crate::resources::rotating::{Applies, Plans, PrivateState};
use crate::resources::users::Users;
use crate::thingspace::Client;

/// The rotation resource whose model is `M`. Its instances share the provider's process-wide view of each user.
pub struct Served<M> {
    users: Arc<Users>,
    model: PhantomData<fn() -> M>,
}

impl<M: Plans + Applies> Served<M> {
    /// The resource type, seeing `users`.
    pub fn new(users: Arc<Users>) -> Self {
        Self {
            users,
            model: PhantomData,
        }
    }

    fn apply_context<'a>(&'a self, client: Option<&'a Client>) -> ApplyContext<'a> {
        ApplyContext {
            client,
            users: &self.users,
        }
    }
}

impl<M: Plans + Applies> Resource for Served<M> {
    type Model = M;
    type Data = Client;

    fn type_name(&self) -> &'static str {
        M::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        M::schema()
    }

    fn validate(&self, config: &M, client: ClientCapabilities) -> Diagnostics {
        config.validate(client.write_only_attributes_allowed)
    }

    async fn plan(&self, _client: Option<&Client>, req: PlanRequest<'_, M>) -> Outcome<M> {
        let (private, now) = (
            M::Private::from_bytes(req.prior_private),
            crate::clock::now(),
        );
        let p = plan_in_run(req.prior, req.config, now, &private, &self.users);
        M::log_plan(&p, req.prior.is_none());
        Outcome {
            state: p.planned,
            private: p.private.to_bytes(),
            diagnostics: p.diagnostics,
        }
    }

    fn plan_destroy(&self, prior: &M, prior_private: &[u8]) -> Outcome<()> {
        let (private, diagnostics) = M::plan_destroy(prior, prior_private, &self.users);
        Outcome {
            state: (),
            private,
            diagnostics,
        }
    }

    async fn create(
        &self,
        client: Option<&Client>,
        req: ApplyRequest<'_, M>,
    ) -> Outcome<Option<M>> {
        let private = M::Private::from_bytes(req.planned_private);
        let ctx = self.apply_context(client);
        M::create(&ctx, req.config, req.planned, private, crate::clock::now)
            .await
            .into()
    }

    async fn update(
        &self,
        client: Option<&Client>,
        prior: &M,
        req: ApplyRequest<'_, M>,
    ) -> Outcome<Option<M>> {
        let private = M::Private::from_bytes(req.planned_private);
        let ctx = self.apply_context(client);
        let now = crate::clock::now;
        M::update(&ctx, prior, req.config, req.planned, private, now)
            .await
            .into()
    }

    async fn delete(
        &self,
        client: Option<&Client>,
        prior: &M,
        _private: &[u8],
    ) -> Outcome<Option<M>> {
        M::delete(&self.apply_context(client), prior).into()
    }

    async fn read(
        &self,
        _client: Option<&Client>,
        current: &M,
        private: &[u8],
    ) -> Outcome<Option<M>> {
        let (state, private) = M::read(&self.users, current, private, crate::clock::now());
        Outcome {
            state: Some(state),
            private,
            diagnostics: Diagnostics::new(),
        }
    }

    fn import(&self, id: &str) -> Result<M, Diagnostics> {
        M::import(id).map_err(Diagnostics::from)
    }

    fn identity(&self) -> Option<Identity<M>> {
        Some(M::identity())
    }

    fn upgrade(&self, _version: i64, prior: M) -> Result<M, Diagnostics> {
        let m = M::upgrade(prior);
        // Every object in state passes here before it is planned, even a tainted one with refresh off, whose
        // replacement's plan gets no prior state: note its blocks and passwords for that plan. (Upgrade gets no
        // private bytes; a block then counts as recorded in the attributes.)
        M::observe(&self.users, &m, &M::Private::default());
        Ok(m)
    }
}
