//! Resource identity (protocol 6.9, Terraform 1.12 and later): a small object, kept beside the state, that names the
//! remote object a resource instance manages. Users import by it (`import { to = ..., identity = { ... } }`) and
//! Terraform stores it with every object.
//!
//! A resource declares its identity with [`Identity::new`]: the identity schema, a function from the resource's model
//! to its identity, and the state of the object an identity names. The adapter then derives the identity from every
//! state it answers with (read, plan, apply, import), and never echoes the one Terraform sent: Terraform before 1.12
//! and OpenTofu send none, and providers that only echoed it answered them with none, which broke their updates and
//! refreshes. Identity never changes in place; the adapter refuses an update, a read or an apply that would change
//! it (a replacement may).

use std::collections::BTreeMap;

use crate::plugin::cty::{JsonOptions, Type, Value, decode_json_with, to_value};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::wire::Model;
use crate::plugin::wire::{codec_diagnostic, typed};

/// Whether an `import` block must give an identity attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForImport {
    /// The import needs it.
    Required,
    /// The provider can find it without: an import may give it.
    Optional,
}

/// One attribute of an identity. Identity attributes are never sensitive and never null once known: Terraform shows
/// them in plans and stores them in plain text.
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: &'static str,
    pub ty: Type,
    /// Markdown, shown in generated docs.
    pub description: &'static str,
    pub import: ForImport,
}

impl IdentityAttribute {
    /// An attribute an import must give.
    pub fn required(name: &'static str, ty: Type, description: &'static str) -> Self {
        Self {
            name,
            ty,
            description,
            import: ForImport::Required,
        }
    }

    /// An attribute an import may give.
    pub fn optional(name: &'static str, ty: Type, description: &'static str) -> Self {
        Self {
            import: ForImport::Optional,
            ..Self::required(name, ty, description)
        }
    }
}

/// An identity schema: its own version (independent of the state's), and its attributes.
#[derive(Clone, Debug)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    /// The cty object type of an identity value.
    pub fn value_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    /// The tfplugin6 form of this schema.
    pub fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.to_string(),
                    r#type: a.ty.to_json(),
                    required_for_import: a.import == ForImport::Required,
                    optional_for_import: a.import == ForImport::Optional,
                    description: a.description.to_string(),
                })
                .collect(),
        }
    }
}

type OfFn<M> = dyn Fn(&M) -> Result<Value, Diagnostics> + Send + Sync;
type ImportFn<M> = dyn Fn(&Value) -> Result<M, Diagnostics> + Send + Sync;
type UpgradeFn = dyn Fn(i64, &Value) -> Result<Value, Diagnostics> + Send + Sync;

/// The identity of a resource type whose model is `M`, typed by the resource as its own struct `I` (one field per
/// identity attribute, like a model) and kept here behind functions on cty values, so that the [`Resource`] trait
/// needs no identity type and a resource without identity writes nothing.
///
/// [`Resource`]: crate::plugin::resource::Resource
pub struct Identity<M> {
    schema: IdentitySchema,
    ty: Type,
    of: Box<OfFn<M>>,
    import: Box<ImportFn<M>>,
    upgrade: Box<UpgradeFn>,
}

impl<M: Model> Identity<M> {
    /// The identity `I` described by `schema`: `of` gives the identity of a state (of a planned state too, whose
    /// attributes may still be unknown); `import` gives the state of the existing object an identity names, as
    /// `Resource::import` does for an import ID.
    pub fn new<I: Model>(
        schema: IdentitySchema,
        of: impl Fn(&M) -> I + Send + Sync + 'static,
        import: impl Fn(I) -> Result<M, Diagnostics> + Send + Sync + 'static,
    ) -> Self {
        let ty = schema.value_type();
        let of_ty = ty.clone();
        Self {
            of: Box::new(move |m| {
                to_value(&of(m), &of_ty).map_err(|e| codec_diagnostic("resource identity", &e))
            }),
            import: Box::new(move |v| import(identity_of::<I>(v)?)),
            upgrade: upgrade_fn::<I>(&ty, |_, identity| Ok(identity)),
            schema,
            ty,
        }
    }

