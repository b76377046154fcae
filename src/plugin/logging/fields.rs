//! The one `tracing` field visitor, shared by spans and events: fields become JSON values, and text fields have
//! their control characters made visible.

use std::fmt;

use serde_json::{Number, Value};
use tracing::field::{Field, Visit};

use super::escape::escape_controls;

/// A float as JSON.
fn f64_value(v: f64) -> Value {
    // JSON has no NaN or infinity; keep them readable as strings.
    Number::from_f64(v).map_or_else(|| Value::from(v.to_string()), Value::Number)
}

fn i128_value(v: i128) -> Value {
    i64::try_from(v).map_or_else(|_| Value::from(v.to_string()), Value::from)
}

fn u128_value(v: u128) -> Value {
    u64::try_from(v).map_or_else(|_| Value::from(v.to_string()), Value::from)
}

/// Records `tracing` fields, span or event alike, as JSON values: numbers stay numbers, bools stay bools,
/// everything else becomes a string with its control characters escaped. A repeated name keeps the last value.
pub(super) struct FieldVisitor<'a>(pub(super) &'a mut Vec<(&'static str, Value)>);

impl FieldVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if let Some(slot) = self.0.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.0.push((name, value));
        }
    }

    fn put_text(&mut self, field: &Field, text: &str) {
        self.put(field, Value::from(escape_controls(text).into_owned()));
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, f64_value(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, i128_value(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, u128_value(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put_text(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put_text(field, &value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Display fields (`%x`) and the event's format string (`message`, a `fmt::Arguments`) arrive here too, as
        // their plain text.
        self.put_text(field, &format!("{value:?}"));
    }
}
