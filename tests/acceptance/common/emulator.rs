//! The ThingSpace emulator in-process (the `thingspace-emulator` library), one per test, and its control API as
//! methods that fail the test with a clear message.
//!
//! Each test starts its own emulator on an OS-chosen port, so tests never share users, tokens, request logs or
//! faults. It runs on a thread of its own in this test process: nothing to build or find, nothing left behind
//! when the test process dies, and it stops when the [`Emulator`] is dropped. Terraform's provider process
//! reaches it over TCP like any server.

use std::time::{Duration, Instant};

pub use thingspace_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault, Issued, LOGIN_PATH, LOGOUT_PATH, RESET_PATH,
    Request, Stats, TOKEN_PATH, User,
};
use thingspace_provider::clock::TEST_OFFSET_VAR;

use super::{Terraform, Workspace};

/// A running emulator, stopped when dropped.
pub struct Emulator {
    /// e.g. `http://127.0.0.1:40123`, without a trailing slash.
    pub base_url: String,
    inner: thingspace_emulator::Emulator,
}

impl Emulator {
    /// Starts an emulator with the default OAuth client and no users.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts an emulator configured by the binary's command-line arguments, e.g.
    /// `["--client", "id:secret", "--user", "alice:pw"]`.
    pub fn start_with(args: &[&str]) -> Self {
        let args = thingspace_emulator::cli::parse(args.iter().map(|a| (*a).to_owned()))
            .unwrap_or_else(|e| panic!("bad emulator arguments {args:?}: {e}"));
        let inner = thingspace_emulator::spawn_with(args.config())
            .unwrap_or_else(|e| panic!("cannot start the emulator: {e}"));
        Self {
            base_url: inner.base_url().to_owned(),
            inner,
        }
    }

    pub fn add_user(&self, username: &str, password: &str) {
        if let Err(e) = self.inner.add_user(username, password) {
            panic!("emulator: cannot add user {username:?}: {e}");
        }
    }

    pub fn user(&self, username: &str) -> User {
        self.inner
            .user(username)
            .unwrap_or_else(|| panic!("emulator: no user {username:?}"))
    }

    /// Every API request since the log was last cleared, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.inner.requests()
    }

    pub fn clear_requests(&self) {
        self.inner.clear_requests();
    }

    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Every OAuth access token, session token and reset password issued since start.
    pub fn issued(&self) -> Issued {
        self.inner.issued()
    }

    pub fn fault(&self, fault: Fault) {
        if let Err(e) = self.inner.fault(&fault) {
            panic!("emulator: fault {fault:?} refused: {e}");
        }
    }

    pub fn clear_faults(&self) {
        self.inner.clear_faults();
    }

    /// Moves the emulator's clock forward (token hours, session idle time).
    pub fn advance_clock(&self, secs: u64) {
        self.inner.advance_clock(Duration::from_secs(secs));
    }

    /// Expires every OAuth token and/or every session now.
    pub fn expire(&self, tokens: bool, sessions: bool) {
        self.inner.expire(tokens, sessions);
    }
}

impl Workspace {
    /// A workspace wired to `emu`: our provider through `dev_overrides`, and
    /// THINGSPACE_BASE_URL / THINGSPACE_CLIENT_ID / THINGSPACE_CLIENT_SECRET for the
    /// emulator's default client, so configs need no `provider` block.
    pub fn new(emu: &Emulator) -> Self {
        Self::with_terraform(emu, Terraform::from_env())
    }

    /// [`Workspace::new`] with a specific Terraform (the compatibility matrix).
    pub fn with_terraform(emu: &Emulator, terraform: Terraform) -> Self {
        let mut ws = Self::without_emulator(terraform);
        ws.set_env("THINGSPACE_BASE_URL", &emu.base_url);
        ws.set_env("THINGSPACE_CLIENT_ID", DEFAULT_CLIENT_ID);
        ws.set_env("THINGSPACE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
        ws
    }

    /// Moves the provider's "now" `secs` seconds from the real time for every later command (the test clock of
    /// src/clock.rs), instead of sleeping until a time passes. The provider honours it only with a loopback
    /// `http://` base_url, i.e. against an emulator; each command's provider processes read it once.
    pub fn set_clock_offset(&mut self, secs: i64) {
        self.set_env(TEST_OFFSET_VAR, &secs.to_string());
    }
}

/// Asserts the emulator served nothing since its log was cleared: planning, validating, importing or destroying
/// must never call ThingSpace.
pub fn assert_no_api_calls(emu: &Emulator, during: &str) {
    let reqs = emu.requests();
    assert!(reqs.is_empty(), "{during} made API calls: {reqs:?}");
}

/// The requests to `path`, in order.
pub fn on_path<'a>(reqs: &'a [Request], path: &str) -> Vec<&'a Request> {
    reqs.iter().filter(|r| r.path == path).collect()
}

/// The answer statuses of the requests to `path`, in order (`None`: no answer was delivered).
pub fn statuses(reqs: &[Request], path: &str) -> Vec<Option<u16>> {
    on_path(reqs, path).iter().map(|r| r.status).collect()
}

/// Whether a request to `path` has arrived and not been answered yet (it sits in a fault delay).
pub fn pending(reqs: &[Request], path: &str) -> bool {
    reqs.iter().any(|r| r.path == path && r.status.is_none())
}

/// Polls the emulator's request log until `done` holds (a request arrived, is waiting in a fault delay...);
/// fails the test after 60 s.
pub fn wait_for(emu: &Emulator, what: &str, done: impl Fn(&[Request]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reqs = emu.requests();
        if done(&reqs) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; requests: {reqs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
