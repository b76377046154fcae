//! Tests of the rotation flow against a small in-test ThingSpace: a raw TCP server that behaves like the documented
//! API (users, tokens, sessions, resets, failed log-ins), records every request, and injects scripted faults before or
//! after a request takes effect.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;
use crate::shutdown::Shutdown;

const CLIENT_ID: &str = "app-key";
const CLIENT_SECRET: &str = "app-secret-xyz";
const TOKEN: &str = "/api/ts/v1/oauth2/token";
const LOGIN: &str = "/api/m2m/v1/session/login";
const RESET: &str = "/api/m2m/v1/session/password/actions/reset";
const LOGOUT: &str = "/api/m2m/v1/session/logout";

/// Whether a fault replaces the request's effect or comes after it.
#[derive(Clone, Copy, PartialEq)]
enum When {
    Before,
    After,
}

#[derive(Clone)]
enum Fault {
    /// Answer with this status, headers and body.
    Answer {
        when: When,
        status: u16,
        content_type: &'static str,
        body: String,
        retry_after: Option<u64>,
    },
    /// Close the connection without answering.
    Drop { when: When },
    /// Never answer.
    Hang,
    /// Behave normally, but fire the shutdown signal before answering.
    CancelAfterEffect(Shutdown),
}

fn answer(when: When, status: u16, body: &str) -> Fault {
    Fault::Answer {
        when,
        status,
        content_type: "application/json",
        body: body.to_owned(),
        retry_after: None,
    }
}

#[derive(Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
    at: Instant,
}

#[derive(Default)]
struct User {
    password: String,
    failed_logins: u32,
    resets: u32,
}

#[derive(Default)]
struct State {
    users: HashMap<String, User>,
    tokens: HashSet<String>,
    tokens_issued: u32,
    sessions: HashMap<String, String>,
    sessions_issued: u32,
    requests: Vec<Recorded>,
    faults: HashMap<String, VecDeque<Fault>>,
    /// `expires_in` of issued tokens; 3599 when zero.
    expires_in: u64,
}

#[derive(Clone)]
struct Fake {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    retry_after: Option<u64>,
}

fn json(status: u16, body: serde_json::Value) -> Reply {
    Reply {
        status,
        content_type: "application/json",
        body: body.to_string(),
        retry_after: None,
    }
}

