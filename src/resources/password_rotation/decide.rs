//! The rotation rule: when a rotation is due, and when the next one falls due. Pure functions of (prior state,
//! configuration, now), so a plan, a saved plan, `-refresh=false` and the apply all reach the same answer.
//!
//! A rotation is due when the state holds no password, when the current password was re-seeded
//! (`current_password` or `current_password_wo_version` changed), when `triggers` changed, or when `rotate_after`
//! (given, or `rotated_at` + `rotation_period`) has passed and the last rotation was before it, so a fixed date in
//! the past rotates once, not on every apply.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Model;
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::Diagnostic;
use crate::timefmt::{parse_duration, parse_rfc3339};

/// The shortest `rotation_period`: anything shorter is a typo, and would rotate on every apply.
pub const MIN_PERIOD: Duration = Duration::from_secs(1);
/// The longest `rotation_period`: 100 years (36500 days). Longer periods are typos too, and would overflow the
/// year 9999 that RFC 3339 timestamps end at.
pub const MAX_PERIOD: Duration = Duration::from_secs(36_500 * 86_400);

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

/// Parses an RFC 3339 attribute value, turning a parse failure into a diagnostic on that attribute.
pub fn time_attr(name: &str, value: &str) -> Result<OffsetDateTime, Diagnostic> {
    parse_rfc3339(value)
        .map_err(|e| Diagnostic::error(format!("Invalid {name}"), format!("{e}.")).at(name))
}

/// Parses `rotation_period`, which must lie in [`MIN_PERIOD`, `MAX_PERIOD`].
pub fn period_attr(value: &str) -> Result<Duration, Diagnostic> {
    let bad =
        |detail: String| Diagnostic::error("Invalid rotation_period", detail).at("rotation_period");
    let d = parse_duration(value).map_err(|e| bad(format!("{e}.")))?;
    if d < MIN_PERIOD {
        return Err(bad(format!(
            "{value:?} is shorter than the minimum of 1s; ThingSpace recommends 90 days (\"90d\")."
        )));
    }
    if d > MAX_PERIOD {
        return Err(bad(format!(
            "{value:?} is longer than the maximum of 100 years (\"36500d\"); ThingSpace recommends 90 days (\"90d\")."
        )));
    }
    Ok(d)
}

/// The `rotate_after` that applies after a rotation at `rotated_at`: the configured one, else
/// `rotated_at + rotation_period`, else null. The one place this arithmetic is done, for plan and apply alike.
pub fn next_rotate_after(
    config: &Model,
    rotated_at: Option<OffsetDateTime>,
) -> Result<Attr<OffsetDateTime>, Diagnostic> {
    match &config.rotate_after {
        Attr::Known(s) => return time_attr("rotate_after", s).map(Attr::Known),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Null => {}
    }
    match &config.rotation_period {
        Attr::Known(p) => {
            let period = period_attr(p)?;
            let Some(t) = rotated_at else {
                return Ok(Attr::Null);
            };
            // MAX_PERIOD keeps this far from the year 9999 for any time this code runs at; the error is for a state
            // edited by hand.
            time::Duration::try_from(period)
                .ok()
                .and_then(|d| t.checked_add(d))
                .map(Attr::Known)
                .ok_or_else(|| {
                    Diagnostic::error(
                        "Invalid rotation_period",
                        "rotated_at plus rotation_period is beyond the year 9999; choose a shorter period.",
                    )
                    .at("rotation_period")
                })
        }
        Attr::Unknown => Ok(Attr::Unknown),
        Attr::Null => Ok(Attr::Null),
    }
}

