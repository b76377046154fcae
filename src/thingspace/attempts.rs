//! The one retry loop every call goes through: send over the [`Transport`], classify the failure once with the pure
//! rules of `policy` (its [`Symptom`] and [`Verdict`]), ask the [`Policy`] what to do next, then wait, renew the
//! token, or log in again, and send once more or give up with a [`CallFailure`] that carries the verdict.
//!
//! The loop knows no API call: what differs between calls is supplied by a [`Hook`] (how the call is sent, what
//! bearer token each send carries, how a renewal or a new log-in is carried out). "Never send again once it may have
//! taken effect" is the policy's, not the hook's: the loop only ever resends on a decision to.

use tokio::time::Instant;
use tracing::debug;

use super::endpoints::Call;
use super::error::Error;
use super::policy::{Attempt, Next, Policy, Symptom, Verdict};
use super::transport::{SendError, Transport};

/// Why a call gave up: the call that failed last, its error, and what its sends may have done at ThingSpace. The
/// verdict is the one the loop computed when it classified that failure; nothing above computes it again.
#[derive(Clone, Debug)]
pub(super) struct CallFailure {
    /// The call whose failure ended the loop: the hook's own call, or the token call (its bearer token could not be
    /// had) or the log-in (a reset's new log-in after an expired session) it made on the way.
    pub call: Call,
    pub error: Error,
    pub verdict: Verdict,
}

impl CallFailure {
    /// A call that was never sent (asked to stop while waiting for the shared token): nothing was processed.
    pub fn unsent(call: Call, error: Error) -> CallFailure {
        CallFailure {
            call,
            error,
            verdict: Verdict::NotProcessed,
        }
    }
}

/// One kind of call, as the retry loop needs it. A hook holds what its call needs (the transport, the shared token).
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
    /// first send. A failure (of the token call) means the send never left.
    async fn bearer(&mut self, last: Option<Self::Bearer>) -> Result<Self::Bearer, CallFailure>;

    /// Sends the call once.
    async fn send(&mut self, bearer: Self::Bearer) -> Result<Self::Value, SendError>;

    /// [`Next::RenewTokenThenRetry`]: what replaces `stale`, which the gateway refused.
    async fn renew(&mut self, stale: &Self::Bearer) -> Result<Self::Bearer, CallFailure>;

    /// [`Next::LoginThenRetry`]: a new session for the next send. Only a reset has a session that can expire under
    /// it; every other call stops with the failure, `expired`.
    async fn login_again(&mut self, expired: CallFailure) -> Result<(), CallFailure> {
        Err(expired)
    }
}

/// The transport and the policy every call of one client runs under.
pub(super) struct Attempts {
    pub transport: Transport,
    pub policy: Policy,
}

impl Attempts {
    /// Runs one call under the retry policy until it succeeds or the policy gives up.
    ///
    /// The budget counts from before the first token is taken, and a stop ends any wait at once (a send already on
    /// the wire is the hook's to finish or cancel).
    pub async fn run<H: Hook>(&self, hook: &mut H) -> Result<H::Value, CallFailure> {
        let started = Instant::now();
        let mut attempt = Attempt::default();
        let mut last = None;
        loop {
            let bearer = hook.bearer(last.take()).await?;
            attempt.number += 1;
            let SendError { error, retry_after } = match hook.send(bearer.clone()).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            attempt.elapsed = started.elapsed();
            // The one place a failure is classified: the verdict travels with it from here.
            let symptom = Symptom::of(&error, retry_after);
            let verdict = symptom.verdict(H::CALL);
            let failed = |error| CallFailure {
                call: H::CALL,
                error,
                verdict,
            };
            if error == Error::Cancelled {
                return Err(failed(error));
            }
            let next = self
                .policy
                .decide(H::CALL, &symptom, &attempt, fastrand::f64());
            debug!(username = hook.user(), step = H::CALL.as_str(), attempt = attempt.number, decision = ?next, "call failed");
            last = Some(match next {
                Next::RetryAfter(delay) => {
                    self.transport.sleep(delay).await.map_err(failed)?;
                    bearer
                }
                Next::RenewTokenThenRetry => {
                    attempt.token_renewed = true;
                    hook.renew(&bearer).await?
                }
                Next::LoginThenRetry => {
                    attempt.logged_in_again = true;
                    hook.login_again(failed(error)).await?;
                    bearer
                }
                Next::Stop => return Err(failed(tried(error, &attempt))),
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
