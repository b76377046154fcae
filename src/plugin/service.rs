//! The `tfplugin6.Provider` gRPC service: it decodes Terraform's values, delegates to the provider and resource code,
//! and encodes the answers. It holds no domain logic of its own.
//!
//! Every handler is instrumented with the RPC name and type only (configs and states hold secrets), and runs inside a
//! panic guard: a panic becomes an error diagnostic for that call and the plugin keeps serving.

use crate::plugin::cty::{self, Type, Value};
use crate::plugin::cty::{from_value, to_value};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::proto::tfplugin6::provider_server::Provider;
use crate::provider::{self, ProviderModel};
use crate::resources::password_rotation::{self as rotation, ApplyContext, Model, Private};
use crate::resources::users::Users;
use crate::shutdown::Shutdown;
use crate::thingspace::Client;
use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use tonic::{Request, Response, Status, Streaming};
use tracing::instrument;

type Stream<T> = Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The provider's gRPC service. Cheap to clone; all clones share one API client and one token.
#[derive(Clone)]
pub struct ProviderService {
    inner: Arc<Inner>,
}

struct Inner {
    shutdown: Shutdown,
    /// Set by `ConfigureProvider`; `None` until then, or while the configuration is still unknown.
    client: RwLock<Option<Client>>,
    users: Users,
    provider_schema: crate::plugin::schema::Schema,
    provider_type: Type,
    resource_schema: crate::plugin::schema::Schema,
    resource_type: Type,
}

impl ProviderService {
    /// A service whose `StopProvider` fires `shutdown`, and whose API calls are cancelled by it.
    pub fn new(shutdown: Shutdown) -> Self {
        let provider_schema = provider::schema();
        let resource_schema = rotation::schema();
        Self {
            inner: Arc::new(Inner {
                shutdown,
                client: RwLock::new(None),
                users: Users::default(),
                provider_type: provider_schema.value_type(),
                provider_schema,
                resource_type: resource_schema.value_type(),
                resource_schema,
            }),
        }
    }

    fn client(&self) -> Option<Client> {
        self.inner.client.read().ok().and_then(|c| c.clone())
    }
}

/// Responses that carry a list of diagnostics, so the panic guard and the helpers can add to any of them.
trait WithDiagnostics: Default {
    fn diagnostics(&mut self) -> &mut Vec<pb::Diagnostic>;
}

macro_rules! with_diagnostics {
    ($($t:ty),* $(,)?) => {
        $(impl WithDiagnostics for $t {
            fn diagnostics(&mut self) -> &mut Vec<pb::Diagnostic> {
                &mut self.diagnostics
            }
        })*
    };
}

with_diagnostics!(
    pb::get_metadata::Response,
    pb::get_provider_schema::Response,
    pb::validate_provider_config::Response,
    pb::validate_resource_config::Response,
    pb::validate_data_resource_config::Response,
    pb::upgrade_resource_state::Response,
    pb::get_resource_identity_schemas::Response,
    pb::upgrade_resource_identity::Response,
    pb::configure_provider::Response,
    pb::read_resource::Response,
    pb::plan_resource_change::Response,
    pb::apply_resource_change::Response,
    pb::import_resource_state::Response,
    pb::move_resource_state::Response,
    pb::read_data_source::Response,
    pb::generate_resource_config::Response,
    pb::validate_ephemeral_resource_config::Response,
    pb::open_ephemeral_resource::Response,
    pb::renew_ephemeral_resource::Response,
    pb::close_ephemeral_resource::Response,
    pb::validate_list_resource_config::Response,
    pb::get_functions::Response,
    pb::validate_state_store::Response,
    pb::configure_state_store::Response,
    pb::write_state_bytes::Response,
    pb::lock_state::Response,
    pb::unlock_state::Response,
    pb::get_states::Response,
    pb::delete_state::Response,
    pb::plan_action::Response,
    pb::validate_action_config::Response,
);

