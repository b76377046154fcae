//! The retry policy: a pure function that decides, from a call's failure and what it proves about the call's effect
//! at ThingSpace (`outcome`), whether to try again, when, and with a new token or session.
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
//! ([`Outcome::Fatal`]): it fails the same way every time.
//!
//! Nothing here sleeps or draws random numbers: the jitter is an input, so the table tests are deterministic.

use std::time::Duration;

pub use super::outcome::{Call, INVALID_TOKEN, Outcome, SESSION_EXPIRED, Verdict};

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
pub enum Decision {
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
    pub fn decide(
        &self,
        call: Call,
        outcome: &Outcome,
        attempt: &Attempt,
        jitter: f64,
    ) -> Decision {
        match call {
            Call::Login => self.decide_login(outcome, attempt, jitter),
            Call::Reset => self.decide_reset(outcome, attempt, jitter),
            Call::Token | Call::Logout => self.decide_harmless(call, outcome, attempt, jitter),
        }
    }

    /// The log-in: sent again only when the earlier send provably never reached the password check.
    fn decide_login(&self, outcome: &Outcome, attempt: &Attempt, jitter: f64) -> Decision {
        if outcome.verdict(Call::Login) != Verdict::NotProcessed {
            // Refused: a failed log-in, which must never be repeated. Unknown: it may have counted as one.
            return Decision::Stop;
        }
        if attempt.number >= self.max_attempts {
            return Decision::Stop;
        }
        if outcome.is_invalid_token() {
            // Once only, so a gateway that rejects every token can't loop.
            return if attempt.token_renewed {
                Decision::Stop
            } else {
                Decision::RenewTokenThenRetry
            };
        }
        self.repeat_unprocessed(outcome, attempt, jitter)
    }

    /// The reset: never sent again once it may have taken effect.
    fn decide_reset(&self, outcome: &Outcome, attempt: &Attempt, jitter: f64) -> Decision {
        if outcome.verdict(Call::Reset) == Verdict::Unknown || attempt.number >= MAX_RESETS {
            return Decision::Stop;
        }
        if outcome.has_code(SESSION_EXPIRED) {
            // Refused by the session service, so not applied; a fresh session fixes it, once.
            return if attempt.logged_in_again {
                Decision::Stop
            } else {
                Decision::LoginThenRetry
            };
        }
        if outcome.is_invalid_token() {
            return if attempt.token_renewed {
                Decision::Stop
            } else {
                Decision::RenewTokenThenRetry
            };
        }
        self.repeat_unprocessed(outcome, attempt, jitter)
    }

    /// A log-in or reset that provably was not processed: a connect error before sending, or a 429.
    fn repeat_unprocessed(&self, outcome: &Outcome, attempt: &Attempt, jitter: f64) -> Decision {
        let delay = match outcome {
            Outcome::NotSent if attempt.number < self.max_connect_attempts => {
                self.backoff(attempt.number, jitter)
            }
            Outcome::Status {
                status: 429,
                retry_after,
                ..
            } => self.server_asked(*retry_after, attempt.number, jitter),
            // Other proofs of "not processed" (a gateway 900902, a garbled 2xx to a log-in, a client that could not
            // build the request) come back the same way when repeated.
            _ => return Decision::Stop,
        };
        self.within_budget(delay, attempt)
    }

