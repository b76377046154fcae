//! Planning any rotation resource within a Terraform run ([`plan_in_run`]): the rule that makes a plan agree with
//! Terraform's second plan at apply, the schedule's warnings, the password-age check, the claim on each user; and how a
//! speculative plan (one nobody applies) words a refusal.

use std::sync::OnceLock;

use time::OffsetDateTime;

use crate::plugin::diagnostics::{Diagnostic, Severity};
use crate::resources::rotating::{Plan, Plans, PrivateState};
use crate::resources::schedule;
use crate::resources::users::Users;

/// Plans as Terraform needs it within a run: plans like the resource's own `plan`, deciding time-based rotations as
/// of the last read when that plan is a change ([`plan_as_of_read`]), adds the schedule's warnings and what the plan
/// says about the password's age, then claims the configured users.
pub fn plan_in_run<M: Plans>(
    prior: Option<&M>,
    config: &M,
    now: OffsetDateTime,
    prior_private: &M::Private,
    users: &Users,
) -> Plan<M> {
    let known = match prior {
        None => M::known(users, config),
        Some(_) => M::Known::default(),
    };
    let mut p = plan_as_of_read(
        prior.is_some(),
        prior_private.observed_at(),
        now,
        |at| M::plan(prior, config, at, prior_private, &known),
        |p: &Plan<M>| prior.is_some_and(|prior| p.planned != prior.without_write_only()),
    );
    p.diagnostics
        .extend(schedule::warnings(&config.schedule(), now));
    if let Some(prior) = prior {
        let age = M::age_diagnostics(prior, config, prior_private, &p, now);
        for d in age.0 {
            p.diagnostics
                .push(if d.is_error() { refusal(d) } else { d });
        }
    }
    if let Some(why) = M::why(prior, config, &p) {
        p.diagnostics.push(why);
    }
    M::claim(users, prior, config, prior_private, &mut p);
    p
}

/// The variable a job sets when its plans are never applied (a pull request's plan): see [`speculative`].
pub const SPECULATIVE_VAR: &str = "THINGSPACE_SPECULATIVE_PLAN";

/// Whether this process plans for a job whose plans are never applied (`THINGSPACE_SPECULATIVE_PLAN` is `true` or
/// `1`). Such a plan reports what the state makes an apply refuse (a block, a passed `password_age_deadline`) as
/// warnings, so a pull request's plan shows them without failing; the apply job's own plan fails on them. Read once
/// per process.
pub fn speculative() -> bool {
    static SPECULATIVE: OnceLock<bool> = OnceLock::new();
    *SPECULATIVE.get_or_init(|| {
        std::env::var(SPECULATIVE_VAR)
            .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true"))
    })
}

/// A plan's refusal of what the state (not the configuration) makes impossible: an error, or a warning in a
/// [`speculative`] plan, which nobody applies.
pub fn refusal(d: Diagnostic) -> Diagnostic {
    if_speculative(d, "A speculative plan, so a warning: the apply would fail.")
}

/// `d` as a warning saying `why`, in a [`speculative`] plan; else `d` unchanged.
fn if_speculative(d: Diagnostic, why: &str) -> Diagnostic {
    if speculative() {
        Diagnostic {
            severity: Severity::Warning,
            detail: format!("{} ({why})", d.detail),
            ..d
        }
    } else {
        d
    }
}

/// A plan's error for a seed it does not have: a warning in a [`speculative`] plan, whose job is given no seed on
/// purpose (a pull request's plan must not hold production secrets); the apply job's plan still fails on it.
pub fn missing_seed(d: Diagnostic) -> Diagnostic {
    if_speculative(
        d,
        "A speculative plan, which is given no seed, so a warning: the apply job needs the seed, or its plan fails \
here.",
    )
}

/// Plans so that Terraform's second plan at apply agrees with the first. Terraform plans every change again at
/// apply, with the same prior state, private bytes and config, and refuses the apply if the two disagree; deciding
/// by the clock, a `rotate_after` that passes between the two would turn "update, no rotation" into "rotate". So when
/// the last read left its time (`read_at`) and the plan as of that time is a change, that plan is the answer: it is
/// what the first plan said. When the plan as of the read is no change at all, this cannot be the second plan
/// (Terraform never plans a no-op again), so the clock decides; that keeps `plan -refresh=false` seeing a rotation
/// that fell due after the last refresh.
///
/// `plan_at` plans as of a time; `is_change` says whether a plan changes the prior object. Without a prior object or
/// a read time, the clock decides.
pub fn plan_as_of_read<P>(
    has_prior: bool,
    read_at: Option<i64>,
    now: OffsetDateTime,
    plan_at: impl Fn(OffsetDateTime) -> P,
    is_change: impl Fn(&P) -> bool,
) -> P {
    let read_at = read_at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    match read_at {
        Some(read_at) if has_prior => {
            let as_of_read = plan_at(read_at);
            if is_change(&as_of_read) {
                as_of_read
            } else {
                plan_at(now)
            }
        }
        _ => plan_at(now),
    }
}