/// Runs a handler body; a panic becomes an error diagnostic in an otherwise empty response.
async fn guarded<R, F>(rpc: &'static str, body: F) -> Result<Response<R>, Status>
where
    R: WithDiagnostics,
    F: Future<Output = R>,
{
    match AssertUnwindSafe(body).catch_unwind().await {
        Ok(r) => Ok(Response::new(r)),
        Err(_) => {
            // The payload is not logged or shown: a panic message could carry a value from a config.
            tracing::error!(rpc, "handler panicked");
            let mut r = R::default();
            r.diagnostics().push(
                Diagnostic::error(
                    "Internal error in the thingspace provider",
                    format!(
                        "The provider hit a bug while handling {rpc} and stopped that call. Nothing else was \
affected. Please report it with the Terraform version and the steps that led here (TF_LOG=debug output is safe to \
share: it holds no secrets)."
                    ),
                )
                .to_proto(),
            );
            Ok(Response::new(r))
        }
    }
}

fn respond<R: WithDiagnostics>(diags: Diagnostics, mut r: R) -> R {
    r.diagnostics().extend(diags.to_proto());
    r
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!(
            "The thingspace provider has no {kind} named {name:?}. It serves the resource {:?}.",
            rotation::TYPE_NAME
        ),
    )
    .into()
}

fn codec_diagnostic(what: &str, e: &cty::CodecError) -> Diagnostic {
    let d = Diagnostic::error(
        format!("Invalid {what} from Terraform"),
        format!(
            "The provider could not read the {what}: {e}. This is a bug in Terraform or the provider; please report it."
        ),
    );
    d.at_path(e.path().to_vec())
}