    /// Token and log-out: they change no password and count toward no lock-out, so whatever the gateway asks to be
    /// repeated is repeated, within the budget.
    fn decide_harmless(
        &self,
        call: Call,
        outcome: &Outcome,
        attempt: &Attempt,
        jitter: f64,
    ) -> Decision {
        if attempt.number >= self.max_attempts {
            return Decision::Stop;
        }
        if call == Call::Logout && outcome.is_invalid_token() {
            return if attempt.token_renewed {
                Decision::Stop
            } else {
                Decision::RenewTokenThenRetry
            };
        }
        let delay = match outcome {
            Outcome::NotSent if attempt.number < self.max_connect_attempts => {
                self.backoff(attempt.number, jitter)
            }
            Outcome::Status {
                status: 429 | 502..=504,
                retry_after,
                ..
            } => self.server_asked(*retry_after, attempt.number, jitter),
            // A real refusal (bad client credentials, an expired session) comes back the same way; a timeout or a
            // 500 is not something the server asked us to repeat.
            _ => return Decision::Stop,
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

    fn within_budget(&self, delay: Duration, attempt: &Attempt) -> Decision {
        if attempt.elapsed.saturating_add(delay) > self.budget {
            Decision::Stop
        } else {
            Decision::RetryAfter(delay)
        }
    }
}

/// Parses a `Retry-After` header given in seconds. The HTTP-date form is ignored (backoff applies instead).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::error::ErrorShape::{Gateway, M2m, OAuth};
    use super::super::outcome::fixtures::*;
    use super::*;
    use Call::*;
    use Decision::*;

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
        let rows: Vec<(&str, Call, Outcome, Attempt, f64, Decision)> = vec![
            // --- token and log-out: change no password, count toward no lock-out ---
            ("token connect error: base backoff, no jitter", Token, Outcome::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("token connect error, full jitter", Token, Outcome::NotSent, at(1, 0), 0.999_999, RetryAfter(ms(500) - Duration::from_nanos(250))),
            ("backoff doubles", Logout, page(503), at(3, 0), 0.0, RetryAfter(ms(1000))),
            ("backoff is capped", Logout, page(503), at(5, 0), 0.0, RetryAfter(ms(4000))),
            ("backoff cap holds with jitter", Token, page(503), at(5, 0), 0.5, RetryAfter(ms(6000))),
            ("max attempts stop", Token, page(503), at(6, 0), 0.0, Stop),
            ("connect errors: a second try", Token, Outcome::NotSent, at(2, 0), 0.0, RetryAfter(ms(500))),
            ("connect errors stop at their own cap", Token, Outcome::NotSent, at(3, 0), 0.0, Stop),
            ("log-out connect errors stop at their cap too", Logout, Outcome::NotSent, at(3, 0), 0.0, Stop),
            ("a name that does not resolve, a TLS failure: fatal", Token, Outcome::Fatal, at(1, 0), 0.0, Stop),
            ("budget exhausted", Token, Outcome::NotSent, at(2, 29_600), 0.0, Stop),
            ("budget just enough", Token, Outcome::NotSent, at(2, 29_500), 0.0, RetryAfter(ms(500))),
            ("token timeout after sending: not asked to repeat", Token, Outcome::NoAnswer, at(1, 0), 0.0, Stop),
            ("log-out dropped: not asked to repeat", Logout, Outcome::NoAnswer, at(1, 0), 0.0, Stop),
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
            ("token garbled success: the same answer comes back", Token, Outcome::Garbled, at(1, 0), 0.0, Stop),
            ("token fatal: nothing to repeat", Token, Outcome::Fatal, at(1, 0), 0.0, Stop),
            ("bad client credentials come back the same", Token, oauth(401, "invalid_client"), at(1, 0), 0.0, Stop),
            ("log-out 900901 renews the token", Logout, gw(401, "900901"), at(2, 0), 0.0, RenewTokenThenRetry),
            ("log-out 900901 renews only once", Logout, gw(401, "900901"), renewed(2), 0.0, Stop),
            ("log-out 900901 at the send cap stops", Logout, gw(401, "900901"), at(6, 0), 0.0, Stop),
            ("the token call's own 900901 is no bearer to renew", Token, gw(401, "900901"), at(1, 0), 0.0, Stop),
            ("log-out on an expired session comes back the same", Logout, m2m(400, EXPIRED), at(1, 0), 0.0, Stop),

            // --- log-in: repeated only when the earlier send provably never reached the password check ---
            ("log-in connect error: nothing sent", Login, Outcome::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("log-in connect error backoff doubles", Login, Outcome::NotSent, at(2, 0), 0.0, RetryAfter(ms(500))),
            ("log-in connect errors stop at their cap", Login, Outcome::NotSent, at(3, 0), 0.0, Stop),
            ("log-in connect error past the budget stops", Login, Outcome::NotSent, at(2, 29_600), 0.0, Stop),
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
            ("log-in timeout after sending: may have counted", Login, Outcome::NoAnswer, at(1, 0), 0.0, Stop),
            ("log-in garbled 2xx: accepted, but a repeat would not read better", Login, Outcome::Garbled, at(1, 0), 0.0, Stop),
            ("log-in rejected (400 errorCode): a counted failure", Login, m2m(400, "REQUEST_FAILED.UnexpectedError"), at(1, 0), 0.0, Stop),
            ("log-in rejected (401 errorCode): a counted failure", Login, m2m(401, "INPUT_INVALID.Credentials"), at(1, 0), 0.0, Stop),
            ("log-in fatal: nothing to repeat", Login, Outcome::Fatal, at(1, 0), 0.0, Stop),

            // --- reset: never sent again once it may have taken effect ---
            ("reset connect error: nothing sent", Reset, Outcome::NotSent, at(1, 0), 0.0, RetryAfter(ms(250))),
            ("reset connect error again backs off longer", Reset, Outcome::NotSent, at(2, 0), 0.0, RetryAfter(ms(500))),
            ("reset connect error past the budget stops", Reset, Outcome::NotSent, at(2, 29_600), 0.0, Stop),
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
            ("reset send cap (connect error)", Reset, Outcome::NotSent, at(MAX_RESETS, 0), 0.0, Stop),
            ("reset send cap (429)", Reset, too_many(Some(1)), at(MAX_RESETS, 0), 0.0, Stop),
            ("reset send cap (expired session)", Reset, m2m(400, EXPIRED), at(MAX_RESETS, 0), 0.0, Stop),
            ("reset send cap (900901)", Reset, gw(401, "900901"), at(MAX_RESETS, 0), 0.0, Stop),
            ("reset other M2M 400: refused, comes back the same", Reset, m2m(400, "INPUT_INVALID.SessionToken.Invalid"), at(1, 0), 0.0, Stop),
            ("reset gateway 900902: comes back the same", Reset, gw(401, "900902"), at(1, 0), 0.0, Stop),
            ("reset timeout after sending: may have applied", Reset, Outcome::NoAnswer, at(1, 0), 0.0, Stop),
            ("reset 500: may have applied", Reset, m2m(500, "REQUEST_FAILED.UnexpectedError"), at(1, 0), 0.0, Stop),
            ("reset 502 page: may have applied", Reset, page(502), at(1, 0), 0.0, Stop),
            ("reset 503 with Retry-After: may have applied", Reset, with_retry_after(page(503), 1), at(1, 0), 0.0, Stop),
            ("reset gateway 504: may have applied", Reset, gw(504, "101504"), at(1, 0), 0.0, Stop),
            ("reset garbled 200: applied, password lost", Reset, Outcome::Garbled, at(1, 0), 0.0, Stop),
            ("reset 400 page in no known shape: may have applied", Reset, page(400), at(1, 0), 0.0, Stop),
            ("reset fatal: nothing to repeat", Reset, Outcome::Fatal, at(1, 0), 0.0, Stop),
        ];
        for (name, call, outcome, attempt, jitter, want) in rows {
            assert_eq!(p.decide(call, &outcome, &attempt, jitter), want, "{name}");
        }
    }

    #[test]
    fn no_blind_retry_of_a_login_or_a_reset() {
        let p = Policy::default();
        let mut outcomes = vec![
            Outcome::NotSent,
            Outcome::NoAnswer,
            Outcome::Garbled,
            Outcome::Fatal,
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
            let d = p.decide(Token, &Outcome::NotSent, &at(1, 0), j);
            assert!(
                matches!(d, RetryAfter(x) if x >= ms(250) && x <= ms(500)),
                "{j}: {d:?}"
            );
        }
        assert_eq!(
            p.decide(Token, &Outcome::NotSent, &at(1, 0), f64::INFINITY),
            RetryAfter(ms(250))
        );
        assert_eq!(
            p.decide(Token, &Outcome::NotSent, &at(1, 0), 7.0),
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
            p.decide(Token, &Outcome::NotSent, &at(40, 0), 0.0),
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
