//! The ThingSpace emulator in-process (the `thingspace-emulator` library), one per test, and its control API as
//! methods that fail the test with a clear message.
//!
//! Each test starts its own emulator on an OS-chosen port, so tests never share users, tokens, request logs or
//! faults. It runs on a thread of its own in this test process: nothing to build or find, nothing left behind
//! when the test process dies, and it stops when the [`Emulator`] is dropped. Terraform's provider process
//! reaches it over TCP like any server.

use std::time::Duration;

// Not every test crate uses every name (the same reason mod.rs allows dead code).
#[allow(unused_imports)]
pub use thingspace_emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FailedLogin, Fault, Issued, LOGIN_PATH, LOGOUT_PATH,
    Outcome, RESET_PATH, Request, Stats, TOKEN_PATH, User, When,
};

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

    /// The library handle, for what this harness does not wrap.
    pub fn handle(&self) -> &thingspace_emulator::Emulator {
        &self.inner
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
