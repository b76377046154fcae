//! Tests of `thingspace_password_rotation`'s planning, applying without an API (the refusals), validation, import,
//! read and upgrade. The rotation rule's own table is in `decide.rs`.

use super::plan::{Known, from_config};
use super::*;
use crate::plugin::cty::PathStep;
use crate::resources::users::{Block, BlockKind};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2027-03-10 12:00:00 UTC);

fn s(v: &str) -> Attr<String> {
    Attr::Known(v.to_string())
}

fn secret(v: &str) -> Attr<Secret> {
    Attr::Known(Secret::new(v))
}

fn triggers(pairs: &[(&str, &str)]) -> Attr<BTreeMap<String, Attr<String>>> {
    Attr::Known(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

fn at(attr: &str) -> Vec<PathStep> {
    vec![PathStep::Attr(attr.into())]
}

/// A configuration for user `alice` seeded with `seed`.
fn config() -> Model {
    Model {
        username: s("alice"),
        current_password: secret("seed"),
        ..Model::default()
    }
}

/// The state after a rotation at `rotated_at` for `config`.
fn state(config: &Model, rotated_at: &str) -> Model {
    Model {
        id: s("alice"),
        password: secret("Wh0a1545a84d"),
        rotated_at: s(rotated_at),
        ..from_config(config)
    }
}

/// A plan with no private bytes and nothing known in the process.
fn plain(prior: Option<&Model>, config: &Model) -> Plan {
    plan(prior, config, NOW, &Private::default(), &Known::default())
}

fn blocked_private() -> Private {
    Private {
        block: Some(Block {
            kind: BlockKind::ResetUnknown,
            at: datetime!(2027-03-09 10:00:00 UTC).unix_timestamp(),
        }),
        ..Private::default()
    }
}

fn errors(p: &Plan) -> Vec<&str> {
    p.diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.summary.as_str())
        .collect()
}

#[test]
fn due_rotation_is_planned_in_place_with_unknown_password_and_rotated_at() {
    let c = Model {
        rotation_period: s("7d"),
        ..config()
    };
    let prior = state(&c, "2027-03-01T00:00:00Z");
    let p = plain(Some(&prior), &c);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        Some(PlannedRotation::Due(decide::Reason::RotateAfterPassed))
    );
    assert!(p.planned.password.is_unknown());
    assert!(p.planned.rotated_at.is_unknown());
    assert!(
        p.planned.rotate_after.is_unknown(),
        "computed from rotation_period"
    );
    assert!(p.planned.blocked_reason.is_null());
    assert_eq!(p.planned.id, s("alice"));
    assert_eq!(
        p.private.prior_password,
        Some(Secret::new("Wh0a1545a84d")),
        "carried for the create half, should Terraform replace the object"
    );
}

#[test]
fn no_rotation_plans_the_prior_values_and_a_computed_rotate_after() {
    let c = Model {
        rotation_period: s("90d"),
        ..config()
    };
    let mut prior = state(&c, "2027-03-01T00:00:00Z");
    prior.rotate_after = s("2027-05-30T00:00:00Z");
    let p = plain(Some(&prior), &c);
    assert_eq!(p.private.rotation, None);
    assert_eq!(p.planned, prior, "an unchanged resource plans no diff");
}

#[test]
fn unknown_rotate_after_plans_a_possible_rotation_decided_at_apply() {
    let c = Model {
        rotate_after: Attr::Unknown,
        ..config()
    };
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let p = plain(Some(&prior), &c);
    assert_eq!(p.private.rotation, Some(PlannedRotation::Decide));
    assert!(p.planned.password.is_unknown());
    assert!(p.planned.rotate_after.is_unknown());
}

#[test]
fn create_needs_a_configured_password_and_an_empty_one_is_none() {
    let c = Model {
        current_password: Attr::Null,
        ..config()
    };
    let p = plain(None, &c);
    assert_eq!(errors(&p), vec!["No password to log in with"]);
    assert_eq!(p.diagnostics.0[0].attribute, at("current_password_wo"));

    // A CI secret that was never set expands to "": no log-in, an error naming the attribute.
    for (name, c) in [
        (
            "current_password",
            Model {
                current_password: secret(""),
                ..config()
            },
        ),
        (
            "current_password_wo",
            Model {
                current_password: Attr::Null,
                current_password_wo: secret(""),
                current_password_wo_version: Attr::Known(Number::from(1i64)),
                ..config()
            },
        ),
    ] {
        let p = plain(None, &c);
        assert_eq!(errors(&p), vec![format!("{name} is empty").as_str()]);
        assert_eq!(p.diagnostics.0[0].attribute, at(name));
        assert!(
            p.diagnostics.0[0]
                .detail
                .contains("no log-in was attempted")
        );
    }

    let ok = plain(None, &config());
    assert!(ok.diagnostics.is_empty());
    assert!(ok.planned.password.is_unknown());
    assert!(ok.planned.current_password_wo.is_null());
    assert!(ok.planned.rotate_after.is_null());
    assert_eq!(
        ok.private.login, None,
        "the configured seed, not a hand-off"
    );
}

