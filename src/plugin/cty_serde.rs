//! The serde bridge between typed Rust models and cty [`Value`]s, so resource code never sees msgpack.
//!
//! [`to_value`] is driven by the schema type: a struct becomes an object carrying every attribute of the
//! type (absent fields are null), maps become maps, `Vec`s become lists or sets as the type says.
//! [`from_value`] reads any value back. Unknown values travel through [`Attr`], whose serde impls use a
//! private newtype name that only this module's serializer and deserializer recognise (the same trick
//! `serde_json::value::RawValue` uses); every other serde format sees an ordinary `Option`.
//!
//! Messages never contain values: serde's own "invalid type: string \"...\"" errors are rewritten to
//! name the kind of value only, because the value may be a password.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::ser::{self, Impossible, Serialize};
use serde::{Deserialize, Deserializer, Serializer};

use crate::plugin::cty::{CodecError, MAX_DEPTH, Number, PathStep, Type, Value};

/// Newtype name that marks an [`Attr`] on deserialization.
const ATTR_TOKEN: &str = "$__thingspace_cty_attr";
/// Newtype name that marks an unknown [`Attr`] on serialization.
const UNKNOWN_TOKEN: &str = "$__thingspace_cty_unknown";
/// Newtype name that carries a [`Number`] losslessly.
const NUMBER_TOKEN: &str = "$__thingspace_cty_number";

/// A model attribute as Terraform sees it: null, not yet known, or known.
///
/// `Default` is `Null` (and needs no `T: Default`), so models can use `#[serde(default)]`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub enum Attr<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Attr<T> {
    pub fn is_null(&self) -> bool {
        matches!(self, Attr::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Attr::Unknown)
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Attr::Known(_))
    }

    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }

    /// The known value, if any, by value.
    pub fn into_known(self) -> Option<T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Borrows the inner value.
    pub fn as_ref(&self) -> Attr<&T> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(v),
        }
    }

    /// Maps a known value, keeping null and unknown.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attr<U> {
        match self {
            Attr::Null => Attr::Null,
            Attr::Unknown => Attr::Unknown,
            Attr::Known(v) => Attr::Known(f(v)),
        }
    }
}

impl<T> From<Option<T>> for Attr<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Attr::Null, Attr::Known)
    }
}

impl<T: fmt::Debug> fmt::Debug for Attr<T> {
    /// Delegates to `T`'s `Debug`, so a redacting secret type stays redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attr::Null => f.write_str("null"),
            Attr::Unknown => f.write_str("unknown"),
            Attr::Known(v) => v.fmt(f),
        }
    }
}

impl<T: Serialize> Serialize for Attr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Attr::Null => s.serialize_none(),
            // Our serializer turns this into Value::Unknown; other formats see null.
            Attr::Unknown => s.serialize_newtype_struct(UNKNOWN_TOKEN, &()),
            Attr::Known(v) => s.serialize_some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Attr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(ATTR_TOKEN, AttrVisitor(PhantomData))
    }
}

struct AttrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for AttrVisitor<T> {
    type Value = Attr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value, null or unknown")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Attr::Null)
    }

    /// Only our deserializer calls this for an `Attr`: it means unknown.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Attr::Unknown)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        T::deserialize(d).map(Attr::Known)
    }

    /// Other formats (serde_json) treat the newtype as transparent: read it as an `Option`.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Option::<T>::deserialize(d).map(Attr::from)
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(NUMBER_TOKEN, &NumberInner(self))
    }
}

/// A number as other formats should see it: an integer when it is one that fits, else exact text.
struct NumberInner<'a>(&'a Number);

impl Serialize for NumberInner<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_i64() {
            Some(i) => s.serialize_i64(i),
            None => s.collect_str(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(NUMBER_TOKEN, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Number::from_f64(v).ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Number, D::Error> {
        d.deserialize_any(self)
    }
}

impl ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::new(msg.to_string())
    }
}

impl de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::new(msg.to_string())
    }

    // The defaults print the offending value; ours print only its kind.
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        CodecError::new(format!("expected {exp}, got {}", unexpected_kind(&unexp)))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        CodecError::new(format!(
            "invalid {} value, expected {exp}",
            unexpected_kind(&unexp)
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        CodecError::new(format!("unknown variant, expected one of {expected:?}"))
    }
}

