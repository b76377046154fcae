//! Control characters made visible, so a value in a log line cannot repaint Terraform's terminal or forge a line.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a terminal or log reader could act on `c` rather than show it: C0 controls (new line and tab
/// included), DEL, C1 controls, the Unicode bidirectional controls (which reorder what is shown, as in
/// "Trojan Source"), and the Unicode line and paragraph separators.
pub(super) fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every control character (see `is_control`) written as a visible escape: `\n`, `\r`, `\t`, else
/// `\u{hex}` as Rust writes it. Everything else, backslashes included, is unchanged; text without controls is
/// returned as is, without copying.
#[must_use]
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn escape_controls_covers_c0_del_c1_bidi_and_separators_and_nothing_else() {
        let cases: &[(&str, &str)] = &[
            ("plain svc-ci_01@x.y", "plain svc-ci_01@x.y"),
            (
                "back\\slash \"q\" é 🚀 \u{a0}nbsp",
                "back\\slash \"q\" é 🚀 \u{a0}nbsp",
            ),
            ("a\nb\rc\td", "a\\nb\\rc\\td"),
            ("\u{0}\u{1b}\u{1f}", "\\u{0}\\u{1b}\\u{1f}"),
            ("\u{7f}\u{80}\u{9b}\u{9f}", "\\u{7f}\\u{80}\\u{9b}\\u{9f}"),
            ("\u{61c}\u{200e}\u{200f}", "\\u{61c}\\u{200e}\\u{200f}"),
            (
                "\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}",
                "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}",
            ),
            (
                "\u{2066}\u{2067}\u{2068}\u{2069}",
                "\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
            ),
            ("\u{2028}\u{2029}", "\\u{2028}\\u{2029}"),
            // Neighbours of the ranges stay as they are.
            (
                "\u{20}\u{7e}\u{a0}\u{2029}x",
                "\u{20}\u{7e}\u{a0}\\u{2029}x",
            ),
            (
                "\u{2065}\u{206a}\u{2029}\u{202f}\u{2027}",
                "\u{2065}\u{206a}\\u{2029}\u{202f}\u{2027}",
            ),
            (
                "\u{200d}\u{2010}\u{61b}\u{61d}",
                "\u{200d}\u{2010}\u{61b}\u{61d}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(escape_controls(input), *want, "{input:?}");
        }
        assert!(matches!(escape_controls("svc-ci"), Cow::Borrowed(_)));
        // Every char in the controlled ranges is caught, so no raw one can reach the output.
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let escaped = escape_controls(c.encode_utf8(&mut [0; 4])).into_owned();
            let expect_escaped = u32::from(c) < 0x20
                || (0x7f..=0x9f).contains(&u32::from(c))
                || matches!(u32::from(c), 0x61c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0x2028 | 0x2029);
            assert_eq!(
                escaped != c.to_string(),
                expect_escaped,
                "{c:?} -> {escaped:?}"
            );
            assert!(!escaped.chars().any(is_control), "{c:?} -> {escaped:?}");
        }
    }
}
