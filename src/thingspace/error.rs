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

    /// Whether this answer says the user is locked. ThingSpace documents no code for it (nor for a wrong password);
    /// the emulator answers `REQUEST_FAILED.Login.UserLocked`, so any M2M code with a dot-separated part that ends in
    /// "locked" (any case) counts, and the message is never read (Verizon says to match codes, not messages).
    pub fn is_user_locked(&self) -> bool {
        self.shape == ErrorShape::M2m
            && self
                .code
                .split('.')
                .any(|part| part.to_ascii_lowercase().ends_with("locked"))
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
mod tests;
