//! Tests of `thingspace_password_rotation`: planning, the refusals that keep a user from being locked out (blocks and
//! claims, across instances of one process), applying without an API, and configuration (validation, import,
//! upgrade, schema). The rotation rule's own table is in `decide.rs`. Shared fixtures are here.

mod apply;
mod blocks;
mod config;
mod plan;

use super::plan::{Known, from_config};
use super::*;
use crate::plugin::cty::PathStep;
use crate::plugin::secret::Secret;
use crate::resources::block::{Block, BlockKind};
use crate::resources::rotating::Plans;
use crate::resources::schedule::{RotationWindow, Triggers};
use time::macros::datetime;

pub(super) const NOW: OffsetDateTime = datetime!(2027-03-10 12:00:00 UTC);

pub(super) fn s(v: &str) -> Attr<String> {
    Attr::Known(v.to_string())
}

pub(super) fn secret(v: &str) -> Attr<Secret> {
    Attr::Known(Secret::new(v))
}

pub(super) fn triggers(pairs: &[(&str, &str)]) -> Attr<Triggers> {
    Attr::Known(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

pub(super) fn at(attr: &str) -> Vec<PathStep> {
    vec![PathStep::Attr(attr.into())]
}

/// A configuration for user `alice` seeded with `seed`.
pub(super) fn config() -> Model {
    Model {
        username: s("alice"),
        current_password: secret("seed"),
        ..Model::default()
    }
}

/// The state after a rotation at `rotated_at` for `config`.
pub(super) fn state(config: &Model, rotated_at: &str) -> Model {
    Model {
        id: s("alice"),
        password: secret("Wh0a1545a84d"),
        rotated_at: s(rotated_at),
        // A state holds no unknowns; without a rotation_window or max_password_age these are null.
        next_window_start: Attr::Null,
        password_age_deadline: Attr::Null,
        ..from_config(config)
    }
}

/// A plan with no private bytes and nothing known in the process.
pub(super) fn plain(prior: Option<&Model>, config: &Model) -> Plan {
    Model::plan(prior, config, NOW, &Private::default(), &Known::default())
}

pub(super) fn blocked_private() -> Private {
    Private {
        block: Some(Block {
            kind: BlockKind::ResetUnknown,
            at: datetime!(2027-03-09 10:00:00 UTC).unix_timestamp(),
            login: Some(crate::resources::block::LoginWith::Stored),
            retry: None,
            retried: None,
        }),
        ..Private::default()
    }
}

/// What a plan refuses: its errors, and a due rotation it plans only for the apply to refuse (a block, which must not
/// stop the other resources' plans).
pub(super) fn refused(p: &Plan) -> Vec<&str> {
    p.diagnostics
        .0
        .iter()
        .filter(|d| {
            d.is_error() || (p.blocked.is_some() && d.summary.starts_with("Rotation blocked"))
        })
        .map(|d| d.summary.as_str())
        .collect()
}

pub(super) fn errors(p: &Plan) -> Vec<&str> {
    p.diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.summary.as_str())
        .collect()
}

pub(super) fn no_client(users: &Users) -> ApplyContext<'_> {
    ApplyContext {
        client: None,
        users,
    }
}
