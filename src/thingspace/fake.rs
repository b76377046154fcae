//! A small in-test ThingSpace: a raw TCP server that behaves like the documented API (users, tokens, sessions, resets,
//! failed log-ins), records every request with what it did with it, and injects scripted faults before or after a
//! request takes effect (an answer lost after the effect, a late effect after the client gave up, an echo of what was
//! sent). Shared by the example tests (`tests`) and the interleaving property test (`proptests`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;
use crate::shutdown::Shutdown;

pub const CLIENT_ID: &str = "app-key";
pub const CLIENT_SECRET: &str = "app-secret-xyz";
pub const TOKEN: &str = "/api/ts/v1/oauth2/token";
pub const LOGIN: &str = "/api/m2m/v1/session/login";
pub const RESET: &str = "/api/m2m/v1/session/password/actions/reset";
pub const LOGOUT: &str = "/api/m2m/v1/session/logout";

/// Whether a fault replaces the request's effect or comes after it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum When {
    Before,
    After,
}

#[derive(Clone)]
pub enum Fault {
    /// Behave normally (a place holder in a queue of faults).
    Pass,
    /// Answer with this status, headers and body.
    Answer {
        when: When,
        status: u16,
        content_type: String,
        body: String,
        retry_after: Option<u64>,
    },
    /// Close the connection without answering.
    Drop { when: When },
    /// Never answer, and take no effect.
    Hang,
    /// Take effect after `delay` and answer then, if the client still waits: a timeout with a late effect.
    Slow { delay: Duration },
    /// Refuse the request in the service's own shape, with the refusal's effect: a refused log-in is counted.
    Refuse,
    /// Take effect; answer 200 with an unreadable body if the real answer was a success, else the real answer.
    Garble,
    /// Behave normally, but fire the stop signal before answering.
    CancelAfterEffect(Shutdown),
    /// Fire the stop signal, note `critical_in_flight()` then and after `hold`, then behave normally.
    StopAndWatch {
        shutdown: Shutdown,
        hold: Duration,
        seen: Arc<Mutex<Vec<usize>>>,
    },
}

pub fn answer(when: When, status: u16, body: &str) -> Fault {
    Fault::Answer {
        when,
        status,
        content_type: "application/json".into(),
        body: body.to_owned(),
        retry_after: None,
    }
}

#[derive(Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
    /// The client's port: requests with the same port came over the same connection.
    pub port: u16,
    /// What the fake did with it, filled in once decided: `ok`, `refused`, `expired`, `429`, `900901`, `5xx-before`,
    /// `5xx-after`, `drop-before`, `drop-after`, `timeout` (the client gave up before a late effect), `garbled`,
    /// `hang`, `other`.
    pub label: &'static str,
}

#[derive(Default)]
pub struct User {
    pub password: String,
    pub failed_logins: u32,
    pub resets: u32,
}

#[derive(Default)]
pub struct State {
    pub users: HashMap<String, User>,
    tokens: HashSet<String>,
    tokens_issued: u32,
    pub sessions: HashMap<String, String>,
    sessions_issued: u32,
    pub requests: Vec<Recorded>,
    faults: HashMap<String, VecDeque<Fault>>,
    /// `expires_in` of issued tokens; 3599 when zero.
    pub expires_in: u64,
    /// Keep connections open for further requests (HTTP keep-alive) instead of closing each after one answer.
    pub keep_alive: bool,
}

#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    /// Requests being served now.
    active: Arc<AtomicUsize>,
}

pub struct Reply {
    status: u16,
    content_type: String,
    body: String,
    retry_after: Option<u64>,
}

fn json(status: u16, body: serde_json::Value) -> Reply {
    Reply {
        status,
        content_type: "application/json".into(),
        body: body.to_string(),
        retry_after: None,
    }
}

