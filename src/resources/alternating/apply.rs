//! Applying `thingspace_alternating_password_rotation`: create and update reset users one at a time through the
//! same API client call as the single resource (log in, reset, log out); delete makes no call.
//!
//! The single resource's rules hold per user:
//! - every password ThingSpace handed out reaches the returned state, whatever fails after it, including the first
//!   user's when the second user's reset of a create fails;
//! - a log-in that failed or may have failed, and a reset that may have taken effect, leave evidence for that user
//!   (`blocked_reason` naming it, the seeds that were used, the block in the private bytes), returned with the
//!   error so Terraform keeps it. A create is then stored tainted; an update keeps its object.
//!
//! After each apply the user reset last is the active one, so the active pair is always one that works.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::decide::{Decision, Login, Step, decide};
use super::plan::{carried_block, no_seed_error, prior_blocks};
use super::private::{Planned, Private, UserBlock};
use super::{Model, Passwords};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::secret::Secret;
use crate::resources::common::{self, block_kind, known_or_null};
use crate::resources::schedule::{next_window_start, rotated_rotate_after, settled_rotate_after};
use crate::resources::users::{Block, BlockKind, blocked_error};
use crate::thingspace::{Client, RotateError};
use crate::timefmt::format_rfc3339;

pub use crate::resources::common::ApplyContext;

/// What an apply returns (see [`common::Applied`]).
pub type Applied = common::Applied<Model>;

fn unknown_usernames() -> Diagnostics {
    Diagnostic::error(
        "usernames is unknown",
        "usernames must be known at apply: two distinct user names.",
    )
    .at("usernames")
    .into()
}

/// The result of running the resets of one apply.
struct Run {
    /// New passwords, in the order the users were reset.
    rotated: Vec<(String, Secret)>,
    warnings: Diagnostics,
    /// The reset that failed, if one did, with what it may have done.
    failure: Option<(String, RotateError)>,
}

/// Resets each user in turn, logging in with the given password; stops at the first failure, since a second user's
/// reset is pointless once the first may have locked or changed something the user must look at.
async fn run(client: &Client, steps: Vec<(String, Secret)>) -> Run {
    let mut out = Run {
        rotated: Vec::new(),
        warnings: Diagnostics::new(),
        failure: None,
    };
    for (user, login) in steps {
        tracing::debug!(username = %user, "alternating: resetting");
        match client.rotate(&user, login.secret()).await {
            Ok(rotation) => {
                for w in rotation.warnings {
                    out.warnings.push(Diagnostic::warning(
                        "Password rotated; a follow-up step had a problem",
                        format!(
                            "The new password for user {} is stored in state. {w}",
                            quote(&user)
                        ),
                    ));
                }
                out.rotated
                    .push((user, Secret::from(rotation.new_password)));
            }
            Err(e) => {
                out.failure = Some((user, e));
                break;
            }
        }
    }
    out
}

/// Sets the roles in `state` after resets: the user reset last is active; the other keeps `others`' password.
fn set_roles(
    state: &mut Model,
    names: &[String; 2],
    rotated: &[(String, Secret)],
    others: &BTreeMap<String, Option<Secret>>,
    default_active: &str,
) {
    let active = rotated
        .last()
        .map(|(u, _)| u.clone())
        .unwrap_or_else(|| default_active.to_owned());
    let standby = names
        .iter()
        .find(|u| **u != active)
        .cloned()
        .unwrap_or_default();
    let password = |u: &str| -> Attr<Secret> {
        rotated
            .iter()
            .rev()
            .find(|(r, _)| r == u)
            .map(|(_, p)| p.clone())
            .or_else(|| others.get(u).cloned().flatten())
            .into()
    };
    state.active_password = password(&active);
    state.standby_password = password(&standby);
    state.active_username = Attr::Known(active);
    state.standby_username = Attr::Known(standby);
}

