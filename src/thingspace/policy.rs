//! The pure rules of what a failed call proves and what to do next, beside their tables: a failure reduced to a
//! [`Symptom`], the [`Verdict`] each symptom gives for each call (not processed, refused, or unknown), and the
//! retry [`Policy`] that decides from them whether to send again, when, and with a new token or session
//! ([`Next`]). Nothing here sends, sleeps or draws random numbers: the jitter is an input, so the tables are
//! deterministic. The retry loop (`attempts`) classifies each failure here once and carries the verdict up.
//!
//! ThingSpace locks a user after 5 consecutive failed log-ins, and a password reset is not idempotent (a lost answer
//! may mean a new password nobody knows). So a log-in or a reset is sent again only after an answer that *proves* the
//! earlier send was not processed: a connect error before anything was sent, a 429 throttle, or the gateway's
//! `900901` (bad bearer token, refused before the service). A reset refused because the session expired was not
//! applied either: log in again (a log-in under its own rules), then reset once more. Token and log-out requests
//! change no password and count toward no lock-out, so they also ride out 502-504 within the budget.
//!
//! A connect error is retried at most [`Policy::max_connect_attempts`] sends, far fewer than the budget allows: a
//! refused connection seldom heals within seconds, and the user should hear about a wrong `base_url` at once. A name
//! that does not resolve, a failed TLS handshake or an untrusted certificate is not retried at all
//! ([`Symptom::Fatal`]): it fails the same way every time.

use std::time::Duration;

use super::endpoints::Call;
use super::error::{Error, ErrorShape, code_matches};

/// Gateway code for a bad or expired bearer token.
pub const INVALID_TOKEN: &str = "900901";
/// M2M code for a session that idled out.
pub const SESSION_EXPIRED: &str = "REQUEST_FAILED.SessionToken.Expired";

/// What a failed call looked like, reduced to what the policy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Symptom {
    /// The request never left, and another try may connect: a refused or unreachable connection, a temporary DNS
    /// failure, a proxy that refused the tunnel.
    NotSent,
    /// The request may have reached the server but no complete answer came back: a timeout after connecting, a
    /// dropped connection, a body that broke off.
    NoAnswer,
    /// An HTTP answer with an error status (anything but 2xx).
    Status {
        /// The HTTP status.
        status: u16,
        /// The error code (any shape), empty when the answer had none.
        code: String,
        /// Which of ThingSpace's error shapes the body had; `None` for anything else (an HTML page, garbage).
        shape: Option<ErrorShape>,
        /// `Retry-After` in seconds, when the answer carried one.
        retry_after: Option<Duration>,
    },
    /// A success status whose body could not be read or lacked the field it must carry.
    Garbled,
    /// Nothing was sent and no retry can help: the client could not build the request, it was asked to stop, or the
    /// connection failed in a way that repeats (a name that does not resolve, a TLS handshake or certificate failure).
    Fatal,
}

impl Symptom {
    /// Classifies a call's failure. `retry_after` comes from the answer's header.
    pub(super) fn of(error: &Error, retry_after: Option<Duration>) -> Symptom {
        #[cfg(test)]
        fixtures::count_classification();
        match error {
            // A name that does not resolve, a failed handshake or an untrusted certificate fails the same way again.
            Error::Transport(t) if !t.maybe_sent && t.cause.is_permanent() => Symptom::Fatal,
            Error::Transport(t) if !t.maybe_sent => Symptom::NotSent,
            Error::Transport(_) => Symptom::NoAnswer,
            Error::Api(api) if (200..300).contains(&api.status) => Symptom::Garbled,
            Error::Api(api) => Symptom::Status {
                status: api.status,
                code: api.code.clone(),
                shape: Some(api.shape),
                retry_after,
            },
            Error::UnexpectedBody { status, .. } if (200..300).contains(status) => Symptom::Garbled,
            Error::UnexpectedBody { status, .. } => Symptom::Status {
                status: *status,
                code: String::new(),
                shape: None,
                retry_after,
            },
            Error::Build(_) | Error::Cancelled => Symptom::Fatal,
        }
    }

