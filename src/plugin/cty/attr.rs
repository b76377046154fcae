//! [`Attr`]: one attribute of a typed model as Terraform sees it (null, unknown or known), and its serde impls.
//!
//! Unknown values travel through a private newtype name that only this module's serializer and deserializer
//! recognise (the same trick `serde_json::value::RawValue` uses); every other serde format sees an ordinary `Option`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Visitor};
use serde::ser::Serialize;
use serde::{Deserialize, Deserializer, Serializer};

/// Newtype name that marks an [`Attr`] on deserialization.
pub(super) const ATTR_TOKEN: &str = "$__cty_attr";
/// Newtype name that marks an unknown [`Attr`] on serialization.
pub(super) const UNKNOWN_TOKEN: &str = "$__cty_unknown";
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
