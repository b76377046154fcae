//! What both rotation resources' plans and applies share: the apply's inputs and result, the evidence a failed
//! rotation leaves, and the rule that makes a plan agree with Terraform's second plan at apply.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use std::sync::OnceLock;

use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::plugin::resource::Outcome;
use crate::resources::users::{BlockKind, Users};
use crate::thingspace::{Client, Effect, RotateError};

/// The shared, process-wide inputs to an apply.
pub struct ApplyContext<'a> {
    /// The configured API client, or `None` when the provider configuration was still unknown.
    pub client: Option<&'a Client>,
    /// What this process knows about each user.
    pub users: &'a Users,
}

impl<'a> ApplyContext<'a> {
    /// The client, or the error for an apply whose provider configuration was not known.
    pub fn client(&self) -> Result<&'a Client, Diagnostics> {
        self.client.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Provider not configured",
                "The thingspace provider configuration was not known when this resource was applied. Make base_url, \
client_id and client_secret known values.",
            ))
        })
    }
}

/// What an apply returns: the new state (null to remove it), the private bytes to store with it, and diagnostics.
#[derive(Debug)]
pub struct Applied<M> {
    pub new_state: Option<M>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl<M> Applied<M> {
    /// An apply that stores nothing.
    pub fn failed(diagnostics: Diagnostics) -> Self {
        Self {
            new_state: None,
            private: Vec::new(),
            diagnostics,
        }
    }
}

impl<M> From<Applied<M>> for Outcome<Option<M>> {
    fn from(a: Applied<M>) -> Self {
        Outcome {
            state: a.new_state,
            private: a.private,
            diagnostics: a.diagnostics,
        }
    }
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
    if speculative() {
        Diagnostic {
            severity: Severity::Warning,
            detail: format!(
                "{} (A speculative plan, so a warning: the apply would fail.)",
                d.detail
            ),
            ..d
        }
    } else {
        d
    }
}

/// What a failed rotation leaves as evidence: `None` when nothing that counts happened at ThingSpace.
pub fn block_kind(e: &RotateError) -> Option<BlockKind> {
    match e.effect() {
        Effect::None => None,
        Effect::LoginRejected => Some(BlockKind::LoginRejected),
        Effect::UserLocked => Some(BlockKind::UserLocked),
        Effect::LoginUnknown => Some(BlockKind::LoginUnknown),
        Effect::ResetUnknown => Some(BlockKind::ResetUnknown),
    }
}

/// A value for a state Terraform must store: unknowns become null.
pub fn known_or_null<T>(a: Attr<T>) -> Attr<T> {
    match a {
        Attr::Unknown => Attr::Null,
        other => other,
    }
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

/// Private bytes as both resources write them: the JSON of `private` with a format version `v` beside its fields.
/// Empty when there is nothing to carry, so an untouched object stores no private bytes at all.
pub fn private_to_bytes<T: Serialize + Default + PartialEq>(private: &T, version: u8) -> Vec<u8> {
    #[derive(Serialize)]
    struct Versioned<'a, T> {
        v: u8,
        #[serde(flatten)]
        private: &'a T,
    }
    if *private == T::default() {
        return Vec::new();
    }
    serde_json::to_vec(&Versioned {
        v: version,
        private,
    })
    .unwrap_or_default()
}

/// Reads bytes [`private_to_bytes`] wrote with `version`; `None` when they are of another version or unreadable, and
/// the resource decides what that means.
pub fn private_from_bytes<T: DeserializeOwned>(bytes: &[u8], version: u8) -> Option<T> {
    #[derive(Deserialize)]
    struct Versioned<T> {
        v: u8,
        #[serde(flatten)]
        private: T,
    }
    serde_json::from_slice::<Versioned<T>>(bytes)
        .ok()
        .filter(|p| p.v == version)
        .map(|p| p.private)
}
