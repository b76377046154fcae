//! `max_password_age`: its validation against the rest of the schedule, the deadline a state shows, and what a plan
//! says when a password's time has come but the plan does not rotate it.

use super::*;
use crate::resources::schedule::age::{self, AgePlan};

fn errors_of(d: &Diagnostics) -> Vec<String> {
    d.0.iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

fn mon_thu_2_to_5() -> Attr<RotationWindow> {
    window(Some(&["mon", "tue", "wed", "thu"]), "02:00", "05:00")
}

#[test]
fn the_longest_wait_for_a_window_is_from_one_closing_to_the_next_opening() {
    let w = |days: Option<&[&str]>, start: &str, end: &str| match window_attr(&window(
        days, start, end,
    )) {
        Ok(Attr::Known(w)) => w,
        other => panic!("{other:?}"),
    };
    // Mon-Thu 02:00-05:00: from Thursday 05:00 to Monday 02:00.
    assert_eq!(
        w(Some(&["mon", "tue", "wed", "thu"]), "02:00", "05:00").longest_wait(),
        Duration::from_secs(3 * 86_400 + 21 * 3_600)
    );
    // Every day 02:00-05:00: 21 hours.
    assert_eq!(
        w(None, "02:00", "05:00").longest_wait(),
        Duration::from_secs(21 * 3_600)
    );
    // One day a week, wrapping midnight: Friday 22:00 to Saturday 01:00, then a week less 3 hours.
    assert_eq!(
        w(Some(&["fri"]), "22:00", "01:00").longest_wait(),
        Duration::from_secs(7 * 86_400 - 3 * 3_600)
    );
    // Open all but one minute a day.
    assert_eq!(
        w(None, "00:00", "23:59").longest_wait(),
        Duration::from_secs(60)
    );
}

#[test]
fn max_password_age_must_leave_room_for_the_schedule() {
    let base = Values {
        rotation_period: s("83d"),
        max_password_age: s("90d"),
        lives: 1,
        ..Values::default()
    };
    assert!(validate(&base.schedule()).is_empty(), "83d in 90d");
    let cases: Vec<(&str, Values, &str)> = vec![
        (
            "shorter than the period",
            Values {
                max_password_age: s("60d"),
                ..base.clone()
            },
            "max_password_age is shorter than rotation_period",
        ),
        (
            "period + jitter over the maximum",
            Values {
                rotation_jitter: s("14d"),
                ..base.clone()
            },
            "rotation_period (83d) + rotation_jitter (14d) + the longest wait for rotation_window (0s) = 97d",
        ),
        (
            "period + the window's longest wait over the maximum",
            Values {
                rotation_period: s("87d"),
                rotation_window: mon_thu_2_to_5(),
                ..base.clone()
            },
            "the longest wait for rotation_window (3d21h) = 90d21h",
        ),
        (
            "two users taking turns: each password lives two periods",
            Values {
                rotation_period: s("46d"),
                lives: 2,
                ..base.clone()
            },
            "2 × (rotation_period (46d) + rotation_jitter (0s) + the longest wait for rotation_window (0s)) = 92d",
        ),
        (
            "not a duration",
            Values {
                max_password_age: s("ninety days"),
                ..base.clone()
            },
            "Invalid max_password_age",
        ),
        (
            "out of range",
            Values {
                max_password_age: s("0s"),
                ..base.clone()
            },
            "outside 1s to 100 years",
        ),
    ];
    for (name, values, want) in cases {
        let errs = errors_of(&validate(&values.schedule()));
        assert!(
            errs.iter().any(|e| e.contains(want)),
            "{name}: want {want:?} in {errs:?}"
        );
        for d in &validate(&values.schedule()).0 {
            assert_eq!(
                d.attribute,
                vec![PathStep::Attr("max_password_age".into())],
                "{name}"
            );
        }
    }
    // Within limits: 86d21h fits in 90d; two periods of 43d fit in 90d.
    let fits = Values {
        rotation_window: mon_thu_2_to_5(),
        max_password_age: s("87d"),
        ..base.clone()
    };
    assert!(validate(&fits.schedule()).is_empty());
    let pair = Values {
        rotation_period: s("43d"),
        lives: 2,
        ..base
    };
    assert!(validate(&pair.schedule()).is_empty());
}

#[test]
fn the_deadline_counts_from_when_the_password_was_set() {
    let v = Values {
        max_password_age: s("90d"),
        ..Values::default()
    };
    assert_eq!(
        age::deadline(&v.schedule(), &s("2027-03-01T00:00:00Z")).unwrap(),
        s("2027-05-30T00:00:00Z")
    );
    assert_eq!(
        age::deadline(&v.schedule(), &Attr::Null).unwrap(),
        Attr::Null
    );
    assert_eq!(
        age::deadline(&v.schedule(), &Attr::Unknown).unwrap(),
        Attr::Unknown
    );
    assert_eq!(
        age::deadline(&Values::default().schedule(), &s("2027-03-01T00:00:00Z")).unwrap(),
        Attr::Null
    );
}

/// The findings of issue 19: a window the CI schedule never hits holds the rotation; before the deadline a plan
/// warns when it will run, after it the plan fails, naming the user, the age, the deadline and the reason.
#[test]
fn a_held_rotation_warns_until_the_deadline_and_fails_after_it() {
    let v = Values {
        rotation_period: s("83d"),
        max_password_age: s("90d"),
        rotation_window: mon_thu_2_to_5(),
        ..rotated("2026-06-01T00:00:00Z")
    };
    let deadline = age::deadline(&v.schedule(), &v.rotated_at).unwrap();
    let plan = |rotating: bool, blocked: Option<&'static str>| AgePlan {
        who: "user \"svc-billing\"",
        set_at: &v.rotated_at,
        deadline: &deadline,
        rotating,
        blocked,
    };
    // Monday 06:17, 85 days on: due (83d) but outside the window, deadline not passed.
    let monday = datetime!(2026-08-24 06:17:00 UTC);
    let d = age::diagnostics(&v.schedule(), &v.last(), plan(false, None), monday);
    assert_eq!(d.0.len(), 1, "{d:?}");
    assert!(!d.has_errors());
    let text = &d.0[0].detail;
    assert!(
        text.contains("due since 2026-08-23T00:00:00Z") || text.contains("2026-08-23"),
        "{text}"
    );
    assert!(
        text.contains("2026-08-25T02:00:00Z"),
        "the next window opening: {text}"
    );
    assert!(
        text.contains("2026-08-30T00:00:00Z"),
        "the deadline: {text}"
    );
    // A week later, past the deadline (2026-08-30): an error.
    let later = datetime!(2026-08-31 06:17:00 UTC);
    let d = age::diagnostics(&v.schedule(), &v.last(), plan(false, None), later);
    let errs = errors_of(&d);
    assert_eq!(errs.len(), 1, "{d:?}");
    for needle in [
        "Password older than max_password_age",
        "user \"svc-billing\"",
        "2026-06-01T00:00:00Z",
        "91d6h17m ago",
        "required a rotation by 2026-08-30T00:00:00Z",
        "rotation_window holds the rotation",
        "Run Terraform inside rotation_window",
    ] {
        assert!(
            errs[0].contains(needle),
            "missing {needle:?} in {}",
            errs[0]
        );
    }
    // Rotating in this plan: nothing to say, even past the deadline.
    assert!(age::diagnostics(&v.schedule(), &v.last(), plan(true, None), later).is_empty());
    // Blocked: the error says so and points at the block.
    let errs = errors_of(&age::diagnostics(
        &v.schedule(),
        &v.last(),
        plan(false, Some("ThingSpace rejected a log-in.")),
        later,
    ));
    assert!(
        errs[0].contains("the resource is blocked: ThingSpace rejected a log-in."),
        "{errs:?}"
    );
    // Not due yet: nothing.
    let early = datetime!(2026-07-01 06:17:00 UTC);
    assert!(age::diagnostics(&v.schedule(), &v.last(), plan(false, None), early).is_empty());
    // Inside the window, due: the plan rotates (and would say rotating = true); held() says nothing.
    assert_eq!(
        age::held(&v.last(), &v.schedule(), datetime!(2026-08-25 03:00:00 UTC)),
        None
    );
}

