//! The failure of a whole rotation as the resource sees it: what it did at ThingSpace ([`Effect`], recorded in
//! state) and the summary and detail of the Terraform diagnostic, which say what state the password is in and what
//! to do; and the one translation from a call's failure to it, which reads the verdict the failure carries.

use std::fmt;

use super::attempts::CallFailure;
use super::endpoints::Call;
use super::error::{ApiError, Error, ErrorShape};
use super::network::Route;
use super::policy::Verdict;

/// What a failed rotation did at ThingSpace, for the resource to record. Only the three effects other than
/// [`Effect::None`] need evidence in state: each of them blocks further log-ins with the password that was tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing that counts happened: no log-in was sent, or it provably was not processed, or it succeeded and the
    /// reset provably was not applied. The password is unchanged and no failed log-in was counted.
    None,
    /// ThingSpace rejected the log-in (400/401 in the M2M errorCode shape): a counted failed log-in.
    LoginRejected,
    /// ThingSpace refused the log-in because the user is locked: no password works until Verizon support unlocks it.
    UserLocked,
    /// A log-in was sent and its outcome is unknown (5xx, timeout, dropped connection, an unreadable error answer):
    /// it may have counted as a failed log-in.
    LoginUnknown,
    /// A reset was sent and its outcome is unknown (5xx, timeout, dropped connection, a garbled 2xx): ThingSpace may
    /// now hold a new password nobody knows.
    ResetUnknown,
}

const LOCKOUT_NOTE: &str = "ThingSpace locks a user after 5 consecutive failed log-ins, and only Verizon support can \
                            unlock it.";

/// Why a rotation failed. `summary()` and `detail()` give a diagnostic's two parts; Display joins them; `effect()`
/// says what happened at ThingSpace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateError {
    /// The OAuth access token needed before `step` could not be obtained. With [`Call::Login`], no log-in was
    /// processed; with [`Call::Reset`], the log-in succeeded and no reset was applied; with [`Call::Token`], it was
    /// a connection check that logs in as no user. The password is unchanged.
    Token {
        /// The call the token was for: [`Call::Login`], [`Call::Reset`], or [`Call::Token`] for a connection check.
        step: Call,
        /// The token call's failure.
        error: Error,
        /// Where the token call went, for the hint about a wrong `base_url`.
        route: Route,
    },
    /// The log-in was not processed (never sent, throttled, refused by the gateway before the service), or
    /// ThingSpace accepted the password and its answer could not be read. No failed log-in was counted; the password
    /// is unchanged.
    Login {
        /// The user.
        username: String,
        /// The log-in call's failure.
        error: Error,
    },
    /// ThingSpace rejected the log-in (a 400/401 error-code answer): a failed log-in that counts toward the lock-out.
    LoginRejected {
        /// The user.
        username: String,
        /// ThingSpace's answer.
        error: ApiError,
    },
    /// ThingSpace refused the log-in because the user is locked (see [`ApiError::is_user_locked`]).
    UserLocked {
        /// The user.
        username: String,
        /// ThingSpace's answer.
        error: ApiError,
    },
    /// The log-in was sent and its outcome is unknown: it may have counted as a failed log-in.
    LoginUnknown {
        /// The user.
        username: String,
        /// The log-in call's failure.
        error: Error,
    },
    /// The log-in succeeded and the reset provably was not applied (refused by the service, throttled, never sent).
    /// The password is unchanged.
    ResetFailed {
        /// The user.
        username: String,
        /// The reset call's failure.
        error: Error,
    },
    /// The reset was sent and its outcome is unknown: it may have taken effect, and the new password is unknown.
    ResetUnknown {
        /// The user.
        username: String,
        /// The reset call's failure.
        error: Error,
    },
    /// The provider was asked to stop before `step` was sent: with [`Call::Login`], no log-in was processed; with
    /// [`Call::Reset`], the log-in succeeded and no reset was applied. The password is unchanged.
    Cancelled {
        /// The user.
        username: String,
        /// The call that was not sent: [`Call::Login`] or [`Call::Reset`].
        step: Call,
    },
}

