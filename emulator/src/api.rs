//! The emulated ThingSpace API: routing, header and body checks, and the three error shapes.
//!
//! `handle` turns one already-read request into an answer by driving the `State` machine. It
//! knows nothing about sockets or faults, so it is tested with plain values.
//!
//! Error codes. ThingSpace documents the session codes; it documents none for a wrong password,
//! a locked user or a wrong `oldPassword`, so the emulator uses codes of its own, all answered
//! with HTTP 400 and the `UnifiedWebService.` prefix, as the documented codes are:
//! - `REQUEST_FAILED.Login.InvalidCredentials`: log-in with a wrong password or an unknown user
//!   (the same answer for both, so a caller can't probe which users exist);
//! - `REQUEST_FAILED.Login.UserLocked`: log-in of a locked user, whatever the password;
//! - `INPUT_INVALID.OldPassword.Invalid`: a reset whose `oldPassword` is not the current one;
//! - `INPUT_INVALID.RequestBody.Invalid`: a JSON body that doesn't parse or lacks a field;
//! - `INPUT_INVALID.ContentType.Invalid`: a JSON endpoint called without `application/json`.
//!
//! Gateway faults carry `code` as a string (`"900901"`), as in Verizon's published example
//! of an expired bearer token.

use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use crate::model::Outcome;
use crate::paths::{LOGIN_PATH, LOGOUT_PATH, RESET_PATH, REVOKE_PATH, TOKEN_PATH};
use crate::reply::Reply;
use crate::state::{BearerError, LoginError, ResetError, SessionError, State};

pub const CODE_LOGIN_INVALID: &str = "UnifiedWebService.REQUEST_FAILED.Login.InvalidCredentials";
pub const CODE_LOGIN_LOCKED: &str = "UnifiedWebService.REQUEST_FAILED.Login.UserLocked";
pub const CODE_OLD_PASSWORD: &str = "UnifiedWebService.INPUT_INVALID.OldPassword.Invalid";
pub const CODE_BAD_BODY: &str = "UnifiedWebService.INPUT_INVALID.RequestBody.Invalid";
pub const CODE_BAD_CONTENT_TYPE: &str = "UnifiedWebService.INPUT_INVALID.ContentType.Invalid";
pub const CODE_SESSION_FORMAT: &str = "UnifiedWebService.REQUEST_FAILED.SessionToken.Format";
pub const CODE_SESSION_INVALID: &str = "UnifiedWebService.INPUT_INVALID.SessionToken.Invalid";
pub const CODE_SESSION_EXPIRED: &str = "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired";

/// The session header ThingSpace reads.
pub const SESSION_HEADER: &str = "vz-m2m-token";

/// One request, body already read.
#[derive(Debug)]
pub struct ApiRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Under a `refuse` fault: the credential the endpoint checks is taken as wrong.
    pub refuse: bool,
}

/// What the request did, for the request log.
#[derive(Debug)]
pub struct Handled {
    pub reply: Reply,
    pub username: Option<String>,
    pub outcome: Outcome,
    pub effect: bool,
}

impl Handled {
    fn error(reply: Reply, username: Option<String>) -> Self {
        Self {
            reply,
            username,
            outcome: Outcome::Error,
            effect: false,
        }
    }
}

type Handler = fn(&mut State, u64, &ApiRequest<'_>) -> Handled;

/// Serves one API request against the state at emulator time `now`.
pub fn handle(state: &mut State, now: u64, req: &ApiRequest<'_>) -> Handled {
    let (allowed, handler): (Method, Handler) = match req.path {
        TOKEN_PATH => (Method::POST, token),
        REVOKE_PATH => (Method::POST, revoke),
        LOGIN_PATH => (Method::POST, login),
        RESET_PATH => (Method::PUT, reset),
        LOGOUT_PATH => (Method::POST, logout),
        _ => {
            return Handled::error(
                gateway_fault(
                    StatusCode::NOT_FOUND,
                    "900906",
                    "No matching resource found for given API Request",
                    "The requested resource is not available.",
                ),
                None,
            );
        }
    };
    if *req.method != allowed {
        let mut reply = gateway_fault(
            StatusCode::METHOD_NOT_ALLOWED,
            "405",
            "Method not allowed for given API resource",
            "The method is not allowed for the requested resource.",
        );
        if let Ok(v) = HeaderValue::from_str(allowed.as_str()) {
            reply.headers.push((header::ALLOW, v));
        }
        return Handled::error(reply, None);
    }
    handler(state, now, req)
}

// ---- OAuth ----

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

fn invalid_client() -> Reply {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client Authentication failed.",
    )
    .with_header(header::WWW_AUTHENTICATE, "Basic realm=\"thingspace\"")
}

