//! Upgrading stored states of earlier schema versions, and states written before `blocked_reason` existed.
//!
//! The plugin's adapter reads a stored state with today's schema (see `plugin::adapter::upgrade_state`):
//! attributes this version no longer has are dropped, and those it added are null. That covers version 0, which had
//! the same attribute names minus `rotation_period`, `triggers`, `current_password_wo` and
//! `current_password_wo_version`, so an upgrade never makes a rotation due by itself. What is left is here.

use super::model::Model;
use crate::plugin::cty::Attr;

/// Upgrades a stored state, read with today's schema, to this version: a state without `id` takes the user name.
pub fn upgrade(prior: Model) -> Model {
    let id = match prior.id {
        Attr::Null => prior.username.clone(),
        id => id,
    };
    Model {
        id,
        current_password_wo: Attr::Null,
        ..prior
    }
}
