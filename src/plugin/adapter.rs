//! The one adapter between Terraform's resource RPCs and any [`Resource`]: it does, once for every resource type,
//! what Terraform requires of each.
//!
//! - Values: every `DynamicValue` is decoded with the resource's schema into its typed model, and every answer
//!   encoded back, so a resource never sees msgpack.
//! - Write-only attributes (schema flag `write_only`): null in every planned, applied, read, imported and upgraded
//!   state, as Terraform requires.
//! - Replacement (schema flag `requires_replace`): an update whose configured value of such an attribute is unknown,
//!   or known and different from the prior state's, is planned as a replacement.
//! - Identity (when the resource declares one, see [`Identity`]): every read, plan, apply and import answer carries
//!   the identity derived from the state it answers with, whatever Terraform sent (older Terraform and OpenTofu send
//!   none); an update, read or apply that would change an object's identity in place is an error.
//! - Diagnostics: a value that can't be decoded or encoded is an error diagnostic naming the attribute; the service
//!   runs every call in a panic guard.
//!
//! The service keeps the adapters of a provider's resource types by type name, as [`ServedResource`]s.

use futures_util::future::BoxFuture;

use crate::plugin::cty::{JsonOptions, PathStep, Type, Value, decode_json_with};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, path_to_proto};
use crate::plugin::identity::{Identity, IdentitySchema, changed_attributes, is_fully_null};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::resource::{ApplyRequest, ClientCapabilities, Outcome, PlanRequest, Resource};
use crate::plugin::respond::respond;
use crate::plugin::schema::Schema;
use crate::plugin::unserved::no_identity;
use crate::plugin::wire::{decode, decode_value, encode_value, typed, value_of};

