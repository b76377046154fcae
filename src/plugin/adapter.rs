//! The one adapter between Terraform's resource RPCs and any [`Resource`]: it does, once for every resource type,
//! what Terraform requires of each.
//!
//! - Values: every `DynamicValue` is decoded with the resource's schema into its typed model, and every answer
//!   encoded back, so a resource never sees msgpack.
//! - Write-only attributes (schema flag `write_only`): null in every planned, applied, read, imported and upgraded
//!   state, as Terraform requires.
//! - Replacement (schema flag `requires_replace`): an update whose configured value of such an attribute is unknown,
//!   or known and different from the prior state's, is planned as a replacement.
//! - Diagnostics: a value that can't be decoded or encoded is an error diagnostic naming the attribute; the service
//!   runs every call in a panic guard.
//!
//! The service keeps the adapters of a provider's resource types by type name, as [`ServedResource`]s.

use futures_util::future::BoxFuture;

use crate::plugin::cty::{JsonOptions, PathStep, Type, Value, decode_json_with};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, path_to_proto};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::resource::{ApplyRequest, ClientCapabilities, Outcome, PlanRequest, Resource};
use crate::plugin::respond::respond;
use crate::plugin::schema::Schema;
use crate::plugin::wire::{decode, decode_value, encode_value, typed, value_of};

/// A resource type as the service serves it: the RPCs, in tfplugin6's terms, for a provider whose data is `D`.
pub trait AnyResource<D>: Send + Sync {
    /// The type name configurations use.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> &Schema;
    /// `ValidateResourceConfig`.
    fn validate(
        &self,
        request: pb::validate_resource_config::Request,
    ) -> pb::validate_resource_config::Response;
    /// `UpgradeResourceState`.
    fn upgrade(
        &self,
        request: pb::upgrade_resource_state::Request,
    ) -> pb::upgrade_resource_state::Response;
    /// `ReadResource`.
    fn read<'a>(
        &'a self,
        data: Option<&'a D>,
        request: pb::read_resource::Request,
    ) -> BoxFuture<'a, pb::read_resource::Response>;
    /// `PlanResourceChange`.
    fn plan<'a>(
        &'a self,
        data: Option<&'a D>,
        request: pb::plan_resource_change::Request,
    ) -> BoxFuture<'a, pb::plan_resource_change::Response>;
    /// `ApplyResourceChange`.
    fn apply<'a>(
        &'a self,
        data: Option<&'a D>,
        request: pb::apply_resource_change::Request,
    ) -> BoxFuture<'a, pb::apply_resource_change::Response>;
    /// `ImportResourceState`.
    fn import(
        &self,
        request: pb::import_resource_state::Request,
    ) -> pb::import_resource_state::Response;
}

/// A served resource type of a provider whose data is `D`.
pub type ServedResource<D> = Box<dyn AnyResource<D>>;

/// Serves `resource` through the adapter.
pub fn serve<R: Resource>(resource: R) -> ServedResource<R::Data> {
    Box::new(Adapter::new(resource))
}

/// Reads a stored state of schema `version` (`UpgradeResourceState`'s raw JSON) as `resource`'s model and upgrades
/// it: what the adapter answers `UpgradeResourceState` with, before encoding. `Ok(None)` for no state.
pub fn upgrade_state<R: Resource>(
    resource: &R,
    version: i64,
    json: &[u8],
) -> Result<Option<R::Model>, Diagnostics> {
    let schema = resource.schema();
    upgrade_json(resource, &schema, &schema.value_type(), version, json)
}

fn upgrade_json<R: Resource>(
    resource: &R,
    schema: &Schema,
    ty: &Type,
    version: i64,
    json: &[u8],
) -> Result<Option<R::Model>, Diagnostics> {
    if json.is_empty() {
        return Ok(None);
    }
    if version > schema.version {
        return Err(Diagnostic::error(
            "State from a newer provider",
            format!(
                "The state was written with schema version {version}, newer than this provider's {}. Use the \
provider version that wrote it.",
                schema.version
            ),
        )
        .into());
    }
    // Read with today's schema: an older one may have had attributes since removed, which are dropped; attributes
    // added since are null.
    let options = JsonOptions {
        ignore_undefined_attributes: true,
    };
    let value = decode_json_with(json, ty, options).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(
                "Unreadable state",
                format!("The stored state (schema version {version}) could not be read: {e}."),
            )
            .at_path(e.path().to_vec()),
        )
    })?;
    match typed::<R::Model>(&value, "stored state")? {
        Some(prior) => resource.upgrade(version, prior).map(Some),
        None => Ok(None),
    }
}