fn unexpected_kind(u: &de::Unexpected<'_>) -> &'static str {
    use de::Unexpected as U;
    match u {
        U::Bool(_) => "bool",
        U::Unsigned(_) | U::Signed(_) | U::Float(_) => "number",
        U::Char(_) | U::Str(_) => "string",
        U::Bytes(_) => "bytes",
        U::Unit => "null",
        U::Option => "optional value",
        U::NewtypeStruct => "newtype struct",
        U::Seq => "sequence",
        U::Map => "map",
        U::Enum | U::UnitVariant | U::NewtypeVariant | U::TupleVariant | U::StructVariant => "enum",
        U::Other(_) => "value",
    }
}

/// Converts a model to a value of type `ty`.
pub fn to_value<T: Serialize + ?Sized>(v: &T, ty: &Type) -> Result<Value, CodecError> {
    v.serialize(ValueSerializer { ty, depth: 0 })
}

/// Reads a model back from a value. Unknown values are accepted only where the model has an [`Attr`].
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, CodecError> {
    T::deserialize(ValueDeserializer { v, depth: 0 })
}

// ---------------------------------------------------------------------------------------------------------
// Serializer: Rust → Value, typed by the schema.

struct ValueSerializer<'t> {
    ty: &'t Type,
    depth: usize,
}

impl<'t> ValueSerializer<'t> {
    fn primitive(&self, want: &Type, got: &str, v: Value) -> Result<Value, CodecError> {
        if self.ty == want || *self.ty == Type::Dynamic {
            Ok(v)
        } else {
            Err(CodecError::mismatch(self.ty, got))
        }
    }

    fn number(&self, n: Number) -> Result<Value, CodecError> {
        self.primitive(&Type::Number, "number", Value::Number(n))
    }

    fn child(&self, ty: &'t Type) -> Result<ValueSerializer<'t>, CodecError> {
        if self.depth >= MAX_DEPTH {
            return Err(CodecError::too_deep());
        }
        Ok(ValueSerializer {
            ty,
            depth: self.depth + 1,
        })
    }

    fn seq(self, len: Option<usize>) -> Result<SeqSerializer<'t>, CodecError> {
        let kind = match self.ty {
            Type::List(e) => SeqKind::List(e),
            Type::Set(e) => SeqKind::Set(e),
            Type::Tuple(ts) => SeqKind::Tuple(ts),
            Type::Dynamic => SeqKind::Dynamic,
            _ => return Err(CodecError::mismatch(self.ty, "sequence")),
        };
        Ok(SeqSerializer {
            parent: self,
            kind,
            items: Vec::with_capacity(len.unwrap_or(0).min(1024)),
        })
    }

    fn map(self) -> Result<MapSerializer<'t>, CodecError> {
        match self.ty {
            Type::Map(_) | Type::Object(_) | Type::Dynamic => Ok(MapSerializer {
                parent: self,
                entries: BTreeMap::new(),
                key: None,
            }),
            _ => Err(CodecError::mismatch(self.ty, "map")),
        }
    }
}

impl<'t> Serializer for ValueSerializer<'t> {
    type Ok = Value;
    type Error = CodecError;
    type SerializeSeq = SeqSerializer<'t>;
    type SerializeTuple = SeqSerializer<'t>;
    type SerializeTupleStruct = SeqSerializer<'t>;
    type SerializeTupleVariant = Impossible<Value, CodecError>;
    type SerializeMap = MapSerializer<'t>;
    type SerializeStruct = MapSerializer<'t>;
    type SerializeStructVariant = Impossible<Value, CodecError>;

