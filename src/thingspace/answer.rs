//! Reading ThingSpace's answers: the secret a success answer must carry (access token, session token, new
//! password) as a ready header or a `SecretString`, or the error that says what was wrong with it, without ever
//! quoting a success body; and an error answer as the typed [`Error`] (any of the three error shapes, or a short
//! scrubbed excerpt). [`parse_answer`] is the same reading as one entry point, for the fuzz target and the property
//! tests.

use reqwest::header::HeaderValue;
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use super::endpoints::Call;
use super::error::{ApiError, Error, ErrorShape};
use super::models::{LoginResponse, ResetResponse, TokenResponse};
use super::redact::{checked, clean, prefix, replace_encodings};

/// Reads one complete answer exactly as the client does: an error status becomes its [`Error`] (see
/// [`parse_error_body`], with `secrets` scrubbed), and a success status yields the secret the answer must carry (the
/// access token, the session token or the new password; nothing for a log-out), or [`Error::UnexpectedBody`] when it
/// does not carry a usable one. The rotation flow uses the same functions; this entry point exists for fuzzing and
/// property tests of hostile answers.
pub fn parse_answer(
    kind: Call,
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
        Call::Token => {
            let parsed: TokenResponse = success_body(status, content_type, body, "access_token")?;
            let (header, _) = bearer_header(parsed, status, content_type)?;
            Ok(Some(SecretString::from(header_text(&header).to_owned())))
        }
        Call::Login => {
            let parsed: LoginResponse = success_body(status, content_type, body, "sessionToken")?;
            let header = session_header(parsed, status, content_type)?;
            Ok(Some(SecretString::from(header_text(&header).to_owned())))
        }
        Call::Reset => {
            let parsed: ResetResponse = success_body(status, content_type, body, "newPassword")?;
            new_password(parsed, status, content_type, secrets).map(Some)
        }
        Call::Logout => Ok(None),
    }
}

/// The prefix Verizon puts in front of M2M error codes. Codes are shown and matched without it.
const SERVICE_PREFIX: &str = "UnifiedWebService.";

/// How many characters of an unreadable error page an error message may quote.
const EXCERPT_CHARS: usize = 120;

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
