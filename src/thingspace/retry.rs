//! The retry policy: one pure function that decides, from a call's failure, whether and how to try again.
//!
//! A password reset is not idempotent and a failed log-in counts toward ThingSpace's lock-out, so the rules differ
//! per call. The function takes the jitter as an input, so the table tests are deterministic and nothing here sleeps.

use std::time::Duration;

use super::error::{Error, code_matches};

/// Gateway code for a bad or expired bearer token.
pub const INVALID_TOKEN: &str = "900901";
/// M2M code for a session that idled out.
pub const SESSION_EXPIRED: &str = "REQUEST_FAILED.SessionToken.Expired";

/// Which API call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `POST /api/ts/v1/oauth2/token`.
    Token,
    /// `POST /api/m2m/v1/session/login`.
    Login,
    /// `PUT /api/m2m/v1/session/password/actions/reset`.
    Reset,
    /// `POST /api/m2m/v1/session/logout`.
    Logout,
}

/// What a failed call looked like, reduced to what the policy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The request never left: a connect, DNS or TLS failure.
    NotSent,
    /// The request may have reached the server but no complete answer came back: a timeout after connecting, a
    /// dropped connection, a body that broke off.
    NoAnswer,
    /// An HTTP error answer.
    Status {
        /// The HTTP status.
        status: u16,
        /// The error code (any shape), empty when the answer had none.
        code: String,
        /// `Retry-After` in seconds, when the answer carried one.
        retry_after: Option<Duration>,
    },
    /// A success status whose body could not be read or lacked the field it must carry.
    Garbled,
    /// A failure that no retry can fix (the client could not build the request).
    Fatal,
}

impl Outcome {
    /// Classifies a call's failure. `retry_after` comes from the answer's header.
    pub fn of(error: &Error, retry_after: Option<Duration>) -> Outcome {
        match error {
            Error::Transport(t) if !t.maybe_sent => Outcome::NotSent,
            Error::Transport(_) => Outcome::NoAnswer,
            Error::Api(api) => Outcome::Status {
                status: api.status,
                code: api.code.clone(),
                retry_after,
            },
            Error::UnexpectedBody { status, .. } if (200..300).contains(status) => Outcome::Garbled,
            Error::UnexpectedBody { status, .. } => Outcome::Status {
                status: *status,
                code: String::new(),
                retry_after,
            },
            Error::Build(_) | Error::Cancelled => Outcome::Fatal,
        }
    }

    /// Whether a reset that failed this way may have changed the password.
    pub fn reset_may_have_applied(&self) -> bool {
        match self {
            Outcome::NoAnswer | Outcome::Garbled => true,
            Outcome::Status { status, .. } => *status >= 500,
            Outcome::NotSent | Outcome::Fatal => false,
        }
    }

    fn has_code(&self, wanted: &str) -> bool {
        matches!(self, Outcome::Status { code, .. } if code_matches(code, wanted))
    }
}

/// Where a call stands when it failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attempt {
    /// How many times this call has been sent so far, counting the one that just failed (1 for the first).
    pub number: u32,
    /// Time since the first send of this call.
    pub elapsed: Duration,
    /// Whether the OAuth token was already renewed for this call after a `900901`.
    pub token_renewed: bool,
}

/// What to do after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the same call again.
    RetryAfter(Duration),
    /// The bearer token was rejected (`900901`): fetch a new token, then send the call again.
    RenewTokenThenRetry,
    /// Reset only: the session expired, so the reset did not happen: log in again, then reset once more.
    LoginThenRetry,
    /// Reset only: it may or may not have taken effect. Log in once with the old password to find out; if that works,
    /// the reset did not happen and is sent once more, unless [`MAX_RESETS`] were sent already.
    ProbeLogin,
    /// Give up and report the failure.
    Stop,
}

/// The numbers the policy works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The first backoff delay; each retry doubles it.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer values are cut to this.
    pub max_retry_after: Duration,
    /// No retry starts if it would begin later than this after the call's first send.
    pub budget: Duration,
    /// The most sends of one call (token, log-in, log-out).
    pub max_attempts: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(20),
            budget: Duration::from_secs(30),
            max_attempts: 6,
        }
    }
}

/// The most sends of a reset: the first one and at most one retry.
pub const MAX_RESETS: u32 = 2;