/// The error that says which passwords this failed apply stored, so nothing is lost and the user knows what to do.
fn partial_error(rotated: &[(String, Secret)], failed: &str, tainted: bool) -> Diagnostic {
    let users: Vec<String> = rotated.iter().map(|(u, _)| quote(u)).collect();
    let next = if tainted {
        "Terraform keeps this object tainted; the next apply replaces it and logs in with the stored password, \
not the seed."
    } else {
        "The next apply continues from this state."
    };
    Diagnostic::error(
        "Rotation incomplete: new passwords are stored in state",
        format!(
            "ThingSpace reset {} in this apply and the new password is stored in state as active_username and \
active_password: use it. The reset of user {} failed (see the other error). {next} If that error says the user is \
blocked, re-seed that user only: set its entry in current_passwords to its password now (or, with \
current_passwords_wo, give every user's current password, the stored one for the user reset here, and change \
current_passwords_wo_version).",
            users.join(" and "),
            quote(failed)
        ),
    )
}

/// Creates: resets `usernames[0]`, then `usernames[1]`, each logging in with the hand-off the plan chose or the
/// configured seed.
pub async fn create(
    ctx: &ApplyContext<'_>,
    config: &Model,
    planned: Model,
    private: Private,
    now: impl Fn() -> OffsetDateTime,
) -> Applied {
    let Some(names) = config.names() else {
        return Applied::failed(unknown_usernames());
    };
    // Everything is checked for both users before the first log-in: refusing half-way would leave a new password
    // for the first user and nothing for the second.
    let mut steps = Vec::new();
    let mut diags = Diagnostics::new();
    for user in &names {
        let blocked = match &private.block {
            Some(b) if &b.user == user => Some(b.reason()),
            _ => ctx.users.blocked(user, &config.seed(user)),
        };
        if let Some(reason) = blocked {
            diags.push(blocked_error(user, &reason).at("current_passwords_wo_version"));
            continue;
        }
        match private
            .logins
            .get(user)
            .cloned()
            .or_else(|| config.configured_password(user))
        {
            Some(login) => steps.push((user.clone(), login)),
            None => diags.push(no_seed_error(user)),
        }
    }
    if diags.has_errors() {
        return Applied::failed(diags);
    }
    let client = match ctx.client() {
        Ok(c) => c,
        Err(d) => return Applied::failed(d),
    };
    let handoffs: BTreeMap<String, Option<Secret>> = names
        .iter()
        .map(|u| (u.clone(), private.logins.get(u).cloned()))
        .collect();
    let out = run(client, steps).await;
    for (user, _) in &out.rotated {
        ctx.users.settle(user, private.claims.get(user).copied());
    }
    let mut diagnostics = out.warnings;
    let Some((failed, e)) = out.failure else {
        let mut state = planned;
        set_roles(&mut state, &names, &out.rotated, &handoffs, &names[1]);
        finish_rotated(&mut state, config, now(), &mut diagnostics);
        return Applied {
            new_state: Some(state),
            private: Vec::new(),
            diagnostics,
        };
    };
    diagnostics.push(Diagnostic::error(e.summary(), e.detail()));
    let kind = block_kind(&e);
    if kind.is_none() && out.rotated.is_empty() && private.logins.is_empty() {
        // Nothing happened at ThingSpace and Terraform held nothing for these users: nothing to keep.
        return Applied::failed(diagnostics);
    }
    if !out.rotated.is_empty() {
        diagnostics.push(partial_error(&out.rotated, &failed, true));
    }
    let block = kind.map(|k| UserBlock {
        user: failed.clone(),
        block: Block::new(k, now()),
        seed: Some(config.seed(&failed)),
    });
    if let Some(b) = &block {
        ctx.users
            .record_failure(&failed, &config.seed(&failed), &b.reason());
    }
    // Terraform stores this object tainted. It keeps every password it knows: the new ones, and hand-offs (unless
    // ThingSpace just rejected one), since the object they came from is gone from state in a replacement.
    let mut others = handoffs;
    if kind == Some(BlockKind::LoginRejected) {
        others.insert(failed.clone(), None);
    }
    let mut state = Model {
        rotated_at: if out.rotated.is_empty() {
            Attr::Null
        } else {
            Attr::Known(format_rfc3339(now()))
        },
        rotate_after: known_or_null(planned.rotate_after.clone()),
        next_window_start: known_or_null(planned.next_window_start.clone()),
        blocked_reason: block
            .as_ref()
            .map_or(Attr::Null, |b| Attr::Known(b.reason())),
        current_passwords_wo: Attr::Null,
        ..planned
    };
    set_roles(&mut state, &names, &out.rotated, &others, &names[1]);
    Applied {
        new_state: Some(state),
        private: Private::settled(block, None).to_bytes(),
        diagnostics,
    }
}

