//! Tests of the shared schedule: shared fixtures here, the due table beside them, argument checks in `args`, and
//! windows and jitter in `window`.

mod age;
mod args;
mod window;

use super::*;
use crate::plugin::cty::PathStep;
use crate::timefmt::format_rfc3339;
use std::time::Duration;
use time::macros::datetime;
use time::{OffsetDateTime, Time, Weekday};

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
    rotation_window: Attr<RotationWindow>,
    rotation_jitter: Attr<String>,
    username: Attr<String>,
    max_password_age: Attr<String>,
    lives: u32,
}

impl Values {
    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            rotate_after: &self.rotate_after,
            rotation_period: &self.rotation_period,
            triggers: &self.triggers,
            rotation_window: &self.rotation_window,
            rotation_jitter: &self.rotation_jitter,
            username: &self.username,
            max_password_age: &self.max_password_age,
            lives: self.lives.max(1),
        }
    }

    fn last(&self) -> Last<'_> {
        Last {
            triggers: &self.triggers,
            rotated_at: &self.rotated_at,
        }
    }
}

fn window_of(days: Option<&[&str]>, start: &str, end: &str) -> RotationWindow {
    RotationWindow {
        days: days.map_or(Attr::Null, |d| {
            Attr::Known(d.iter().map(|d| s(d)).collect())
        }),
        start: s(start),
        end: s(end),
    }
}

fn window(days: Option<&[&str]>, start: &str, end: &str) -> Attr<RotationWindow> {
    Attr::Known(window_of(days, start, end))
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
    let rows: Vec<(&str, Values, Values, Timing)> = vec![
        (
            "nothing configured",
            rotated(march_1),
            Values::default(),
            Timing::NotDue,
        ),
        (
            "fixed rotate_after passed after the last rotation",
            rotated(march_1),
            Values {
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "fixed rotate_after exactly now is due",
            rotated(march_1),
            Values {
                rotate_after: s("2027-03-10T12:00:00Z"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "fixed rotate_after already rotated past: rotates once only",
            rotated("2027-03-06T00:00:00Z"),
            Values {
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "rotate_after in the future",
            rotated(march_1),
            Values {
                rotate_after: s("2027-04-01T00:00:00Z"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "rotate_after unknown at plan time",
            rotated(march_1),
            Values {
                rotate_after: Attr::Unknown,
                ..Values::default()
            },
            Timing::Unknown,
        ),
        (
            "rotation_period elapsed since rotated_at",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "rotation_period not yet elapsed",
            rotated(march_1),
            Values {
                rotation_period: s("90d"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "rotation_period unknown at plan time",
            rotated(march_1),
            Values {
                rotation_period: Attr::Unknown,
                ..Values::default()
            },
            Timing::Unknown,
        ),
        (
            "configured rotate_after wins over rotation_period",
            rotated(march_1),
            Values {
                rotation_period: s("1d"),
                rotate_after: s("2027-05-01T00:00:00Z"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "a state without rotated_at and a passed rotate_after counts as rotated long ago",
            Values::default(),
            Values {
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "a period without rotated_at has no next time",
            Values::default(),
            Values {
                rotation_period: s("1s"),
                ..Values::default()
            },
            Timing::NotDue,
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
            Timing::Due(Cause::TriggersChanged),
        ),
        (
            "triggers key added",
            rotated(march_1),
            Values {
                triggers: triggers(&[("release", "v1")]),
                ..Values::default()
            },
            Timing::Due(Cause::TriggersChanged),
        ),
        (
            "triggers removed",
            Values {
                triggers: triggers(&[("release", "v1")]),
                ..rotated(march_1)
            },
            Values::default(),
            Timing::Due(Cause::TriggersChanged),
        ),
        (
            "triggers null and empty are the same",
            rotated(march_1),
            Values {
                triggers: triggers(&[]),
                ..Values::default()
            },
            Timing::NotDue,
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
            Timing::Unknown,
        ),
        (
            "unknown triggers and a passed rotate_after: due by time",
            rotated(march_1),
            Values {
                triggers: Attr::Unknown,
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
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
            Timing::Due(Cause::TriggersChanged),
        ),
        (
            "due by time outside the window: held",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(None, "02:00", "05:00"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "due by time inside the window",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(None, "11:00", "13:00"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "a window's start is inside it",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(None, "12:00", "12:01"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "a window's end is outside it",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(None, "10:00", "12:00"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "inside the hours but not on one of the days",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(Some(&["mon", "thu"]), "11:00", "13:00"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "on one of the days",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(Some(&["wed"]), "11:00", "13:00"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "a window past midnight, opened yesterday (tue), is open until its end today",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(Some(&["tue"]), "22:00", "13:00"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
        (
            "a window past midnight that opens today has not opened yet",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: window(Some(&["wed"]), "22:00", "13:00"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "a fixed rotate_after is held by the window too",
            rotated(march_1),
            Values {
                rotate_after: s("2027-03-05T00:00:00Z"),
                rotation_window: window(None, "02:00", "05:00"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "a changed trigger is never held by the window",
            Values {
                triggers: triggers(&[("generation", "1")]),
                ..rotated(march_1)
            },
            Values {
                triggers: triggers(&[("generation", "2")]),
                rotation_period: s("7d"),
                rotation_window: window(None, "02:00", "05:00"),
                ..Values::default()
            },
            Timing::Due(Cause::TriggersChanged),
        ),
        (
            "a window alone never rotates",
            rotated("2027-03-09T00:00:00Z"),
            Values {
                rotation_period: s("90d"),
                rotation_window: window(None, "11:00", "13:00"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "a jitter alone never rotates",
            rotated("2027-03-09T00:00:00Z"),
            Values {
                rotation_period: s("90d"),
                rotation_jitter: s("90d"),
                username: s("alice"),
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "window unknown at plan time and due by time",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: Attr::Unknown,
                ..Values::default()
            },
            Timing::Unknown,
        ),
        (
            "a window part unknown at plan time and due by time",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_window: Attr::Known(RotationWindow {
                    start: Attr::Unknown,
                    ..window_of(None, "02:00", "05:00")
                }),
                ..Values::default()
            },
            Timing::Unknown,
        ),
        (
            "window unknown but nothing due by time",
            rotated(march_1),
            Values {
                rotation_period: s("90d"),
                rotation_window: Attr::Unknown,
                ..Values::default()
            },
            Timing::NotDue,
        ),
        (
            "jitter unknown at plan time",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_jitter: Attr::Unknown,
                username: s("alice"),
                ..Values::default()
            },
            Timing::Unknown,
        ),
        (
            "user name unknown with a jitter",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_jitter: s("1d"),
                username: Attr::Unknown,
                ..Values::default()
            },
            Timing::Unknown,
        ),
        (
            "a zero jitter is no jitter",
            rotated(march_1),
            Values {
                rotation_period: s("7d"),
                rotation_jitter: s("0s"),
                username: s("alice"),
                ..Values::default()
            },
            Timing::Due(Cause::RotateAfterPassed),
        ),
    ];
    assert_eq!(NOW.weekday(), Weekday::Wednesday, "the rows assume it");
    for (name, last, config, want) in rows {
        let got = due(&last.last(), &config.schedule(), NOW).unwrap();
        assert_eq!(got, want, "{name}");
    }
}
