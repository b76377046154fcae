//! The cty value codec: Terraform's `DynamicValue` (msgpack, or JSON as a fallback) to and from [`Value`].
//!
//! Terraform serializes every config, plan and state with go-cty's msgpack encoding, typed by the schema, and
//! reads our answers the same way. Everything here treats its input as hostile: nesting is capped at
//! [`MAX_DEPTH`], declared lengths never drive allocation beyond what the input can hold, nothing panics,
//! and every error names the attribute path where decoding went wrong (but never the value, which may be
//! a secret).
//!
//! Layout: [`Value`] in `value.rs`; [`Type`] in `ty.rs`; errors in `error.rs`; the wire formats in `msgpack.rs` and
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
mod value;

pub use attr::Attr;
pub use de::from_value;
pub use error::{CodecError, MAX_DEPTH, PathStep};
pub use json::JsonOptions;
pub use number::{Number, NumberError};
pub use ser::to_value;
pub use ty::Type;
pub use value::Value;

/// Decodes cty msgpack bytes as a value of type `ty`.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    msgpack::decode(bytes, ty)
}

/// Decodes cty JSON bytes as a value of type `ty` (JSON has no unknowns). Missing object attributes
/// become null and unexpected ones are an error, as in cty.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    json::decode(bytes, ty, JsonOptions::default())
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
    use std::collections::BTreeMap;

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