/// The rest of a state after a successful rotation: when, the next `rotate_after`, no block.
fn finish_rotated(state: &mut Model, config: &Model, now: OffsetDateTime, diags: &mut Diagnostics) {
    state.rotated_at = Attr::Known(format_rfc3339(now));
    state.rotate_after = match rotated_rotate_after(&config.schedule(), now) {
        Ok(v) => v,
        Err(d) => {
            // Validation refused a bad period before the rotation; losing the passwords over it would be worse.
            diags.push(Diagnostic::warning(d.summary, d.detail).at("rotation_period"));
            Attr::Null
        }
    };
    state.next_window_start = match next_window_start(&config.schedule(), &state.rotate_after) {
        Ok(v) => known_or_null(v),
        Err(d) => {
            diags.push(Diagnostic::warning(d.summary, d.detail).at("rotation_window"));
            Attr::Null
        }
    };
    state.current_passwords_wo = Attr::Null;
    if state.blocked_reason.is_unknown() {
        state.blocked_reason = Attr::Null;
    }
}

/// Updates: resets the users the plan decided (or, for an undecided plan, those due now), else only stores the
/// change. A scheduled rotation resets the standby only, with its stored password, then swaps the roles.
pub async fn update(
    ctx: &ApplyContext<'_>,
    prior: &Model,
    config: &Model,
    planned: Model,
    private: Private,
    now: impl Fn() -> OffsetDateTime,
) -> Applied {
    let blocks = prior_blocks(prior, config, &private);
    let carried = carried_block(prior, config, &private).or_else(|| {
        // A block shown only in `blocked_reason` (private bytes lost) stays until a re-seed.
        let (user, _) = blocks.iter().next()?;
        Some(UserBlock {
            user: user.clone(),
            block: Block {
                kind: BlockKind::Unknown,
                at: 0,
            },
            seed: Some(prior.seed(user)),
        })
    });
    let keep_prior = |diagnostics: Diagnostics| {
        let mut state = prior.without_write_only();
        if let (Some(b), false) = (&carried, state.blocked_reason.is_known()) {
            state.blocked_reason = Attr::Known(b.reason());
        }
        Applied {
            new_state: Some(state),
            private: Private::settled(carried.clone(), None).to_bytes(),
            diagnostics,
        }
    };
    // A plan with a known active password planned no rotation: a saved plan that said "no rotation" never rotates.
    let steps = match (private.rotation.clone(), planned.active_password.is_known()) {
        (_, true) | (None, _) => None,
        (Some(Planned::Steps(s)), false) => Some(s),
        (Some(Planned::Decide), false) => match decide(prior, config, now()) {
            Ok(Decision::Steps(s)) => Some(s),
            Ok(Decision::None | Decision::Unknown) => None,
            Err(d) => return keep_prior(d.into()),
        },
    };
    let Some(steps) = steps else {
        let mut state = planned;
        state.current_passwords_wo = Attr::Null;
        if !state.active_password.is_known() {
            state.active_username = prior.active_username.clone();
            state.active_password = prior.active_password.clone();
            state.standby_username = prior.standby_username.clone();
            state.standby_password = prior.standby_password.clone();
            state.rotated_at = prior.rotated_at.clone();
        }
        if state.blocked_reason.is_unknown() {
            state.blocked_reason = match (&prior.blocked_reason, &carried) {
                (Attr::Known(r), _) => Attr::Known(r.clone()),
                (_, Some(b)) => Attr::Known(b.reason()),
                _ => Attr::Null,
            };
        }
        if state.rotate_after.is_unknown() {
            state.rotate_after = match settled_rotate_after(&config.schedule(), &prior.rotated_at) {
                Ok(v) => known_or_null(v),
                Err(d) => return keep_prior(d.into()),
            };
        }
        if state.next_window_start.is_unknown() {
            state.next_window_start =
                match next_window_start(&config.schedule(), &state.rotate_after) {
                    Ok(v) => known_or_null(v),
                    Err(d) => return keep_prior(d.into()),
                };
        }
        if state.id.is_unknown() {
            state.id = prior.id.clone();
        }
        return Applied {
            new_state: Some(state),
            private: Private::settled(carried, None).to_bytes(),
            diagnostics: Diagnostics::new(),
        };
    };
    let Some(names) = prior.names().or_else(|| config.names()) else {
        return keep_prior(unknown_usernames());
    };
    // Every log-in is checked before the first one is sent.
    let mut logins = Vec::new();
    let mut diags = Diagnostics::new();
    for Step { user, login } in &steps {
        let blocked = blocks
            .get(user)
            .cloned()
            .or_else(|| ctx.users.blocked(user, &config.seed(user)));
        if let Some(reason) = blocked {
            diags.push(blocked_error(user, &reason).at("current_passwords_wo_version"));
            continue;
        }
        let password = match login {
            Login::Stored => prior.password_of(user).cloned(),
            Login::Seed => config.configured_password(user),
        };
        match password {
            Some(p) => logins.push((user.clone(), p)),
            None => diags.push(no_seed_error(user)),
        }
    }
    if diags.has_errors() {
        return keep_prior(diags);
    }
    let client = match ctx.client() {
        Ok(c) => c,
        Err(d) => return keep_prior(d),
    };
    let before: BTreeMap<String, Option<Secret>> = names
        .iter()
        .map(|u| (u.clone(), prior.password_of(u).cloned()))
        .collect();
    let prior_active = prior
        .active_username
        .known()
        .cloned()
        .unwrap_or_else(|| names[1].clone());
    let out = run(client, logins).await;
    let mut diagnostics = out.warnings;
    let Some((failed, e)) = out.failure else {
        let mut state = Model {
            id: Attr::Known(names.join(",")),
            ..planned
        };
        set_roles(&mut state, &names, &out.rotated, &before, &prior_active);
        // A block of a user this apply did not reset (the active one) still stands.
        let rotated_users: Vec<&String> = out.rotated.iter().map(|(u, _)| u).collect();
        let still = carried.filter(|b| !rotated_users.contains(&&b.user));
        state.blocked_reason = still
            .as_ref()
            .map_or(Attr::Null, |b| Attr::Known(b.reason()));
        finish_rotated(&mut state, config, now(), &mut diagnostics);
        return Applied {
            new_state: Some(state),
            private: Private::settled(still, None).to_bytes(),
            diagnostics,
        };
    };
    diagnostics.push(Diagnostic::error(e.summary(), e.detail()));
    let kind = block_kind(&e);
    if kind.is_none() && out.rotated.is_empty() {
        // Nothing that counts happened at ThingSpace: the prior state stands and the next plan tries again.
        return keep_prior(diagnostics);
    }
    let block = match kind {
        Some(k) => {
            let b = UserBlock {
                user: failed.clone(),
                block: Block::new(k, now()),
                seed: Some(config.seed(&failed)),
            };
            ctx.users
                .record_failure(&failed, &config.seed(&failed), &b.reason());
            Some(b)
        }
        // The failed user's reset had no effect. If it was a re-seed, that re-seed is still to do: the user's old
        // block stands (its stored password may be the one ThingSpace rejected), and its seed entry stays as it
        // was, so the next apply re-seeds it again instead of logging in with the stored password.
        None => {
            let failed_by_seed = steps
                .iter()
                .any(|s| s.user == failed && s.login == Login::Seed);
            let old_block = private.block.clone().filter(|b| b.user == failed);
            match (failed_by_seed, old_block) {
                (true, Some(b)) => Some(b),
                _ => carried,
            }
        }
    };
    let mut state = prior.without_write_only();
    // The object records the seeds that were just used, so only different ones count as a re-seed, and a user
    // reset with its seed is not logged in with that (now stale) seed again; but not the seed of a user whose
    // reset had no effect (above).
    state.current_passwords = config.current_passwords.clone();
    if kind.is_none() {
        state.current_passwords =
            with_entry_of(&state.current_passwords, &prior.current_passwords, &failed);
    }
    state.current_passwords_wo_version = config.current_passwords_wo_version.clone();
    state.blocked_reason = block
        .as_ref()
        .map_or(Attr::Null, |b| Attr::Known(b.reason()));
    if !out.rotated.is_empty() {
        diagnostics.push(partial_error(&out.rotated, &failed, false));
        set_roles(&mut state, &names, &out.rotated, &before, &prior_active);
        state.rotated_at = Attr::Known(format_rfc3339(now()));
    }
    Applied {
        new_state: Some(state),
        private: Private::settled(block, None).to_bytes(),
        diagnostics,
    }
}

