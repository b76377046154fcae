//! Where and why a value could not be decoded or encoded: [`PathStep`] and [`CodecError`], which is also the
//! error type of the serde bridge. Messages never contain values, because a value may be a password.

use std::fmt;

use serde::{de, ser};

use super::ty::{Type, write_string};

/// Deepest nesting of collections, objects and dynamic wrappers accepted in either direction. Our schemas
/// nest two levels; the cap keeps recursion far from the stack's limit whatever the input claims.
pub const MAX_DEPTH: usize = 64;
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
                    write_string(&mut quoted, k);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

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
}
