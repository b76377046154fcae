//! The maximum password age: `max_password_age`, the `password_age_deadline` a state shows, whether a schedule can
//! meet it at all, and what a plan says about a password whose time has come but which it does not rotate.
//!
//! The rule a plan enforces: past the deadline, a plan that does not rotate the password (held by `rotation_window`,
//! blocked, or never scheduled) is an error that names the user, the age, the deadline and the reason; between
//! `rotate_after` and the deadline, a rotation held by the window is a warning that says when it will run. A rotation
//! the user asks for (a `triggers` change, a re-seed, `-replace`) is never held, so none of this applies to it.
//!
//! Like the rest of the schedule this is a pure function of (state, configuration, now): `plan -refresh=false` and a
//! saved plan see the same.

use std::time::Duration;

use time::OffsetDateTime;

use super::args::{Last, MAX_PERIOD, MIN_PERIOD, Schedule, jitter_attr, period_attr, time_attr};
use super::due::next_rotate_after;
use super::window::{Window, window_attr};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::timefmt::{format_duration, format_rfc3339, parse_duration};

/// Parses `max_password_age`: a duration like `rotation_period`, in the same range.
pub fn max_age_attr(value: &str) -> Result<Duration, Diagnostic> {
    let bad = |detail: String| {
        Diagnostic::error("Invalid max_password_age", detail).at("max_password_age")
    };
    let d = parse_duration(value).map_err(|e| bad(format!("{e}.")))?;
    if d < MIN_PERIOD || d > MAX_PERIOD {
        return Err(bad(format!(
            "{value:?} is outside 1s to 100 years (\"36500d\"); Verizon recommends changing passwords every 90 days \
(\"90d\")."
        )));
    }
    Ok(d)
}

impl Window {
    /// The longest a rotation that falls due can wait for this window: from the end of one window to the start of
    /// the next, at its longest over the week (a rotation due just after a window closes waits that long).
    pub fn longest_wait(&self) -> Duration {
        let week_start = time::macros::datetime!(2024-01-01 00:00 UTC); // a Monday
        let mut longest = Duration::ZERO;
        for day in 0..7i64 {
            // Just after the window that opened on this day (if it did) closes, and just after midnight, which is
            // where the wait is longest when windows are rare.
            let closes = if self.end > self.start {
                i64::from(self.end)
            } else {
                86_400 + i64::from(self.end)
            };
            for offset in [closes, 0] {
                let t = week_start + time::Duration::seconds(day * 86_400 + offset);
                if let Some(next) = self.earliest_from(t) {
                    let wait = Duration::try_from(next - t).unwrap_or(Duration::ZERO);
                    longest = longest.max(wait);
                }
            }
        }
        longest
    }
}

/// Errors in a schedule that can never meet its `max_password_age`, for validate: the age must allow at least one
/// `rotation_period` (two for the alternating resource, whose passwords live two rotations), and the worst case of
/// period, jitter and the longest wait for `rotation_window`, even with Terraform running at every moment, must fit
/// in it. The CI schedule adds its own gap on top, which the provider cannot know (see the CI guide's formula).
pub fn validate(config: &Schedule<'_>) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Attr::Known(max) = config.max_password_age else {
        return diags;
    };
    let max_age = match max_age_attr(max) {
        Ok(d) => d,
        Err(d) => {
            diags.push(d);
            return diags;
        }
    };
    let Some(period) = config
        .rotation_period
        .known()
        .and_then(|p| period_attr(p).ok())
    else {
        return diags;
    };
    if max_age < period {
        diags.push(
            Diagnostic::error(
                "max_password_age is shorter than rotation_period",
                format!(
                    "max_password_age ({max}) must be at least rotation_period ({}): a password is replaced once per \
period, so it would always outlive the maximum age. Shorten rotation_period (for example \"83d\" for a \
\"90d\" maximum with a daily CI run).",
                    format_duration(period)
                ),
            )
            .at("max_password_age"),
        );
        return diags;
    }
    let jitter = match config.rotation_jitter {
        Attr::Known(j) => jitter_attr(j, Some(period)).unwrap_or(Duration::ZERO),
        _ => Duration::ZERO,
    };
    let wait = match window_attr(config.rotation_window) {
        Ok(Attr::Known(w)) => w.longest_wait(),
        _ => Duration::ZERO,
    };
    let one = period + jitter + wait;
    let worst = one * config.lives;
    if worst > max_age {
        let terms = format!(
            "rotation_period ({}) + rotation_jitter ({}) + the longest wait for rotation_window ({})",
            format_duration(period),
            format_duration(jitter),
            format_duration(wait)
        );
        let sum = if config.lives > 1 {
            format!(
                "Each password of this resource lives two rotations (one active, one standby), so its age can reach \
2 × ({terms}) = {}",
                format_duration(worst)
            )
        } else {
            format!(
                "A password's age can reach {terms} = {}",
                format_duration(worst)
            )
        };
        diags.push(
            Diagnostic::error(
                "The rotation schedule cannot meet max_password_age",
                format!(
                    "{sum}, more than max_password_age ({max}), even if Terraform ran at every moment; the gap \
between CI runs adds to it. Shorten rotation_period or rotation_jitter, widen rotation_window, or raise \
max_password_age."
                ),
            )
            .at("max_password_age"),
        );
    }
    diags
}

