//! Planning `thingspace_password_rotation`: the planned state, the rotation decision carried to the apply, and the
//! refusals that keep a user from being locked out, all before any API call.
//!
//! A plan refuses (an error) whenever the rotation it would plan must log in with a seed that is blocked, and
//! warns on every plan of a blocked object. It also claims the user name in the process-wide view, so two
//! instances for one user, or a destroy and a create of one user, fail the plan whatever order Terraform plans them
//! in (see `users.rs`).

use time::OffsetDateTime;

use super::decide::{Due, Reason, no_password_error, retry_lifts, rotation_due};
use super::model::{Model, TYPE_NAME};
use super::private::{PlannedRotation, Private, recorded_block};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::secret::Secret;
use crate::resources::block::{Noted, Remedy, blocked_warning, refused_at_apply};
use crate::resources::claims::ClaimKind;
use crate::resources::planning::missing_seed;
use crate::resources::rotating::{Plans, PrivateState, Rotating};
use crate::resources::schedule::{self, age};
use crate::resources::users::Users;
use crate::resources::verify::verification_planned;

/// The planned state and the private data that go with it.
pub type Plan = crate::resources::rotating::Plan<Model>;

/// What this process knows about the user that a create's prior state can't say (see `users.rs`): the block and the
/// password of a tainted object this create replaces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    /// The block of an object of this user blocked on the configured seed.
    pub block: Option<Noted>,
    /// The password of an object of this user in state, seeded like the configuration (so not a re-seed).
    pub password: Option<Secret>,
}

/// The part of the planned state that comes straight from configuration (Terraform requires it unchanged).
pub(super) fn from_config(config: &Model) -> Model {
    Model {
        id: config.username.clone(),
        username: config.username.clone(),
        current_password: config.current_password.clone(),
        // Write-only: Terraform rejects any non-null value in a planned or applied state.
        current_password_wo: Attr::Null,
        current_password_wo_version: config.current_password_wo_version.clone(),
        rotate_after: config.rotate_after.clone(),
        rotation_period: config.rotation_period.clone(),
        triggers: config.triggers.clone(),
        rotation_window: config.rotation_window.clone(),
        rotation_jitter: config.rotation_jitter.clone(),
        next_window_start: Attr::Unknown,
        password: Attr::Unknown,
        rotated_at: Attr::Unknown,
        blocked_reason: Attr::Null,
        max_password_age: config.max_password_age.clone(),
        password_age_deadline: Attr::Unknown,
        retry_stored_password_version: config.retry_stored_password_version.clone(),
        verify_new_password: config.verify_new_password.clone(),
        // A rotation that verifies learns this at apply; one that does not leaves it null.
        verified_at: if config.verifies() {
            Attr::Unknown
        } else {
            Attr::Null
        },
    }
}

impl Plans for Model {
    type Known = Known;

    fn known(users: &Users, config: &Model) -> Known {
        let Attr::Known(username) = &config.username else {
            return Known::default();
        };
        let seed = config.seed();
        Known {
            block: users.blocked(username, &seed),
            password: users.known_password(username, &seed),
        }
    }

