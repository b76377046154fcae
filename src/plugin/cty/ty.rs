//! [`Type`]: cty types as schemas declare them and as `dynamic` values carry them, with cty's JSON type bytes.

use std::collections::BTreeMap;

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
                    write_string(out, name);
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

/// Writes `s` as a JSON string literal.
pub(super) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut tmp = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    out.push(b'"');
}

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
}
