//! Echo placeholders in fault answers: a fault's body and header values may repeat parts of the request, in the
//! encodings a real server might use, so a test can prove that no secret reaches a diagnostic in any of them.
//!
//! Syntax: `{{SOURCE}}` or `{{SOURCE|ENCODING|...}}`, where SOURCE is `body` (the raw request body), `query` (the
//! raw query string, without `?`), `header:NAME` (a request header, any case; several values are joined with
//! `, `) or `field:NAME` (a top-level field of a JSON object body, strings decoded, other values as JSON; for a
//! form body, the decoded form field). A missing header or field echoes as nothing. Encodings apply left to
//! right: `raw` (the default), `json` (JSON string escaping without the quotes), `url` (percent-encoding of all
//! but the unreserved `A-Z a-z 0-9 - . _ ~`), `form` (`application/x-www-form-urlencoded`, space as `+`), `html`
//! (entities for `& < > " '`), `htmlnum` (every non-alphanumeric character as `&#NN;`) and `base64` (standard,
//! padded).
//!
//! Text that merely contains braces stays literal: only `{{` followed by a word (letters, digits, `_`) and then
//! `}}`, `:` or `|` is a placeholder, and such a placeholder must be valid, so a typo fails at registration
//! instead of silently echoing nothing.

use base64::Engine;
use http::HeaderMap;

/// A parsed body or header value: literal text and echoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Echo {
        source: Source,
        encodings: Vec<Encoding>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Body,
    Query,
    /// Lower-cased header name.
    Header(String),
    Field(String),
}

/// How an echoed value is encoded before it goes into the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Raw,
    Json,
    Url,
    Form,
    Html,
    HtmlNum,
    Base64,
}

/// The parts of a request that placeholders can echo.
#[derive(Debug, Clone, Copy)]
pub struct Echoed<'a> {
    pub body: &'a [u8],
    pub query: &'a str,
    pub headers: &'a HeaderMap,
}

impl Template {
    /// Parses `text`; an invalid placeholder is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let inner = after.find("}}").map(|end| &after[..end]);
            match inner {
                Some(inner) if looks_like_placeholder(inner) => {
                    literal.push_str(&rest[..start]);
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_placeholder(inner)?);
                    rest = &after[inner.len() + 2..];
                }
                _ => {
                    // Keep one brace and look again from the next one, so `{{{body}}}` is an echo in braces.
                    literal.push_str(&rest[..=start]);
                    rest = &rest[start + 1..];
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    /// The text with every placeholder replaced by what it echoes from `request`.
    pub fn render(&self, request: &Echoed<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Echo { source, encodings } => {
                    let value = source.value(request);
                    let encoded = encodings.iter().fold(value, |v, e| e.apply(&v));
                    out.push_str(&encoded);
                }
            }
        }
        out
    }
}

/// A word right after `{{`: a would-be placeholder, as opposed to JSON or other text that has braces.
fn looks_like_placeholder(inner: &str) -> bool {
    let word_end = inner.find([':', '|']).unwrap_or(inner.len());
    let word = &inner[..word_end];
    word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !inner.contains('{')
}

