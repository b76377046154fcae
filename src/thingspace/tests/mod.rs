//! Tests of the rotation flow against the ThingSpace emulator, by subject: one behaviour per test, each asserting on
//! what the emulator recorded (its request log, the user's failed log-ins, resets and password, the secrets it
//! handed out) and on what the client returned.
//! - `flow`: the whole rotation, connections, the shared token;
//! - `login`: every outcome of the log-in; `reset`: every outcome of the reset;
//! - `stop`: the stop signal before, during and after each call;
//! - `secrets`: echoed secrets in messages, and the trace log;
//! - `network`: failures to connect, trust of a test-made CA, a CONNECT proxy;
//! - `verdict`: each failure classified once, its verdict carried to the rotation error.

mod flow;
mod login;
mod network;
mod reset;
mod secrets;
mod stop;
mod verdict;

use std::time::Duration;

use secrecy::SecretString;

use super::testing::{CLIENT_SECRET, Emu};

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

const SECOND: Duration = Duration::from_secs(1);

/// Asserts that no secret in play shows up in a message: the password tried, the user's password now, the client
/// secret, and every token the emulator handed out.
fn assert_no_secret(text: &str, emu: &Emu, user: &str, old: &str) {
    let mut secrets = vec![old.to_owned(), emu.password(user), CLIENT_SECRET.to_owned()];
    secrets.extend(emu.issued_tokens());
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "{s:?} leaked into: {text}");
    }
}