/// A resource type as the service serves it: the RPCs, in tfplugin6's terms, for a provider whose data is `D`.
pub trait AnyResource<D>: Send + Sync {
    /// The type name configurations use.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> &Schema;
    /// The identity schema, for a type with a resource identity.
    fn identity_schema(&self) -> Option<&IdentitySchema>;
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
    /// `ImportResourceState`, by ID or by identity.
    fn import(
        &self,
        request: pb::import_resource_state::Request,
    ) -> pb::import_resource_state::Response;
    /// `UpgradeResourceIdentity`.
    fn upgrade_identity(
        &self,
        request: pb::upgrade_resource_identity::Request,
    ) -> pb::upgrade_resource_identity::Response;
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
struct Adapter<R: Resource> {
    resource: R,
    schema: Schema,
    ty: Type,
    write_only: Vec<&'static str>,
    requires_replace: Vec<&'static str>,
    identity: Option<Identity<R::Model>>,
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
            identity: resource.identity(),
            schema,
            resource,
        }
    }

    /// The identity of `state`, for an answer: `None` for a type without identity or a null state. A failure (a bug
    /// in the resource's identity type) is added to `diags`; the state is answered all the same.
    fn identity_of(&self, state: Option<&R::Model>, diags: &mut Diagnostics) -> Option<Value> {
        let (identity, state) = (self.identity.as_ref()?, state?);
        identity.of(state).map_err(|d| diags.extend(d)).ok()
    }

    /// An identity value in its tfplugin6 form.
    fn identity_data(
        &self,
        value: Option<&Value>,
        diags: &mut Diagnostics,
    ) -> Option<pb::ResourceIdentityData> {
        let (identity, value) = (self.identity.as_ref()?, value?);
        encode_value(value, identity.value_type(), "resource identity")
            .map(|dv| pb::ResourceIdentityData {
                identity_data: Some(dv),
            })
            .map_err(|d| diags.extend(d))
            .ok()
    }

    /// The identity Terraform sent with a request: null when it sent none (before 1.12, OpenTofu, objects stored
    /// before the type had an identity) or the type has none.
    fn sent_identity(&self, data: Option<&pb::ResourceIdentityData>) -> Result<Value, Diagnostics> {
        match &self.identity {
            Some(identity) => decode_value(
                data.and_then(|d| d.identity_data.as_ref()),
                identity.value_type(),
                "resource identity",
            ),
            None => Ok(Value::Null),
        }
    }

    /// An error when `new` is not the identity of the object `prior`: the one Terraform stored for it (`stored`),
    /// else the one its prior state gives. Identity names the remote object, so only a replacement may change it.
    fn keep_identity(
        &self,
        stored: Value,
        prior: &R::Model,
        new: Option<&Value>,
        during: &str,
    ) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let held = if is_fully_null(&stored) {
            self.identity_of(Some(prior), &mut diags)
        } else {
            Some(stored)
        };
        if let (Some(held), Some(new)) = (held, new)
            && held != *new
        {
            // Attribute names only: the identity's values are the user's, and a diagnostic quotes nothing it holds.
            let changed = changed_attributes(&held, new).join(", ");
            diags.push(Diagnostic::error(
                "Resource identity changed",
                format!(
                    "The {during} of this {} object would change its resource identity ({changed}), which names the remote object and changes only when the object is replaced. This is a bug in the provider; please report it. Nothing was changed by this check; `terraform state rm` and an import by identity make the state consistent again.",
                    self.resource.type_name()
                ),
            ));
        }
        diags
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
                self.decode(req.config.as_ref(), "configuration")?,
                self.sent_identity(req.prior_identity.as_ref())?,
            ))
        })();
        let (prior, config, prior_identity) = match decoded {
            Ok(v) => v,
            Err(d) => return respond(d, Default::default()),
        };
        // No resource reads Terraform's proposal, so it is not decoded: only whether it is null (a destroy) counts.
        let destroy = is_null(req.proposed_new_state.as_ref());
        let (false, Some((config_value, config))) = (destroy, config) else {
            // Destroy: the planned state is null; the planned identity is still the object's, which Terraform keeps
            // with the planned change.
            let outcome = match &prior {
                Some((_, prior)) => self.resource.plan_destroy(prior, &req.prior_private),
                None => Outcome::new(()),
            };
            let mut diags = outcome.diagnostics;
            let identity = self.identity_of(prior.as_ref().map(|(_, m)| m), &mut diags);
            let planned_identity = self.identity_data(identity.as_ref(), &mut diags);
            return match self.encode(None, "planned state") {
                Ok(v) => respond(
                    diags,
                    pb::plan_resource_change::Response {
                        planned_state: Some(v),
                        planned_private: outcome.private,
                        planned_identity,
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
            config: &config,
            prior_private: &req.prior_private,
        };
        let outcome = self.resource.plan(data, request).await;
        let mut diags = outcome.diagnostics;
        // A create's identity may hold unknowns (an attribute known only after apply); Terraform allows that.
        let identity = self.identity_of(Some(&outcome.state), &mut diags);
        if let Some((_, prior)) = &prior
            && requires_replace.is_empty()
        {
            diags.extend(self.keep_identity(prior_identity, prior, identity.as_ref(), "plan"));
        }
        let planned_identity = self.identity_data(identity.as_ref(), &mut diags);
        match self.encode(Some(&outcome.state), "planned state") {
            Ok(v) => respond(
                diags,
                pb::plan_resource_change::Response {
                    planned_state: Some(v),
                    requires_replace,
                    planned_private: outcome.private,
                    planned_identity,
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
        // Nothing is done when a value can't be read: the prior state goes back unchanged so nothing is lost, with
        // its identity when it could be read.
        let unchanged = |mut diags: Diagnostics, prior: Option<&R::Model>| {
            let identity = self.identity_of(prior, &mut diags);
            pb::apply_resource_change::Response {
                new_state: req.prior_state.clone(),
                new_identity: self.identity_data(identity.as_ref(), &mut diags),
                ..respond(diags, Default::default())
            }
        };
        let prior = match decode::<R::Model>(req.prior_state.as_ref(), &self.ty, "prior state") {
            Ok(prior) => prior,
            Err(d) => return unchanged(d, None),
        };
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode::<R::Model>(req.planned_state.as_ref(), &self.ty, "planned state")?,
                decode::<R::Model>(req.config.as_ref(), &self.ty, "configuration")?,
                self.sent_identity(req.planned_identity.as_ref())?,
            ))
        })();
        let (planned, config, planned_identity) = match decoded {
            Ok(v) => v,
            Err(d) => return unchanged(d, prior.as_ref()),
        };
        let private = &req.planned_private;
        let outcome = match (&prior, planned) {
            (Some(prior), None) => self.resource.delete(data, prior, private).await,
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
                let mut outcome = self.resource.update(data, prior, request).await;
                let mut diags = Diagnostics::new();
                let identity = self.identity_of(outcome.state.as_ref(), &mut diags);
                diags.extend(self.keep_identity(
                    planned_identity,
                    prior,
                    identity.as_ref(),
                    "update",
                ));
                outcome.diagnostics.extend(diags);
                outcome
            }
            (None, None) => Outcome::new(None),
        };
        let mut diags = outcome.diagnostics;
        // A deleted object has no identity; one that is kept (a refused delete) keeps its own.
        let identity = self.identity_of(outcome.state.as_ref(), &mut diags);
        let new_identity = self.identity_data(identity.as_ref(), &mut diags);
        match self.encode(outcome.state.as_ref(), "new state") {
            Ok(v) => respond(
                diags,
                pb::apply_resource_change::Response {
                    new_state: Some(v),
                    private: outcome.private,
                    new_identity,
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
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode::<R::Model>(req.current_state.as_ref(), &self.ty, "current state")?,
                self.sent_identity(req.current_identity.as_ref())?,
            ))
        })();
        let (current, current_identity) = match decoded {
            Ok(v) => v,
            Err(d) => return respond(d, Default::default()),
        };
        let outcome = match &current {
            Some(current) => self.resource.read(data, current, &req.private).await,
            None => Outcome::new(None),
        };
        let mut diags = outcome.diagnostics;
        // Derived from the state read, not echoed: with refresh off, after an upgrade from a Terraform without
        // identity, or on OpenTofu, Terraform holds none to echo.
        let identity = self.identity_of(outcome.state.as_ref(), &mut diags);
        if let Some(current) = &current {
            diags.extend(self.keep_identity(
                current_identity,
                current,
                identity.as_ref(),
                "refresh",
            ));
        }
        let new_identity = self.identity_data(identity.as_ref(), &mut diags);
        match self.encode(outcome.state.as_ref(), "new state") {
            Ok(v) => respond(
                diags,
                pb::read_resource::Response {
                    new_state: Some(v),
                    private: outcome.private,
                    new_identity,
                    ..Default::default()
                },
            ),
            Err(d) => respond(d, Default::default()),
        }
    }

    /// The state of the object an import names: by identity when Terraform sent one (an `import` block with
    /// `identity`, Terraform 1.12 and later), else by ID.
    fn import_state(
        &self,
        req: &pb::import_resource_state::Request,
    ) -> Result<R::Model, Diagnostics> {
        let by_identity = req
            .identity
            .as_ref()
            .and_then(|d| d.identity_data.as_ref())
            .filter(|dv| !(dv.msgpack.is_empty() && dv.json.is_empty()));
        match (by_identity, &self.identity) {
            (None, _) => self.resource.import(&req.id),
            (Some(dv), Some(identity)) => {
                let value = decode_value(Some(dv), identity.value_type(), "resource identity")?;
                identity.import(&value)
            }
            (Some(_), None) => Err(Diagnostic::error(
                "Import by identity not supported",
                format!(
                    "{:?} has no resource identity: import it by ID instead (`id = ...` in the import block, or `terraform import <address> <id>`).",
                    self.resource.type_name()
                ),
            )
            .into()),
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

    fn identity_schema(&self) -> Option<&IdentitySchema> {
        self.identity.as_ref().map(Identity::schema)
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
        let imported = self.import_state(&req).and_then(|m| {
            let mut diags = Diagnostics::new();
            // The whole identity, also for an import by ID or by a partial identity: Terraform records this one.
            let identity = self.identity_of(Some(&m), &mut diags);
            let identity = self.identity_data(identity.as_ref(), &mut diags);
            if diags.has_errors() {
                return Err(diags);
            }
            Ok((self.encode(Some(&m), "imported state")?, identity, diags))
        });
        match imported {
            Ok((state, identity, diags)) => respond(
                diags,
                pb::import_resource_state::Response {
                    imported_resources: vec![pb::import_resource_state::ImportedResource {
                        type_name: self.type_name().to_owned(),
                        state: Some(state),
                        identity,
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ),
            Err(d) => respond(d, Default::default()),
        }
    }

    fn upgrade_identity(
        &self,
        req: pb::upgrade_resource_identity::Request,
    ) -> pb::upgrade_resource_identity::Response {
        let Some(identity) = &self.identity else {
            return respond(no_identity(self.type_name()), Default::default());
        };
        let raw = req.raw_identity.unwrap_or_default();
        if raw.json.is_empty() {
            // Nothing stored: Terraform reads the absent answer as a null identity.
            return Default::default();
        }
        let upgraded = identity
            .upgrade(req.version, &raw.json)
            .and_then(|v| encode_value(&v, identity.value_type(), "upgraded resource identity"));
        match upgraded {
            Ok(dv) => pb::upgrade_resource_identity::Response {
                upgraded_identity: Some(pb::ResourceIdentityData {
                    identity_data: Some(dv),
                }),
                ..Default::default()
            },
            Err(d) => respond(d, Default::default()),
        }
    }
}
/// Whether a `DynamicValue` is null (absent, empty, msgpack `nil` or JSON `null`) without decoding it.
fn is_null(dv: Option<&pb::DynamicValue>) -> bool {
    match dv {
        None => true,
        Some(dv) if !dv.msgpack.is_empty() => dv.msgpack == [0xc0],
        Some(dv) => dv.json.trim_ascii().is_empty() || dv.json.trim_ascii() == b"null",
    }
}
