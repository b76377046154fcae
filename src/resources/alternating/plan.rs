//! Planning `thingspace_alternating_password_rotation`: the planned state, the decision carried to the apply, and
//! the refusals that keep either user from being locked out, all before any API call.
//!
//! As for the single resource: a plan refuses a rotation that must log in as a user whose seed is blocked, warns on
//! every plan of a blocked object, and claims both user names in the process-wide view (`users.rs`), so a user
//! managed twice, by either resource type, fails the plan.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::decide::{Decision, Login, Step, decide, reseeded};
use super::private::{Planned, Private, UserBlock, blocked_users};
use super::{Model, TYPE_NAME};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::secret::Secret;
use crate::resources::common::plan_as_of_read;
use crate::resources::schedule::{
    self, pending_rotate_after, planned_window_start, settled_rotate_after,
};
use crate::resources::users::{ClaimKind, Users, blocked_error, blocked_warning};

/// The planned state and the private bytes that go with it.
#[derive(Debug)]
pub struct Plan {
    pub planned: Model,
    pub private: Private,
    pub diagnostics: Diagnostics,
}

/// What this process knows about the configured users that a create's prior state can't say: blocks on the
/// configured seeds, and passwords of objects in state (a tainted object this create replaces), per user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    pub blocks: BTreeMap<String, String>,
    pub passwords: BTreeMap<String, Secret>,
}

impl Known {
    /// What `users` knows of the configured users and their seeds.
    pub fn of(users: &Users, config: &Model) -> Self {
        let mut known = Known::default();
        for user in config.names().into_iter().flatten() {
            let seed = config.seed(&user);
            if let Some(b) = users.blocked(&user, &seed) {
                known.blocks.insert(user.clone(), b);
            }
            if let Some(p) = users.known_password(&user, &seed) {
                known.passwords.insert(user, p);
            }
        }
        known
    }
}

/// The part of the planned state that comes straight from configuration; everything computed is unknown.
pub(super) fn from_config(config: &Model) -> Model {
    Model {
        id: config.joined_id(),
        usernames: config.usernames.clone(),
        current_passwords: config.current_passwords.clone(),
        // Write-only: Terraform rejects any non-null value in a planned or applied state.
        current_passwords_wo: Attr::Null,
        current_passwords_wo_version: config.current_passwords_wo_version.clone(),
        rotate_after: config.rotate_after.clone(),
        rotation_period: config.rotation_period.clone(),
        triggers: config.triggers.clone(),
        rotation_window: config.rotation_window.clone(),
        rotation_jitter: config.rotation_jitter.clone(),
        next_window_start: Attr::Unknown,
        active_username: Attr::Unknown,
        active_password: Attr::Unknown,
        standby_username: Attr::Unknown,
        standby_password: Attr::Unknown,
        rotated_at: Attr::Unknown,
        blocked_reason: Attr::Unknown,
    }
}

/// The error for a reset of `user` that needs its configured seed when there is none (or only an empty one).
pub(super) fn no_seed_error(user: &str) -> Diagnostic {
    Diagnostic::error(
        "No password to log in with",
        format!(
            "A rotation of user {0} is due and needs its password now, but neither current_passwords_wo nor \
current_passwords has a non-empty entry for it (an empty string counts as unset: a CI secret that is not defined \
expands to \"\"). No log-in was attempted. Set current_passwords_wo[{0}] (Terraform 1.11+, with a new \
current_passwords_wo_version) or current_passwords[{0}] to the user's password now.",
            quote(user)
        ),
    )
    .at("current_passwords_wo")
}

/// The block of the prior object for each user, unless that user is re-seeded (which lifts it): from the private
/// bytes, else from `blocked_reason` (private bytes lost, or a tainted object seen only through its attributes).
pub(super) fn prior_blocks(
    prior: &Model,
    config: &Model,
    private: &Private,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(names) = prior.names() else {
        return out;
    };
    match (&private.block, prior.blocked_reason.known()) {
        (Some(b), _) => {
            if !lifted(prior, config, b) {
                out.insert(b.user.clone(), b.reason());
            }
        }
        (None, Some(r)) => {
            for u in blocked_users(r, &names) {
                if !reseeded(prior, config, &u) {
                    out.insert(u, r.clone());
                }
            }
        }
        (None, None) => {}
    }
    out
}

/// Whether the configuration lifts block `b`: its user is re-seeded, with a seed other than the one the block was
/// recorded with.
fn lifted(prior: &Model, config: &Model, b: &UserBlock) -> bool {
    reseeded(prior, config, &b.user) && b.seed.as_ref() != Some(&config.seed(&b.user))
}

