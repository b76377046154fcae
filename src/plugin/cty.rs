//! The cty value codec: Terraform's `DynamicValue` (msgpack, or JSON as a fallback) to and from [`Value`].
//!
//! Terraform serializes every config, plan and state with go-cty's msgpack encoding, typed by the schema, and
//! reads our answers the same way. Everything here treats its input as hostile: nesting is capped at
//! [`MAX_DEPTH`], declared lengths never drive allocation beyond what the input can hold, nothing panics,
//! and every error names the attribute path where decoding went wrong (but never the value, which may be
//! a secret).

mod json;
mod msgpack;
mod number;

use std::collections::BTreeMap;
use std::fmt;

pub use number::{Number, NumberError};

/// Deepest nesting of collections, objects and dynamic wrappers accepted in either direction. Our schemas
/// nest two levels; the cap keeps recursion far from the stack's limit whatever the input claims.
pub const MAX_DEPTH: usize = 64;

/// A cty type, as schemas declare it and as `dynamic` values carry it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Number,
    Bool,
    /// cty's `DynamicPseudoType`: the value carries its own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    /// Shorthand for `Type::List(Box::new(t))`.
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    /// Shorthand for `Type::Set(Box::new(t))`.
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    /// Shorthand for `Type::Map(Box::new(t))`.
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// An object type from `(name, type)` pairs.
    pub fn object<I, S>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// cty's JSON type bytes, as schema attributes carry them: `"string"`, `["list","string"]`,
    /// `["object",{"a":"string"}]`. Compact, with object attributes in sorted order like Go's encoder.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Type::String => out.extend_from_slice(b"\"string\""),
            Type::Number => out.extend_from_slice(b"\"number\""),
            Type::Bool => out.extend_from_slice(b"\"bool\""),
            Type::Dynamic => out.extend_from_slice(b"\"dynamic\""),
            Type::List(e) | Type::Set(e) | Type::Map(e) => {
                let kind: &[u8] = match self {
                    Type::List(_) => b"[\"list\",",
                    Type::Set(_) => b"[\"set\",",
                    _ => b"[\"map\",",
                };
                out.extend_from_slice(kind);
                e.write_json(out);
                out.push(b']');
            }
            Type::Object(attrs) => {
                out.extend_from_slice(b"[\"object\",{");
                for (i, (name, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::write_string(out, name);
                    out.push(b':');
                    t.write_json(out);
                }
                out.extend_from_slice(b"}]");
            }
            Type::Tuple(elems) => {
                out.extend_from_slice(b"[\"tuple\",[");
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    t.write_json(out);
                }
                out.extend_from_slice(b"]]");
            }
        }
    }

    /// Parses cty's JSON type bytes (the inverse of [`Type::to_json`]). The optional-attributes list that
    /// newer cty may append to an object type is accepted and ignored.
    pub fn from_json(bytes: &[u8]) -> Result<Type, CodecError> {
        json::parse_type(bytes)
    }

    /// Whether `dynamic` appears anywhere in the type. Only then can a decoded collection hold elements
    /// of differing types, which cty forbids.
    pub(crate) fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::String | Type::Number | Type::Bool => false,
            Type::List(e) | Type::Set(e) | Type::Map(e) => e.has_dynamic(),
            Type::Object(attrs) => attrs.values().any(Type::has_dynamic),
            Type::Tuple(ts) => ts.iter().any(Type::has_dynamic),
        }
    }

    /// A short human name for messages: `string`, `list of string`, `object`.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

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

    /// Whether the value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(vs) | Value::Set(vs) | Value::Tuple(vs) => {
                vs.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// An object attribute (or map element) by name.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
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

/// One step of an attribute path, in the shape of tfplugin6's `AttributePath.Step`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute: `.name`.
    Attr(String),
    /// A map element: `["key"]`.
    Key(String),
    /// A list, set or tuple element: `[3]`.
    Index(u64),
}

/// A value that could not be decoded or encoded, with the path to where it went wrong.
///
/// Messages name types and attribute names, never values, so they are safe to log and to show in a
/// diagnostic even when the value was a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct CodecError {
    path: Vec<PathStep>,
    message: String,
}