/// Decodes a DynamicValue into a typed model; `None` for a null or absent value.
fn decode<T: DeserializeOwned>(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Option<T>, Diagnostics> {
    let Some(dv) = dv else { return Ok(None) };
    if dv.msgpack.is_empty() && dv.json.is_empty() {
        return Ok(None);
    }
    let v = cty::decode_dynamic(&dv.msgpack, &dv.json, ty)
        .map_err(|e| Diagnostics::from(codec_diagnostic(what, &e)))?;
    if v.is_null() {
        return Ok(None);
    }
    from_value(&v)
        .map(Some)
        .map_err(|e| codec_diagnostic(what, &e).into())
}

/// Decodes the three values a plan or apply receives (prior, proposed or planned, config).
type Three = (Option<Model>, Option<Model>, Option<Model>);

fn decode_three(
    dvs: [Option<&pb::DynamicValue>; 3],
    ty: &Type,
    what: [&str; 3],
) -> Result<Three, Diagnostics> {
    Ok((
        decode(dvs[0], ty, what[0])?,
        decode(dvs[1], ty, what[1])?,
        decode(dvs[2], ty, what[2])?,
    ))
}

/// Encodes a typed model (or null) as msgpack.
fn encode<T: Serialize>(
    m: Option<&T>,
    ty: &Type,
    what: &str,
) -> Result<pb::DynamicValue, Diagnostics> {
    let v = match m {
        Some(m) => to_value(m, ty).map_err(|e| Diagnostics::from(codec_diagnostic(what, &e)))?,
        None => Value::Null,
    };
    let msgpack =
        cty::encode_msgpack(&v, ty).map_err(|e| Diagnostics::from(codec_diagnostic(what, &e)))?;
    Ok(pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

fn server_capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        // A destroy is planned by us so that a destroy and a create of one user in one plan (a rename without a
        // `moved` block) can be refused before the create logs in with a stale seed.
        plan_destroy: true,
        // Terraform may reuse the schema it already fetched in this run instead of asking each new plugin process
        // again: the schema never changes within one binary.
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

fn write_only_allowed(caps: Option<&pb::ClientCapabilities>) -> bool {
    caps.is_some_and(|c| c.write_only_attributes_allowed)
}

#[tonic::async_trait]
impl Provider for ProviderService {
    #[instrument(skip_all, fields(rpc = "GetMetadata"))]
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        guarded("GetMetadata", async {
            pb::get_metadata::Response {
                server_capabilities: Some(server_capabilities()),
                resources: vec![pb::get_metadata::ResourceMetadata {
                    type_name: rotation::TYPE_NAME.to_string(),
                }],
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
        guarded("GetProviderSchema", async {
            let mut resource_schemas = HashMap::new();
            resource_schemas.insert(
                rotation::TYPE_NAME.to_string(),
                self.inner.resource_schema.to_proto(),
            );
            pb::get_provider_schema::Response {
                provider: Some(self.inner.provider_schema.to_proto()),
                resource_schemas,
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
        guarded("ValidateProviderConfig", async {
            let diags = match decode::<ProviderModel>(
                req.config.as_ref(),
                &self.inner.provider_type,
                "provider configuration",
            ) {
                Ok(m) => provider::validate(&m.unwrap_or_default()),
                Err(d) => d,
            };
            respond(diags, Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ValidateResourceConfig", type_name = %request.get_ref().type_name))]
    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.into_inner();
        guarded("ValidateResourceConfig", async {
            if req.type_name != rotation::TYPE_NAME {
                return respond(unknown_type("resource", &req.type_name), Default::default());
            }
            let diags = match decode::<Model>(
                req.config.as_ref(),
                &self.inner.resource_type,
                "resource configuration",
            ) {
                Ok(m) => rotation::validate(
                    &m.unwrap_or_default(),
                    write_only_allowed(req.client_capabilities.as_ref()),
                ),
                Err(d) => d,
            };
            respond(diags, Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ValidateDataResourceConfig"))]
    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ValidateDataResourceConfig", async {
            respond(unknown_type("data source", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpgradeResourceState", type_name = %request.get_ref().type_name, version = request.get_ref().version))]
    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        guarded("UpgradeResourceState", async {
            if req.type_name != rotation::TYPE_NAME {
                return respond(unknown_type("resource", &req.type_name), Default::default());
            }
            let raw = req.raw_state.unwrap_or_default();
            let json: serde_json::Value = if raw.json.is_empty() {
                if !raw.flatmap.is_empty() {
                    return respond(
                        Diagnostic::error(
                            "Unsupported state format",
                            "This state is in the flatmap format of Terraform 0.11 and older, which this provider \
never wrote. Remove it with `terraform state rm` and import the user again.",
                        )
                        .into(),
                        Default::default(),
                    );
                }
                serde_json::Value::Null
            } else {
                match serde_json::from_slice(&raw.json) {
                    Ok(v) => v,
                    Err(e) => {
                        return respond(
                            Diagnostic::error("Unreadable state", format!("The stored state is not valid JSON: {e}.")).into(),
                            Default::default(),
                        );
                    }
                }
            };
            let model = if json.is_null() {
                None
            } else {
                match rotation::upgrade(req.version, &json) {
                    Ok(m) => Some(m),
                    Err(d) => return respond(d.into(), Default::default()),
                }
            };
            // Every object in state passes here before it is planned, even a tainted one with refresh off, whose
            // replacement's plan gets no prior state: note its block and password for that plan.
            if let Some(m) = &model {
                rotation::observe(&self.inner.users, m, None);
            }
            match encode(model.as_ref(), &self.inner.resource_type, "upgraded state") {
                Ok(v) => pb::upgrade_resource_state::Response {
                    upgraded_state: Some(v),
                    ..Default::default()
                },
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
        guarded("GetResourceIdentitySchemas", async { Default::default() }).await
    }

    #[instrument(skip_all, fields(rpc = "UpgradeResourceIdentity"))]
    async fn upgrade_resource_identity(
        &self,
        request: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("UpgradeResourceIdentity", async {
            respond(
                Diagnostic::error(
                    "Resource identity not supported",
                    format!(
                        "{name:?} has no resource identity; import it by its ID (the user name)."
                    ),
                )
                .into(),
                Default::default(),
            )
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ConfigureProvider", terraform_version = %request.get_ref().terraform_version))]
    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = request.into_inner();
        guarded("ConfigureProvider", async {
            let model = match decode::<ProviderModel>(
                req.config.as_ref(),
                &self.inner.provider_type,
                "provider configuration",
            ) {
                Ok(m) => m.unwrap_or_default(),
                Err(d) => return respond(d, Default::default()),
            };
            match provider::configure(
                &model,
                |k| std::env::var(k).ok(),
                self.inner.shutdown.clone(),
            ) {
                Ok(client) => {
                    let configured = client.is_some();
                    // Terraform configures each provider process once; keeping the first client keeps its token.
                    if let (Some(c), Ok(mut slot)) = (client, self.inner.client.write())
                        && slot.is_none()
                    {
                        *slot = Some(c);
                    }
                    tracing::debug!(configured, "provider configured");
                    Default::default()
                }
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
        guarded("ReadResource", async {
            if req.type_name != rotation::TYPE_NAME {
                return respond(unknown_type("resource", &req.type_name), Default::default());
            }
            let ty = &self.inner.resource_type;
            let current = match decode::<Model>(req.current_state.as_ref(), ty, "current state") {
                Ok(m) => m,
                Err(d) => return respond(d, Default::default()),
            };
            let (new_state, private) = match &current {
                Some(current) => {
                    let (state, private) = rotation::read(
                        &self.inner.users,
                        current,
                        &req.private,
                        crate::clock::now(),
                    );
                    (Some(state), private)
                }
                None => (None, Vec::new()),
            };
            match encode(new_state.as_ref(), ty, "new state") {
                Ok(v) => pb::read_resource::Response {
                    new_state: Some(v),
                    private,
                    ..Default::default()
                },
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
        guarded("PlanResourceChange", async {
            if req.type_name != rotation::TYPE_NAME {
                return respond(unknown_type("resource", &req.type_name), Default::default());
            }
            let ty = &self.inner.resource_type;
            let decoded = decode_three(
                [
                    req.prior_state.as_ref(),
                    req.proposed_new_state.as_ref(),
                    req.config.as_ref(),
                ],
                ty,
                ["prior state", "proposed new state", "configuration"],
            );
            let (prior, proposed, config) = match decoded {
                Ok(v) => v,
                Err(d) => return respond(d, Default::default()),
            };
            let (Some(_), Some(config)) = (proposed, config) else {
                // Destroy: the planned state is null.
                let (planned_private, diags) = match &prior {
                    Some(prior) => rotation::plan_destroy(prior, &req.prior_private, &self.inner.users),
                    None => (Vec::new(), Diagnostics::new()),
                };
                return match encode::<Model>(None, ty, "planned state") {
                    Ok(v) => respond(
                        diags,
                        pb::plan_resource_change::Response {
                            planned_state: Some(v),
                            planned_private,
                            ..Default::default()
                        },
                    ),
                    Err(d) => respond(d, Default::default()),
                };
            };
            let private = Private::from_bytes(&req.prior_private);
            let plan = rotation::plan_in_run(
                prior.as_ref(),
                &config,
                crate::clock::now(),
                &private,
                &self.inner.users,
            );
            let mut requires_replace = Vec::new();
            if let Some(prior) = &prior
                && (config.username.is_unknown()
                    || (config.username.is_known() && config.username != prior.username))
                {
                    requires_replace.push(pb::AttributePath {
                        steps: vec![pb::attribute_path::Step {
                            selector: Some(pb::attribute_path::step::Selector::AttributeName(
                                "username".into(),
                            )),
                        }],
                    });
                }
            tracing::debug!(rotation = ?plan.private.rotation, blocked = plan.private.block.is_some(), create = prior.is_none(), "planned");
            match encode(Some(&plan.planned), ty, "planned state") {
                Ok(v) => respond(
                    plan.diagnostics,
                    pb::plan_resource_change::Response {
                        planned_state: Some(v),
                        requires_replace,
                        planned_private: plan.private.to_bytes(),
                        ..Default::default()
                    },
                ),
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
        guarded("ApplyResourceChange", async {
            if req.type_name != rotation::TYPE_NAME {
                return respond(unknown_type("resource", &req.type_name), Default::default());
            }
            let ty = &self.inner.resource_type;
            let decoded = decode_three(
                [
                    req.prior_state.as_ref(),
                    req.planned_state.as_ref(),
                    req.config.as_ref(),
                ],
                ty,
                ["prior state", "planned state", "configuration"],
            );
            let (prior, planned, config) = match decoded {
                Ok(v) => v,
                Err(d) => {
                    // Nothing was done: hand back the prior state unchanged so nothing is lost.
                    return pb::apply_resource_change::Response {
                        new_state: req.prior_state.clone(),
                        ..respond(d, Default::default())
                    };
                }
            };
            let client = self.client();
            let ctx = ApplyContext {
                client: client.as_ref(),
                users: &self.inner.users,
            };
            let now = crate::clock::now;
            let applied = match (prior, planned) {
                (Some(prior), None) => rotation::delete(&ctx, &prior),
                (None, Some(planned)) => {
                    let config = config.unwrap_or_else(|| planned.clone());
                    let private = Private::from_bytes(&req.planned_private);
                    rotation::create(&ctx, &config, planned, private, now).await
                }
                (Some(prior), Some(planned)) => {
                    let config = config.unwrap_or_else(|| planned.clone());
                    let private = Private::from_bytes(&req.planned_private);
                    rotation::update(&ctx, &prior, &config, planned, private, now).await
                }
                (None, None) => rotation::Applied {
                    new_state: None,
                    private: Vec::new(),
                    diagnostics: Diagnostics::new(),
                },
            };
            match encode(applied.new_state.as_ref(), ty, "new state") {
                Ok(v) => respond(
                    applied.diagnostics,
                    pb::apply_resource_change::Response {
                        new_state: Some(v),
                        private: applied.private,
                        ..Default::default()
                    },
                ),
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
        guarded("ImportResourceState", async {
            if req.type_name != rotation::TYPE_NAME {
                return respond(unknown_type("resource", &req.type_name), Default::default());
            }
            let model = match rotation::import(&req.id) {
                Ok(m) => m,
                Err(d) => return respond(d.into(), Default::default()),
            };
            match encode(Some(&model), &self.inner.resource_type, "imported state") {
                Ok(state) => pb::import_resource_state::Response {
                    imported_resources: vec![pb::import_resource_state::ImportedResource {
                        type_name: rotation::TYPE_NAME.to_string(),
                        state: Some(state),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                Err(d) => respond(d, Default::default()),
            }
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "MoveResourceState"))]
    async fn move_resource_state(
        &self,
        _request: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        guarded("MoveResourceState", async {
            respond(
                Diagnostic::error(
                    "Moving state is not supported",
                    "thingspace_password_rotation cannot take over state from another resource type; import the user instead.",
                )
                .into(),
                Default::default(),
            )
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ReadDataSource"))]
    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ReadDataSource", async {
            respond(unknown_type("data source", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GenerateResourceConfig"))]
    async fn generate_resource_config(
        &self,
        request: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("GenerateResourceConfig", async {
            respond(
                Diagnostic::error(
                    "Configuration generation is not supported",
                    format!(
                        "Write the configuration for {name:?} by hand: it needs only username."
                    ),
                )
                .into(),
                Default::default(),
            )
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ValidateEphemeralResourceConfig"))]
    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ValidateEphemeralResourceConfig", async {
            respond(
                unknown_type("ephemeral resource", &name),
                Default::default(),
            )
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "OpenEphemeralResource"))]
    async fn open_ephemeral_resource(
        &self,
        request: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("OpenEphemeralResource", async {
            respond(
                unknown_type("ephemeral resource", &name),
                Default::default(),
            )
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RenewEphemeralResource"))]
    async fn renew_ephemeral_resource(
        &self,
        request: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("RenewEphemeralResource", async {
            respond(
                unknown_type("ephemeral resource", &name),
                Default::default(),
            )
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "CloseEphemeralResource"))]
    async fn close_ephemeral_resource(
        &self,
        request: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("CloseEphemeralResource", async {
            respond(
                unknown_type("ephemeral resource", &name),
                Default::default(),
            )
        })
        .await
    }

    type ListResourceStream = Stream<pb::list_resource::Event>;

    #[instrument(skip_all, fields(rpc = "ListResource"))]
    async fn list_resource(
        &self,
        request: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        let name = request.into_inner().type_name;
        let event = pb::list_resource::Event {
            diagnostic: unknown_type("list resource", &name).to_proto(),
            ..Default::default()
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter(vec![
            Ok(event),
        ]))))
    }

    #[instrument(skip_all, fields(rpc = "ValidateListResourceConfig"))]
    async fn validate_list_resource_config(
        &self,
        request: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ValidateListResourceConfig", async {
            respond(unknown_type("list resource", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetFunctions"))]
    async fn get_functions(
        &self,
        _request: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        guarded("GetFunctions", async { Default::default() }).await
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
                text: format!("The thingspace provider has no function named {name:?}."),
                function_argument: None,
            }),
        }))
    }

    #[instrument(skip_all, fields(rpc = "ValidateStateStoreConfig"))]
    async fn validate_state_store_config(
        &self,
        request: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ValidateStateStoreConfig", async {
            respond(unknown_type("state store", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ConfigureStateStore"))]
    async fn configure_state_store(
        &self,
        request: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ConfigureStateStore", async {
            respond(unknown_type("state store", &name), Default::default())
        })
        .await
    }

    type ReadStateBytesStream = Stream<pb::read_state_bytes::Response>;

    #[instrument(skip_all, fields(rpc = "ReadStateBytes"))]
    async fn read_state_bytes(
        &self,
        request: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        let name = request.into_inner().type_name;
        let chunk = pb::read_state_bytes::Response {
            diagnostics: unknown_type("state store", &name).to_proto(),
            ..Default::default()
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter(vec![
            Ok(chunk),
        ]))))
    }

    #[instrument(skip_all, fields(rpc = "WriteStateBytes"))]
    async fn write_state_bytes(
        &self,
        _request: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        guarded("WriteStateBytes", async {
            respond(unknown_type("state store", "(any)"), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "LockState"))]
    async fn lock_state(
        &self,
        request: Request<pb::lock_state::Request>,
    ) -> Result<Response<pb::lock_state::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("LockState", async {
            respond(unknown_type("state store", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UnlockState"))]
    async fn unlock_state(
        &self,
        request: Request<pb::unlock_state::Request>,
    ) -> Result<Response<pb::unlock_state::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("UnlockState", async {
            respond(unknown_type("state store", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetStates"))]
    async fn get_states(
        &self,
        request: Request<pb::get_states::Request>,
    ) -> Result<Response<pb::get_states::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("GetStates", async {
            respond(unknown_type("state store", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "DeleteState"))]
    async fn delete_state(
        &self,
        request: Request<pb::delete_state::Request>,
    ) -> Result<Response<pb::delete_state::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("DeleteState", async {
            respond(unknown_type("state store", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "PlanAction"))]
    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let name = request.into_inner().action_type;
        guarded("PlanAction", async {
            respond(unknown_type("action", &name), Default::default())
        })
        .await
    }

    type InvokeActionStream = Stream<pb::invoke_action::Event>;

    #[instrument(skip_all, fields(rpc = "InvokeAction"))]
    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        let name = request.into_inner().action_type;
        let event = pb::invoke_action::Event {
            r#type: Some(pb::invoke_action::event::Type::Completed(
                pb::invoke_action::event::Completed {
                    diagnostics: unknown_type("action", &name).to_proto(),
                },
            )),
        };
        Ok(Response::new(Box::pin(futures_util::stream::iter(vec![
            Ok(event),
        ]))))
    }

    #[instrument(skip_all, fields(rpc = "ValidateActionConfig"))]
    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let name = request.into_inner().type_name;
        guarded("ValidateActionConfig", async {
            respond(unknown_type("action", &name), Default::default())
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "StopProvider"))]
    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        // In-flight API calls watch this signal: waits are cancelled, but a password already received is still returned.
        tracing::info!("stop requested");
        self.inner.shutdown.stop();
        Ok(Response::new(pb::stop_provider::Response::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_error_diagnostic_and_the_service_keeps_serving() {
        let resp: Response<pb::plan_resource_change::Response> =
            guarded("PlanResourceChange", async {
                if std::hint::black_box(true) {
                    panic!("boom with a secret: hunter2");
                }
                pb::plan_resource_change::Response::default()
            })
            .await
            .unwrap();
        let diags = &resp.get_ref().diagnostics;
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].severity, pb::diagnostic::Severity::Error as i32);
        assert!(diags[0].detail.contains("PlanResourceChange"));
        assert!(
            !diags[0].detail.contains("hunter2"),
            "the payload is never shown"
        );

        // The same service answers the next call normally.
        let svc = ProviderService::new(Shutdown::new());
        let schema = svc
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap();
        assert!(
            schema
                .get_ref()
                .resource_schemas
                .contains_key(rotation::TYPE_NAME)
        );
    }

    #[tokio::test]
    async fn stop_provider_fires_the_shutdown_signal() {
        let shutdown = Shutdown::new();
        let svc = ProviderService::new(shutdown.clone());
        svc.stop_provider(Request::new(pb::stop_provider::Request {}))
            .await
            .unwrap();
        assert!(shutdown.is_stopped() && !shutdown.is_exiting());
    }

    #[tokio::test]
    async fn garbage_on_the_wire_is_an_error_diagnostic_not_a_panic() {
        let svc = ProviderService::new(Shutdown::new());
        for bytes in [
            vec![0xc1],
            vec![0x81, 0xa1],
            vec![0xdd, 0xff, 0xff, 0xff, 0xff],
            b"not msgpack".to_vec(),
        ] {
            let resp = svc
                .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                    type_name: rotation::TYPE_NAME.into(),
                    config: Some(pb::DynamicValue {
                        msgpack: bytes.clone(),
                        json: vec![],
                    }),
                    proposed_new_state: Some(pb::DynamicValue {
                        msgpack: bytes,
                        json: vec![],
                    }),
                    ..Default::default()
                }))
                .await
                .unwrap();
            let d = &resp.get_ref().diagnostics;
            assert_eq!(d.len(), 1, "{d:?}");
            assert!(d[0].summary.starts_with("Invalid"), "{d:?}");
        }
    }
}
