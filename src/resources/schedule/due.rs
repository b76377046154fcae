//! When a rotation is due ([`due`]) and the values a plan or an apply stores: `rotate_after` (the one place its
//! arithmetic is done), `next_window_start`, and the warnings about a schedule that does not do what it seems to.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::args::{Last, Schedule, Triggers, jitter_attr, period_attr, time_attr};
use super::window::{jitter_offset, window_attr};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};
use crate::timefmt::{format_rfc3339, parse_rfc3339};

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
pub enum Timing {
    NotDue,
    Due(Cause),
    /// An input is still unknown at plan time; the apply decides with the known values.
    Unknown,
}

/// The first of a non-empty list of diagnostics: `due` and the state values report one problem at a time.
fn first(d: Diagnostics) -> Diagnostic {
    d.0.into_iter().next().unwrap_or_else(|| {
        Diagnostic::error("Invalid rotation_window", "The window is not valid.")
            .at("rotation_window")
    })
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
/// `rotation_period` is set. The fixed time wins (it is what state and plan show), it rotates once if it is later
/// than the last rotation (nothing if earlier), and then no time-based rotation follows, however long the period.
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
                    "rotate_after ({fixed}) has passed. A fixed rotate_after wins over rotation_period ({period}): it \
rotates once if it is later than the last rotation (rotated_at), and nothing at all if it is earlier, and no further \
rotation is scheduled either way. Remove rotate_after to rotate every rotation_period from the last rotation, or set a \
later rotate_after."
                ),
            )
            .at("rotation_period"),
        );
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
/// held ([`Timing::NotDue`]); an unknown input gives [`Timing::Unknown`] unless a known one already makes the
/// rotation due.
pub fn due(
    last: &Last<'_>,
    config: &Schedule<'_>,
    now: OffsetDateTime,
) -> Result<Timing, Diagnostic> {
    let mut unknown = false;
    match (
        known_triggers(last.triggers),
        known_triggers(config.triggers),
    ) {
        (Some(p), Some(c)) if p != c => return Ok(Timing::Due(Cause::TriggersChanged)),
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
                    Attr::Null => return Ok(Timing::Due(Cause::RotateAfterPassed)),
                    Attr::Known(w) if w.contains(now) => {
                        return Ok(Timing::Due(Cause::RotateAfterPassed));
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
        Timing::Unknown
    } else {
        Timing::NotDue
    })
}