/// `password_age_deadline` for a password set at `set_at`: `set_at` + `max_password_age`; null without either,
/// unknown while either is unknown.
pub fn deadline(config: &Schedule<'_>, set_at: &Attr<String>) -> Result<Attr<String>, Diagnostic> {
    let max = match config.max_password_age {
        Attr::Null => return Ok(Attr::Null),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Known(m) => max_age_attr(m)?,
    };
    let set_at = match set_at {
        Attr::Null => return Ok(Attr::Null),
        Attr::Unknown => return Ok(Attr::Unknown),
        Attr::Known(s) => time_attr("rotated_at", s)?,
    };
    time::Duration::try_from(max)
        .ok()
        .and_then(|d| set_at.checked_add(d))
        .map(|t| Attr::Known(format_rfc3339(t)))
        .ok_or_else(|| {
            Diagnostic::error(
                "Invalid max_password_age",
                "rotated_at plus max_password_age is beyond the year 9999; choose a shorter maximum age.",
            )
            .at("max_password_age")
        })
}

/// A rotation that time made due and `rotation_window` holds: since when it is due, and when the next window opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub due_since: OffsetDateTime,
    pub opens: OffsetDateTime,
}

/// Whether `rotation_window` holds a rotation that `rotate_after` made due, as of `now`. `None` when nothing is due
/// by time, when the plan is inside a window, or while an input is unknown.
pub fn held(last: &Last<'_>, config: &Schedule<'_>, now: OffsetDateTime) -> Option<Held> {
    let rotated_at = match last.rotated_at {
        Attr::Known(s) => Some(time_attr("rotated_at", s).ok()?),
        _ => None,
    };
    let Attr::Known(after) = next_rotate_after(config, rotated_at).ok()? else {
        return None;
    };
    let Attr::Known(window) = window_attr(config.rotation_window).ok()? else {
        return None;
    };
    let due = now >= after && rotated_at.is_none_or(|r| r < after);
    (due && !window.contains(now)).then(|| Held {
        due_since: after,
        opens: window.earliest_from(now).unwrap_or(now),
    })
}

/// What a plan does with the password whose age is checked.
#[derive(Clone, Copy, Debug)]
pub struct AgePlan<'a> {
    /// The user(s), as messages name them (already quoted).
    pub who: &'a str,
    /// When the password whose age counts was set (`rotated_at`, or the standby's time), from state.
    pub set_at: &'a Attr<String>,
    /// The deadline the prior state shows (`password_age_deadline`).
    pub deadline: &'a Attr<String>,
    /// Whether this plan rotates it (or leaves the decision to the apply).
    pub rotating: bool,
    /// The `blocked_reason` when a block keeps it from rotating.
    pub blocked: Option<&'a str>,
}

/// The plan's diagnostics about the password's age (see the module doc).
pub fn diagnostics(
    config: &Schedule<'_>,
    last: &Last<'_>,
    plan: AgePlan<'_>,
    now: OffsetDateTime,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if plan.rotating {
        return diags;
    }
    let held = held(last, config, now);
    let deadline = plan
        .deadline
        .known()
        .and_then(|d| time_attr("password_age_deadline", d).ok());
    let when = |t: OffsetDateTime| format_rfc3339(t);
    if let Some(deadline) = deadline.filter(|d| now >= *d) {
        let set_at = plan
            .set_at
            .known()
            .and_then(|s| time_attr("rotated_at", s).ok());
        let age = set_at
            .and_then(|s| Duration::try_from(now - s).ok())
            .map(|a| format!(", {} ago", format_duration(a)))
            .unwrap_or_default();
        let max = config
            .max_password_age
            .known()
            .map(String::as_str)
            .unwrap_or("?");
        let (why, fix) = match (plan.blocked, held) {
            (Some(reason), _) => (
                format!("the resource is blocked: {reason}"),
                "Lift the block as blocked_reason says; the next apply then rotates.".to_owned(),
            ),
            (None, Some(h)) => (
                format!(
                    "rotation_window holds the rotation that has been due since {}, and the next window opens at {}",
                    when(h.due_since),
                    when(h.opens)
                ),
                "Run Terraform inside rotation_window (the CI schedule must fall inside a window), widen the \
window, or rotate now: a triggers change or -replace is never held by the window."
                    .to_owned(),
            ),
            (None, None) => (
                match config.rotate_after.known() {
                    Some(fixed) => format!("the next rotation is set for rotate_after ({fixed})"),
                    None => "no rotation is scheduled before it (rotation_period is unset or longer)".to_owned(),
                },
                "Set rotation_period shorter than max_password_age, or rotate now with a triggers change or \
-replace."
                    .to_owned(),
            ),
        };
        diags.push(
            Diagnostic::error(
                "Password older than max_password_age",
                format!(
                    "The password of {} was set at {}{age}. max_password_age ({max}) required a rotation by {}, and \
this plan does not rotate it: {why}. {fix}",
                    plan.who,
                    plan.set_at.known().map(String::as_str).unwrap_or("an unknown time"),
                    when(deadline),
                ),
            )
            .at("max_password_age"),
        );
    } else if let (Some(h), None) = (held, plan.blocked) {
        let by = deadline
            .map(|d| format!(" max_password_age requires it by {}.", when(d)))
            .unwrap_or_default();
        diags.push(
            Diagnostic::warning(
                "Rotation held by rotation_window",
                format!(
                    "A rotation of {} has been due since {}; rotation_window holds it, so this plan does not rotate. \
The first plan or apply inside a window rotates: from {} at the earliest, if Terraform runs then.{by}",
                    plan.who,
                    when(h.due_since),
                    when(h.opens),
                ),
            )
            .at("rotation_window"),
        );
    }
    diags
}