/// The app key and secret from `Authorization: Basic`, if the header is well formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// Checks client authentication and the form body shared by the token and revoke endpoints.
fn oauth_form(
    state: &State,
    req: &ApiRequest<'_>,
) -> Result<(String, Vec<(String, String)>), Reply> {
    let Some((client_id, secret)) = basic_credentials(req.headers) else {
        return Err(invalid_client());
    };
    if req.refuse || !state.client_secret_matches(&client_id, &secret) {
        return Err(invalid_client());
    }
    if !has_content_type(req.headers, "application/x-www-form-urlencoded") {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        ));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match form.iter().find(|(k, _)| k == "grant_type") {
        None => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant_type parameter value.",
        )),
        Some((_, g)) if g != "client_credentials" => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type value.",
        )),
        Some(_) => Ok((client_id, form)),
    }
}

fn token(state: &mut State, now: u64, req: &ApiRequest<'_>) -> Handled {
    let (client_id, form) = match oauth_form(state, req) {
        Ok(v) => v,
        Err(reply) => return Handled::error(reply, None),
    };
    let scope = form
        .iter()
        .find(|(k, _)| k == "scope")
        .map_or("default", |(_, v)| v.as_str())
        .to_owned();
    let issued = state.issue_token(&client_id, now);
    Handled {
        reply: Reply::json(
            StatusCode::OK,
            &json!({
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": scope,
            }),
        ),
        username: None,
        outcome: Outcome::Ok,
        effect: issued.minted,
    }
}

fn revoke(state: &mut State, _now: u64, req: &ApiRequest<'_>) -> Handled {
    let (client_id, form) = match oauth_form(state, req) {
        Ok(v) => v,
        Err(reply) => return Handled::error(reply, None),
    };
    let Some((_, token)) = form.iter().find(|(k, _)| k == "token") else {
        return Handled::error(
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing token parameter value.",
            ),
            None,
        );
    };
    // RFC 7009: an unknown token is not an error.
    let revoked = state.revoke_token(&client_id, token);
    Handled {
        reply: Reply::json(StatusCode::OK, &json!({})),
        username: None,
        outcome: Outcome::Ok,
        effect: revoked,
    }
}

// ---- M2M ----

/// The API gateway's error shape.
fn gateway_fault(status: StatusCode, code: &str, message: &str, description: &str) -> Reply {
    Reply::json(
        status,
        &json!({ "fault": { "code": code, "message": message, "description": description } }),
    )
}

/// The M2M services' error shape, always HTTP 400 as ThingSpace answers them in practice.
fn m2m_error(code: &str, message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({ "errorCode": code, "errorMessage": message }),
    )
}

fn check_bearer(state: &State, now: u64, req: &ApiRequest<'_>) -> Result<(), Reply> {
    let auth = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state.check_bearer(auth, now).map_err(|e| match e {
        BearerError::Missing => gateway_fault(
            StatusCode::UNAUTHORIZED,
            "900902",
            "Missing Credentials",
            "Required OAuth credentials not provided. Make sure your API invocation call has a header: 'Authorization: Bearer ACCESS_TOKEN'",
        ),
        BearerError::Invalid => gateway_fault(
            StatusCode::UNAUTHORIZED,
            "900901",
            "Invalid Credentials",
            "Access failure for API: /api/m2m, version: v1. Make sure you have given the correct access token",
        ),
    })
}