    /// What this outcome proves about the effect of `call` at ThingSpace. Every row says why.
    pub fn verdict(&self, call: Call) -> Verdict {
        use Symptom::{Fatal, Garbled, NotSent, Status};
        match (call, self) {
            // Nothing left this machine.
            (_, NotSent | Fatal) => Verdict::NotProcessed,
            // A throttle answers instead of processing.
            (_, Status { status: 429, .. }) => Verdict::NotProcessed,
            // A gateway fault in the 4xx range (900901/900902 bad or missing token, 900906 no such resource...) is
            // the gateway refusing before the request reaches the service. Its 5xx faults (backend timeouts) are not.
            (
                _,
                Status {
                    status: 400..=499,
                    shape: Some(ErrorShape::Gateway),
                    ..
                },
            ) => Verdict::NotProcessed,
            // ThingSpace documents no code for a wrong password: any 400/401 from the session service is a failed
            // log-in, counted toward the lock-out.
            (
                Call::Login,
                Status {
                    status: 400 | 401,
                    shape: Some(ErrorShape::M2m),
                    ..
                },
            ) => Verdict::Refused,
            // A 2xx to a log-in means the password was accepted: not a failed log-in, whatever the body was.
            (Call::Login, Garbled) => Verdict::NotProcessed,
            // The session service refused the reset (or the log-out) in its own error shape: nothing was applied.
            (
                Call::Reset | Call::Logout,
                Status {
                    status: 400..=499,
                    shape: Some(ErrorShape::M2m),
                    ..
                },
            ) => Verdict::Refused,
            // The OAuth endpoint refused the client's credentials.
            (
                Call::Token,
                Status {
                    status: 400..=499,
                    shape: Some(ErrorShape::OAuth),
                    ..
                },
            ) => Verdict::Refused,
            // Everything else may have been processed: any 5xx (a gateway 5xx does not prove the backend did
            // nothing), a timeout or dropped connection after sending, a garbled 2xx to a reset (it was applied and
            // the password lost), any other status or an answer in no known shape.
            _ => Verdict::Unknown,
        }
    }

    pub(super) fn has_code(&self, wanted: &str) -> bool {
        matches!(self, Symptom::Status { code, .. } if code_matches(code, wanted))
    }

    /// The gateway's "bad or expired bearer token": refused before the service, and a fresh token fixes it.
    pub(super) fn is_invalid_token(&self) -> bool {
        matches!(
            self,
            Symptom::Status {
                status: 401,
                shape: Some(ErrorShape::Gateway),
                ..
            }
        ) && self.has_code(INVALID_TOKEN)
    }
}

/// What a call's failure proves about its effect at ThingSpace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Provably not processed: nothing changed and nothing was counted.
    NotProcessed,
    /// Processed and refused by the service: a refused log-in counts toward the lock-out; a refused reset (or token
    /// or log-out) changed nothing.
    Refused,
    /// It may or may not have been processed: a log-in may have counted as failed, a reset may have taken effect.
    Unknown,
}

/// The most sends of one reset call, whatever came back: each repeat follows an answer that proved the earlier
/// send was not applied, and three covers a renewed token plus a renewed session.
pub const MAX_RESETS: u32 = 3;

/// Where a call stands when it failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attempt {
    /// How many times this call has been sent so far, counting the one that just failed (1 for the first).
    pub number: u32,
    /// Time since the first send of this call.
    pub elapsed: Duration,
    /// Whether the OAuth token was already renewed for this call after a `900901`.
    pub token_renewed: bool,
    /// Reset only: whether a new session was already opened for this reset after an expired one.
    pub logged_in_again: bool,
}

/// What to do after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Wait this long, then send the same call again.
    RetryAfter(Duration),
    /// The bearer token was rejected (`900901`): fetch a new token, then send the call again.
    RenewTokenThenRetry,
    /// Reset only: the session expired, so the reset did not happen: log in again, then reset once more.
    LoginThenRetry,
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
    /// The most sends of one token, log-in or log-out call (a reset is capped at [`MAX_RESETS`]).
    pub max_attempts: u32,
    /// The most sends of one call while each fails to connect. A connect error proves nothing was sent, so a
    /// repeat is safe; but a refused connection rarely heals within seconds, and a user waiting on a wrong
    /// `base_url` should hear about it at once rather than after the whole budget.
    pub max_connect_attempts: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(20),
            budget: Duration::from_secs(30),
            max_attempts: 6,
            max_connect_attempts: 3,
        }
    }
}

impl Policy {
    /// Decides what to do after `call` failed with `outcome`. `jitter` is a number in `[0, 1)` from the caller's
    /// random source; it spreads the backoff so parallel rotations don't retry in lockstep.
    pub fn decide(&self, call: Call, outcome: &Symptom, attempt: &Attempt, jitter: f64) -> Next {
        match call {
            Call::Login => self.decide_login(outcome, attempt, jitter),
            Call::Reset => self.decide_reset(outcome, attempt, jitter),
            Call::Token | Call::Logout => self.decide_harmless(call, outcome, attempt, jitter),
        }
    }

