//! Blocks and claims: a seed that may have failed is never used again, and one user has one instance, whatever the
//! order Terraform plans them in (the process-wide view in `users.rs`).

use super::*;
use crate::plugin::cty::Number;
use crate::plugin::secret::Secret;
use crate::resources::rotating::{Plans, PrivateState, Rotating};

#[test]
fn a_blocked_update_refuses_a_due_rotation_and_warns_when_nothing_is_due() {
    let prior = Model {
        triggers: triggers(&[("r", "1")]),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let due = Model {
        triggers: triggers(&[("r", "2")]),
        ..config()
    };
    let p = Model::plan(
        Some(&prior),
        &due,
        NOW,
        &blocked_private(),
        &Known::default(),
    );
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
    assert_eq!(
        p.diagnostics.0[0].attribute,
        at("current_password_wo_version")
    );
    assert!(
        p.diagnostics.0[0]
            .detail
            .contains("current_password_wo_version")
    );

    // Nothing due: no error, a warning naming the fix, the block carried, and it shows in the plan.
    let quiet = Model {
        triggers: triggers(&[("r", "1")]),
        ..config()
    };
    let p = Model::plan(
        Some(&prior),
        &quiet,
        NOW,
        &blocked_private(),
        &Known::default(),
    );
    assert!(!p.diagnostics.has_errors());
    assert_eq!(p.diagnostics.0.len(), 1);
    assert_eq!(p.diagnostics.0[0].summary, "Password rotation is blocked");
    assert!(p.diagnostics.0[0].detail.contains("re-seed"));
    assert_eq!(p.private.block, blocked_private().block);
    assert!(
        p.planned
            .blocked_reason
            .known()
            .is_some_and(|r| r.contains("may have taken effect")),
        "a block recorded only in private bytes (provider 0.1) is shown: {:?}",
        p.planned.blocked_reason
    );

    // A re-seed may rotate, and lifts the block.
    let reseed = Model {
        current_password: Attr::Null,
        current_password_wo: secret("from-support"),
        current_password_wo_version: Attr::Known(Number::from(2i64)),
        ..due
    };
    let p = Model::plan(
        Some(&prior),
        &reseed,
        NOW,
        &blocked_private(),
        &Known::default(),
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        Some(PlannedRotation::Due(
            decide::Reason::WriteOnlyVersionChanged
        ))
    );
    assert_eq!(p.private.block, None);
    assert_eq!(p.private.prior_password, None, "a re-seed hands nothing on");
}

#[test]
fn blocked_reason_alone_blocks_even_without_private_bytes() {
    let prior = Model {
        blocked_reason: s("A log-in at ... may have counted."),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let due = Model {
        triggers: triggers(&[("r", "2")]),
        ..config()
    };
    let p = plain(Some(&prior), &due);
    assert!(!refused(&p).is_empty(), "{:?}", p.diagnostics);
    // An object with no password (imported, or left by a failed create) and the same seed is blocked too: that
    // rotation would log in with the seed that failed.
    let no_password = Model {
        password: Attr::Null,
        ..prior.clone()
    };
    let p = plain(Some(&no_password), &config());
    assert!(!refused(&p).is_empty(), "{:?}", p.diagnostics);
}

#[test]
fn a_create_is_refused_when_the_process_saw_its_seed_blocked() {
    let users = Users::default();
    let tainted = Model {
        password: Attr::Null,
        rotated_at: Attr::Null,
        blocked_reason: s("ThingSpace rejected a log-in."),
        ..from_config(&config())
    };
    // Not blocked before the object was seen.
    assert!(
        plan_in_run(None, &config(), NOW, &Private::default(), &users)
            .diagnostics
            .is_empty()
    );
    let users = Users::default();
    Model::observe(&users, &tainted, &Private::default());
    let p = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
    // A re-seed (another current_password) may log in; another user is not affected.
    let users = Users::default();
    Model::observe(&users, &tainted, &Private::default());
    let reseed = Model {
        current_password: secret("from-support"),
        ..config()
    };
    assert!(
        plan_in_run(None, &reseed, NOW, &Private::default(), &users)
            .diagnostics
            .is_empty()
    );
    let other = Model {
        username: s("bob"),
        ..config()
    };
    assert!(
        plan_in_run(None, &other, NOW, &Private::default(), &users)
            .diagnostics
            .is_empty()
    );
}

#[test]
fn a_tainted_objects_password_is_handed_to_its_replacement_unless_reseeded() {
    let users = Users::default();
    let tainted = state(&config(), "2027-03-01T00:00:00Z");
    Model::observe(&users, &tainted, &Private::default());
    let p = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert!(!p.diagnostics.has_errors(), "{:?}", p.diagnostics);
    assert_eq!(p.private.login, Some(Secret::new("Wh0a1545a84d")));
    // A known null, so that an apply that lost the hand-off (create_before_destroy) plans differently and stops.
    assert!(p.planned.blocked_reason.is_null());
    // Rotating now with -replace is a plain replacement: nothing to warn about.
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);

    let users = Users::default();
    Model::observe(&users, &tainted, &Private::default());
    let reseed = Model {
        current_password: secret("new-seed"),
        ..config()
    };
    let p = plan_in_run(None, &reseed, NOW, &Private::default(), &users);
    assert_eq!(p.private.login, None, "a re-seed logs in with the new seed");
    assert!(p.planned.blocked_reason.is_unknown());
    assert!(p.diagnostics.is_empty());
}

#[test]
fn the_halves_of_a_replacement_are_one_claim_and_hand_the_password_on() {
    let users = Users::default();
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    // -replace: Terraform plans the update half, then the create half with the update half's private bytes.
    let update = plan_in_run(Some(&prior), &config(), NOW, &Private::default(), &users);
    assert!(update.diagnostics.is_empty(), "{:?}", update.diagnostics);
    assert!(update.private.claim.is_some());
    let create = plan_in_run(None, &config(), NOW, &update.private, &users);
    assert!(!create.diagnostics.has_errors(), "{:?}", create.diagnostics);
    assert_eq!(create.private.login, Some(Secret::new("Wh0a1545a84d")));
    assert_eq!(create.private.claim, update.private.claim);

    // The same with a blocked object: the create half refuses too, at apply (a warning here, so the rest of the
    // configuration still applies), and shows why.
    let users = Users::default();
    let update = plan_in_run(Some(&prior), &config(), NOW, &blocked_private(), &users);
    let create = plan_in_run(None, &config(), NOW, &update.private, &users);
    assert!(!create.diagnostics.has_errors(), "{:?}", create.diagnostics);
    assert!(create.blocked.is_some());
    assert!(create.planned.blocked_reason.is_known());
}

#[test]
fn two_instances_for_one_user_fail_the_plan_in_either_order() {
    let users = Users::default();
    let first = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert!(first.diagnostics.is_empty());
    let second = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert_eq!(errors(&second), vec!["Duplicate ThingSpace user name"]);
    assert_eq!(second.diagnostics.0[0].attribute, at("username"));

    // An existing instance and a new one.
    let users = Users::default();
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    assert!(
        plan_in_run(None, &config(), NOW, &Private::default(), &users)
            .diagnostics
            .is_empty()
    );
    let existing = plan_in_run(Some(&prior), &config(), NOW, &Private::default(), &users);
    assert_eq!(errors(&existing), vec!["Duplicate ThingSpace user name"]);
}

#[test]
fn a_destroy_and_a_create_of_one_user_fail_the_plan_in_either_order() {
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let users = Users::default();
    let (_, d) = Model::plan_destroy(&prior, b"", &users);
    assert!(!d.has_errors(), "{d:?}");
    let create = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert_eq!(
        errors(&create),
        vec!["ThingSpace user moves to another resource address"]
    );
    assert!(create.diagnostics.0[0].detail.contains("moved"));

    let users = Users::default();
    assert!(
        plan_in_run(None, &config(), NOW, &Private::default(), &users)
            .diagnostics
            .is_empty()
    );
    let (_, d) = Model::plan_destroy(&prior, b"", &users);
    assert!(d.has_errors());

    // A destroy alone is fine, and carries the block to its apply.
    let users = Users::default();
    let (private, d) = Model::plan_destroy(&prior, &blocked_private().to_bytes(), &users);
    assert!(!d.has_errors(), "{d:?}");
    assert_eq!(Private::from_bytes(&private).block, blocked_private().block);
}

#[test]
fn a_change_of_user_name_releases_the_old_name() {
    let users = Users::default();
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let renamed = Model {
        username: s("bob"),
        ..config()
    };
    assert!(
        plan_in_run(Some(&prior), &renamed, NOW, &Private::default(), &users)
            .diagnostics
            .is_empty()
    );
    // Another instance now taking over alice would log in with a stale seed: refused.
    let p = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert!(p.diagnostics.has_errors());
}

/// A block outlives the seed's removal: removing `current_password` from the configuration is no re-seed (the next
/// rotation would log in again with the stored password ThingSpace just rejected), and setting the same seed again
/// afterwards is none either. Only a different seed lifts it.
#[test]
fn removing_the_seed_or_setting_the_same_one_again_does_not_lift_a_block() {
    let prior = Model {
        triggers: triggers(&[("r", "1")]),
        blocked_reason: s("ThingSpace rejected the log-in"),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let private = Private {
        block: Some(Block {
            kind: BlockKind::LoginRejected,
            at: datetime!(2027-03-09 10:00:00 UTC).unix_timestamp(),
            login: Some(crate::resources::block::LoginWith::Stored),
            retry: None,
            retried: None,
        }),
        blocked_seed: Some(prior.seed()),
        ..Private::default()
    };
    let removed = Model {
        current_password: Attr::Null,
        triggers: triggers(&[("r", "1")]),
        ..config()
    };
    // Nothing due: the plan keeps the block, with the seed it applies to, though the state will hold no seed.
    let p = Model::plan(Some(&prior), &removed, NOW, &private, &Known::default());
    assert!(!p.diagnostics.has_errors(), "{:?}", p.diagnostics);
    assert_eq!(p.private.block, private.block);
    assert_eq!(p.private.blocked_seed, Some(prior.seed()));
    assert!(p.planned.current_password.is_null());

    // A due rotation without a seed is still refused as blocked.
    let due = Model {
        triggers: triggers(&[("r", "2")]),
        ..removed.clone()
    };
    let p = Model::plan(Some(&prior), &due, NOW, &private, &Known::default());
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );

    // The state after an apply of the removal holds no seed; setting the same seed again is refused too.
    let seedless = Model {
        current_password: Attr::Null,
        ..prior.clone()
    };
    let carried = Private {
        block: private.block,
        blocked_seed: private.blocked_seed.clone(),
        ..Private::default()
    };
    let again = Model {
        triggers: triggers(&[("r", "1")]),
        ..config()
    };
    let p = Model::plan(Some(&seedless), &again, NOW, &carried, &Known::default());
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );

    // A different seed is a re-seed: it rotates, logging in with it.
    let other = Model {
        current_password: secret("from-support"),
        ..again
    };
    let p = Model::plan(Some(&seedless), &other, NOW, &carried, &Known::default());
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        Some(PlannedRotation::Due(decide::Reason::CurrentPasswordChanged))
    );
    assert_eq!(p.private.block, None);
}

