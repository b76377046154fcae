//! The rotation schedule both rotation resources share: `rotate_after`, `rotation_period` and `triggers`, their
//! validation, whether they make a rotation due, and the `rotate_after` a state shows.
//!
//! Everything here is a pure function of (what the last rotation left in state, the configuration, now), so a plan,
//! a saved plan, `-refresh=false` and the apply reach the same answer. [`due`] is the one entry point that decides;
//! the rest computes the values a plan or an apply stores. A resource adds its own reasons (a re-seed, no password in
//! state) around it.
//!
//! The rule: a rotation is due when `triggers` changed, or when `rotate_after` (given, or `rotated_at` +
//! `rotation_period`) has passed and the last rotation was before it, so a fixed date in the past rotates once, not
//! on every apply.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::timefmt::{format_rfc3339, parse_duration, parse_rfc3339};

/// The shortest `rotation_period`: anything shorter is a typo, and would rotate on every apply.
pub const MIN_PERIOD: Duration = Duration::from_secs(1);
/// The longest `rotation_period`: 100 years (36500 days). Longer periods are typos too, and would overflow the
/// year 9999 that RFC 3339 timestamps end at.
pub const MAX_PERIOD: Duration = Duration::from_secs(36_500 * 86_400);

/// The `triggers` attribute: any change to it rotates.
pub type Triggers = BTreeMap<String, Attr<String>>;

/// The scheduling arguments of a configuration, borrowed from a resource's model.
#[derive(Clone, Copy, Debug)]
pub struct Schedule<'a> {
    pub rotate_after: &'a Attr<String>,
    pub rotation_period: &'a Attr<String>,
    pub triggers: &'a Attr<Triggers>,
}

/// What the last rotation left in state that the schedule depends on.
#[derive(Clone, Copy, Debug)]
pub struct Last<'a> {
    /// The triggers the state was last applied with.
    pub triggers: &'a Attr<Triggers>,
    /// RFC 3339 time of the last rotation; null for a state that never rotated (or predates the attribute).
    pub rotated_at: &'a Attr<String>,
}

/// Why the schedule makes a rotation due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// `rotate_after` (given or computed from `rotation_period`) has passed since the last rotation.
    RotateAfterPassed,
    /// `triggers` changed.
    TriggersChanged,
}

/// What the schedule says about a rotation now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    NotDue,
    Due(Cause),
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

/// Errors in the known scheduling arguments of a configuration, for validate.
pub fn validate(config: &Schedule<'_>) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let Attr::Known(s) = config.rotate_after
        && let Err(d) = time_attr("rotate_after", s)
    {
        diags.push(d);
    }
    if let Attr::Known(p) = config.rotation_period
        && let Err(d) = period_attr(p)
    {
        diags.push(d);
    }
    diags
}

