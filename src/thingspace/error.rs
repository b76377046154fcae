//! Errors of the ThingSpace client's HTTP calls: the typed API error parsed from any of the three error shapes, the
//! failure of one call, an invalid `base_url`, and how server-supplied text is made fit for a message. (The failure
//! of a whole rotation, with its diagnostic text, is `rotate_error`.)
//!
//! Every string built here may reach a diagnostic or a log line, so none of them ever holds a request body, and
//! response excerpts are short, sanitised, never taken from a 2xx answer, and scrubbed of the secrets in play.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::network::{NetCause, Route};
use super::redact::{ECHOED, replace_encodings, reveals};

/// The prefix Verizon puts in front of M2M error codes. Codes are shown and matched without it.
const SERVICE_PREFIX: &str = "UnifiedWebService.";

/// How many characters of an unreadable error page an error message may quote.
const EXCERPT_CHARS: usize = 120;

/// Which of the three documented error shapes an answer used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorShape {
    /// M2M services: `{"errorCode": "...", "errorMessage": "..."}`.
    M2m,
    /// API gateway: `{"fault": {"code": ..., "message": "...", "description": "..."}}`.
    Gateway,
    /// OAuth endpoint: `{"error": "...", "error_description": "..."}`.
    OAuth,
}

/// An error answer from ThingSpace in one of its three shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The error code without the `UnifiedWebService.` prefix (`REQUEST_FAILED.SessionToken.Expired`, `900901`,
    /// `invalid_client`). Empty when the answer carried none.
    pub code: String,
    /// The human-readable message (for gateway faults, the message and the description).
    pub message: String,
    /// The shape the answer used.
    pub shape: ErrorShape,
}