impl CodecError {
    /// An error at the root path.
    pub fn new(message: impl Into<String>) -> Self {
        CodecError {
            path: Vec::new(),
            message: message.into(),
        }
    }

    /// The path from the root to where it went wrong (empty: the root itself).
    pub fn path(&self) -> &[PathStep] {
        &self.path
    }

    /// What went wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Puts `step` in front of the path. Errors are built where they happen and gain steps as they
    /// travel out, so the success path never pays for path bookkeeping.
    pub fn prepend(mut self, step: PathStep) -> Self {
        self.path.insert(0, step);
        self
    }

    pub(crate) fn too_deep() -> Self {
        CodecError::new(format!("value is nested deeper than {MAX_DEPTH} levels"))
    }

    pub(crate) fn mismatch(want: &Type, got: &str) -> Self {
        CodecError::new(format!("expected {}, got {got}", want.friendly_name()))
    }

    /// The path in Terraform's notation: `.triggers["x"]`, `.list[0]`.
    pub fn path_string(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                PathStep::Attr(a) => {
                    out.push('.');
                    out.push_str(a);
                }
                PathStep::Key(k) => {
                    out.push('[');
                    let mut quoted = Vec::new();
                    json::write_string(&mut quoted, k);
                    out.push_str(&String::from_utf8_lossy(&quoted));
                    out.push(']');
                }
                PathStep::Index(i) => {
                    out.push_str(&format!("[{i}]"));
                }
            }
        }
        out
    }

    fn render(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            format!("at {}: {}", self.path_string(), self.message)
        }
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
mod tests {
    use super::*;

    #[test]
    fn type_json_bytes_are_exact() {
        let cases: Vec<(Type, &str)> = vec![
            (Type::String, r#""string""#),
            (Type::Number, r#""number""#),
            (Type::Bool, r#""bool""#),
            (Type::Dynamic, r#""dynamic""#),
            (Type::list(Type::String), r#"["list","string"]"#),
            (Type::set(Type::Number), r#"["set","number"]"#),
            (Type::map(Type::String), r#"["map","string"]"#),
            (
                Type::object([("a", Type::String)]),
                r#"["object",{"a":"string"}]"#,
            ),
            (
                Type::object([("b", Type::Bool), ("a", Type::list(Type::String))]),
                r#"["object",{"a":["list","string"],"b":"bool"}]"#,
            ),
            (
                Type::Tuple(vec![Type::String, Type::Number]),
                r#"["tuple",["string","number"]]"#,
            ),
            (Type::Tuple(vec![]), r#"["tuple",[]]"#),
            (
                Type::object::<[(&str, Type); 0], &str>([]),
                r#"["object",{}]"#,
            ),
            (
                Type::object([("q\"\\\n", Type::String)]),
                r#"["object",{"q\"\\\n":"string"}]"#,
            ),
        ];
        for (ty, want) in cases {
            assert_eq!(String::from_utf8(ty.to_json()).unwrap(), want);
            assert_eq!(
                Type::from_json(want.as_bytes()).unwrap(),
                ty,
                "parse {want}"
            );
        }
    }

    #[test]
    fn type_json_accepts_optional_attribute_list_and_rejects_junk() {
        let t = Type::from_json(br#"["object",{"a":"string","b":"number"},["b"]]"#).unwrap();
        assert_eq!(t, Type::object([("a", Type::String), ("b", Type::Number)]));
        for bad in [
            &br#""strin""#[..],
            br#"["list"]"#,
            br#"["list","string","x"]"#,
            br#"["lust","string"]"#,
            br#"["object",["a"]]"#,
            br#""string" 1"#,
            b"",
            b"[",
        ] {
            assert!(
                Type::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn error_display_names_the_path() {
        let e = CodecError::new("expected string, got bool")
            .prepend(PathStep::Key("x".into()))
            .prepend(PathStep::Attr("triggers".into()));
        assert_eq!(
            e.to_string(),
            r#"at .triggers["x"]: expected string, got bool"#
        );
        let e = CodecError::new("boom")
            .prepend(PathStep::Index(3))
            .prepend(PathStep::Attr("l".into()));
        assert_eq!(e.to_string(), "at .l[3]: boom");
        assert_eq!(CodecError::new("root").to_string(), "root");
    }

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
