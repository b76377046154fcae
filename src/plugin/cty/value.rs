//! The cty [`Value`]: what a decoded `DynamicValue` is, the type it implies under `dynamic`, and the check that a
//! collection under `dynamic` is a valid cty value.

use std::collections::BTreeMap;
use std::fmt;

use super::error::{CodecError, MAX_DEPTH, PathStep};
use super::number::Number;
use super::ty::Type;

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

/// Checks that a decoded collection whose element type involves `dynamic` is still a valid cty value:
/// all its elements must share one type (cty's own decoder would fail on such input).
pub(super) fn check_collection(v: Value, elem: &Type) -> Result<Value, CodecError> {
    if elem.has_dynamic() {
        v.implied_type()?;
    }
    Ok(v)
}
