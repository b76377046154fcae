//! `rotation_window` and `rotation_jitter` as time: the window argument as Terraform sends it, read into a
//! [`Window`] (whether a time is inside one, the earliest time inside one), and the per-user jitter offset.

use time::{OffsetDateTime, Time, Weekday};

use serde::{Deserialize, Serialize};

use crate::plugin::cty::{Attr, PathStep};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use std::time::Duration;

/// The `rotation_window` attribute as Terraform sends it: the days a window opens on (null: every day), and its
/// start and exclusive end as UTC `"HH:MM"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RotationWindow {
    pub days: Attr<Vec<Attr<String>>>,
    pub start: Attr<String>,
    pub end: Attr<String>,
}

/// The names `rotation_window.days` accepts, Monday first.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A valid, fully known `rotation_window`: the days a window opens on, and its start and end in seconds after
/// midnight UTC. An end before the start runs past midnight into the next day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Indexed Monday = 0.
    days: [bool; 7],
    pub(super) start: u32,
    pub(super) end: u32,
}

impl Window {
    pub(super) fn opens_on(&self, day: Weekday) -> bool {
        self.days[usize::from(day.number_days_from_monday())]
    }

    /// Whether a time-based rotation may run at `t`: from `start` (inclusive) to `end` (exclusive) of a window that
    /// opened on one of `days`; a window that wraps past midnight belongs to the day it opened.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        let t = t.to_offset(time::UtcOffset::UTC);
        let (h, m, s) = t.to_hms();
        let tod = u32::from(h) * 3600 + u32::from(m) * 60 + u32::from(s);
        let today = self.opens_on(t.weekday());
        // start == end is refused by window_attr, so `<` and `<=` here mean the same.
        if self.start < self.end {
            today && self.start <= tod && tod < self.end
        } else {
            (today && tod >= self.start)
                || (self.opens_on(t.weekday().previous()) && tod < self.end)
        }
    }

    /// The earliest time at or after `t` inside a window: `t` itself, or the next window's start. `None` only past
    /// the year 9999.
    pub fn earliest_from(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let t = t.to_offset(time::UtcOffset::UTC);
        if self.contains(t) {
            return Some(t);
        }
        // Outside every window, the next moment inside one is a window's opening; one opens within a week.
        let start = Time::from_hms(
            u8::try_from(self.start / 3600).ok()?,
            u8::try_from(self.start / 60 % 60).ok()?,
            0,
        )
        .ok()?;
        let mut day = t.date();
        for _ in 0..=7 {
            let opening = day.with_time(start).assume_utc();
            // `t` itself, were it an opening, was inside and returned above: `>` and `>=` mean the same here.
            if opening > t && self.opens_on(day.weekday()) {
                return Some(opening);
            }
            day = day.next_day()?;
        }
        None
    }
}

/// The path of a `rotation_window` field, for diagnostics.
fn window_path(field: &str) -> Vec<PathStep> {
    vec![
        PathStep::Attr("rotation_window".into()),
        PathStep::Attr(field.into()),
    ]
}

/// Parses a `rotation_window` time, `"HH:MM"` in UTC, to seconds after midnight.
fn clock_time(field: &str, value: &str) -> Result<u32, Diagnostic> {
    let bad = || {
        Diagnostic::error(
            format!("Invalid rotation_window.{field}"),
            format!(
                "{} is not a UTC time of day in the form \"HH:MM\" (00:00 to 23:59), for example \"02:00\".",
                crate::plugin::diagnostics::quote(value)
            ),
        )
        .at_path(window_path(field))
    };
    let b = value.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return Err(bad());
    }
    let two = |hi: u8, lo: u8| -> Option<u32> {
        (hi.is_ascii_digit() && lo.is_ascii_digit())
            .then(|| u32::from(hi - b'0') * 10 + u32::from(lo - b'0'))
    };
    match (two(b[0], b[1]), two(b[3], b[4])) {
        (Some(h), Some(m)) if h < 24 && m < 60 => Ok(h * 3600 + m * 60),
        _ => Err(bad()),
    }
}