/// `map` with `user`'s entry as `from` has it (removed when `from` has none).
fn with_entry_of(map: &Attr<Passwords>, from: &Attr<Passwords>, user: &str) -> Attr<Passwords> {
    let Attr::Known(m) = map else {
        return map.clone();
    };
    let mut m = m.clone();
    match from.known().and_then(|f| f.get(user)) {
        Some(v) => m.insert(user.to_owned(), v.clone()),
        None => m.remove(user),
    };
    Attr::Known(m)
}

/// Deletes: no API call. ThingSpace keeps both users' last passwords, which Terraform no longer holds.
///
/// Refused, keeping the object, while a create of either user in this apply logs in with its configured seed and
/// has not rotated yet: if that create fails, this object holds the only copy of the current password.
pub fn delete(ctx: &ApplyContext<'_>, prior: &Model) -> Applied {
    let names = prior.names();
    let shown = prior.id.known().cloned().unwrap_or_default();
    if names.iter().flatten().any(|u| !ctx.users.may_delete(u)) {
        return Applied {
            new_state: Some(prior.without_write_only()),
            private: Vec::new(),
            diagnostics: Diagnostic::error(
                "Object kept: another resource for the same user has not rotated yet",
                format!(
                    "{} for users {} was not removed from state: in this apply another resource instance for one \
of these users logs in with its configured seed and has not rotated the password yet, and if it fails, this object \
holds the only copy of the current password. If you renamed the resource, add a moved block (moved {{ from = <old \
address>, to = <new address> }}) instead of destroying and creating it.",
                    super::TYPE_NAME,
                    quote(&shown)
                ),
            )
            .into(),
        };
    }
    Applied {
        new_state: None,
        private: Vec::new(),
        diagnostics: Diagnostic::warning(
            "ThingSpace passwords left unchanged",
            format!(
                "{} for users {} was removed from Terraform's state without an API call. ThingSpace keeps the last \
password this resource set for each user; Terraform no longer holds them, but whatever consumed them still does. \
To manage these users again, import the resource or create it again and re-seed with those passwords.",
                super::TYPE_NAME,
                quote(&shown)
            ),
        )
        .into(),
    }
}
