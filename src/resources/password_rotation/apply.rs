//! Applying `thingspace_password_rotation`: create and update log in, reset and log out through the API client;
//! delete makes no call.
//!
//! Two rules shape every path:
//! - a password ThingSpace handed out always reaches the returned state, whatever fails after it;
//! - a log-in that failed or may have failed, and a reset that may have taken effect, leave evidence in the returned
//!   state (`blocked_reason`, the seed that was used, and the block in the private bytes), returned with the error
//!   diagnostic so Terraform persists it. A create is then stored tainted; an update keeps its object.

use time::OffsetDateTime;

use super::decide::{Due, no_password_error, rotation_due};
use super::model::Model;
use super::private::{PlannedRotation, Private, recorded_block};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::secret::Secret;
use crate::resources::applying::known_or_null;
use crate::resources::rotating::{Applies, PrivateState, Rotating};

use crate::resources::block::{
    Block, BlockKind, LoginWith, Noted, Remedy, block_kind, blocked_error,
};
use crate::resources::schedule::{self};
use crate::resources::verify::{self, Verified};
use crate::thingspace::{RotateError, Rotation, Verification};
use crate::timefmt::format_rfc3339;

pub use crate::resources::applying::ApplyContext;

/// What an apply returns (see [`crate::resources::applying::Applied`]).
pub type Applied = crate::resources::applying::Applied<Model>;

/// A failed rotation's diagnostic, with what Terraform's state now holds (the client's message cannot know whether
/// a create's object is stored tainted, and with which password, or an update's object keeps its password), and,
/// when the failure blocked the resource, the steps that lift the block.
fn failure_diagnostic(e: &RotateError, state_note: &str, block: Option<&Block>) -> Diagnostics {
    let steps = block
        .map(|b| {
            format!(
                " This resource is now blocked: no plan or apply logs in for this user until you act. {}",
                b.steps(&Remedy::single())
            )
        })
        .unwrap_or_default();
    Diagnostic::error(e.summary(), format!("{} {state_note}{steps}", e.detail())).into()
}

/// What a failed create leaves in state, for [`failure_diagnostic`].
fn create_state_note(kind: Option<BlockKind>, keeps_password: bool) -> &'static str {
    match (kind, keeps_password) {
        (None, _) => {
            "Terraform stores this object tainted, with the password of the object it replaces; the next \
plan replaces it and logs in with that password."
        }
        (Some(_), false) => {
            "Terraform stores this object tainted and without a password: plans show it must be \
replaced, and the replacement is refused until you re-seed."
        }
        (Some(BlockKind::ResetUnknown), true) => {
            "Terraform stores this object tainted, with the password of the \
object it replaces, which no longer works if the reset took effect: plans show it must be replaced, and the \
replacement is refused until you re-seed."
        }
        (Some(BlockKind::LoginRejected), true) => {
            "Terraform stores this object tainted, with the password of the object it replaces, which ThingSpace \
just rejected: plans show it must be replaced, and the replacement is refused until you re-seed."
        }
        (Some(_), true) => {
            "Terraform stores this object tainted, with the password of the object it replaces: plans \
show it must be replaced, and the replacement is refused until you re-seed."
        }
    }
}

/// What a failed update leaves in state, for [`failure_diagnostic`].
fn update_state_note(kind: Option<BlockKind>) -> &'static str {
    match kind {
        Some(BlockKind::ResetUnknown) => {
            "Terraform's state keeps the previous password, which no longer works if \
the reset took effect."
        }
        _ => "Terraform's state keeps the previous password.",
    }
}

fn unknown_username() -> Diagnostics {
    Diagnostic::error("username is unknown", "username must be known at apply.")
        .at("username")
        .into()
}

/// The state after a successful rotation: the new password, when, the next `rotate_after`, and what its verification
/// proved (a rejection blocks, on the seed configured now, with the issued password kept).
fn rotated_state(
    ctx: &ApplyContext<'_>,
    username: &str,
    rotation: Rotation,
    config: &Model,
    planned: Model,
    now: OffsetDateTime,
) -> Applied {
    let mut diags = Diagnostics::new();
    for w in rotation.warnings {
        diags.push(Diagnostic::warning(
            "Password rotated; a follow-up step had a problem",
            format!(
                "The new password for user {} is stored in state. {w}",
                quote(username)
            ),
        ));
    }
    let rotated_at = Attr::Known(format_rfc3339(now));
    let (rotate_after, window_start, deadline) =
        schedule::rotated(&config.schedule(), now, &rotated_at, &mut diags);
    let state = Model {
        id: Attr::Known(username.to_owned()),
        password: Attr::Known(Secret::from(rotation.new_password)),
        rotated_at,
        rotate_after,
        next_window_start: window_start,
        password_age_deadline: deadline,
        blocked_reason: Attr::Null,
        current_password_wo: Attr::Null,
        ..planned
    };
    verified_state(
        ctx,
        username,
        state,
        rotation.verification,
        config,
        now,
        diags,
    )
}

