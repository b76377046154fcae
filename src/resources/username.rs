//! ThingSpace user names: what the provider accepts (checked at validate, before any log-in) and the error that
//! names the attribute.

use crate::plugin::diagnostics::{Diagnostic, quote};

/// The longest user name accepted.
pub const USERNAME_MAX_CHARS: usize = 128;

/// Why `username` is not a ThingSpace user name, if it is not one.
///
/// ThingSpace user names are printable. The provider accepts 1 to 128 printable ASCII characters without spaces
/// and without `,` (which joins two user names in the ID of the alternating resource). Anything else is refused at
/// validate, before any log-in, and is never echoed raw (see [`quote`]).
pub fn username_problem(username: &str) -> Option<String> {
    if username.is_empty() {
        return Some("it is empty".to_owned());
    }
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Some(format!("it is longer than {USERNAME_MAX_CHARS} characters"));
    }
    if let Some(c) = username.chars().find(|c| !c.is_ascii_graphic()) {
        let what = if c == ' ' {
            "a space".to_owned()
        } else if c.is_control() {
            format!("the control character U+{:04X}", u32::from(c))
        } else {
            format!("the character U+{:04X}", u32::from(c))
        };
        return Some(format!("it contains {what}"));
    }
    if username.contains(',') {
        return Some("it contains \",\"".to_owned());
    }
    None
}

/// The error for an invalid user name at `attribute`.
pub fn username_error(attribute: &str, username: &str, problem: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Invalid {attribute}"),
        format!(
            "{} is not a ThingSpace user name: {problem}. User names are 1 to {USERNAME_MAX_CHARS} printable ASCII \
characters without spaces or commas.",
            quote(username)
        ),
    )
    .at(attribute)
}
