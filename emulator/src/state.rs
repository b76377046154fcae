//! The emulator's state machine: clients, OAuth tokens, users, sessions, the clock and the log.
//!
//! Everything here is synchronous and takes the emulator time (`now`, in ms) as a parameter, so
//! token hours, session idle expiry and lock-out are tested without sockets or sleeping. The
//! server keeps one `State` behind one mutex and never holds it across an await.

use std::collections::HashMap;

use crate::faults::FaultQueue;
use crate::holds::Holds;
use crate::model::{
    ControlError, Expire, Expired, FailedLogin, Fault, Issued, Outcome, Pending, Request, Stats,
    User,
};
use crate::paths::{LOGIN_PATH, LOGOUT_PATH, RESET_PATH, TOKEN_PATH};

/// An OAuth token is valid for one hour (unless [`State::set_token_lifetime`] says otherwise); every token request
/// inside it returns the same token.
pub const TOKEN_LIFETIME_MS: u64 = 60 * 60 * 1000;
/// A session ends after 20 minutes without use.
pub const SESSION_IDLE_MS: u64 = 20 * 60 * 1000;
/// ThingSpace locks a user after this many consecutive failed log-ins.
pub const LOCKOUT_THRESHOLD: u32 = 5;

/// A user's record; the control API shows it as a [`User`].
#[derive(Debug, Clone, Default)]
struct Account {
    password: String,
    locked: bool,
    consecutive_failed_logins: u32,
    successful_logins: u64,
    resets: u64,
    logouts: u64,
    /// Every failed attempt, in order; its length is the failed log-in count.
    failed_attempts: Vec<FailedLogin>,
}

impl Account {
    fn new(password: &str) -> Self {
        Self {
            password: password.to_owned(),
            ..Self::default()
        }
    }

    fn fail(&mut self, password: &str, now: u64) {
        self.failed_attempts.push(FailedLogin {
            password: password.to_owned(),
            at_ms: now,
            locked: self.locked,
        });
        self.consecutive_failed_logins = self.consecutive_failed_logins.saturating_add(1);
        if self.consecutive_failed_logins >= LOCKOUT_THRESHOLD {
            self.locked = true;
        }
    }
}

#[derive(Debug)]
struct Token {
    client_id: String,
    expires_at: u64,
}

#[derive(Debug)]
struct Session {
    username: String,
    last_used: u64,
}

