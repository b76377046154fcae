//! What the tests look at, shared so that every module reads state, output and time the same way: attribute
//! values, Terraform's wrapped text, RFC 3339 times, the passwords in state, and the forms a secret can leak in.

use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Workspace;

/// The string attribute `key` of a `values` object; fails the test if it is not a string.
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

/// Terraform wraps diagnostics at the terminal width; compare text with all runs of white space folded.
pub fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `t` in RFC 3339 as the provider writes it: whole seconds, `Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

/// The real time `secs` seconds from now, in RFC 3339.
pub fn rfc3339_in(secs: i64) -> String {
    rfc3339(OffsetDateTime::now_utc() + time::Duration::seconds(secs))
}

/// Parses an RFC 3339 time; fails the test if `t` is not one.
pub fn parse_time(t: &str) -> OffsetDateTime {
    OffsetDateTime::parse(t, &Rfc3339).unwrap_or_else(|e| panic!("{t:?} is not RFC 3339: {e}"))
}

/// The stored password of the resource at `addr`, or None when it has none.
pub fn stored_password(ws: &Workspace, addr: &str) -> Option<String> {
    ws.resource(addr)["password"].as_str().map(str::to_owned)
}

/// Every password that any object in state holds (current, tainted or deposed).
pub fn passwords_in_state(ws: &Workspace) -> Vec<String> {
    ws.objects()
        .into_iter()
        .filter_map(|(_, v)| v["password"].as_str().map(str::to_owned))
        .collect()
}

/// The forms a server could echo a secret in: raw, JSON-escaped, URL-encoded (every byte but the unreserved
/// ones), HTML-escaped and base64.
pub fn encodings(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_owned();
    let url: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let mut forms = vec![secret.to_owned(), json, url, html, b64];
    forms.sort();
    forms.dedup();
    forms
}

/// The summaries of the warnings in a command's output, without Terraform's own note that `dev_overrides` (how the
/// tests install the provider) is in effect.
pub fn warnings(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Warning: "))
        .filter(|w| !w.starts_with("Provider development overrides are in effect"))
        .map(str::to_owned)
        .collect()
}