impl RotateError {
    /// What this failure did at ThingSpace, for the resource to record.
    pub fn effect(&self) -> Effect {
        match self {
            RotateError::Token { .. }
            | RotateError::Login { .. }
            | RotateError::ResetFailed { .. }
            | RotateError::Cancelled { .. } => Effect::None,
            RotateError::LoginRejected { .. } => Effect::LoginRejected,
            RotateError::UserLocked { .. } => Effect::UserLocked,
            RotateError::LoginUnknown { .. } => Effect::LoginUnknown,
            RotateError::ResetUnknown { .. } => Effect::ResetUnknown,
        }
    }

    /// A one-line summary for a diagnostic.
    pub fn summary(&self) -> String {
        match self {
            RotateError::Token { .. } => "Could not get a ThingSpace API access token".to_owned(),
            RotateError::Login { username, .. } => {
                format!("Could not log in to ThingSpace as user {username:?}")
            }
            RotateError::LoginRejected { username, .. } => {
                format!("ThingSpace log-in failed for user {username:?}")
            }
            RotateError::UserLocked { username, .. } => {
                format!("ThingSpace user {username:?} is locked")
            }
            RotateError::LoginUnknown { username, .. } => {
                format!("The log-in for user {username:?} may have counted as a failed log-in")
            }
            RotateError::ResetFailed { username, .. } => {
                format!(
                    "The password reset for user {username:?} failed; the password is unchanged"
                )
            }
            RotateError::ResetUnknown { username, .. } => {
                format!("The password reset for user {username:?} may have taken effect")
            }
            RotateError::Cancelled { username, step } => {
                format!("Password rotation for user {username:?} cancelled during the {step} step")
            }
        }
    }

    /// The detail for a diagnostic: what ThingSpace answered, what state the password is in, what to do.
    pub fn detail(&self) -> String {
        match self {
            RotateError::Token { step, error, route } => {
                let hint = match error {
                    Error::Api(api) if matches!(api.status, 400 | 401) => {
                        " Check client_id and client_secret (the ThingSpace project's app key and secret).".to_owned()
                    }
                    error if not_found(error) => format!(" {}", wrong_path(Some(route))),
                    _ => String::new(),
                };
                let what = match step {
                    Call::Reset => "The log-in succeeded, but no reset was applied",
                    // A connection check (the thingspace_connection data source) logs in as no user at all.
                    Call::Token => {
                        return format!(
                            "The token request failed: {}.{hint} This check logs in as no user, so it cannot cost a \
                             failed log-in; rotations with these settings would fail the same way.",
                            sentence(error)
                        );
                    }
                    _ => "No log-in was processed, so no failed log-in was counted",
                };
                format!(
                    "The token request failed: {}.{hint} {what}; the password is unchanged, and the next apply \
                     tries again.",
                    sentence(error)
                )
            }
            RotateError::Login { error, .. } => {
                if not_found(error) {
                    format!(
                        "The log-in was not processed: {}. {} ThingSpace did not check the password, so no \
                         failed log-in was counted, and the password is unchanged; the next apply tries again.",
                        sentence(error),
                        wrong_path(None)
                    )
                } else if error.status().is_some_and(|s| (200..300).contains(&s)) {
                    format!(
                        "ThingSpace accepted the log-in, but its answer could not be read: {}. No failed log-in \
                         was counted, nothing was reset, and the password is unchanged; the next apply tries again.",
                        sentence(error)
                    )
                } else {
                    format!(
                        "The log-in was not processed: {}. ThingSpace did not check the password, so no failed \
                         log-in was counted, and the password is unchanged; the next apply tries again.",
                        sentence(error)
                    )
                }
            }
            RotateError::LoginRejected { username, error } => format!(
                "ThingSpace rejected the log-in for user {username:?}: {}. This counts as a failed log-in. \
                 {LOCKOUT_NOTE} So the provider will not log in with this password again. Nothing was reset; the \
                 password is unchanged.",
                sentence(error)
            ),
            RotateError::UserLocked { username, error } => format!(
                "ThingSpace refused the log-in for user {username:?} because the user is locked: {}. A locked user is \
                 refused whatever the password, and only Verizon support can unlock it. So the provider makes no \
                 further log-in for this user. Nothing was reset.",
                sentence(error)
            ),
            RotateError::LoginUnknown { username, error } => format!(
                "The log-in for user {username:?} was sent, but its outcome is unknown: {}. ThingSpace may have \
                 checked the password and counted a failed log-in. {LOCKOUT_NOTE} So the provider will not log in \
                 with this password again by itself. Nothing was reset; the password is unchanged.",
                sentence(error)
            ),
            RotateError::ResetFailed { error, .. } => format!(
                "The reset was not applied: {}. The log-in succeeded, so no failed log-in was counted, and the \
                 password is unchanged; the next apply tries again.",
                sentence(error)
            ),
            RotateError::ResetUnknown { username, error } => format!(
                "The reset request was sent, but its outcome is unknown: {}. The reset may have taken effect: \
                 ThingSpace may now hold a new password for user {username:?} that is unknown to Terraform. The \
                 provider does not send the reset again, nor log in to check, because a log-in with a stale password \
                 counts toward the lock-out. {LOCKOUT_NOTE}",
                sentence(error)
            ),
            RotateError::Cancelled { step, .. } => match step {
                Call::Reset => "Terraform asked the provider to stop after the log-in and before a password reset \
                                was applied: the password is unchanged."
                    .to_owned(),
                _ => "Terraform asked the provider to stop before a log-in was processed: no failed log-in was \
                      counted, and the password is unchanged."
                    .to_owned(),
            },
        }
    }