#[test]
fn an_empty_seed_on_a_reseed_is_refused_at_plan() {
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let c = Model {
        current_password: secret(""),
        ..config()
    };
    let p = plain(Some(&prior), &c);
    assert_eq!(errors(&p), vec!["current_password is empty"]);
}

#[test]
fn write_only_value_never_appears_in_a_planned_state() {
    let c = Model {
        current_password: Attr::Null,
        current_password_wo: secret("seed"),
        current_password_wo_version: Attr::Known(Number::from(1i64)),
        ..config()
    };
    assert!(plain(None, &c).planned.current_password_wo.is_null());
    let prior = state(&c, "2027-03-01T00:00:00Z");
    assert!(
        plain(Some(&prior), &c)
            .planned
            .current_password_wo
            .is_null()
    );
}

#[test]
fn reseed_without_the_write_only_value_is_an_error_naming_it() {
    let c = Model {
        current_password: Attr::Null,
        current_password_wo_version: Attr::Known(Number::from(2i64)),
        ..config()
    };
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let p = plain(Some(&prior), &c);
    assert!(p.diagnostics.has_errors());
    assert!(
        p.diagnostics
            .0
            .iter()
            .all(|d| d.attribute == at("current_password_wo"))
    );
}

#[test]
fn validation_names_each_bad_attribute() {
    let cases: Vec<(Model, &str)> = vec![
        (
            Model {
                rotate_after: s("next tuesday"),
                ..config()
            },
            "rotate_after",
        ),
        (
            Model {
                rotation_period: s("90 days"),
                ..config()
            },
            "rotation_period",
        ),
        (
            Model {
                rotation_period: s("500ms"),
                ..config()
            },
            "rotation_period",
        ),
        (
            Model {
                rotation_period: s("106751991167300d"),
                ..config()
            },
            "rotation_period",
        ),
        (
            Model {
                username: s(""),
                ..config()
            },
            "username",
        ),
        (
            Model {
                username: s("svc\u{1b}[31mred\nx"),
                ..config()
            },
            "username",
        ),
        (
            Model {
                current_password_wo: secret("x"),
                ..config()
            },
            "current_password_wo",
        ),
    ];
    for (model, attr) in cases {
        let d = validate(&model, true);
        assert_eq!(d.0.len(), 1, "{attr}: {d:?}");
        assert!(d.has_errors());
        assert_eq!(d.0[0].attribute, at(attr), "{attr}");
        assert!(
            !d.0[0].detail.chars().any(|c| c.is_control()),
            "user text is escaped: {:?}",
            d.0[0].detail
        );
    }
    assert!(validate(&config(), true).is_empty());
    assert!(
        validate(
            &Model {
                rotate_after: Attr::Unknown,
                rotation_period: Attr::Unknown,
                username: Attr::Unknown,
                ..config()
            },
            true
        )
        .is_empty()
    );
}

#[test]
fn write_only_on_an_old_terraform_is_an_error() {
    let c = Model {
        current_password: Attr::Null,
        current_password_wo: secret("x"),
        ..config()
    };
    assert!(validate(&c, true).is_empty());
    let d = validate(&c, false);
    assert!(d.has_errors());
    assert!(d.0[0].summary.contains("1.11"));
}