/// The session header's value, raw (a non-UTF-8 value is treated as not a GUID).
fn session_header<'a>(req: &'a ApiRequest<'_>) -> Option<&'a str> {
    req.headers
        .get(SESSION_HEADER)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// The session's user, or the error answer plus the user of an ended session (for the log).
fn use_session(
    state: &mut State,
    now: u64,
    req: &ApiRequest<'_>,
) -> Result<String, (Reply, Option<String>)> {
    state.use_session(session_header(req), now).map_err(|e| {
        let reply = match e {
            SessionError::Missing => m2m_error(
                CODE_SESSION_FORMAT,
                "The session token is missing or has the wrong format.",
            ),
            SessionError::NotGuid => {
                m2m_error(CODE_SESSION_INVALID, "The session token is invalid.")
            }
            SessionError::Expired => m2m_error(CODE_SESSION_EXPIRED, "The Session has expired."),
        };
        (reply, state.ended_session_user(session_header(req)))
    })
}

fn json_body<T: for<'de> Deserialize<'de>>(req: &ApiRequest<'_>) -> Result<T, Reply> {
    if !has_content_type(req.headers, "application/json") {
        return Err(m2m_error(
            CODE_BAD_CONTENT_TYPE,
            "Content-Type must be application/json.",
        ));
    }
    serde_json::from_slice(req.body).map_err(|_| {
        m2m_error(
            CODE_BAD_BODY,
            "The request body is not valid JSON for this operation.",
        )
    })
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

fn login(state: &mut State, now: u64, req: &ApiRequest<'_>) -> Handled {
    if let Err(reply) = check_bearer(state, now, req) {
        return Handled::error(reply, None);
    }
    let body: LoginBody = match json_body(req) {
        Ok(b) => b,
        Err(reply) => return Handled::error(reply, None),
    };
    let username = Some(body.username.clone());
    let result = if req.refuse {
        Err(state.refuse_login(&body.username, &body.password, now))
    } else {
        state.login(&body.username, &body.password, now)
    };
    match result {
        Ok(session) => Handled {
            reply: Reply::json(StatusCode::OK, &json!({ "sessionToken": session })),
            username,
            outcome: Outcome::Ok,
            effect: true,
        },
        Err(LoginError::InvalidCredentials) => Handled {
            reply: m2m_error(
                CODE_LOGIN_INVALID,
                "Login failed: the username or password is incorrect.",
            ),
            username,
            outcome: Outcome::FailedLogin,
            effect: false,
        },
        Err(LoginError::Locked) => Handled {
            reply: m2m_error(
                CODE_LOGIN_LOCKED,
                "Login failed: the user is locked after too many failed log-in attempts. Contact Verizon support to unlock it.",
            ),
            username,
            outcome: Outcome::Locked,
            effect: false,
        },
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    old_password: String,
}

fn reset(state: &mut State, now: u64, req: &ApiRequest<'_>) -> Handled {
    if let Err(reply) = check_bearer(state, now, req) {
        return Handled::error(reply, None);
    }
    let username = match use_session(state, now, req) {
        Ok(u) => u,
        Err((reply, user)) => return Handled::error(reply, user),
    };
    let body: ResetBody = match json_body(req) {
        Ok(b) => b,
        Err(reply) => return Handled::error(reply, Some(username)),
    };
    let result = if req.refuse {
        Err(ResetError::WrongOldPassword)
    } else {
        state.reset_password(&username, &body.old_password)
    };
    match result {
        Ok(new_password) => Handled {
            reply: Reply::json(StatusCode::OK, &json!({ "newPassword": new_password })),
            username: Some(username),
            outcome: Outcome::Ok,
            effect: true,
        },
        Err(ResetError::WrongOldPassword) => Handled::error(
            m2m_error(CODE_OLD_PASSWORD, "The old password is incorrect."),
            Some(username),
        ),
    }
}

fn logout(state: &mut State, now: u64, req: &ApiRequest<'_>) -> Handled {
    if let Err(reply) = check_bearer(state, now, req) {
        return Handled::error(reply, None);
    }
    let username = match use_session(state, now, req) {
        Ok(u) => u,
        Err((reply, user)) => return Handled::error(reply, user),
    };
    if req.refuse {
        // The only refusal a log-out gets; the session stays alive.
        return Handled::error(
            m2m_error(CODE_SESSION_EXPIRED, "The Session has expired."),
            Some(username),
        );
    }
    let token = session_header(req).unwrap_or_default().trim().to_owned();
    state.logout(&token);
    Handled {
        reply: Reply::json(StatusCode::OK, &json!({ "sessionToken": token })),
        username: Some(username),
        outcome: Outcome::Ok,
        effect: true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