    /// The API error behind this failure, when ThingSpace answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            RotateError::LoginRejected { error, .. } | RotateError::UserLocked { error, .. } => {
                Some(error)
            }
            RotateError::Token { error, .. }
            | RotateError::Login { error, .. }
            | RotateError::LoginUnknown { error, .. }
            | RotateError::ResetFailed { error, .. }
            | RotateError::ResetUnknown { error, .. } => error.api(),
            RotateError::Cancelled { .. } => None,
        }
    }
}

/// A failed log-in, told apart by the verdict its failure carries: refused (a counted failed log-in, or a locked
/// user), not processed, or unknown.
pub(super) fn login_error(user: &str, failure: CallFailure, route: &Route) -> RotateError {
    let username = user.to_owned();
    match failure {
        CallFailure {
            error: Error::Cancelled,
            ..
        } => cancelled(user, Call::Login),
        CallFailure {
            call: Call::Token,
            error,
            ..
        } => token_error(Call::Login, error, route),
        CallFailure {
            verdict: Verdict::Refused,
            error: Error::Api(error),
            ..
        } if error.is_user_locked() => RotateError::UserLocked { username, error },
        CallFailure {
            verdict: Verdict::Refused,
            error: Error::Api(error),
            ..
        } => RotateError::LoginRejected { username, error },
        CallFailure {
            verdict: Verdict::NotProcessed,
            error,
            ..
        } => RotateError::Login { username, error },
        CallFailure { error, .. } => RotateError::LoginUnknown { username, error },
    }
}

/// A failed reset: unknown when it may have taken effect, otherwise a clean failure. A failure of the new log-in
/// after an expired session is judged as a log-in, except that a token failure or a stop then means a reset that was
/// not applied.
pub(super) fn reset_error(user: &str, failure: CallFailure, route: &Route) -> RotateError {
    let username = user.to_owned();
    match failure {
        CallFailure {
            error: Error::Cancelled,
            ..
        } => cancelled(user, Call::Reset),
        CallFailure {
            call: Call::Token,
            error,
            ..
        } => token_error(Call::Reset, error, route),
        failure @ CallFailure {
            call: Call::Login, ..
        } => login_error(user, failure, route),
        CallFailure {
            verdict: Verdict::Unknown,
            error,
            ..
        } => RotateError::ResetUnknown { username, error },
        CallFailure { error, .. } => RotateError::ResetFailed { username, error },
    }
}

