//! Table tests for the pure parts of `thingspace_password_rotation`: the due decision, planning, validation, import
//! and state upgrade.

use super::*;
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

#[test]
fn rotation_due_table() {
    struct Row {
        name: &'static str,
        prior: Box<dyn Fn(&Model) -> Model>,
        config: Box<dyn Fn(Model) -> Model>,
        want: Due,
    }
    let base_prior: fn(&Model) -> Model = |c| state(c, "2027-03-01T00:00:00Z");
    let rows = vec![
        Row {
            name: "nothing changed",
            prior: Box::new(base_prior),
            config: Box::new(|c| c),
            want: Due::No,
        },
        Row {
            name: "fixed rotate_after passed after the last rotation",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..c
            }),
            want: Due::Yes(Reason::RotateAfterPassed),
        },
        Row {
            name: "fixed rotate_after exactly now is due",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotate_after: s("2027-03-10T12:00:00Z"),
                ..c
            }),
            want: Due::Yes(Reason::RotateAfterPassed),
        },
        Row {
            name: "fixed rotate_after already rotated past: rotates once only",
            prior: Box::new(|c| state(c, "2027-03-06T00:00:00Z")),
            config: Box::new(|c| Model {
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "rotate_after in the future",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotate_after: s("2027-04-01T00:00:00Z"),
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "rotate_after unknown at plan time",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotate_after: Attr::Unknown,
                ..c
            }),
            want: Due::Unknown,
        },
        Row {
            name: "rotation_period elapsed since rotated_at",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotation_period: s("7d"),
                ..c
            }),
            want: Due::Yes(Reason::RotateAfterPassed),
        },
        Row {
            name: "rotation_period not yet elapsed",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotation_period: s("90d"),
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "configured rotate_after wins over rotation_period",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                rotation_period: s("1d"),
                rotate_after: s("2027-05-01T00:00:00Z"),
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "triggers changed",
            prior: Box::new(|c| Model {
                triggers: triggers(&[("release", "v1")]),
                ..state(c, "2027-03-01T00:00:00Z")
            }),
            config: Box::new(|c| Model {
                triggers: triggers(&[("release", "v2")]),
                ..c
            }),
            want: Due::Yes(Reason::TriggersChanged),
        },
        Row {
            name: "triggers key added",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                triggers: triggers(&[("release", "v1")]),
                ..c
            }),
            want: Due::Yes(Reason::TriggersChanged),
        },
        Row {
            name: "triggers null and empty are the same",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                triggers: triggers(&[]),
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "a trigger value unknown at plan time",
            prior: Box::new(|c| Model {
                triggers: triggers(&[("rotation", "a")]),
                ..state(c, "2027-03-01T00:00:00Z")
            }),
            config: Box::new(|c| Model {
                triggers: Attr::Known(
                    [("rotation".to_string(), Attr::Unknown)]
                        .into_iter()
                        .collect(),
                ),
                ..c
            }),
            want: Due::Unknown,
        },
        Row {
            name: "current_password changed is a re-seed",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                current_password: secret("changed-out-of-band"),
                ..c
            }),
            want: Due::Yes(Reason::CurrentPasswordChanged),
        },
        Row {
            name: "current_password removed is not a rotation",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                current_password: Attr::Null,
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "current_password unknown",
            prior: Box::new(base_prior),
            config: Box::new(|c| Model {
                current_password: Attr::Unknown,
                ..c
            }),
            want: Due::Unknown,
        },
        Row {
            name: "current_password_wo_version changed is a re-seed",
            prior: Box::new(|c| Model {
                current_password_wo_version: Attr::Known(Number::from(1i64)),
                ..state(c, "2027-03-01T00:00:00Z")
            }),
            config: Box::new(|c| Model {
                current_password: Attr::Null,
                current_password_wo: secret("seed2"),
                current_password_wo_version: Attr::Known(Number::from(2i64)),
                ..c
            }),
            want: Due::Yes(Reason::WriteOnlyVersionChanged),
        },
        Row {
            name: "current_password_wo_version unchanged while the write-only value is sent",
            prior: Box::new(|c| Model {
                current_password_wo_version: Attr::Known(Number::from(1i64)),
                ..state(c, "2027-03-01T00:00:00Z")
            }),
            config: Box::new(|c| Model {
                current_password_wo: secret("seed"),
                current_password_wo_version: Attr::Known(Number::from(1i64)),
                ..c
            }),
            want: Due::No,
        },
        Row {
            name: "no password in state (after import)",
            prior: Box::new(|_| import("alice").unwrap()),
            config: Box::new(|c| c),
            want: Due::Yes(Reason::NoPasswordInState),
        },
        Row {
            name: "a state with a password but no rotated_at and a passed rotate_after",
            prior: Box::new(|c| Model {
                rotated_at: Attr::Null,
                ..state(c, "2027-03-01T00:00:00Z")
            }),
            config: Box::new(|c| Model {
                rotate_after: s("2027-03-05T00:00:00Z"),
                ..c
            }),
            want: Due::Yes(Reason::RotateAfterPassed),
        },
    ];
    for row in rows {
        let prior = (row.prior)(&config());
        let cfg = (row.config)(config());
        let got = rotation_due(&prior, &cfg, NOW).unwrap();
        assert_eq!(got, row.want, "{}", row.name);
    }
}