#[test]
fn past_the_deadline_without_a_schedule_the_error_says_none_is_scheduled() {
    let v = Values {
        max_password_age: s("30d"),
        ..rotated("2026-06-01T00:00:00Z")
    };
    let deadline = age::deadline(&v.schedule(), &v.rotated_at).unwrap();
    let d = age::diagnostics(
        &v.schedule(),
        &v.last(),
        AgePlan {
            who: "user \"a\"",
            set_at: &v.rotated_at,
            deadline: &deadline,
            rotating: false,
            blocked: None,
        },
        datetime!(2026-07-02 00:00:00 UTC),
    );
    let errs = errors_of(&d);
    assert!(
        errs[0].contains("no rotation is scheduled before it"),
        "{errs:?}"
    );
    let fixed = Values {
        rotate_after: s("2026-09-01T00:00:00Z"),
        ..v.clone()
    };
    let d = age::diagnostics(
        &fixed.schedule(),
        &fixed.last(),
        AgePlan {
            who: "user \"a\"",
            set_at: &v.rotated_at,
            deadline: &deadline,
            rotating: false,
            blocked: None,
        },
        datetime!(2026-07-02 00:00:00 UTC),
    );
    assert!(
        errors_of(&d)[0]
            .contains("the next rotation is set for rotate_after (2026-09-01T00:00:00Z)"),
        "{d:?}"
    );
}