fn parse_placeholder(inner: &str) -> Result<Part, String> {
    let mut pieces = inner.split('|');
    let head = pieces.next().unwrap_or_default();
    let source = match head.split_once(':') {
        None if head == "body" => Source::Body,
        None if head == "query" => Source::Query,
        Some(("header", name)) if http::HeaderName::from_bytes(name.as_bytes()).is_ok() => {
            Source::Header(name.to_ascii_lowercase())
        }
        Some(("field", name)) if !name.is_empty() => Source::Field(name.to_owned()),
        _ => {
            return Err(format!(
                "unknown placeholder {{{{{inner}}}}}: use {{{{body}}}}, {{{{query}}}}, {{{{header:NAME}}}} or \
                 {{{{field:NAME}}}}"
            ));
        }
    };
    let encodings = pieces
        .map(|name| {
            Encoding::parse(name).ok_or_else(|| {
                format!(
                    "unknown encoding {name:?} in {{{{{inner}}}}}: use raw, json, url, form, html, htmlnum or base64"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Part::Echo { source, encodings })
}

impl Source {
    fn value(&self, request: &Echoed<'_>) -> String {
        match self {
            Self::Body => String::from_utf8_lossy(request.body).into_owned(),
            Self::Query => request.query.to_owned(),
            Self::Header(name) => request
                .headers
                .get_all(name.as_str())
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", "),
            Self::Field(name) => field(request.body, name),
        }
    }
}

/// A top-level field of a JSON object body, or of a form body when the body is not JSON.
fn field(body: &[u8], name: &str) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => match map.get(name) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        Ok(_) => String::new(),
        Err(_) => url::form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    }
}

impl Encoding {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "raw" => Self::Raw,
            "json" => Self::Json,
            "url" => Self::Url,
            "form" => Self::Form,
            "html" => Self::Html,
            "htmlnum" => Self::HtmlNum,
            "base64" => Self::Base64,
            _ => return None,
        })
    }

    /// `value` in this encoding.
    pub fn apply(self, value: &str) -> String {
        match self {
            Self::Raw => value.to_owned(),
            Self::Json => {
                let quoted = serde_json::Value::String(value.to_owned()).to_string();
                quoted
                    .strip_prefix('"')
                    .and_then(|q| q.strip_suffix('"'))
                    .unwrap_or(&quoted)
                    .to_owned()
            }
            Self::Url => {
                let mut out = String::with_capacity(value.len());
                for b in value.bytes() {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                        out.push(char::from(b));
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
                out
            }
            Self::Form => url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
            Self::Html => {
                let mut out = String::with_capacity(value.len());
                for c in value.chars() {
                    match c {
                        '&' => out.push_str("&amp;"),
                        '<' => out.push_str("&lt;"),
                        '>' => out.push_str("&gt;"),
                        '"' => out.push_str("&quot;"),
                        '\'' => out.push_str("&#39;"),
                        c => out.push(c),
                    }
                }
                out
            }
            Self::HtmlNum => {
                let mut out = String::with_capacity(value.len());
                for c in value.chars() {
                    if c.is_ascii_alphanumeric() {
                        out.push(c);
                    } else {
                        out.push_str(&format!("&#{};", u32::from(c)));
                    }
                }
                out
            }
            Self::Base64 => base64::engine::general_purpose::STANDARD.encode(value),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn render(template: &str, body: &str, query: &str, headers: &[(&'static str, &str)]) -> String {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        Template::parse(template).unwrap().render(&Echoed {
            body: body.as_bytes(),
            query,
            headers: &map,
        })
    }

    #[test]
    fn text_with_braces_stays_literal() {
        for text in [
            "",
            "plain",
            "\u{1}\u{2}garbage{{{not json",
            r#"{"a":{"b":{}}}"#,
            r#"{{"quoted":1}}"#,
            "{{ spaced }}",
            "{{}}",
            "}}{{",
        ] {
            assert_eq!(render(text, "B", "", &[]), text, "{text:?}");
        }
    }

    #[test]
    fn each_source_is_echoed() {
        let body = r#"{"username":"alice","password":"p\"w\\1","n":5}"#;
        let headers = [
            ("authorization", "Basic YTpi"),
            ("x-multi", "1"),
            ("x-multi", "2"),
        ];
        let cases = [
            ("{{body}}", body),
            ("{{query}}", "a=1&b=2"),
            ("{{header:Authorization}}", "Basic YTpi"),
            ("{{header:X-MULTI}}", "1, 2"),
            ("{{header:absent}}", ""),
            ("{{field:password}}", "p\"w\\1"),
            ("{{field:n}}", "5"),
            ("{{field:absent}}", ""),
            (
                "<{{field:username}}:{{field:password|json}}>",
                r#"<alice:p\"w\\1>"#,
            ),
            ("{{{field:username}}}", "{alice}"),
        ];
        for (template, want) in cases {
            assert_eq!(
                render(template, body, "a=1&b=2", &headers),
                want,
                "{template}"
            );
        }
        // A form body (the token endpoint's) has fields too.
        assert_eq!(
            render(
                "{{field:grant_type}}",
                "grant_type=client%5Fcredentials&scope=a+b",
                "",
                &[]
            ),
            "client_credentials"
        );
        assert_eq!(
            render("{{field:scope}}", "grant_type=x&scope=a+b", "", &[]),
            "a b"
        );
        // A JSON body that is not an object has no fields.
        assert_eq!(render("{{field:x}}", "[1]", "", &[]), "");
    }

    #[test]
    fn each_encoding_is_applied() {
        let secret = "a b&<>\"'/\\é+%";
        let cases = [
            ("raw", secret.to_owned()),
            ("json", r#"a b&<>\"'/\\é+%"#.to_owned()),
            ("url", "a%20b%26%3C%3E%22%27%2F%5C%C3%A9%2B%25".to_owned()),
            ("form", "a+b%26%3C%3E%22%27%2F%5C%C3%A9%2B%25".to_owned()),
            ("html", "a b&amp;&lt;&gt;&quot;&#39;/\\é+%".to_owned()),
            (
                "htmlnum",
                "a&#32;b&#38;&#60;&#62;&#34;&#39;&#47;&#92;&#233;&#43;&#37;".to_owned(),
            ),
            ("base64", "YSBiJjw+IicvXMOpKyU=".to_owned()),
        ];
        let body = serde_json::json!({ "password": secret }).to_string();
        for (encoding, want) in cases {
            let template = format!("[{{{{field:password|{encoding}}}}}]");
            assert_eq!(
                render(&template, &body, "", &[]),
                format!("[{want}]"),
                "{encoding}"
            );
        }
        // Encodings chain left to right.
        assert_eq!(render("{{body|json|base64}}", "\"", "", &[]), "XCI=");
    }

    #[test]
    fn invalid_placeholders_are_refused() {
        for bad in [
            "{{feild:password}}",
            "{{body:x}}",
            "{{field:}}",
            "{{header:bad name}}",
            "{{body|jsn}}",
            "{{query|}}",
            "x {{bodies}} y",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