/// The token needed before `step` could not be had, so `step` never reached the session service.
pub(super) fn token_error(step: Call, error: Error, route: &Route) -> RotateError {
    RotateError::Token {
        step,
        error,
        route: Route::clone(route),
    }
}

fn cancelled(user: &str, step: Call) -> RotateError {
    RotateError::Cancelled {
        username: user.to_owned(),
        step,
    }
}

/// An error as the middle of a sentence: without the full stop a server's message may end with, so the text that
/// follows does not read "incorrect.. This".
fn sentence(error: &impl fmt::Display) -> String {
    error
        .to_string()
        .trim_end()
        .trim_end_matches('.')
        .to_owned()
}

/// A 404 from ThingSpace's API gateway (fault `900906`, or any 404 in its shape): the path does not exist, which
/// the provider's own paths always do, so `base_url` carries a stray path.
fn not_found(error: &Error) -> bool {
    matches!(error, Error::Api(api) if api.status == 404 && (api.shape == ErrorShape::Gateway || api.has_code("900906")))
}

fn wrong_path(route: Option<&Route>) -> String {
    let base_url = route.map(|r| format!(", {r}")).unwrap_or_default();
    format!(
        "ThingSpace's API gateway knows no such path, so check base_url{base_url}: it should be the host alone, \
         such as https://thingspace.verizon.com, without /api or any other path, because the provider appends the \
         API paths (/api/ts/v1/oauth2/token, /api/m2m/v1/...) itself."
    )
}

impl fmt::Display for RotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.summary(), self.detail())
    }
}