impl Fake {
    async fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Fake {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
        });
        fake
    }

    fn add_user(&self, name: &str, password: &str) {
        self.state.lock().unwrap().users.insert(
            name.into(),
            User {
                password: password.into(),
                ..User::default()
            },
        );
    }

    fn fault(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(path.into())
            .or_default()
            .push_back(fault);
    }

    fn password(&self, user: &str) -> String {
        self.state.lock().unwrap().users[user].password.clone()
    }
    fn failed_logins(&self, user: &str) -> u32 {
        self.state.lock().unwrap().users[user].failed_logins
    }
    fn resets(&self, user: &str) -> u32 {
        self.state.lock().unwrap().users[user].resets
    }
    fn requests(&self, path: &str) -> Vec<Recorded> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
    fn count(&self, path: &str) -> usize {
        self.requests(path).len()
    }

    async fn serve(&self, mut stream: TcpStream) {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        let fault = {
            let mut state = self.state.lock().unwrap();
            state.requests.push(request.clone());
            state
                .faults
                .get_mut(&request.path)
                .and_then(VecDeque::pop_front)
        };
        let reply = match fault {
            None => self.handle(&request),
            Some(Fault::Hang) => {
                tokio::time::sleep(Duration::from_secs(120)).await;
                return;
            }
            Some(Fault::Drop { when }) => {
                if when == When::After {
                    self.handle(&request);
                }
                return; // dropping the stream closes the connection without an answer
            }
            Some(Fault::Answer {
                when,
                status,
                content_type,
                body,
                retry_after,
            }) => {
                if when == When::After {
                    self.handle(&request);
                }
                Reply {
                    status,
                    content_type,
                    body,
                    retry_after,
                }
            }
            Some(Fault::CancelAfterEffect(shutdown)) => {
                let reply = self.handle(&request);
                shutdown.stop();
                reply
            }
        };
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        );
        if let Some(s) = reply.retry_after {
            head.push_str(&format!("retry-after: {s}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(reply.body.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// The documented behaviour of each endpoint.
    fn handle(&self, r: &Recorded) -> Reply {
        let mut s = self.state.lock().unwrap();
        let auth = r.headers.get("authorization").cloned().unwrap_or_default();
        if r.path == TOKEN {
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
            if r.method != "POST"
                || auth != format!("Basic {basic}")
                || r.body != "grant_type=client_credentials"
            {
                return json(
                    401,
                    serde_json::json!({"error": "invalid_client", "error_description": "bad client"}),
                );
            }
            s.tokens_issued += 1;
            let token = format!("tok-{}", s.tokens_issued);
            s.tokens.insert(token.clone());
            let expires_in = if s.expires_in == 0 {
                3599
            } else {
                s.expires_in
            };
            return json(
                200,
                serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
            );
        }
        let bearer = auth.strip_prefix("Bearer ").unwrap_or("");
        if !s.tokens.contains(bearer) {
            return json(
                401,
                serde_json::json!({"fault": {"code": 900901, "message": "Invalid Credentials",
                "description": "Access failure for API"}}),
            );
        }
        let expired = || {
            json(
                400,
                serde_json::json!({"errorCode": "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired",
                "errorMessage": "The Session has expired."}),
            )
        };
        let session = r.headers.get("vz-m2m-token").cloned().unwrap_or_default();
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", LOGIN) => {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                let name = body["username"].as_str().unwrap_or("").to_owned();
                let password = body["password"].as_str().unwrap_or("");
                match s.users.get_mut(&name) {
                    Some(user) if user.password == password && user.failed_logins < 5 => {
                        user.failed_logins = 0;
                        s.sessions_issued += 1;
                        let token = format!("sess-{}", s.sessions_issued);
                        s.sessions.insert(token.clone(), name);
                        json(200, serde_json::json!({"sessionToken": token}))
                    }
                    user => {
                        if let Some(user) = user {
                            user.failed_logins += 1;
                        }
                        json(
                            400,
                            serde_json::json!({"errorCode": "UnifiedWebService.INPUT_INVALID.Login.Failed",
                            "errorMessage": "Invalid username or password."}),
                        )
                    }
                }
            }
            ("PUT", RESET) => {
                let Some(name) = s.sessions.get(&session).cloned() else {
                    return expired();
                };
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                let user = s.users.get_mut(&name).unwrap();
                if body["oldPassword"].as_str() != Some(user.password.as_str()) {
                    return json(
                        400,
                        serde_json::json!({"errorCode": "UnifiedWebService.INPUT_INVALID.Password",
                        "errorMessage": "Old password does not match."}),
                    );
                }
                user.resets += 1;
                user.password = format!("New{}x{}", name, user.resets);
                json(200, serde_json::json!({"newPassword": user.password}))
            }
            ("POST", LOGOUT) => match s.sessions.remove(&session) {
                Some(_) => json(200, serde_json::json!({"sessionToken": session})),
                None => expired(),
            },
            _ => json(
                404,
                serde_json::json!({"errorCode": "NotFound", "errorMessage": "no such path"}),
            ),
        }
    }

    fn client(&self, timeout: Duration, cancel: Shutdown) -> Client {
        self.client_with_secret(timeout, cancel, CLIENT_SECRET)
    }

    fn client_with_secret(&self, timeout: Duration, cancel: Shutdown, secret: &str) -> Client {
        let cfg = ClientConfig {
            base_url: validate_base_url(&format!("http://{}/", self.addr)).unwrap(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(secret),
            request_timeout: timeout,
            user_agent: "terraform-provider-thingspace/test".into(),
        };
        Client::with_retry_policy(cfg, cancel, fast_policy()).unwrap()
    }
}

fn fast_policy() -> Policy {
    Policy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(60),
        budget: Duration::from_secs(10),
        max_attempts: 6,
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    Some(Recorded {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
    })
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

const SECOND: Duration = Duration::from_secs(1);

/// Asserts no secret in play shows up in a message.
fn assert_no_secret(text: &str, fake: &Fake, user: &str, old: &str) {
    for s in [old, &fake.password(user), CLIENT_SECRET, "tok-", "sess-"] {
        assert!(!text.contains(s), "{s:?} leaked into: {text}");
    }
}

#[tokio::test]
async fn happy_path_makes_one_token_request_and_three_m2m_calls() {
    let fake = Fake::start().await;
    fake.add_user("svc", "Old-pass-1");
    let client = fake.client(5 * SECOND, Shutdown::new());
    let rotation = client.rotate("svc", &secret("Old-pass-1")).await.unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_ne!(fake.password("svc"), "Old-pass-1");
    assert!(rotation.warnings.is_empty(), "{:?}", rotation.warnings);
    assert_eq!(
        (
            fake.count(TOKEN),
            fake.count(LOGIN),
            fake.count(RESET),
            fake.count(LOGOUT)
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(fake.resets("svc"), 1);

    let reset = &fake.requests(RESET)[0];
    assert_eq!(reset.method, "PUT");
    assert_eq!(reset.headers["authorization"], "Bearer tok-1");
    assert_eq!(reset.headers["vz-m2m-token"], "sess-1");
    assert_eq!(reset.headers["content-type"], "application/json");
    assert_eq!(
        reset.headers["user-agent"],
        "terraform-provider-thingspace/test"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&reset.body).unwrap()["oldPassword"],
        "Old-pass-1"
    );
    let token = &fake.requests(TOKEN)[0];
    assert_eq!(
        token.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    // The session that was used for the reset is the one logged out.
    assert_eq!(fake.requests(LOGOUT)[0].headers["vz-m2m-token"], "sess-1");
    assert!(fake.state.lock().unwrap().sessions.is_empty());

    // A second rotation reuses the token and logs in with the new password.
    let again = client.rotate("svc", &rotation.new_password).await.unwrap();
    assert_eq!(again.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(fake.count(TOKEN), 1);
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_joined() {
    let fake = Fake::start().await;
    fake.add_user("svc", "p");
    let cfg = ClientConfig {
        base_url: validate_base_url(&format!("http://{}/gw", fake.addr)).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: secret(CLIENT_SECRET),
        request_timeout: SECOND,
        user_agent: "ua".into(),
    };
    let client = Client::with_retry_policy(cfg, Shutdown::new(), fast_policy()).unwrap();
    let err = client.rotate("svc", &secret("p")).await.unwrap_err();
    // The fake only serves the documented paths, so the prefix shows up as the path the token request went to.
    assert!(matches!(err, RotateError::Token { .. }), "{err}");
    let paths: Vec<String> = fake
        .state
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, vec!["/gw/api/ts/v1/oauth2/token"]);
}

#[tokio::test]
async fn client_construction_makes_no_network_call() {
    let fake = Fake::start().await;
    let _client = fake.client(SECOND, Shutdown::new());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(fake.state.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn fifty_concurrent_rotations_share_one_token() {
    let fake = Fake::start().await;
    for i in 0..50 {
        fake.add_user(&format!("u{i}"), &format!("old{i}"));
    }
    let client = fake.client(10 * SECOND, Shutdown::new());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .rotate(&format!("u{i}"), &secret(&format!("old{i}")))
                    .await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let rotation = task.await.unwrap().unwrap();
        assert_eq!(
            rotation.new_password.expose_secret(),
            fake.password(&format!("u{i}"))
        );
    }
    assert_eq!(fake.count(TOKEN), 1);
    assert_eq!(fake.count(RESET), 50);
}

#[tokio::test]
async fn reset_900901_renews_the_token_and_resets_once_more() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials","description":"x"}}"#,
        ),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(fake.count(TOKEN), 2);
    assert_eq!(fake.count(RESET), 2);
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(
        fake.requests(RESET)[1].headers["authorization"],
        "Bearer tok-2"
    );
    assert_eq!(fake.resets("svc"), 1);
}

#[tokio::test]
async fn reset_900901_twice_is_not_retried_again() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let f = answer(
        When::Before,
        401,
        r#"{"fault":{"code":900901,"message":"Invalid Credentials"}}"#,
    );
    fake.fault(RESET, f.clone());
    fake.fault(RESET, f);
    let err = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert_eq!(err.api_error().map(|a| a.code.as_str()), Some("900901"));
    assert_eq!(fake.count(RESET), 2);
    assert_eq!(fake.password("svc"), "old");
}

#[tokio::test]
async fn expired_session_on_reset_logs_in_again_then_resets() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        answer(
            When::Before,
            400,
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"The Session has expired."}"#,
        ),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        (fake.count(LOGIN), fake.count(RESET), fake.resets("svc")),
        (2, 2, 1)
    );
    assert_eq!(fake.requests(RESET)[1].headers["vz-m2m-token"], "sess-2");
    assert_eq!(fake.failed_logins("svc"), 0);
}

