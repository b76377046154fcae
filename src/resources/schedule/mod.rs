//! The rotation schedule both rotation resources share: `rotate_after`, `rotation_period`, `triggers`,
//! `rotation_window` and `rotation_jitter`, their validation and schema, whether they make a rotation due, and the
//! `rotate_after` and `next_window_start` a state shows.
//!
//! Everything here is a pure function of (what the last rotation left in state, the configuration, now), so a plan,
//! a saved plan, `-refresh=false` and the apply reach the same answer. [`due`] is the one entry point that decides;
//! the rest computes the values a plan or an apply stores. A resource adds its own reasons (a re-seed, no password in
//! state) around it.
//!
//! The rule: a rotation is due when `triggers` changed, or when `rotate_after` (given, or `rotated_at` +
//! `rotation_period` + the user's jitter) has passed and the last rotation was before it, so a fixed date in the past
//! rotates once, not on every apply. A rotation due by time waits for `rotation_window`; a changed trigger never
//! waits. Window and jitter only ever hold back a rotation that time made due, so changing them never rotates.
//!
//! Neither computed value depends on the clock: `rotate_after` comes from `rotated_at` and the configuration, and
//! `next_window_start` from `rotate_after` and the window. A value that moved with the clock would differ between a
//! plan and its apply (an error in Terraform) and show a change on every plan.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, Time, Weekday};

use crate::plugin::cty::{Attr, PathStep, Type};
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::plugin::schema::{Attribute, Presence};
use crate::timefmt::{format_rfc3339, parse_duration, parse_rfc3339};

pub mod age;

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
    /// `rotation_window`: time-based rotations only run inside it.
    pub rotation_window: &'a Attr<RotationWindow>,
    /// `rotation_jitter`: how far past `rotated_at` + `rotation_period` a user's rotation may be spread.
    pub rotation_jitter: &'a Attr<String>,
    /// The user name the jitter offset is derived from.
    pub username: &'a Attr<String>,
    /// `max_password_age`: the oldest a password may get before a plan that does not rotate it fails.
    pub max_password_age: &'a Attr<String>,
    /// How many rotations a password lives through: 1 for one user, 2 for users that take turns (a password is
    /// active for one period, then standby for another).
    pub lives: u32,
}

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
    start: u32,
    end: u32,
}

