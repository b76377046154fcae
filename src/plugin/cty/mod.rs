//! The cty value codec: Terraform's `DynamicValue` (msgpack, or JSON as a fallback) to and from [`Value`].
//!
//! Terraform serializes every config, plan and state with go-cty's msgpack encoding, typed by the schema, and
//! reads our answers the same way. Everything here treats its input as hostile: nesting is capped at
//! [`MAX_DEPTH`], declared lengths never drive allocation beyond what the input can hold, nothing panics,
//! and every error names the attribute path where decoding went wrong (but never the value, which may be
//! a secret).
//!
//! Layout: [`Value`] here; [`Type`] in `ty.rs`; errors in `error.rs`; the wire formats in `msgpack.rs` and
//! `json.rs`; exact numbers in `number.rs`; typed models to and from values through serde in `ser.rs` and `de.rs`,
//! with [`Attr`] (one model attribute: null, unknown or known) in `attr.rs`.

mod attr;
mod de;
mod error;
mod json;
mod msgpack;
mod number;
mod ser;
mod ty;

use std::collections::BTreeMap;
use std::fmt;

pub use attr::Attr;
pub use de::from_value;
pub use error::{CodecError, PathStep};
pub use number::{Number, NumberError};
pub use ser::to_value;
pub use ty::Type;

/// Deepest nesting of collections, objects and dynamic wrappers accepted in either direction. Our schemas
/// nest two levels; the cap keeps recursion far from the stack's limit whatever the input claims.
pub const MAX_DEPTH: usize = 64;
/// Newtype name that marks an [`Attr`] on deserialization.
const ATTR_TOKEN: &str = "$__cty_attr";
/// Newtype name that marks an unknown [`Attr`] on serialization.
const UNKNOWN_TOKEN: &str = "$__cty_unknown";
/// Newtype name that carries a [`Number`] losslessly.
const NUMBER_TOKEN: &str = "$__cty_number";

/// A cty value. Its type is known from context (the schema), except under `dynamic`.
///
/// `Debug` hides string contents, because values hold passwords.
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply. Refinements Terraform may attach are dropped: a plain unknown is always
    /// a valid (less precise) answer.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// An object attribute (or map element) by name.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name),
            _ => None,
        }
    }

    /// The kind of value, for messages: `string`, `list`, `unknown`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
        }
    }

    /// The type this value implies when it sits under `dynamic`: collections take the type their elements
    /// agree on (`dynamic` when empty or all null). Fails when a list, set or map mixes element types.
    pub fn implied_type(&self) -> Result<Type, CodecError> {
        self.implied_type_at(0)
    }

    fn implied_type_at(&self, depth: usize) -> Result<Type, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::too_deep());
        }
        let elems = |vs: &mut dyn Iterator<Item = (PathStep, &Value)>| -> Result<Type, CodecError> {
            let mut acc = Type::Dynamic;
            for (step, v) in vs {
                let t = v
                    .implied_type_at(depth + 1)
                    .map_err(|e| e.prepend(step.clone()))?;
                acc = unify(acc, t).ok_or_else(|| {
                    CodecError::new("collection elements have inconsistent types").prepend(step)
                })?;
            }
            Ok(acc)
        };
        Ok(match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(vs) => Type::list(elems(&mut indexed(vs))?),
            Value::Set(vs) => Type::set(elems(&mut indexed(vs))?),
            Value::Map(m) => Type::map(elems(
                &mut m.iter().map(|(k, v)| (PathStep::Key(k.clone()), v)),
            )?),
            Value::Object(m) => {
                let mut attrs = BTreeMap::new();
                for (k, v) in m {
                    let t = v
                        .implied_type_at(depth + 1)
                        .map_err(|e| e.prepend(PathStep::Attr(k.clone())))?;
                    attrs.insert(k.clone(), t);
                }
                Type::Object(attrs)
            }
            Value::Tuple(vs) => {
                let mut elems = Vec::with_capacity(vs.len());
                for (i, v) in vs.iter().enumerate() {
                    elems.push(
                        v.implied_type_at(depth + 1)
                            .map_err(|e| e.prepend(PathStep::Index(i as u64)))?,
                    );
                }
                Type::Tuple(elems)
            }
        })
    }
}

fn indexed(vs: &[Value]) -> impl Iterator<Item = (PathStep, &Value)> {
    vs.iter()
        .enumerate()
        .map(|(i, v)| (PathStep::Index(i as u64), v))
}