    fn plan_create(config: &Model, prior_private: &Private, known: &Known) -> Plan {
        let mut diagnostics = Diagnostics::new();
        let mut planned = from_config(config);
        (
            planned.rotate_after,
            planned.next_window_start,
            planned.password_age_deadline,
        ) = schedule::pending(&config.schedule(), &mut diagnostics);
        // The create half of a replacement gets the update half's private bytes; a tainted object's replacement gets
        // nothing, and what the process saw of that object stands in.
        let block = prior_private
            .block
            .as_ref()
            .map(|b| Noted::of(b, &Remedy::single()))
            .or_else(|| known.block.clone());
        let handoff = prior_private
            .prior_password
            .clone()
            .or_else(|| known.password.clone());
        // A moved retry_stored_password_version lets the create log in once with the password it takes over.
        let retried = handoff.is_some()
            && block
                .as_ref()
                .is_some_and(|b| b.retry_lifts(config.retry()));
        if let Some(b) = block.as_ref().filter(|_| !retried) {
            // A warning, as for an in-place rotation: the plan goes on, so the other resources of the configuration
            // (and what depends on them) still apply, and this create's apply refuses before any log-in, keeping
            // the block in state.
            diagnostics.push(refused_at_apply(username_of(config), &b.reason));
        } else if handoff.is_none() && config.configured_password().is_none() {
            diagnostics.push(missing_seed(no_password_error(config)));
        }
        // With create_before_destroy, Terraform's apply plans the replacement again before the provider process has
        // seen the old object (it is deposed, not read), so that second plan finds no hand-off and would log in with the
        // stale seed. Planning `blocked_reason` as a known null only when a hand-off was found, and as unknown otherwise,
        // makes Terraform refuse that apply as an inconsistent plan before any API call. Without
        // create_before_destroy the old object's destroy comes first and hands the password on, and the plans agree.
        planned.blocked_reason = if handoff.is_some() {
            Attr::Null
        } else {
            Attr::Unknown
        };
        // A refused create (an error, or a warning in a speculative plan nobody applies) shows why in the plan.
        if let Some(b) = block.as_ref().filter(|_| !retried) {
            planned.blocked_reason = Attr::Known(b.reason.clone());
        }

        Plan {
            planned,
            private: Private {
                rotation: Some(PlannedRotation::Due(if retried {
                    Reason::RetryStoredPassword
                } else {
                    Reason::NoPasswordInState
                })),
                block: prior_private.block.clone(),
                blocked_seed: prior_private.blocked_seed.clone(),
                replaces: handoff.is_some() || block.is_some(),
                login: handoff,
                retry: retried,
                ..Private::default()
            },
            diagnostics,
            blocked: block.filter(|_| !retried).map(|b| b.reason),
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
        planned.id = prior.id.clone();
        let block_seed = prior_private.block_seed(prior);
        let reseeded = config.seed().reseeds(&block_seed);
        // A block applies to the seed the object was blocked with; a re-seed lifts it for this plan. An object blocked
        // by an older provider, or whose private bytes were lost, still shows the block in `blocked_reason`.
        let evidence = if reseeded {
            None
        } else {
            recorded_block(prior, prior_private)
        };
        let due = match rotation_due(prior, config, now) {
            Ok(d) => d,
            Err(d) => {
                diagnostics.push(d);
                return Plan {
                    planned,
                    private: Private {
                        block: if reseeded {
                            None
                        } else {
                            prior_private.block.clone()
                        },
                        blocked_seed: (!reseeded && prior_private.block.is_some())
                            .then_some(block_seed),
                        ..Private::default()
                    },
                    diagnostics,
                    blocked: None,
                };
            }
        };
        // A moved retry_stored_password_version allows one log-in with the stored password: the rotation the block held
        // back, or one of its own when nothing else is due.
        let retried = evidence
            .as_ref()
            .is_some_and(|b| retry_lifts(b, prior, config, due));
        let due = match due {
            Due::Yes(r) if retried => Due::Yes(r),
            _ if retried => Due::Yes(Reason::RetryStoredPassword),
            d => d,
        };
        let block = evidence.filter(|_| !retried).map(|b| {
            prior_private
                .block
                .as_ref()
                .map(|b| b.reason(&Remedy::single()))
                .or_else(|| prior.blocked_reason.known().cloned())
                .unwrap_or_else(|| b.reason(&Remedy::single()))
        });
        // A block a retry lifts still travels, as evidence: should the retry fail, its block says what it retried.
        let carried_block = if reseeded {
            None
        } else {
            prior_private.block.clone()
        };
        let carried_seed = carried_block.is_some().then_some(block_seed);
        let mut verify_now = false;
        let rotation = match due {
            Due::No => {
                planned.password = prior.password.clone();
                planned.rotated_at = prior.rotated_at.clone();
                planned.verified_at = prior.verified_at.clone();
                // A password whose verification gave no usable answer is verified now (a log-in, no reset).
                if prior_private.verify && config.verifies() && block.is_none() {
                    planned.verified_at = Attr::Unknown;
                    verify_now = true;
                    diagnostics.push(verification_planned(username_of(config)));
                }
                // Shown in state while blocked; an object blocked by provider 0.1 (private bytes only) gets it now.
                planned.blocked_reason = match (&prior.blocked_reason, &block) {
                    (Attr::Known(r), _) => Attr::Known(r.clone()),
                    (_, Some(r)) => Attr::Known(r.clone()),
                    _ => Attr::Null,
                };
                (
                    planned.rotate_after,
                    planned.next_window_start,
                    planned.password_age_deadline,
                ) = schedule::kept(
                    &config.schedule(),
                    &prior.rotated_at,
                    &prior.rotated_at,
                    &mut diagnostics,
                );
                None
            }
            Due::Yes(reason) => {
                (
                    planned.rotate_after,
                    planned.next_window_start,
                    planned.password_age_deadline,
                ) = schedule::pending(&config.schedule(), &mut diagnostics);
                let no_seed = reason.uses_seed() && config.configured_password().is_none();
                if no_seed
                    && reason == Reason::WriteOnlyVersionChanged
                    && config.current_password.is_null()
                {
                    diagnostics.push(missing_seed(
                        Diagnostic::error(
                            "current_password_wo is not set",
                            "current_password_wo_version changed, which re-seeds the rotation from current_password_wo, \
but current_password_wo is not set. Set it to the user's password now.",
                        )
                        .at("current_password_wo"),
                    ));
                } else if no_seed {
                    diagnostics.push(missing_seed(no_password_error(config)));
                }
                Some(PlannedRotation::Due(reason))
            }
            Due::Unknown => {
                (
                    planned.rotate_after,
                    planned.next_window_start,
                    planned.password_age_deadline,
                ) = schedule::pending(&config.schedule(), &mut diagnostics);
                // Whether it rotates is decided at apply, which keeps the block state it had.
                planned.blocked_reason = Attr::Unknown;
                Some(PlannedRotation::Decide)
            }
        };
        match (&block, rotation) {
            (Some(reason), Some(PlannedRotation::Due(_))) => {
                diagnostics.push(refused_at_apply(username_of(config), reason));
                // The apply refuses and keeps the block: the plan shows it staying.
                planned.blocked_reason = Attr::Known(
                    prior
                        .blocked_reason
                        .known()
                        .cloned()
                        .unwrap_or_else(|| reason.clone()),
                );
            }
            (Some(reason), _) => diagnostics.push(blocked_warning(username_of(config), reason)),
            (None, _) => {}
        }
        if retried {
            diagnostics.push(retry_warning(config));
        }
        Plan {
            planned,
            private: Private {
                rotation,
                block: carried_block,
                blocked_seed: carried_seed.clone(),
                // For the create half, should Terraform replace this object in this plan (-replace,
                // replace_triggered_by, a new user name): the create logs in with the password the object holds.
                prior_password: if reseeded {
                    None
                } else {
                    prior.password.known().cloned()
                },
                retry: retried,
                verify: verify_now,
                ..Private::default()
            },
            diagnostics,
            blocked: block,
        }
    }

    /// What the plan says about the password's age (see [`schedule::age`]): an error past `password_age_deadline` when
    /// this plan does not rotate, a warning while `rotation_window` holds a due rotation.
    fn age_diagnostics(
        prior: &Model,
        config: &Model,
        _private: &Private,
        p: &Plan,
        now: OffsetDateTime,
    ) -> Diagnostics {
        let blocked = p.blocked.as_deref();
        let rotating =
            p.private.rotation.is_some() && blocked.is_none() && !p.diagnostics.has_errors();
        let who = format!("user {}", quote(username_of(config)));
        // The deadline of the password the state holds now: the one that is not replaced when this plan does not rotate.
        let deadline =
            age::deadline(&config.schedule(), &prior.rotated_at).unwrap_or(Attr::Unknown);
        age::diagnostics(
            &config.schedule(),
            &prior.last(),
            age::AgePlan {
                who: &who,
                set_at: &prior.rotated_at,
                deadline: &deadline,
                rotating,
                blocked,
            },
            now,
        )
    }

    /// Claims the configured user for this instance (see `Users::claim`); a change of user name releases the old one.
    fn claim(
        users: &Users,
        prior: Option<&Model>,
        config: &Model,
        prior_private: &Private,
        p: &mut Plan,
    ) {
        if let (Some(prior), Attr::Known(new)) = (prior, &config.username)
            && let Attr::Known(old) = &prior.username
            && old != new
            && let Err(c) = users.release(old)
        {
            p.diagnostics.push(c.diagnostic(old));
        }
        let kind = match (prior, &p.private.login) {
            (Some(_), _) => ClaimKind::Update,
            (None, Some(_)) => ClaimKind::CreateWithHandoff,
            (None, None) => ClaimKind::CreateWithSeed,
        };
        if let Attr::Known(username) = &config.username {
            match users.claim(username, prior_private.claim, kind) {
                Ok(nonce) => p.private.claim = Some(nonce),
                Err(c) => p.diagnostics.push(c.diagnostic(username)),
            }
        }
    }

    fn why(prior: Option<&Model>, config: &Model, p: &Plan) -> Option<Diagnostic> {
        if p.blocked.is_some() || p.private.retry {
            return None;
        }
        match (prior, p.private.rotation) {
            (Some(prior), Some(PlannedRotation::Due(reason))) => {
                Some(reason_warning(prior, config, reason))
            }
            // A create, or the create half of a replacement: Terraform's own plan says why ("will be created",
            // "will be replaced, as requested"), and a replacement is a plain rotation, nothing to warn about.
            _ => None,
        }
    }

    fn log_plan(p: &Plan, create: bool) {
        tracing::debug!(rotation = ?p.private.rotation, blocked = p.private.block.is_some(), create, "planned");
    }

    /// Plans a destroy (Terraform asks because the provider declares `plan_destroy`): no API call, but the user is
    /// released in the process-wide view, so a create of the same user elsewhere in this plan is refused.
    fn plan_destroy(prior: &Model, prior_private: &[u8], users: &Users) -> (Vec<u8>, Diagnostics) {
        let mut diags = Diagnostics::new();
        if let Attr::Known(username) = &prior.username
            && let Err(c) = users.release(username)
        {
            diags.push(c.diagnostic(username));
        }
        diags.push(destroy_warning(username_of(prior)));
        // The destroy's apply gets these back; it needs nothing but what the state already said.
        let private = Private::from_bytes(prior_private);
        let block_seed = private.block_seed(prior);
        (
            Private::settled(private.block, None)
                .blocked_on(Some(block_seed))
                .to_bytes(),
            diags,
        )
    }
}

/// The warning that says why a planned update rotates, since the plan itself shows only `~ password = (sensitive
/// value)`.
fn reason_warning(prior: &Model, config: &Model, reason: Reason) -> Diagnostic {
    let last = prior.rotated_at.known().map_or("unknown", String::as_str);
    let (why, attr) = match reason {
        Reason::RotateAfterPassed => (
            match prior.rotate_after.known() {
                Some(t) => format!(
                    "rotate_after ({t}) has passed since the last rotation ({last}); it logs in with the password in \
state"
                ),
                None => format!(
                    "rotation_period has passed since the last rotation ({last}); it logs in with the password in state"
                ),
            },
            "rotate_after",
        ),
        Reason::TriggersChanged => (
            "triggers changed; it logs in with the password in state".to_owned(),
            "triggers",
        ),
        Reason::CurrentPasswordChanged => (
            "current_password changed (a re-seed); it logs in with the new current_password".to_owned(),
            "current_password",
        ),
        Reason::WriteOnlyVersionChanged => (
            "current_password_wo_version changed (a re-seed); it logs in with current_password_wo".to_owned(),
            "current_password_wo_version",
        ),
        Reason::NoPasswordInState => (
            "the state holds no password for this user (after an import, or a create that did not finish); it logs \
in with the seed"
                .to_owned(),
            "password",
        ),
        Reason::RetryStoredPassword => (
            "retry_stored_password_version changed".to_owned(),
            "retry_stored_password_version",
        ),
    };
    Diagnostic::warning(
        format!("Rotation planned for user {}", quote(username_of(config))),
        format!("This apply rotates the password because {why}."),
    )
    .at(attr)
}

/// The warning on a plan that uses the acknowledgement: what the one log-in it allows will do.
fn retry_warning(config: &Model) -> Diagnostic {
    Diagnostic::warning(
        "Rotation retries the password in state",
        format!(
            "retry_stored_password_version changed, so this apply logs in once more as user {} with the password in \
state and rotates. If that password no longer works, that one log-in fails and the resource blocks again.",
            quote(username_of(config))
        ),
    )
    .at("retry_stored_password_version")
}

/// The warning on a plan that destroys the object: no API call is made, and ThingSpace keeps the password that
/// Terraform will no longer hold.
fn destroy_warning(username: &str) -> Diagnostic {
    Diagnostic::warning(
        "Destroying leaves the ThingSpace password unchanged",
        format!(
            "Destroying thingspace_password_rotation for user {} makes no API call: ThingSpace keeps the last \
password this resource set, and once the object leaves the state Terraform no longer holds it. Read it first if you \
still need it (terraform output, or the consumers that received it); to manage the user again later, import it or \
create the resource again with a re-seed.",
            quote(username)
        ),
    )
}

fn username_of(m: &Model) -> &str {
    m.username.known().map(String::as_str).unwrap_or(TYPE_NAME)
}
