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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
