//! The ThingSpace emulator as a child process (the release binary, so the benchmark's dev-profile driver does not
//! slow the API down), with the few control calls the benchmark needs: add users, read and clear request counts.
//! Paths and JSON types come from the emulator library.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use thingspace_emulator::NewUser;
use thingspace_emulator::paths::{REQUESTS_PATH, STATS_PATH, USERS_PATH};
pub use thingspace_emulator::{
    DEFAULT_CLIENT_ID as CLIENT_ID, DEFAULT_CLIENT_SECRET as CLIENT_SECRET, Stats,
};

use crate::Error;

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
            .post(&format!("{}{USERS_PATH}", self.base_url))
            .send_json(NewUser {
                username: username.to_owned(),
                password: password.to_owned(),
            })?;
        Ok(())
    }

    pub fn stats(&self) -> Result<Stats, Error> {
        let body = self
            .agent
            .get(&format!("{}{STATS_PATH}", self.base_url))
            .call()?
            .into_string()?;
        Ok(serde_json::from_str(&body)?)
    }

    pub fn clear_requests(&self) -> Result<(), Error> {
        self.agent
            .delete(&format!("{}{REQUESTS_PATH}", self.base_url))
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