#[tokio::test]
async fn login_429_honours_retry_after() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGIN,
        Fault::Answer {
            when: When::Before,
            status: 429,
            content_type: "text/plain",
            body: "slow down".into(),
            retry_after: Some(1),
        },
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    let logins = fake.requests(LOGIN);
    assert_eq!(logins.len(), 2);
    let gap = logins[1].at - logins[0].at;
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, before Retry-After"
    );
    assert!(gap < 3 * SECOND, "retried after {gap:?}");
}

#[tokio::test]
async fn token_503_is_retried() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        TOKEN,
        answer(When::Before, 503, "<html>Service Unavailable</html>"),
    );
    fake.fault(TOKEN, answer(When::Before, 503, ""));
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(fake.count(TOKEN), 3);
}

#[tokio::test]
async fn token_rejected_client_credentials_are_not_retried_and_say_what_to_check() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let client = fake.client_with_secret(5 * SECOND, Shutdown::new(), "wrong-secret-value");
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert!(matches!(err, RotateError::Token { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("HTTP 401, code invalid_client") && text.contains("client_secret"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-value"), "{text}");
    assert_eq!((fake.count(TOKEN), fake.count(LOGIN)), (1, 0));
}

#[tokio::test]
async fn wrong_password_costs_exactly_one_failed_login_and_warns_about_lockout() {
    let fake = Fake::start().await;
    fake.add_user("svc", "right");
    let err = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("wrong-pw"))
        .await
        .unwrap_err();
    let RotateError::LoginRejected { username, error } = &err else {
        panic!("{err}")
    };
    assert_eq!(username, "svc");
    assert_eq!(
        (error.status, error.code.as_str()),
        (400, "INPUT_INVALID.Login.Failed")
    );
    let text = err.to_string();
    assert!(
        text.contains("5 consecutive failed log-ins")
            && text.contains("Invalid username or password."),
        "{text}"
    );
    assert!(!text.contains("wrong-pw"), "{text}");
    assert_eq!(
        (
            fake.failed_logins("svc"),
            fake.count(LOGIN),
            fake.count(RESET)
        ),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn reset_500_before_effect_probes_then_resets_once_more() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        answer(
            When::Before,
            500,
            r#"{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"boom"}"#,
        ),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        (
            fake.count(LOGIN),
            fake.count(RESET),
            fake.resets("svc"),
            fake.failed_logins("svc")
        ),
        (2, 2, 1, 0)
    );
    // The retry uses the session the probe opened.
    assert_eq!(fake.requests(RESET)[1].headers["vz-m2m-token"], "sess-2");
}

async fn ambiguous_case(fault: Fault) {
    let fake = Fake::start().await;
    fake.add_user("svc", "old-secret-pw");
    fake.fault(RESET, fault);
    let err = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old-secret-pw"))
        .await
        .unwrap_err();
    let RotateError::Ambiguous {
        probe: Probe::Rejected(api),
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(api.code, "INPUT_INVALID.Login.Failed");
    let text = err.to_string();
    for needle in [
        "may have taken effect",
        "unknown to Terraform",
        "current_password_wo_version",
        "Verizon",
    ] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    assert_no_secret(&text, &fake, "svc", "old-secret-pw");
    // Exactly one reset sent, one probe, exactly one failed log-in, nothing repeated blindly.
    assert_eq!(
        (
            fake.count(RESET),
            fake.count(LOGIN),
            fake.failed_logins("svc"),
            fake.resets("svc")
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(fake.count(LOGOUT), 0);
}

#[tokio::test]
async fn reset_502_after_effect_is_ambiguous_after_one_failed_probe() {
    ambiguous_case(answer(
        When::After,
        502,
        "<html><title>502 Bad Gateway</title></html>",
    ))
    .await;
}

#[tokio::test]
async fn dropped_connection_after_reset_is_ambiguous_after_one_failed_probe() {
    ambiguous_case(Fault::Drop { when: When::After }).await;
}

#[tokio::test]
async fn reset_200_with_html_body_is_ambiguous_after_one_failed_probe() {
    ambiguous_case(Fault::Answer {
        when: When::After,
        status: 200,
        content_type: "text/html",
        body: "<html>ok</html>".into(),
        retry_after: None,
    })
    .await;
}

#[tokio::test]
async fn reset_200_without_new_password_is_ambiguous_after_one_failed_probe() {
    ambiguous_case(answer(When::After, 200, r#"{"status":"ok"}"#)).await;
}

#[tokio::test]
async fn dropped_connection_before_effect_probes_and_resets_once_more() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(RESET, Fault::Drop { when: When::Before });
    let rotation = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        (
            fake.count(RESET),
            fake.resets("svc"),
            fake.failed_logins("svc")
        ),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn two_unclear_resets_before_effect_end_with_unchanged_password() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(RESET, answer(When::Before, 503, ""));
    fake.fault(RESET, answer(When::Before, 503, ""));
    let err = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    // The second probe proved the old password still works: a clean failure, never a third reset.
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert!(err.to_string().contains("password is unchanged"), "{err}");
    assert_eq!(
        (
            fake.count(RESET),
            fake.count(LOGIN),
            fake.failed_logins("svc")
        ),
        (2, 3, 0)
    );
    assert_eq!(fake.password("svc"), "old");
}

#[tokio::test]
async fn reset_refused_with_400_is_not_retried() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(RESET, answer(When::Before, 400, r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.UnexpectedError","errorMessage":"nope"}"#));
    let err = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("HTTP 400, code REQUEST_FAILED.UnexpectedError: nope"),
        "{err}"
    );
    assert_eq!((fake.count(RESET), fake.count(LOGIN)), (1, 1));
}

#[tokio::test]
async fn logout_failure_still_returns_the_new_password_with_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGOUT,
        answer(
            When::Before,
            500,
            r#"{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"x"}"#,
        ),
    );
    let rotation = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(rotation.warnings.len(), 1);
    assert!(
        rotation.warnings[0].contains("log-out failed: HTTP 500"),
        "{:?}",
        rotation.warnings
    );
    assert_no_secret(&rotation.warnings[0], &fake, "svc", "old");
}

#[tokio::test]
async fn hung_login_is_bounded_by_request_timeout() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(LOGIN, Fault::Hang);
    let started = Instant::now();
    let err = fake
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(&err, RotateError::Login { .. }), "{err}");
    assert!(
        err.to_string().contains("no answer within request_timeout"),
        "{err}"
    );
    // A log-in that may have been delivered is not repeated: it could count as a failed one.
    assert_eq!((fake.count(LOGIN), fake.count(RESET)), (1, 0));
}

#[tokio::test]
async fn hung_reset_is_bounded_and_checked_before_it_is_sent_again() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(RESET, Fault::Hang);
    let started = Instant::now();
    let rotation = fake
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        (fake.count(RESET), fake.count(LOGIN), fake.resets("svc")),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn cancel_during_backoff_stops_before_anything_is_reset() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        TOKEN,
        Fault::Answer {
            when: When::Before,
            status: 503,
            content_type: "text/plain",
            body: String::new(),
            retry_after: Some(5),
        },
    );
    let cancel = Shutdown::new();
    let client = fake.client(5 * SECOND, cancel.clone());
    let trigger = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.stop();
    });
    let started = Instant::now();
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    trigger.await.unwrap();
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Step::Token,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("password is unchanged"), "{err}");
    assert_eq!(
        (fake.count(TOKEN), fake.count(LOGIN), fake.count(RESET)),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn cancel_during_login_backoff_never_sends_the_reset() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGIN,
        Fault::Answer {
            when: When::Before,
            status: 429,
            content_type: "text/plain",
            body: String::new(),
            retry_after: Some(5),
        },
    );
    let cancel = Shutdown::new();
    let client = fake.client(5 * SECOND, cancel.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.stop();
    });
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Step::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!((fake.count(LOGIN), fake.count(RESET)), (1, 0));
    assert_eq!(fake.password("svc"), "old");
}

