//! The ThingSpace emulator as a child process, and typed access to its control API.
//!
//! Each test starts its own emulator on an OS-chosen port, so tests never share users, tokens,
//! request logs or faults. The emulator runs with `--exit-on-stdin-eof` and we hold its stdin
//! open: if the test process dies without running `Drop` (a panic in another thread that
//! aborts, a SIGKILL from the runner), the pipe closes and the emulator exits instead of being
//! left behind.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The OAuth client the emulator accepts when started without `--client`.
pub const DEFAULT_CLIENT_ID: &str = "emulator-client";
/// The secret of [`DEFAULT_CLIENT_ID`].
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// The API paths, as the emulator's request log and fault registry name them.
pub const TOKEN_PATH: &str = "/api/ts/v1/oauth2/token";
pub const LOGIN_PATH: &str = "/api/m2m/v1/session/login";
pub const RESET_PATH: &str = "/api/m2m/v1/session/password/actions/reset";
pub const LOGOUT_PATH: &str = "/api/m2m/v1/session/logout";

/// How long the emulator may take to print its URL. Generous because parallel tests on a
/// two-core machine compete with Terraform runs for CPU.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The emulator binary: `TS_EMULATOR_BIN` if set (the test script points it at the release
/// build), else the one cargo built for this test run.
pub fn emulator_bin() -> PathBuf {
    match std::env::var_os("TS_EMULATOR_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_thingspace-emulator")),
    }
}

/// A running emulator, killed when dropped.
pub struct Emulator {
    /// e.g. `http://127.0.0.1:40123`, without a trailing slash.
    pub base_url: String,
    child: Child,
    /// Held only to keep the pipe open; see the module doc.
    _stdin: ChildStdin,
    stderr: Arc<Mutex<String>>,
}

/// A user as the control API reports it, password included (tests compare it with state).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
    pub locked: bool,
    pub consecutive_failed_logins: u32,
    pub failed_logins: u64,
    pub successful_logins: u64,
    pub resets: u64,
    pub logouts: u64,
}

/// One API request the emulator served (control requests are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Request {
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// None when the connection was dropped or the request was never answered.
    pub status: Option<u16>,
    pub username: Option<String>,
    /// `ok`, `failed_login`, `locked`, `error` or `fault`.
    pub outcome: String,
    /// True when the request changed the emulator's state (e.g. a reset that happened).
    pub effect: bool,
    pub fault: bool,
    pub user_agent: Option<String>,
    pub at_ms: u64,
}

/// Request counts per API path since the request log was last cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Stats {
    pub token: u64,
    pub login: u64,
    pub reset: u64,
    pub logout: u64,
    pub tokens_issued: u64,
}

/// When a fault strikes: before the request takes effect, or after (the effect happened but
/// the client sees the fault, e.g. a reset whose answer is lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    Before,
    After,
}

/// A fault for the next `count` requests to `path`. Build one with [`Fault::status`],
/// [`Fault::drop_connection`] or [`Fault::delay`], then refine it with the chained setters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub path: String,
    pub count: u32,
    pub when: When,
    pub delay_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub drop: bool,
}