/// Normalised triggers: null and empty mean the same thing (nothing to watch). `None` when any part is unknown.
fn known_triggers(
    t: &Attr<BTreeMap<String, Attr<String>>>,
) -> Option<BTreeMap<&str, Option<&str>>> {
    match t {
        Attr::Unknown => None,
        Attr::Null => Some(BTreeMap::new()),
        Attr::Known(m) => m
            .iter()
            .map(|(k, v)| match v {
                Attr::Unknown => None,
                Attr::Null => Some((k.as_str(), None)),
                Attr::Known(s) => Some((k.as_str(), Some(s.as_str()))),
            })
            .collect(),
    }
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
    match (
        known_triggers(&prior.triggers),
        known_triggers(&config.triggers),
    ) {
        (Some(p), Some(c)) if p != c => return Ok(Due::Yes(Reason::TriggersChanged)),
        (_, None) => unknown = true,
        _ => {}
    }

    let rotated_at = match &prior.rotated_at {
        Attr::Known(s) => Some(time_attr("rotated_at", s)?),
        _ => None,
    };
    match next_rotate_after(config, rotated_at)? {
        Attr::Known(after) => {
            // A state with a password but no rotation time (an old state) counts as rotated long ago.
            let rotated_before = rotated_at.is_none_or(|r| r < after);
            if now >= after && rotated_before {
                return Ok(Due::Yes(Reason::RotateAfterPassed));
            }
        }
        Attr::Unknown => unknown = true,
        Attr::Null => {}
    }
    Ok(if unknown { Due::Unknown } else { Due::No })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::plugin::cty::Number;
    use crate::plugin::secret::Secret;
    use crate::resources::password_rotation::import;
    use crate::resources::password_rotation::plan::from_config;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2027-03-10 12:00:00 UTC);

    fn s(v: &str) -> Attr<String> {
        Attr::Known(v.to_string())
    }

    fn secret(v: &str) -> Attr<Secret> {
        Attr::Known(Secret::new(v))
    }

    fn triggers(pairs: &[(&str, &str)]) -> Attr<BTreeMap<String, Attr<String>>> {
        Attr::Known(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
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
                name: "fixed rotate_after passed after the last rotation",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..c
                }),
                want: Due::Yes(Reason::RotateAfterPassed),
            },
            Row {
                name: "fixed rotate_after exactly now is due",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotate_after: s("2027-03-10T12:00:00Z"),
                    ..c
                }),
                want: Due::Yes(Reason::RotateAfterPassed),
            },
            Row {
                name: "fixed rotate_after already rotated past: rotates once only",
                prior: Box::new(|c| state(c, "2027-03-06T00:00:00Z")),
                config: Box::new(|c| Model {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "rotate_after in the future",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotate_after: s("2027-04-01T00:00:00Z"),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "rotate_after unknown at plan time",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotate_after: Attr::Unknown,
                    ..c
                }),
                want: Due::Unknown,
            },
            Row {
                name: "rotation_period elapsed since rotated_at",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("7d"),
                    ..c
                }),
                want: Due::Yes(Reason::RotateAfterPassed),
            },
            Row {
                name: "rotation_period not yet elapsed",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("90d"),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "configured rotate_after wins over rotation_period",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    rotation_period: s("1d"),
                    rotate_after: s("2027-05-01T00:00:00Z"),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "triggers changed",
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
                name: "triggers key added",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    triggers: triggers(&[("release", "v1")]),
                    ..c
                }),
                want: Due::Yes(Reason::TriggersChanged),
            },
            Row {
                name: "triggers null and empty are the same",
                prior: Box::new(base_prior),
                config: Box::new(|c| Model {
                    triggers: triggers(&[]),
                    ..c
                }),
                want: Due::No,
            },
            Row {
                name: "a trigger value unknown at plan time",
                prior: Box::new(|c| Model {
                    triggers: triggers(&[("rotation", "a")]),
                    ..state(c, "2027-03-01T00:00:00Z")
                }),
                config: Box::new(|c| Model {
                    triggers: Attr::Known(
                        [("rotation".to_string(), Attr::Unknown)]
                            .into_iter()
                            .collect(),
                    ),
                    ..c
                }),
                want: Due::Unknown,
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
                name: "no password in state (after import)",
                prior: Box::new(|_| import("alice").unwrap()),
                config: Box::new(|c| c),
                want: Due::Yes(Reason::NoPasswordInState),
            },
            Row {
                name: "a state with a password but no rotated_at and a passed rotate_after",
                prior: Box::new(|c| Model {
                    rotated_at: Attr::Null,
                    ..state(c, "2027-03-01T00:00:00Z")
                }),
                config: Box::new(|c| Model {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..c
                }),
                want: Due::Yes(Reason::RotateAfterPassed),
            },
        ];
        for row in rows {
            let prior = (row.prior)(&config());
            let cfg = (row.config)(config());
            let got = rotation_due(&prior, &cfg, NOW).unwrap();
            assert_eq!(got, row.want, "{}", row.name);
        }
    }

    #[test]
    fn rotation_period_is_bounded_from_one_second_to_a_hundred_years() {
        assert!(period_attr("1s").is_ok());
        assert!(period_attr("36500d").is_ok());
        assert!(period_attr("876000h").is_ok());
        for bad in ["999ms", "36501d", "106751991167300d", "0"] {
            let d = period_attr(bad).unwrap_err();
            assert_eq!(
                d.attribute,
                vec![crate::plugin::cty::PathStep::Attr("rotation_period".into())],
                "{bad}"
            );
        }
        assert!(
            period_attr("36501d")
                .unwrap_err()
                .detail
                .contains("100 years")
        );
    }

    #[test]
    fn next_rotate_after_prefers_the_configured_time_then_the_period() {
        let at = datetime!(2027-03-01 00:00:00 UTC);
        let c = Model {
            rotation_period: s("90d"),
            ..config()
        };
        assert_eq!(
            next_rotate_after(&c, Some(at)).unwrap(),
            Attr::Known(datetime!(2027-05-30 00:00:00 UTC))
        );
        assert_eq!(next_rotate_after(&c, None).unwrap(), Attr::Null);
        let fixed = Model {
            rotate_after: s("2027-04-01T00:00:00Z"),
            ..c.clone()
        };
        assert_eq!(
            next_rotate_after(&fixed, Some(at)).unwrap(),
            Attr::Known(datetime!(2027-04-01 00:00:00 UTC))
        );
        assert_eq!(
            next_rotate_after(
                &Model {
                    rotation_period: Attr::Unknown,
                    ..config()
                },
                Some(at)
            )
            .unwrap(),
            Attr::Unknown
        );
        assert_eq!(next_rotate_after(&config(), Some(at)).unwrap(), Attr::Null);
        let _ = Number::from(1i64);
    }
}
