//! Tests of the emulated endpoints with plain values: routing, the three error shapes, the flow, refusals.

use super::*;
use http::HeaderName;
use serde_json::Value;

struct Fixture {
    state: State,
    now: u64,
    /// Whether the calls are made under a `refuse` fault.
    refuse: bool,
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
            refuse: false,
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
            refuse: self.refuse,
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
fn a_refuse_fault_refuses_each_endpoint_as_a_wrong_credential_would() {
    let mut f = Fixture::new();
    let (_, v) = f.login("alice", "pw-alice");
    let session = v["sessionToken"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {}", f.token());
    f.refuse = true;
    let auth = basic("app", "secret");
    let (h, v) = f.call(
        Method::POST,
        TOKEN_PATH,
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials",
    );
    assert_eq!(
        (h.reply.status, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let body = json!({"username": "alice", "password": "pw-alice"}).to_string();
    let (h, v) = f.call(
        Method::POST,
        LOGIN_PATH,
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        &body,
    );
    assert_eq!(
        (h.outcome, v["errorCode"].as_str()),
        (Outcome::FailedLogin, Some(CODE_LOGIN_INVALID))
    );
    let u = f.state.user_view("alice").unwrap();
    assert_eq!(
        (u.failed_logins, u.successful_logins),
        (1, 1),
        "the right password, counted as failed"
    );
    let body = json!({"oldPassword": "pw-alice"}).to_string();
    let (h, v) = f.call(
        Method::PUT,
        RESET_PATH,
        &[
            ("authorization", &bearer),
            ("vz-m2m-token", &session),
            ("content-type", "application/json"),
        ],
        &body,
    );
    assert_eq!(
        (h.effect, v["errorCode"].as_str()),
        (false, Some(CODE_OLD_PASSWORD))
    );
    assert_eq!(f.state.user_view("alice").unwrap().password, "pw-alice");
    let (h, v) = f.call(
        Method::POST,
        LOGOUT_PATH,
        &[("authorization", &bearer), ("vz-m2m-token", &session)],
        "",
    );
    assert_eq!(
        (h.effect, v["errorCode"].as_str()),
        (false, Some(CODE_SESSION_EXPIRED))
    );
    f.refuse = false;
    let (h, _) = f.reset(&session, "pw-alice");
    assert_eq!(
        h.reply.status,
        StatusCode::OK,
        "the refused log-out left the session alive"
    );
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