impl Window {
    fn opens_on(&self, day: Weekday) -> bool {
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

/// The first of a non-empty list of diagnostics: `due` and the state values report one problem at a time.
fn first(d: Diagnostics) -> Diagnostic {
    d.0.into_iter().next().unwrap_or_else(|| {
        Diagnostic::error("Invalid rotation_window", "The window is not valid.")
            .at("rotation_window")
    })
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

/// Parses `rotation_jitter`: a duration like `rotation_period`, from 0 up to `period` when that is known.
pub fn jitter_attr(value: &str, period: Option<Duration>) -> Result<Duration, Diagnostic> {
    let bad =
        |detail: String| Diagnostic::error("Invalid rotation_jitter", detail).at("rotation_jitter");
    let j = parse_duration(value).map_err(|e| bad(format!("{e}.")))?;
    match period {
        Some(p) if j > p => Err(bad(format!(
            "{value:?} is longer than rotation_period. The jitter spreads each user's rotation over part of one \
period: use at most the period, for example \"14d\" with \"90d\"."
        ))),
        _ if j > MAX_PERIOD => Err(bad(format!(
            "{value:?} is longer than the maximum of 100 years (\"36500d\")."
        ))),
        _ => Ok(j),
    }
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

/// The schema attributes of the window, the jitter and the maximum age, for every rotation resource to add to its
/// own. `lives` is [`Schedule::lives`]: the alternating resource's deadline is its older password's.
pub fn schema_attributes(lives: u32) -> Vec<Attribute> {
    use Presence::*;
    let (max_age, deadline) = if lives > 1 {
        (
            "The oldest a password may get, same syntax as `rotation_period` (`\"90d\"`). When a plan runs past \
`password_age_deadline` and does not rotate (held by `rotation_window`, blocked, or not scheduled), the plan fails, \
naming the users, the age and the reason; with `THINGSPACE_SPECULATIVE_PLAN=true` (a plan that is never applied, \
such as a pull request's) it warns instead. Each password lives two rotations (active, then standby), so \
`2 × (rotation_period + rotation_jitter + the longest wait for rotation_window)` must not exceed it. The gap between \
Terraform runs adds to the age twice, so leave room for it (for example `rotation_period = \"43d\"` with a daily run \
for a `\"90d\"` maximum).",
            "RFC 3339 UTC time by which the older of the two passwords (the standby's, set at \
`standby_rotated_at`) must be replaced: `standby_rotated_at` + `max_password_age`. Null without `max_password_age`.",
        )
    } else {
        (
            "The oldest the password may get, same syntax as `rotation_period` (`\"90d\"`). When a plan runs past \
`password_age_deadline` and does not rotate (held by `rotation_window`, blocked, or not scheduled), the plan fails, \
naming the user, the age and the reason; with `THINGSPACE_SPECULATIVE_PLAN=true` (a plan that is never applied, \
such as a pull request's) it warns instead. Must be at least `rotation_period`, and `rotation_period + \
rotation_jitter + the longest wait for rotation_window` must not exceed it. The gap between Terraform runs adds to \
the age, so leave room for it (for example `rotation_period = \"83d\"` with a daily run for a `\"90d\"` maximum).",
            "RFC 3339 UTC time by which the password must be rotated: `rotated_at` + `max_password_age`. Null without \
`max_password_age`.",
        )
    };
    vec![
        Attribute::new("max_password_age", Type::String, Optional, max_age),
        Attribute::new("password_age_deadline", Type::String, Computed, deadline),
        Attribute::nested(
            "rotation_window",
            Optional,
            "When time-based rotations may run, in UTC. A rotation due because `rotate_after` passed (given or from \
`rotation_period`) is planned only when the plan runs inside a window; outside one the plan shows no change and \
makes no API call, and the first plan or apply inside a later window rotates. A rotation you ask for is never held: \
a `triggers` change, a re-seed, `-replace`, or a create. Changing the window never rotates by itself.",
            vec![
                Attribute::new(
                    "days",
                    Type::list(Type::String),
                    Optional,
                    "The days a window opens on: lowercase three-letter names (`\"mon\"`, `\"tue\"`, `\"wed\"`, \
`\"thu\"`, `\"fri\"`, `\"sat\"`, `\"sun\"`). Every day when unset.",
                ),
                Attribute::new(
                    "start",
                    Type::String,
                    Required,
                    "When the window opens, `\"HH:MM\"` UTC.",
                ),
                Attribute::new(
                    "end",
                    Type::String,
                    Required,
                    "When the window closes, `\"HH:MM\"` UTC, exclusive. An `end` earlier than `start` runs past \
midnight into the next day (a window opened on `\"fri\"` at 22:00 runs to Saturday's `end`). Must differ from \
`start`.",
                ),
            ],
        ),
        Attribute::new(
            "rotation_jitter",
            Type::String,
            Optional,
            "Spreads rotations that `rotation_period` schedules: each user's `rotate_after` is delayed by a stable \
offset in [0, `rotation_jitter`) derived from the user name and the time the rotation falls due, so users created \
together do not all rotate in one apply. Same syntax as `rotation_period` and at most `rotation_period`; needs \
`rotation_period`. `rotate_after` shows the delayed time. A fixed `rotate_after` is never delayed. Changing it never \
rotates by itself.",
        ),
        Attribute::new(
            "next_window_start",
            Type::String,
            Computed,
            "RFC 3339 UTC time at which the next time-based rotation can run at the earliest: `rotate_after` when it \
falls inside a `rotation_window`, else the start of the first window after it. The rotation runs at the first plan \
or apply from then on inside a window. Null without `rotation_window` or without `rotate_after`. It depends only on \
`rotate_after` and the window, never on the current time, so it changes only when they do.",
        ),
    ]
}

/// `next_window_start` for a state whose next time-based rotation is at `rotate_after` (see the schema): null
/// without a window or a `rotate_after`, unknown while either is unknown.
pub fn next_window_start(
    config: &Schedule<'_>,
    rotate_after: &Attr<String>,
) -> Result<Attr<String>, Diagnostic> {
    let window = match window_attr(config.rotation_window).map_err(first)? {
        Attr::Null => return Ok(Attr::Null),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Known(w) => w,
    };
    let after = match rotate_after {
        Attr::Null => return Ok(Attr::Null),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Known(s) => time_attr("rotate_after", s)?,
    };
    window
        .earliest_from(after)
        .map(|t| Attr::Known(format_rfc3339(t)))
        .ok_or_else(|| {
            Diagnostic::error(
                "Invalid rotate_after",
                "No rotation_window opens after rotate_after before the year 9999; choose an earlier rotate_after.",
            )
            .at("rotate_after")
        })
}

/// The `next_window_start` a plan shows with its planned `rotate_after`; a problem (which validate reports first)
/// leaves it unknown for the apply.
pub fn planned_window_start(
    config: &Schedule<'_>,
    rotate_after: &Attr<String>,
    diagnostics: &mut Diagnostics,
) -> Attr<String> {
    next_window_start(config, rotate_after).unwrap_or_else(|d| {
        diagnostics.push(d);
        Attr::Unknown
    })
}

/// Warnings about a schedule that does not do what it seems to: a fixed `rotate_after` that has passed while
/// `rotation_period` is set. The fixed time wins (it is what state and plan show), it rotates once, and then no
/// time-based rotation follows, however long the period.
pub fn warnings(config: &Schedule<'_>, now: OffsetDateTime) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if let (Attr::Known(fixed), Attr::Known(period)) = (config.rotate_after, config.rotation_period)
        && let Ok(at) = parse_rfc3339(fixed)
        && now >= at
    {
        diags.push(
            Diagnostic::warning(
                "rotation_period is ignored while rotate_after is set",
                format!(
                    "rotate_after ({fixed}) has passed. A fixed rotate_after wins over rotation_period ({period}) and \
rotates once, so no further rotation is scheduled. Remove rotate_after to rotate every rotation_period from the last \
rotation, or set a later rotate_after."
                ),
            )
            .at("rotation_period"),
        );
    }
    diags
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
    if let Attr::Known(j) = config.rotation_jitter {
        let period = match config.rotation_period {
            Attr::Known(p) => period_attr(p).ok(),
            Attr::Unknown => None,
            Attr::Null => {
                diags.push(
                    Diagnostic::error(
                        "rotation_jitter needs rotation_period",
                        "rotation_jitter delays the rotations rotation_period schedules, and rotation_period is not set. Set rotation_period (for example \"90d\"), or remove rotation_jitter.",
                    )
                    .at("rotation_jitter"),
                );
                None
            }
        };
        if let Err(d) = jitter_attr(j, period) {
            diags.push(d);
        }
    }
    if let Err(d) = window_attr(config.rotation_window) {
        diags.extend(d);
    }
    diags.extend(age::validate(config));
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
            let add = |t: OffsetDateTime, d: Duration| {
                time::Duration::try_from(d)
                    .ok()
                    .and_then(|d| t.checked_add(d))
                    .ok_or_else(|| {
                        Diagnostic::error(
                            "Invalid rotation_period",
                            "rotated_at plus rotation_period is beyond the year 9999; choose a shorter period.",
                        )
                        .at("rotation_period")
                    })
            };
            let due = add(t, period)?;
            let offset = match (config.rotation_jitter, config.username) {
                (Attr::Null, _) | (Attr::Known(_), Attr::Null) => Duration::ZERO,
                (Attr::Unknown, _) | (Attr::Known(_), Attr::Unknown) => return Ok(Attr::Unknown),
                (Attr::Known(j), Attr::Known(user)) => {
                    jitter_offset(user, due, jitter_attr(j, Some(period))?)
                }
            };
            add(due, offset).map(Attr::Known)
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
/// answer. A changed trigger wins over time and over the window; a rotation due by time outside `rotation_window` is
/// held ([`Verdict::NotDue`]); an unknown input gives [`Verdict::Unknown`] unless a known one already makes the
/// rotation due.
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
                // Due by time: the window may hold it (then not due until the first plan inside a window).
                match window_attr(config.rotation_window).map_err(first)? {
                    Attr::Null => return Ok(Verdict::Due(Cause::RotateAfterPassed)),
                    Attr::Known(w) if w.contains(now) => {
                        return Ok(Verdict::Due(Cause::RotateAfterPassed));
                    }
                    Attr::Known(_) => {}
                    Attr::Unknown => unknown = true,
                }
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
mod tests;
