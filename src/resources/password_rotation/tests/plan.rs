//! Planning: what a plan says about a rotation, the planned values, and the refusals that need no process-wide view.

use super::*;
use crate::plugin::cty::Number;
use crate::plugin::secret::Secret;
use crate::resources::rotating::{Plans, PrivateState, Rotating};

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
fn a_change_is_planned_as_of_the_last_read_so_the_replan_at_apply_agrees() {
    let read_at = datetime!(2027-03-04 23:59:59 UTC);
    let users = Users::default();
    let (_, bytes) = Model::read(
        &users,
        &state(&config(), "2027-03-01T00:00:00Z"),
        b"",
        read_at,
    );
    let private = Private::from_bytes(&bytes);
    assert_eq!(private.observed_at, Some(read_at.unix_timestamp()));
    let (_, kept) = Model::read(
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

/// A rotation due by time but outside `rotation_window` plans exactly the prior state (no diff, so
/// `-detailed-exitcode` exits 0), and the state keeps showing when the window opens.
#[test]
fn a_rotation_held_by_the_window_plans_no_change() {
    let c = Model {
        rotation_period: s("7d"),
        rotation_window: Attr::Known(RotationWindow {
            days: Attr::Null,
            start: s("02:00"),
            end: s("05:00"),
        }),
        ..config()
    };
    let mut prior = state(&c, "2027-03-01T00:00:00Z");
    prior.rotate_after = s("2027-03-08T00:00:00Z");
    prior.next_window_start = s("2027-03-08T02:00:00Z");
    let p = plain(Some(&prior), &c);
    assert_eq!(p.private.rotation, None);
    assert_eq!(p.planned, prior, "held: no diff");
    assert!(p.diagnostics.is_empty());
    // Inside the window (03:00) the same state rotates.
    let inside = Model::plan(
        Some(&prior),
        &c,
        datetime!(2027-03-11 03:00:00 UTC),
        &Private::default(),
        &Known::default(),
    );
    assert_eq!(
        inside.private.rotation,
        Some(PlannedRotation::Due(decide::Reason::RotateAfterPassed))
    );
    assert_eq!(inside.planned.rotate_after, Attr::Unknown);
    assert_eq!(inside.planned.next_window_start, Attr::Unknown);
}
