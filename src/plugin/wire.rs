//! Terraform's `DynamicValue`s to typed models ([`Model`]) and back, and the diagnostic Terraform shows when that
//! fails.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::plugin::cty::{self, CodecError, Type, Value, from_value, to_value};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::proto::tfplugin6 as pb;

/// The typed form of a resource's (or provider block's) values: one field per schema attribute, an
/// [`Attr`](crate::plugin::cty::Attr) where a value can be null or unknown. Implemented for every type with the
/// serde and `Default` impls the cty bridge needs.
pub trait Model: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {}

impl<T> Model for T where T: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {}

/// The error for a value from Terraform (`what`: "prior state", "configuration"...) that could not be read or
/// written, pointing at the attribute where it went wrong. Codec errors never quote the value.
pub(crate) fn codec_diagnostic(what: &str, e: &CodecError) -> Diagnostics {
    Diagnostic::error(
        format!("Invalid {what} from Terraform"),
        format!(
            "The provider could not read the {what}: {e}. This is a bug in Terraform or the provider; please report it."
        ),
    )
    .at_path(e.path().to_vec())
    .into()
}

/// Decodes a `DynamicValue` of type `ty`; a missing or empty one is null.
pub(crate) fn decode_value(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Value, Diagnostics> {
    match dv {
        Some(dv) if !(dv.msgpack.is_empty() && dv.json.is_empty()) => {
            cty::decode_dynamic(&dv.msgpack, &dv.json, ty).map_err(|e| codec_diagnostic(what, &e))
        }
        _ => Ok(Value::Null),
    }
}

/// A decoded value as a typed model; `None` for null.
pub(crate) fn typed<T: DeserializeOwned>(v: &Value, what: &str) -> Result<Option<T>, Diagnostics> {
    if v.is_null() {
        return Ok(None);
    }
    from_value(v)
        .map(Some)
        .map_err(|e| codec_diagnostic(what, &e))
}

/// Decodes a `DynamicValue` into a typed model; `None` for a null or absent value.
pub(crate) fn decode<T: DeserializeOwned>(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Option<T>, Diagnostics> {
    typed(&decode_value(dv, ty, what)?, what)
}

/// A typed model (or null) as a value of type `ty`.
pub(crate) fn value_of<T: Serialize>(
    m: Option<&T>,
    ty: &Type,
    what: &str,
) -> Result<Value, Diagnostics> {
    match m {
        Some(m) => to_value(m, ty).map_err(|e| codec_diagnostic(what, &e)),
        None => Ok(Value::Null),
    }
}

/// A value as the msgpack `DynamicValue` Terraform reads.
pub(crate) fn encode_value(
    v: &Value,
    ty: &Type,
    what: &str,
) -> Result<pb::DynamicValue, Diagnostics> {
    let msgpack = cty::encode_msgpack(v, ty).map_err(|e| codec_diagnostic(what, &e))?;
    Ok(pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}
