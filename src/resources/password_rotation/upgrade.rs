//! Upgrading stored states of earlier schema versions, and states written before `blocked_reason` existed.

use super::{Model, SCHEMA_VERSION};
use crate::plugin::cty::Attr;
use crate::plugin::cty::Number;
use crate::plugin::diagnostics::Diagnostic;
use crate::plugin::secret::Secret;

/// Upgrades a stored state of any earlier schema version to this one.
///
/// Version 0 had the same attribute names minus `rotation_period`, `triggers`, `current_password_wo` and
/// `current_password_wo_version`; absent attributes become null, and attributes this version no longer has are dropped,
/// so an upgrade never makes a rotation due by itself.
pub fn upgrade(version: i64, raw: &serde_json::Value) -> Result<Model, Diagnostic> {
    let Some(obj) = raw.as_object() else {
        return Err(Diagnostic::error(
            "Unreadable state",
            format!("The stored state (schema version {version}) is not a JSON object."),
        ));
    };
    if version > SCHEMA_VERSION {
        return Err(Diagnostic::error(
            "State from a newer provider",
            format!(
                "The state was written with schema version {version}, newer than this provider's {SCHEMA_VERSION}. \
Use the provider version that wrote it."
            ),
        ));
    }
    let string = |k: &str| -> Attr<String> {
        match obj.get(k) {
            Some(serde_json::Value::String(s)) => Attr::Known(s.clone()),
            _ => Attr::Null,
        }
    };
    let secret = |k: &str| -> Attr<Secret> {
        match obj.get(k) {
            Some(serde_json::Value::String(s)) => Attr::Known(Secret::new(s.clone())),
            _ => Attr::Null,
        }
    };
    let triggers = match obj.get("triggers") {
        Some(serde_json::Value::Object(m)) => Attr::Known(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => Attr::Known(s.clone()),
                        serde_json::Value::Null => Attr::Null,
                        other => Attr::Known(other.to_string()),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => Attr::Null,
    };
    let version_attr = match obj.get("current_password_wo_version") {
        Some(serde_json::Value::Number(n)) => match n.to_string().parse::<Number>() {
            Ok(n) => Attr::Known(n),
            Err(_) => Attr::Null,
        },
        _ => Attr::Null,
    };
    let username = string("username");
    Ok(Model {
        id: match string("id") {
            Attr::Null => username.clone(),
            id => id,
        },
        username,
        current_password: secret("current_password"),
        current_password_wo: Attr::Null,
        current_password_wo_version: version_attr,
        rotate_after: string("rotate_after"),
        rotation_period: string("rotation_period"),
        triggers,
        password: secret("password"),
        rotated_at: string("rotated_at"),
        blocked_reason: string("blocked_reason"),
    })
}