/// `state` (holding the password just issued or awaiting its proof) with what `verification` proved.
fn verified_state(
    ctx: &ApplyContext<'_>,
    username: &str,
    mut state: Model,
    verification: Verification,
    config: &Model,
    now: OffsetDateTime,
    mut diagnostics: Diagnostics,
) -> Applied {
    let remedy = Remedy::single();
    let private = match verify::record(
        username,
        verification,
        now,
        config.retry().cloned(),
        &remedy,
    ) {
        Verified::At(at) => {
            state.verified_at = at;
            Private::default()
        }
        Verified::Unproven { pending, warning } => {
            state.verified_at = Attr::Null;
            if let Some(w) = warning {
                diagnostics.push(w);
            }
            Private::default().verifying(pending)
        }
        Verified::Refused { block, error } => {
            let seed = config.seed();
            state.verified_at = Attr::Null;
            state.blocked_reason = Attr::Known(block.reason(&remedy));
            // The object records the seed that was configured, so only a different one lifts the block.
            state.current_password = config.current_password.clone();
            state.current_password_wo_version = config.current_password_wo_version.clone();
            ctx.users
                .record_failure(username, &seed, Noted::of(&block, &remedy));
            diagnostics.push(error);
            Private::settled(Some(block), None).blocked_on(Some(seed))
        }
    };
    Applied {
        new_state: Some(state),
        private: private.to_bytes(),
        diagnostics,
    }
}

impl Applies for Model {
    /// Creates: logs in with the hand-off the plan chose (the password of the object this create replaces) or the
    /// configured seed, resets, logs out, and stores the new password.
    async fn create(
        ctx: &ApplyContext<'_>,
        config: &Model,
        planned: Model,
        private: Private,
        now: fn() -> OffsetDateTime,
    ) -> Applied {
        let Some(username) = config.username.known().cloned() else {
            return Applied::failed(unknown_username());
        };
        let seed = config.seed();
        let handoff = private.login.clone();
        // The plan refused these already; a block learnt since (another instance of this process failed with this seed)
        // is refused here, before any log-in. A moved retry_stored_password_version lifts a block for a hand-off only.
        let blocked = private
            .block
            .as_ref()
            .map(|b| Noted::of(b, &Remedy::single()))
            .or_else(|| ctx.users.blocked(&username, &seed))
            .filter(|n| !(handoff.is_some() && n.retry_lifts(config.retry())));
        if let Some(noted) = blocked {
            // Refused before any log-in. While the object it would replace is still in state (create_before_destroy
            // creates first), that object keeps the evidence and Terraform restores it: nothing to store here.
            if private.replaces && !ctx.users.was_deleted(&username) {
                return Applied::failed(blocked_error(&username, &noted.reason).into());
            }
            // Otherwise the object Terraform stores (tainted, as a failed create) keeps the block and any password it
            // took over, so no later plan logs in with the blocked seed either.
            let state = Model {
                id: Attr::Known(username.clone()),
                password: handoff.map_or(Attr::Null, Attr::Known),
                rotated_at: Attr::Null,
                rotate_after: known_or_null(planned.rotate_after.clone()),
                next_window_start: known_or_null(planned.next_window_start.clone()),
                password_age_deadline: Attr::Null,
                blocked_reason: Attr::Known(noted.reason.clone()),
                current_password_wo: Attr::Null,
                verified_at: Attr::Null,
                ..planned
            };
            return Applied {
                new_state: Some(state),
                private: Private::settled(private.block.clone(), None)
                    .blocked_on(Some(seed))
                    .to_bytes(),
                diagnostics: blocked_error(&username, &noted.reason).into(),
            };
        }
        let Some(login) = handoff.clone().or_else(|| config.configured_password()) else {
            return Applied::failed(no_password_error(config).into());
        };
        let client = match ctx.client() {
            Ok(c) => c,
            Err(d) => return Applied::failed(d),
        };
        tracing::debug!(username = %username, handoff = handoff.is_some(), "creating: first rotation");
        match client
            .rotate_and_verify(&username, login.secret(), config.verifies())
            .await
        {
            Ok(rotation) => {
                ctx.users.settle(&username, private.claim);
                rotated_state(ctx, &username, rotation, config, planned, now())
            }
            Err(e) => {
                let kind = block_kind(&e);
                if kind.is_none() && handoff.is_none() {
                    // Nothing happened at ThingSpace and Terraform held nothing for this user: nothing to keep.
                    return Applied::failed(Diagnostic::error(e.summary(), e.detail()).into());
                }
                let with = if handoff.is_some() {
                    LoginWith::Stored
                } else {
                    LoginWith::Seed
                };
                let block = kind.map(|k| {
                    Block::new(k, now(), with, config.retry().cloned())
                        .retrying(private.block.as_ref().filter(|_| private.retry))
                });
                if let Some(b) = &block {
                    ctx.users
                        .record_failure(&username, &seed, Noted::of(b, &Remedy::single()));
                }
                // Terraform stores this object tainted. It keeps the hand-off password, even one ThingSpace just rejected:
                // the object it came from is gone from state in a replacement, the password may still be the real one
                // (a rejection can be wrong), and only a successful reset replaces a password in state. The block keeps
                // it from being used again unless someone says so.
                let password = handoff.map_or(Attr::Null, Attr::Known);
                let diagnostics = failure_diagnostic(
                    &e,
                    create_state_note(kind, password.is_known()),
                    block.as_ref(),
                );
                Applied {
                    new_state: Some(Model {
                        id: Attr::Known(username),
                        password,
                        rotated_at: Attr::Null,
                        rotate_after: known_or_null(planned.rotate_after.clone()),
                        next_window_start: known_or_null(planned.next_window_start.clone()),
                        password_age_deadline: Attr::Null,
                        blocked_reason: block
                            .as_ref()
                            .map_or(Attr::Null, |b| Attr::Known(b.reason(&Remedy::single()))),
                        current_password_wo: Attr::Null,
                        verified_at: Attr::Null,
                        ..planned
                    }),
                    private: Private::settled(block, None)
                        .blocked_on(Some(seed))
                        .to_bytes(),
                    diagnostics,
                }
            }
        }
    }