/// A token request's answer.
#[derive(Debug, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Whole seconds left in the token's hour.
    pub expires_in: u64,
    /// True when this request minted the token; false when it returned the hour's token.
    pub minted: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BearerError {
    /// No `Authorization: Bearer` header (gateway 900902).
    Missing,
    /// Unknown, revoked or expired token (gateway 900901).
    Invalid,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong password or unknown user: the two look the same so a caller can't probe for users.
    InvalidCredentials,
    /// The user is locked; even the right password is refused.
    Locked,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    /// No `VZ-M2M-Token` header.
    Missing,
    /// The header is not a GUID.
    NotGuid,
    /// Idle for more than 20 minutes, logged out, expired by the control API, or never issued.
    Expired,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ResetError {
    WrongOldPassword,
}

#[derive(Debug, Default)]
pub struct State {
    clients: HashMap<String, String>,
    users: HashMap<String, Account>,
    tokens: HashMap<String, Token>,
    /// The token of each client's current hour.
    current_token: HashMap<String, String>,
    sessions: HashMap<String, Session>,
    /// Owners of ended sessions, so the request log can name the user of a late call.
    ended_sessions: HashMap<String, String>,
    clock_offset_ms: u64,
    next_seq: u64,
    log: Vec<Request>,
    issued: Issued,
    pub faults: FaultQueue,
    pub holds: Holds,
    /// How long a minted token lives; [`TOKEN_LIFETIME_MS`] unless set.
    token_lifetime_ms: u64,
}

impl State {
    pub fn new(clients: &[(String, String)], users: &[(String, String)]) -> Self {
        let mut state = Self {
            next_seq: 1,
            token_lifetime_ms: TOKEN_LIFETIME_MS,
            ..Self::default()
        };
        for (id, secret) in clients {
            state.clients.insert(id.clone(), secret.clone());
        }
        for (name, password) in users {
            state.put_user(name, password);
        }
        state
    }

    // ---- clock ----

    /// Emulator time: the real clock plus every `advance`.
    pub fn now(&self, real_ms: u64) -> u64 {
        real_ms.saturating_add(self.clock_offset_ms)
    }

    pub fn advance(&mut self, ms: u64) {
        self.clock_offset_ms = self.clock_offset_ms.saturating_add(ms);
    }

    // ---- OAuth ----

    /// Tokens minted from now on live `ms` (at least 1 ms) instead of an hour; tests of token renewal use seconds.
    pub fn set_token_lifetime(&mut self, ms: u64) {
        self.token_lifetime_ms = ms.max(1);
    }

    pub fn client_secret_matches(&self, client_id: &str, secret: &str) -> bool {
        self.clients
            .get(client_id)
            .is_some_and(|s| constant_time_eq(s.as_bytes(), secret.as_bytes()))
    }

    /// Returns the client's token for its current hour, minting one when there is none.
    pub fn issue_token(&mut self, client_id: &str, now: u64) -> IssuedToken {
        if let Some(existing) = self.current_token.get(client_id)
            && let Some(token) = self.tokens.get(existing)
            && now < token.expires_at
        {
            return IssuedToken {
                access_token: existing.clone(),
                expires_in: (token.expires_at - now) / 1000,
                minted: false,
            };
        }
        // The previous hour's token is dead; drop it so the maps don't grow forever.
        if let Some(old) = self.current_token.remove(client_id) {
            self.tokens.remove(&old);
        }
        let access_token = random_uuid();
        self.tokens.insert(
            access_token.clone(),
            Token {
                client_id: client_id.to_owned(),
                expires_at: now.saturating_add(self.token_lifetime_ms),
            },
        );
        self.current_token
            .insert(client_id.to_owned(), access_token.clone());
        self.issued.access_tokens.push(access_token.clone());
        IssuedToken {
            access_token,
            expires_in: self.token_lifetime_ms / 1000,
            minted: true,
        }
    }

    /// Revokes `token` if it belongs to `client_id`. Returns whether a live token was revoked.
    pub fn revoke_token(&mut self, client_id: &str, token: &str) -> bool {
        if self
            .tokens
            .get(token)
            .is_some_and(|t| t.client_id == client_id)
        {
            self.tokens.remove(token);
            self.current_token.remove(client_id);
            return true;
        }
        false
    }

    /// The gateway's check of an `Authorization` header value.
    pub fn check_bearer(&self, authorization: Option<&str>, now: u64) -> Result<(), BearerError> {
        let token = authorization
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(BearerError::Missing)?;
        match self.tokens.get(token) {
            Some(t) if now < t.expires_at => Ok(()),
            _ => Err(BearerError::Invalid),
        }
    }

    /// Invalidates every OAuth token; the next token request mints a new one.
    pub fn expire_tokens(&mut self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        self.current_token.clear();
        n
    }

    // ---- users and sessions ----

    /// Creates or replaces a user: unlocked, with zeroed counters.
    pub fn put_user(&mut self, username: &str, password: &str) {
        self.users
            .insert(username.to_owned(), Account::new(password));
    }

    pub fn user_view(&self, username: &str) -> Option<User> {
        self.users.get(username).map(|u| User {
            username: username.to_owned(),
            password: u.password.clone(),
            locked: u.locked,
            consecutive_failed_logins: u.consecutive_failed_logins,
            failed_logins: u64::try_from(u.failed_attempts.len()).unwrap_or(u64::MAX),
            successful_logins: u.successful_logins,
            resets: u.resets,
            logouts: u.logouts,
            failed_login_attempts: u.failed_attempts.clone(),
        })
    }

    /// Every user, ordered by name.
    pub fn user_views(&self) -> Vec<User> {
        self.usernames()
            .iter()
            .filter_map(|n| self.user_view(n))
            .collect()
    }

    pub fn usernames(&self) -> Vec<String> {
        let mut names: Vec<String> = self.users.keys().cloned().collect();
        names.sort();
        names
    }

    /// A session log-in. Five consecutive failures lock the user; a success resets the count.
    /// Attempts refused because the user is locked count as failed log-ins too (the client
    /// spent an attempt), but can't lock "more". Every failed attempt is recorded with the
    /// password it tried.
    pub fn login(
        &mut self,
        username: &str,
        password: &str,
        now: u64,
    ) -> Result<String, LoginError> {
        let Some(user) = self.users.get_mut(username) else {
            return Err(LoginError::InvalidCredentials);
        };
        if user.locked {
            user.fail(password, now);
            return Err(LoginError::Locked);
        }
        if !constant_time_eq(user.password.as_bytes(), password.as_bytes()) {
            user.fail(password, now);
            return Err(LoginError::InvalidCredentials);
        }
        user.consecutive_failed_logins = 0;
        user.successful_logins += 1;
        let token = random_uuid();
        self.issued.session_tokens.push(token.clone());
        self.sessions.insert(
            token.clone(),
            Session {
                username: username.to_owned(),
                last_used: now,
            },
        );
        Ok(token)
    }

    /// A log-in refused as if its password were wrong, whatever it was (a `refuse` fault): counted like any failed
    /// log-in, with the password it sent.
    pub fn refuse_login(&mut self, username: &str, password: &str, now: u64) -> LoginError {
        let Some(user) = self.users.get_mut(username) else {
            return LoginError::InvalidCredentials;
        };
        let locked = user.locked;
        user.fail(password, now);
        if locked {
            LoginError::Locked
        } else {
            LoginError::InvalidCredentials
        }
    }

    /// Resolves a `VZ-M2M-Token` header to its session's user, refreshing the idle timer.
    pub fn use_session(&mut self, header: Option<&str>, now: u64) -> Result<String, SessionError> {
        let raw = header.map(str::trim).filter(|h| !h.is_empty());
        let raw = raw.ok_or(SessionError::Missing)?;
        if !is_guid(raw) {
            return Err(SessionError::NotGuid);
        }
        let key = raw.to_ascii_lowercase();
        let Some(session) = self.sessions.get_mut(&key) else {
            return Err(SessionError::Expired);
        };
        if now.saturating_sub(session.last_used) > SESSION_IDLE_MS
            || !self.users.contains_key(&session.username)
        {
            self.end_session(&key);
            return Err(SessionError::Expired);
        }
        session.last_used = now;
        Ok(session.username.clone())
    }

    /// Resets the user's password to a new random one, effective at once. What a reset does to
    /// the user's other sessions is undocumented; the emulator leaves them alive.
    pub fn reset_password(
        &mut self,
        username: &str,
        old_password: &str,
    ) -> Result<String, ResetError> {
        let user = self
            .users
            .get_mut(username)
            .ok_or(ResetError::WrongOldPassword)?;
        if !constant_time_eq(user.password.as_bytes(), old_password.as_bytes()) {
            return Err(ResetError::WrongOldPassword);
        }
        let mut new_password = random_password();
        while new_password == user.password {
            new_password = random_password();
        }
        user.password = new_password.clone();
        user.resets += 1;
        self.issued.passwords.push(new_password.clone());
        Ok(new_password)
    }

    fn end_session(&mut self, key: &str) -> Option<String> {
        let session = self.sessions.remove(key)?;
        self.ended_sessions
            .insert(key.to_owned(), session.username.clone());
        Some(session.username)
    }

    /// The user whose session `header` names, when that session has ended.
    pub fn ended_session_user(&self, header: Option<&str>) -> Option<String> {
        let key = header?.trim().to_ascii_lowercase();
        self.ended_sessions.get(&key).cloned()
    }

    /// Ends a session that `use_session` just validated.
    pub fn logout(&mut self, session_token: &str) {
        if let Some(username) = self.end_session(&session_token.trim().to_ascii_lowercase())
            && let Some(user) = self.users.get_mut(&username)
        {
            user.logouts += 1;
        }
    }

    /// Ends every session; their next use answers `SessionToken.Expired`.
    pub fn expire_sessions(&mut self) -> usize {
        let keys: Vec<String> = self.sessions.keys().cloned().collect();
        for key in &keys {
            self.end_session(key);
        }
        keys.len()
    }

    /// Every access token, session token and generated password handed out so far.
    pub fn issued(&self) -> &Issued {
        &self.issued
    }

    // ---- control operations shared by the control API and the Rust handle ----

    /// Creates or replaces a user (unlocked, counters zeroed) and returns its view.
    pub fn add_user(&mut self, username: &str, password: &str) -> Result<User, ControlError> {
        if username.is_empty() {
            return Err(ControlError::new("username must not be empty"));
        }
        self.put_user(username, password);
        self.user_view(username)
            .ok_or_else(|| ControlError::new("user vanished"))
    }

    /// Checks and queues a fault; returns the pending count.
    pub fn add_fault(&mut self, fault: &Fault) -> Result<Pending, ControlError> {
        self.faults
            .push(fault)
            .map(|pending| Pending { pending })
            .map_err(ControlError::new)
    }

    pub fn pending_faults(&self) -> Pending {
        Pending {
            pending: self.faults.pending(),
        }
    }

    /// Ends OAuth tokens and/or sessions now.
    pub fn expire(&mut self, what: Expire) -> Expired {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Expired {
            tokens_expired: if what.tokens {
                count(self.expire_tokens())
            } else {
                0
            },
            sessions_expired: if what.sessions {
                count(self.expire_sessions())
            } else {
                0
            },
        }
    }

    // ---- request log ----

    /// Opens a log entry for a request as it starts; the server fills it in as it progresses.
    pub fn log_start(
        &mut self,
        method: &str,
        path: &str,
        user_agent: Option<String>,
        fault: bool,
        now: u64,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.log.push(Request {
            seq,
            method: method.to_owned(),
            path: path.to_owned(),
            status: None,
            username: None,
            // If the request never finishes (a dropped or abandoned connection) this stands.
            outcome: if fault {
                Outcome::Fault
            } else {
                Outcome::Error
            },
            effect: false,
            fault,
            user_agent,
            at_ms: now,
            // The server fills in the connection and, once answered, the answer's error code.
            connection: 0,
            error_code: None,
            processed_at_ms: None,
        });
        seq
    }

    /// The entry for `seq`, unless the log was cleared since.
    pub fn log_entry(&mut self, seq: u64) -> Option<&mut Request> {
        // Entries are appended in seq order, so a binary search finds them after a clear too.
        let idx = self.log.binary_search_by_key(&seq, |e| e.seq).ok()?;
        self.log.get_mut(idx)
    }

    pub fn log(&self) -> &[Request] {
        &self.log
    }

    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    pub fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        for e in &self.log {
            match e.path.as_str() {
                TOKEN_PATH => {
                    stats.token += 1;
                    if e.effect {
                        stats.tokens_issued += 1;
                    }
                }
                LOGIN_PATH => stats.login += 1,
                RESET_PATH => stats.reset += 1,
                LOGOUT_PATH => stats.logout += 1,
                _ => {}
            }
        }
        stats
    }
}

/// Compares secrets without an early exit, so timing doesn't reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random version 4 UUID, lowercase. fastrand is not a CSPRNG; it is enough for an emulator.
pub fn random_uuid() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// 12 alphanumeric characters with at least one upper case letter, one lower case letter and
/// one digit, like the documentation's `Wh0a1545a84d`.
pub fn random_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"0123456789";
    let pick = |set: &[u8]| char::from(set[fastrand::usize(..set.len())]);
    let mut chars: Vec<char> = vec![pick(UPPER), pick(LOWER), pick(DIGIT)];
    let all: Vec<u8> = [UPPER, LOWER, DIGIT].concat();
    while chars.len() < 12 {
        chars.push(pick(&all));
    }
    fastrand::shuffle(&mut chars);
    chars.into_iter().collect()
}

/// True for the 8-4-4-4-12 hex form of a GUID.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
