//! What a failed call proves about its effect at ThingSpace: the failure reduced to an [`Outcome`], and the
//! [`Verdict`] each outcome gives for each call (not processed, refused, or unknown). Pure and table-tested; the retry
//! policy (`retry`) decides from it what to do.

use std::time::Duration;

use super::error::{Error, ErrorShape, code_matches};

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

impl Outcome {
    /// Classifies a call's failure. `retry_after` comes from the answer's header.
    pub fn of(error: &Error, retry_after: Option<Duration>) -> Outcome {
        match error {
            // A name that does not resolve, a failed handshake or an untrusted certificate fails the same way again.
            Error::Transport(t) if !t.maybe_sent && t.cause.is_permanent() => Outcome::Fatal,
            Error::Transport(t) if !t.maybe_sent => Outcome::NotSent,
            Error::Transport(_) => Outcome::NoAnswer,
            Error::Api(api) if (200..300).contains(&api.status) => Outcome::Garbled,
            Error::Api(api) => Outcome::Status {
                status: api.status,
                code: api.code.clone(),
                shape: Some(api.shape),
                retry_after,
            },
            Error::UnexpectedBody { status, .. } if (200..300).contains(status) => Outcome::Garbled,
            Error::UnexpectedBody { status, .. } => Outcome::Status {
                status: *status,
                code: String::new(),
                shape: None,
                retry_after,
            },
            Error::Build(_) | Error::Cancelled => Outcome::Fatal,
        }
    }

    /// What this outcome proves about the effect of `call` at ThingSpace. Every row says why.
    pub fn verdict(&self, call: Call) -> Verdict {
        use Outcome::{Fatal, Garbled, NotSent, Status};
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
        matches!(self, Outcome::Status { code, .. } if code_matches(code, wanted))
    }

    /// The gateway's "bad or expired bearer token": refused before the service, and a fresh token fixes it.
    pub(super) fn is_invalid_token(&self) -> bool {
        matches!(
            self,
            Outcome::Status {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(super) mod fixtures {
    //! Outcomes as the table tests of this module and of `retry` write them.

    use super::*;
    use ErrorShape::{Gateway, M2m, OAuth};

    pub fn answer(status: u16, shape: Option<ErrorShape>, code: &str) -> Outcome {
        Outcome::Status {
            status,
            code: code.into(),
            shape,
            retry_after: None,
        }
    }
    pub fn m2m(status: u16, code: &str) -> Outcome {
        answer(status, Some(M2m), code)
    }
    pub fn gw(status: u16, code: &str) -> Outcome {
        answer(status, Some(Gateway), code)
    }
    pub fn oauth(status: u16, code: &str) -> Outcome {
        answer(status, Some(OAuth), code)
    }
    /// An answer in none of ThingSpace's shapes (an HTML error page, an empty body).
    pub fn page(status: u16) -> Outcome {
        answer(status, None, "")
    }
    pub fn too_many(retry_after: Option<u64>) -> Outcome {
        Outcome::Status {
            status: 429,
            code: String::new(),
            shape: None,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }
    pub fn with_retry_after(outcome: Outcome, secs: u64) -> Outcome {
        match outcome {
            Outcome::Status {
                status,
                code,
                shape,
                ..
            } => Outcome::Status {
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
mod tests {
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
        let rows: Vec<(&str, Call, Outcome, Verdict)> = vec![
            // Proofs that nothing was processed, for every call.
            ("connect error: nothing left", Login, Outcome::NotSent, NotProcessed),
            ("connect error: nothing left", Reset, Outcome::NotSent, NotProcessed),
            ("could not build or asked to stop before sending", Login, Outcome::Fatal, NotProcessed),
            ("could not build or asked to stop before sending", Reset, Outcome::Fatal, NotProcessed),
            ("429 throttles instead of processing", Login, too_many(None), NotProcessed),
            ("429 throttles instead of processing", Reset, too_many(Some(3)), NotProcessed),
            ("gateway 401 900901: before the service", Login, gw(401, "900901"), NotProcessed),
            ("gateway 401 900902: before the service", Login, gw(401, "900902"), NotProcessed),
            ("gateway 404 900906: before the service", Login, gw(404, "900906"), NotProcessed),
            ("gateway 403: before the service", Reset, gw(403, "900908"), NotProcessed),
            ("gateway 499: before the service", Reset, gw(499, "x"), NotProcessed),
            ("2xx to a log-in: the password was accepted", Login, Outcome::Garbled, NotProcessed),
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
            ("log-in timeout or dropped after sending", Login, Outcome::NoAnswer, Unknown),
            ("reset timeout or dropped after sending", Reset, Outcome::NoAnswer, Unknown),
            ("reset garbled 2xx: applied, the password lost", Reset, Outcome::Garbled, Unknown),
            ("token garbled 2xx", Token, Outcome::Garbled, Unknown),
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
        assert_eq!(Outcome::of(&t(false), None), Outcome::NotSent);
        assert_eq!(Outcome::of(&t(true), None), Outcome::NoAnswer);
        let body = |status| Error::UnexpectedBody {
            status,
            content_type: "text/html".into(),
            what: String::new(),
            excerpt: None,
        };
        assert_eq!(Outcome::of(&body(200), None), Outcome::Garbled);
        assert_eq!(Outcome::of(&body(299), None), Outcome::Garbled);
        assert_eq!(
            Outcome::of(&body(503), Some(ms(1000))),
            Outcome::Status {
                status: 503,
                code: String::new(),
                shape: None,
                retry_after: Some(ms(1000))
            }
        );
        assert_eq!(Outcome::of(&body(300), None), page(300));
        let api = |status| {
            Error::Api(ApiError {
                status,
                code: "C".into(),
                message: String::new(),
                shape: Gateway,
            })
        };
        assert_eq!(
            Outcome::of(&api(400), Some(ms(5))),
            Outcome::Status {
                status: 400,
                code: "C".into(),
                shape: Some(Gateway),
                retry_after: Some(ms(5))
            }
        );
        assert_eq!(Outcome::of(&api(199), None), gw(199, "C"));
        assert_eq!(Outcome::of(&api(200), None), Outcome::Garbled);
        assert_eq!(Outcome::of(&api(299), None), Outcome::Garbled);
        assert_eq!(Outcome::of(&Error::Cancelled, None), Outcome::Fatal);
        assert_eq!(Outcome::of(&Error::Build("x".into()), None), Outcome::Fatal);
        use crate::thingspace::network::NetCause;
        let connect = |cause| {
            Error::Transport(TransportError {
                cause,
                ..TransportError::default()
            })
        };
        for permanent in [NetCause::NameNotFound, NetCause::Tls, NetCause::Certificate] {
            assert_eq!(
                Outcome::of(&connect(permanent), None),
                Outcome::Fatal,
                "{permanent:?}"
            );
        }
        for transient in [NetCause::Refused, NetCause::Connect] {
            assert_eq!(
                Outcome::of(&connect(transient), None),
                Outcome::NotSent,
                "{transient:?}"
            );
        }
    }
}