#[tokio::test]
async fn cancel_after_reset_keeps_the_password_and_skips_logout_with_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    fake.fault(RESET, Fault::CancelAfterEffect(cancel.clone()));
    let rotation = fake
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert!(cancel.is_stopped());
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(rotation.warnings.len(), 1);
    assert!(
        rotation.warnings[0].contains("skipped the log-out"),
        "{:?}",
        rotation.warnings
    );
    assert_eq!(fake.count(LOGOUT), 0);
}

#[tokio::test]
async fn cancel_during_a_slow_logout_keeps_the_password_with_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(LOGOUT, Fault::Hang);
    let cancel = Shutdown::new();
    let client = fake.client(30 * SECOND, cancel.clone());
    let started = Instant::now();
    let watcher = {
        let fake = fake.clone();
        tokio::spawn(async move {
            while fake.count(LOGOUT) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            cancel.stop();
        })
    };
    let rotation = client.rotate("svc", &secret("old")).await.unwrap();
    watcher.await.unwrap();
    assert!(
        started.elapsed() < 5 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert!(
        rotation.warnings[0].contains("asked to stop during the log-out"),
        "{:?}",
        rotation.warnings
    );
}

#[tokio::test]
async fn slow_logout_times_out_into_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(LOGOUT, Fault::Hang);
    let rotation = fake
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert!(
        rotation.warnings[0].contains("no answer within request_timeout"),
        "{:?}",
        rotation.warnings
    );
}

