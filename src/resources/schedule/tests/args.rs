//! Argument checks and the `rotate_after` a state shows: periods, timestamps, validation of every argument.

use super::*;

#[test]
fn an_unreadable_rotated_at_is_an_error_naming_it() {
    let last = rotated("yesterday");
    let config = Values {
        rotation_period: s("1d"),
        ..Values::default()
    };
    let d = due(&last.last(), &config.schedule(), NOW).unwrap_err();
    assert_eq!(d.attribute, vec![PathStep::Attr("rotated_at".into())]);
}

#[test]
fn rotation_period_is_bounded_from_one_second_to_a_hundred_years() {
    assert!(period_attr("1s").is_ok());
    assert!(period_attr("36500d").is_ok());
    assert!(period_attr("876000h").is_ok());
    for bad in ["999ms", "36501d", "106751991167300d", "0", "soon"] {
        let d = period_attr(bad).unwrap_err();
        assert_eq!(
            d.attribute,
            vec![PathStep::Attr("rotation_period".into())],
            "{bad}"
        );
    }
    assert!(
        period_attr("36501d")
            .unwrap_err()
            .detail
            .contains("100 years")
    );
    assert!(period_attr("999ms").unwrap_err().detail.contains("1s"));
}

#[test]
fn validate_names_each_bad_argument() {
    let bad = Values {
        rotate_after: s("next tuesday"),
        rotation_period: s("0s"),
        ..Values::default()
    };
    let d = validate(&bad.schedule());
    let attrs: Vec<_> = d.0.iter().map(|d| d.attribute.clone()).collect();
    assert_eq!(
        attrs,
        vec![
            vec![PathStep::Attr("rotate_after".into())],
            vec![PathStep::Attr("rotation_period".into())]
        ]
    );
    let unknown = Values {
        rotate_after: Attr::Unknown,
        rotation_period: Attr::Unknown,
        ..Values::default()
    };
    assert!(validate(&unknown.schedule()).is_empty());
}

#[test]
fn next_rotate_after_prefers_the_configured_time_then_the_period() {
    let at = datetime!(2027-03-01 00:00:00 UTC);
    let c = Values {
        rotation_period: s("90d"),
        ..Values::default()
    };
    assert_eq!(
        next_rotate_after(&c.schedule(), Some(at)).unwrap(),
        Attr::Known(datetime!(2027-05-30 00:00:00 UTC))
    );
    assert_eq!(next_rotate_after(&c.schedule(), None).unwrap(), Attr::Null);
    let fixed = Values {
        rotate_after: s("2027-04-01T00:00:00Z"),
        ..c.clone()
    };
    assert_eq!(
        next_rotate_after(&fixed.schedule(), Some(at)).unwrap(),
        Attr::Known(datetime!(2027-04-01 00:00:00 UTC))
    );
    let unknown = Values {
        rotation_period: Attr::Unknown,
        ..Values::default()
    };
    assert_eq!(
        next_rotate_after(&unknown.schedule(), Some(at)).unwrap(),
        Attr::Unknown
    );
    assert_eq!(
        next_rotate_after(&Values::default().schedule(), Some(at)).unwrap(),
        Attr::Null
    );
}

#[test]
fn the_rotate_after_a_state_shows() {
    let period = Values {
        rotation_period: s("1h"),
        ..Values::default()
    };
    let fixed = Values {
        rotate_after: s("2027-04-01T00:00:00+00:00"),
        rotation_period: s("1h"),
        ..Values::default()
    };
    // Pending a rotation: computed later, unless given.
    assert_eq!(pending_rotate_after(&period.schedule()), Attr::Unknown);
    assert_eq!(
        pending_rotate_after(&fixed.schedule()),
        s("2027-04-01T00:00:00+00:00")
    );
    assert_eq!(
        pending_rotate_after(&Values::default().schedule()),
        Attr::Null
    );
    // Settled: from rotated_at.
    assert_eq!(
        settled_rotate_after(&period.schedule(), &s("2027-03-01T00:00:00Z")).unwrap(),
        s("2027-03-01T01:00:00Z")
    );
    assert_eq!(
        settled_rotate_after(&period.schedule(), &Attr::Null).unwrap(),
        Attr::Null
    );
    // After a rotation now: a given time exactly as written.
    assert_eq!(
        rotated_rotate_after(&period.schedule(), NOW).unwrap(),
        s("2027-03-10T13:00:00Z")
    );
    assert_eq!(
        rotated_rotate_after(&fixed.schedule(), NOW).unwrap(),
        s("2027-04-01T00:00:00+00:00")
    );
    let bad = Values {
        rotation_period: s("1000y"),
        ..Values::default()
    };
    assert!(rotated_rotate_after(&bad.schedule(), NOW).is_err());
}