/// The most specific type both `a` and `b` conform to, treating `dynamic` (from nulls and unknowns) as
/// "anything".
fn unify(a: Type, b: Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Dynamic, t) | (t, Type::Dynamic) => t,
        (Type::List(a), Type::List(b)) => Type::List(Box::new(unify(*a, *b)?)),
        (Type::Set(a), Type::Set(b)) => Type::Set(Box::new(unify(*a, *b)?)),
        (Type::Map(a), Type::Map(b)) => Type::Map(Box::new(unify(*a, *b)?)),
        (Type::Object(a), Type::Object(b)) => {
            if a.len() != b.len() || !a.keys().eq(b.keys()) {
                return None;
            }
            let mut out = BTreeMap::new();
            for ((k, ta), (_, tb)) in a.into_iter().zip(b) {
                out.insert(k, unify(ta, tb)?);
            }
            Type::Object(out)
        }
        (Type::Tuple(a), Type::Tuple(b)) => {
            if a.len() != b.len() {
                return None;
            }
            Type::Tuple(
                a.into_iter()
                    .zip(b)
                    .map(|(x, y)| unify(x, y))
                    .collect::<Option<_>>()?,
            )
        }
        (a, b) if a == b => a,
        _ => return None,
    })
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Unknown => f.write_str("Unknown"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Number(n) => write!(f, "{n:?}"),
            // Strings may be passwords: show only their size.
            Value::String(s) => write!(f, "String(<{} bytes>)", s.len()),
            Value::List(vs) => f.debug_tuple("List").field(vs).finish(),
            Value::Set(vs) => f.debug_tuple("Set").field(vs).finish(),
            Value::Tuple(vs) => f.debug_tuple("Tuple").field(vs).finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Object(m) => f.debug_tuple("Object").field(m).finish(),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

/// Decodes cty msgpack bytes as a value of type `ty`.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    msgpack::decode(bytes, ty)
}

/// Decodes cty JSON bytes as a value of type `ty` (JSON has no unknowns). Missing object attributes
/// become null and unexpected ones are an error, as in cty.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    json::decode(bytes, ty, JsonOptions::default())
}

/// Options for [`decode_json_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Drop object attributes the type does not declare instead of failing. `UpgradeResourceState`
    /// wants this: raw state from an older schema may carry attributes that have since been removed.
    pub ignore_undefined_attributes: bool,
}

/// [`decode_json`] with options.
pub fn decode_json_with(bytes: &[u8], ty: &Type, opts: JsonOptions) -> Result<Value, CodecError> {
    json::decode(bytes, ty, opts)
}

/// Decodes a `DynamicValue`: the msgpack field when it is non-empty, else the JSON field.
pub fn decode_dynamic(msgpack: &[u8], json: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if !msgpack.is_empty() {
        decode_msgpack(msgpack, ty)
    } else if !json.is_empty() {
        decode_json(json, ty)
    } else {
        Err(CodecError::new(
            "dynamic value has neither msgpack nor json bytes",
        ))
    }
}

/// Encodes `v` as cty msgpack for type `ty`. Object attributes missing from `v` are written as null;
/// attributes the type does not declare, or values of the wrong kind, are an error.
pub fn encode_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    msgpack::encode(v, ty)
}

/// Checks that a decoded collection whose element type involves `dynamic` is still a valid cty value:
/// all its elements must share one type (cty's own decoder would fail on such input).
fn check_collection(v: Value, elem: &Type) -> Result<Value, CodecError> {
    if elem.has_dynamic() {
        v.implied_type()?;
    }
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod codec_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod serde_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn value_debug_hides_strings() {
        let v = Value::Object(BTreeMap::from([(
            "password".to_string(),
            Value::from("hunter2"),
        )]));
        let shown = format!("{v:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("password"), "{shown}");
        assert!(shown.contains("7 bytes"), "{shown}");
    }

    #[test]
    fn implied_types_unify_nulls_and_reject_mixtures() {
        let v = Value::List(vec![
            Value::Object(BTreeMap::from([("a".to_string(), Value::Null)])),
            Value::Object(BTreeMap::from([("a".to_string(), Value::from("x"))])),
        ]);
        assert_eq!(
            v.implied_type().unwrap(),
            Type::list(Type::object([("a", Type::String)]))
        );
        assert_eq!(
            Value::List(vec![]).implied_type().unwrap(),
            Type::list(Type::Dynamic)
        );
        let mixed = Value::List(vec![Value::from("x"), Value::Bool(true)]);
        let err = mixed.implied_type().unwrap_err();
        assert_eq!(err.path(), &[PathStep::Index(1)]);
    }

    #[test]
    fn decode_dynamic_prefers_msgpack_and_falls_back_to_json() {
        // msgpack "a" vs JSON "b": msgpack wins when present.
        let v = decode_dynamic(&[0xa1, b'a'], br#""b""#, &Type::String).unwrap();
        assert_eq!(v, Value::from("a"));
        let v = decode_dynamic(&[], br#""b""#, &Type::String).unwrap();
        assert_eq!(v, Value::from("b"));
        assert!(decode_dynamic(&[], &[], &Type::String).is_err());
    }
}
