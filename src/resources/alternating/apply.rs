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

use super::decide::{Resets, Standing, create_login, decide, no_seed_error, standing, user_block};
use super::model::{Model, Passwords};
use super::private::{Planned, Private, UserBlock, joined_reasons, remedy};
use super::reset::{Login, Reset};
use crate::plugin::cty::Attr;
use crate::plugin::diagnostics::{Diagnostic, Diagnostics, quote};
use crate::plugin::secret::Secret;
use crate::resources::applying::known_or_null;
use crate::resources::block::{Block, BlockKind, LoginWith, Noted, block_kind, blocked_error};
use crate::resources::rotating::{Applies, PrivateState, Rotating};
use crate::resources::schedule::{self, age};
use crate::resources::verify::{self, Verified};
use crate::thingspace::{Client, RotateError, Verification};
use crate::timefmt::format_rfc3339;

pub use crate::resources::applying::ApplyContext;

/// What an apply returns (see [`crate::resources::applying::Applied`]).
pub type Applied = crate::resources::applying::Applied<Model>;

fn unknown_usernames() -> Diagnostics {
    Diagnostic::error(
        "usernames is unknown",
        "usernames must be known at apply: two distinct user names.",
    )
    .at("usernames")
    .into()
}

/// The result of running the resets of one apply.
#[derive(Default)]
struct Run {
    /// New passwords, in the order the users were reset.
    rotated: Vec<(String, Secret)>,
    warnings: Diagnostics,
    /// The reset that failed, if one did, with what it may have done; or the verification ThingSpace refused (see
    /// `rejected`).
    failure: Option<(String, RotateError)>,
    /// Users whose new password a log-in proved.
    verified: Vec<String>,
    /// Users whose verification gave no usable answer: the next plan offers it again.
    unverified: Vec<String>,
    /// The user whose new password ThingSpace refused at its verification (then also `failure`), with the block
    /// and the error to record.
    rejected: Option<(String, Block, Diagnostic)>,
}

/// Resets each user in turn, logging in with the given password, and (with `verify`) proves each new password by a
/// log-in; stops at the first failure or refused verification, since a second user's reset is pointless once the
/// first may have locked or changed something the user must look at.
async fn run(
    client: &Client,
    steps: Vec<(String, Secret)>,
    verify: bool,
    config: &Model,
    now: fn() -> OffsetDateTime,
) -> Run {
    let mut out = Run::default();
    for (user, login) in steps {
        tracing::debug!(username = %user, "alternating: resetting");
        match client
            .rotate_and_verify(&user, login.secret(), verify)
            .await
        {
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
                    .push((user.clone(), Secret::from(rotation.new_password)));
                if note_verification(&mut out, user, rotation.verification, config, now) {
                    break;
                }
            }
            Err(e) => {
                out.failure = Some((user, e));
                break;
            }
        }
    }
    out
}

/// Adds what `verification` of `user`'s new password proved to `out`; true when ThingSpace refused it (the run
/// stops there).
fn note_verification(
    out: &mut Run,
    user: String,
    verification: Verification,
    config: &Model,
    now: fn() -> OffsetDateTime,
) -> bool {
    let refused = matches!(verification, Verification::Rejected(_));
    let error = match &verification {
        Verification::Rejected(e) => Some(e.clone()),
        _ => None,
    };
    match verify::record(
        &user,
        verification,
        now(),
        config.retry().cloned(),
        &remedy(&user),
    ) {
        Verified::At(_) => out.verified.push(user),
        Verified::Unproven { pending, warning } => {
            if pending {
                out.unverified.push(user);
            }
            if let Some(w) = warning {
                out.warnings.push(w);
            }
        }
        Verified::Refused { block, error: diag } => {
            if let Some(e) = error {
                out.failure = Some((user.clone(), e));
            }
            out.rejected = Some((user, block, diag));
        }
    }
    refused
}