/// The private block to carry: the prior one, unless its user is re-seeded.
pub(super) fn carried_block(prior: &Model, config: &Model, private: &Private) -> Option<UserBlock> {
    private.block.clone().filter(|b| !lifted(prior, config, b))
}

/// Plans as Terraform needs it within a run: plans like [`plan`], deciding time-based rotations as of the last read
/// when that plan is a change (Terraform plans again at apply and refuses a different answer), then claims both
/// users. See `password_rotation::plan::plan_in_run` for the reasoning, which is the same here.
pub fn plan_in_run(
    prior: Option<&Model>,
    config: &Model,
    now: OffsetDateTime,
    prior_private: &Private,
    users: &Users,
) -> Plan {
    let known = match prior {
        None => Known::of(users, config),
        Some(_) => Known::default(),
    };
    let mut p = plan_as_of_read(
        prior.is_some(),
        prior_private.observed_at,
        now,
        |at| plan(prior, config, at, prior_private, &known),
        |p: &Plan| prior.is_some_and(|prior| p.planned != prior.without_write_only()),
    );
    p.diagnostics
        .extend(schedule::warnings(&config.schedule(), now));
    claim(users, prior, config, prior_private, &mut p);
    p
}

/// Claims both configured users for this instance; users the prior object had and the configuration no longer has
/// are released.
fn claim(
    users: &Users,
    prior: Option<&Model>,
    config: &Model,
    prior_private: &Private,
    p: &mut Plan,
) {
    let names = config.names();
    if let Some(old) = prior.and_then(Model::names) {
        for u in old
            .iter()
            .filter(|u| !names.as_ref().is_some_and(|n| n.contains(u)))
        {
            if let Err(c) = users.release(u) {
                p.diagnostics.push(c.diagnostic(u).at("usernames"));
            }
        }
    }
    for user in names.into_iter().flatten() {
        let kind = match (prior, p.private.logins.contains_key(&user)) {
            (Some(_), _) => ClaimKind::Update,
            (None, true) => ClaimKind::CreateWithHandoff,
            (None, false) => ClaimKind::CreateWithSeed,
        };
        match users.claim(&user, prior_private.claims.get(&user).copied(), kind) {
            Ok(nonce) => {
                p.private.claims.insert(user, nonce);
            }
            Err(c) => p.diagnostics.push(c.diagnostic(&user).at("usernames")),
        }
    }
}

/// Plans a destroy: no API call, but both users are released in the process-wide view, so a create of either user
/// elsewhere in this plan is refused.
pub fn plan_destroy(prior: &Model, prior_private: &[u8], users: &Users) -> (Vec<u8>, Diagnostics) {
    let mut diags = Diagnostics::new();
    for u in prior.names().into_iter().flatten() {
        if let Err(c) = users.release(&u) {
            diags.push(c.diagnostic(&u).at("usernames"));
        }
    }
    let private = Private::from_bytes(prior_private);
    (Private::settled(private.block, None).to_bytes(), diags)
}

/// Plans a create (`prior` is `None`) or an update.
pub fn plan(
    prior: Option<&Model>,
    config: &Model,
    now: OffsetDateTime,
    prior_private: &Private,
    known: &Known,
) -> Plan {
    match prior {
        None => plan_create(config, prior_private, known),
        Some(prior) => plan_update(prior, config, now, prior_private),
    }
}

fn plan_create(config: &Model, prior_private: &Private, known: &Known) -> Plan {
    let mut diagnostics = Diagnostics::new();
    let mut planned = from_config(config);
    planned.rotate_after = pending_rotate_after(&config.schedule());
    planned.next_window_start =
        planned_window_start(&config.schedule(), &planned.rotate_after, &mut diagnostics);
    let mut logins = BTreeMap::new();
    for user in config.names().into_iter().flatten() {
        // The create half of a replacement gets the update half's private bytes; a tainted object's replacement gets
        // nothing, and what the process saw of that object stands in.
        let block = match &prior_private.block {
            Some(b) if b.user == user => Some(b.reason()),
            _ => known.blocks.get(&user).cloned(),
        };
        let handoff = prior_private
            .prior_passwords
            .get(&user)
            .or_else(|| known.passwords.get(&user))
            .cloned();
        if let Some(reason) = &block {
            diagnostics.push(blocked_error(&user, reason).at("current_passwords_wo_version"));
        } else if handoff.is_none() && !config.seed_may_exist(&user) {
            diagnostics.push(no_seed_error(&user));
        }
        if let Some(p) = handoff {
            logins.insert(user, p);
        }
    }
    // As for the single resource: with create_before_destroy, the apply's second plan cannot see the hand-off, and a
    // known null here against its unknown makes Terraform stop that apply before any log-in.
    planned.blocked_reason = if logins.is_empty() {
        Attr::Unknown
    } else {
        diagnostics.push(replacement_warning(&logins));
        Attr::Null
    };
    Plan {
        planned,
        private: Private {
            rotation: Some(Planned::Decide),
            block: prior_private.block.clone(),
            logins,
            ..Private::default()
        },
        diagnostics,
    }
}

