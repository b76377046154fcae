//! Scrubbing secrets from server-supplied text, in every encoding a server could echo them in.
//!
//! A server that echoes a request back may do so raw, JSON-escaped, percent-encoded, HTML-escaped or base64-encoded
//! (an echoed `Authorization: Basic ...` header), or in a mix of these. Two passes keep every secret out:
//! - the common encodings of each secret are replaced by `[redacted]`, which keeps a message useful;
//! - then the text is decoded every way a server could have encoded it (HTML entities, percent-encoding, JSON string
//!   escapes, base64 tokens, up to three layers deep), and if any secret shows up in any decoded view the text is
//!   replaced whole by a neutral phrase, because mixed encodings can't be enumerated.
//!
//! [`clean`] applies both passes to any server-supplied string a message shows, and makes it one printable line.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// What replaces an encoding of a secret that the first pass recognised.
pub(crate) const MARK: &str = "[redacted]";

/// What replaces a whole text in which a secret still showed up after decoding.
pub const ECHOED: &str = "[the answer echoed a secret; not shown]";

/// How many decoding layers deep the second pass looks.
const DEPTH: usize = 3;

/// The most bytes of decoded views the second pass builds for one text. A text whose views would need more is
/// treated as echoing a secret: it can't be checked, so it is not shown.
const VIEW_BUDGET: usize = 1 << 20;

/// `text` with every recognised encoding of every secret replaced by [`MARK`], or [`ECHOED`] when a secret still
/// shows up once the text is decoded. Empty secrets are ignored. Give it a text of a message's length: the decoded
/// views it builds grow with the text.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let scrubbed = replace_encodings(text, secrets);
    if reveals(&scrubbed, secrets) {
        ECHOED.to_owned()
    } else {
        scrubbed
    }
}

/// The first pass only: every recognised encoding of every secret replaced by [`MARK`]. Longer variants go first,
/// so a secret that contains another is not left half visible.
pub(crate) fn replace_encodings(text: &str, secrets: &[&str]) -> String {
    let mut variants: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .flat_map(|s| encodings(s))
        .collect();
    variants.sort_by_key(|v| std::cmp::Reverse(v.len()));
    variants.dedup();
    let mut out = text.to_owned();
    for variant in &variants {
        if out.contains(variant.as_str()) {
            out = out.replace(variant.as_str(), MARK);
        }
    }
    out
}

/// Whether any secret shows up in `text` as it is or after up to [`DEPTH`] layers of decoding.
pub(crate) fn reveals(text: &str, secrets: &[&str]) -> bool {
    let secrets: Vec<&[u8]> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_bytes())
        .collect();
    let Some(shortest) = secrets.iter().map(|s| s.len()).min() else {
        return false;
    };
    let found = |bytes: &[u8]| secrets.iter().any(|s| contains(bytes, s));
    if found(text.as_bytes()) {
        return true;
    }
    // The shortest base64 run that can hold a whole secret.
    let min_run = (4 * shortest).div_ceil(3);
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    seen.insert(text.as_bytes().to_vec());
    let mut level: Vec<Vec<u8>> = vec![text.as_bytes().to_vec()];
    let mut spent = 0usize;
    for _ in 0..DEPTH {
        let mut next = Vec::new();
        for view in &level {
            let text = String::from_utf8_lossy(view);
            let decoded = [
                html_unescape(&text).into_bytes(),
                percent_decode(&text, false),
                percent_decode(&text, true),
                json_unescape(&text).into_bytes(),
                base64_runs(&text, min_run),
            ];
            for d in decoded {
                if found(&d) {
                    return true;
                }
                if d.is_empty() || seen.contains(&d) {
                    continue;
                }
                spent += d.len();
                if spent > VIEW_BUDGET {
                    return true;
                }
                seen.insert(d.clone());
                next.push(d);
            }
        }
        level = next;
    }
    false
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The encodings of `secret` a server is likely to echo, for exact replacement.
fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    for slash in [false, true] {
        for ascii in [false, true] {
            for html_safe in [false, true] {
                out.push(json_escape(secret, slash, ascii, html_safe));
            }
        }
    }
    for upper in [false, true] {
        for form in [false, true] {
            out.push(percent_encode(secret, upper, form));
        }
    }
    out.extend(html_escapes(secret));
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(secret));
    }
    out.sort();
    out.dedup();
    out
}