    /// Updates: rotates when the plan said so (or, for an undecided plan, when it is due now), else only stores the change.
    async fn update(
        ctx: &ApplyContext<'_>,
        prior: &Model,
        config: &Model,
        planned: Model,
        private: Private,
        now: fn() -> OffsetDateTime,
    ) -> Applied {
        let block_seed = private.block_seed(prior);
        let reseeded = config.seed().reseeds(&block_seed);
        // A re-seed lifts the block; the plan's decision that a moved retry_stored_password_version allows this rotation's
        // one log-in with the stored password lifts it for that log-in, the block staying as evidence.
        let evidence = if reseeded {
            None
        } else {
            recorded_block(prior, &private)
        };
        let prior_block = evidence.clone().filter(|_| !private.retry);
        // The prior object, with its block (if any) shown and kept.
        let keep_prior = |diagnostics: Diagnostics| {
            let mut state = prior.without_write_only();
            if let (Some(b), false) = (&evidence, state.blocked_reason.is_known()) {
                state.blocked_reason = Attr::Known(b.reason(&Remedy::single()));
            }
            Applied {
                new_state: Some(state),
                private: Private::settled(evidence.clone(), None)
                    .blocked_on(Some(block_seed.clone()))
                    .to_bytes(),
                diagnostics,
            }
        };
        // A plan with a known password planned no rotation: a saved plan that said "no rotation" never rotates, even if
        // rotate_after has passed since; the next plan will see it.
        let reason = match (private.rotation, planned.password.is_known()) {
            (_, true) | (None, _) => None,
            (Some(PlannedRotation::Due(r)), false) => Some(r),
            (Some(PlannedRotation::Decide), false) => match rotation_due(prior, config, now()) {
                Ok(Due::Yes(r)) => Some(r),
                Ok(Due::No | Due::Unknown) => None,
                Err(d) => return keep_prior(d.into()),
            },
        };
        let Some(reason) = reason else {
            let mut state = planned;
            state.current_password_wo = Attr::Null;
            if !state.password.is_known() {
                state.password = prior.password.clone();
                state.rotated_at = prior.rotated_at.clone();
            }
            if state.blocked_reason.is_unknown() {
                state.blocked_reason = match (&prior.blocked_reason, &prior_block) {
                    (Attr::Known(r), _) => Attr::Known(r.clone()),
                    (_, Some(b)) => Attr::Known(b.reason(&Remedy::single())),
                    _ => Attr::Null,
                };
            }
            if let Err(d) = schedule::settle(
                &config.schedule(),
                (&prior.rotated_at, &prior.rotated_at),
                &mut state.rotate_after,
                &mut state.next_window_start,
                &mut state.password_age_deadline,
            ) {
                return keep_prior(d.into());
            }
            // The plan offered the verification a rotation could not finish: one log-in with the stored password.
            if private.verify
                && prior_block.is_none()
                && let (Some(password), Some(username)) =
                    (prior.password.known(), prior.username.known())
            {
                let client = match ctx.client() {
                    Ok(c) => c,
                    Err(d) => return keep_prior(d),
                };
                let (verification, warnings) = client.verify(username, password.secret()).await;
                let mut diagnostics = Diagnostics::new();
                for w in warnings {
                    diagnostics.push(Diagnostic::warning(
                        "Password verified; the log-out had a problem",
                        w,
                    ));
                }
                return verified_state(
                    ctx,
                    username,
                    state,
                    verification,
                    config,
                    now(),
                    diagnostics,
                );
            }
            if state.verified_at.is_unknown() {
                state.verified_at = prior.verified_at.clone();
            }
            return Applied {
                new_state: Some(state),
                private: Private::settled(prior_block, None)
                    .verifying(private.verify && config.verifies())
                    .blocked_on(Some(block_seed.clone()))
                    .to_bytes(),
                diagnostics: Diagnostics::new(),
            };
        };
        let Some(username) = prior.username.known().or(config.username.known()).cloned() else {
            return keep_prior(unknown_username());
        };
        let seed = config.seed();
        let with = if reason.uses_seed() || !prior.password.is_known() {
            LoginWith::Seed
        } else {
            LoginWith::Stored
        };
        // A block this process noted on the seed (an object read in this run) stands unless the retry lifts it.
        let noted = ctx
            .users
            .blocked(&username, &seed)
            .filter(|n| !(with == LoginWith::Stored && n.retry_lifts(config.retry())));
        let blocked = prior_block
            .as_ref()
            .map(|b| {
                prior
                    .blocked_reason
                    .known()
                    .cloned()
                    .unwrap_or_else(|| b.reason(&Remedy::single()))
            })
            .or_else(|| noted.map(|n| n.reason));
        if let Some(reason) = blocked {
            return keep_prior(blocked_error(&username, &reason).into());
        }
        let login = match with {
            LoginWith::Seed => config.configured_password(),
            LoginWith::Stored => prior.password.known().cloned(),
        };
        let Some(login) = login else {
            return keep_prior(no_password_error(config).into());
        };
        let client = match ctx.client() {
            Ok(c) => c,
            Err(d) => return keep_prior(d),
        };
        tracing::debug!(username = %username, reason = reason.as_str(), "rotation due");
        match client
            .rotate_and_verify(&username, login.secret(), config.verifies())
            .await
        {
            Ok(rotation) => rotated_state(ctx, &username, rotation, config, planned, now()),
            Err(e) => {
                let Some(kind) = block_kind(&e) else {
                    // Nothing that counts happened at ThingSpace: the prior state stands and the next plan tries again.
                    return keep_prior(failure_diagnostic(&e, update_state_note(None), None));
                };
                let block = Block::new(kind, now(), with, config.retry().cloned())
                    .retrying(evidence.as_ref().filter(|_| private.retry));
                let diagnostics =
                    failure_diagnostic(&e, update_state_note(Some(kind)), Some(&block));
                ctx.users
                    .record_failure(&username, &seed, Noted::of(&block, &Remedy::single()));
                // The object records the seed and the retry value that were just used, so only different ones lift the
                // block.
                let mut state = prior.without_write_only();
                state.current_password = config.current_password.clone();
                state.current_password_wo_version = config.current_password_wo_version.clone();
                state.retry_stored_password_version = config.retry_stored_password_version.clone();
                state.blocked_reason = Attr::Known(block.reason(&Remedy::single()));
                Applied {
                    new_state: Some(state),
                    private: Private::settled(Some(block), None)
                        .blocked_on(Some(seed))
                        .to_bytes(),
                    diagnostics,
                }
            }
        }
    }