/// The adapter around one resource, with what it derives from the schema once.
struct Adapter<R> {
    resource: R,
    schema: Schema,
    ty: Type,
    write_only: Vec<&'static str>,
    requires_replace: Vec<&'static str>,
}

/// A value decoded from Terraform, and its typed model.
type Decoded<M> = Option<(Value, M)>;

impl<R: Resource> Adapter<R> {
    fn new(resource: R) -> Self {
        let schema = resource.schema();
        Self {
            ty: schema.value_type(),
            write_only: schema.write_only_attributes().collect(),
            requires_replace: schema.requires_replace_attributes().collect(),
            schema,
            resource,
        }
    }

    fn decode(
        &self,
        dv: Option<&pb::DynamicValue>,
        what: &str,
    ) -> Result<Decoded<R::Model>, Diagnostics> {
        let value = decode_value(dv, &self.ty, what)?;
        Ok(typed(&value, what)?.map(|m| (value, m)))
    }

    /// Encodes a state for Terraform, with every write-only attribute null.
    fn encode(&self, m: Option<&R::Model>, what: &str) -> Result<pb::DynamicValue, Diagnostics> {
        let mut value = value_of(m, &self.ty, what)?;
        if let Value::Object(attrs) = &mut value {
            for name in &self.write_only {
                if let Some(v) = attrs.get_mut(*name) {
                    *v = Value::Null;
                }
            }
        }
        encode_value(&value, &self.ty, what)
    }

    /// The attributes whose configured value replaces the prior object: unknown, or known and changed. A null one
    /// (not configured) replaces nothing.
    fn replaced(&self, prior: &Value, config: &Value) -> Vec<pb::AttributePath> {
        self.requires_replace
            .iter()
            .filter(|name| {
                let configured = config.get_attr(name).unwrap_or(&Value::Null);
                // A state holds no unknowns, so an unknown configured value always differs from the prior one.
                !configured.is_null() && Some(configured) != prior.get_attr(name)
            })
            .map(|name| path_to_proto(&[PathStep::Attr((*name).to_owned())]))
            .collect()
    }

    async fn plan_change(
        &self,
        data: Option<&R::Data>,
        req: pb::plan_resource_change::Request,
    ) -> pb::plan_resource_change::Response {
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                self.decode(req.prior_state.as_ref(), "prior state")?,
                self.decode(req.proposed_new_state.as_ref(), "proposed new state")?,
                self.decode(req.config.as_ref(), "configuration")?,
            ))
        })();
        let (prior, proposed, config) = match decoded {
            Ok(v) => v,
            Err(d) => return respond(d, Default::default()),
        };
        let (Some((_, proposed)), Some((config_value, config))) = (proposed, config) else {
            // Destroy: the planned state is null.
            let outcome = match &prior {
                Some((_, prior)) => self.resource.plan_destroy(prior, &req.prior_private),
                None => Outcome::new(()),
            };
            return match self.encode(None, "planned state") {
                Ok(v) => respond(
                    outcome.diagnostics,
                    pb::plan_resource_change::Response {
                        planned_state: Some(v),
                        planned_private: outcome.private,
                        ..Default::default()
                    },
                ),
                Err(d) => respond(d, Default::default()),
            };
        };
        let requires_replace = match &prior {
            Some((prior_value, _)) => self.replaced(prior_value, &config_value),
            None => Vec::new(),
        };
        let request = PlanRequest {
            prior: prior.as_ref().map(|(_, m)| m),
            proposed: &proposed,
            config: &config,
            prior_private: &req.prior_private,
        };
        let outcome = self.resource.plan(data, request).await;
        match self.encode(Some(&outcome.state), "planned state") {
            Ok(v) => respond(
                outcome.diagnostics,
                pb::plan_resource_change::Response {
                    planned_state: Some(v),
                    requires_replace,
                    planned_private: outcome.private,
                    ..Default::default()
                },
            ),
            Err(d) => respond(d, Default::default()),
        }
    }

    async fn apply_change(
        &self,
        data: Option<&R::Data>,
        req: pb::apply_resource_change::Request,
    ) -> pb::apply_resource_change::Response {
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode::<R::Model>(req.prior_state.as_ref(), &self.ty, "prior state")?,
                decode::<R::Model>(req.planned_state.as_ref(), &self.ty, "planned state")?,
                decode::<R::Model>(req.config.as_ref(), &self.ty, "configuration")?,
            ))
        })();
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
        let private = &req.planned_private;
        let outcome = match (prior, planned) {
            (Some(prior), None) => self.resource.delete(data, &prior, private).await,
            (None, Some(planned)) => {
                let config = config.unwrap_or_else(|| planned.clone());
                let request = ApplyRequest {
                    config: &config,
                    planned,
                    planned_private: private,
                };
                self.resource.create(data, request).await
            }
            (Some(prior), Some(planned)) => {
                let config = config.unwrap_or_else(|| planned.clone());
                let request = ApplyRequest {
                    config: &config,
                    planned,
                    planned_private: private,
                };
                self.resource.update(data, &prior, request).await
            }
            (None, None) => Outcome::new(None),
        };
        match self.encode(outcome.state.as_ref(), "new state") {
            Ok(v) => respond(
                outcome.diagnostics,
                pb::apply_resource_change::Response {
                    new_state: Some(v),
                    private: outcome.private,
                    ..Default::default()
                },
            ),
            Err(d) => respond(d, Default::default()),
        }
    }

    async fn read_state(
        &self,
        data: Option<&R::Data>,
        req: pb::read_resource::Request,
    ) -> pb::read_resource::Response {
        let current =
            match decode::<R::Model>(req.current_state.as_ref(), &self.ty, "current state") {
                Ok(m) => m,
                Err(d) => return respond(d, Default::default()),
            };
        let outcome = match &current {
            Some(current) => self.resource.read(data, current, &req.private).await,
            None => Outcome::new(None),
        };
        match self.encode(outcome.state.as_ref(), "new state") {
            Ok(v) => respond(
                outcome.diagnostics,
                pb::read_resource::Response {
                    new_state: Some(v),
                    private: outcome.private,
                    ..Default::default()
                },
            ),
            Err(d) => respond(d, Default::default()),
        }
    }
}

