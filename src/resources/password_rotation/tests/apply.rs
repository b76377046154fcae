//! Applying without an API client: the refusals that come before any call, and delete.

use super::*;
use crate::resources::rotating::{Applies, Plans, PrivateState};

#[tokio::test]
async fn a_blocked_update_makes_no_api_call_and_keeps_the_block_visible() {
    let users = Users::default();
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let planned = Model {
        password: Attr::Unknown,
        rotated_at: Attr::Unknown,
        ..prior.clone()
    };
    let private = Private {
        rotation: Some(PlannedRotation::Due(decide::Reason::TriggersChanged)),
        ..blocked_private()
    };
    let out = Model::update(
        &no_client(&users),
        &prior,
        &config(),
        planned,
        private,
        || NOW,
    )
    .await;
    assert!(out.diagnostics.has_errors());
    assert!(out.diagnostics.0[0].summary.contains("blocked"));
    let state = out.new_state.unwrap();
    assert_eq!(state.password, prior.password);
    assert!(state.blocked_reason.is_known());
    assert_eq!(
        Private::from_bytes(&out.private).block,
        blocked_private().block
    );
}

#[tokio::test]
async fn a_create_with_a_blocked_seed_makes_no_api_call() {
    let users = Users::default();
    users.record_failure(
        "alice",
        &config().seed(),
        crate::resources::block::Noted {
            reason: "rejected before".into(),
            retry: None,
            locked: false,
        },
    );
    let planned = from_config(&config());
    let out = Model::create(
        &no_client(&users),
        &config(),
        planned.clone(),
        Private::default(),
        || NOW,
    )
    .await;
    assert_eq!(
        out.diagnostics.0[0].summary,
        "Rotation blocked to protect the user from ThingSpace's lock-out"
    );
    assert!(out.diagnostics.has_errors());
    // Issue 25: the object Terraform stores (tainted) keeps the block, so no later plan logs in with that seed; the
    // plan only warned, so the rest of the configuration applied.
    let state = out.new_state.expect("the block is kept in state");
    assert_eq!(state.blocked_reason, Attr::Known("rejected before".into()));
    assert!(state.password.is_null() && state.verified_at.is_null());
    // Without the block it would have gone on to the API (and found no client).
    let users = Users::default();
    let out = Model::create(
        &no_client(&users),
        &config(),
        planned,
        Private::default(),
        || NOW,
    )
    .await;
    assert_eq!(out.diagnostics.0[0].summary, "Provider not configured");
}

/// A refused create that replaces an object still in state (create_before_destroy creates first) stores nothing:
/// that object keeps the evidence and Terraform restores it. Once this process has deleted the object (the destroy
/// of a plain replacement runs first), the refused create keeps the block and the password it took over.
#[tokio::test]
async fn a_refused_replacement_leaves_the_block_to_the_object_it_replaces_until_that_is_deleted() {
    let users = Users::default();
    users.record_failure(
        "alice",
        &config().seed(),
        crate::resources::block::Noted {
            reason: "rejected before".into(),
            retry: None,
            locked: false,
        },
    );
    let private = Private {
        replaces: true,
        login: Some(Secret::new("Taken-Over-1")),
        ..Private::default()
    };
    let ctx = no_client(&users);
    let config = config();
    let out = Model::create(&ctx, &config, from_config(&config), private.clone(), || NOW).await;
    assert!(out.diagnostics.has_errors());
    assert!(
        out.new_state.is_none(),
        "the object in state keeps the evidence"
    );

    let prior = state(&config, "2027-03-01T00:00:00Z");
    let deleted = Model::delete(&ctx, &prior);
    assert!(deleted.new_state.is_none());
    let out = Model::create(&ctx, &config, from_config(&config), private, || NOW).await;
    assert!(out.diagnostics.has_errors());
    let kept = out
        .new_state
        .expect("the block and the taken-over password are kept");
    assert_eq!(kept.password, Attr::Known(Secret::new("Taken-Over-1")));
    assert_eq!(kept.blocked_reason, Attr::Known("rejected before".into()));
}

/// A real destroy warns when it is planned, while the state still holds the password; the delete itself (also the
/// delete half of a `-replace`, which hands the password on) says nothing.
#[test]
fn a_destroy_warns_at_plan_time_and_its_delete_is_silent() {
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let users = Users::default();
    let (_, planned) = Model::plan_destroy(&prior, b"", &users);
    assert_eq!(planned.0.len(), 1);
    assert!(!planned.has_errors());
    assert!(!planned.0[0].detail.contains("Wh0a1545a84d"));
    assert!(planned.0[0].detail.contains("re-seed"));
    let out = Model::delete(&no_client(&users), &prior);
    assert!(out.new_state.is_none());
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
}
