//! The one retry loop every call goes through: send, ask the pure policy ([`super::retry::Policy::decide`]) what the
//! failure allows, then wait, renew the token, or log in again, and send once more or give up.
//!
//! What differs between calls is supplied by a [`Hook`]: how the call is sent, what bearer token each send carries,
//! and how a decision beyond a wait is carried out. The reset's hook is the one with special decisions: it logs in
//! again after an expired session, and takes the shared token anew before every send. "Never send again once it may
//! have taken effect" is the policy's, not the hook's: the loop only ever resends on a decision to.

use tokio::time::Instant;
use tracing::debug;

use super::client::Client;
use super::error::Error;
use super::http::Failure;
use super::retry::{Attempt, Call, Decision, Outcome};

/// Why a call's retry loop gave up.
pub(super) enum Failed {
    /// The bearer token for a send could not be had, so that send never left.
    Token(Error),
    /// The last send failed and the policy says not to send again, or the provider was asked to stop.
    Call(Error),
    /// Reset only: the new log-in after an expired session failed (as a log-in, under the log-in rules).
    Relogin(Box<Failed>),
}

impl Failed {
    pub(super) fn into_error(self) -> Error {
        match self {
            Failed::Token(e) | Failed::Call(e) => e,
            Failed::Relogin(failed) => failed.into_error(),
        }
    }
}

/// One kind of call, as the retry loop needs it.
pub(super) trait Hook {
    /// What a successful send gives.
    type Value;
    /// What each send carries that the policy may ask to renew: the bearer token, or nothing (`()`) for the token
    /// call itself.
    type Bearer: Clone;
    /// The call, for the policy and the log.
    const CALL: Call;

    /// The user the call is for, for the log.
    fn user(&self) -> Option<&str>;

    /// What the next send carries. `last` is what the previous send carried (or its renewal); `None` before the
    /// first send. An error means the send never left.
    async fn bearer(
        &mut self,
        client: &Client,
        last: Option<Self::Bearer>,
    ) -> Result<Self::Bearer, Error>;

    /// Sends the call once.
    async fn send(&mut self, client: &Client, bearer: Self::Bearer)
    -> Result<Self::Value, Failure>;

    /// [`Decision::RenewTokenThenRetry`]: what replaces `stale`, which the gateway refused.
    async fn renew(&mut self, client: &Client, stale: &Self::Bearer)
    -> Result<Self::Bearer, Error>;

    /// [`Decision::LoginThenRetry`]: a new session for the next send. Only a reset has a session that can expire
    /// under it; every other call stops with the failure, `error`.
    async fn login_again(&mut self, _client: &Client, error: Error) -> Result<(), Failed> {
        Err(Failed::Call(error))
    }
}

impl Client {
    /// Runs one call under the retry policy until it succeeds or the policy gives up.
    ///
    /// The budget counts from before the first token is taken, and a stop ends any wait at once (a send already on
    /// the wire is the hook's to finish or cancel).
    pub(super) async fn with_retries<H: Hook>(&self, hook: &mut H) -> Result<H::Value, Failed> {
        let started = Instant::now();
        let mut attempt = Attempt::default();
        let mut last = None;
        loop {
            let bearer = hook
                .bearer(self, last.take())
                .await
                .map_err(Failed::Token)?;
            attempt.number += 1;
            let failure = match hook.send(self, bearer.clone()).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if failure.error == Error::Cancelled {
                return Err(Failed::Call(Error::Cancelled));
            }
            attempt.elapsed = started.elapsed();
            let outcome = Outcome::of(&failure.error, failure.retry_after);
            let decision = self
                .inner
                .policy
                .decide(H::CALL, &outcome, &attempt, fastrand::f64());
            debug!(username = hook.user(), step = call_name(H::CALL), attempt = attempt.number, decision = ?decision, "call failed");
            last = Some(match decision {
                Decision::RetryAfter(delay) => {
                    self.sleep(delay).await.map_err(Failed::Call)?;
                    bearer
                }
                Decision::RenewTokenThenRetry => {
                    attempt.token_renewed = true;
                    hook.renew(self, &bearer).await.map_err(Failed::Token)?
                }
                Decision::LoginThenRetry => {
                    attempt.logged_in_again = true;
                    hook.login_again(self, failure.error).await?;
                    bearer
                }
                Decision::Stop => return Err(Failed::Call(tried(failure.error, &attempt))),
            });
        }
    }
}

/// A network failure with how often and how long its call was tried, for the message.
fn tried(mut error: Error, attempt: &Attempt) -> Error {
    if let Error::Transport(t) = &mut error {
        t.attempts = attempt.number;
        t.elapsed = attempt.elapsed;
    }
    error
}

/// The call's name in the log, the same as its [`super::Step`]'s.
fn call_name(call: Call) -> &'static str {
    match call {
        Call::Token => "token",
        Call::Login => "log-in",
        Call::Reset => "reset",
        Call::Logout => "log-out",
    }
}
