//! The ThingSpace emulator as a child process, with the few control calls the benchmark needs: add users, read and
//! clear request counts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde::Deserialize;

use crate::Error;

/// The OAuth client the emulator accepts when started without `--client`.
pub const CLIENT_ID: &str = "emulator-client";
/// The secret of [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "emulator-secret";

/// Request counts per API path since the log was last cleared (`GET /_emulator/stats`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Stats {
    pub token: u64,
    pub login: u64,
    pub reset: u64,
    pub logout: u64,
}

/// A running emulator, killed when dropped.
pub struct Emulator {
    pub base_url: String,
    child: Child,
    /// Held open so the emulator (started with `--exit-on-stdin-eof`) exits if we die without dropping it.
    _stdin: Option<ChildStdin>,
    agent: ureq::Agent,
}

impl Emulator {
    pub fn start(bin: &Path) -> Result<Self, Error> {
        let mut child = Command::new(bin)
            .args(["--exit-on-stdin-eof", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Failed(format!("cannot start {}: {e}", bin.display())))?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let base_url = line.trim().trim_end_matches('/').to_owned();
        if !base_url.starts_with("http://") {
            let _ = child.kill();
            return Err(Error::Failed(format!(
                "the emulator printed {base_url:?} instead of its URL"
            )));
        }
        Ok(Self {
            base_url,
            child,
            _stdin: stdin,
            agent: ureq::Agent::new(),
        })
    }

    pub fn add_user(&self, username: &str, password: &str) -> Result<(), Error> {
        self.agent
            .post(&format!("{}/_emulator/users", self.base_url))
            .send_json(serde_json::json!({ "username": username, "password": password }))?;
        Ok(())
    }

    pub fn stats(&self) -> Result<Stats, Error> {
        let body = self
            .agent
            .get(&format!("{}/_emulator/stats", self.base_url))
            .call()?
            .into_string()?;
        Ok(serde_json::from_str(&body)?)
    }

    pub fn clear_requests(&self) -> Result<(), Error> {
        self.agent
            .delete(&format!("{}/_emulator/requests", self.base_url))
            .call()?;
        Ok(())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
