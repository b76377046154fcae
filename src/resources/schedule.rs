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

/// The schema attributes of the window and jitter, for every rotation resource to add to its own.
pub fn schema_attributes() -> Vec<Attribute> {
    use Presence::*;
    vec![
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
        rotation_window: Attr<RotationWindow>,
        rotation_jitter: Attr<String>,
        username: Attr<String>,
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
            (
                "due by time outside the window: held",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(None, "02:00", "05:00"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "due by time inside the window",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(None, "11:00", "13:00"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "a window's start is inside it",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(None, "12:00", "12:01"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "a window's end is outside it",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(None, "10:00", "12:00"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "inside the hours but not on one of the days",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(Some(&["mon", "thu"]), "11:00", "13:00"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "on one of the days",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(Some(&["wed"]), "11:00", "13:00"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "a window past midnight, opened yesterday (tue), is open until its end today",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(Some(&["tue"]), "22:00", "13:00"),
                    ..Values::default()
                },
                Verdict::Due(Cause::RotateAfterPassed),
            ),
            (
                "a window past midnight that opens today has not opened yet",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: window(Some(&["wed"]), "22:00", "13:00"),
                    ..Values::default()
                },
                Verdict::NotDue,
            ),
            (
                "a fixed rotate_after is held by the window too",
                rotated(march_1),
                Values {
                    rotate_after: s("2027-03-05T00:00:00Z"),
                    rotation_window: window(None, "02:00", "05:00"),
                    ..Values::default()
                },
                Verdict::NotDue,
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
                Verdict::Due(Cause::TriggersChanged),
            ),
            (
                "a window alone never rotates",
                rotated("2027-03-09T00:00:00Z"),
                Values {
                    rotation_period: s("90d"),
                    rotation_window: window(None, "11:00", "13:00"),
                    ..Values::default()
                },
                Verdict::NotDue,
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
                Verdict::NotDue,
            ),
            (
                "window unknown at plan time and due by time",
                rotated(march_1),
                Values {
                    rotation_period: s("7d"),
                    rotation_window: Attr::Unknown,
                    ..Values::default()
                },
                Verdict::Unknown,
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
                Verdict::Unknown,
            ),
            (
                "window unknown but nothing due by time",
                rotated(march_1),
                Values {
                    rotation_period: s("90d"),
                    rotation_window: Attr::Unknown,
                    ..Values::default()
                },
                Verdict::NotDue,
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
                Verdict::Unknown,
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
                Verdict::Unknown,
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
                Verdict::Due(Cause::RotateAfterPassed),
            ),
        ];
        assert_eq!(NOW.weekday(), Weekday::Wednesday, "the rows assume it");
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

    fn parsed(days: Option<&[&str]>, start: &str, end: &str) -> Window {
        match window_attr(&window(days, start, end)) {
            Ok(Attr::Known(w)) => w,
            other => panic!("{days:?} {start}-{end}: {other:?}"),
        }
    }

    fn at_path(d: &Diagnostic) -> String {
        d.attribute
            .iter()
            .map(|p| match p {
                PathStep::Attr(a) => format!(".{a}"),
                PathStep::Index(i) => format!("[{i}]"),
                PathStep::Key(k) => format!("[{k:?}]"),
            })
            .collect()
    }

    #[test]
    fn window_errors_name_the_field() {
        let rows: Vec<(&str, Attr<RotationWindow>, Vec<&str>)> = vec![
            ("valid", window(None, "02:00", "05:00"), vec![]),
            (
                "valid past midnight",
                window(Some(&["fri", "sat"]), "22:00", "01:30"),
                vec![],
            ),
            (
                "hour without a leading zero",
                window(None, "2:00", "05:00"),
                vec![".rotation_window.start"],
            ),
            (
                "24:00",
                window(None, "02:00", "24:00"),
                vec![".rotation_window.end"],
            ),
            (
                "minutes 60",
                window(None, "02:60", "05:00"),
                vec![".rotation_window.start"],
            ),
            (
                "seconds",
                window(None, "02:00:00", "05:00"),
                vec![".rotation_window.start"],
            ),
            (
                "not a time",
                window(None, "soon", "later"),
                vec![".rotation_window.start", ".rotation_window.end"],
            ),
            (
                "non-ASCII digits",
                window(None, "０２:00", "05:00"),
                vec![".rotation_window.start"],
            ),
            (
                "a colon for a minute digit",
                window(None, "02:0:", "05:00"),
                vec![".rotation_window.start"],
            ),
            (
                "a slash for an hour digit",
                window(None, "02:00", "0/:00"),
                vec![".rotation_window.end"],
            ),
            (
                "start == end",
                window(None, "03:00", "03:00"),
                vec![".rotation_window.end"],
            ),
            (
                "capitalised day",
                window(Some(&["Mon"]), "02:00", "05:00"),
                vec![".rotation_window.days[0]"],
            ),
            (
                "long day name",
                window(Some(&["mon", "tuesday"]), "02:00", "05:00"),
                vec![".rotation_window.days[1]"],
            ),
            (
                "no days",
                window(Some(&[]), "02:00", "05:00"),
                vec![".rotation_window.days"],
            ),
            (
                "missing start",
                Attr::Known(RotationWindow {
                    start: Attr::Null,
                    ..window_of(None, "02:00", "05:00")
                }),
                vec![".rotation_window.start"],
            ),
            (
                "unknown parts are checked at apply",
                Attr::Known(RotationWindow {
                    days: Attr::Unknown,
                    start: Attr::Unknown,
                    end: s("05:00"),
                }),
                vec![],
            ),
        ];
        for (name, w, want) in rows {
            let config = Values {
                rotation_window: w,
                ..Values::default()
            };
            let d = validate(&config.schedule());
            let got: Vec<String> = d.0.iter().map(at_path).collect();
            assert_eq!(got, want, "{name}");
            assert!(
                d.0.iter()
                    .all(|d| d.is_error() && d.summary.contains("rotation_window")),
                "{name}"
            );
        }
        let bad_day = Values {
            rotation_window: window(Some(&["mon", "Tue"]), "02:00", "05:00"),
            ..Values::default()
        };
        let d = validate(&bad_day.schedule());
        assert!(
            d.0[0].detail.starts_with("\"Tue\" is not a day name"),
            "{}",
            d.0[0].detail
        );
    }

    #[test]
    fn jitter_is_a_duration_up_to_the_period() {
        type Row = (&'static str, Attr<String>, Attr<String>, Vec<&'static str>);
        let rows: Vec<Row> = vec![
            ("14d of 90d", s("14d"), s("90d"), vec![]),
            ("the whole period", s("90d"), s("90d"), vec![]),
            ("zero", s("0s"), s("90d"), vec![]),
            (
                "longer than the period",
                s("91d"),
                s("90d"),
                vec![".rotation_jitter"],
            ),
            (
                "not a duration",
                s("two weeks"),
                s("90d"),
                vec![".rotation_jitter"],
            ),
            (
                "without a period",
                s("1d"),
                Attr::Null,
                vec![".rotation_jitter"],
            ),
            ("period unknown", s("1000d"), Attr::Unknown, vec![]),
            (
                "period unknown, the longest",
                s("36500d"),
                Attr::Unknown,
                vec![],
            ),
            (
                "period unknown, beyond 100 years",
                s("36501d"),
                Attr::Unknown,
                vec![".rotation_jitter"],
            ),
            ("unknown", Attr::Unknown, s("90d"), vec![]),
        ];
        for (name, jitter, period, want) in rows {
            let config = Values {
                rotation_jitter: jitter,
                rotation_period: period,
                ..Values::default()
            };
            let got: Vec<String> = validate(&config.schedule()).0.iter().map(at_path).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    /// The offsets are part of every jittered state: a change to the function moves them all.
    #[test]
    fn jitter_offsets_are_pinned_and_keyed_by_user_and_due_time() {
        let due = datetime!(2027-05-30 00:00:00 UTC);
        let two_weeks = Duration::from_secs(14 * 86_400);
        let a = jitter_offset("svc-provisioning", due, two_weeks);
        assert_eq!(
            a,
            jitter_offset("svc-provisioning", due, two_weeks),
            "deterministic"
        );
        assert_eq!(a.as_secs(), PINNED_OFFSET_SECS);
        assert_ne!(a, jitter_offset("svc-billing", due, two_weeks), "per user");
        assert_ne!(
            a,
            jitter_offset(
                "svc-provisioning",
                due + time::Duration::seconds(1),
                two_weeks
            ),
            "per due time"
        );
        assert_eq!(
            jitter_offset("svc-provisioning", due, Duration::ZERO),
            Duration::ZERO
        );
        assert_eq!(
            jitter_offset("svc-provisioning", due, Duration::from_millis(999)),
            Duration::ZERO
        );
    }

    const PINNED_OFFSET_SECS: u64 = 55_340;

    /// 50 users created in one apply, on "90d" with a "14d" jitter, and a daily scheduled run at 03:00 inside a
    /// 02:00-05:00 window: the rotations fall on many runs over two weeks, never all in one.
    #[test]
    fn fifty_users_on_90d_with_14d_jitter_spread_over_two_weeks_of_runs() {
        let created = datetime!(2027-03-01 03:00:00 UTC);
        let users: Vec<Values> = (0..50)
            .map(|i| Values {
                rotation_period: s("90d"),
                rotation_jitter: s("14d"),
                rotation_window: window(None, "02:00", "05:00"),
                username: s(&format!("svc-device-{i:02}")),
                // One apply creates them a few seconds apart.
                rotated_at: s(&format_rfc3339(created + time::Duration::seconds(i % 7))),
                ..Values::default()
            })
            .collect();
        let unjittered = created + time::Duration::days(90);
        let after = |u: &Values| match next_rotate_after(
            &u.schedule(),
            Some(time_attr("rotated_at", u.rotated_at.known().unwrap()).unwrap()),
        )
        .unwrap()
        {
            Attr::Known(t) => t,
            other => panic!("{other:?}"),
        };
        // Deterministic, in [0, 14d) past the unjittered time, and what the state shows.
        for u in &users {
            let t = after(u);
            assert_eq!(t, after(u));
            let rotated = time_attr("rotated_at", u.rotated_at.known().unwrap()).unwrap();
            let offset = t - (rotated + time::Duration::days(90));
            assert!(
                offset >= time::Duration::ZERO && offset < time::Duration::days(14),
                "{offset}"
            );
            assert_eq!(
                settled_rotate_after(&u.schedule(), &u.rotated_at).unwrap(),
                Attr::Known(format_rfc3339(t))
            );
        }
        // The scheduled runs: the first run at or after each user's rotate_after rotates it.
        let mut per_run = vec![0usize; 20];
        for u in &users {
            let run = (0..20)
                .find(|d| {
                    let now = unjittered + time::Duration::days(*d);
                    due(&u.last(), &u.schedule(), now).unwrap()
                        == Verdict::Due(Cause::RotateAfterPassed)
                })
                .unwrap_or_else(|| panic!("{:?} never rotated", u.username));
            per_run[run as usize] += 1;
        }
        let runs_used = per_run.iter().filter(|n| **n > 0).count();
        let busiest = per_run.iter().max().copied().unwrap_or(0);
        assert_eq!(per_run.iter().sum::<usize>(), 50);
        assert!(
            per_run[15..].iter().all(|n| *n == 0),
            "all within two weeks: {per_run:?}"
        );
        assert!(runs_used >= 11, "spread over the two weeks: {per_run:?}");
        assert!(
            busiest <= 8,
            "no run rotates more than 8 of 50: {per_run:?}"
        );
        // Without the jitter, every one of them rotates in the first run.
        let first_run = unjittered;
        let unjittered_due = users
            .iter()
            .filter(|u| {
                let plain = Values {
                    rotation_jitter: Attr::Null,
                    ..(*u).clone()
                };
                due(
                    &plain.last(),
                    &plain.schedule(),
                    first_run + time::Duration::seconds(10),
                )
                .unwrap()
                    == Verdict::Due(Cause::RotateAfterPassed)
            })
            .count();
        assert_eq!(unjittered_due, 50);
    }

    /// For every minute of two weeks, `earliest_from` is that minute when it is inside a window, else the first
    /// minute after it that is.
    #[test]
    fn earliest_from_is_the_first_time_inside_a_window() {
        let windows = [
            parsed(None, "02:00", "05:00"),
            parsed(Some(&["fri"]), "22:00", "01:30"),
            parsed(Some(&["mon", "wed"]), "23:59", "00:00"),
            parsed(Some(&["sun"]), "00:00", "23:59"),
        ];
        let origin = datetime!(2027-03-01 00:00:00 UTC);
        let minutes = 3 * 7 * 1440;
        for w in windows {
            let inside: Vec<bool> = (0..minutes)
                .map(|m| w.contains(origin + time::Duration::minutes(m)))
                .collect();
            let mut next_inside = vec![None; inside.len()];
            let mut next = None;
            for m in (0..inside.len()).rev() {
                if inside[m] {
                    next = Some(m);
                }
                next_inside[m] = next;
            }
            for (m, next) in next_inside.iter().enumerate().take(2 * 7 * 1440) {
                let t = origin + time::Duration::minutes(m as i64);
                let want = next.map(|n| origin + time::Duration::minutes(n as i64));
                assert_eq!(w.earliest_from(t), want, "{w:?} at {t}");
            }
        }
    }

    #[test]
    fn a_window_runs_from_its_start_second_to_just_before_its_end() {
        let w = parsed(None, "02:00", "05:00");
        let day = datetime!(2027-03-10 00:00:00 UTC);
        for (hms, inside) in [
            ((1, 59, 59), false),
            ((2, 0, 0), true),
            ((2, 0, 30), true),
            ((4, 59, 59), true),
            ((5, 0, 0), false),
        ] {
            let t = day.replace_time(Time::from_hms(hms.0, hms.1, hms.2).unwrap());
            assert_eq!(w.contains(t), inside, "{t}");
        }
        // Past midnight: a Friday window to 01:30 runs until 01:29:59 on Saturday, minutes included.
        let fri = parsed(Some(&["fri"]), "22:15", "01:30");
        for (t, inside) in [
            (datetime!(2027-03-12 22:14:59 UTC), false),
            (datetime!(2027-03-12 22:15:00 UTC), true),
            (datetime!(2027-03-13 01:29:59 UTC), true),
            (datetime!(2027-03-13 01:30:00 UTC), false),
            (datetime!(2027-03-13 22:15:00 UTC), false),
        ] {
            assert_eq!(fri.contains(t), inside, "{t}");
        }
        let late = day.replace_time(Time::from_hms(5, 0, 30).unwrap());
        assert_eq!(
            w.earliest_from(late),
            Some(datetime!(2027-03-11 02:00:00 UTC))
        );
    }

    #[test]
    fn next_window_start_follows_rotate_after_not_the_clock() {
        let none = Values::default();
        let daily = Values {
            rotation_window: window(None, "02:00", "05:00"),
            ..Values::default()
        };
        let thursdays = Values {
            rotation_window: window(Some(&["thu"]), "22:00", "01:00"),
            ..Values::default()
        };
        let rows: Vec<(&str, &Values, Attr<String>, Attr<String>)> = vec![
            (
                "inside a window: rotate_after itself",
                &daily,
                s("2027-03-10T03:30:00Z"),
                s("2027-03-10T03:30:00Z"),
            ),
            (
                "before the window: its start",
                &daily,
                s("2027-03-10T01:00:00Z"),
                s("2027-03-10T02:00:00Z"),
            ),
            (
                "after the window: tomorrow's start",
                &daily,
                s("2027-03-10T05:00:00Z"),
                s("2027-03-11T02:00:00Z"),
            ),
            (
                "the next thursday",
                &thursdays,
                s("2027-03-10T12:00:00Z"),
                s("2027-03-11T22:00:00Z"),
            ),
            (
                "friday 00:30 is thursday's window",
                &thursdays,
                s("2027-03-12T00:30:00Z"),
                s("2027-03-12T00:30:00Z"),
            ),
            (
                "an offset time, shown in UTC",
                &daily,
                s("2027-03-10T04:30:00+02:00"),
                s("2027-03-10T02:30:00Z"),
            ),
            ("no rotate_after", &daily, Attr::Null, Attr::Null),
            ("rotate_after unknown", &daily, Attr::Unknown, Attr::Unknown),
            ("no window", &none, s("2027-03-10T01:00:00Z"), Attr::Null),
        ];
        for (name, config, rotate_after, want) in rows {
            assert_eq!(
                next_window_start(&config.schedule(), &rotate_after).unwrap(),
                want,
                "{name}"
            );
        }
        let unknown = Values {
            rotation_window: Attr::Unknown,
            ..Values::default()
        };
        assert_eq!(
            next_window_start(&unknown.schedule(), &s("2027-03-10T01:00:00Z")).unwrap(),
            Attr::Unknown
        );
    }

    /// Issue 14, finding 8: a passed fixed rotate_after silently stopped rotation_period. It still wins (the state
    /// shows it), but every plan now says so.
    #[test]
    fn a_passed_fixed_rotate_after_with_a_period_warns_that_the_period_is_ignored() {
        let both = |at: &str| Values {
            rotate_after: s(at),
            rotation_period: s("90d"),
            ..Values::default()
        };
        let passed = warnings(&both("2027-03-01T00:00:00Z").schedule(), NOW);
        assert_eq!(passed.0.len(), 1);
        let w = &passed.0[0];
        assert!(!w.is_error());
        assert_eq!(at_path(w), ".rotation_period");
        assert!(w.detail.contains("Remove rotate_after"), "{}", w.detail);
        assert!(
            warnings(&both("2027-03-10T12:00:00Z").schedule(), NOW)
                .0
                .len()
                == 1,
            "exactly now has passed"
        );
        assert!(
            warnings(&both("2027-04-01T00:00:00Z").schedule(), NOW).is_empty(),
            "not yet passed"
        );
        let fixed_only = Values {
            rotate_after: s("2027-03-01T00:00:00Z"),
            ..Values::default()
        };
        assert!(warnings(&fixed_only.schedule(), NOW).is_empty());
        let period_only = Values {
            rotation_period: s("1d"),
            ..Values::default()
        };
        assert!(warnings(&period_only.schedule(), NOW).is_empty());
    }
}
