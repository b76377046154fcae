//! The `tfplugin6.Provider` gRPC service for any [`Provider`]: provider RPCs go to the provider, resource RPCs to
//! the resource type named in the request, looked up by type name and served through its adapter. It holds no
//! domain logic of its own.
//!
//! Every handler is instrumented with the RPC name and type only (configs and states hold secrets), and runs inside a
//! panic guard: a panic becomes an error diagnostic for that call and the plugin keeps serving.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use tonic::{Request, Response, Status, Streaming};
use tracing::instrument;

use crate::plugin::adapter::{AnyResource, ServedResource};
use crate::plugin::cty::Type;
use crate::plugin::data_source::{AnyDataSource, ServedDataSource};
use crate::plugin::diagnostics::Diagnostics;
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::proto::tfplugin6::provider_server::Provider as ProviderRpc;
use crate::plugin::provider::Provider;
use crate::plugin::respond::{WithDiagnostics, guarded, respond};
use crate::plugin::schema::Schema;
use crate::plugin::unserved::{self, Stream, one, unserved};
use crate::plugin::wire::decode;
use crate::shutdown::Shutdown;

/// The gRPC service of provider `P`. Cheap to clone; all clones share the provider and its configured data.
pub struct ProviderService<P: Provider> {
    inner: Arc<Inner<P>>,
}

impl<P: Provider> Clone for ProviderService<P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<P: Provider> {
    provider: P,
    /// The provider's name in messages: the last segment of its address.
    name: &'static str,
    shutdown: Shutdown,
    schema: Schema,
    config_type: Type,
    /// The resource types, by type name.
    types: BTreeMap<&'static str, ServedResource<P::Data>>,
    /// The data source types, by type name.
    data_sources: BTreeMap<&'static str, ServedDataSource<P::Data>>,
    /// Set by `ConfigureProvider`; `None` until then, or while the configuration is still unknown.
    data: RwLock<Option<Arc<P::Data>>>,
}

impl<P: Provider> ProviderService<P> {
    /// The service of `provider`, whose `StopProvider` fires `shutdown`.
    pub fn new(provider: P, shutdown: Shutdown) -> Self {
        let schema = provider.schema();
        let address = provider.address();
        let types = provider
            .resource_types()
            .into_iter()
            .map(|r| (r.type_name(), r))
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name(), d))
            .collect();
        Self {
            inner: Arc::new(Inner {
                name: address.rsplit('/').next().unwrap_or(address),
                config_type: schema.value_type(),
                schema,
                types,
                data_sources,
                data: RwLock::new(None),
                shutdown,
                provider,
            }),
        }
    }

    /// The provider's registry address.
    pub fn address(&self) -> &'static str {
        self.inner.provider.address()
    }

    fn data(&self) -> Option<Arc<P::Data>> {
        self.inner.data.read().ok().and_then(|d| d.clone())
    }

    pub(crate) fn guarded<R: WithDiagnostics>(
        &self,
        rpc: &'static str,
        body: impl Future<Output = R>,
    ) -> impl Future<Output = Result<Response<R>, Status>> {
        guarded(self.inner.name, rpc, body)
    }

    fn unknown(&self, kind: &str, name: &str) -> Diagnostics {
        let served: Vec<&str> = match kind {
            "data source" => self.inner.data_sources.keys().copied().collect(),
            _ => self.inner.types.keys().copied().collect(),
        };
        unserved::unknown_type(self.inner.name, &served, kind, name)
    }

    /// The resource type `name`, or the diagnostic for a type this provider does not serve.
    fn resource(&self, name: &str) -> Result<&dyn AnyResource<P::Data>, Diagnostics> {
        match self.inner.types.get(name) {
            Some(r) => Ok(r.as_ref()),
            None => Err(self.unknown("resource", name)),
        }
    }

    /// The data source type `name`, or the diagnostic for a type this provider does not serve.
    fn data_source(&self, name: &str) -> Result<&dyn AnyDataSource<P::Data>, Diagnostics> {
        match self.inner.data_sources.get(name) {
            Some(d) => Ok(d.as_ref()),
            None => Err(self.unknown("data source", name)),
        }
    }

    fn required_attributes(&self, name: &str) -> Vec<&'static str> {
        match self.inner.types.get(name) {
            Some(r) => r.schema().required_attributes().collect(),
            None => Vec::new(),
        }
    }
}