    /// The log-in: sent again only when the earlier send provably never reached the password check.
    fn decide_login(&self, outcome: &Symptom, attempt: &Attempt, jitter: f64) -> Next {
        if outcome.verdict(Call::Login) != Verdict::NotProcessed {
            // Refused: a failed log-in, which must never be repeated. Unknown: it may have counted as one.
            return Next::Stop;
        }
        if attempt.number >= self.max_attempts {
            return Next::Stop;
        }
        if outcome.is_invalid_token() {
            // Once only, so a gateway that rejects every token can't loop.
            return if attempt.token_renewed {
                Next::Stop
            } else {
                Next::RenewTokenThenRetry
            };
        }
        self.repeat_unprocessed(outcome, attempt, jitter)
    }

    /// The reset: never sent again once it may have taken effect.
    fn decide_reset(&self, outcome: &Symptom, attempt: &Attempt, jitter: f64) -> Next {
        if outcome.verdict(Call::Reset) == Verdict::Unknown || attempt.number >= MAX_RESETS {
            return Next::Stop;
        }
        if outcome.has_code(SESSION_EXPIRED) {
            // Refused by the session service, so not applied; a fresh session fixes it, once.
            return if attempt.logged_in_again {
                Next::Stop
            } else {
                Next::LoginThenRetry
            };
        }
        if outcome.is_invalid_token() {
            return if attempt.token_renewed {
                Next::Stop
            } else {
                Next::RenewTokenThenRetry
            };
        }
        self.repeat_unprocessed(outcome, attempt, jitter)
    }

    /// A log-in or reset that provably was not processed: a connect error before sending, or a 429.
    fn repeat_unprocessed(&self, outcome: &Symptom, attempt: &Attempt, jitter: f64) -> Next {
        let delay = match outcome {
            Symptom::NotSent if attempt.number < self.max_connect_attempts => {
                self.backoff(attempt.number, jitter)
            }
            Symptom::Status {
                status: 429,
                retry_after,
                ..
            } => self.server_asked(*retry_after, attempt.number, jitter),
            // Other proofs of "not processed" (a gateway 900902, a garbled 2xx to a log-in, a client that could not
            // build the request) come back the same way when repeated.
            _ => return Next::Stop,
        };
        self.within_budget(delay, attempt)
    }

    /// Token and log-out: they change no password and count toward no lock-out, so whatever the gateway asks to be
    /// repeated is repeated, within the budget.
    fn decide_harmless(
        &self,
        call: Call,
        outcome: &Symptom,
        attempt: &Attempt,
        jitter: f64,
    ) -> Next {
        if attempt.number >= self.max_attempts {
            return Next::Stop;
        }
        if call == Call::Logout && outcome.is_invalid_token() {
            return if attempt.token_renewed {
                Next::Stop
            } else {
                Next::RenewTokenThenRetry
            };
        }
        let delay = match outcome {
            Symptom::NotSent if attempt.number < self.max_connect_attempts => {
                self.backoff(attempt.number, jitter)
            }
            Symptom::Status {
                status: 429 | 502..=504,
                retry_after,
                ..
            } => self.server_asked(*retry_after, attempt.number, jitter),
            // A real refusal (bad client credentials, an expired session) comes back the same way; a timeout or a
            // 500 is not something the server asked us to repeat.
            _ => return Next::Stop,
        };
        self.within_budget(delay, attempt)
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

    fn within_budget(&self, delay: Duration, attempt: &Attempt) -> Next {
        if attempt.elapsed.saturating_add(delay) > self.budget {
            Next::Stop
        } else {
            Next::RetryAfter(delay)
        }
    }
}

/// Parses a `Retry-After` header given in seconds. The HTTP-date form is ignored (backoff applies instead).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(super) mod fixtures {
    //! Outcomes as the table tests of this module and of `retry` write them.

    use std::cell::Cell;

    use super::*;
    use ErrorShape::{Gateway, M2m, OAuth};

    thread_local! {
        /// How many failures [`Symptom::of`] classified on this thread (the client's tests run on one thread).
        static CLASSIFIED: Cell<usize> = const { Cell::new(0) };
    }

    pub fn count_classification() {
        CLASSIFIED.with(|c| c.set(c.get() + 1));
    }

    /// The classifications so far on this thread.
    pub fn classified() -> usize {
        CLASSIFIED.with(Cell::get)
    }