    /// Brings an identity stored with an older schema `version` to this schema: `upgrade` gets it read with the
    /// current schema (attributes since removed are dropped, new ones null), as `Resource::upgrade` does for states.
    /// `I` is the identity type given to [`Identity::new`]. Without this, older identities are taken as they read.
    pub fn upgraded_with<I: Model>(
        mut self,
        upgrade: impl Fn(i64, I) -> Result<I, Diagnostics> + Send + Sync + 'static,
    ) -> Self {
        self.upgrade = upgrade_fn::<I>(&self.ty, upgrade);
        self
    }

    /// The schema.
    pub fn schema(&self) -> &IdentitySchema {
        &self.schema
    }

    /// The cty type of an identity value.
    pub(crate) fn value_type(&self) -> &Type {
        &self.ty
    }

    /// The identity of `state`.
    pub(crate) fn of(&self, state: &M) -> Result<Value, Diagnostics> {
        (self.of)(state)
    }

    /// The state of the object `identity` names.
    pub(crate) fn import(&self, identity: &Value) -> Result<M, Diagnostics> {
        (self.import)(identity)
    }

    /// `UpgradeResourceIdentity`: the identity Terraform stored as JSON with schema `version`, in this schema.
    pub(crate) fn upgrade(&self, version: i64, json: &[u8]) -> Result<Value, Diagnostics> {
        if version > self.schema.version {
            return Err(Diagnostic::error(
                "Resource identity from a newer provider",
                format!(
                    "The stored resource identity has schema version {version}, newer than this provider's {}. Use \
the provider version that wrote it.",
                    self.schema.version
                ),
            )
            .into());
        }
        let options = JsonOptions {
            ignore_undefined_attributes: true,
        };
        let stored = decode_json_with(json, &self.ty, options).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error(
                    "Unreadable resource identity",
                    format!(
                        "The stored resource identity (schema version {version}) could not be read: {e}."
                    ),
                )
                .at_path(e.path().to_vec()),
            )
        })?;
        (self.upgrade)(version, &stored)
    }
}

/// An identity value as the resource's type `I`; null is an error (Terraform sends a whole object or nothing).
fn identity_of<I: Model>(v: &Value) -> Result<I, Diagnostics> {
    typed::<I>(v, "resource identity")?.ok_or_else(|| {
        Diagnostic::error(
            "Missing resource identity",
            "Terraform sent an empty resource identity. Give every attribute the identity needs.",
        )
        .into()
    })
}

fn upgrade_fn<I: Model>(
    ty: &Type,
    upgrade: impl Fn(i64, I) -> Result<I, Diagnostics> + Send + Sync + 'static,
) -> Box<UpgradeFn> {
    let ty = ty.clone();
    Box::new(move |version, stored| {
        let upgraded = upgrade(version, identity_of::<I>(stored)?)?;
        to_value(&upgraded, &ty).map_err(|e| codec_diagnostic("upgraded resource identity", &e))
    })
}

/// Whether `v` identifies nothing: null, or an object whose attributes are all null. Terraform stores such an
/// identity for objects written before the provider had one (and providers with bugs wrote them), so it is no
/// evidence of what the object is.
pub(crate) fn is_fully_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(attrs) => attrs.values().all(Value::is_null),
        _ => false,
    }
}

/// The names of the attributes in which `new` differs from `stored`.
pub(crate) fn changed_attributes(stored: &Value, new: &Value) -> Vec<String> {
    match (stored, new) {
        (Value::Object(a), Value::Object(b)) => {
            let names: std::collections::BTreeSet<&String> = a
                .keys()
                .chain(b.keys())
                .filter(|k| a.get(*k) != b.get(*k))
                .collect();
            names.into_iter().cloned().collect()
        }
        _ if stored == new => Vec::new(),
        _ => vec!["(the whole identity)".to_owned()],
    }
}