fn server_capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // Destroys are planned by the resource (`Resource::plan_destroy`), so a destroy that must not happen (the
        // other half of a rename without a `moved` block, say) is refused at plan, before any API call.
        plan_destroy: true,
        // Terraform may reuse the schema it already fetched in this run instead of asking each new plugin process
        // again: the schema never changes within one binary.
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

#[tonic::async_trait]
impl<P: Provider> ProviderRpc for ProviderService<P> {
    #[instrument(skip_all, fields(rpc = "GetMetadata"))]
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        self.guarded("GetMetadata", async {
            let types = self.inner.types.keys();
            pb::get_metadata::Response {
                server_capabilities: Some(server_capabilities()),
                resources: types
                    .map(|name| pb::get_metadata::ResourceMetadata {
                        type_name: (*name).to_owned(),
                    })
                    .collect(),
                data_sources: self
                    .inner
                    .data_sources
                    .keys()
                    .map(|name| pb::get_metadata::DataSourceMetadata {
                        type_name: (*name).to_owned(),
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetProviderSchema"))]
    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        self.guarded("GetProviderSchema", async {
            let types = self.inner.types.iter();
            pb::get_provider_schema::Response {
                provider: Some(self.inner.schema.to_proto()),
                resource_schemas: types
                    .map(|(name, r)| ((*name).to_owned(), r.schema().to_proto()))
                    .collect(),
                data_source_schemas: (self.inner.data_sources.iter())
                    .map(|(name, d)| ((*name).to_owned(), d.schema().to_proto()))
                    .collect(),
                server_capabilities: Some(server_capabilities()),
                ..Default::default()
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ValidateProviderConfig"))]
    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = request.into_inner();
        self.guarded("ValidateProviderConfig", async {
            let what = "provider configuration";
            let diags =
                match decode::<P::Config>(req.config.as_ref(), &self.inner.config_type, what) {
                    Ok(m) => self.inner.provider.validate(&m.unwrap_or_default()),
                    Err(d) => d,
                };
            respond(diags, Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ConfigureProvider", terraform_version = %request.get_ref().terraform_version))]
    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = request.into_inner();
        self.guarded("ConfigureProvider", async {
            let what = "provider configuration";
            let config =
                match decode::<P::Config>(req.config.as_ref(), &self.inner.config_type, what) {
                    Ok(m) => m.unwrap_or_default(),
                    Err(d) => return respond(d, Default::default()),
                };
            match self.inner.provider.configure(&config) {
                Ok(data) => {
                    let configured = data.is_some();
                    // Terraform configures each provider process once; keeping the first data keeps its state
                    // (an API client's token, say).
                    if let (Some(d), Ok(mut slot)) = (data, self.inner.data.write())
                        && slot.is_none()
                    {
                        *slot = Some(Arc::new(d));
                    }
                    tracing::debug!(configured, "provider configured");
                    Default::default()
                }
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ValidateResourceConfig", type_name = %request.get_ref().type_name))]
    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.into_inner();
        self.guarded("ValidateResourceConfig", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.validate(req),
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpgradeResourceState", type_name = %request.get_ref().type_name, version = request.get_ref().version))]
    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        self.guarded("UpgradeResourceState", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.upgrade(req),
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ReadResource", type_name = %request.get_ref().type_name))]
    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        let data = self.data();
        self.guarded("ReadResource", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.read(data.as_deref(), req).await,
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "PlanResourceChange", type_name = %request.get_ref().type_name))]
    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        let data = self.data();
        self.guarded("PlanResourceChange", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.plan(data.as_deref(), req).await,
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ApplyResourceChange", type_name = %request.get_ref().type_name))]
    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        let data = self.data();
        self.guarded("ApplyResourceChange", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.apply(data.as_deref(), req).await,
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ImportResourceState", type_name = %request.get_ref().type_name))]
    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        self.guarded("ImportResourceState", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.import(req),
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetResourceIdentitySchemas"))]
    async fn get_resource_identity_schemas(
        &self,
        _request: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        self.guarded("GetResourceIdentitySchemas", async {
            // Types without an identity are left out, which Terraform reads as "import by ID only".
            let types = self.inner.types.iter();
            pb::get_resource_identity_schemas::Response {
                identity_schemas: types
                    .filter_map(|(name, r)| {
                        Some(((*name).to_owned(), r.identity_schema()?.to_proto()))
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpgradeResourceIdentity", type_name = %request.get_ref().type_name, version = request.get_ref().version))]
    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let req = request.into_inner();
        self.guarded("UpgradeResourceIdentity", async {
            match self.resource(&req.type_name) {
                Ok(r) => r.upgrade_identity(req),
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ValidateDataResourceConfig", type_name = %request.get_ref().type_name))]
    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = request.into_inner();
        self.guarded("ValidateDataResourceConfig", async {
            match self.data_source(&req.type_name) {
                Ok(d) => d.validate(req),
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ReadDataSource", type_name = %request.get_ref().type_name))]
    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        let data = self.data();
        self.guarded("ReadDataSource", async {
            match self.data_source(&req.type_name) {
                Ok(d) => d.read(data.as_deref(), req).await,
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "StopProvider"))]
    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        // In-flight API calls watch this signal: waits are cancelled, but an answer already received is still used.
        tracing::info!("stop requested");
        self.inner.shutdown.stop();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }

    unserved! {
        move_resource_state(move_resource_state) "MoveResourceState":
            |_, r| unserved::no_move(&r.target_type_name);
        generate_resource_config(generate_resource_config) "GenerateResourceConfig":
            |s, r| unserved::no_generation(&r.type_name, &s.required_attributes(&r.type_name));
        validate_ephemeral_resource_config(validate_ephemeral_resource_config) "ValidateEphemeralResourceConfig":
            |s, r| s.unknown("ephemeral resource", &r.type_name);
        open_ephemeral_resource(open_ephemeral_resource) "OpenEphemeralResource":
            |s, r| s.unknown("ephemeral resource", &r.type_name);
        renew_ephemeral_resource(renew_ephemeral_resource) "RenewEphemeralResource":
            |s, r| s.unknown("ephemeral resource", &r.type_name);
        close_ephemeral_resource(close_ephemeral_resource) "CloseEphemeralResource":
            |s, r| s.unknown("ephemeral resource", &r.type_name);
        validate_list_resource_config(validate_list_resource_config) "ValidateListResourceConfig":
            |s, r| s.unknown("list resource", &r.type_name);
        get_functions(get_functions) "GetFunctions": |_, _| Diagnostics::new();
        validate_state_store_config(validate_state_store) "ValidateStateStoreConfig":
            |s, r| s.unknown("state store", &r.type_name);
        configure_state_store(configure_state_store) "ConfigureStateStore":
            |s, r| s.unknown("state store", &r.type_name);
        lock_state(lock_state) "LockState": |s, r| s.unknown("state store", &r.type_name);
        unlock_state(unlock_state) "UnlockState": |s, r| s.unknown("state store", &r.type_name);
        get_states(get_states) "GetStates": |s, r| s.unknown("state store", &r.type_name);
        delete_state(delete_state) "DeleteState": |s, r| s.unknown("state store", &r.type_name);
        plan_action(plan_action) "PlanAction": |s, r| s.unknown("action", &r.action_type);
        validate_action_config(validate_action_config) "ValidateActionConfig":
            |s, r| s.unknown("action", &r.type_name);
    }

    #[instrument(skip_all, fields(rpc = "WriteStateBytes"))]
    async fn write_state_bytes(
        &self,
        _request: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        self.guarded("WriteStateBytes", async {
            respond(self.unknown("state store", "(any)"), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "CallFunction"))]
    async fn call_function(
        &self,
        request: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!(
                    "The {} provider has no function named {name:?}.",
                    self.inner.name
                ),
                function_argument: None,
            }),
        }))
    }

    type ListResourceStream = Stream<pb::list_resource::Event>;

    #[instrument(skip_all, fields(rpc = "ListResource"))]
    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        let name = request.into_inner().type_name;
        one(pb::list_resource::Event {
            diagnostic: self.unknown("list resource", &name).to_proto(),
            ..Default::default()
        })
    }

    type ReadStateBytesStream = Stream<pb::read_state_bytes::Response>;

    #[instrument(skip_all, fields(rpc = "ReadStateBytes"))]
    async fn read_state_bytes(
        &self,
        request: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        let name = request.into_inner().type_name;
        one(pb::read_state_bytes::Response {
            diagnostics: self.unknown("state store", &name).to_proto(),
            ..Default::default()
        })
    }

    type InvokeActionStream = Stream<pb::invoke_action::Event>;

    #[instrument(skip_all, fields(rpc = "InvokeAction"))]
    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        let name = request.into_inner().action_type;
        let completed = pb::invoke_action::event::Completed {
            diagnostics: self.unknown("action", &name).to_proto(),
        };
        one(pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Completed(completed)),
        })
    }
}
