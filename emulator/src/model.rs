//! The control API's request and response bodies, defined once for the server and for every client of it (the
//! provider's acceptance tests, benches and scripts read the same JSON).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The OAuth app key the emulator accepts when it is given no client.
pub const DEFAULT_CLIENT_ID: &str = "emulator-client";
/// The secret of [`DEFAULT_CLIENT_ID`].
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";

/// A user as the control API reports it. It includes the password on purpose: tests compare it with what
/// Terraform stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
    pub locked: bool,
    /// Failed log-ins since the last successful one; 5 lock the user.
    pub consecutive_failed_logins: u32,
    /// Every failed log-in, including attempts refused because the user was locked.
    pub failed_logins: u64,
    pub successful_logins: u64,
    pub resets: u64,
    pub logouts: u64,
    /// Every failed log-in attempt, oldest first, with the password that was tried.
    #[serde(default)]
    pub failed_login_attempts: Vec<FailedLogin>,
}

/// One failed log-in attempt of a user. The attempted password is test data: it lets a test assert how many
/// failed log-ins each seed value caused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedLogin {
    /// The password the log-in sent.
    pub password: String,
    /// Emulator time of the attempt (when it was processed, which for a `late` fault is after the delay).
    pub at_ms: u64,
    /// True when the user was already locked, so the attempt was refused whatever the password.
    pub locked: bool,
}

/// What an API request did, as the request log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Processed and successful.
    Ok,
    /// A log-in with a wrong password or an unknown user.
    FailedLogin,
    /// A log-in refused because the user is locked.
    Locked,
    /// Refused by the emulated API (bad token, bad body, unknown path...), or never processed.
    Error,
    /// The answer was replaced by an injected fault (a fault status or a dropped connection).
    Fault,
}

impl Outcome {
    /// The JSON name: `ok`, `failed_login`, `locked`, `error` or `fault`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::FailedLogin => "failed_login",
            Self::Locked => "locked",
            Self::Error => "error",
            Self::Fault => "fault",
        }
    }
}

/// So a test can write `entry.outcome == "fault"`, as the JSON reads.
impl PartialEq<&str> for Outcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One API request in the log (control requests are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// The status answered. None while unanswered, and forever when no answer was delivered: the connection was
    /// dropped by a fault, or the client gave up during a delay.
    pub status: Option<u16>,
    /// The user the request acted for, once processed (the log-in's user, or the session's).
    pub username: Option<String>,
    pub outcome: Outcome,
    /// True when the request changed the emulator's state (a counted log-in attempt is not an effect; a
    /// successful log-in, a reset, a log-out or a newly minted token is).
    pub effect: bool,
    /// True when the request drew an injected fault.
    pub fault: bool,
    pub user_agent: Option<String>,
    /// Emulator time when the request arrived.
    pub at_ms: u64,
    /// Which connection the request came over: connections are numbered from 1 in the order they were accepted,
    /// so two requests with the same number shared a kept-alive connection.
    #[serde(default)]
    pub connection: u64,
    /// The error code of the answer delivered (`errorCode`, a gateway fault's `code`, or an OAuth `error`), as
    /// sent; None for no answer, a success, or a body in none of those shapes.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Emulator time when the request was processed (its effect, if any, happened then); None when it never was
    /// (answered by a `before` fault, or abandoned during a `before` delay). For a `late` fault this is after the
    /// delay, even when the client had already given up.
    #[serde(default)]
    pub processed_at_ms: Option<u64>,
}

/// Request counts per API step since the request log was last cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub token: u64,
    pub login: u64,
    pub reset: u64,
    pub logout: u64,
    /// Distinct tokens minted.
    pub tokens_issued: u64,
}

/// Every secret value the emulator ever handed out, for tests that search logs and output for leaks. Kept for
/// the emulator's lifetime: clearing the request log or replacing a user does not forget them, because a leak of
/// an old value is still a leak.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    /// OAuth access tokens, in minting order.
    pub access_tokens: Vec<String>,
    /// M2M session tokens, in log-in order.
    pub session_tokens: Vec<String>,
    /// Passwords generated by resets, in reset order.
    pub passwords: Vec<String>,
}

/// When a fault strikes relative to the request taking effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// Wait `delay_ms`, then answer the fault instead of processing: the request has no effect. With only a delay,
    /// the request is processed after it, unless the client gave up first.
    #[default]
    Before,
    /// Process the request (it takes effect), wait `delay_ms`, then answer the fault instead of the real answer. A
    /// delay here is a slow answer after the effect.
    After,
    /// Process the request after `delay_ms` even if the client has given up meanwhile (processing is detached
    /// from the connection), then answer the client, if still there, normally or with the fault. A reset that
    /// times out but applies late.
    Late,
}