#[test]
fn due_rotation_is_planned_in_place_with_unknown_password_and_rotated_at() {
    let c = Model {
        rotation_period: s("7d"),
        ..config()
    };
    let prior = state(&c, "2027-03-01T00:00:00Z");
    let p = plan(Some(&prior), &c, NOW, false);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        PlannedRotation::Due(Reason::RotateAfterPassed)
    );
    assert!(p.planned.password.is_unknown());
    assert!(p.planned.rotated_at.is_unknown());
    assert!(
        p.planned.rotate_after.is_unknown(),
        "computed from rotation_period"
    );
    assert_eq!(p.planned.id, s("alice"));
    assert_eq!(p.planned.username, s("alice"));
}

#[test]
fn no_rotation_plans_the_prior_values_and_a_computed_rotate_after() {
    let c = Model {
        rotation_period: s("90d"),
        ..config()
    };
    let mut prior = state(&c, "2027-03-01T00:00:00Z");
    prior.rotate_after = s("2027-05-30T00:00:00Z");
    let p = plan(Some(&prior), &c, NOW, false);
    assert_eq!(p.private.rotation, PlannedRotation::None);
    assert_eq!(p.planned, prior, "an unchanged resource plans no diff");
}

#[test]
fn fixed_rotate_after_is_kept_as_configured_when_rotating() {
    let c = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        ..config()
    };
    let prior = state(&c, "2027-03-01T00:00:00Z");
    let p = plan(Some(&prior), &c, NOW, false);
    assert_eq!(
        p.private.rotation,
        PlannedRotation::Due(Reason::RotateAfterPassed)
    );
    assert_eq!(p.planned.rotate_after, s("2027-03-05T00:00:00Z"));
}

#[test]
fn unknown_rotate_after_plans_a_possible_rotation_decided_at_apply() {
    let c = Model {
        rotate_after: Attr::Unknown,
        ..config()
    };
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let p = plan(Some(&prior), &c, NOW, false);
    assert_eq!(p.private.rotation, PlannedRotation::Decide);
    assert!(p.planned.password.is_unknown());
    assert!(p.planned.rotate_after.is_unknown());
}

#[test]
fn create_needs_a_configured_password() {
    let c = Model {
        current_password: Attr::Null,
        ..config()
    };
    let p = plan(None, &c, NOW, false);
    assert!(p.diagnostics.has_errors());
    let d = &p.diagnostics.0[0];
    assert_eq!(
        d.attribute,
        vec![crate::plugin::cty::PathStep::Attr(
            "current_password_wo".into()
        )]
    );
    assert!(d.detail.contains("current_password"));

    let ok = plan(None, &config(), NOW, false);
    assert!(ok.diagnostics.is_empty());
    assert!(ok.planned.password.is_unknown());
    assert!(ok.planned.current_password_wo.is_null());
    assert!(
        ok.planned.rotate_after.is_null(),
        "neither rotate_after nor rotation_period: null"
    );
}