impl Policy {
    /// Decides what to do after `call` failed with `outcome`. `jitter` is a number in `[0, 1)` from the caller's
    /// random source; it spreads the backoff so parallel rotations don't retry in lockstep.
    pub fn decide(
        &self,
        call: Call,
        outcome: &Outcome,
        attempt: &Attempt,
        jitter: f64,
    ) -> Decision {
        match call {
            Call::Reset => self.decide_reset(outcome, attempt, jitter),
            Call::Token | Call::Login | Call::Logout => {
                self.decide_safe(call, outcome, attempt, jitter)
            }
        }
    }

    /// Token, log-in and log-out: repeat what certainly did no harm, within the budget.
    fn decide_safe(
        &self,
        call: Call,
        outcome: &Outcome,
        attempt: &Attempt,
        jitter: f64,
    ) -> Decision {
        if call != Call::Token && outcome.has_code(INVALID_TOKEN) && is_status(outcome, 401) {
            // The gateway rejected the bearer token before the call reached the service: nothing happened, and a
            // fresh token fixes it. Once only, so a gateway that rejects every token can't loop.
            return if attempt.token_renewed {
                Decision::Stop
            } else {
                Decision::RenewTokenThenRetry
            };
        }
        if attempt.number >= self.max_attempts {
            return Decision::Stop;
        }
        let delay = match outcome {
            Outcome::NotSent => self.backoff(attempt.number, jitter),
            Outcome::Status {
                status: 429,
                retry_after,
                ..
            } => self.server_asked(*retry_after, attempt.number, jitter),
            Outcome::Status {
                status: 502..=504,
                retry_after,
                ..
            } => self.server_asked(*retry_after, attempt.number, jitter),
            // Everything else is either a real answer (a rejected log-in must never be repeated: ThingSpace locks the
            // user after 5), or something that may have reached the server and that we were not asked to repeat.
            _ => return Decision::Stop,
        };
        self.within_budget(delay, attempt)
    }

    /// The reset: repeated at most once, and only when it certainly did not take effect.
    fn decide_reset(&self, outcome: &Outcome, attempt: &Attempt, jitter: f64) -> Decision {
        if outcome.reset_may_have_applied() {
            // Even when no retry is left, the one check log-in tells "unchanged" apart from "maybe changed".
            return Decision::ProbeLogin;
        }
        if attempt.number >= MAX_RESETS {
            return Decision::Stop;
        }
        match outcome {
            o if o.has_code(SESSION_EXPIRED) => Decision::LoginThenRetry,
            o if o.has_code(INVALID_TOKEN) && is_status(o, 401) && !attempt.token_renewed => {
                Decision::RenewTokenThenRetry
            }
            Outcome::Status {
                status: 429,
                retry_after,
                ..
            } => self.within_budget(
                self.server_asked(*retry_after, attempt.number, jitter),
                attempt,
            ),
            // Nothing was sent, so nothing happened.
            Outcome::NotSent => self.within_budget(self.backoff(attempt.number, jitter), attempt),
            _ => Decision::Stop,
        }
    }

    /// Capped exponential backoff with "equal jitter": half the delay is fixed, half is random, so a retry never
    /// comes at once and parallel callers spread out.
    fn backoff(&self, number: u32, jitter: f64) -> Duration {
        let doublings = number.saturating_sub(1).min(16);
        let exp = self
            .base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        exp / 2 + (exp / 2).mul_f64(jitter)
    }

    /// The server's `Retry-After` (capped) when it sent one, else the backoff.
    fn server_asked(&self, retry_after: Option<Duration>, number: u32, jitter: f64) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => self.backoff(number, jitter),
        }
    }

    fn within_budget(&self, delay: Duration, attempt: &Attempt) -> Decision {
        if attempt.elapsed.saturating_add(delay) > self.budget {
            Decision::Stop
        } else {
            Decision::RetryAfter(delay)
        }
    }
}

fn is_status(outcome: &Outcome, wanted: u16) -> bool {
    matches!(outcome, Outcome::Status { status, .. } if *status == wanted)
}