impl Fault {
    fn new(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            count: 1,
            when: When::Before,
            delay_ms: 0,
            status: None,
            body: String::new(),
            content_type: None,
            headers: BTreeMap::new(),
            drop: false,
        }
    }

    /// Answer `status` with `body` instead of processing the request.
    pub fn status(path: &str, status: u16, body: &str) -> Self {
        Self {
            status: Some(status),
            body: body.to_owned(),
            ..Self::new(path)
        }
    }

    /// Close the connection without any HTTP response.
    pub fn drop_connection(path: &str) -> Self {
        Self {
            drop: true,
            ..Self::new(path)
        }
    }

    /// Wait `delay_ms`, then answer normally.
    pub fn delay(path: &str, delay_ms: u64) -> Self {
        Self {
            delay_ms,
            ..Self::new(path)
        }
    }

    pub fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Let the request take effect first, then answer with the fault.
    pub fn after(mut self) -> Self {
        self.when = When::After;
        self
    }

    pub fn delay_ms(mut self, delay_ms: u64) -> Self {
        self.delay_ms = delay_ms;
        self
    }

    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_owned());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl Emulator {
    /// Starts an emulator with the default OAuth client and no users.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts an emulator with extra command-line arguments, e.g.
    /// `["--client", "id:secret", "--user", "alice:pw"]`.
    pub fn start_with(args: &[&str]) -> Self {
        let bin = emulator_bin();
        let mut child = Command::new(&bin)
            .arg("--exit-on-stdin-eof")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the emulator {}: {e}", bin.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");

        // Collect stderr so a failing test can show the emulator's side of the story; reading
        // it also keeps a chatty emulator from blocking on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if let Ok(mut all) = sink.lock() {
                    all.push_str(&line);
                }
                line.clear();
            }
        });

        // The first stdout line is the URL; anything after it is drained and dropped.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let read = reader.read_line(&mut first);
            let _ = tx.send(read.map(|_| first));
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let url = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line.trim().trim_end_matches('/').to_owned(),
            other => {
                let why = match other {
                    Ok(Ok(_)) => "it closed stdout without printing its URL".to_owned(),
                    Ok(Err(e)) => format!("reading its stdout failed: {e}"),
                    Err(_) => format!("it printed no URL within {STARTUP_TIMEOUT:?}"),
                };
                let _ = child.kill();
                let status = child.wait().ok();
                thread::sleep(Duration::from_millis(100));
                let logs = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                panic!(
                    "the emulator {} did not start: {why}; exit: {status:?}\nstderr:\n{logs}",
                    bin.display()
                );
            }
        };
        assert!(
            url.starts_with("http://"),
            "the emulator's first stdout line is not a URL: {url:?}"
        );
        Self {
            base_url: url,
            child,
            _stdin: stdin,
            stderr,
        }
    }

    /// What the emulator wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Turns a control-API failure into a test failure that says what was asked and why it
    /// failed, with the emulator's stderr for context.
    fn fail(&self, what: &str, err: ureq::Error) -> ! {
        let detail = match err {
            ureq::Error::Status(code, resp) => {
                format!("status {code}: {}", resp.into_string().unwrap_or_default())
            }
            other => other.to_string(),
        };
        panic!(
            "emulator control call {what} failed: {detail}\nemulator stderr:\n{}",
            self.stderr()
        );
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let what = format!("GET {path}");
        match ureq::get(&self.url(path)).call() {
            Ok(resp) => {
                let body = resp.into_string().unwrap_or_default();
                serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{what}: unexpected body ({e}): {body}"))
            }
            Err(e) => self.fail(&what, e),
        }
    }

    fn send(&self, method: &str, path: &str, body: Option<serde_json::Value>) {
        let what = format!("{method} {path}");
        let req = ureq::request(method, &self.url(path));
        let result = match body {
            Some(json) => req.send_json(json),
            None => req.call(),
        };
        if let Err(e) = result {
            self.fail(&what, e);
        }
    }

    pub fn add_user(&self, username: &str, password: &str) {
        self.send(
            "POST",
            "/_emulator/users",
            Some(serde_json::json!({ "username": username, "password": password })),
        );
    }

    pub fn user(&self, username: &str) -> User {
        self.get(&format!("/_emulator/users/{username}"))
    }

    /// Every API request since the log was last cleared, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.get("/_emulator/requests")
    }

    pub fn clear_requests(&self) {
        self.send("DELETE", "/_emulator/requests", None);
    }

    pub fn stats(&self) -> Stats {
        self.get("/_emulator/stats")
    }

    pub fn fault(&self, fault: Fault) {
        let body = serde_json::to_value(&fault)
            .unwrap_or_else(|e| panic!("cannot encode fault {fault:?}: {e}"));
        self.send("POST", "/_emulator/faults", Some(body));
    }

    pub fn clear_faults(&self) {
        self.send("DELETE", "/_emulator/faults", None);
    }

    /// Moves the emulator's clock forward (token hours, session idle time).
    pub fn advance_clock(&self, secs: u64) {
        self.send(
            "POST",
            "/_emulator/clock",
            Some(serde_json::json!({ "advance_secs": secs })),
        );
    }

    /// Expires every OAuth token and/or every session now.
    pub fn expire(&self, tokens: bool, sessions: bool) {
        self.send(
            "POST",
            "/_emulator/expire",
            Some(serde_json::json!({ "tokens": tokens, "sessions": sessions })),
        );
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