/// `verified_at` after an apply: now when the active user's password was proven in it, the prior value when the
/// active user is the one it already was and nothing new was proven, else null.
fn verified_at(
    state: &Model,
    prior: Option<&Model>,
    verified: &[String],
    rotated: &[(String, Secret)],
    at: OffsetDateTime,
) -> Attr<String> {
    let active = state.active_username.known();
    if active.is_some_and(|a| verified.contains(a)) {
        return Attr::Known(format_rfc3339(at));
    }
    let rotated_active = active.is_some_and(|a| rotated.iter().any(|(u, _)| u == a));
    match prior {
        Some(p) if !rotated_active && p.active_username.known() == active => {
            known_or_null(p.verified_at.clone())
        }
        _ => Attr::Null,
    }
}

/// What a failed run leaves for the user it failed on: the block (the refused verification's, or, when the failure
/// may have counted or taken effect, one of the kind its effect gives, made by `new`) and the error to show.
fn failed_user(
    refused: Option<(String, Block, Diagnostic)>,
    failed: &str,
    e: &RotateError,
    config: &Model,
    new: impl FnOnce(BlockKind) -> Block,
) -> (Option<UserBlock>, Diagnostic) {
    let user_block = |block| UserBlock {
        user: failed.to_owned(),
        block,
        seed: Some(config.seed(failed)),
    };
    match refused {
        Some((_, block, error)) => (Some(user_block(block)), error),
        None => {
            let block = block_kind(e).map(|k| user_block(new(k)));
            let error = failure_diagnostic(e, block.as_ref());
            (block, error)
        }
    }
}

/// After a refused verification of `user`'s new password: the other user becomes (or stays) the active one when
/// its password is known, so consumers keep a pair that works; the refused password stays stored, as the standby.
fn demote(state: &mut Model, user: &str) {
    if state.active_username.known().is_some_and(|a| a == user) && state.standby_password.is_known()
    {
        std::mem::swap(&mut state.active_username, &mut state.standby_username);
        std::mem::swap(&mut state.active_password, &mut state.standby_password);
        std::mem::swap(&mut state.rotated_at, &mut state.standby_rotated_at);
    }
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
        "Terraform keeps this object tainted; the next apply replaces it and logs in as each user reset here with its \
new password from state, never with its seed."
    } else {
        "The next apply continues from this state."
    };
    Diagnostic::error(
        "Rotation incomplete: new passwords are stored in state",
        format!(
            "ThingSpace reset {} in this apply and the new password is stored in state as active_username and \
active_password: use it. The reset of user {} failed (see the other error). {next} If that error says the user is \
blocked, follow its steps for that user only: changing current_passwords_wo_version re-seeds only the users that \
are blocked or have no password in state, so no password needs copying out of state.",
            users.join(" and "),
            quote(failed)
        ),
    )
}

/// The text of [`failure_diagnostic`], for the test that checks every message names this resource's arguments.
#[cfg(test)]
pub(super) fn failure_text(e: &RotateError, block: Option<&UserBlock>) -> String {
    let d = failure_diagnostic(e, block);
    format!("{}: {}", d.summary, d.detail)
}

/// The text of [`partial_error`], for the same test.
#[cfg(test)]
pub(super) fn partial_text() -> String {
    let d = partial_error(&[("green".to_owned(), Secret::new("x"))], "blue", true);
    format!("{}: {}", d.summary, d.detail)
}

/// A failed reset's diagnostic, with the steps that lift the block it left for that user (if it left one).
fn failure_diagnostic(e: &RotateError, block: Option<&UserBlock>) -> Diagnostic {
    let steps = block
        .map(|b| {
            format!(
                " User {} is now blocked: no plan or apply logs in as that user until you act. {}",
                quote(&b.user),
                b.block.steps(&remedy(&b.user))
            )
        })
        .unwrap_or_default();
    Diagnostic::error(e.summary(), format!("{}{steps}", e.detail()))
}

/// When each user's password was set, after the resets in `rotated` at `now`: rotated users now, the others as the
/// prior state says (the active one at `rotated_at`, the standby at `standby_rotated_at`).
fn set_times(
    prior: Option<&Model>,
    rotated: &[(String, Secret)],
    now: &str,
) -> BTreeMap<String, Attr<String>> {
    let mut times = BTreeMap::new();
    if let Some(prior) = prior {
        if let Some(u) = prior.standby_username.known() {
            times.insert(u.clone(), prior.standby_rotated_at.clone());
        }
        if let Some(u) = prior.active_username.known() {
            times.insert(u.clone(), prior.rotated_at.clone());
        }
    }
    for (u, _) in rotated {
        times.insert(u.clone(), Attr::Known(now.to_owned()));
    }
    times
}