#[test]
fn write_only_value_never_appears_in_a_planned_state() {
    let c = Model {
        current_password: Attr::Null,
        current_password_wo: secret("seed"),
        current_password_wo_version: Attr::Known(Number::from(1i64)),
        ..config()
    };
    assert!(
        plan(None, &c, NOW, false)
            .planned
            .current_password_wo
            .is_null()
    );
    let prior = state(&c, "2027-03-01T00:00:00Z");
    assert!(
        plan(Some(&prior), &c, NOW, false)
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
    let p = plan(Some(&prior), &c, NOW, false);
    assert!(p.diagnostics.has_errors());
    assert!(p.diagnostics.0.iter().all(|d| d.attribute
        == vec![crate::plugin::cty::PathStep::Attr(
            "current_password_wo".into()
        )]));
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
                username: s(""),
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
        assert_eq!(
            d.0[0].attribute,
            vec![crate::plugin::cty::PathStep::Attr(attr.into())],
            "{attr}"
        );
    }
    assert!(validate(&config(), true).is_empty());
    assert!(
        validate(
            &Model {
                rotate_after: Attr::Unknown,
                rotation_period: Attr::Unknown,
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
fn private_bytes_round_trip_and_garbage_means_decide() {
    for blocked in [false, true] {
        for r in [
            PlannedRotation::None,
            PlannedRotation::Due(Reason::RotateAfterPassed),
            PlannedRotation::Due(Reason::WriteOnlyVersionChanged),
            PlannedRotation::Decide,
        ] {
            let p = Private {
                observed_at: None,
                rotation: r,
                blocked,
            };
            if p.to_bytes().is_empty() {
                // Nothing to carry; an apply that finds no bytes re-decides, which is covered below.
                continue;
            }
            assert_eq!(Private::from_bytes(&p.to_bytes()), p);
        }
    }
    assert!(
        Private {
            observed_at: None,
            rotation: PlannedRotation::None,
            blocked: false
        }
        .to_bytes()
        .is_empty()
    );
    assert_eq!(Private::from_bytes(b"").rotation, PlannedRotation::Decide);
    assert!(!Private::from_bytes(b"").blocked);
    for r in [
        PlannedRotation::Due(Reason::RotateAfterPassed),
        PlannedRotation::Due(Reason::TriggersChanged),
        PlannedRotation::Due(Reason::CurrentPasswordChanged),
        PlannedRotation::Due(Reason::WriteOnlyVersionChanged),
        PlannedRotation::Due(Reason::NoPasswordInState),
        PlannedRotation::Decide,
    ] {
        let p = Private {
            observed_at: None,
            rotation: r,
            blocked: false,
        };
        assert_eq!(Private::from_bytes(&p.to_bytes()), p);
    }
    assert_eq!(
        Private::from_bytes(b"\xff garbage").rotation,
        PlannedRotation::Decide
    );
}

#[test]
fn import_and_upgrade_make_no_rotation_by_themselves() {
    let m = import("svc-provisioning").unwrap();
    assert_eq!(m.id, s("svc-provisioning"));
    assert!(m.password.is_null());
    assert!(import(" ").is_err());

    let v0 = serde_json::json!({
        "id": "alice", "username": "alice", "current_password": "seed",
        "password": "Wh0a1545a84d", "rotated_at": "2027-03-01T00:00:00Z", "rotate_after": null,
        "legacy_field": 7
    });
    let up = upgrade(0, &v0).unwrap();
    assert_eq!(up.password, secret("Wh0a1545a84d"));
    assert_eq!(rotation_due(&up, &config(), NOW).unwrap(), Due::No);
    assert!(upgrade(2, &v0).is_err());
    assert!(upgrade(0, &serde_json::json!([1])).is_err());
}

#[test]
fn delete_hands_the_password_to_a_create_in_the_same_process() {
    let handoff = Handoff::default();
    let ctx = ApplyContext {
        client: None,
        handoff: &handoff,
    };
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let out = delete(&ctx, &prior);
    assert!(out.new_state.is_none());
    assert_eq!(out.diagnostics.0.len(), 1);
    assert!(!out.diagnostics.has_errors());
    assert!(!out.diagnostics.0[0].detail.contains("Wh0a1545a84d"));
    assert_eq!(handoff.take("alice"), Some(Secret::new("Wh0a1545a84d")));
    assert_eq!(handoff.take("alice"), None);
}

#[test]
fn after_an_uncertain_reset_only_a_reseed_may_rotate() {
    let c = Model {
        triggers: triggers(&[("r", "2")]),
        ..config()
    };
    let prior = Model {
        triggers: triggers(&[("r", "1")]),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let p = plan(Some(&prior), &c, NOW, true);
    assert!(
        p.diagnostics.has_errors(),
        "a triggers change must not log in with a possibly stale password"
    );
    assert_eq!(
        p.diagnostics.0[0].attribute,
        vec![crate::plugin::cty::PathStep::Attr(
            "current_password_wo_version".into()
        )]
    );
    // Nothing due: no error, and the block is carried forward.
    let quiet = plan(
        Some(&prior),
        &Model {
            triggers: triggers(&[("r", "1")]),
            ..config()
        },
        NOW,
        true,
    );
    assert!(quiet.diagnostics.is_empty());
    assert!(quiet.private.blocked);
    // A re-seed is allowed.
    let reseed = Model {
        current_password: Attr::Null,
        current_password_wo: secret("from-support"),
        current_password_wo_version: Attr::Known(Number::from(2i64)),
        ..c
    };
    let p = plan(Some(&prior), &reseed, NOW, true);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        PlannedRotation::Due(Reason::WriteOnlyVersionChanged)
    );
}

#[tokio::test]
async fn a_blocked_update_makes_no_api_call_and_keeps_the_block() {
    let handoff = Handoff::default();
    let ctx = ApplyContext {
        client: None,
        handoff: &handoff,
    };
    let prior = state(&config(), "2027-03-01T00:00:00Z");
    let planned = Model {
        password: Attr::Unknown,
        rotated_at: Attr::Unknown,
        ..prior.clone()
    };
    let out = update(
        &ctx,
        &prior,
        &config(),
        planned,
        Private {
            observed_at: None,
            rotation: PlannedRotation::Due(Reason::TriggersChanged),
            blocked: true,
        },
        || NOW,
    )
    .await;
    assert!(out.diagnostics.has_errors());
    assert!(out.diagnostics.0[0].summary.contains("blocked"));
    assert_eq!(out.new_state, Some(prior));
    assert!(Private::from_bytes(&out.private).blocked);
}

#[test]
fn a_change_is_planned_as_of_the_last_read_so_the_replan_at_apply_agrees() {
    let read_at = datetime!(2027-03-04 23:59:59 UTC);
    let private = Private::from_bytes(&read_private(b"", read_at));
    assert_eq!(private.observed_at, Some(read_at.unix_timestamp()));
    let blocked = Private {
        observed_at: None,
        rotation: PlannedRotation::None,
        blocked: true,
    }
    .to_bytes();
    assert!(
        Private::from_bytes(&read_private(&blocked, read_at)).blocked,
        "a read keeps the block"
    );

    // An update without rotation (rotation_period added) planned just before rotate_after passes, planned again at
    // apply just after: both plans agree.
    let prior = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        ..state(&config(), "2027-03-01T00:00:00Z")
    };
    let c = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        triggers: Attr::Null,
        current_password: secret("seed"),
        ..config()
    };
    let changed = Model {
        rotation_period: s("30d"),
        ..c
    };
    let first = plan_in_run(
        Some(&prior),
        &changed,
        read_at,
        private,
        &Handoff::default(),
    );
    assert_eq!(
        first.private.rotation,
        PlannedRotation::None,
        "not due at the read"
    );
    assert_ne!(first.planned, prior, "a change: rotation_period added");
    let again = plan_in_run(Some(&prior), &changed, NOW, private, &Handoff::default());
    assert_eq!(
        again.planned, first.planned,
        "the re-plan at apply agrees although rotate_after has passed"
    );
}

#[test]
fn a_no_op_as_of_the_last_read_is_decided_by_the_clock() {
    // The last apply refreshed this resource without changing it, so its state keeps that read's time. A later
    // `plan -refresh=false` must still see the rotation that fell due since.
    let read_at = datetime!(2027-03-04 23:59:59 UTC);
    let private = Private::from_bytes(&read_private(b"", read_at));
    let c = Model {
        rotate_after: s("2027-03-05T00:00:00Z"),
        ..config()
    };
    let prior = state(&c, "2027-03-01T00:00:00Z");
    let p = plan_in_run(Some(&prior), &c, NOW, private, &Handoff::default());
    assert_eq!(
        p.private.rotation,
        PlannedRotation::Due(Reason::RotateAfterPassed)
    );
    let before = plan_in_run(Some(&prior), &c, read_at, private, &Handoff::default());
    assert_eq!(before.private.rotation, PlannedRotation::None);
    assert_eq!(before.planned, prior);
}

#[test]
fn a_read_of_a_blocked_object_blocks_its_replacement_until_a_reseed() {
    let handoff = Handoff::default();
    let tainted = Model {
        password: Attr::Null,
        rotated_at: Attr::Null,
        current_password_wo_version: Attr::Known(Number::from(1i64)),
        ..from_config(&config())
    };
    let blocked = Private {
        observed_at: None,
        rotation: PlannedRotation::None,
        blocked: true,
    }
    .to_bytes();
    let c = Model {
        current_password_wo_version: Attr::Known(Number::from(1i64)),
        ..config()
    };
    // Not blocked before the read, nor for another user.
    assert!(
        plan_in_run(None, &c, NOW, Private::from_bytes(b""), &handoff)
            .diagnostics
            .is_empty()
    );
    note_read(&handoff, &tainted, &blocked);
    let p = plan_in_run(None, &c, NOW, Private::from_bytes(b""), &handoff);
    assert!(p.diagnostics.has_errors());
    assert!(p.diagnostics.0[0].summary.contains("blocked"));
    let other = Model {
        username: s("bob"),
        ..c.clone()
    };
    assert!(
        plan_in_run(None, &other, NOW, Private::from_bytes(b""), &handoff)
            .diagnostics
            .is_empty()
    );
    // A re-seed (a new current_password_wo_version) may log in.
    let reseed = Model {
        current_password_wo_version: Attr::Known(Number::from(2i64)),
        ..c
    };
    assert!(
        plan_in_run(None, &reseed, NOW, Private::from_bytes(b""), &handoff)
            .diagnostics
            .is_empty()
    );
    // A read of an unblocked object blocks nothing.
    let fresh = Handoff::default();
    note_read(&fresh, &tainted, b"");
    assert!(fresh.blocked_seed("alice").is_none());
}