impl ApiError {
    /// Whether the code is `code`, ignoring whatever service prefix ThingSpace put in front of it.
    pub fn has_code(&self, code: &str) -> bool {
        code_matches(&self.code, code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if !self.code.is_empty() {
            write!(f, ", code {}", self.code)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Whether an error code (with or without a service prefix) is `wanted`. Verizon says to match on the code without
/// the `<service>.` prefix, and codes themselves contain dots, so a suffix after a dot counts as a match.
pub fn code_matches(code: &str, wanted: &str) -> bool {
    code == wanted
        || code
            .strip_suffix(wanted)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

/// How a request failed on the wire, where it was going, and how often and how long the client tried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransportError {
    /// Whether any of the request may have reached the server. A connect (or TLS handshake) failure sent nothing;
    /// a timeout or a dropped connection after the connection was up may have delivered the whole request.
    pub maybe_sent: bool,
    /// Whether `request_timeout` ran out.
    pub timed_out: bool,
    /// What the HTTP stack said, without the URL.
    pub detail: String,
    /// What the failure was, read from the error chain; it decides whether a retry can help.
    pub cause: NetCause,
    /// Where the request went (shared: every failure of a client names the same route).
    pub route: Arc<Route>,
    /// How many times the call was sent (filled in when the retry loop gives up; 0 before).
    pub attempts: u32,
    /// Time from the call's first send to giving up.
    pub elapsed: Duration,
}

/// The failure of one HTTP call to ThingSpace.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Build(String),
    /// ThingSpace answered with one of its error shapes.
    #[error("{0}")]
    Api(ApiError),
    /// An answer the client could not understand: an error page, an empty body, garbage, or a success answer without
    /// the field it must carry.
    #[error("HTTP {status} with an unexpected {what} (content type {content_type}){}", excerpt_suffix(.excerpt))]
    UnexpectedBody {
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` the server sent, or `none`.
        content_type: String,
        /// What was wrong: `empty body`, `body that is not JSON`, `JSON body without newPassword`...
        what: String,
        /// A short sanitised excerpt of an error page. Never set for a 2xx answer, which could hold a secret.
        excerpt: Option<String>,
    },
    /// The request failed on the wire.
    #[error("{}", describe_transport(.0))]
    Transport(TransportError),
    /// The provider was asked to stop while this call was waiting.
    #[error("cancelled because the provider was asked to stop")]
    Cancelled,
}

fn excerpt_suffix(excerpt: &Option<String>) -> String {
    match excerpt {
        Some(e) if !e.is_empty() => format!(": \"{e}\""),
        _ => String::new(),
    }
}

fn describe_transport(t: &TransportError) -> String {
    let what = match (t.timed_out, t.cause) {
        (true, _) if !t.maybe_sent => {
            "could not connect within request_timeout (no answer to the connection attempt: a firewall that drops \
             packets, or a wrong host or port)"
                .to_owned()
        }
        (true, _) => "no answer within request_timeout".to_owned(),
        (false, NetCause::NameNotFound) => "could not connect: the host name does not resolve".to_owned(),
        (false, NetCause::Refused) if t.route.proxy.is_some() => {
            "could not connect: the connection was refused (by the proxy, or by what it connects to)".to_owned()
        }
        (false, NetCause::Refused) => {
            "could not connect: the connection was refused (nothing listens at that address and port)".to_owned()
        }
        (false, NetCause::Tls) => "could not connect: the TLS handshake failed (an https base_url pointing at a port that speaks plain \
                                   http fails this way)"
            .to_owned(),
        (false, NetCause::Certificate) => "could not connect: the server's TLS certificate is not trusted (behind a TLS-inspecting \
                                           proxy or gateway, set ca_file or THINGSPACE_CA_FILE to its CA bundle)"
            .to_owned(),
        (false, NetCause::Connect) => "could not connect".to_owned(),
        (false, NetCause::AfterConnect) => "the connection failed before a complete answer".to_owned(),
    };
    let mut text = format!("{what} ({}); base URL {}", t.detail, t.route);
    if t.attempts > 0 {
        let plural = if t.attempts == 1 { "" } else { "s" };
        text.push_str(&format!(
            "; {} attempt{plural} over {:.1} s",
            t.attempts,
            t.elapsed.as_secs_f64()
        ));
        if !t.timed_out && t.cause.is_permanent() {
            text.push_str(", not retried because a retry fails the same way");
        }
    }
    text
}

impl Error {
    /// The API error, when ThingSpace answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::UnexpectedBody { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Turns a non-success answer into an [`Error`]: the typed [`ApiError`] when the body has one of the three shapes,
/// otherwise [`Error::UnexpectedBody`] with a short excerpt. `secrets` are scrubbed from every string taken from the
/// body, in case a server echoes one back.
pub fn parse_error_body(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    secrets: &[&str],
) -> Error {
    if let Some(api) = parse_api_error(status, body) {
        return Error::Api(ApiError {
            status,
            code: clean(&api.code, secrets, CODE_CHARS),
            message: clean(&api.message, secrets, MESSAGE_CHARS),
            shape: api.shape,
        });
    }
    let what = if body.iter().all(u8::is_ascii_whitespace) {
        "empty body"
    } else if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "JSON body that is none of ThingSpace's error shapes"
    } else {
        "body that is not JSON"
    };
    let excerpt = if (200..300).contains(&status) {
        None
    } else {
        // Scrub the whole body before cutting it, so no cut can leave part of a secret's encoding behind; then check
        // what is shown, in case tag stripping or folded white space joined an echo together.
        let scrubbed = replace_encodings(&String::from_utf8_lossy(body), secrets);
        let shown = excerpt(prefix(&scrubbed, 4096).as_bytes());
        Some(checked(shown, secrets)).filter(|e| !e.is_empty())
    };
    Error::UnexpectedBody {
        status,
        content_type: clean(content_type.unwrap_or("none"), secrets, 80),
        what: what.to_owned(),
        excerpt,
    }
}

/// Recognises the three documented error shapes. The code loses its `UnifiedWebService.` prefix.
fn parse_api_error(status: u16, body: &[u8]) -> Option<ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    let text = |v: Option<&serde_json::Value>| -> String {
        match v {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    if let Some(code) = obj
        .get("errorCode")
        .filter(|c| c.is_string() || c.is_number())
    {
        let code = text(Some(code));
        return Some(ApiError {
            status,
            code: code
                .strip_prefix(SERVICE_PREFIX)
                .unwrap_or(&code)
                .to_owned(),
            message: text(obj.get("errorMessage")),
            shape: ErrorShape::M2m,
        });
    }
    if let Some(fault) = obj.get("fault").and_then(|f| f.as_object()) {
        let message = text(fault.get("message"));
        let description = text(fault.get("description"));
        let message = match (message.is_empty(), description.is_empty()) {
            (_, true) => message,
            (true, false) => description,
            (false, false) if description.contains(&message) => description,
            (false, false) => format!("{message} ({description})"),
        };
        return Some(ApiError {
            status,
            code: text(fault.get("code")),
            message,
            shape: ErrorShape::Gateway,
        });
    }
    if let Some(error) = obj.get("error").filter(|e| e.is_string()) {
        return Some(ApiError {
            status,
            code: text(Some(error)),
            message: text(obj.get("error_description")),
            shape: ErrorShape::OAuth,
        });
    }
    None
}

/// A short, single-line, printable excerpt of an unreadable body. HTML tags are dropped so an error page shows its
/// words ("502 Bad Gateway") rather than its markup.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
    }
    let out = out.trim();
    if out.chars().count() > EXCERPT_CHARS {
        let cut: String = out.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else {
        out.to_owned()
    }
}

/// The most characters of an error code a message quotes.
const CODE_CHARS: usize = 100;
/// The most characters of an error message a message quotes.
const MESSAGE_CHARS: usize = 500;

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
/// [`excerpt`] fold it, shows up in it once decoded.
fn checked(shown: String, secrets: &[&str]) -> String {
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
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// An invalid `base_url`.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum BaseUrlError {
    /// Not a URL at all.
    #[error("base_url is not a valid URL: {0}")]
    Invalid(String),
    /// Not `https` (or `http` to a loopback host).
    #[error(
        "base_url must use https (plain http is only allowed to a loopback host such as 127.0.0.1, ::1 or localhost, \
         for an emulator); got scheme \"{scheme}\" with host \"{host}\""
    )]
    Insecure {
        /// The URL's scheme.
        scheme: String,
        /// The URL's host.
        host: String,
    },
    /// No host.
    #[error("base_url must name a host, such as https://thingspace.verizon.com")]
    NoHost,
    /// A user name or password in the URL: credentials belong in client_id / client_secret, and a URL ends up in
    /// error messages.
    #[error("base_url must not contain a user name or password; use client_id and client_secret")]
    Credentials,
    /// A query or fragment, which the API paths appended to base_url would silently drop.
    #[error("base_url must not contain a query (?...) or fragment (#...)")]
    QueryOrFragment,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(status: u16, ct: Option<&str>, body: &str) -> Error {
        parse_error_body(status, ct, body.as_bytes(), &[])
    }

    #[test]
    fn m2m_shape_is_parsed_and_loses_its_service_prefix() {
        let e = parse(
            400,
            Some("application/json"),
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"The Session has expired."}"#,
        );
        let api = e.api().cloned().unwrap();
        assert_eq!(api.status, 400);
        assert_eq!(api.code, "REQUEST_FAILED.SessionToken.Expired");
        assert_eq!(api.message, "The Session has expired.");
        assert_eq!(api.shape, ErrorShape::M2m);
        assert!(api.has_code("REQUEST_FAILED.SessionToken.Expired"));
        assert_eq!(
            e.to_string(),
            "HTTP 400, code REQUEST_FAILED.SessionToken.Expired: The Session has expired."
        );
    }

    #[test]
    fn gateway_fault_with_string_or_numeric_code_is_parsed() {
        for body in [
            r#"{"fault":{"code":"900901","message":"Invalid Credentials","description":"Access failure. Make sure you have given the correct access token"}}"#,
            r#"{"fault":{"code":900901,"message":"Invalid Credentials","description":"Access failure. Make sure you have given the correct access token"}}"#,
        ] {
            let api = parse(401, None, body).api().cloned().unwrap();
            assert_eq!(api.code, "900901");
            assert_eq!(api.shape, ErrorShape::Gateway);
            assert_eq!(
                api.message,
                "Invalid Credentials (Access failure. Make sure you have given the correct access token)"
            );
        }
    }

    #[test]
    fn oauth_shape_is_parsed() {
        let api = parse(
            401,
            None,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        )
        .api()
        .cloned()
        .unwrap();
        assert_eq!(
            (api.code.as_str(), api.message.as_str(), api.shape),
            (
                "invalid_client",
                "Client authentication failed",
                ErrorShape::OAuth
            )
        );
    }

    #[test]
    fn html_error_page_gives_status_content_type_and_a_tag_free_excerpt() {
        let e = parse(
            502,
            Some("text/html"),
            "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>",
        );
        assert_eq!(
            e.to_string(),
            "HTTP 502 with an unexpected body that is not JSON (content type text/html): \"502 Bad Gateway Bad Gateway\""
        );
    }

    #[test]
    fn empty_and_garbage_bodies_say_what_came_back() {
        let e = parse(500, None, "");
        assert_eq!(
            e.to_string(),
            "HTTP 500 with an unexpected empty body (content type none)"
        );
        let e = parse_error_body(
            503,
            Some("application/octet-stream"),
            b"\x00\xff\x01garb\nage",
            &[],
        );
        let Error::UnexpectedBody { what, excerpt, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(what, "body that is not JSON");
        let excerpt = excerpt.clone().unwrap();
        assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
        assert!(excerpt.contains("garb age"), "{excerpt:?}");
        let e = parse(400, None, r#"{"something":"else"}"#);
        assert!(
            e.to_string()
                .contains("JSON body that is none of ThingSpace's error shapes"),
            "{e}"
        );
    }

    #[test]
    fn excerpts_are_short_and_never_taken_from_a_success_answer() {
        let long = "x".repeat(5000);
        let Error::UnexpectedBody { excerpt, .. } = parse(500, None, &long) else {
            panic!()
        };
        assert_eq!(excerpt.unwrap().chars().count(), EXCERPT_CHARS + 1);
        let Error::UnexpectedBody { excerpt, .. } = parse(200, None, "newPassword=Secret1") else {
            panic!()
        };
        assert_eq!(excerpt, None);
    }

    #[test]
    fn secrets_echoed_by_a_server_are_scrubbed() {
        let e = parse_error_body(
            400,
            None,
            br#"{"errorCode":"X","errorMessage":"bad password hunter2 for user"}"#,
            &["hunter2", ""],
        );
        assert_eq!(
            e.to_string(),
            "HTTP 400, code X: bad password [redacted] for user"
        );
        let e = parse_error_body(500, None, b"<p>token abc-secret</p>", &["abc-secret"]);
        assert!(!e.to_string().contains("abc-secret"), "{e}");
    }

    #[test]
    fn secrets_echoed_in_another_encoding_are_scrubbed() {
        use base64::Engine as _;
        let password = r#"pa"ss\w/rd"#;
        // JSON-escaped inside an M2M message, with and without `\/`.
        for escaped in [r#"pa\"ss\\w/rd"#, r#"pa\"ss\\w\/rd"#] {
            let body =
                format!(r#"{{"errorCode":"X","errorMessage":"bad password {escaped} here"}}"#);
            let e = parse_error_body(400, None, body.as_bytes(), &[password]);
            assert_eq!(
                e.to_string(),
                "HTTP 400, code X: bad password [redacted] here"
            );
        }
        // The Basic credentials echoed by a token endpoint.
        let basic = base64::engine::general_purpose::STANDARD.encode("app:s3cr3t-app");
        let body = format!(
            r#"{{"error":"invalid_client","error_description":"bad header Basic {basic}"}}"#
        );
        let e = parse_error_body(401, None, body.as_bytes(), &["s3cr3t-app", &basic]);
        assert_eq!(
            e.to_string(),
            "HTTP 401, code invalid_client: bad header Basic [redacted]"
        );
        // Without the client's own Basic value the decoded view still catches it, and drops the text.
        let e = parse_error_body(401, None, body.as_bytes(), &["s3cr3t-app"]);
        assert_eq!(
            e.to_string(),
            format!("HTTP 401, code invalid_client: {ECHOED}")
        );
        // HTML-escaped in an error page, and percent-encoded in a content type.
        let e = parse_error_body(
            502,
            Some("text/html; echo=pa%22ss%5Cw%2Frd"),
            b"<p>pa&quot;ss\\w/rd</p>",
            &[password],
        );
        let text = e.to_string();
        assert!(!text.contains(password), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
        // A mix no single variant covers: HTML entities for some characters, percent for others.
        let e = parse_error_body(
            400,
            None,
            br#"{"errorCode":"X","errorMessage":"pa&#34;ss%5Cw/rd"}"#,
            &[password],
        );
        assert_eq!(e.to_string(), format!("HTTP 400, code X: {ECHOED}"));
    }

    #[test]
    fn secrets_cut_by_the_excerpt_or_nested_in_others_leave_no_half_behind() {
        // The secret straddles the 120-character cut of the excerpt.
        let body = format!("{}SECRETVALUE12345 tail", "y".repeat(EXCERPT_CHARS - 5));
        let e = parse_error_body(
            502,
            Some("text/plain"),
            body.as_bytes(),
            &["SECRETVALUE12345"],
        );
        assert!(!e.to_string().contains("SECRE"), "{e}");
        // A short secret inside a longer one must not expose the longer one's remainder.
        let e = parse_error_body(
            400,
            None,
            br#"{"errorCode":"X","errorMessage":"token abc123-and-more"}"#,
            &["abc123", "abc123-and-more"],
        );
        assert_eq!(e.to_string(), "HTTP 400, code X: token [redacted]");
    }

    #[test]
    fn server_strings_are_bounded_single_line_and_scrubbed_everywhere() {
        let huge = "m".repeat(100_000);
        let body = format!(r#"{{"errorCode":"C\u001b[31m","errorMessage":"{huge}\nnext"}}"#);
        let api = parse(400, None, &body).api().cloned().unwrap();
        assert_eq!(api.message.chars().count(), MESSAGE_CHARS + 1);
        assert_eq!(api.code, "C [31m");
        let e = parse_error_body(500, Some("text/x-hunter2"), b"oops", &["hunter2"]);
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn code_matching_ignores_any_service_prefix_but_not_partial_words() {
        assert!(code_matches(
            "REQUEST_FAILED.SessionToken.Expired",
            "REQUEST_FAILED.SessionToken.Expired"
        ));
        assert!(code_matches(
            "Other.REQUEST_FAILED.SessionToken.Expired",
            "REQUEST_FAILED.SessionToken.Expired"
        ));
        assert!(!code_matches(
            "XREQUEST_FAILED.SessionToken.Expired",
            "REQUEST_FAILED.SessionToken.Expired"
        ));
        assert!(!code_matches("900902", "900901"));
    }

    #[test]
    fn transport_messages_say_what_failed_where_and_how_often() {
        use crate::thingspace::network::BaseUrlSource;
        use std::sync::Arc;
        let route = Arc::new(Route {
            base_url: "https://h.example".into(),
            source: BaseUrlSource::Attribute,
            proxy: None,
        });
        let t = |cause, maybe_sent, timed_out, attempts| {
            Error::Transport(TransportError {
                maybe_sent,
                timed_out,
                detail: "stack says".into(),
                cause,
                route: route.clone(),
                attempts,
                elapsed: Duration::from_millis(1250),
            })
            .to_string()
        };
        let refused = t(NetCause::Refused, false, false, 3);
        assert_eq!(
            refused,
            "could not connect: the connection was refused (nothing listens at that address and port) (stack says); \
             base URL https://h.example (from the base_url attribute); 3 attempts over 1.2 s"
        );
        let cert = t(NetCause::Certificate, false, false, 1);
        assert!(
            cert.contains("not trusted")
                && cert.ends_with(
                    "1 attempt over 1.2 s, not retried because a retry fails the same way"
                ),
            "{cert}"
        );
        let connect_timeout = t(NetCause::Connect, false, true, 1);
        assert!(
            connect_timeout.starts_with("could not connect within request_timeout"),
            "{connect_timeout}"
        );
        let read_timeout = t(NetCause::AfterConnect, true, true, 1);
        assert!(
            read_timeout.starts_with("no answer within request_timeout"),
            "{read_timeout}"
        );
        assert!(!read_timeout.contains("not retried"), "{read_timeout}");
        let dropped = t(NetCause::AfterConnect, true, false, 0);
        assert!(
            dropped.starts_with("the connection failed before a complete answer")
                && !dropped.contains("attempt"),
            "{dropped}"
        );
        let via_proxy = Error::Transport(TransportError {
            cause: NetCause::Refused,
            route: Arc::new(Route {
                proxy: Some(("http://proxy:3128".into(), "HTTPS_PROXY")),
                ..Route::clone(&route)
            }),
            ..TransportError::default()
        })
        .to_string();
        assert!(
            via_proxy.contains("refused (by the proxy, or by what it connects to)")
                && via_proxy.contains("through the proxy http://proxy:3128 (from HTTPS_PROXY)"),
            "{via_proxy}"
        );
    }
}