/// Reads `rotation_window`: null when not configured, unknown while any part is, else the window. Every problem in
/// its known parts is an error naming the field (`rotation_window.start`, `rotation_window.days[2]`).
pub fn window_attr(w: &Attr<RotationWindow>) -> Result<Attr<Window>, Diagnostics> {
    let w = match w {
        Attr::Null => return Ok(Attr::Null),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Known(w) => w,
    };
    let mut diags = Diagnostics::new();
    let mut unknown = false;
    let mut time_of = |field: &str, a: &Attr<String>| match a {
        Attr::Known(v) => clock_time(field, v).map_err(|d| diags.push(d)).ok(),
        Attr::Unknown => {
            unknown = true;
            None
        }
        Attr::Null => {
            diags.push(
                Diagnostic::error(
                    format!("Missing rotation_window.{field}"),
                    format!("Set rotation_window.{field} to a UTC time of day, \"HH:MM\"."),
                )
                .at_path(window_path(field)),
            );
            None
        }
    };
    let start = time_of("start", &w.start);
    let end = time_of("end", &w.end);
    let mut days = [false; 7];
    match &w.days {
        Attr::Null => days = [true; 7],
        Attr::Unknown => unknown = true,
        Attr::Known(list) if list.is_empty() => diags.push(
            Diagnostic::error(
                "Invalid rotation_window.days",
                "days is empty, so the window would never open. List at least one day, or leave days out for every \
day.",
            )
            .at_path(window_path("days")),
        ),
        Attr::Known(list) => {
            for (i, day) in list.iter().enumerate() {
                match day {
                    Attr::Unknown => unknown = true,
                    Attr::Known(name) if DAY_NAMES.contains(&name.as_str()) => {
                        if let Some(n) = DAY_NAMES.iter().position(|d| d == name) {
                            days[n] = true;
                        }
                    }
                    other => {
                        let shown = match other {
                            Attr::Known(name) => crate::plugin::diagnostics::quote(name),
                            _ => "null".to_string(),
                        };
                        let mut path = window_path("days");
                        path.push(PathStep::Index(i as u64));
                        diags.push(
                            Diagnostic::error(
                                "Invalid rotation_window.days",
                                format!(
                                    "{shown} is not a day name. Use lowercase three-letter names: \"mon\", \"tue\", \
\"wed\", \"thu\", \"fri\", \"sat\", \"sun\"."
                                ),
                            )
                            .at_path(path),
                        );
                    }
                }
            }
        }
    }
    if let (Some(s), Some(e)) = (start, end)
        && s == e
    {
        diags.push(
            Diagnostic::error(
                "Invalid rotation_window.end",
                "rotation_window.start and rotation_window.end are equal, which makes an empty window. A window runs \
from start up to (not including) end; an end earlier than the start runs past midnight. To allow rotations at any \
time, leave rotation_window out.",
            )
            .at_path(window_path("end")),
        );
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(match (unknown, start, end) {
        (false, Some(start), Some(end)) => Attr::Known(Window { days, start, end }),
        _ => Attr::Unknown,
    })
}

/// The offset in `[0, jitter)` by which `username`'s rotation falling due at `due` is delayed, to whole seconds.
///
/// Stable across processes, machines and releases: a plan and its apply, and every later plan, must compute the
/// same `rotate_after` (std's hasher is randomly keyed per process, so it can't be used). FNV-1a over the user name
/// and the due time, then splitmix64's finaliser so that inputs differing only in their last bytes still spread.
/// Changing this function moves every jittered `rotate_after` in every state: the test pins its values.
pub fn jitter_offset(username: &str, due: OffsetDateTime, jitter: Duration) -> Duration {
    let span = jitter.as_secs();
    if span == 0 {
        return Duration::ZERO;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let due_bytes = due.unix_timestamp().to_be_bytes();
    for b in username.as_bytes().iter().chain(&[0u8]).chain(&due_bytes) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    Duration::from_secs(h % span)
}