/// The `rotate_after` that applies after a rotation at `rotated_at`: the configured one, else
/// `rotated_at + rotation_period`, else null. The one place this arithmetic is done, for plan and apply alike.
pub fn next_rotate_after(
    config: &Schedule<'_>,
    rotated_at: Option<OffsetDateTime>,
) -> Result<Attr<OffsetDateTime>, Diagnostic> {
    match config.rotate_after {
        Attr::Known(s) => return time_attr("rotate_after", s).map(Attr::Known),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Null => {}
    }
    match config.rotation_period {
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

/// `rotate_after` in a plan whose next rotation time depends on a rotation still to happen: the configured value,
/// else unknown when `rotation_period` will compute it, else null.
pub fn pending_rotate_after(config: &Schedule<'_>) -> Attr<String> {
    match (config.rotate_after, config.rotation_period) {
        (Attr::Null, Attr::Null) => Attr::Null,
        (Attr::Null, _) => Attr::Unknown,
        (given, _) => given.clone(),
    }
}

/// `rotate_after` for a state that is not rotating now: the configured value, else `rotated_at + rotation_period`.
pub fn settled_rotate_after(
    config: &Schedule<'_>,
    rotated_at: &Attr<String>,
) -> Result<Attr<String>, Diagnostic> {
    if let Attr::Known(_) | Attr::Unknown = config.rotate_after {
        return Ok(config.rotate_after.clone());
    }
    let rotated_at = match rotated_at {
        Attr::Known(s) => Some(time_attr("rotated_at", s)?),
        _ => None,
    };
    Ok(match next_rotate_after(config, rotated_at)? {
        Attr::Known(t) => Attr::Known(format_rfc3339(t)),
        Attr::Unknown => Attr::Unknown,
        Attr::Null => Attr::Null,
    })
}

/// `rotate_after` for the state a rotation at `now` leaves: the configured value exactly as written, else
/// `now + rotation_period`, else null. An error only for a period validation would have refused; the caller must
/// not lose a new password over it.
pub fn rotated_rotate_after(
    config: &Schedule<'_>,
    now: OffsetDateTime,
) -> Result<Attr<String>, Diagnostic> {
    if let Attr::Known(given) = config.rotate_after {
        return Ok(Attr::Known(given.clone()));
    }
    Ok(match next_rotate_after(config, Some(now))? {
        Attr::Known(t) => Attr::Known(format_rfc3339(t)),
        _ => Attr::Null,
    })
}

/// Normalised triggers: null and empty mean the same thing (nothing to watch). `None` when any part is unknown.
fn known_triggers(t: &Attr<Triggers>) -> Option<BTreeMap<&str, Option<&str>>> {
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

/// Decides whether the schedule makes a rotation due. Pure: the same (last, config, now) always gives the same
/// answer. A changed trigger wins over time; an unknown input gives [`Verdict::Unknown`] unless a known one already
/// makes the rotation due.
pub fn due(
    last: &Last<'_>,
    config: &Schedule<'_>,
    now: OffsetDateTime,
) -> Result<Verdict, Diagnostic> {
    let mut unknown = false;
    match (
        known_triggers(last.triggers),
        known_triggers(config.triggers),
    ) {
        (Some(p), Some(c)) if p != c => return Ok(Verdict::Due(Cause::TriggersChanged)),
        (_, None) => unknown = true,
        _ => {}
    }
    let rotated_at = match last.rotated_at {
        Attr::Known(s) => Some(time_attr("rotated_at", s)?),
        _ => None,
    };
    match next_rotate_after(config, rotated_at)? {
        Attr::Known(after) => {
            // A state with a password but no rotation time (an old state) counts as rotated long ago.
            let rotated_before = rotated_at.is_none_or(|r| r < after);
            if now >= after && rotated_before {
                return Ok(Verdict::Due(Cause::RotateAfterPassed));
            }
        }
        Attr::Unknown => unknown = true,
        Attr::Null => {}
    }
    Ok(if unknown {
        Verdict::Unknown
    } else {
        Verdict::NotDue
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::plugin::cty::PathStep;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2027-03-10 12:00:00 UTC);

    fn s(v: &str) -> Attr<String> {
        Attr::Known(v.to_string())
    }

    fn triggers(pairs: &[(&str, &str)]) -> Attr<Triggers> {
        Attr::Known(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
    }

    /// Owned scheduling values, borrowed as a [`Schedule`] or a [`Last`].
    #[derive(Clone, Default)]
    struct Values {
        rotate_after: Attr<String>,
        rotation_period: Attr<String>,
        triggers: Attr<Triggers>,
        rotated_at: Attr<String>,
    }

    impl Values {
        fn schedule(&self) -> Schedule<'_> {
            Schedule {
                rotate_after: &self.rotate_after,
                rotation_period: &self.rotation_period,
                triggers: &self.triggers,
            }
        }

        fn last(&self) -> Last<'_> {
            Last {
                triggers: &self.triggers,
                rotated_at: &self.rotated_at,
            }
        }
    }

    fn rotated(at: &str) -> Values {
        Values {
            rotated_at: s(at),
            ..Values::default()
        }
    }

    #[test]
    fn due_table() {
        let march_1 = "2027-03-01T00:00:00Z";
        let rows: Vec<(&str, Values, Values, Verdict)> = vec![
            (
                "nothing configured",
                rotated(march_1),
                Values::default(),
                Verdict::NotDue,
            ),
            (
                "fixed rotate_after passed after the last rotation",
                rotated(march_1),
                Values {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "fixed rotate_after exactly now is due",
                rotated(march_1),
                Values {
                    rotate_after: s("2027-03-10T12:00:00Z"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "fixed rotate_after already rotated past: rotates once only",
                rotated("2027-03-06T00:00:00Z"),
                Values {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "rotate_after in the future",
                rotated(march_1),
                Values {
                    rotate_after: s("2027-04-01T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "rotate_after unknown at plan time",
                rotated(march_1),
                Values {
                    rotate_after: Attr::Unknown,
                    ..Values::default()
                },
                Verdict::Unknown,
            ),
            (
                "rotation_period elapsed since rotated_at",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "rotation_period not yet elapsed",
                rotated(march_1),
                Values {
                    rotation_period: s("90d"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "rotation_period unknown at plan time",
                rotated(march_1),
                Values {
                    rotation_period: Attr::Unknown,
                    ..Values::default()
                },
                Verdict::Unknown,
            ),
            (
                "configured rotate_after wins over rotation_period",
                rotated(march_1),
                Values {
                    rotation_period: s("1d"),
                    rotate_after: s("2027-05-01T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "a state without rotated_at and a passed rotate_after counts as rotated long ago",
                Values::default(),
                Values {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "a period without rotated_at has no next time",
                Values::default(),
                Values {
                    rotation_period: s("1s"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "triggers changed",
                Values {
                    triggers: triggers(&[("release", "v1")]),
                    ..rotated(march_1)
                },
                Values {
                    triggers: triggers(&[("release", "v2")]),
                    ..Values::default()
                },
                Verdict::Due(Cause::TriggersChanged),
            ),
            (
                "triggers key added",
                rotated(march_1),
                Values {
                    triggers: triggers(&[("release", "v1")]),
                    ..Values::default()
                },
                Verdict::Due(Cause::TriggersChanged),
            ),
            (
                "triggers removed",
                Values {
                    triggers: triggers(&[("release", "v1")]),
                    ..rotated(march_1)
                },
                Values::default(),
                Verdict::Due(Cause::TriggersChanged),
            ),
            (
                "triggers null and empty are the same",
                rotated(march_1),
                Values {
                    triggers: triggers(&[]),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "a trigger value unknown at plan time",
                Values {
                    triggers: triggers(&[("rotation", "a")]),
                    ..rotated(march_1)
                },
                Values {
                    triggers: Attr::Known(
                        [("rotation".to_string(), Attr::Unknown)]
                            .into_iter()
                            .collect(),
                    ),
                    ..Values::default()
                },
                Verdict::Unknown,
            ),
            (
                "unknown triggers and a passed rotate_after: due by time",
                rotated(march_1),
                Values {
                    triggers: Attr::Unknown,
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "a changed trigger wins over time",
                Values {
                    triggers: triggers(&[("n", "1")]),
                    ..rotated(march_1)
                },
                Values {
                    triggers: triggers(&[("n", "2")]),
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    ..Values::default()
                },
                Verdict::Due(Cause::TriggersChanged),
            ),
        ];
        for (name, last, config, want) in rows {
            let got = due(&last.last(), &config.schedule(), NOW).unwrap();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn an_unreadable_rotated_at_is_an_error_naming_it() {
        let last = rotated("yesterday");
        let config = Values {
            rotation_period: s("1d"),
            ..Values::default()
        };
        let d = due(&last.last(), &config.schedule(), NOW).unwrap_err();
        assert_eq!(d.attribute, vec![PathStep::Attr("rotated_at".into())]);
    }

    #[test]
    fn rotation_period_is_bounded_from_one_second_to_a_hundred_years() {
        assert!(period_attr("1s").is_ok());
        assert!(period_attr("36500d").is_ok());
        assert!(period_attr("876000h").is_ok());
        for bad in ["999ms", "36501d", "106751991167300d", "0", "soon"] {
            let d = period_attr(bad).unwrap_err();
            assert_eq!(
                d.attribute,
                vec![PathStep::Attr("rotation_period".into())],
                "{bad}"
            );
        }
        assert!(
            period_attr("36501d")
                .unwrap_err()
                .detail
                .contains("100 years")
        );
        assert!(period_attr("999ms").unwrap_err().detail.contains("1s"));
    }

    #[test]
    fn validate_names_each_bad_argument() {
        let bad = Values {
            rotate_after: s("next tuesday"),
            rotation_period: s("0s"),
            ..Values::default()
        };
        let d = validate(&bad.schedule());
        let attrs: Vec<_> = d.0.iter().map(|d| d.attribute.clone()).collect();
        assert_eq!(
            attrs,
            vec![
                vec![PathStep::Attr("rotate_after".into())],
                vec![PathStep::Attr("rotation_period".into())]
            ]
        );
        let unknown = Values {
            rotate_after: Attr::Unknown,
            rotation_period: Attr::Unknown,
            ..Values::default()
        };
        assert!(validate(&unknown.schedule()).is_empty());
    }

    #[test]
    fn next_rotate_after_prefers_the_configured_time_then_the_period() {
        let at = datetime!(2027-03-01 00:00:00 UTC);
        let c = Values {
            rotation_period: s("90d"),
            ..Values::default()
        };
        assert_eq!(
            next_rotate_after(&c.schedule(), Some(at)).unwrap(),
            Attr::Known(datetime!(2027-05-30 00:00:00 UTC))
        );
        assert_eq!(next_rotate_after(&c.schedule(), None).unwrap(), Attr::Null);
        let fixed = Values {
            rotate_after: s("2027-04-01T00:00:00Z"),
            ..c.clone()
        };
        assert_eq!(
            next_rotate_after(&fixed.schedule(), Some(at)).unwrap(),
            Attr::Known(datetime!(2027-04-01 00:00:00 UTC))
        );
        let unknown = Values {
            rotation_period: Attr::Unknown,
            ..Values::default()
        };
        assert_eq!(
            next_rotate_after(&unknown.schedule(), Some(at)).unwrap(),
            Attr::Unknown
        );
        assert_eq!(
            next_rotate_after(&Values::default().schedule(), Some(at)).unwrap(),
            Attr::Null
        );
    }

    #[test]
    fn the_rotate_after_a_state_shows() {
        let period = Values {
            rotation_period: s("1h"),
            ..Values::default()
        };
        let fixed = Values {
            rotate_after: s("2027-04-01T00:00:00+00:00"),
            rotation_period: s("1h"),
            ..Values::default()
        };
        // Pending a rotation: computed later, unless given.
        assert_eq!(pending_rotate_after(&period.schedule()), Attr::Unknown);
        assert_eq!(
            pending_rotate_after(&fixed.schedule()),
            s("2027-04-01T00:00:00+00:00")
        );
        assert_eq!(
            pending_rotate_after(&Values::default().schedule()),
            Attr::Null
        );
        // Settled: from rotated_at.
        assert_eq!(
            settled_rotate_after(&period.schedule(), &s("2027-03-01T00:00:00Z")).unwrap(),
            s("2027-03-01T01:00:00Z")
        );
        assert_eq!(
            settled_rotate_after(&period.schedule(), &Attr::Null).unwrap(),
            Attr::Null
        );
        // After a rotation now: a given time exactly as written.
        assert_eq!(
            rotated_rotate_after(&period.schedule(), NOW).unwrap(),
            s("2027-03-10T13:00:00Z")
        );
        assert_eq!(
            rotated_rotate_after(&fixed.schedule(), NOW).unwrap(),
            s("2027-04-01T00:00:00+00:00")
        );
        let bad = Values {
            rotation_period: s("1000y"),
            ..Values::default()
        };
        assert!(rotated_rotate_after(&bad.schedule(), NOW).is_err());
    }
}
