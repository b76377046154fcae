//! The rotation schedule both rotation resources share: `rotate_after`, `rotation_period`, `triggers`,
//! `rotation_window` and `rotation_jitter`, their validation and schema, whether they make a rotation due, and the
//! `rotate_after` and `next_window_start` a state shows.
//!
//! Layout, bottom to top: `window` holds the window and the jitter as time; `args` the arguments as a model borrows
//! them, how each is read and their schema; `due` the rule that decides ([`due`]) and the values a plan or an apply
//! stores; `age` the password-age deadline; this file the validation of them all.
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

pub mod age;
mod args;
mod due;
mod window;

pub use args::{
    Last, MAX_PERIOD, MIN_PERIOD, Schedule, Triggers, jitter_attr, period_attr, schema_attributes,
    time_attr,
};
pub use due::{
    Cause, Timing, due, next_rotate_after, next_window_start, pending_rotate_after,
    planned_window_start, rotated_rotate_after, settled_rotate_after, warnings,
};
pub use window::{RotationWindow, Window, jitter_offset, window_attr};

use time::OffsetDateTime;

use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics};

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

/// `rotate_after`, `next_window_start` and `password_age_deadline` as a plan that rotates shows them: the first and
/// the last wait on the rotation (unknown when the schedule computes them), the window start follows `rotate_after`.
pub fn pending(
    config: &Schedule<'_>,
    diags: &mut Diagnostics,
) -> (Attr<String>, Attr<String>, Attr<String>) {
    let rotate_after = pending_rotate_after(config);
    let window_start = planned_window_start(config, &rotate_after, diags);
    let deadline = match config.max_password_age {
        Attr::Null => Attr::Null,
        _ => Attr::Unknown,
    };
    (rotate_after, window_start, deadline)
}

/// The same values as a plan that keeps the password shows them: from the last rotation (`rotated_at`) and from when
/// the password whose age counts was set (`set_at`). A problem (which validate reports first) is added to `diags` and
/// leaves its value unknown for the apply.
pub fn kept(
    config: &Schedule<'_>,
    rotated_at: &Attr<String>,
    set_at: &Attr<String>,
    diags: &mut Diagnostics,
) -> (Attr<String>, Attr<String>, Attr<String>) {
    let or_unknown = |r: Result<Attr<String>, Diagnostic>, diags: &mut Diagnostics| {
        r.unwrap_or_else(|d| {
            diags.push(d);
            Attr::Unknown
        })
    };
    let rotate_after = or_unknown(settled_rotate_after(config, rotated_at), diags);
    let window_start = planned_window_start(config, &rotate_after, diags);
    let deadline = or_unknown(age::deadline(config, set_at), diags);
    (rotate_after, window_start, deadline)
}

/// The same values after a rotation at `now`, the password whose age counts set at `set_at`. A problem, which
/// validate refused before the rotation, becomes a warning on its attribute and a null value: losing the new
/// password over it would be worse.
pub fn rotated(
    config: &Schedule<'_>,
    now: OffsetDateTime,
    set_at: &Attr<String>,
    diags: &mut Diagnostics,
) -> (Attr<String>, Attr<String>, Attr<String>) {
    let mut stored = |r: Result<Attr<String>, Diagnostic>, attribute: &str| match r {
        Ok(Attr::Unknown) => Attr::Null,
        Ok(v) => v,
        Err(d) => {
            diags.push(Diagnostic::warning(d.summary, d.detail).at(attribute));
            Attr::Null
        }
    };
    let rotate_after = stored(rotated_rotate_after(config, now), "rotation_period");
    let window_start = stored(next_window_start(config, &rotate_after), "rotation_window");
    let deadline = stored(age::deadline(config, set_at), "max_password_age");
    (rotate_after, window_start, deadline)
}

/// An apply that keeps the password settles what its plan left unknown of the same values, from `(rotated_at,
/// set_at)` as in [`kept`]; a value the state must store is never unknown (null instead). `Err` on a problem that
/// validate refuses.
pub fn settle(
    config: &Schedule<'_>,
    (rotated_at, set_at): (&Attr<String>, &Attr<String>),
    rotate_after: &mut Attr<String>,
    window_start: &mut Attr<String>,
    deadline: &mut Attr<String>,
) -> Result<(), Diagnostic> {
    let known_or_null = |a: Attr<String>| if a.is_unknown() { Attr::Null } else { a };
    if rotate_after.is_unknown() {
        *rotate_after = known_or_null(settled_rotate_after(config, rotated_at)?);
    }
    if window_start.is_unknown() {
        *window_start = known_or_null(next_window_start(config, rotate_after)?);
    }
    if deadline.is_unknown() {
        *deadline = known_or_null(age::deadline(config, set_at)?);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