    fn serialize_bool(self, v: bool) -> Result<Value, CodecError> {
        self.primitive(&Type::Bool, "bool", Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, CodecError> {
        self.number(Number::from(i64::from(v)))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, CodecError> {
        self.number(Number::from(i64::from(v)))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, CodecError> {
        self.number(Number::from(i64::from(v)))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, CodecError> {
        self.number(Number::from(v))
    }

    fn serialize_i128(self, v: i128) -> Result<Value, CodecError> {
        let n = v
            .to_string()
            .parse()
            .map_err(|e| CodecError::new(format!("{e}")))?;
        self.number(n)
    }

    fn serialize_u8(self, v: u8) -> Result<Value, CodecError> {
        self.number(Number::from(i64::from(v)))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, CodecError> {
        self.number(Number::from(i64::from(v)))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, CodecError> {
        self.number(Number::from(i64::from(v)))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, CodecError> {
        self.number(Number::from(v))
    }

    fn serialize_u128(self, v: u128) -> Result<Value, CodecError> {
        let n = v
            .to_string()
            .parse()
            .map_err(|e| CodecError::new(format!("{e}")))?;
        self.number(n)
    }

    fn serialize_f32(self, v: f32) -> Result<Value, CodecError> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, CodecError> {
        let n = Number::from_f64(v).ok_or_else(|| CodecError::new("number is not finite"))?;
        self.number(n)
    }

    fn serialize_char(self, v: char) -> Result<Value, CodecError> {
        self.primitive(&Type::String, "string", Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, CodecError> {
        self.primitive(&Type::String, "string", Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, CodecError> {
        Err(CodecError::new("byte arrays have no cty type"))
    }

    fn serialize_none(self) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, CodecError> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
    ) -> Result<Value, CodecError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, CodecError> {
        match name {
            UNKNOWN_TOKEN => Ok(Value::Unknown),
            NUMBER_TOKEN => {
                let n = v.serialize(NumberCapture)?;
                self.number(n)
            }
            _ => v.serialize(self),
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _idx: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<Value, CodecError> {
        Err(CodecError::new("enum variants with data have no cty type"))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer<'t>, CodecError> {
        self.seq(len)
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqSerializer<'t>, CodecError> {
        self.seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqSerializer<'t>, CodecError> {
        self.seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _idx: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(CodecError::new("enum variants with data have no cty type"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapSerializer<'t>, CodecError> {
        self.map()
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<MapSerializer<'t>, CodecError> {
        self.map()
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _idx: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(CodecError::new("enum variants with data have no cty type"))
    }
}

enum SeqKind<'t> {
    List(&'t Type),
    Set(&'t Type),
    Tuple(&'t [Type]),
    Dynamic,
}

struct SeqSerializer<'t> {
    parent: ValueSerializer<'t>,
    kind: SeqKind<'t>,
    items: Vec<Value>,
}

impl SeqSerializer<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        let i = self.items.len();
        let ety = match &self.kind {
            SeqKind::List(e) | SeqKind::Set(e) => *e,
            SeqKind::Tuple(ts) => ts.get(i).ok_or_else(|| {
                CodecError::new(format!(
                    "too many tuple elements (the type has {})",
                    ts.len()
                ))
            })?,
            SeqKind::Dynamic => &Type::Dynamic,
        };
        let item = v
            .serialize(self.parent.child(ety)?)
            .map_err(|e| e.prepend(PathStep::Index(i as u64)))?;
        self.items.push(item);
        Ok(())
    }

    fn finish(self) -> Result<Value, CodecError> {
        Ok(match self.kind {
            SeqKind::List(_) => Value::List(self.items),
            SeqKind::Set(_) => Value::Set(self.items),
            SeqKind::Tuple(ts) => {
                if ts.len() != self.items.len() {
                    return Err(CodecError::new(format!(
                        "expected a tuple of {} elements, got {}",
                        ts.len(),
                        self.items.len()
                    )));
                }
                Value::Tuple(self.items)
            }
            // Under `dynamic`, a sequence is a tuple, as cty infers for a JSON array.
            SeqKind::Dynamic => Value::Tuple(self.items),
        })
    }
}

impl ser::SerializeSeq for SeqSerializer<'_> {
    type Ok = Value;
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        self.push(v)
    }

    fn end(self) -> Result<Value, CodecError> {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqSerializer<'_> {
    type Ok = Value;
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        self.push(v)
    }

    fn end(self) -> Result<Value, CodecError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqSerializer<'_> {
    type Ok = Value;
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        self.push(v)
    }

    fn end(self) -> Result<Value, CodecError> {
        self.finish()
    }
}

struct MapSerializer<'t> {
    parent: ValueSerializer<'t>,
    entries: BTreeMap<String, Value>,
    key: Option<String>,
}

impl MapSerializer<'_> {
    fn entry<T: Serialize + ?Sized>(&mut self, key: String, v: &T) -> Result<(), CodecError> {
        let (ety, step) = match self.parent.ty {
            Type::Map(e) => (&**e, PathStep::Key(key.clone())),
            Type::Object(attrs) => match attrs.get(&key) {
                Some(t) => (t, PathStep::Attr(key.clone())),
                None => {
                    return Err(
                        CodecError::new("unsupported attribute").prepend(PathStep::Attr(key))
                    );
                }
            },
            _ => (&Type::Dynamic, PathStep::Attr(key.clone())),
        };
        let item = v
            .serialize(self.parent.child(ety)?)
            .map_err(|e| e.prepend(step.clone()))?;
        if self.entries.insert(key, item).is_some() {
            return Err(CodecError::new("duplicate key").prepend(step));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Value, CodecError> {
        match self.parent.ty {
            Type::Map(_) => Ok(Value::Map(self.entries)),
            Type::Object(attrs) => {
                // Every attribute of the type is present; what the model left out is null.
                for k in attrs.keys() {
                    if !self.entries.contains_key(k) {
                        self.entries.insert(k.clone(), Value::Null);
                    }
                }
                Ok(Value::Object(self.entries))
            }
            _ => Ok(Value::Object(self.entries)),
        }
    }
}

impl ser::SerializeMap for MapSerializer<'_> {
    type Ok = Value;
    type Error = CodecError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CodecError> {
        self.key = Some(key.serialize(KeyCapture)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| CodecError::new("map value without a key"))?;
        self.entry(key, v)
    }

    fn end(self) -> Result<Value, CodecError> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapSerializer<'_> {
    type Ok = Value;
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        self.entry(key.to_owned(), v)
    }

    fn end(self) -> Result<Value, CodecError> {
        self.finish()
    }
}

/// Takes a map key: cty map keys are strings, and integer keys are written in decimal.
struct KeyCapture;

/// Takes the text or integer inside a [`Number`]'s newtype.
struct NumberCapture;

macro_rules! refuse {
    ($what:literal; $($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, CodecError> {
            Err(CodecError::new($what))
        })*
    };
}

macro_rules! capture_impl {
    ($ty:ident, $ok:ty, $what:literal, |$s:ident| $from_str:expr, |$i:ident| $from_int:expr) => {
        impl Serializer for $ty {
            type Ok = $ok;
            type Error = CodecError;
            type SerializeSeq = Impossible<$ok, CodecError>;
            type SerializeTuple = Impossible<$ok, CodecError>;
            type SerializeTupleStruct = Impossible<$ok, CodecError>;
            type SerializeTupleVariant = Impossible<$ok, CodecError>;
            type SerializeMap = Impossible<$ok, CodecError>;
            type SerializeStruct = Impossible<$ok, CodecError>;
            type SerializeStructVariant = Impossible<$ok, CodecError>;

            fn serialize_str(self, $s: &str) -> Result<$ok, CodecError> {
                $from_str
            }

            fn serialize_i64(self, $i: i64) -> Result<$ok, CodecError> {
                $from_int
            }

            fn serialize_u64(self, v: u64) -> Result<$ok, CodecError> {
                match i64::try_from(v) {
                    Ok(i) => self.serialize_i64(i),
                    Err(_) => self.serialize_str(&v.to_string()),
                }
            }

            fn serialize_i32(self, v: i32) -> Result<$ok, CodecError> {
                self.serialize_i64(i64::from(v))
            }

            fn serialize_u32(self, v: u32) -> Result<$ok, CodecError> {
                self.serialize_i64(i64::from(v))
            }

            fn serialize_i16(self, v: i16) -> Result<$ok, CodecError> {
                self.serialize_i64(i64::from(v))
            }

            fn serialize_u16(self, v: u16) -> Result<$ok, CodecError> {
                self.serialize_i64(i64::from(v))
            }

            fn serialize_i8(self, v: i8) -> Result<$ok, CodecError> {
                self.serialize_i64(i64::from(v))
            }

            fn serialize_u8(self, v: u8) -> Result<$ok, CodecError> {
                self.serialize_i64(i64::from(v))
            }

            fn serialize_char(self, v: char) -> Result<$ok, CodecError> {
                self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
            }

            fn serialize_newtype_struct<T: Serialize + ?Sized>(
                self,
                _name: &'static str,
                v: &T,
            ) -> Result<$ok, CodecError> {
                v.serialize(self)
            }

            fn serialize_unit_variant(
                self,
                _name: &'static str,
                _idx: u32,
                variant: &'static str,
            ) -> Result<$ok, CodecError> {
                self.serialize_str(variant)
            }

            refuse!($what; serialize_bool(bool), serialize_f32(f32), serialize_f64(f64), serialize_bytes(&[u8]),
                serialize_none(), serialize_unit(), serialize_unit_struct(&'static str));

            fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<$ok, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_newtype_variant<T: Serialize + ?Sized>(
                self,
                _name: &'static str,
                _idx: u32,
                _variant: &'static str,
                _v: &T,
            ) -> Result<$ok, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_tuple_struct(
                self,
                _name: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeTupleStruct, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_tuple_variant(
                self,
                _name: &'static str,
                _idx: u32,
                _variant: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeTupleVariant, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, CodecError> {
                Err(CodecError::new($what))
            }

            fn serialize_struct_variant(
                self,
                _name: &'static str,
                _idx: u32,
                _variant: &'static str,
                _len: usize,
            ) -> Result<Self::SerializeStructVariant, CodecError> {
                Err(CodecError::new($what))
            }
        }
    };
}

capture_impl!(
    KeyCapture,
    String,
    "map keys must be strings",
    |s| Ok(s.to_owned()),
    |i| Ok(i.to_string())
);
capture_impl!(
    NumberCapture,
    Number,
    "a number must be an integer or decimal text",
    |s| s
        .parse()
        .map_err(|e| CodecError::new(format!("invalid number: {e}"))),
    |i| Ok(Number::from(i))
);

// ---------------------------------------------------------------------------------------------------------
// Deserializer: Value → Rust.

struct ValueDeserializer<'a> {
    v: &'a Value,
    depth: usize,
}

fn unknown_error() -> CodecError {
    CodecError::new("value is not yet known (unknown), and this field cannot hold an unknown value")
}

impl<'a> ValueDeserializer<'a> {
    fn child(&self, v: &'a Value) -> Result<ValueDeserializer<'a>, CodecError> {
        if self.depth >= MAX_DEPTH {
            return Err(CodecError::too_deep());
        }
        Ok(ValueDeserializer {
            v,
            depth: self.depth + 1,
        })
    }
}

impl<'de> Deserializer<'de> for ValueDeserializer<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.v {
            Value::Null => visitor.visit_unit(),
            Value::Unknown => Err(unknown_error()),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else {
                    visitor.visit_f64(n.as_f64())
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(vs) | Value::Set(vs) | Value::Tuple(vs) => {
                visitor.visit_seq(SeqDeserializer {
                    parent: self,
                    iter: vs.iter().enumerate(),
                })
            }
            Value::Map(m) => visitor.visit_map(MapDeserializer {
                parent: self,
                iter: m.iter(),
                value: None,
                object: false,
            }),
            Value::Object(m) => visitor.visit_map(MapDeserializer {
                parent: self,
                iter: m.iter(),
                value: None,
                object: true,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.v {
            Value::Null => visitor.visit_none(),
            Value::Unknown => Err(unknown_error()),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        match (name, self.v) {
            (ATTR_TOKEN, Value::Null) => visitor.visit_none(),
            (ATTR_TOKEN, Value::Unknown) => visitor.visit_unit(),
            (ATTR_TOKEN, _) => visitor.visit_some(self),
            // Exact text keeps every digit; the number visitor parses it back.
            (NUMBER_TOKEN, Value::Number(n)) => visitor.visit_string(n.to_string()),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        match self.v {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Unknown => Err(unknown_error()),
            other => Err(CodecError::new(format!(
                "expected a string naming a variant, got {}",
                other.kind_name()
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        seq tuple tuple_struct map struct identifier
    }
}

struct SeqDeserializer<'a> {
    parent: ValueDeserializer<'a>,
    iter: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'de> SeqAccess<'de> for SeqDeserializer<'de> {
    type Error = CodecError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        let Some((i, v)) = self.iter.next() else {
            return Ok(None);
        };
        seed.deserialize(self.parent.child(v)?)
            .map(Some)
            .map_err(|e| e.prepend(PathStep::Index(i as u64)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDeserializer<'a> {
    parent: ValueDeserializer<'a>,
    iter: std::collections::btree_map::Iter<'a, String, Value>,
    value: Option<(&'a String, &'a Value)>,
    object: bool,
}

impl<'de> MapAccess<'de> for MapDeserializer<'de> {
    type Error = CodecError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CodecError> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some((k, v));
        let key: de::value::BorrowedStrDeserializer<'de, CodecError> =
            de::value::BorrowedStrDeserializer::new(k);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, CodecError> {
        let (k, v) = self
            .value
            .take()
            .ok_or_else(|| CodecError::new("map value requested before its key"))?;
        let step = || {
            if self.object {
                PathStep::Attr(k.clone())
            } else {
                PathStep::Key(k.clone())
            }
        };
        seed.deserialize(self.parent.child(v)?)
            .map_err(|e| e.prepend(step()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::plugin::cty::{decode_msgpack, encode_msgpack};

    /// A stand-in for the resource's secret wrapper: custom serde through `serialize_str` and
    /// `deserialize_string`, and a redacting `Debug`.
    #[derive(Clone, PartialEq)]
    struct Secret(String);

    impl fmt::Debug for Secret {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Secret(<redacted>)")
        }
    }

    impl Serialize for Secret {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Secret {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_string(StringVisitor).map(Secret)
        }
    }

    struct StringVisitor;

    impl Visitor<'_> for StringVisitor {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
    }

    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Model {
        id: Attr<String>,
        username: Attr<String>,
        password: Attr<Secret>,
        current_password_wo_version: Attr<Number>,
        triggers: Attr<BTreeMap<String, Attr<String>>>,
        rotate_after: Attr<String>,
    }

    fn model_type() -> Type {
        Type::object([
            ("id", Type::String),
            ("username", Type::String),
            ("password", Type::String),
            ("current_password_wo_version", Type::Number),
            ("triggers", Type::map(Type::String)),
            ("rotate_after", Type::String),
        ])
    }

    fn model() -> Model {
        Model {
            id: Attr::Known("alice".into()),
            username: Attr::Known("alice".into()),
            password: Attr::Unknown,
            current_password_wo_version: Attr::Known("9007199254740993".parse().unwrap()),
            triggers: Attr::Known(BTreeMap::from([
                ("a".to_string(), Attr::Known("1".to_string())),
                ("b".to_string(), Attr::Unknown),
                ("c".to_string(), Attr::Null),
            ])),
            rotate_after: Attr::Null,
        }
    }

    /// Model → Value → msgpack → Value → Model.
    fn through_the_wire<T: Serialize + DeserializeOwned>(m: &T, ty: &Type) -> T {
        let v = to_value(m, ty).unwrap();
        let bytes = encode_msgpack(&v, ty).unwrap();
        let back = decode_msgpack(&bytes, ty).unwrap();
        assert_eq!(back, v);
        from_value(&back).unwrap()
    }

    #[test]
    fn resource_model_round_trips_with_unknowns() {
        let m = model();
        let v = to_value(&m, &model_type()).unwrap();
        assert_eq!(v.get_attr("password"), Some(&Value::Unknown));
        assert_eq!(v.get_attr("rotate_after"), Some(&Value::Null));
        assert_eq!(
            v.get_attr("triggers").and_then(|t| t.get_attr("b")),
            Some(&Value::Unknown)
        );
        assert_eq!(v.get_attr("id"), Some(&Value::from("alice")));
        assert_eq!(through_the_wire(&m, &model_type()), m);

        let all_unknown = Model {
            id: Attr::Unknown,
            username: Attr::Unknown,
            password: Attr::Unknown,
            current_password_wo_version: Attr::Unknown,
            triggers: Attr::Unknown,
            rotate_after: Attr::Unknown,
        };
        assert_eq!(through_the_wire(&all_unknown, &model_type()), all_unknown);
        assert_eq!(
            through_the_wire(&Model::default(), &model_type()),
            Model::default()
        );
        let with_secret = Model {
            password: Attr::Known(Secret("p@ss\"w0rd".into())),
            ..model()
        };
        assert_eq!(through_the_wire(&with_secret, &model_type()), with_secret);
    }

    #[test]
    fn numbers_survive_attr_number_losslessly() {
        for text in [
            "9007199254740993",
            "0.1",
            "-123456789012345678901234567890.000000000000000000000001",
            "7",
        ] {
            let m = Model {
                current_password_wo_version: Attr::Known(text.parse().unwrap()),
                ..Model::default()
            };
            let back = through_the_wire(&m, &model_type());
            let n = back.current_password_wo_version.known().unwrap();
            assert_eq!(n.to_string(), text);
        }
    }

    #[test]
    fn struct_fields_absent_from_the_model_become_null_and_extra_fields_are_refused() {
        #[derive(Serialize)]
        struct Partial {
            id: String,
        }
        let v = to_value(&Partial { id: "x".into() }, &model_type()).unwrap();
        let Value::Object(m) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(m.len(), 6);
        assert_eq!(m["id"], Value::from("x"));
        assert_eq!(m["username"], Value::Null);

        #[derive(Serialize)]
        struct Extra {
            nope: bool,
        }
        let err = to_value(&Extra { nope: true }, &model_type()).unwrap_err();
        assert_eq!(err.to_string(), "at .nope: unsupported attribute");
    }

    #[test]
    fn type_mismatches_name_the_path() {
        #[derive(Serialize)]
        struct Wrong {
            triggers: BTreeMap<String, bool>,
        }
        let err = to_value(
            &Wrong {
                triggers: BTreeMap::from([("x".to_string(), true)]),
            },
            &model_type(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"at .triggers["x"]: expected string, got bool"#
        );

        let v = Value::Object(BTreeMap::from([(
            "triggers".to_string(),
            Value::Map(BTreeMap::from([("x".to_string(), Value::Bool(true))])),
        )]));
        let err = from_value::<Model>(&v).unwrap_err();
        assert_eq!(
            err.path(),
            &[PathStep::Attr("triggers".into()), PathStep::Key("x".into())]
        );
        assert_eq!(
            err.to_string(),
            r#"at .triggers["x"]: expected a string, got bool"#
        );
    }

    #[test]
    fn errors_never_echo_the_value() {
        #[derive(Debug, Deserialize)]
        struct N {
            #[allow(dead_code)]
            n: u32,
        }
        let v = Value::Object(BTreeMap::from([("n".to_string(), Value::from("hunter2"))]));
        let err = from_value::<N>(&v).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(err.to_string(), "at .n: expected u32, got string");

        let v = Value::Object(BTreeMap::from([("n".to_string(), Value::from("hunter2"))]));
        #[derive(Debug, Deserialize)]
        struct Num {
            #[allow(dead_code)]
            n: Number,
        }
        let err = from_value::<Num>(&v).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(err.path(), &[PathStep::Attr("n".into())]);
    }

    #[test]
    fn option_fields_take_null_but_not_unknown() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct O {
            a: Option<String>,
            b: Option<i64>,
        }
        let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
        let o = O {
            a: None,
            b: Some(-5),
        };
        assert_eq!(through_the_wire(&o, &ty), o);
        let v = Value::Object(BTreeMap::from([
            ("a".to_string(), Value::Unknown),
            ("b".to_string(), Value::Null),
        ]));
        let err = from_value::<O>(&v).unwrap_err();
        assert_eq!(err.path(), &[PathStep::Attr("a".into())]);
        assert!(err.message().contains("unknown"), "{err}");
    }

    #[test]
    fn collections_follow_the_type() {
        let ty = Type::object([
            ("hm", Type::map(Type::Number)),
            ("l", Type::list(Type::String)),
            ("s", Type::set(Type::String)),
            ("t", Type::Tuple(vec![Type::String, Type::Bool])),
            ("f", Type::Number),
            ("b", Type::Bool),
        ]);
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct C {
            hm: HashMap<String, u64>,
            l: Vec<String>,
            s: Vec<String>,
            t: (String, bool),
            f: f64,
            b: bool,
        }
        let c = C {
            hm: HashMap::from([("k".to_string(), u64::MAX)]),
            l: vec!["a".into(), "b".into()],
            s: vec!["z".into()],
            t: ("x".into(), true),
            f: 0.25,
            b: false,
        };
        let v = to_value(&c, &ty).unwrap();
        assert!(matches!(v.get_attr("l"), Some(Value::List(_))));
        assert!(matches!(v.get_attr("s"), Some(Value::Set(_))));
        assert!(matches!(v.get_attr("t"), Some(Value::Tuple(_))));
        assert!(matches!(v.get_attr("hm"), Some(Value::Map(_))));
        assert_eq!(through_the_wire(&c, &ty), c);
        // A tuple of the wrong length is refused.
        assert!(
            to_value(
                &("x", true, 1),
                &Type::Tuple(vec![Type::String, Type::Bool])
            )
            .is_err()
        );
        // Non-finite floats have no cty value.
        assert!(to_value(&f64::NAN, &Type::Number).is_err());
        // Under dynamic, sequences become tuples and structs objects.
        let v = to_value(&(1, "a"), &Type::Dynamic).unwrap();
        assert_eq!(
            v,
            Value::Tuple(vec![Value::Number(Number::from(1i64)), Value::from("a")])
        );
    }

    #[test]
    fn unit_enums_are_strings() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Mode {
            Fixed,
            Periodic,
        }
        let v = to_value(&Mode::Periodic, &Type::String).unwrap();
        assert_eq!(v, Value::from("periodic"));
        assert_eq!(from_value::<Mode>(&v).unwrap(), Mode::Periodic);
        assert_eq!(
            from_value::<Mode>(&Value::from("fixed")).unwrap(),
            Mode::Fixed
        );
        let err = from_value::<Mode>(&Value::from("s3cr3t")).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn attr_helpers_and_debug() {
        let k: Attr<i32> = Attr::Known(3);
        assert!(k.is_known() && !k.is_null() && !k.is_unknown());
        assert_eq!(k.known(), Some(&3));
        assert_eq!(k.clone().into_known(), Some(3));
        assert_eq!(k.clone().map(|x| x * 2), Attr::Known(6));
        assert!(Attr::<i32>::default().is_null());
        assert!(Attr::<i32>::Unknown.is_unknown());
        assert_eq!(Attr::from(None::<i32>), Attr::Null);
        assert_eq!(format!("{k:?}"), "3");
        assert_eq!(format!("{:?}", Attr::<i32>::Unknown), "unknown");
        assert_eq!(format!("{:?}", Attr::<i32>::Null), "null");
        let secret = Attr::Known(Secret("hunter2".into()));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{:?}", model()).matches("redacted").count(), 0);
        let m = Model {
            password: secret,
            ..model()
        };
        assert!(!format!("{m:?}").contains("hunter2"));
    }

    #[test]
    fn other_serde_formats_see_plain_options_and_numbers() {
        let m = model();
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["password"], serde_json::Value::Null);
        // Fits i64, so it is an exact JSON integer.
        assert_eq!(
            json["current_password_wo_version"],
            serde_json::json!(9_007_199_254_740_993i64)
        );
        // Beyond i64 or fractional: exact text.
        let big: Number = "123456789012345678901234567890.5".parse().unwrap();
        assert_eq!(
            serde_json::to_value(&big).unwrap(),
            serde_json::json!("123456789012345678901234567890.5")
        );
        assert_eq!(json["triggers"]["a"], serde_json::json!("1"));
        let small = serde_json::to_value(Number::from(5i64)).unwrap();
        assert_eq!(small, serde_json::json!(5));
        let back: Model = serde_json::from_value(json).unwrap();
        assert_eq!(
            back.current_password_wo_version,
            m.current_password_wo_version
        );
        assert_eq!(back.password, Attr::Null);
        assert_eq!(back.id, m.id);
        let n: Number = serde_json::from_str("12.5").unwrap();
        assert_eq!(n.to_string(), "12.5");
    }
}