impl<R: Resource> AnyResource<R::Data> for Adapter<R> {
    fn type_name(&self) -> &'static str {
        self.resource.type_name()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(
        &self,
        req: pb::validate_resource_config::Request,
    ) -> pb::validate_resource_config::Response {
        let client = req
            .client_capabilities
            .map(|c| ClientCapabilities {
                write_only_attributes_allowed: c.write_only_attributes_allowed,
                deferral_allowed: c.deferral_allowed,
            })
            .unwrap_or_default();
        let diags =
            match decode::<R::Model>(req.config.as_ref(), &self.ty, "resource configuration") {
                Ok(m) => self.resource.validate(&m.unwrap_or_default(), client),
                Err(d) => d,
            };
        respond(diags, Default::default())
    }

    fn upgrade(
        &self,
        req: pb::upgrade_resource_state::Request,
    ) -> pb::upgrade_resource_state::Response {
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() && !raw.flatmap.is_empty() {
            let d = Diagnostic::error(
                "Unsupported state format",
                "This state is in the flatmap format of Terraform 0.11 and older, which this provider never \
wrote. Remove it with `terraform state rm` and import the object again.",
            );
            return respond(d.into(), Default::default());
        }
        let upgraded = upgrade_json(
            &self.resource,
            &self.schema,
            &self.ty,
            req.version,
            &raw.json,
        )
        .and_then(|m| self.encode(m.as_ref(), "upgraded state"));
        match upgraded {
            Ok(v) => pb::upgrade_resource_state::Response {
                upgraded_state: Some(v),
                ..Default::default()
            },
            Err(d) => respond(d, Default::default()),
        }
    }

    fn read<'a>(
        &'a self,
        data: Option<&'a R::Data>,
        request: pb::read_resource::Request,
    ) -> BoxFuture<'a, pb::read_resource::Response> {
        Box::pin(self.read_state(data, request))
    }

    fn plan<'a>(
        &'a self,
        data: Option<&'a R::Data>,
        request: pb::plan_resource_change::Request,
    ) -> BoxFuture<'a, pb::plan_resource_change::Response> {
        Box::pin(self.plan_change(data, request))
    }

    fn apply<'a>(
        &'a self,
        data: Option<&'a R::Data>,
        request: pb::apply_resource_change::Request,
    ) -> BoxFuture<'a, pb::apply_resource_change::Response> {
        Box::pin(self.apply_change(data, request))
    }

    fn import(
        &self,
        req: pb::import_resource_state::Request,
    ) -> pb::import_resource_state::Response {
        let imported = self
            .resource
            .import(&req.id)
            .and_then(|m| self.encode(Some(&m), "imported state"));
        match imported {
            Ok(state) => pb::import_resource_state::Response {
                imported_resources: vec![pb::import_resource_state::ImportedResource {
                    type_name: self.type_name().to_owned(),
                    state: Some(state),
                    ..Default::default()
                }],
                ..Default::default()
            },
            Err(d) => respond(d, Default::default()),
        }
    }
}
