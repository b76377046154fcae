//! The error of one HTTP call to ThingSpace, as types: the typed API error (any of the three error shapes), a
//! failure on the wire, an answer that could not be read. Reading an error answer into these is `answer`'s; the
//! failure of a whole rotation, with its diagnostic text, is `rotate_error`'s.
//!
//! Every string these hold may reach a diagnostic or a log line, so none of them ever holds a request body, and
//! response excerpts are short, sanitised, never taken from a 2xx answer, and scrubbed of the secrets in play.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::network::{NetCause, Route};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
