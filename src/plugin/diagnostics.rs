//! Diagnostics: the user-facing errors and warnings every handler returns, with an attribute path when one applies.
//!
//! Resource and provider code build these; only the service turns them into tfplugin6 messages.

use crate::plugin::cty::PathStep;
use crate::plugin::proto::tfplugin6 as pb;

/// Whether Terraform stops (error) or carries on and shows it (warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One diagnostic: a one-line summary, a detail that says what to do, and the attribute it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub attribute: Vec<PathStep>,
}

impl Diagnostic {
    /// An error not tied to an attribute.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: Vec::new(),
        }
    }

    /// A warning not tied to an attribute.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(summary, detail)
        }
    }

    /// Ties the diagnostic to a top-level attribute, so Terraform points at that line of the configuration.
    pub fn at(mut self, attribute: &str) -> Self {
        self.attribute = vec![PathStep::Attr(attribute.to_string())];
        self
    }

    /// Ties the diagnostic to a nested path.
    pub fn at_path(mut self, path: Vec<PathStep>) -> Self {
        self.attribute = path;
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The tfplugin6 form.
    pub fn to_proto(&self) -> pb::Diagnostic {
        let attribute = if self.attribute.is_empty() {
            None
        } else {
            Some(path_to_proto(&self.attribute))
        };
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute,
        }
    }
}

/// A list of diagnostics collected by one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Whether any of them is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tfplugin6 form.
    pub fn to_proto(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d])
    }
}

/// User-supplied text for a diagnostic: in double quotes, with quotes, backslashes, control characters (ESC, new
/// lines, DEL, C1) and invisible format characters (bidi overrides, zero-width) escaped, and cut at 200 characters.
/// Terraform prints diagnostics to a terminal as they are, so a raw escape sequence in a value would be executed
/// there.
pub fn quote(text: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::with_capacity(text.len().min(MAX) + 2);
    out.push('"');
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || is_invisible_format(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Unicode format characters that change how the text around them displays without being visible themselves.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// An attribute path in its tfplugin6 form.
pub(crate) fn path_to_proto(path: &[PathStep]) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: path
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(name) => Selector::AttributeName(name.clone()),
                    PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::Index(i) => {
                        Selector::ElementKeyInt(i64::try_from(*i).unwrap_or(i64::MAX))
                    }
                }),
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_everything_a_terminal_would_act_on() {
        assert_eq!(quote("svc-ci"), "\"svc-ci\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        let q = quote("x\u{1b}[31mred\nnext\u{7f}\u{9b}\u{202e}");
        assert_eq!(q, "\"x\\u{1b}[31mred\\u{a}next\\u{7f}\\u{9b}\\u{202e}\"");
        assert!(!q.chars().any(|c| c.is_control()));
        let long = quote(&"a".repeat(500));
        assert_eq!(long.chars().count(), 200 + 3);
    }
}