/// Parses a `Retry-After` header given in seconds. The HTTP-date form is ignored (backoff applies instead).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use Call::*;
    use Decision::*;

    fn status(status: u16, code: &str) -> Outcome {
        Outcome::Status {
            status,
            code: code.into(),
            retry_after: None,
        }
    }
    fn too_many(retry_after: Option<u64>) -> Outcome {
        Outcome::Status {
            status: 429,
            code: String::new(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }
    fn at(number: u32, elapsed_ms: u64) -> Attempt {
        Attempt {
            number,
            elapsed: Duration::from_millis(elapsed_ms),
            token_renewed: false,
        }
    }
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn decision_table() {
        let p = Policy::default(); // base 500 ms, max 8 s, Retry-After cap 20 s, budget 30 s, 6 attempts
        let renewed = Attempt {
            token_renewed: true,
            ..at(1, 0)
        };
        #[rustfmt::skip]
        let rows: Vec<(&str, Call, Outcome, Attempt, f64, Decision)> = vec![
            // token, log-in, log-out: transport errors where nothing was sent
            ("token connect error retried with base backoff, no jitter", Token, Outcome::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("token connect error, full jitter", Token, Outcome::NotSent, at(1, 0), 0.999_999, RetryAfter(ms(500) - Duration::from_nanos(250))),
            ("backoff doubles", Login, Outcome::NotSent, at(3, 0), 0.0, RetryAfter(ms(1000))),
            ("backoff is capped", Logout, Outcome::NotSent, at(5, 0), 0.0, RetryAfter(ms(4000))),
            ("backoff cap holds for big attempt numbers", Token, Outcome::NotSent, at(5, 0), 0.5, RetryAfter(ms(6000))),
            ("max attempts stop", Token, Outcome::NotSent, at(6, 0), 0.0, Stop),
            ("budget exhausted", Token, Outcome::NotSent, at(2, 29_600), 0.0, Stop),
            ("budget just enough", Token, Outcome::NotSent, at(2, 29_500), 0.0, RetryAfter(ms(500))),
            // timeouts / dropped connections after sending are not repeated
            ("token timeout after sending not retried", Token, Outcome::NoAnswer, at(1, 0), 0.0, Stop),
            ("log-in dropped connection not retried", Login, Outcome::NoAnswer, at(1, 0), 0.0, Stop),
            // 429 and gateway errors
            ("429 honours Retry-After", Login, too_many(Some(3)), at(1, 0), 0.9, RetryAfter(ms(3000))),
            ("429 Retry-After is capped", Token, too_many(Some(3600)), at(1, 0), 0.0, RetryAfter(ms(20_000))),
            ("429 Retry-After past the budget stops", Login, too_many(Some(15)), at(2, 20_000), 0.0, Stop),
            ("429 without Retry-After backs off", Logout, too_many(None), at(2, 0), 0.0, RetryAfter(ms(500))),
            ("502 retried", Token, status(502, ""), at(1, 0), 0.0, RetryAfter(ms(250))),
            ("503 retried", Login, status(503, ""), at(1, 0), 0.0, RetryAfter(ms(250))),
            ("504 retried", Logout, status(504, ""), at(1, 0), 0.0, RetryAfter(ms(250))),
            ("503 honours Retry-After", Token, Outcome::Status { status: 503, code: String::new(), retry_after: Some(Duration::from_secs(4)) }, at(1, 0), 0.0, RetryAfter(ms(4000))),
            ("500 not retried", Token, status(500, ""), at(1, 0), 0.0, Stop),
            ("garbled success not retried", Login, Outcome::Garbled, at(1, 0), 0.0, Stop),
            ("fatal never retried", Token, Outcome::Fatal, at(1, 0), 0.0, Stop),
            // credentials
            ("log-in rejected (400 errorCode) never retried", Login, status(400, "REQUEST_FAILED.UnexpectedError"), at(1, 0), 0.0, Stop),
            ("log-in rejected (401 errorCode) never retried", Login, status(401, "INPUT_INVALID.Credentials"), at(1, 0), 0.0, Stop),
            ("client credentials rejected never retried", Token, status(401, "invalid_client"), at(1, 0), 0.0, Stop),
            // expired bearer token
            ("log-in 900901 renews the token", Login, status(401, "900901"), at(1, 0), 0.0, RenewTokenThenRetry),
            ("log-out 900901 renews the token", Logout, status(401, "900901"), at(2, 0), 0.0, RenewTokenThenRetry),
            ("900901 renews only once", Login, status(401, "900901"), renewed, 0.0, Stop),
            ("900902 is not renewed", Login, status(401, "900902"), at(1, 0), 0.0, Stop),
            // the reset: retried once, only when it certainly did not take effect
            ("reset expired session: log in again", Reset, status(400, "REQUEST_FAILED.SessionToken.Expired"), at(1, 0), 0.0, LoginThenRetry),
            ("reset expired session with service prefix", Reset, status(400, "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired"), at(1, 0), 0.0, LoginThenRetry),
            ("reset 900901: new token", Reset, status(401, "900901"), at(1, 0), 0.0, RenewTokenThenRetry),
            ("reset 429 honours Retry-After", Reset, too_many(Some(2)), at(1, 0), 0.0, RetryAfter(ms(2000))),
            ("reset 429 capped", Reset, too_many(Some(999)), at(1, 0), 0.0, RetryAfter(ms(20_000))),
            ("reset 429 beyond budget", Reset, too_many(Some(10)), at(1, 25_000), 0.0, Stop),
            ("reset connect error: nothing sent", Reset, Outcome::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("reset retried only once (expired)", Reset, status(400, "REQUEST_FAILED.SessionToken.Expired"), at(2, 0), 0.0, Stop),
            ("reset retried only once (900901)", Reset, status(401, "900901"), at(2, 0), 0.0, Stop),
            ("reset retried only once (429)", Reset, too_many(Some(1)), at(2, 0), 0.0, Stop),
            ("reset 900901 after a renewal stops", Reset, status(401, "900901"), renewed, 0.0, Stop),
            ("reset other 400 stops", Reset, status(400, "INPUT_INVALID.SessionToken.Invalid"), at(1, 0), 0.0, Stop),
            ("reset 401 900902 stops", Reset, status(401, "900902"), at(1, 0), 0.0, Stop),
            ("reset timeout after sending: probe", Reset, Outcome::NoAnswer, at(1, 0), 0.0, ProbeLogin),
            ("reset 500: probe", Reset, status(500, ""), at(1, 0), 0.0, ProbeLogin),
            ("reset 502: probe, not a blind retry", Reset, status(502, ""), at(1, 0), 0.0, ProbeLogin),
            ("reset 503: probe", Reset, status(503, ""), at(1, 0), 0.0, ProbeLogin),
            ("reset garbled 200: probe", Reset, Outcome::Garbled, at(1, 0), 0.0, ProbeLogin),
            ("second ambiguous reset still probes (the flow does not send a third)", Reset, Outcome::NoAnswer, at(2, 0), 0.0, ProbeLogin),
            ("reset fatal stops", Reset, Outcome::Fatal, at(1, 0), 0.0, Stop),
        ];
        for (name, call, outcome, attempt, jitter, want) in rows {
            assert_eq!(p.decide(call, &outcome, &attempt, jitter), want, "{name}");
        }
    }

    #[test]
    fn ambiguity_classification() {
        assert!(Outcome::NoAnswer.reset_may_have_applied());
        assert!(Outcome::Garbled.reset_may_have_applied());
        assert!(status(500, "").reset_may_have_applied());
        assert!(status(504, "").reset_may_have_applied());
        assert!(!status(400, "x").reset_may_have_applied());
        assert!(!too_many(None).reset_may_have_applied());
        assert!(!Outcome::NotSent.reset_may_have_applied());
    }

    #[test]
    fn nonsense_jitter_is_clamped() {
        let p = Policy::default();
        for j in [f64::NAN, -3.0, f64::INFINITY] {
            let d = p.decide(Token, &Outcome::NotSent, &at(1, 0), j);
            assert!(
                matches!(d, RetryAfter(x) if x >= ms(250) && x <= ms(500)),
                "{j}: {d:?}"
            );
        }
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn outcome_classification_of_errors() {
        use crate::thingspace::error::{ApiError, ErrorShape, TransportError};
        let t = |maybe_sent| {
            Error::Transport(TransportError {
                maybe_sent,
                timed_out: false,
                detail: String::new(),
            })
        };
        assert_eq!(Outcome::of(&t(false), None), Outcome::NotSent);
        assert_eq!(Outcome::of(&t(true), None), Outcome::NoAnswer);
        let body = |status| Error::UnexpectedBody {
            status,
            content_type: "text/html".into(),
            what: String::new(),
            excerpt: None,
        };
        assert_eq!(Outcome::of(&body(200), None), Outcome::Garbled);
        assert_eq!(
            Outcome::of(&body(503), Some(ms(1000))),
            Outcome::Status {
                status: 503,
                code: String::new(),
                retry_after: Some(ms(1000))
            }
        );
        let api = Error::Api(ApiError {
            status: 400,
            code: "C".into(),
            message: String::new(),
            shape: ErrorShape::M2m,
        });
        assert_eq!(
            Outcome::of(&api, None),
            Outcome::Status {
                status: 400,
                code: "C".into(),
                retry_after: None
            }
        );
        assert_eq!(Outcome::of(&Error::Cancelled, None), Outcome::Fatal);
    }
}