#[tokio::test]
async fn connect_errors_are_retried_within_the_budget_then_reported() {
    // Bind and drop a listener to get a port nothing listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = ClientConfig {
        base_url: validate_base_url(&format!("http://{addr}")).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: secret(CLIENT_SECRET),
        request_timeout: SECOND,
        user_agent: "ua".into(),
    };
    let policy = Policy {
        max_attempts: 3,
        ..fast_policy()
    };
    let client = Client::with_retry_policy(cfg, Shutdown::new(), policy).unwrap();
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let RotateError::Token {
        error: Error::Transport(t),
    } = &err
    else {
        panic!("{err}")
    };
    assert!(!t.maybe_sent, "{t:?}");
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn token_is_renewed_shortly_before_it_expires() {
    let fake = Fake::start().await;
    fake.add_user("svc", "p0");
    fake.state.lock().unwrap().expires_in = 2; // renewed a quarter of its life early: after 1.5 s
    let client = fake.client(5 * SECOND, Shutdown::new());
    let r1 = client.rotate("svc", &secret("p0")).await.unwrap();
    let r2 = client.rotate("svc", &r1.new_password).await.unwrap();
    assert_eq!(fake.count(TOKEN), 1, "a fresh token is reused");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let r3 = client.rotate("svc", &r2.new_password).await.unwrap();
    assert_eq!(r3.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        fake.count(TOKEN),
        2,
        "a token near its expiry is renewed before use"
    );
    assert_eq!(
        fake.requests(RESET)[2].headers["authorization"],
        "Bearer tok-2"
    );
}

