//! The rotation rule of `thingspace_password_rotation`: when a rotation is due. A pure function of (prior state,
//! configuration, now), so a plan, a saved plan, `-refresh=false` and the apply all reach the same answer.
//!
//! A rotation is due when the state holds no password, when the current password was re-seeded
//! (`current_password` or `current_password_wo_version` changed), or when the shared schedule
//! ([`crate::resources::schedule`]: `triggers`, `rotate_after`, `rotation_period`) says so.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::model::Model;
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::Diagnostic;
use crate::plugin::secret::Secret;
use crate::resources::block::Block;
use crate::resources::rotating::Rotating;
use crate::resources::schedule::{self, Cause, Timing};

/// Why a rotation is due. Each names what the user changed or what time it is, for the plan log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// `rotate_after` (given or computed from `rotation_period`) has passed since the last rotation.
    RotateAfterPassed,
    /// `triggers` changed.
    TriggersChanged,
    /// `current_password` changed: log in with the new value.
    CurrentPasswordChanged,
    /// `current_password_wo_version` changed: log in with `current_password_wo`.
    WriteOnlyVersionChanged,
    /// The state holds no password (after an import, or a create that did not finish).
    NoPasswordInState,
    /// `retry_stored_password_version` moved while the object is blocked: one more log-in with the stored password.
    RetryStoredPassword,
}

impl From<Cause> for Reason {
    fn from(c: Cause) -> Self {
        match c {
            Cause::RotateAfterPassed => Reason::RotateAfterPassed,
            Cause::TriggersChanged => Reason::TriggersChanged,
        }
    }
}

impl Reason {
    /// Whether this rotation logs in with the configured seed rather than the stored password.
    pub fn uses_seed(self) -> bool {
        matches!(
            self,
            Reason::CurrentPasswordChanged
                | Reason::WriteOnlyVersionChanged
                | Reason::NoPasswordInState
        )
    }

    /// The reason's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RotateAfterPassed => "rotate_after_passed",
            Reason::TriggersChanged => "triggers_changed",
            Reason::CurrentPasswordChanged => "current_password_changed",
            Reason::WriteOnlyVersionChanged => "write_only_version_changed",
            Reason::NoPasswordInState => "no_password_in_state",
            Reason::RetryStoredPassword => "retry_stored_password",
        }
    }

    /// The names provider 0.1 wrote in its private bytes.
    pub fn from_legacy(s: &str) -> Option<Reason> {
        Some(match s {
            "rotate_after_passed" => Reason::RotateAfterPassed,
            "triggers_changed" => Reason::TriggersChanged,
            "current_password_changed" => Reason::CurrentPasswordChanged,
            "current_password_wo_version_changed" => Reason::WriteOnlyVersionChanged,
            "no_password_in_state" => Reason::NoPasswordInState,
            _ => return None,
        })
    }
}

/// Whether a rotation is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    No,
    Yes(Reason),
    /// An input is still unknown at plan time; the apply decides with the known values.
    Unknown,
}

/// Decides whether a rotation is due. Pure: the same (prior, config, now) always gives the same answer.
pub fn rotation_due(prior: &Model, config: &Model, now: OffsetDateTime) -> Result<Due, Diagnostic> {
    if !prior.password.is_known() {
        return Ok(Due::Yes(Reason::NoPasswordInState));
    }
    let mut unknown = false;

    match &config.current_password {
        Attr::Unknown => unknown = true,
        Attr::Known(c) if prior.current_password.known() != Some(c) => {
            return Ok(Due::Yes(Reason::CurrentPasswordChanged));
        }
        _ => {}
    }
    match &config.current_password_wo_version {
        Attr::Unknown => unknown = true,
        Attr::Known(v) if prior.current_password_wo_version.known() != Some(v) => {
            return Ok(Due::Yes(Reason::WriteOnlyVersionChanged));
        }
        _ => {}
    }
    match schedule::due(&prior.last(), &config.schedule(), now)? {
        Timing::Due(cause) => return Ok(Due::Yes(cause.into())),
        Timing::Unknown => unknown = true,
        Timing::NotDue => {}
    }
    Ok(if unknown { Due::Unknown } else { Due::No })
}

