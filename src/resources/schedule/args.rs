//! The scheduling arguments as a resource's model holds them ([`Schedule`], [`Last`]), how each one is read, and their
//! schema fragments.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::window::RotationWindow;
use crate::plugin::cty::{Attr, Type};
use crate::plugin::diagnostics::Diagnostic;
use crate::plugin::schema::{Attribute, Presence};
use crate::timefmt::{parse_duration, parse_rfc3339};

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

/// What the last rotation left in state that the schedule depends on.
#[derive(Clone, Copy, Debug)]
pub struct Last<'a> {
    /// The triggers the state was last applied with.
    pub triggers: &'a Attr<Triggers>,
    /// RFC 3339 time of the last rotation; null for a state that never rotated (or predates the attribute).
    pub rotated_at: &'a Attr<String>,
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