    /// Deletes: no API call. ThingSpace keeps the last password, which Terraform no longer holds (the plan warned).
    ///
    /// Refused, keeping the object, while a create of the same user in this apply logs in with the configured seed and
    /// has not rotated yet: if that create fails, this object holds the only copy of the current password.
    fn delete(ctx: &ApplyContext<'_>, prior: &Model) -> Applied {
        let username = prior.username.known().cloned().unwrap_or_default();
        if !ctx.users.may_delete(&username) {
            return Applied {
                new_state: Some(prior.without_write_only()),
                private: Vec::new(),
                diagnostics: Diagnostic::error(
                    "Object kept: another resource for the same user has not rotated yet",
                    format!(
                        "thingspace_password_rotation for user {} was not removed from state: in this apply another \
resource instance for the same user logs in with its configured seed and has not rotated the password yet, and if it \
fails, this object holds the only copy of the current password. If you renamed the resource, add a moved block \
(moved {{ from = <old address>, to = <new address> }}) instead of destroying and creating it.",
                        quote(&username)
                    ),
                )
                .into(),
            };
        }
        // No warning here: a real destroy warned at plan time (`plan_destroy`), while the state still held the password;
        // the delete half of a replacement hands the password on to the create, and nothing is left unchanged.
        ctx.users.deleted(&username);
        Applied {
            new_state: None,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }
}
