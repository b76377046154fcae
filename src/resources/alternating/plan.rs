//! Planning `thingspace_alternating_password_rotation`: the planned state, the decision carried to the apply, and
//! the refusals that keep either user from being locked out, all before any API call.
//!
//! As for the single resource: a plan refuses a rotation that must log in as a blocked user, warns on every plan of
//! a blocked object, checks the password age against `max_password_age`, and claims both user names in the
//! process-wide view (`users.rs`), so a user managed twice, by either resource type, fails the plan.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::decide::{Resets, Standing, create_login, decide, no_seed_error, standing};
use super::model::{Model, TYPE_NAME};
use super::private::{Planned, Private, UserBlock};
use super::reset::{Login, Reset};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::secret::Secret;
use crate::resources::block::{Noted, blocked_error, blocked_warning, refused_at_apply};
use crate::resources::claims::ClaimKind;
use crate::resources::planning::{missing_seed, refusal};
use crate::resources::rotating::{Plans, PrivateState, Rotating};
use crate::resources::schedule::{self, age};
use crate::resources::users::Users;
use crate::resources::verify::verification_planned;

/// The planned state and the private data that go with it.
pub type Plan = crate::resources::rotating::Plan<Model>;

/// What this process knows about the configured users that a create's prior state can't say (a tainted object this
/// create replaces, seen in state): per user, a block that the configured seed does not re-seed, and the password
/// with the seed that object showed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    pub blocks: BTreeMap<String, Noted>,
    pub passwords: BTreeMap<String, Secret>,
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
        standby_rotated_at: Attr::Unknown,
        max_password_age: config.max_password_age.clone(),
        password_age_deadline: Attr::Unknown,
        retry_stored_password_version: config.retry_stored_password_version.clone(),
        verify_new_password: config.verify_new_password.clone(),
        verified_at: if config.verifies() {
            Attr::Unknown
        } else {
            Attr::Null
        },
    }
}

/// The blocks that stand for this configuration, per user, with their `blocked_reason` text.
pub(super) fn standing_blocks(
    prior: &Model,
    config: &Model,
    private: &Private,
) -> BTreeMap<String, String> {
    prior
        .names()
        .into_iter()
        .flatten()
        .filter_map(|u| match standing(prior, config, private, &u) {
            Standing::Blocked(b) => Some((u, b.reason())),
            _ => None,
        })
        .collect()
}

pub use crate::resources::planning::plan_in_run;

impl Plans for Model {
    type Known = Known;

    fn known(users: &Users, config: &Model) -> Known {
        let mut known = Known::default();
        for user in config.names().into_iter().flatten() {
            let seed = config.seed(&user);
            if let Some(b) = users.blocked(&user, &seed) {
                known.blocks.insert(user.clone(), b);
            }
            if let Some((shown, p)) = users.password_of(&user) {
                let entry = seed.current_password;
                if entry.is_none() || entry == shown.current_password {
                    known.passwords.insert(user, p);
                }
            }
        }
        known
    }