#[tokio::test]
async fn callers_queued_behind_a_failed_token_fetch_share_its_error() {
    let fake = Fake::start().await;
    for i in 0..10 {
        fake.add_user(&format!("u{i}"), "p");
    }
    let client = fake.client_with_secret(5 * SECOND, Shutdown::new(), "wrong");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.rotate(&format!("u{i}"), &secret("p")).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, RotateError::Token { .. }), "{err}");
    }
    assert_eq!(
        fake.count(TOKEN),
        1,
        "no stampede on a failing token endpoint"
    );
    assert_eq!(fake.count(LOGIN), 0);
}

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_show_steps_and_statuses_but_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = Fake::start().await;
    fake.add_user("svc", "Old-Secret-Pw");
    // A token renewal and a log-out failure put the error paths in the log too.
    fake.fault(
        RESET,
        answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
        ),
    );
    fake.fault(
        LOGOUT,
        answer(When::Before, 500, r#"{"errorCode":"X","errorMessage":"y"}"#),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("Old-Secret-Pw"))
        .await
        .unwrap();
    let new_password = rotation.new_password.expose_secret().to_owned();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();

    for step in ["\"log-in\"", "\"reset\"", "\"log-out\"", "\"token\""] {
        assert!(log.contains(step), "no {step} step in the log:\n{log}");
    }
    assert!(
        log.contains("status=200") && log.contains("status=401"),
        "{log}"
    );
    assert!(log.contains("svc"), "{log}");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for secret in [
        "Old-Secret-Pw",
        new_password.as_str(),
        CLIENT_SECRET,
        basic.as_str(),
        "tok-1",
        "tok-2",
        "sess-1",
    ] {
        assert!(
            !log.contains(secret),
            "{secret:?} leaked into the log:\n{log}"
        );
    }
}
