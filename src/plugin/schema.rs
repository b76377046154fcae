//! Provider and resource schemas as plain Rust data, converted to tfplugin6 messages at the service edge.
//!
//! Resources describe their attributes here; the service turns a [`Schema`] into the wire schema and into the cty
//! object type that decodes and encodes its values, so the two can never disagree.

use crate::plugin::cty::Type;
use crate::plugin::proto::tfplugin6 as pb;
use std::collections::BTreeMap;

/// How an attribute gets its value. Terraform requires exactly one of these per attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; null when absent.
    Optional,
    /// The configuration may set it; the provider fills it when absent.
    OptionalComputed,
    /// Only the provider sets it.
    Computed,
}

/// One attribute of a block.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    /// Markdown, shown in generated docs and language servers.
    pub description: &'static str,
    pub presence: Presence,
    /// Hidden in CLI output. The state file still holds the value.
    pub sensitive: bool,
    /// Never stored: Terraform (1.11+) passes it in config only, and the provider must return null for it.
    pub write_only: bool,
    /// A change of its configured value replaces the object instead of updating it in place.
    pub requires_replace: bool,
    /// For a nested attribute (one object whose attributes have their own presence, so some may be left out):
    /// those attributes. `ty` is then the object type they make up.
    pub nested: Option<Vec<Attribute>>,
}

impl Attribute {
    /// An attribute with no flags beyond its presence.
    pub fn new(
        name: &'static str,
        ty: Type,
        presence: Presence,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            ty,
            description,
            presence,
            sensitive: false,
            write_only: false,
            requires_replace: false,
            nested: None,
        }
    }

    /// A nested attribute: a single object with `attributes`, each with its own presence. A plain object type
    /// would make every attribute of the object required in configuration.
    pub fn nested(
        name: &'static str,
        presence: Presence,
        description: &'static str,
        attributes: Vec<Attribute>,
    ) -> Self {
        let ty = Type::Object(
            attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect::<BTreeMap<_, _>>(),
        );
        Self {
            nested: Some(attributes),
            ..Self::new(name, ty, presence, description)
        }
    }

    /// Marks the attribute sensitive.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks the attribute write-only.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    /// Marks the attribute as one whose change replaces the object: when its configured value is unknown, or known
    /// and different from the prior state's.
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }
}

/// A schema: a version for state upgrades and the top-level block.
#[derive(Clone, Debug)]
pub struct Schema {
    pub version: i64,
    /// Markdown description of the provider or resource.
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// The cty object type of a value of this block: every attribute, keyed by name.
    pub fn value_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    /// The names of the write-only attributes, which must be null in every state the provider returns.
    pub fn write_only_attributes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.write_only)
            .map(|a| a.name)
    }

    /// The names of the attributes whose change replaces the object.
    pub fn requires_replace_attributes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.requires_replace)
            .map(|a| a.name)
    }

    /// The names of the attributes a configuration must set.
    pub fn required_attributes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.presence == Presence::Required)
            .map(|a| a.name)
    }

    /// The tfplugin6 form of this schema.
    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(pb::schema::Block {
                version: 0,
                attributes: self.attributes.iter().map(attribute_to_proto).collect(),
                block_types: Vec::new(),
                description: self.description.to_string(),
                description_kind: pb::StringKind::Markdown as i32,
                deprecated: false,
            }),
        }
    }
}

fn attribute_to_proto(a: &Attribute) -> pb::schema::Attribute {
    let (required, optional, computed) = match a.presence {
        Presence::Required => (true, false, false),
        Presence::Optional => (false, true, false),
        Presence::OptionalComputed => (false, true, true),
        Presence::Computed => (false, false, true),
    };
    // A nested attribute declares its attributes instead of a type; Terraform derives the object type from them.
    let (r#type, nested_type) = match &a.nested {
        Some(attributes) => (
            Vec::new(),
            Some(pb::schema::Object {
                attributes: attributes.iter().map(attribute_to_proto).collect(),
                nesting: pb::schema::object::NestingMode::Single as i32,
                ..Default::default()
            }),
        ),
        None => (a.ty.to_json(), None),
    };
    pb::schema::Attribute {
        name: a.name.to_string(),
        r#type,
        nested_type,
        description: a.description.to_string(),
        required,
        optional,
        computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: a.write_only,
    }
}