/// A fault for the next `count` requests to `path` (any method), as posted to `POST /_emulator/faults`.
///
/// Build one with [`Fault::status`], [`Fault::drop_connection`] or [`Fault::delay`] and refine it with the
/// chained setters. `body` and header values may echo the request through placeholders (see the crate doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Exact request path the fault applies to.
    pub path: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub when: When,
    #[serde(default)]
    pub delay_ms: u64,
    /// Status to answer; absent with `drop: false` means "answer normally" (after the delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: String,
    /// Defaults to `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Close the connection without any HTTP response.
    #[serde(default)]
    pub drop: bool,
    /// Keep the request waiting at the emulator until it is released (`POST /_emulator/release`, or
    /// [`crate::Emulator::release`]): on arrival with `when: before`, after processing with `when: after`. Not with
    /// `late`. A client that gives up meanwhile ends the wait; a held request that is never released is a request
    /// that hangs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hold: bool,
    /// Process the request as the service refuses a wrong credential, with that refusal's effect: a log-in counts
    /// as a failed log-in with the password it sent (five lock the user), a token request is `invalid_client`, a
    /// reset has a wrong `oldPassword`, a log-out's session is expired. Exclusive with `status` and `drop`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refuse: bool,
    /// With `when: after` or `late`: replace the answer only when the real one is a success (2xx), and let an
    /// error answer through, so a malformed success never stands in for a refusal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_success_only: bool,
    /// Let this many requests to `path` through untouched before the fault applies (the second log-in of a
    /// rotation is its verification, say).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn one() -> u32 {
    1
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
            hold: false,
            refuse: false,
            on_success_only: false,
            skip: 0,
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

    /// Wait `delay_ms`, then process and answer normally.
    pub fn delay(path: &str, delay_ms: u64) -> Self {
        Self {
            delay_ms,
            ..Self::new(path)
        }
    }

    /// Keep the request waiting until it is released, then process and answer normally (with [`Fault::after`]:
    /// process first, then wait). See [`crate::Emulator::held`].
    pub fn hold(path: &str) -> Self {
        Self {
            hold: true,
            ..Self::new(path)
        }
    }

    /// Refuse the request as the service refuses a wrong credential, with that refusal's effect (a log-in counts as
    /// failed).
    pub fn refuse(path: &str) -> Self {
        Self {
            refuse: true,
            ..Self::new(path)
        }
    }

    pub fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    pub fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }

    /// Let the request take effect first, then answer with the fault.
    pub fn after(self) -> Self {
        self.when(When::After)
    }

    /// Apply the request's effect after `delay_ms` whether or not the client is still waiting.
    pub fn late(self, delay_ms: u64) -> Self {
        self.when(When::Late).delay_ms(delay_ms)
    }

    pub fn delay_ms(mut self, delay_ms: u64) -> Self {
        self.delay_ms = delay_ms;
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
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

    /// Replace the real answer only when it is a success (with [`Fault::after`] or [`Fault::late`]).
    pub fn on_success_only(mut self) -> Self {
        self.on_success_only = true;
        self
    }

    /// Let the first `n` requests to the path through before the fault applies.
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }
}

/// A request waiting at the emulator under a `hold` fault, as `GET /_emulator/held` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The request's `seq` in the request log.
    pub seq: u64,
    pub path: String,
}

/// `POST /_emulator/release`: releases the held request `seq`, or every held request when `seq` is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The answer of `POST /_emulator/release`: how many held requests it released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub released: u64,
}

/// `POST /_emulator/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
}

/// `POST /_emulator/clock`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceClock {
    pub advance_secs: f64,
}

/// The answer of `GET` and `POST /_emulator/clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub now_ms: u64,
}

/// `POST /_emulator/expire`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expire {
    #[serde(default)]
    pub tokens: bool,
    #[serde(default)]
    pub sessions: bool,
}

/// The answer of `POST /_emulator/expire`: how many tokens and sessions it ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    pub tokens_expired: u64,
    pub sessions_expired: u64,
}

/// The answer of every `/_emulator/faults` call: fault applications still pending, over all paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub pending: u64,
}

/// The answer of `DELETE /_emulator/requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleared {
    pub cleared: bool,
}

/// Every control API error: 400 for a bad body, 404 for an unknown user or endpoint, 405 for a wrong method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct ControlError {
    pub error: String,
}

impl ControlError {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_are_the_json_names() {
        for outcome in [
            Outcome::Ok,
            Outcome::FailedLogin,
            Outcome::Locked,
            Outcome::Error,
            Outcome::Fault,
        ] {
            let json = serde_json::to_value(outcome).unwrap();
            assert_eq!(json, outcome.as_str());
            assert_eq!(serde_json::from_value::<Outcome>(json).unwrap(), outcome);
            assert!(outcome == outcome.as_str());
        }
        assert!(Outcome::Ok != "fault");
    }

    #[test]
    fn a_user_view_without_attempts_still_reads() {
        // Readers of an older emulator's JSON (no failed_login_attempts) get an empty list.
        let user: User = serde_json::from_str(
            r#"{"username":"u","password":"p","locked":false,"consecutive_failed_logins":0,
                "failed_logins":0,"successful_logins":0,"resets":0,"logouts":0}"#,
        )
        .unwrap();
        assert!(user.failed_login_attempts.is_empty());
    }
}