    pub fn answer(status: u16, shape: Option<ErrorShape>, code: &str) -> Symptom {
        Symptom::Status {
            status,
            code: code.into(),
            shape,
            retry_after: None,
        }
    }
    pub fn m2m(status: u16, code: &str) -> Symptom {
        answer(status, Some(M2m), code)
    }
    pub fn gw(status: u16, code: &str) -> Symptom {
        answer(status, Some(Gateway), code)
    }
    pub fn oauth(status: u16, code: &str) -> Symptom {
        answer(status, Some(OAuth), code)
    }
    /// An answer in none of ThingSpace's shapes (an HTML error page, an empty body).
    pub fn page(status: u16) -> Symptom {
        answer(status, None, "")
    }
    pub fn too_many(retry_after: Option<u64>) -> Symptom {
        Symptom::Status {
            status: 429,
            code: String::new(),
            shape: None,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }
    pub fn with_retry_after(outcome: Symptom, secs: u64) -> Symptom {
        match outcome {
            Symptom::Status {
                status,
                code,
                shape,
                ..
            } => Symptom::Status {
                status,
                code,
                shape,
                retry_after: Some(Duration::from_secs(secs)),
            },
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod verdicts {
    use super::fixtures::*;
    use super::*;
    use Call::*;
    use ErrorShape::Gateway;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    const EXPIRED: &str = "REQUEST_FAILED.SessionToken.Expired";

    #[test]
    fn verdict_table() {
        use Verdict::*;
        #[rustfmt::skip]
        let rows: Vec<(&str, Call, Symptom, Verdict)> = vec![
            // Proofs that nothing was processed, for every call.
            ("connect error: nothing left", Login, Symptom::NotSent, NotProcessed),
            ("connect error: nothing left", Reset, Symptom::NotSent, NotProcessed),
            ("could not build or asked to stop before sending", Login, Symptom::Fatal, NotProcessed),
            ("could not build or asked to stop before sending", Reset, Symptom::Fatal, NotProcessed),
            ("429 throttles instead of processing", Login, too_many(None), NotProcessed),
            ("429 throttles instead of processing", Reset, too_many(Some(3)), NotProcessed),
            ("gateway 401 900901: before the service", Login, gw(401, "900901"), NotProcessed),
            ("gateway 401 900902: before the service", Login, gw(401, "900902"), NotProcessed),
            ("gateway 404 900906: before the service", Login, gw(404, "900906"), NotProcessed),
            ("gateway 403: before the service", Reset, gw(403, "900908"), NotProcessed),
            ("gateway 499: before the service", Reset, gw(499, "x"), NotProcessed),
            ("2xx to a log-in: the password was accepted", Login, Symptom::Garbled, NotProcessed),
            // The service answered in its own shape.
            ("log-in 400 errorCode: a counted failed log-in", Login, m2m(400, "INPUT_INVALID.Login.Failed"), Refused),
            ("log-in 401 errorCode: a counted failed log-in", Login, m2m(401, "x"), Refused),
            ("log-in 403 errorCode: undocumented, may have counted", Login, m2m(403, "x"), Unknown),
            ("log-in 404 errorCode: undocumented, may have counted", Login, m2m(404, "x"), Unknown),
            ("reset 400 errorCode: refused, not applied", Reset, m2m(400, EXPIRED), Refused),
            ("reset 404 errorCode: refused, not applied", Reset, m2m(404, "x"), Refused),
            ("reset 499 errorCode: refused, not applied", Reset, m2m(499, "x"), Refused),
            ("log-out 400 errorCode: refused", Logout, m2m(400, EXPIRED), Refused),
            ("token 401 OAuth: client credentials refused", Token, oauth(401, "invalid_client"), Refused),
            ("token 400 OAuth: refused", Token, oauth(400, "invalid_request"), Refused),
            // Anything that may have been processed.
            ("log-in OAuth-shaped 401: not the gateway's fault shape", Login, oauth(401, "x"), Unknown),
            ("reset OAuth-shaped 400: not the gateway's fault shape", Reset, oauth(400, "x"), Unknown),
            ("token M2M-shaped 400: not the OAuth endpoint's shape", Token, m2m(400, "x"), Unknown),
            ("log-in 401 page in no known shape", Login, page(401), Unknown),
            ("reset 400 page in no known shape", Reset, page(400), Unknown),
            ("log-in 500 errorCode", Login, m2m(500, "x"), Unknown),
            ("log-in 502 page: a gateway 5xx proves nothing about the backend", Login, page(502), Unknown),
            ("log-in 503 gateway fault", Login, gw(503, "101503"), Unknown),
            ("log-in 504 gateway fault", Login, gw(504, "101504"), Unknown),
            ("reset 500 gateway fault", Reset, gw(500, "x"), Unknown),
            ("reset 503 page", Reset, page(503), Unknown),
            ("reset 5xx in the M2M shape", Reset, m2m(503, "x"), Unknown),
            ("reset 302: not an error shape", Reset, m2m(302, "x"), Unknown),
            ("log-in 302 redirect: not followed, may have been processed", Login, gw(302, "x"), Unknown),
            ("log-in timeout or dropped after sending", Login, Symptom::NoAnswer, Unknown),
            ("reset timeout or dropped after sending", Reset, Symptom::NoAnswer, Unknown),
            ("reset garbled 2xx: applied, the password lost", Reset, Symptom::Garbled, Unknown),
            ("token garbled 2xx", Token, Symptom::Garbled, Unknown),
        ];
        for (name, call, outcome, want) in rows {
            assert_eq!(outcome.verdict(call), want, "{name} ({call:?} {outcome:?})");
        }
    }

    /// I2 as a property of the policy: over every combination of status, shape, code, attempt and jitter, a log-in
    /// is sent again only after a "not processed" outcome, a reset never after an unknown one, and neither ever past
    /// its send cap.

    #[test]
    fn outcome_classification_of_errors() {
        use crate::thingspace::error::{ApiError, TransportError};
        let t = |maybe_sent| {
            Error::Transport(TransportError {
                maybe_sent,
                ..TransportError::default()
            })
        };
        assert_eq!(Symptom::of(&t(false), None), Symptom::NotSent);
        assert_eq!(Symptom::of(&t(true), None), Symptom::NoAnswer);
        let body = |status| Error::UnexpectedBody {
            status,
            content_type: "text/html".into(),
            what: String::new(),
            excerpt: None,
        };
        assert_eq!(Symptom::of(&body(200), None), Symptom::Garbled);
        assert_eq!(Symptom::of(&body(299), None), Symptom::Garbled);
        assert_eq!(
            Symptom::of(&body(503), Some(ms(1000))),
            Symptom::Status {
                status: 503,
                code: String::new(),
                shape: None,
                retry_after: Some(ms(1000))
            }
        );
        assert_eq!(Symptom::of(&body(300), None), page(300));
        let api = |status| {
            Error::Api(ApiError {
                status,
                code: "C".into(),
                message: String::new(),
                shape: Gateway,
            })
        };
        assert_eq!(
            Symptom::of(&api(400), Some(ms(5))),
            Symptom::Status {
                status: 400,
                code: "C".into(),
                shape: Some(Gateway),
                retry_after: Some(ms(5))
            }
        );
        assert_eq!(Symptom::of(&api(199), None), gw(199, "C"));
        assert_eq!(Symptom::of(&api(200), None), Symptom::Garbled);
        assert_eq!(Symptom::of(&api(299), None), Symptom::Garbled);
        assert_eq!(Symptom::of(&Error::Cancelled, None), Symptom::Fatal);
        assert_eq!(Symptom::of(&Error::Build("x".into()), None), Symptom::Fatal);
        use crate::thingspace::network::NetCause;
        let connect = |cause| {
            Error::Transport(TransportError {
                cause,
                ..TransportError::default()
            })
        };
        for permanent in [NetCause::NameNotFound, NetCause::Tls, NetCause::Certificate] {
            assert_eq!(
                Symptom::of(&connect(permanent), None),
                Symptom::Fatal,
                "{permanent:?}"
            );
        }
        for transient in [NetCause::Refused, NetCause::Connect] {
            assert_eq!(
                Symptom::of(&connect(transient), None),
                Symptom::NotSent,
                "{transient:?}"
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod decisions {
    use super::fixtures::*;
    use super::*;
    use crate::thingspace::error::ErrorShape::{Gateway, M2m, OAuth};
    use Call::*;
    use Next::*;

    fn at(number: u32, elapsed_ms: u64) -> Attempt {
        Attempt {
            number,
            elapsed: Duration::from_millis(elapsed_ms),
            ..Attempt::default()
        }
    }
    fn renewed(number: u32) -> Attempt {
        Attempt {
            token_renewed: true,
            ..at(number, 0)
        }
    }
    fn relogged(number: u32) -> Attempt {
        Attempt {
            logged_in_again: true,
            ..at(number, 0)
        }
    }
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    const EXPIRED: &str = "REQUEST_FAILED.SessionToken.Expired";

    #[test]
    fn decision_table() {
        let p = Policy::default(); // base 500 ms, max 8 s, Retry-After cap 20 s, budget 30 s, 6 attempts
        #[rustfmt::skip]
        let rows: Vec<(&str, Call, Symptom, Attempt, f64, Next)> = vec![
            // --- token and log-out: change no password, count toward no lock-out ---
            ("token connect error: base backoff, no jitter", Token, Symptom::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("token connect error, full jitter", Token, Symptom::NotSent, at(1, 0), 0.999_999, RetryAfter(ms(500) - Duration::from_nanos(250))),
            ("backoff doubles", Logout, page(503), at(3, 0), 0.0, RetryAfter(ms(1000))),
            ("backoff is capped", Logout, page(503), at(5, 0), 0.0, RetryAfter(ms(4000))),
            ("backoff cap holds with jitter", Token, page(503), at(5, 0), 0.5, RetryAfter(ms(6000))),
            ("max attempts stop", Token, page(503), at(6, 0), 0.0, Stop),
            ("connect errors: a second try", Token, Symptom::NotSent, at(2, 0), 0.0, RetryAfter(ms(500))),
            ("connect errors stop at their own cap", Token, Symptom::NotSent, at(3, 0), 0.0, Stop),
            ("log-out connect errors stop at their cap too", Logout, Symptom::NotSent, at(3, 0), 0.0, Stop),
            ("a name that does not resolve, a TLS failure: fatal", Token, Symptom::Fatal, at(1, 0), 0.0, Stop),
            ("budget exhausted", Token, Symptom::NotSent, at(2, 29_600), 0.0, Stop),
            ("budget just enough", Token, Symptom::NotSent, at(2, 29_500), 0.0, RetryAfter(ms(500))),
            ("token timeout after sending: not asked to repeat", Token, Symptom::NoAnswer, at(1, 0), 0.0, Stop),
            ("log-out dropped: not asked to repeat", Logout, Symptom::NoAnswer, at(1, 0), 0.0, Stop),
            ("token 429 honours Retry-After", Token, too_many(Some(3)), at(1, 0), 0.9, RetryAfter(ms(3000))),
            ("token 429 Retry-After is capped", Token, too_many(Some(3600)), at(1, 0), 0.0, RetryAfter(ms(20_000))),
            ("log-out 429 Retry-After past the budget stops", Logout, too_many(Some(15)), at(2, 20_000), 0.0, Stop),
            ("log-out 429 without Retry-After backs off", Logout, too_many(None), at(2, 0), 0.0, RetryAfter(ms(500))),
            ("token 502 retried", Token, page(502), at(1, 0), 0.0, RetryAfter(ms(250))),
            ("token 503 retried", Token, page(503), at(1, 0), 0.0, RetryAfter(ms(250))),
            ("log-out 504 retried", Logout, gw(504, "101504"), at(1, 0), 0.0, RetryAfter(ms(250))),
            ("token 503 honours Retry-After", Token, with_retry_after(page(503), 4), at(1, 0), 0.0, RetryAfter(ms(4000))),
            ("token 500 is not a gateway asking to repeat", Token, page(500), at(1, 0), 0.0, Stop),
            ("token 501 is not either", Token, page(501), at(1, 0), 0.0, Stop),
            ("token 505 is not either", Token, page(505), at(1, 0), 0.0, Stop),
            ("token garbled success: the same answer comes back", Token, Symptom::Garbled, at(1, 0), 0.0, Stop),
            ("token fatal: nothing to repeat", Token, Symptom::Fatal, at(1, 0), 0.0, Stop),
            ("bad client credentials come back the same", Token, oauth(401, "invalid_client"), at(1, 0), 0.0, Stop),
            ("log-out 900901 renews the token", Logout, gw(401, "900901"), at(2, 0), 0.0, RenewTokenThenRetry),
            ("log-out 900901 renews only once", Logout, gw(401, "900901"), renewed(2), 0.0, Stop),
            ("log-out 900901 at the send cap stops", Logout, gw(401, "900901"), at(6, 0), 0.0, Stop),
            ("the token call's own 900901 is no bearer to renew", Token, gw(401, "900901"), at(1, 0), 0.0, Stop),
            ("log-out on an expired session comes back the same", Logout, m2m(400, EXPIRED), at(1, 0), 0.0, Stop),

            // --- log-in: repeated only when the earlier send provably never reached the password check ---
            ("log-in connect error: nothing sent", Login, Symptom::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("log-in connect error backoff doubles", Login, Symptom::NotSent, at(2, 0), 0.0, RetryAfter(ms(500))),
            ("log-in connect errors stop at their cap", Login, Symptom::NotSent, at(3, 0), 0.0, Stop),
            ("log-in connect error past the budget stops", Login, Symptom::NotSent, at(2, 29_600), 0.0, Stop),
            ("log-in 429 honours Retry-After", Login, too_many(Some(3)), at(1, 0), 0.9, RetryAfter(ms(3000))),
            ("log-in 429 Retry-After is capped", Login, too_many(Some(3600)), at(1, 0), 0.0, RetryAfter(ms(20_000))),
            ("log-in 429 without Retry-After backs off", Login, too_many(None), at(2, 0), 0.0, RetryAfter(ms(500))),
            ("log-in 429 Retry-After past the budget stops", Login, too_many(Some(15)), at(2, 20_000), 0.0, Stop),
            ("log-in 429 at the send cap stops", Login, too_many(Some(1)), at(6, 0), 0.0, Stop),
            ("log-in gateway 900901: refused before the service, renew the token", Login, gw(401, "900901"), at(1, 0), 0.0, RenewTokenThenRetry),
            ("log-in 900901 renews only once", Login, gw(401, "900901"), renewed(2), 0.0, Stop),
            ("log-in 900901 at the send cap stops", Login, gw(401, "900901"), at(6, 0), 0.0, Stop),
            ("log-in 900901 in the M2M shape came from the service: a failed log-in", Login, m2m(401, "900901"), at(1, 0), 0.0, Stop),
            ("log-in gateway 900902: missing token comes back the same", Login, gw(401, "900902"), at(1, 0), 0.0, Stop),
            ("log-in gateway 404: no such resource comes back the same", Login, gw(404, "900906"), at(1, 0), 0.0, Stop),
            ("log-in 502 page: the backend may have checked the password", Login, page(502), at(1, 0), 0.0, Stop),
            ("log-in 503 with Retry-After: still may have counted", Login, with_retry_after(page(503), 1), at(1, 0), 0.0, Stop),
            ("log-in gateway 504: backend timeout, may have counted", Login, gw(504, "101504"), at(1, 0), 0.0, Stop),
            ("log-in 500 from the service", Login, m2m(500, "REQUEST_FAILED.UnexpectedError"), at(1, 0), 0.0, Stop),
            ("log-in timeout after sending: may have counted", Login, Symptom::NoAnswer, at(1, 0), 0.0, Stop),
            ("log-in garbled 2xx: accepted, but a repeat would not read better", Login, Symptom::Garbled, at(1, 0), 0.0, Stop),
            ("log-in rejected (400 errorCode): a counted failure", Login, m2m(400, "REQUEST_FAILED.UnexpectedError"), at(1, 0), 0.0, Stop),
            ("log-in rejected (401 errorCode): a counted failure", Login, m2m(401, "INPUT_INVALID.Credentials"), at(1, 0), 0.0, Stop),
            ("log-in fatal: nothing to repeat", Login, Symptom::Fatal, at(1, 0), 0.0, Stop),

            // --- reset: never sent again once it may have taken effect ---
            ("reset connect error: nothing sent", Reset, Symptom::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("reset connect error again backs off longer", Reset, Symptom::NotSent, at(2, 0), 0.0, RetryAfter(ms(500))),
            ("reset connect error past the budget stops", Reset, Symptom::NotSent, at(2, 29_600), 0.0, Stop),
            ("reset 429 honours Retry-After", Reset, too_many(Some(2)), at(1, 0), 0.0, RetryAfter(ms(2000))),
            ("reset 429 Retry-After is capped", Reset, too_many(Some(999)), at(1, 0), 0.0, RetryAfter(ms(20_000))),
            ("reset 429 beyond the budget stops", Reset, too_many(Some(10)), at(1, 25_000), 0.0, Stop),
            ("reset expired session: not applied, log in again", Reset, m2m(400, EXPIRED), at(1, 0), 0.0, LoginThenRetry),
            ("reset expired session with service prefix", Reset, m2m(400, "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired"), at(1, 0), 0.0, LoginThenRetry),
            ("reset expired again after a new session: stop", Reset, m2m(400, EXPIRED), relogged(2), 0.0, Stop),
            ("reset expired code in a 5xx may have applied", Reset, m2m(500, EXPIRED), at(1, 0), 0.0, Stop),
            ("reset gateway 900901: new token", Reset, gw(401, "900901"), at(1, 0), 0.0, RenewTokenThenRetry),
            ("reset 900901 renews only once", Reset, gw(401, "900901"), renewed(2), 0.0, Stop),
            ("reset renewed token, then expired session: still one new session", Reset, m2m(400, EXPIRED), renewed(2), 0.0, LoginThenRetry),
            ("reset send cap (connect error)", Reset, Symptom::NotSent, at(MAX_RESETS, 0), 0.0, Stop),
            ("reset send cap (429)", Reset, too_many(Some(1)), at(MAX_RESETS, 0), 0.0, Stop),
            ("reset send cap (expired session)", Reset, m2m(400, EXPIRED), at(MAX_RESETS, 0), 0.0, Stop),
            ("reset send cap (900901)", Reset, gw(401, "900901"), at(MAX_RESETS, 0), 0.0, Stop),
            ("reset other M2M 400: refused, comes back the same", Reset, m2m(400, "INPUT_INVALID.SessionToken.Invalid"), at(1, 0), 0.0, Stop),
            ("reset gateway 900902: comes back the same", Reset, gw(401, "900902"), at(1, 0), 0.0, Stop),
            ("reset timeout after sending: may have applied", Reset, Symptom::NoAnswer, at(1, 0), 0.0, Stop),
            ("reset 500: may have applied", Reset, m2m(500, "REQUEST_FAILED.UnexpectedError"), at(1, 0), 0.0, Stop),
            ("reset 502 page: may have applied", Reset, page(502), at(1, 0), 0.0, Stop),
            ("reset 503 with Retry-After: may have applied", Reset, with_retry_after(page(503), 1), at(1, 0), 0.0, Stop),
            ("reset gateway 504: may have applied", Reset, gw(504, "101504"), at(1, 0), 0.0, Stop),
            ("reset garbled 200: applied, password lost", Reset, Symptom::Garbled, at(1, 0), 0.0, Stop),
            ("reset 400 page in no known shape: may have applied", Reset, page(400), at(1, 0), 0.0, Stop),
            ("reset fatal: nothing to repeat", Reset, Symptom::Fatal, at(1, 0), 0.0, Stop),
        ];
        for (name, call, outcome, attempt, jitter, want) in rows {
            assert_eq!(p.decide(call, &outcome, &attempt, jitter), want, "{name}");
        }
    }

    #[test]
    fn no_blind_retry_of_a_login_or_a_reset() {
        let p = Policy::default();
        let mut outcomes = vec![
            Symptom::NotSent,
            Symptom::NoAnswer,
            Symptom::Garbled,
            Symptom::Fatal,
        ];
        for status in [
            200, 302, 400, 401, 403, 404, 409, 429, 499, 500, 502, 503, 504, 599,
        ] {
            for shape in [None, Some(M2m), Some(Gateway), Some(OAuth)] {
                for code in [
                    "",
                    "900901",
                    "900902",
                    EXPIRED,
                    "INPUT_INVALID.Login.Failed",
                ] {
                    outcomes.push(with_retry_after(answer(status, shape, code), 1));
                    outcomes.push(answer(status, shape, code));
                }
            }
        }
        let mut retried = 0;
        for outcome in &outcomes {
            for number in 1..=8 {
                for (token_renewed, logged_in_again) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    let attempt = Attempt {
                        number,
                        elapsed: ms(100),
                        token_renewed,
                        logged_in_again,
                    };
                    for jitter in [0.0, 0.5] {
                        let login = p.decide(Login, outcome, &attempt, jitter);
                        if login != Stop {
                            retried += 1;
                            assert_eq!(
                                outcome.verdict(Login),
                                Verdict::NotProcessed,
                                "{outcome:?} {login:?}"
                            );
                            assert!(number < p.max_attempts, "{outcome:?} {attempt:?}");
                            assert_ne!(login, LoginThenRetry);
                        }
                        let reset = p.decide(Reset, outcome, &attempt, jitter);
                        if reset != Stop {
                            retried += 1;
                            assert_ne!(
                                outcome.verdict(Reset),
                                Verdict::Unknown,
                                "{outcome:?} {reset:?}"
                            );
                            assert!(number < MAX_RESETS, "{outcome:?} {attempt:?}");
                        }
                        if reset == LoginThenRetry {
                            assert!(!logged_in_again, "{outcome:?}");
                        }
                        if matches!(login, RenewTokenThenRetry)
                            || matches!(reset, RenewTokenThenRetry)
                        {
                            assert!(!token_renewed, "{outcome:?}");
                        }
                    }
                }
            }
        }
        assert!(retried > 0, "the property saw no retry at all");
    }

    #[test]
    fn nonsense_jitter_is_clamped() {
        let p = Policy::default();
        for j in [f64::NAN, -3.0, f64::INFINITY, 7.0] {
            let d = p.decide(Token, &Symptom::NotSent, &at(1, 0), j);
            assert!(
                matches!(d, RetryAfter(x) if x >= ms(250) && x <= ms(500)),
                "{j}: {d:?}"
            );
        }
        assert_eq!(
            p.decide(Token, &Symptom::NotSent, &at(1, 0), f64::INFINITY),
            RetryAfter(ms(250))
        );
        assert_eq!(
            p.decide(Token, &Symptom::NotSent, &at(1, 0), 7.0),
            RetryAfter(ms(500))
        );
    }

    #[test]
    fn backoff_doublings_saturate_for_huge_attempt_numbers() {
        let p = Policy {
            max_attempts: u32::MAX,
            max_connect_attempts: u32::MAX,
            max_delay: Duration::from_secs(1 << 20),
            budget: Duration::from_secs(1 << 30),
            ..Policy::default()
        };
        // 500 ms doubled 16 times, not 39 (which would overflow the shift).
        assert_eq!(
            p.decide(Token, &Symptom::NotSent, &at(40, 0), 0.0),
            RetryAfter(ms(500) * (1 << 16) / 2)
        );
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
}