/// Counts a request as served until dropped, whatever path the serving takes.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Fake {
    pub async fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Fake {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            active: Arc::default(),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                server.active.fetch_add(1, Ordering::SeqCst);
                let active = Active(Arc::clone(&server.active));
                tokio::spawn(async move {
                    let _active = active;
                    server.serve(stream).await;
                });
            }
        });
        fake
    }

    pub fn add_user(&self, name: &str, password: &str) {
        self.state.lock().unwrap().users.insert(
            name.into(),
            User {
                password: password.into(),
                ..User::default()
            },
        );
    }

    pub fn fault(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(path.into())
            .or_default()
            .push_back(fault);
    }

    pub fn password(&self, user: &str) -> String {
        self.state.lock().unwrap().users[user].password.clone()
    }
    pub fn failed_logins(&self, user: &str) -> u32 {
        self.state.lock().unwrap().users[user].failed_logins
    }
    pub fn resets(&self, user: &str) -> u32 {
        self.state.lock().unwrap().users[user].resets
    }
    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
    pub fn count(&self, path: &str) -> usize {
        self.requests(path).len()
    }
    /// The labels of the requests to `path`, in order.
    pub fn labels(&self, path: &str) -> Vec<&'static str> {
        self.requests(path).iter().map(|r| r.label).collect()
    }

    /// Waits until no request is being served, so late effects have landed.
    pub async fn settle(&self) {
        while self.active.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn label(&self, index: usize, label: &'static str) {
        self.state.lock().unwrap().requests[index].label = label;
    }

    async fn serve(&self, mut stream: TcpStream) {
        while self.serve_one(&mut stream).await {}
    }

    /// Serves one request; whether the connection stays open for another.
    async fn serve_one(&self, stream: &mut TcpStream) -> bool {
        let Some(mut request) = read_request(stream).await else {
            return false;
        };
        request.port = stream.peer_addr().map_or(0, |a| a.port());
        let (index, fault) = {
            let mut state = self.state.lock().unwrap();
            state.requests.push(request.clone());
            let fault = state
                .faults
                .get_mut(&request.path)
                .and_then(VecDeque::pop_front);
            (state.requests.len() - 1, fault)
        };
        let reply = match fault {
            None | Some(Fault::Pass) => self.handle(&request),
            Some(Fault::Hang) => {
                self.label(index, "hang");
                let deadline = Instant::now() + Duration::from_secs(120);
                while Instant::now() < deadline && !client_gone(stream).await {}
                return false;
            }
            Some(Fault::Drop { when }) => {
                if when == When::After {
                    self.handle(&request);
                    self.label(index, "drop-after");
                } else {
                    self.label(index, "drop-before");
                }
                return false; // dropping the stream closes the connection without an answer
            }
            Some(Fault::Slow { delay }) => {
                tokio::time::sleep(delay).await;
                let reply = self.handle(&request);
                if client_gone(stream).await {
                    self.label(index, "timeout");
                    return false;
                }
                reply
            }
            Some(Fault::Answer {
                when,
                status,
                content_type,
                body,
                retry_after,
            }) => {
                let label = match (when, status) {
                    (When::After, _) if status >= 500 => "5xx-after",
                    (When::Before, _) if status >= 500 => "5xx-before",
                    (_, 429) => "429",
                    (When::Before, 401) if body.contains("900901") => "900901",
                    (When::Before, 400) if body.contains("SessionToken.Expired") => "expired",
                    (When::After, 200..=299) => "garbled",
                    _ => "other",
                };
                if when == When::After {
                    self.handle(&request);
                }
                self.label(index, label);
                Reply {
                    status,
                    content_type,
                    body,
                    retry_after,
                }
            }
            Some(Fault::Refuse) => {
                self.label(index, "refused");
                self.refuse(&request)
            }
            Some(Fault::Garble) => {
                let reply = self.handle(&request);
                if (200..300).contains(&reply.status) {
                    self.label(index, "garbled");
                    Reply {
                        status: 200,
                        content_type: "text/html".into(),
                        body: "<html>ok</html>".into(),
                        retry_after: None,
                    }
                } else {
                    reply
                }
            }
            Some(Fault::CancelAfterEffect(shutdown)) => {
                let reply = self.handle(&request);
                shutdown.stop();
                reply
            }
            Some(Fault::StopAndWatch {
                shutdown,
                hold,
                seen,
            }) => {
                seen.lock().unwrap().push(shutdown.critical_in_flight());
                shutdown.stop();
                tokio::time::sleep(hold).await;
                seen.lock().unwrap().push(shutdown.critical_in_flight());
                self.handle(&request)
            }
        };
        {
            let mut state = self.state.lock().unwrap();
            if state.requests[index].label.is_empty() {
                state.requests[index].label = label_of(&reply);
            }
        }
        let keep_alive = self.state.lock().unwrap().keep_alive;
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: {}\r\n",
            reply.status,
            reply.content_type,
            reply.body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        );
        if let Some(s) = reply.retry_after {
            head.push_str(&format!("retry-after: {s}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(reply.body.as_bytes()).await;
        if keep_alive {
            return true;
        }
        let _ = stream.shutdown().await;
        false
    }

    /// A refusal in the service's own shape, with its effect: a refused log-in counts as a failed one.
    fn refuse(&self, r: &Recorded) -> Reply {
        match r.path.as_str() {
            TOKEN => json(
                401,
                serde_json::json!({"error": "invalid_client", "error_description": "refused"}),
            ),
            LOGIN => {
                let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                let name = body["username"].as_str().unwrap_or("");
                if let Some(user) = self.state.lock().unwrap().users.get_mut(name) {
                    user.failed_logins += 1;
                }
                json(
                    400,
                    serde_json::json!({"errorCode": "UnifiedWebService.INPUT_INVALID.Login.Failed",
                    "errorMessage": "Invalid username or password."}),
                )
            }
            _ => json(
                400,
                serde_json::json!({"errorCode": "UnifiedWebService.REQUEST_FAILED.UnexpectedError",
                "errorMessage": "refused"}),
            ),
        }
    }

    /// The documented behaviour of each endpoint.
    pub fn handle(&self, r: &Recorded) -> Reply {
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

    pub fn client(&self, timeout: Duration, cancel: Shutdown) -> Client {
        self.client_with_secret(timeout, cancel, CLIENT_SECRET)
    }

    pub fn client_with_secret(&self, timeout: Duration, cancel: Shutdown, secret: &str) -> Client {
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

/// What a normal answer means, for the record.
fn label_of(reply: &Reply) -> &'static str {
    match reply.status {
        200..=299 => "ok",
        429 => "429",
        401 if reply.body.contains("900901") => "900901",
        400 if reply.body.contains("SessionToken.Expired") => "expired",
        400 | 401 => "refused",
        _ => "other",
    }
}

/// Whether the client closed the connection (it gave up waiting).
async fn client_gone(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(20), stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

pub fn fast_policy() -> Policy {
    Policy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(60),
        budget: Duration::from_secs(10),
        max_attempts: 6,
    }
}

pub async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
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
        port: 0,
        label: "",
    })
}