fn plan_update(
    prior: &Model,
    config: &Model,
    now: OffsetDateTime,
    prior_private: &Private,
) -> Plan {
    let mut diagnostics = Diagnostics::new();
    let mut planned = from_config(config);
    let blocks = prior_blocks(prior, config, prior_private);
    let block = carried_block(prior, config, prior_private);
    // For the create half, should Terraform replace this object in this plan: the passwords it holds, per user,
    // unless that user is re-seeded.
    let prior_passwords: BTreeMap<String, Secret> = prior
        .names()
        .into_iter()
        .flatten()
        .filter(|u| !reseeded(prior, config, u))
        .filter_map(|u| prior.password_of(&u).cloned().map(|p| (u, p)))
        .collect();
    let private = |rotation| Private {
        rotation,
        block: block.clone(),
        prior_passwords: prior_passwords.clone(),
        ..Private::default()
    };
    if prior.names() != config.names() {
        // A replacement (Terraform plans the create half next); nothing of this plan is applied.
        return Plan {
            planned,
            private: private(Some(Planned::Decide)),
            diagnostics,
        };
    }
    let decision = match decide(prior, config, now) {
        Ok(d) => d,
        Err(d) => {
            diagnostics.push(d);
            return Plan {
                planned,
                private: private(None),
                diagnostics,
            };
        }
    };
    let rotation = match decision {
        Decision::None => {
            planned.active_username = prior.active_username.clone();
            planned.active_password = prior.active_password.clone();
            planned.standby_username = prior.standby_username.clone();
            planned.standby_password = prior.standby_password.clone();
            planned.rotated_at = prior.rotated_at.clone();
            planned.blocked_reason = match (&prior.blocked_reason, &block) {
                (Attr::Known(r), _) => Attr::Known(r.clone()),
                (_, Some(b)) => Attr::Known(b.reason()),
                _ => Attr::Null,
            };
            planned.rotate_after = match settled_rotate_after(&config.schedule(), &prior.rotated_at)
            {
                Ok(v) => v,
                Err(d) => {
                    diagnostics.push(d);
                    Attr::Unknown
                }
            };
            planned.next_window_start =
                planned_window_start(&config.schedule(), &planned.rotate_after, &mut diagnostics);
            None
        }
        Decision::Steps(steps) => {
            planned.rotate_after = pending_rotate_after(&config.schedule());
            planned.next_window_start =
                planned_window_start(&config.schedule(), &planned.rotate_after, &mut diagnostics);
            if let [
                Step {
                    login: Login::Stored,
                    ..
                },
            ] = steps.as_slice()
            {
                // A scheduled rotation: the active pair becomes the standby pair, as it is.
                planned.standby_username = prior.active_username.clone();
                planned.standby_password = prior.active_password.clone();
            }
            for step in &steps {
                if let Some(reason) = blocks.get(&step.user) {
                    diagnostics
                        .push(blocked_error(&step.user, reason).at("current_passwords_wo_version"));
                } else if step.login == Login::Seed && !config.seed_may_exist(&step.user) {
                    diagnostics.push(no_seed_error(&step.user));
                }
            }
            Some(Planned::Steps(steps))
        }
        Decision::Unknown => {
            planned.rotate_after = pending_rotate_after(&config.schedule());
            planned.next_window_start =
                planned_window_start(&config.schedule(), &planned.rotate_after, &mut diagnostics);
            Some(Planned::Decide)
        }
    };
    let refused = diagnostics.has_errors();
    for (user, reason) in &blocks {
        if !refused {
            diagnostics.push(blocked_warning(user, reason));
        }
    }
    Plan {
        planned,
        private: private(rotation),
        diagnostics,
    }
}

/// The warning on a replacement that logs in with the replaced object's passwords.
fn replacement_warning(logins: &BTreeMap<String, Secret>) -> Diagnostic {
    let users: Vec<String> = logins.keys().map(|u| quote(u)).collect();
    Diagnostic::warning(
        "Replacement logs in with the replaced object's passwords",
        format!(
            "The new {TYPE_NAME} object logs in as {} with the current password from the object it replaces. With \
create_before_destroy (set here, or inherited from a resource that depends on this one) Terraform hides that \
password from the provider during apply, so the apply stops with \"Provider produced inconsistent final plan\" \
before any log-in instead of using a stale seed. To rotate now, change triggers instead of replacing.",
            users.join(" and ")
        ),
    )
}