/// A moved `retry_stored_password_version` lifts a block for one rotation with the stored password; the recorded
/// value, no value, a locked user, or a state without a password do not. The block travels on as evidence.
#[test]
fn a_moved_retry_plans_one_rotation_with_the_stored_password() {
    use crate::resources::block::LoginWith;
    let prior = Model {
        retry_stored_password_version: Attr::Known(Number::from(1i64)),
        blocked_reason: s("A log-in got no usable answer."),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let block = |kind: BlockKind| Private {
        block: Some(Block {
            kind,
            at: datetime!(2027-03-09 10:00:00 UTC).unix_timestamp(),
            login: Some(LoginWith::Stored),
            retry: Some(Number::from(1i64)),
            retried: None,
        }),
        blocked_seed: Some(prior.seed()),
        ..Private::default()
    };
    let with_retry = |n: i64| Model {
        retry_stored_password_version: Attr::Known(Number::from(n)),
        ..config()
    };
    let p = Model::plan(
        Some(&prior),
        &with_retry(2),
        NOW,
        &block(BlockKind::LoginUnknown),
        &Known::default(),
    );
    assert!(!p.diagnostics.has_errors(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        Some(PlannedRotation::Due(decide::Reason::RetryStoredPassword))
    );
    assert!(p.private.retry);
    assert_eq!(
        p.private.block,
        block(BlockKind::LoginUnknown).block,
        "kept as evidence"
    );
    assert_eq!(p.blocked, None);
    assert!(p.planned.password.is_unknown());
    assert_eq!(
        p.diagnostics.0[0].summary,
        "Rotation retries the password in state"
    );
    // The recorded value, or none: still blocked, and nothing is due, so only the warning.
    for cfg in [with_retry(1), config()] {
        let p = Model::plan(
            Some(&prior),
            &cfg,
            NOW,
            &block(BlockKind::LoginUnknown),
            &Known::default(),
        );
        assert_eq!(p.private.rotation, None);
        assert!(!p.private.retry);
        assert_eq!(p.diagnostics.0[0].summary, "Password rotation is blocked");
    }
    // A locked user: no retry.
    let p = Model::plan(
        Some(&prior),
        &with_retry(2),
        NOW,
        &block(BlockKind::UserLocked),
        &Known::default(),
    );
    assert_eq!(p.private.rotation, None);
    // No stored password: the rotation would need the seed the block is on.
    let no_password = Model {
        password: Attr::Null,
        ..prior.clone()
    };
    let p = Model::plan(
        Some(&no_password),
        &with_retry(2),
        NOW,
        &block(BlockKind::LoginUnknown),
        &Known::default(),
    );
    assert!(!p.private.retry);
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
}