impl std::error::Error for RotateError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::thingspace::error::{ErrorShape, TransportError};

    #[test]
    fn rotate_error_messages_say_what_to_do() {
        let login = RotateError::LoginRejected {
            username: "svc".into(),
            error: ApiError {
                status: 400,
                code: "REQUEST_FAILED.UnexpectedError".into(),
                message: "Invalid credentials".into(),
                shape: ErrorShape::M2m,
            },
        };
        let text = login.to_string();
        assert!(
            text.starts_with("ThingSpace log-in failed for user \"svc\""),
            "{text}"
        );
        assert!(
            text.contains("HTTP 400, code REQUEST_FAILED.UnexpectedError: Invalid credentials"),
            "{text}"
        );
        assert!(
            text.contains("5 consecutive failed log-ins") && text.contains("Verizon support"),
            "{text}"
        );

        assert_eq!(login.effect(), Effect::LoginRejected);
        assert!(
            text.contains("will not log in with this password again"),
            "{text}"
        );
        assert!(!text.contains("tries again"), "{text}");

        let dropped = Error::Transport(TransportError {
            maybe_sent: true,
            detail: "connection reset".into(),
            ..TransportError::default()
        });
        let reset = RotateError::ResetUnknown {
            username: "svc".into(),
            error: dropped.clone(),
        };
        let text = reset.to_string();
        assert!(
            text.starts_with("The password reset for user \"svc\" may have taken effect"),
            "{text}"
        );
        for needle in [
            "connection reset",
            "may have taken effect",
            "unknown to Terraform",
            "does not send the reset again",
            "Verizon",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        // The steps name Terraform arguments, which the client never knows: the resource adds them.
        assert!(!text.contains("current_password"), "{text}");
        assert!(!text.contains("tries again"), "{text}");
        assert_eq!(reset.effect(), Effect::ResetUnknown);

        let unknown = RotateError::LoginUnknown {
            username: "svc".into(),
            error: dropped.clone(),
        };
        let text = unknown.to_string();
        for needle in [
            "may have counted as a failed log-in",
            "will not log in with this password again",
            "5 consecutive failed log-ins",
            "password is unchanged",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        assert!(!text.contains("tries again"), "{text}");
        assert_eq!(unknown.effect(), Effect::LoginUnknown);

        // The failures that change nothing say so, and that the next apply tries again.
        let throttled = Error::Api(ApiError {
            status: 429,
            code: String::new(),
            message: String::new(),
            shape: ErrorShape::M2m,
        });
        let none = [
            RotateError::Token {
                step: Call::Login,
                error: throttled.clone(),
                route: Route::default(),
            },
            RotateError::Token {
                step: Call::Reset,
                error: throttled.clone(),
                route: Route::default(),
            },
            RotateError::Login {
                username: "svc".into(),
                error: throttled.clone(),
            },
            RotateError::ResetFailed {
                username: "svc".into(),
                error: throttled,
            },
            RotateError::Cancelled {
                username: "svc".into(),
                step: Call::Login,
            },
            RotateError::Cancelled {
                username: "svc".into(),
                step: Call::Reset,
            },
        ];
        for e in none {
            assert_eq!(e.effect(), Effect::None, "{e}");
            let text = e.to_string();
            assert!(text.contains("password is unchanged"), "{text}");
            assert!(!text.contains("may have"), "{text}");
        }
        let garbled = RotateError::Login {
            username: "svc".into(),
            error: Error::UnexpectedBody {
                status: 200,
                content_type: "text/html".into(),
                what: "body that is not JSON".into(),
                excerpt: None,
            },
        };
        assert!(
            garbled
                .detail()
                .starts_with("ThingSpace accepted the log-in"),
            "{garbled}"
        );
        let after_login = RotateError::Token {
            step: Call::Reset,
            error: Error::Cancelled,
            route: Route::default(),
        };
        assert!(
            after_login.detail().contains("The log-in succeeded"),
            "{after_login}"
        );
    }

    #[test]
    fn a_locked_user_is_its_own_failure_and_messages_have_one_full_stop() {
        let api = ApiError {
            status: 400,
            code: "UnifiedWebService.REQUEST_FAILED.Login.UserLocked".into(),
            message: "Login failed: the user is locked.".into(),
            shape: ErrorShape::M2m,
        };
        assert!(api.is_user_locked());
        let locked = RotateError::UserLocked {
            username: "svc".into(),
            error: api.clone(),
        };
        assert_eq!(locked.effect(), Effect::UserLocked);
        let text = locked.to_string();
        for needle in [
            "is locked",
            "only Verizon support can unlock it",
            "no further log-in",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        assert!(!text.contains("Check the password"), "{text}");
        assert!(!text.contains(".."), "{text}");
        // Only a code says "locked"; a wrong password's code and a message that mentions locking do not.
        let wrong = ApiError {
            code: "REQUEST_FAILED.Login.InvalidCredentials".into(),
            message: "the account may be locked soon".into(),
            ..api.clone()
        };
        assert!(!wrong.is_user_locked());
        assert!(
            !ApiError {
                shape: ErrorShape::Gateway,
                ..api
            }
            .is_user_locked()
        );
        let rejected = RotateError::LoginRejected {
            username: "svc".into(),
            error: ApiError {
                message: "Login failed: the password is incorrect.".into(),
                ..wrong
            },
        };
        assert!(!rejected.to_string().contains(".."), "{rejected}");
    }

    #[test]
    fn a_gateway_404_says_to_check_base_url() {
        use crate::thingspace::network::BaseUrlSource;
        let not_found = Error::Api(ApiError {
            status: 404,
            code: "900906".into(),
            message: "No matching resource found for given API Request".into(),
            shape: ErrorShape::Gateway,
        });
        let token = RotateError::Token {
            step: Call::Login,
            error: not_found.clone(),
            route: Route {
                base_url: "https://thingspace.verizon.com/api".into(),
                source: BaseUrlSource::Attribute,
                proxy: None,
            },
        };
        let text = token.detail();
        assert!(
            text.contains("HTTP 404, code 900906")
                && text.contains("check base_url, https://thingspace.verizon.com/api (from the base_url attribute)")
                && text.contains("without /api"),
            "{text}"
        );
        let login = RotateError::Login {
            username: "svc".into(),
            error: not_found,
        };
        assert!(login.detail().contains("check base_url"), "{login}");
        assert_eq!(login.effect(), Effect::None);
        let other = RotateError::Login {
            username: "svc".into(),
            error: Error::Api(ApiError {
                status: 404,
                code: "X".into(),
                message: String::new(),
                shape: ErrorShape::M2m,
            }),
        };
        assert!(!other.detail().contains("base_url"), "{other}");
    }
}
