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
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use crate::model::Outcome;
use crate::paths::{LOGIN_PATH, LOGOUT_PATH, RESET_PATH, REVOKE_PATH, TOKEN_PATH};
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
}

/// An HTTP answer, independent of hyper.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: value.to_string().into_bytes(),
        }
    }

    fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }
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
    if !state.client_secret_matches(&client_id, &secret) {
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
    match state.login(&body.username, &body.password, now) {
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
    match state.reset_password(&username, &body.old_password) {
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
mod tests {
    use super::*;
    use serde_json::Value;

    struct Fixture {
        state: State,
        now: u64,
    }

    fn basic(id: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                state: State::new(
                    &[("app".into(), "secret".into())],
                    &[("alice".into(), "pw-alice".into())],
                ),
                now: 1_000_000,
            }
        }

        fn call(
            &mut self,
            method: Method,
            path: &str,
            headers: &[(&str, &str)],
            body: &str,
        ) -> (Handled, Value) {
            let mut map = HeaderMap::new();
            for (k, v) in headers {
                map.append(
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            let req = ApiRequest {
                method: &method,
                path,
                headers: &map,
                body: body.as_bytes(),
            };
            let handled = handle(&mut self.state, self.now, &req);
            let value = serde_json::from_slice(&handled.reply.body).unwrap();
            (handled, value)
        }

        fn token(&mut self) -> String {
            let auth = basic("app", "secret");
            let (h, v) = self.call(
                Method::POST,
                TOKEN_PATH,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                "grant_type=client_credentials",
            );
            assert_eq!(h.reply.status, StatusCode::OK);
            v["access_token"].as_str().unwrap().to_owned()
        }

        fn login(&mut self, user: &str, pw: &str) -> (Handled, Value) {
            let bearer = format!("Bearer {}", self.token());
            let body = json!({"username": user, "password": pw}).to_string();
            self.call(
                Method::POST,
                LOGIN_PATH,
                &[
                    ("authorization", &bearer),
                    ("content-type", "application/json"),
                ],
                &body,
            )
        }

        fn reset(&mut self, session: &str, old: &str) -> (Handled, Value) {
            let bearer = format!("Bearer {}", self.token());
            let body = json!({"oldPassword": old}).to_string();
            self.call(
                Method::PUT,
                RESET_PATH,
                &[
                    ("authorization", &bearer),
                    ("vz-m2m-token", session),
                    ("content-type", "application/json; charset=utf-8"),
                ],
                &body,
            )
        }
    }

    #[test]
    fn token_endpoint_returns_the_same_token_within_the_hour() {
        let mut f = Fixture::new();
        let auth = basic("app", "secret");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let (h1, v1) = f.call(
            Method::POST,
            TOKEN_PATH,
            &headers,
            "grant_type=client_credentials&scope=a%20b",
        );
        assert!(h1.effect);
        assert_eq!(v1["token_type"], "Bearer");
        assert_eq!(v1["expires_in"], 3600);
        assert_eq!(v1["scope"], "a b");
        f.now += 10_000;
        let (h2, v2) = f.call(
            Method::POST,
            TOKEN_PATH,
            &headers,
            "grant_type=client_credentials",
        );
        assert!(!h2.effect);
        assert_eq!(v2["access_token"], v1["access_token"]);
        assert_eq!(v2["expires_in"], 3590);
    }

    #[test]
    fn token_endpoint_errors_are_oauth_shaped() {
        let mut f = Fixture::new();
        let form = ("content-type", "application/x-www-form-urlencoded");
        let good = basic("app", "secret");
        let wrong = basic("app", "nope");
        // (headers, body, expected status, expected OAuth error)
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, StatusCode, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (
                vec![form],
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                vec![("authorization", &wrong), form],
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                vec![("authorization", "Basic !!!"), form],
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                vec![("authorization", &good), form],
                "grant_type=password",
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            ),
            (
                vec![("authorization", &good), form],
                "",
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
            (
                vec![
                    ("authorization", &good),
                    ("content-type", "application/json"),
                ],
                "{}",
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
        ];
        for (headers, body, status, error) in cases {
            let (h, v) = f.call(Method::POST, TOKEN_PATH, &headers, body);
            assert_eq!(h.reply.status, status, "{headers:?} {body}");
            assert_eq!(v["error"], error, "{headers:?} {body}");
            assert!(v["error_description"].is_string());
            assert!(!h.effect);
        }
        assert_eq!(f.state.stats(), Default::default());
    }

    #[test]
    fn m2m_calls_need_a_valid_bearer_token() {
        let mut f = Fixture::new();
        let (h, v) = f.call(
            Method::POST,
            LOGIN_PATH,
            &[("content-type", "application/json")],
            "{}",
        );
        assert_eq!(h.reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(v["fault"]["code"], "900902");
        assert_eq!(v["fault"]["message"], "Missing Credentials");

        let (h, v) = f.call(
            Method::POST,
            LOGIN_PATH,
            &[
                ("authorization", "Bearer stale"),
                ("content-type", "application/json"),
            ],
            r#"{"username":"alice","password":"pw-alice"}"#,
        );
        assert_eq!(h.reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(v["fault"]["code"], "900901");
        // A gateway refusal never reaches the user: no log-in was counted.
        assert_eq!(f.state.user_view("alice").unwrap().successful_logins, 0);
    }

    #[test]
    fn login_reset_logout_flow() {
        let mut f = Fixture::new();
        let (h, v) = f.login("alice", "pw-alice");
        assert_eq!(h.reply.status, StatusCode::OK);
        assert_eq!((h.outcome, h.effect), (Outcome::Ok, true));
        assert_eq!(h.username.as_deref(), Some("alice"));
        let session = v["sessionToken"].as_str().unwrap().to_owned();

        let (h, v) = f.reset(&session, "pw-alice");
        assert_eq!(h.reply.status, StatusCode::OK);
        assert!(h.effect);
        let new = v["newPassword"].as_str().unwrap().to_owned();
        assert_eq!(f.state.user_view("alice").unwrap().password, new);

        let (h, v) = f.reset(&session, "pw-alice");
        assert_eq!(h.reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(v["errorCode"], CODE_OLD_PASSWORD);
        assert!(!h.effect);

        let bearer = format!("Bearer {}", f.token());
        let (h, v) = f.call(
            Method::POST,
            LOGOUT_PATH,
            &[("authorization", &bearer), ("vz-m2m-token", &session)],
            "",
        );
        assert_eq!(h.reply.status, StatusCode::OK);
        assert_eq!(v["sessionToken"], session.as_str());
        assert_eq!(f.state.user_view("alice").unwrap().logouts, 1);

        let (_, v) = f.reset(&session, &new);
        assert_eq!(v["errorCode"], CODE_SESSION_EXPIRED);
        assert_eq!(v["errorMessage"], "The Session has expired.");
    }

    #[test]
    fn session_header_errors_use_the_documented_codes() {
        let mut f = Fixture::new();
        let bearer = format!("Bearer {}", f.token());
        let body = r#"{"oldPassword":"pw-alice"}"#;
        let (h, v) = f.call(
            Method::PUT,
            RESET_PATH,
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            body,
        );
        assert_eq!(h.reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(v["errorCode"], CODE_SESSION_FORMAT);
        let (_, v) = f.reset("12345", "pw-alice");
        assert_eq!(v["errorCode"], CODE_SESSION_INVALID);

        let (_, v) = f.login("alice", "pw-alice");
        let session = v["sessionToken"].as_str().unwrap().to_owned();
        f.now += 20 * 60 * 1000 + 1;
        let (h, v) = f.reset(&session, "pw-alice");
        assert_eq!(h.reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(v["errorCode"], CODE_SESSION_EXPIRED);
        assert_eq!(h.username.as_deref(), Some("alice"));
        assert_eq!(f.state.user_view("alice").unwrap().resets, 0);
    }

    #[test]
    fn failed_and_locked_logins_have_distinct_codes() {
        let mut f = Fixture::new();
        for _ in 0..5 {
            let (h, v) = f.login("alice", "wrong");
            assert_eq!(h.reply.status, StatusCode::BAD_REQUEST);
            assert_eq!(h.outcome, Outcome::FailedLogin);
            assert_eq!(v["errorCode"], CODE_LOGIN_INVALID);
        }
        let (h, v) = f.login("alice", "pw-alice");
        assert_eq!(h.outcome, Outcome::Locked);
        assert_eq!(v["errorCode"], CODE_LOGIN_LOCKED);

        let (h, v) = f.login("nobody", "x");
        assert_eq!(h.outcome, Outcome::FailedLogin);
        assert_eq!(h.username.as_deref(), Some("nobody"));
        assert_eq!(v["errorCode"], CODE_LOGIN_INVALID);
    }

    #[test]
    fn bad_bodies_are_m2m_errors_not_failed_logins() {
        let mut f = Fixture::new();
        let bearer = format!("Bearer {}", f.token());
        for (ct, body, code) in [
            ("application/json", "{", CODE_BAD_BODY),
            ("application/json", r#"{"username":"alice"}"#, CODE_BAD_BODY),
            (
                "application/json",
                r#"{"username":1,"password":"x"}"#,
                CODE_BAD_BODY,
            ),
            (
                "text/plain",
                r#"{"username":"alice","password":"x"}"#,
                CODE_BAD_CONTENT_TYPE,
            ),
        ] {
            let (h, v) = f.call(
                Method::POST,
                LOGIN_PATH,
                &[("authorization", &bearer), ("content-type", ct)],
                body,
            );
            assert_eq!(h.reply.status, StatusCode::BAD_REQUEST);
            assert_eq!(v["errorCode"], code);
            assert_eq!(h.outcome, Outcome::Error);
        }
        assert_eq!(f.state.user_view("alice").unwrap().failed_logins, 0);
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_405() {
        let mut f = Fixture::new();
        let (h, v) = f.call(Method::GET, "/api/m2m/v1/nothing", &[], "");
        assert_eq!(h.reply.status, StatusCode::NOT_FOUND);
        assert!(v["fault"]["code"].is_string());
        let (h, _) = f.call(Method::GET, RESET_PATH, &[], "");
        assert_eq!(h.reply.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(
            h.reply
                .headers
                .iter()
                .any(|(k, v)| k == header::ALLOW && v == "PUT")
        );
    }

    #[test]
    fn revoke_invalidates_the_token() {
        let mut f = Fixture::new();
        let token = f.token();
        let auth = basic("app", "secret");
        let body = format!("grant_type=client_credentials&token={token}");
        let (h, _) = f.call(
            Method::POST,
            REVOKE_PATH,
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            &body,
        );
        assert_eq!(h.reply.status, StatusCode::OK);
        assert!(h.effect);
        let (h, v) = f.call(
            Method::POST,
            LOGOUT_PATH,
            &[("authorization", &format!("Bearer {token}"))],
            "",
        );
        assert_eq!(h.reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(v["fault"]["code"], "900901");
    }
}