#[test]
fn import_and_upgrade_make_no_rotation_by_themselves() {
    let m = import("svc-provisioning").unwrap();
    assert_eq!(m.id, s("svc-provisioning"));
    assert!(m.password.is_null());
    assert!(import(" ").is_err());
    let bad = import("svc\u{1b}]0;x\u{7}").unwrap_err();
    assert!(
        !bad.detail.chars().any(|c| c.is_control()),
        "{}",
        bad.detail
    );

    let v0 = serde_json::json!({
        "id": "alice", "username": "alice", "current_password": "seed",
        "password": "Wh0a1545a84d", "rotated_at": "2027-03-01T00:00:00Z", "rotate_after": null,
        "legacy_field": 7
    });
    let up = upgrade(0, &v0).unwrap();
    assert_eq!(up.password, secret("Wh0a1545a84d"));
    assert!(up.blocked_reason.is_null());
    assert_eq!(
        decide::rotation_due(&up, &config(), NOW).unwrap(),
        decide::Due::No
    );
    assert!(upgrade(2, &v0).is_err());
    assert!(upgrade(0, &serde_json::json!([1])).is_err());
}

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
    let p = plan(
        Some(&prior),
        &due,
        NOW,
        &blocked_private(),
        &Known::default(),
    );
    assert_eq!(
        errors(&p),
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
    let p = plan(
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
    let p = plan(
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
    assert!(p.diagnostics.has_errors());
    // An object with no password (imported, or left by a failed create) and the same seed is blocked too: that
    // rotation would log in with the seed that failed.
    let no_password = Model {
        password: Attr::Null,
        ..prior.clone()
    };
    let p = plain(Some(&no_password), &config());
    assert!(p.diagnostics.has_errors(), "{:?}", p.diagnostics);
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
    observe(&users, &tainted, None);
    let p = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert_eq!(
        errors(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
    // A re-seed (another current_password) may log in; another user is not affected.
    let users = Users::default();
    observe(&users, &tainted, None);
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
    observe(&users, &tainted, None);
    let p = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert!(!p.diagnostics.has_errors(), "{:?}", p.diagnostics);
    assert_eq!(p.private.login, Some(Secret::new("Wh0a1545a84d")));
    // A known null, so that an apply that lost the hand-off (create_before_destroy) plans differently and stops.
    assert!(p.planned.blocked_reason.is_null());
    assert_eq!(
        p.diagnostics.0[0].summary,
        "Replacement logs in with the replaced object's password"
    );

    let users = Users::default();
    observe(&users, &tainted, None);
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

    // The same with a blocked object: the create half refuses too.
    let users = Users::default();
    let update = plan_in_run(Some(&prior), &config(), NOW, &blocked_private(), &users);
    let create = plan_in_run(None, &config(), NOW, &update.private, &users);
    assert!(create.diagnostics.has_errors());
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
    let (_, d) = plan_destroy(&prior, b"", &users);
    assert!(d.is_empty());
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
    let (_, d) = plan_destroy(&prior, b"", &users);
    assert!(d.has_errors());

    // A destroy alone is fine, and carries the block to its apply.
    let users = Users::default();
    let (private, d) = plan_destroy(&prior, &blocked_private().to_bytes(), &users);
    assert!(d.is_empty());
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

#[test]
fn a_change_is_planned_as_of_the_last_read_so_the_replan_at_apply_agrees() {
    let read_at = datetime!(2027-03-04 23:59:59 UTC);
    let users = Users::default();
    let (_, bytes) = read(
        &users,
        &state(&config(), "2027-03-01T00:00:00Z"),
        b"",
        read_at,
    );
    let private = Private::from_bytes(&bytes);
    assert_eq!(private.observed_at, Some(read_at.unix_timestamp()));
    let (_, kept) = read(
        &users,
        &state(&config(), "2027-03-01T00:00:00Z"),
        &blocked_private().to_bytes(),
        read_at,
    );
    assert_eq!(
        Private::from_bytes(&kept).block,
        blocked_private().block,
        "a read keeps the block"
    );

    // An update without rotation (rotation_period added) planned just before rotate_after passes, planned again at
    // apply just after: both plans agree.
    let prior = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let changed = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        rotation_period: s("30d"),
        ..config()
    };
    let first = plan_in_run(Some(&prior), &changed, read_at, &private, &Users::default());
    assert_eq!(first.private.rotation, None, "not due at the read");
    assert_ne!(first.planned, prior, "a change: rotation_period added");
    let again = plan_in_run(Some(&prior), &changed, NOW, &private, &Users::default());
    assert_eq!(
        again.planned, first.planned,
        "the re-plan at apply agrees although rotate_after has passed"
    );
}

#[test]
fn a_no_op_as_of_the_last_read_is_decided_by_the_clock() {
    let read_at = datetime!(2027-03-04 23:59:59 UTC);
    let private = Private {
        observed_at: Some(read_at.unix_timestamp()),
        ..Private::default()
    };
    let c = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        ..config()
    };
    let prior = state(&c, "2027-03-01T00:00:00Z");
    let p = plan_in_run(Some(&prior), &c, NOW, &private, &Users::default());
    assert_eq!(
        p.private.rotation,
        Some(PlannedRotation::Due(decide::Reason::RotateAfterPassed))
    );
    let before = plan_in_run(Some(&prior), &c, read_at, &private, &Users::default());
    assert_eq!(before.private.rotation, None);
    assert_eq!(before.planned, prior);
}

fn no_client(users: &Users) -> ApplyContext<'_> {
    ApplyContext {
        client: None,
        users,
    }
}

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
    let out = update(
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
    users.record_failure("alice", &config().seed(), "rejected before");
    let planned = from_config(&config());
    let out = create(
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
    assert!(out.new_state.is_none());
    // Without the block it would have gone on to the API (and found no client).
    let users = Users::default();
    let out = create(
        &no_client(&users),
        &config(),
        planned,
        Private::default(),
        || NOW,
    )
    .await;
    assert_eq!(out.diagnostics.0[0].summary, "Provider not configured");
}

#[test]
fn delete_warns_without_the_password() {
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let users = Users::default();
    let out = delete(&no_client(&users), &prior);
    assert!(out.new_state.is_none());
    assert_eq!(out.diagnostics.0.len(), 1);
    assert!(!out.diagnostics.has_errors());
    assert!(!out.diagnostics.0[0].detail.contains("Wh0a1545a84d"));
    assert!(out.diagnostics.0[0].detail.contains("re-seed"));
}

#[test]
fn schema_has_blocked_reason_computed() {
    let schema = schema();
    let b = schema
        .attributes
        .iter()
        .find(|a| a.name == "blocked_reason")
        .unwrap();
    assert_eq!(b.presence, crate::plugin::schema::Presence::Computed);
    assert!(!b.sensitive);
    assert!(blocked_private().block.is_some());
    let _ = BlockKind::LoginRejected;
    let _: Option<Block> = None;
}