    fn plan_create(config: &Model, prior_private: &Private, known: &Known) -> Plan {
        let mut diagnostics = Diagnostics::new();
        let mut planned = from_config(config);
        (
            planned.rotate_after,
            planned.next_window_start,
            planned.password_age_deadline,
        ) = schedule::pending(&config.schedule(), &mut diagnostics);
        let mut logins = BTreeMap::new();
        for user in config.names().into_iter().flatten() {
            let handoff = prior_private
                .prior_passwords
                .get(&user)
                .or_else(|| known.passwords.get(&user));
            match create_login(
                config,
                prior_private,
                known.blocks.get(&user),
                handoff,
                &user,
            ) {
                Err(reason) => diagnostics.push(refusal(
                    blocked_error(&user, &reason).at("current_passwords_wo_version"),
                )),
                Ok(Some(p)) => {
                    logins.insert(user, p);
                }
                Ok(None) if !config.seed_may_exist(&user) => {
                    diagnostics.push(missing_seed(no_seed_error(&user)))
                }
                Ok(None) => {}
            }
        }
        // As for the single resource: with create_before_destroy, the apply's second plan cannot see the hand-off, and a
        // known null here against its unknown makes Terraform stop that apply before any log-in.
        planned.blocked_reason = if logins.is_empty() {
            Attr::Unknown
        } else {
            Attr::Null
        };
        Plan {
            planned,
            private: Private {
                rotation: Some(Planned::Decide),
                blocks: prior_private.blocks.clone(),
                logins,
                ..Private::default()
            },
            diagnostics,
            blocked: None,
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
        let blocks = standing_blocks(prior, config, prior_private);
        // For the create half, should Terraform replace this object in this plan: the passwords it holds, per user,
        // unless that user logs in with its seed (re-seeded, or without a password).
        let prior_passwords: BTreeMap<String, Secret> = prior
            .names()
            .into_iter()
            .flatten()
            .filter(|u| standing(prior, config, prior_private, u) != Standing::Seed)
            .filter_map(|u| prior.password_of(&u).cloned().map(|p| (u, p)))
            .collect();
        // Every block of the prior object travels on, lifted or not, with the seed it applies to: the apply judges them
        // as this plan did, and the create half of a replacement, which has no prior object, can too.
        let carried: Vec<_> = prior_private
            .blocks
            .iter()
            .map(|b| UserBlock {
                seed: Some(b.seed.clone().unwrap_or_else(|| prior.seed(&b.user))),
                ..b.clone()
            })
            .collect();
        let private = |rotation| Private {
            rotation,
            blocks: carried.clone(),
            prior_passwords: prior_passwords.clone(),
            ..Private::default()
        };
        if prior.names() != config.names() {
            // A replacement (Terraform plans the create half next); nothing of this plan is applied.
            return Plan {
                planned,
                private: private(Some(Planned::Decide)),
                diagnostics,
                blocked: None,
            };
        }
        let decision = match decide(prior, config, prior_private, now) {
            Ok(d) => d,
            Err(d) => {
                diagnostics.push(d);
                return Plan {
                    planned,
                    private: private(None),
                    diagnostics,
                    blocked: None,
                };
            }
        };
        let mut blocked = None;
        let mut verify_now: Vec<String> = Vec::new();
        let rotation = match decision {
            Resets::None => {
                planned.active_username = prior.active_username.clone();
                planned.active_password = prior.active_password.clone();
                planned.standby_username = prior.standby_username.clone();
                planned.standby_password = prior.standby_password.clone();
                planned.rotated_at = prior.rotated_at.clone();
                planned.standby_rotated_at = prior.standby_rotated_at.clone();
                planned.blocked_reason = prior.blocked_reason.clone();
                planned.verified_at = prior.verified_at.clone();
                // Passwords whose verification gave no usable answer are verified now (a log-in each, no reset).
                if config.verifies() {
                    verify_now = prior_private
                        .verify
                        .iter()
                        .filter(|u| !blocks.contains_key(*u))
                        .cloned()
                        .collect();
                }
                for user in &verify_now {
                    planned.verified_at = Attr::Unknown;
                    diagnostics.push(verification_planned(user));
                }
                (
                    planned.rotate_after,
                    planned.next_window_start,
                    planned.password_age_deadline,
                ) = schedule::kept(
                    &config.schedule(),
                    &prior.rotated_at,
                    prior.oldest_set_at(),
                    &mut diagnostics,
                );
                None
            }
            Resets::Steps(steps) => {
                (
                    planned.rotate_after,
                    planned.next_window_start,
                    planned.password_age_deadline,
                ) = schedule::pending(&config.schedule(), &mut diagnostics);
                if let [
                    Reset {
                        login: Login::Stored,
                        user,
                    },
                ] = steps.as_slice()
                    && prior.standby_username.known() == Some(user)
                {
                    // A scheduled rotation: the active pair becomes the standby pair, as it is.
                    planned.standby_username = prior.active_username.clone();
                    planned.standby_password = prior.active_password.clone();
                    planned.standby_rotated_at = prior.rotated_at.clone();
                    if let Ok(d) = age::deadline(&config.schedule(), &prior.rotated_at) {
                        planned.password_age_deadline = d;
                    }
                }
                let mut refused = Vec::new();
                for step in &steps {
                    if let Some(reason) = blocks.get(&step.user) {
                        diagnostics.push(
                            refused_at_apply(&step.user, reason).at("current_passwords_wo_version"),
                        );
                        refused.push(reason.clone());
                    } else if step.login == Login::Seed && !config.seed_may_exist(&step.user) {
                        diagnostics.push(missing_seed(no_seed_error(&step.user)));
                    }
                }
                if !refused.is_empty() {
                    // The apply refuses before any log-in and keeps the object: the plan shows it staying.
                    planned.blocked_reason = prior.blocked_reason.clone();
                    blocked = Some(refused.join(" "));
                } else if blocks.is_empty() && prior.blocked_reason.is_null() {
                    // Nothing is blocked and a rotation that succeeds leaves nothing blocked: planned as null, not
                    // "(known after apply)". A failed rotation ends in an error, whose state Terraform takes as is.
                    planned.blocked_reason = Attr::Null;
                }
                Some(Planned::Steps(steps))
            }
            Resets::Unknown => {
                (
                    planned.rotate_after,
                    planned.next_window_start,
                    planned.password_age_deadline,
                ) = schedule::pending(&config.schedule(), &mut diagnostics);
                Some(Planned::Decide)
            }
        };
        for (user, reason) in &blocks {
            if blocked
                .as_ref()
                .is_none_or(|b| !b.contains(reason.as_str()))
            {
                diagnostics.push(blocked_warning(user, reason));
            }
        }
        Plan {
            planned,
            private: Private {
                verify: verify_now,
                ..private(rotation)
            },
            diagnostics,
            blocked,
        }
    }

    /// What the plan says about the older password's age (see [`schedule::age`]).
    fn age_diagnostics(
        prior: &Model,
        config: &Model,
        prior_private: &Private,
        p: &Plan,
        now: OffsetDateTime,
    ) -> Diagnostics {
        let blocks = standing_blocks(prior, config, prior_private);
        let rotating =
            p.private.rotation.is_some() && p.blocked.is_none() && !p.diagnostics.has_errors();
        let blocked = p
            .blocked
            .clone()
            .unwrap_or_else(|| blocks.values().cloned().collect::<Vec<_>>().join(" "));
        let who = match prior.standby_username.known() {
            Some(u) => format!("user {} (the standby)", quote(u)),
            None => TYPE_NAME.to_owned(),
        };
        // The deadline of the older password the state holds now, which a plan that does not rotate leaves in place.
        let deadline =
            age::deadline(&config.schedule(), prior.oldest_set_at()).unwrap_or(Attr::Unknown);
        age::diagnostics(
            &config.schedule(),
            &prior.last(),
            age::AgePlan {
                who: &who,
                set_at: prior.oldest_set_at(),
                deadline: &deadline,
                rotating,
                blocked: (!blocked.is_empty()).then_some(blocked.as_str()),
            },
            now,
        )
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

    fn why(prior: Option<&Model>, _config: &Model, p: &Plan) -> Option<Diagnostic> {
        let (Some(_), None, Some(Planned::Steps(steps))) = (prior, &p.blocked, &p.private.rotation)
        else {
            return None;
        };
        let resets: Vec<String> = steps
            .iter()
            .map(|s| {
                format!(
                    "{} (logging in with {})",
                    quote(&s.user),
                    match s.login {
                        Login::Stored => "its password in state",
                        Login::Seed => "its seed, a re-seed",
                    }
                )
            })
            .collect();
        Some(Diagnostic::warning(
            "Rotation planned",
            format!(
                "This apply resets {}: a rotation is due (rotate_after passed, triggers changed, or a re-seed). The \
user reset last becomes the active one.",
                resets.join(", then ")
            ),
        ))
    }

    fn log_plan(p: &Plan, create: bool) {
        tracing::debug!(rotation = ?p.private.rotation, blocked = p.private.blocks.len(), create, "planned");
    }

    /// Plans a destroy: no API call, but both users are released in the process-wide view, so a create of either user
    /// elsewhere in this plan is refused, and the plan warns that ThingSpace keeps both passwords.
    fn plan_destroy(prior: &Model, prior_private: &[u8], users: &Users) -> (Vec<u8>, Diagnostics) {
        let mut diags = Diagnostics::new();
        for u in prior.names().into_iter().flatten() {
            if let Err(c) = users.release(&u) {
                diags.push(c.diagnostic(&u).at("usernames"));
            }
        }
        diags.push(Diagnostic::warning(
            "Destroying leaves the ThingSpace passwords unchanged",
            format!(
                "Destroying {TYPE_NAME} for users {} makes no API call: ThingSpace keeps each user's last password, and \
once the object leaves the state Terraform no longer holds them. Read them first if you still need them (the \
consumers that received active_password, or terraform output); to manage these users again later, import the \
resource or create it again with a re-seed.",
                quote(prior.id.known().map(String::as_str).unwrap_or_default())
            ),
        ));
        let private = Private::from_bytes(prior_private);
        (Private::settled(private.blocks, None).to_bytes(), diags)
    }
}