/// Whether a moved `retry_stored_password_version` lifts `block` for the rotation a plan decided (`due`): only a
/// rotation that logs in with the stored password, and only when the state holds one. A re-seed or a missing password
/// logs in with the seed, which the retry never lifts.
pub fn retry_lifts(block: &Block, prior: &Model, config: &Model, due: Due) -> bool {
    let with_seed = matches!(due, Due::Yes(r) if r.uses_seed());
    !with_seed && prior.password.is_known() && block.retry_lifts(config.retry())
}

/// The error for a rotation that needs the configured seed when there is none (or only an empty one).
pub fn no_password_error(config: &Model) -> Diagnostic {
    let empty = |a: &Attr<Secret>| a.known().is_some_and(Secret::is_empty);
    if empty(&config.current_password_wo) || empty(&config.current_password) {
        let name = if empty(&config.current_password_wo) {
            "current_password_wo"
        } else {
            "current_password"
        };
        return Diagnostic::error(
            format!("{name} is empty"),
            format!(
                "A rotation is due and needs the user's password now, but {name} is the empty string, which counts \
as unset (a CI secret that is not defined expands to \"\"). Logging in with it would only cost a failed log-in, so no \
log-in was attempted. Set {name} to the user's current password."
            ),
        )
        .at(name);
    }
    Diagnostic::error(
        "No password to log in with",
        "A rotation is due but Terraform holds no password for this user. Set current_password_wo (Terraform 1.11+) \
or current_password to the user's password now.",
    )
    .at("current_password_wo")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::plugin::cty::Number;
    use crate::plugin::secret::Secret;

    use crate::resources::password_rotation::plan::from_config;
    use crate::resources::schedule::{RotationWindow, Triggers};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2027-03-10 12:00:00 UTC);

    fn s(v: &str) -> Attr<String> {
        Attr::Known(v.to_string())
    }

    fn secret(v: &str) -> Attr<Secret> {
        Attr::Known(Secret::new(v))
    }

    fn triggers(pairs: &[(&str, &str)]) -> Attr<Triggers> {
        Attr::Known(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
    }

    fn window(start: &str, end: &str) -> Attr<RotationWindow> {
        Attr::Known(RotationWindow {
            days: Attr::Null,
            start: s(start),
            end: s(end),
        })
    }

    fn config() -> Model {
        Model {
            username: s("alice"),
            current_password: secret("seed"),
            ..Model::default()
        }
    }

    fn state(config: &Model, rotated_at: &str) -> Model {
        Model {
            id: s("alice"),
            password: secret("Wh0a1545a84d"),
            rotated_at: s(rotated_at),
            ..from_config(config)
        }
    }

    /// The seed rules of this resource, and that the shared schedule (whose own table is in `schedule.rs`) is
    /// consulted with this resource's attributes.
    #[test]
    fn rotation_due_table() {
        struct Row {
            name: &'static str,
            prior: Box<dyn Fn(&Model) -> Model>,
            config: Box<dyn Fn(Model) -> Model>,
            want: Due,
        }
        let base_prior: fn(&Model) -> Model = |c| state(c, "2027-03-01T00:00:00Z");
        let rows = vec![
            Row {
                name: "nothing changed",
                prior: Box::new(base_prior),
                config: Box::new(|c| c),
                want: Due::No,
            },
            Row {
                name: "the schedule: rotation_period elapsed since rotated_at",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("7d"),
                    ..c
                }),
                want: Due::Yes(Reason::RotateAfterPassed),
            },
            Row {
                name: "the schedule: a fixed rotate_after already rotated past",
                prior: Box::new(|c| state(c, "2027-03-06T00:00:00Z")),
                config: Box::new(|c| Model {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "the schedule: triggers changed",
                prior: Box::new(|c| Model {
                    triggers: triggers(&[("release", "v1")]),
                    ..state(c, "2027-03-01T00:00:00Z")
                }),
                config: Box::new(|c| Model {
                    triggers: triggers(&[("release", "v2")]),
                    ..c
                }),
                want: Due::Yes(Reason::TriggersChanged),
            },
            Row {
                name: "the schedule: rotate_after unknown at plan time",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotate_after: Attr::Unknown,
                    ..c
                }),
                want: Due::Unknown,
            },
            Row {
                name: "the schedule: a rotation due by time is held outside rotation_window",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("7d"),
                    rotation_window: window("02:00", "05:00"),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "the schedule: inside rotation_window it rotates",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("7d"),
                    rotation_window: window("11:00", "13:00"),
                    ..c
                }),
                want: Due::Yes(Reason::RotateAfterPassed),
            },
            Row {
                name: "the schedule: rotation_window unknown at plan time while due by time",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("7d"),
                    rotation_window: Attr::Unknown,
                    ..c
                }),
                want: Due::Unknown,
            },
            Row {
                name: "a re-seed is never held by rotation_window",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password: secret("changed-out-of-band"),
                    rotation_period: s("7d"),
                    rotation_window: window("02:00", "05:00"),
                    ..c
                }),
                want: Due::Yes(Reason::CurrentPasswordChanged),
            },
            Row {
                name: "no password in state is never held by rotation_window",
                prior: Box::new(|_| Model::import("alice").unwrap()),
                config: Box::new(|c| Model {
                    rotation_window: window("02:00", "05:00"),
                    ..c
                }),
                want: Due::Yes(Reason::NoPasswordInState),
            },
            Row {
                name: "current_password changed is a re-seed",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password: secret("changed-out-of-band"),
                    ..c
                }),
                want: Due::Yes(Reason::CurrentPasswordChanged),
            },
            Row {
                name: "a re-seed wins over the schedule",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password: secret("changed-out-of-band"),
                    rotation_period: s("1s"),
                    ..c
                }),
                want: Due::Yes(Reason::CurrentPasswordChanged),
            },
            Row {
                name: "current_password removed is not a rotation",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password: Attr::Null,
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "current_password unknown",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password: Attr::Unknown,
                    ..c
                }),
                want: Due::Unknown,
            },
            Row {
                name: "current_password unknown and triggers changed",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password: Attr::Unknown,
                    triggers: triggers(&[("n", "1")]),
                    ..c
                }),
                want: Due::Yes(Reason::TriggersChanged),
            },
            Row {
                name: "current_password_wo_version changed is a re-seed",
                prior: Box::new(|c| Model {
                    current_password_wo_version: Attr::Known(Number::from(1i64)),
                    ..state(c, "2027-03-01T00:00:00Z")
                }),
                config: Box::new(|c| Model {
                    current_password: Attr::Null,
                    current_password_wo: secret("seed2"),
                    current_password_wo_version: Attr::Known(Number::from(2i64)),
                    ..c
                }),
                want: Due::Yes(Reason::WriteOnlyVersionChanged),
            },
            Row {
                name: "current_password_wo_version unchanged while the write-only value is sent",
                prior: Box::new(|c| Model {
                    current_password_wo_version: Attr::Known(Number::from(1i64)),
                    ..state(c, "2027-03-01T00:00:00Z")
                }),
                config: Box::new(|c| Model {
                    current_password_wo: secret("seed"),
                    current_password_wo_version: Attr::Known(Number::from(1i64)),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "current_password_wo_version unknown",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    current_password_wo_version: Attr::Unknown,
                    ..c
                }),
                want: Due::Unknown,
            },
            Row {
                name: "no password in state (after import)",
                prior: Box::new(|_| Model::import("alice").unwrap()),
                config: Box::new(|c| c),
                want: Due::Yes(Reason::NoPasswordInState),
            },
        ];
        for row in rows {
            let prior = (row.prior)(&config());
            let cfg = (row.config)(config());
            let got = rotation_due(&prior, &cfg, NOW).unwrap();
            assert_eq!(got, row.want, "{}", row.name);
        }
    }
}
