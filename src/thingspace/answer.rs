//! Reading ThingSpace's answers: the secret a success answer must carry (access token, session token, new
//! password) as a ready header or a `SecretString`, or the error that says what was wrong with it, without ever
//! quoting a success body. [`parse_answer`] is the same reading as one entry point, for the fuzz target and the
//! property tests.

use reqwest::header::HeaderValue;
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use super::error::{Error, clean, parse_error_body};
use super::models::{LoginResponse, ResetResponse, TokenResponse};

/// Which of ThingSpace's answers a body is read as, for [`parse_answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// The OAuth token answer, carrying `access_token`.
    Token,
    /// The session log-in answer, carrying `sessionToken`.
    Login,
    /// The password reset answer, carrying `newPassword`.
    Reset,
    /// The log-out answer, whose body does not matter.
    Logout,
}

/// Reads one complete answer exactly as the client does: an error status becomes its [`Error`] (see
/// [`parse_error_body`], with `secrets` scrubbed), and a success status yields the secret the answer must carry (the
/// access token, the session token or the new password; nothing for a log-out), or [`Error::UnexpectedBody`] when it
/// does not carry a usable one. The rotation flow uses the same functions; this entry point exists for fuzzing and
/// property tests of hostile answers.
pub fn parse_answer(
    kind: AnswerKind,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    secrets: &[&str],
) -> Result<Option<SecretString>, Error> {
    if !(200..300).contains(&status) {
        return Err(parse_error_body(status, content_type, body, secrets));
    }
    // A message about a success answer shows its content type, never its body; scrub the former too.
    let shown = content_type.map(|ct| clean(ct, secrets, 80));
    let content_type = shown.as_deref();
    match kind {
        AnswerKind::Token => {
            let parsed: TokenResponse = success_body(status, content_type, body, "access_token")?;
            let (header, _) = bearer_header(parsed, status, content_type)?;
            Ok(Some(SecretString::from(header_text(&header).to_owned())))
        }
        AnswerKind::Login => {
            let parsed: LoginResponse = success_body(status, content_type, body, "sessionToken")?;
            let header = session_header(parsed, status, content_type)?;
            Ok(Some(SecretString::from(header_text(&header).to_owned())))
        }
        AnswerKind::Reset => {
            let parsed: ResetResponse = success_body(status, content_type, body, "newPassword")?;
            new_password(parsed, status, content_type, secrets).map(Some)
        }
        AnswerKind::Logout => Ok(None),
    }
}

/// Parses a success answer's body into `T`. The error never quotes the body: a success answer may hold a token or a
/// password.
pub(super) fn success_body<T: DeserializeOwned>(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    field: &str,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let what = if body.iter().all(u8::is_ascii_whitespace) {
            "empty body".to_owned()
        } else if e.is_data() {
            format!("JSON body without a usable {field}")
        } else {
            "body that is not JSON".to_owned()
        };
        unusable(status, content_type, what)
    })
}

/// An answer with a success status that lacks what it must carry.
fn unusable(status: u16, content_type: Option<&str>, what: String) -> Error {
    Error::UnexpectedBody {
        status,
        content_type: content_type_of(content_type),
        what,
        excerpt: None,
    }
}

/// The token answer as a ready, sensitive `Authorization` header, and the lifetime it announced.
pub(super) fn bearer_header(
    parsed: TokenResponse,
    status: u16,
    content_type: Option<&str>,
) -> Result<(HeaderValue, Option<u64>), Error> {
    let expires_in = parsed.expires_in();
    // An empty token would make a header the gateway can only reject.
    let header = Some(&parsed.access_token)
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| sensitive_header(&format!("Bearer {t}")))
        .ok_or_else(|| {
            unusable(
                status,
                content_type,
                "access_token that is not a valid header value".to_owned(),
            )
        })?;
    Ok((header, expires_in))
}

/// The log-in answer as a ready, sensitive `VZ-M2M-Token` header.
pub(super) fn session_header(
    parsed: LoginResponse,
    status: u16,
    content_type: Option<&str>,
) -> Result<HeaderValue, Error> {
    Some(&parsed.session_token)
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| sensitive_header(t))
        .ok_or_else(|| {
            unusable(
                status,
                content_type,
                "sessionToken that is not a valid header value".to_owned(),
            )
        })
}

/// The reset answer's new password, when it can be one. `in_play` are the secrets the reset was sent with (the old
/// password first, the tokens, the client secret): a `newPassword` equal to one of them is no new password.
///
/// An answer that cannot be the new password (absent, empty, only white space, holding control characters, or equal
/// to the old password) is [`Error::UnexpectedBody`] with a success status: the reset was processed and its real
/// outcome is unknown, so it is judged like any garbled answer to a reset (it may have taken effect), and nothing of
/// it is stored as the password.
pub(super) fn new_password(
    parsed: ResetResponse,
    status: u16,
    content_type: Option<&str>,
    in_play: &[&str],
) -> Result<SecretString, Error> {
    let problem = match parsed.new_password.as_deref() {
        None => "JSON body without newPassword",
        Some(p) if p.trim().is_empty() => "newPassword that is empty or only white space",
        Some(p) if p.chars().any(char::is_control) => "newPassword with control characters",
        Some(p) if in_play.contains(&p) => {
            "newPassword equal to the old password (or another secret in play)"
        }
        Some(p) => return Ok(SecretString::from(p.to_owned())),
    };
    Err(unusable(status, content_type, problem.to_owned()))
}

fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// A header's secret part, for scrubbing echoes from error messages.
pub(super) fn header_text(header: &HeaderValue) -> &str {
    let text = header.to_str().unwrap_or("");
    text.strip_prefix("Bearer ").unwrap_or(text)
}

/// The `Content-Type` for a message: `none` when absent, and never longer than a line's worth.
fn content_type_of(content_type: Option<&str>) -> String {
    content_type.unwrap_or("none").chars().take(80).collect()
}
