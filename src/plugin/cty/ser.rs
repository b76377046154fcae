//! The serializer half of the serde bridge: a typed Rust model to a cty [`Value`], driven by the schema type.
//!
//! A struct becomes an object carrying every attribute of the type (absent fields are null), maps become maps,
//! `Vec`s become lists or sets as the type says. Messages name kinds of values, never the values.

use std::collections::BTreeMap;

use serde::ser::{self, Impossible, Serialize, Serializer};

use super::attr::UNKNOWN_TOKEN;
use super::error::{CodecError, MAX_DEPTH, PathStep};
use super::number::{NUMBER_TOKEN, Number};
use super::ty::Type;
use super::value::Value;

/// Converts a model to a value of type `ty`.
pub fn to_value<T: Serialize + ?Sized>(v: &T, ty: &Type) -> Result<Value, CodecError> {
    v.serialize(ValueSerializer { ty, depth: 0 })
}

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

/// `Serializer` methods for integer types: widened to `i64`/`u64`, or (`text`) parsed from their decimal text.
macro_rules! integers {
    ($($name:ident: $t:ty),* => text) => {$(
        fn $name(self, v: $t) -> Result<Value, CodecError> {
            self.number(v.to_string().parse().map_err(|e| CodecError::new(format!("{e}")))?)
        }
    )*};
    ($($name:ident: $t:ty),* => $wide:ty) => {$(
        fn $name(self, v: $t) -> Result<Value, CodecError> {
            self.number(Number::from(<$wide>::from(v)))
        }
    )*};
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

    // Every integer width is a number: the narrow ones widen losslessly, 128-bit ones go through their decimal text,
    // which `Number` parses exactly.
    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64 => i64);
    integers!(serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64 => u64);
    integers!(serialize_i128: i128, serialize_u128: u128 => text);

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
