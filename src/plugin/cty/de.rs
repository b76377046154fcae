//! The deserializer half of the serde bridge: a cty [`Value`] back to a typed Rust model. Unknown values are
//! accepted only where the model has an [`Attr`](super::Attr).

use serde::Deserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use super::attr::ATTR_TOKEN;
use super::error::{CodecError, MAX_DEPTH, PathStep};
use super::number::NUMBER_TOKEN;
use super::value::Value;

/// Reads a model back from a value. Unknown values are accepted only where the model has an [`Attr`](super::Attr).
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, CodecError> {
    T::deserialize(ValueDeserializer { v, depth: 0 })
}

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