/// Notes a new block in the process-wide view, so no other instance of this process logs in with that seed.
fn record(ctx: &ApplyContext<'_>, config: &Model, b: &UserBlock) {
    let mut noted = Noted::of(&b.block, &remedy(&b.user));
    noted.reason = b.reason();
    ctx.users
        .record_failure(&b.user, &config.seed(&b.user), noted);
}

/// The rest of a state after a successful rotation: when, each password's set time, the next `rotate_after` and
/// the deadline of the older password.
fn finish_rotated(
    state: &mut Model,
    config: &Model,
    prior: Option<&Model>,
    rotated: &[(String, Secret)],
    now: OffsetDateTime,
    diags: &mut Diagnostics,
) {
    let at = format_rfc3339(now);
    let times = set_times(prior, rotated, &at);
    state.rotated_at = Attr::Known(at);
    state.standby_rotated_at = state
        .standby_username
        .known()
        .and_then(|u| times.get(u).cloned())
        .map_or(Attr::Null, known_or_null);
    (
        state.rotate_after,
        state.next_window_start,
        state.password_age_deadline,
    ) = schedule::rotated(&config.schedule(), now, state.oldest_set_at(), diags);
    state.current_passwords_wo = Attr::Null;
}

/// The recorded blocks of `prior`, per user (see [`user_block`]).
fn evidence(prior: &Model, private: &Private, names: &[String; 2]) -> Vec<UserBlock> {
    names
        .iter()
        .filter_map(|u| user_block(prior, private, u))
        .collect()
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

impl Applies for Model {
    /// Creates: resets `usernames[0]`, then `usernames[1]`, each logging in with the hand-off the plan chose or the
    /// configured seed.
    async fn create(
        ctx: &ApplyContext<'_>,
        config: &Model,
        planned: Model,
        private: Private,
        now: fn() -> OffsetDateTime,
    ) -> Applied {
        let Some(names) = config.names() else {
            return Applied::failed(unknown_usernames());
        };
        // Everything is checked for both users before the first log-in: refusing half-way would leave a new password
        // for the first user and nothing for the second.
        let mut steps = Vec::new();
        let mut diags = Diagnostics::new();
        for user in &names {
            let learnt = ctx.users.blocked(user, &config.seed(user));
            let handoff = private.logins.get(user);
            match create_login(config, &private, learnt.as_ref(), handoff, user) {
                Err(reason) => {
                    diags.push(blocked_error(user, &reason).at("current_passwords_wo_version"));
                }
                Ok(Some(p)) => steps.push((user.clone(), p, LoginWith::Stored)),
                Ok(None) => match config.configured_password(user) {
                    Some(p) => steps.push((user.clone(), p, LoginWith::Seed)),
                    None => diags.push(no_seed_error(user)),
                },
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
        let with: BTreeMap<String, LoginWith> =
            steps.iter().map(|(u, _, w)| (u.clone(), *w)).collect();
        let steps = steps.into_iter().map(|(u, p, _)| (u, p)).collect();
        let out = run(client, steps, config.verifies(), config, now).await;
        for (user, _) in &out.rotated {
            ctx.users.settle(user, private.claims.get(user).copied());
        }
        let mut diagnostics = out.warnings;
        let at = now();
        let Some((failed, e)) = out.failure else {
            let mut state = planned;
            set_roles(&mut state, &names, &out.rotated, &handoffs, &names[1]);
            finish_rotated(&mut state, config, None, &out.rotated, at, &mut diagnostics);
            state.blocked_reason = Attr::Null;
            state.verified_at = verified_at(&state, None, &out.verified, &out.rotated, at);
            return Applied {
                new_state: Some(state),
                private: Private::settled(Vec::new(), None)
                    .verifying(out.unverified)
                    .to_bytes(),
                diagnostics,
            };
        };
        let refused = out.rejected.is_some();
        let login = with.get(&failed).copied().unwrap_or(LoginWith::Seed);
        let (block, error) = failed_user(out.rejected, &failed, &e, config, |k| {
            Block::new(k, at, login, config.retry().cloned())
        });
        diagnostics.push(error);
        if block.is_none() && out.rotated.is_empty() && private.logins.is_empty() {
            // Nothing happened at ThingSpace and Terraform held nothing for these users: nothing to keep.
            return Applied::failed(diagnostics);
        }
        if !out.rotated.is_empty() && !refused {
            diagnostics.push(partial_error(&out.rotated, &failed, true));
        }
        if let Some(b) = &block {
            record(ctx, config, b);
        }
        // The blocks the state keeps: the new one, and those of users this apply did not reset (lifted or not, their
        // evidence stands until a reset of that user succeeds).
        let rotated_users: Vec<&String> = out.rotated.iter().map(|(u, _)| u).collect();
        let mut blocks: Vec<UserBlock> = private
            .blocks
            .iter()
            .filter(|b| {
                !rotated_users.contains(&&b.user)
                    && Some(&b.user) != block.as_ref().map(|n| &n.user)
            })
            .cloned()
            .collect();
        blocks.extend(block);
        // Terraform stores this object tainted. It keeps every password it knows, the new ones and the hand-offs (also
        // one ThingSpace just rejected: nothing but a successful reset replaces a password in state), since the object
        // they came from is gone from state in a replacement.
        let mut state = Model {
            rotated_at: Attr::Null,
            standby_rotated_at: Attr::Null,
            rotate_after: known_or_null(planned.rotate_after.clone()),
            next_window_start: known_or_null(planned.next_window_start.clone()),
            password_age_deadline: Attr::Null,
            blocked_reason: joined_reasons(&blocks).map_or(Attr::Null, Attr::Known),
            current_passwords_wo: Attr::Null,
            ..planned
        };
        set_roles(&mut state, &names, &out.rotated, &handoffs, &names[1]);
        if !out.rotated.is_empty() {
            state.rotated_at = Attr::Known(format_rfc3339(at));
        }
        if refused {
            demote(&mut state, &failed);
        }
        state.verified_at = verified_at(&state, None, &out.verified, &out.rotated, at);
        Applied {
            new_state: Some(state),
            private: Private::settled(blocks, None)
                .verifying(out.unverified)
                .to_bytes(),
            diagnostics,
        }
    }

    /// Updates: resets the users the plan decided (or, for an undecided plan, those due now), else only stores the
    /// change. A scheduled rotation resets the standby only, with its stored password, then swaps the roles.
    async fn update(
        ctx: &ApplyContext<'_>,
        prior: &Model,
        config: &Model,
        planned: Model,
        private: Private,
        now: fn() -> OffsetDateTime,
    ) -> Applied {
        let names = prior.names().or_else(|| config.names());
        let kept = names
            .as_ref()
            .map(|n| evidence(prior, &private, n))
            .unwrap_or_default();
        let keep_prior = |diagnostics: Diagnostics| {
            let mut state = prior.without_write_only();
            if !state.blocked_reason.is_known() {
                state.blocked_reason = joined_reasons(&kept).map_or(Attr::Null, Attr::Known);
            }
            Applied {
                new_state: Some(state),
                private: Private::settled(kept.clone(), None).to_bytes(),
                diagnostics,
            }
        };
        // A plan with a known active password planned no rotation: a saved plan that said "no rotation" never rotates.
        let steps = match (private.rotation.clone(), planned.active_password.is_known()) {
            (_, true) | (None, _) => None,
            (Some(Planned::Steps(s)), false) => Some(s),
            (Some(Planned::Decide), false) => match decide(prior, config, &private, now()) {
                Ok(Resets::Steps(s)) => Some(s),
                Ok(Resets::None | Resets::Unknown) => None,
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
                state.standby_rotated_at = prior.standby_rotated_at.clone();
            }
            if state.blocked_reason.is_unknown() {
                state.blocked_reason = match &prior.blocked_reason {
                    Attr::Known(r) => Attr::Known(r.clone()),
                    _ => joined_reasons(&kept).map_or(Attr::Null, Attr::Known),
                };
            }
            if let Err(d) = schedule::settle(
                &config.schedule(),
                (&prior.rotated_at, prior.oldest_set_at()),
                &mut state.rotate_after,
                &mut state.next_window_start,
                &mut state.password_age_deadline,
            ) {
                return keep_prior(d.into());
            }
            if state.id.is_unknown() {
                state.id = prior.id.clone();
            }
            if state.verified_at.is_unknown() {
                state.verified_at = prior.verified_at.clone();
            }
            if private.verify.is_empty() || !config.verifies() {
                return Applied {
                    new_state: Some(state),
                    private: Private::settled(kept, None).to_bytes(),
                    diagnostics: Diagnostics::new(),
                };
            }
            // The plan offered the verifications a rotation could not finish: one log-in per user, no reset.
            let client = match ctx.client() {
                Ok(c) => c,
                Err(d) => return keep_prior(d),
            };
            let mut out = Run::default();
            let mut blocks = kept;
            for user in &private.verify {
                let Some(password) = prior.password_of(user) else {
                    continue;
                };
                let (verification, warnings) = client.verify(user, password.secret()).await;
                for w in warnings {
                    out.warnings.push(Diagnostic::warning(
                        "Password verified; the log-out had a problem",
                        w,
                    ));
                }
                if note_verification(&mut out, user.clone(), verification, config, now) {
                    if let Some((user, block, error)) = out.rejected.take() {
                        let b = UserBlock {
                            user: user.clone(),
                            block,
                            seed: Some(config.seed(&user)),
                        };
                        record(ctx, config, &b);
                        blocks.retain(|k| k.user != user);
                        blocks.push(b);
                        out.warnings.push(error);
                        demote(&mut state, &user);
                    }
                    break;
                }
            }
            let at = now();
            if state
                .active_username
                .known()
                .is_some_and(|a| out.verified.contains(a))
            {
                state.verified_at = Attr::Known(format_rfc3339(at));
            }
            state.blocked_reason = joined_reasons(&blocks).map_or(Attr::Null, Attr::Known);
            return Applied {
                new_state: Some(state),
                private: Private::settled(blocks, None)
                    .verifying(out.unverified)
                    .to_bytes(),
                diagnostics: out.warnings,
            };
        };
        let Some(names) = names else {
            return keep_prior(unknown_usernames());
        };
        // Every log-in is checked before the first one is sent.
        let mut logins = Vec::new();
        let mut diags = Diagnostics::new();
        for Reset { user, login } in &steps {
            let with = match login {
                Login::Stored => LoginWith::Stored,
                Login::Seed => LoginWith::Seed,
            };
            // A block this process noted on the seed (this object read in this run, or another instance that failed)
            // stands unless the retry lifts it for a log-in with the stored password.
            let learnt = ctx
                .users
                .blocked(user, &config.seed(user))
                .filter(|n| !(with == LoginWith::Stored && n.retry_lifts(config.retry())));
            let blocked = match standing(prior, config, &private, user) {
                Standing::Blocked(b) => Some(b.reason()),
                _ => learnt.map(|n| n.reason),
            };
            if let Some(reason) = blocked {
                diags.push(blocked_error(user, &reason).at("current_passwords_wo_version"));
                continue;
            }
            let password = match login {
                Login::Stored => prior.password_of(user).cloned(),
                Login::Seed => config.configured_password(user),
            };
            match password {
                Some(p) => logins.push((user.clone(), p, with)),
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
        let with: BTreeMap<String, LoginWith> =
            logins.iter().map(|(u, _, w)| (u.clone(), *w)).collect();
        let logins = logins.into_iter().map(|(u, p, _)| (u, p)).collect();
        let out = run(client, logins, config.verifies(), config, now).await;
        let mut diagnostics = out.warnings;
        let at = now();
        let rotated_users: Vec<String> = out.rotated.iter().map(|(u, _)| u.clone()).collect();
        let Some((failed, e)) = out.failure else {
            let mut state = Model {
                id: Attr::Known(names.join(",")),
                ..planned
            };
            set_roles(&mut state, &names, &out.rotated, &before, &prior_active);
            // A block of a user this apply did not reset still stands.
            let still: Vec<UserBlock> = kept
                .into_iter()
                .filter(|b| !rotated_users.contains(&b.user))
                .collect();
            state.blocked_reason = joined_reasons(&still).map_or(Attr::Null, Attr::Known);
            finish_rotated(
                &mut state,
                config,
                Some(prior),
                &out.rotated,
                at,
                &mut diagnostics,
            );
            state.verified_at = verified_at(&state, Some(prior), &out.verified, &out.rotated, at);
            return Applied {
                new_state: Some(state),
                private: Private::settled(still, None)
                    .verifying(out.unverified)
                    .to_bytes(),
                diagnostics,
            };
        };
        // A failed retry says what it retried.
        let retried = matches!(standing(prior, config, &private, &failed), Standing::Retry)
            .then(|| user_block(prior, &private, &failed))
            .flatten();
        let refused = out.rejected.is_some();
        let login = with.get(&failed).copied().unwrap_or(LoginWith::Seed);
        let (block, error) = failed_user(out.rejected, &failed, &e, config, |k| {
            Block::new(k, at, login, config.retry().cloned())
                .retrying(retried.as_ref().map(|b| &b.block))
        });
        let kind = block.as_ref().map(|b| b.block.kind);
        diagnostics.push(error);
        if kind.is_none() && out.rotated.is_empty() {
            // Nothing that counts happened at ThingSpace: the prior state stands and the next plan tries again.
            return keep_prior(diagnostics);
        }
        if let Some(b) = &block {
            record(ctx, config, b);
        }
        // The failed user's new block replaces its old one; a user this apply reset has none; every other block stands
        // as recorded (a re-seed or retry that did not happen stays pending, judged against the seed it was recorded with).
        let mut blocks: Vec<UserBlock> = kept
            .into_iter()
            .filter(|b| !rotated_users.contains(&b.user))
            .filter(|b| block.is_none() || b.user != failed)
            .collect();
        blocks.extend(block);
        let mut state = prior.without_write_only();
        // The object records the seeds that were just used, so only different ones count as a re-seed; but a user whose
        // seed was not used (its reset did not happen, or had no effect) keeps its prior entry, so an entry that changed
        // stays a re-seed to do.
        let unused: Vec<&String> = steps
            .iter()
            .filter(|s| s.login == Login::Seed && !rotated_users.contains(&s.user))
            .filter(|s| s.user != failed || kind.is_none())
            .map(|s| &s.user)
            .collect();
        state.current_passwords = config.current_passwords.clone();
        for user in unused {
            state.current_passwords =
                with_entry_of(&state.current_passwords, &prior.current_passwords, user);
        }
        state.current_passwords_wo_version = config.current_passwords_wo_version.clone();
        state.retry_stored_password_version = config.retry_stored_password_version.clone();
        state.blocked_reason = joined_reasons(&blocks).map_or(Attr::Null, Attr::Known);
        if !out.rotated.is_empty() {
            if !refused {
                diagnostics.push(partial_error(&out.rotated, &failed, false));
            }
            set_roles(&mut state, &names, &out.rotated, &before, &prior_active);
            if refused {
                demote(&mut state, &failed);
            }
            let stamp = format_rfc3339(at);
            let times = set_times(Some(prior), &out.rotated, &stamp);
            state.rotated_at = Attr::Known(stamp);
            state.standby_rotated_at = state
                .standby_username
                .known()
                .and_then(|u| times.get(u).cloned())
                .map_or(Attr::Null, known_or_null);
            state.password_age_deadline = age::deadline(&config.schedule(), state.oldest_set_at())
                .map(known_or_null)
                .unwrap_or(Attr::Null);
        }
        state.verified_at = verified_at(&state, Some(prior), &out.verified, &out.rotated, at);
        Applied {
            new_state: Some(state),
            private: Private::settled(blocks, None)
                .verifying(out.unverified)
                .to_bytes(),
            diagnostics,
        }
    }

    /// Deletes: no API call. ThingSpace keeps both users' last passwords, which Terraform no longer holds (the plan
    /// warned, while the state still held them).
    ///
    /// Refused, keeping the object, while a create of either user in this apply logs in with its configured seed and
    /// has not rotated yet: if that create fails, this object holds the only copy of the current password.
    fn delete(ctx: &ApplyContext<'_>, prior: &Model) -> Applied {
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
            diagnostics: Diagnostics::new(),
        }
    }
}