/// The inside of a JSON string holding `s`: serde_json's escaping, optionally with `\/`, with every non-ASCII
/// character as `\uXXXX` (as many encoders do), and with `<`, `>`, `&` as `\u003c`... (as Go's encoder does).
pub(crate) fn json_escape(s: &str, slash: bool, ascii: bool, html_safe: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html_safe => push_u_escape(&mut out, c),
            c if (c as u32) < 0x20 => push_u_escape(&mut out, c),
            c if ascii && !c.is_ascii() => push_u_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

fn push_u_escape(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// Percent-encoding of every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`); `form` writes a space as `+`.
pub(crate) fn percent_encode(s: &str, upper: bool, form: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' if form => out.push('+'),
            b if upper => out.push_str(&format!("%{b:02X}")),
            b => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

/// The usual HTML escapings of `s`: named entities with `&#39;` or `&apos;`, numeric ones (Go's `&#34;`), and
/// text-content escaping that leaves quotes alone.
fn html_escapes(s: &str) -> Vec<String> {
    let escape = |quot: &str, apos: &str, amp: &str, lt: &str, gt: &str| {
        let mut out = String::with_capacity(s.len() + 8);
        for c in s.chars() {
            match c {
                '"' => out.push_str(quot),
                '\'' => out.push_str(apos),
                '&' => out.push_str(amp),
                '<' => out.push_str(lt),
                '>' => out.push_str(gt),
                c => out.push(c),
            }
        }
        out
    };
    vec![
        escape("&quot;", "&#39;", "&amp;", "&lt;", "&gt;"),
        escape("&quot;", "&apos;", "&amp;", "&lt;", "&gt;"),
        escape("&#34;", "&#39;", "&amp;", "&lt;", "&gt;"),
        escape("\"", "'", "&amp;", "&lt;", "&gt;"),
    ]
}

/// Decodes HTML character references: the named ones for markup characters (any case, `;` optional) and numeric
/// ones in decimal or hex. Anything else stays as it is.
pub(crate) fn html_unescape(text: &str) -> String {
    const NAMED: [(&str, char); 6] = [
        ("quot", '"'),
        ("amp", '&'),
        ("lt", '<'),
        ("gt", '>'),
        ("apos", '\''),
        ("nbsp", '\u{a0}'),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let mut decoded = None;
        if let Some(num) = after.strip_prefix('#') {
            let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
                Some(hex) => (hex, 16, 2),
                None => (num, 10, 1),
            };
            let len = digits
                .find(|c: char| !c.is_digit(radix))
                .unwrap_or(digits.len());
            if len > 0 {
                let c = u32::from_str_radix(&digits[..len.min(8)], radix)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                let semi = usize::from(digits[len..].starts_with(';'));
                decoded = Some((c, skip + len + semi));
            }
        } else {
            for (name, c) in NAMED {
                if after
                    .get(..name.len())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                {
                    let semi = usize::from(after[name.len()..].starts_with(';'));
                    decoded = Some((c, name.len() + semi));
                    break;
                }
            }
        }
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `%XX` (either case); `form` also reads `+` as a space. Bytes, since the result need not be UTF-8.
pub(crate) fn percent_decode(text: &str, form: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let hex = |j: usize| bytes.get(j).and_then(|&h| char::from(h).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) if form => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes JSON string escapes wherever they appear (`\"`, `\\`, `\/`, `\n`..., `\uXXXX` with surrogate pairs).
pub(crate) fn json_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut pending_high: Option<u32> = None;
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush_high(&mut out, &mut pending_high);
            out.push(c);
            continue;
        }
        let simple = match chars.peek() {
            Some('"') => Some('"'),
            Some('\\') => Some('\\'),
            Some('/') => Some('/'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            _ => None,
        };
        if let Some(s) = simple {
            chars.next();
            flush_high(&mut out, &mut pending_high);
            out.push(s);
            continue;
        }
        if chars.peek() == Some(&'u') {
            let mut look = chars.clone();
            look.next();
            let hex: String = look.by_ref().take(4).collect();
            if let Some(unit) = (hex.len() == 4)
                .then(|| u32::from_str_radix(&hex, 16).ok())
                .flatten()
            {
                chars = look;
                match (pending_high.take(), unit) {
                    (Some(high), 0xDC00..=0xDFFF) => {
                        let c = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                    }
                    (high, 0xD800..=0xDBFF) => {
                        if high.is_some() {
                            out.push('\u{fffd}');
                        }
                        pending_high = Some(unit);
                    }
                    (high, unit) => {
                        if high.is_some() {
                            out.push('\u{fffd}');
                        }
                        out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                    }
                }
                continue;
            }
        }
        flush_high(&mut out, &mut pending_high);
        out.push(c);
    }
    flush_high(&mut out, &mut pending_high);
    out
}

fn flush_high(out: &mut String, high: &mut Option<u32>) {
    if high.take().is_some() {
        out.push('\u{fffd}');
    }
}

/// Every run of base64 characters (either alphabet) at least `min_run` long, decoded from each of its first four
/// characters (so a run glued to a word still decodes), padding and a ragged end ignored; the pieces joined by new
/// lines.
pub(crate) fn base64_runs(text: &str, min_run: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        for offset in 0..4.min(run.len()) {
            if run.len() - offset >= min_run.max(2) {
                out.extend(decode_lenient(&run[offset..]));
                out.push(b'\n');
            }
        }
    }
    out
}

/// Base64 of either alphabet, without padding, any trailing bits dropped.
fn decode_lenient(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in run {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            _ => 63,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A server-supplied string made fit for a diagnostic: every known encoding of a secret replaced (before the cut,
/// so no half survives), control characters (terminal escapes, new lines) turned into spaces, at most `max`
/// characters, and dropped whole if a secret still shows up once decoded.
pub(crate) fn clean(text: &str, secrets: &[&str], max: usize) -> String {
    let scrubbed = replace_encodings(text, secrets);
    let printable = scrubbed
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c });
    let shown = if scrubbed.chars().count() > max {
        let mut cut: String = printable.take(max).collect();
        cut.push('…');
        cut
    } else {
        printable.collect()
    };
    checked(shown, secrets)
}

/// `shown` as it is, or [`ECHOED`] when a secret, or a secret with its white space folded the way [`clean`] and
/// `answer`'s excerpt folds it, shows up in it once decoded.
pub(crate) fn checked(shown: String, secrets: &[&str]) -> String {
    let reshaped: Vec<String> = secrets
        .iter()
        .flat_map(|s| {
            let folded = fold_space(s);
            [
                s.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect(),
                folded.trim().to_owned(),
                folded,
            ]
        })
        .collect();
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend(reshaped.iter().map(String::as_str));
    if reveals(&shown, &all) {
        ECHOED.to_owned()
    } else {
        shown
    }
}

/// Control characters to spaces, and runs of white space to one space.
fn fold_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn decoders_undo_what_servers_do() {
        assert_eq!(
            html_unescape("a&quot;b&AMP;c&lt;&gt&#39;&apos;&#34;&#x3C;&#X3e;&#233;&bogus;&"),
            "a\"b&c<>''\"<>é&bogus;&"
        );
        assert_eq!(percent_decode("a%2Fb%2fc+d%zz%4", false), b"a/b/c+d%zz%4");
        assert_eq!(percent_decode("c+d", true), b"c d");
        assert_eq!(
            json_unescape(r#"a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x\q"#),
            "a\"b\\c/d\né😀\u{fffd}x\\q"
        );
        let b64 = STANDARD.encode("id:sec/ret");
        let decoded = base64_runs(&format!("Basic {b64}"), 4);
        assert!(contains(&decoded, b"id:sec/ret"), "{decoded:?}");
        let url = URL_SAFE_NO_PAD.encode("???>>>");
        assert!(contains(&base64_runs(&format!("x{url}"), 4), b"???>>>"));
    }

    #[test]
    fn encoders_match_the_usual_libraries() {
        let s = "a\"b\\c/d<é";
        assert_eq!(
            json_escape(s, false, false, false),
            serde_json::to_string(s).unwrap().trim_matches('"')
        );
        assert_eq!(
            json_escape(s, true, true, true),
            r#"a\"b\\c\/d\u003c\u00e9"#
        );
        assert_eq!(percent_encode("a b/é", true, false), "a%20b%2F%C3%A9");
        assert_eq!(percent_encode("a b/é", false, true), "a+b%2f%c3%a9");
        assert!(html_escapes("a\"'&<>").contains(&"a&#34;&#39;&amp;&lt;&gt;".to_owned()));
    }

    #[test]
    fn every_common_encoding_is_replaced_and_mixed_ones_drop_the_text() {
        let secret = "p\"w\\d/ <&>é+=";
        for variant in encodings(secret) {
            let text = format!("bad password {variant} for user");
            assert_eq!(
                redact(&text, &[secret]),
                "bad password [redacted] for user",
                "{variant}"
            );
        }
        // HTML-escaped JSON-escaped: the first pass does not know this mix; the second drops the text.
        let mixed = html_escapes(&json_escape(secret, true, false, false))[2].clone();
        assert_eq!(redact(&format!("echo {mixed}"), &[secret]), ECHOED);
        // base64 inside percent-encoding, as in an echoed query string.
        // A 4-byte prefix puts the secret off the base64 grid, so no variant matches; decoding finds it.
        let basic = percent_encode(&STANDARD.encode(format!("app:{secret}")), true, false);
        assert_eq!(redact(&format!("auth={basic}"), &[secret]), ECHOED);
        // On the grid, the secret's own base64 is replaced and the rest is shown.
        let basic = STANDARD.encode(format!("id:{secret}"));
        assert_eq!(
            redact(&format!("auth={basic}"), &[secret]),
            format!("auth={}[redacted]", STANDARD.encode("id:"))
        );
        // Nothing to hide: the text is kept as it is.
        assert_eq!(
            redact("HTTP 502 &amp; %41 \\n QUJD", &[secret]),
            "HTTP 502 &amp; %41 \\n QUJD"
        );
        assert_eq!(redact("anything", &["", ""]), "anything");
    }
}
