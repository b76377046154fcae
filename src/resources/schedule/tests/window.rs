//! Windows and jitter: field-named window errors, window boundaries, `next_window_start`, pinned jitter offsets and
//! the spread of 50 users, and the warning for a passed fixed `rotate_after`.

use super::*;

fn parsed(days: Option<&[&str]>, start: &str, end: &str) -> Window {
    match window_attr(&window(days, start, end)) {
        Ok(Attr::Known(w)) => w,
        other => panic!("{days:?} {start}-{end}: {other:?}"),
    }
}

fn at_path(d: &Diagnostic) -> String {
    d.attribute
        .iter()
        .map(|p| match p {
            PathStep::Attr(a) => format!(".{a}"),
            PathStep::Index(i) => format!("[{i}]"),
            PathStep::Key(k) => format!("[{k:?}]"),
        })
        .collect()
}

#[test]
fn window_errors_name_the_field() {
    let rows: Vec<(&str, Attr<RotationWindow>, Vec<&str>)> = vec![
        ("valid", window(None, "02:00", "05:00"), vec![]),
        (
            "valid past midnight",
            window(Some(&["fri", "sat"]), "22:00", "01:30"),
            vec![],
        ),
        (
            "hour without a leading zero",
            window(None, "2:00", "05:00"),
            vec![".rotation_window.start"],
        ),
        (
            "24:00",
            window(None, "02:00", "24:00"),
            vec![".rotation_window.end"],
        ),
        (
            "minutes 60",
            window(None, "02:60", "05:00"),
            vec![".rotation_window.start"],
        ),
        (
            "seconds",
            window(None, "02:00:00", "05:00"),
            vec![".rotation_window.start"],
        ),
        (
            "not a time",
            window(None, "soon", "later"),
            vec![".rotation_window.start", ".rotation_window.end"],
        ),
        (
            "non-ASCII digits",
            window(None, "０２:00", "05:00"),
            vec![".rotation_window.start"],
        ),
        (
            "a colon for a minute digit",
            window(None, "02:0:", "05:00"),
            vec![".rotation_window.start"],
        ),
        (
            "a slash for an hour digit",
            window(None, "02:00", "0/:00"),
            vec![".rotation_window.end"],
        ),
        (
            "start == end",
            window(None, "03:00", "03:00"),
            vec![".rotation_window.end"],
        ),
        (
            "capitalised day",
            window(Some(&["Mon"]), "02:00", "05:00"),
            vec![".rotation_window.days[0]"],
        ),
        (
            "long day name",
            window(Some(&["mon", "tuesday"]), "02:00", "05:00"),
            vec![".rotation_window.days[1]"],
        ),
        (
            "no days",
            window(Some(&[]), "02:00", "05:00"),
            vec![".rotation_window.days"],
        ),
        (
            "missing start",
            Attr::Known(RotationWindow {
                start: Attr::Null,
                ..window_of(None, "02:00", "05:00")
            }),
            vec![".rotation_window.start"],
        ),
        (
            "unknown parts are checked at apply",
            Attr::Known(RotationWindow {
                days: Attr::Unknown,
                start: Attr::Unknown,
                end: s("05:00"),
            }),
            vec![],
        ),
    ];
    for (name, w, want) in rows {
        let config = Values {
            rotation_window: w,
            ..Values::default()
        };
        let d = validate(&config.schedule());
        let got: Vec<String> = d.0.iter().map(at_path).collect();
        assert_eq!(got, want, "{name}");
        assert!(
            d.0.iter()
                .all(|d| d.is_error() && d.summary.contains("rotation_window")),
            "{name}"
        );
    }
    let bad_day = Values {
        rotation_window: window(Some(&["mon", "Tue"]), "02:00", "05:00"),
        ..Values::default()
    };
    let d = validate(&bad_day.schedule());
    assert!(
        d.0[0].detail.starts_with("\"Tue\" is not a day name"),
        "{}",
        d.0[0].detail
    );
}

#[test]
fn jitter_is_a_duration_up_to_the_period() {
    type Row = (&'static str, Attr<String>, Attr<String>, Vec<&'static str>);
    let rows: Vec<Row> = vec![
        ("14d of 90d", s("14d"), s("90d"), vec![]),
        ("the whole period", s("90d"), s("90d"), vec![]),
        ("zero", s("0s"), s("90d"), vec![]),
        (
            "longer than the period",
            s("91d"),
            s("90d"),
            vec![".rotation_jitter"],
        ),
        (
            "not a duration",
            s("two weeks"),
            s("90d"),
            vec![".rotation_jitter"],
        ),
        (
            "without a period",
            s("1d"),
            Attr::Null,
            vec![".rotation_jitter"],
        ),
        ("period unknown", s("1000d"), Attr::Unknown, vec![]),
        (
            "period unknown, the longest",
            s("36500d"),
            Attr::Unknown,
            vec![],
        ),
        (
            "period unknown, beyond 100 years",
            s("36501d"),
            Attr::Unknown,
            vec![".rotation_jitter"],
        ),
        ("unknown", Attr::Unknown, s("90d"), vec![]),
    ];
    for (name, jitter, period, want) in rows {
        let config = Values {
            rotation_jitter: jitter,
            rotation_period: period,
            ..Values::default()
        };
        let got: Vec<String> = validate(&config.schedule()).0.iter().map(at_path).collect();
        assert_eq!(got, want, "{name}");
    }
}

/// The offsets are part of every jittered state: a change to the function moves them all.
#[test]
fn jitter_offsets_are_pinned_and_keyed_by_user_and_due_time() {
    let due = datetime!(2027-05-30 00:00:00 UTC);
    let two_weeks = Duration::from_secs(14 * 86_400);
    let a = jitter_offset("svc-provisioning", due, two_weeks);
    assert_eq!(
        a,
        jitter_offset("svc-provisioning", due, two_weeks),
        "deterministic"
    );
    assert_eq!(a.as_secs(), PINNED_OFFSET_SECS);
    assert_ne!(a, jitter_offset("svc-billing", due, two_weeks), "per user");
    assert_ne!(
        a,
        jitter_offset(
            "svc-provisioning",
            due + time::Duration::seconds(1),
            two_weeks
        ),
        "per due time"
    );
    assert_eq!(
        jitter_offset("svc-provisioning", due, Duration::ZERO),
        Duration::ZERO
    );
    assert_eq!(
        jitter_offset("svc-provisioning", due, Duration::from_millis(999)),
        Duration::ZERO
    );
}

const PINNED_OFFSET_SECS: u64 = 55_340;

/// 50 users created in one apply, on "90d" with a "14d" jitter, and a daily scheduled run at 03:00 inside a
/// 02:00-05:00 window: the rotations fall on many runs over two weeks, never all in one.
#[test]
fn fifty_users_on_90d_with_14d_jitter_spread_over_two_weeks_of_runs() {
    let created = datetime!(2027-03-01 03:00:00 UTC);
    let users: Vec<Values> = (0..50)
        .map(|i| Values {
            rotation_period: s("90d"),
            rotation_jitter: s("14d"),
            rotation_window: window(None, "02:00", "05:00"),
            username: s(&format!("svc-device-{i:02}")),
            // One apply creates them a few seconds apart.
            rotated_at: s(&format_rfc3339(created + time::Duration::seconds(i % 7))),
            ..Values::default()
        })
        .collect();
    let unjittered = created + time::Duration::days(90);
    let after = |u: &Values| match next_rotate_after(
        &u.schedule(),
        Some(time_attr("rotated_at", u.rotated_at.known().unwrap()).unwrap()),
    )
    .unwrap()
    {
        Attr::Known(t) => t,
        other => panic!("{other:?}"),
    };
    // Deterministic, in [0, 14d) past the unjittered time, and what the state shows.
    for u in &users {
        let t = after(u);
        assert_eq!(t, after(u));
        let rotated = time_attr("rotated_at", u.rotated_at.known().unwrap()).unwrap();
        let offset = t - (rotated + time::Duration::days(90));
        assert!(
            offset >= time::Duration::ZERO && offset < time::Duration::days(14),
            "{offset}"
        );
        assert_eq!(
            settled_rotate_after(&u.schedule(), &u.rotated_at).unwrap(),
            Attr::Known(format_rfc3339(t))
        );
    }
    // The scheduled runs: the first run at or after each user's rotate_after rotates it.
    let mut per_run = vec![0usize; 20];
    for u in &users {
        let run = (0..20)
            .find(|d| {
                let now = unjittered + time::Duration::days(*d);
                due(&u.last(), &u.schedule(), now).unwrap() == Timing::Due(Cause::RotateAfterPassed)
            })
            .unwrap_or_else(|| panic!("{:?} never rotated", u.username));
        per_run[run as usize] += 1;
    }
    let runs_used = per_run.iter().filter(|n| **n > 0).count();
    let busiest = per_run.iter().max().copied().unwrap_or(0);
    assert_eq!(per_run.iter().sum::<usize>(), 50);
    assert!(
        per_run[15..].iter().all(|n| *n == 0),
        "all within two weeks: {per_run:?}"
    );
    assert!(runs_used >= 11, "spread over the two weeks: {per_run:?}");
    assert!(
        busiest <= 8,
        "no run rotates more than 8 of 50: {per_run:?}"
    );
    // Without the jitter, every one of them rotates in the first run.
    let first_run = unjittered;
    let unjittered_due = users
        .iter()
        .filter(|u| {
            let plain = Values {
                rotation_jitter: Attr::Null,
                ..(*u).clone()
            };
            due(
                &plain.last(),
                &plain.schedule(),
                first_run + time::Duration::seconds(10),
            )
            .unwrap()
                == Timing::Due(Cause::RotateAfterPassed)
        })
        .count();
    assert_eq!(unjittered_due, 50);
}

/// For every minute of two weeks, `earliest_from` is that minute when it is inside a window, else the first
/// minute after it that is.
#[test]
fn earliest_from_is_the_first_time_inside_a_window() {
    let windows = [
        parsed(None, "02:00", "05:00"),
        parsed(Some(&["fri"]), "22:00", "01:30"),
        parsed(Some(&["mon", "wed"]), "23:59", "00:00"),
        parsed(Some(&["sun"]), "00:00", "23:59"),
    ];
    let origin = datetime!(2027-03-01 00:00:00 UTC);
    let minutes = 3 * 7 * 1440;
    for w in windows {
        let inside: Vec<bool> = (0..minutes)
            .map(|m| w.contains(origin + time::Duration::minutes(m)))
            .collect();
        let mut next_inside = vec![None; inside.len()];
        let mut next = None;
        for m in (0..inside.len()).rev() {
            if inside[m] {
                next = Some(m);
            }
            next_inside[m] = next;
        }
        for (m, next) in next_inside.iter().enumerate().take(2 * 7 * 1440) {
            let t = origin + time::Duration::minutes(m as i64);
            let want = next.map(|n| origin + time::Duration::minutes(n as i64));
            assert_eq!(w.earliest_from(t), want, "{w:?} at {t}");
        }
    }
}

#[test]
fn a_window_runs_from_its_start_second_to_just_before_its_end() {
    let w = parsed(None, "02:00", "05:00");
    let day = datetime!(2027-03-10 00:00:00 UTC);
    for (hms, inside) in [
        ((1, 59, 59), false),
        ((2, 0, 0), true),
        ((2, 0, 30), true),
        ((4, 59, 59), true),
        ((5, 0, 0), false),
    ] {
        let t = day.replace_time(Time::from_hms(hms.0, hms.1, hms.2).unwrap());
        assert_eq!(w.contains(t), inside, "{t}");
    }
    // Past midnight: a Friday window to 01:30 runs until 01:29:59 on Saturday, minutes included.
    let fri = parsed(Some(&["fri"]), "22:15", "01:30");
    for (t, inside) in [
        (datetime!(2027-03-12 22:14:59 UTC), false),
        (datetime!(2027-03-12 22:15:00 UTC), true),
        (datetime!(2027-03-13 01:29:59 UTC), true),
        (datetime!(2027-03-13 01:30:00 UTC), false),
        (datetime!(2027-03-13 22:15:00 UTC), false),
    ] {
        assert_eq!(fri.contains(t), inside, "{t}");
    }
    let late = day.replace_time(Time::from_hms(5, 0, 30).unwrap());
    assert_eq!(
        w.earliest_from(late),
        Some(datetime!(2027-03-11 02:00:00 UTC))
    );
}

#[test]
fn next_window_start_follows_rotate_after_not_the_clock() {
    let none = Values::default();
    let daily = Values {
        rotation_window: window(None, "02:00", "05:00"),
        ..Values::default()
    };
    let thursdays = Values {
        rotation_window: window(Some(&["thu"]), "22:00", "01:00"),
        ..Values::default()
    };
    let rows: Vec<(&str, &Values, Attr<String>, Attr<String>)> = vec![
        (
            "inside a window: rotate_after itself",
            &daily,
            s("2027-03-10T03:30:00Z"),
            s("2027-03-10T03:30:00Z"),
        ),
        (
            "before the window: its start",
            &daily,
            s("2027-03-10T01:00:00Z"),
            s("2027-03-10T02:00:00Z"),
        ),
        (
            "after the window: tomorrow's start",
            &daily,
            s("2027-03-10T05:00:00Z"),
            s("2027-03-11T02:00:00Z"),
        ),
        (
            "the next thursday",
            &thursdays,
            s("2027-03-10T12:00:00Z"),
            s("2027-03-11T22:00:00Z"),
        ),
        (
            "friday 00:30 is thursday's window",
            &thursdays,
            s("2027-03-12T00:30:00Z"),
            s("2027-03-12T00:30:00Z"),
        ),
        (
            "an offset time, shown in UTC",
            &daily,
            s("2027-03-10T04:30:00+02:00"),
            s("2027-03-10T02:30:00Z"),
        ),
        ("no rotate_after", &daily, Attr::Null, Attr::Null),
        ("rotate_after unknown", &daily, Attr::Unknown, Attr::Unknown),
        ("no window", &none, s("2027-03-10T01:00:00Z"), Attr::Null),
    ];
    for (name, config, rotate_after, want) in rows {
        assert_eq!(
            next_window_start(&config.schedule(), &rotate_after).unwrap(),
            want,
            "{name}"
        );
    }
    let unknown = Values {
        rotation_window: Attr::Unknown,
        ..Values::default()
    };
    assert_eq!(
        next_window_start(&unknown.schedule(), &s("2027-03-10T01:00:00Z")).unwrap(),
        Attr::Unknown
    );
}

/// Issue 14, finding 8: a passed fixed rotate_after silently stopped rotation_period. It still wins (the state
/// shows it), but every plan now says so.
#[test]
fn a_passed_fixed_rotate_after_with_a_period_warns_that_the_period_is_ignored() {
    let both = |at: &str| Values {
        rotate_after: s(at),
        rotation_period: s("90d"),
        ..Values::default()
    };
    let passed = warnings(&both("2027-03-01T00:00:00Z").schedule(), NOW);
    assert_eq!(passed.0.len(), 1);
    let w = &passed.0[0];
    assert!(!w.is_error());
    assert_eq!(at_path(w), ".rotation_period");
    assert!(w.detail.contains("Remove rotate_after"), "{}", w.detail);
    assert!(
        warnings(&both("2027-03-10T12:00:00Z").schedule(), NOW)
            .0
            .len()
            == 1,
        "exactly now has passed"
    );
    assert!(
        warnings(&both("2027-04-01T00:00:00Z").schedule(), NOW).is_empty(),
        "not yet passed"
    );
    let fixed_only = Values {
        rotate_after: s("2027-03-01T00:00:00Z"),
        ..Values::default()
    };
    assert!(warnings(&fixed_only.schedule(), NOW).is_empty());
    let period_only = Values {
        rotation_period: s("1d"),
        ..Values::default()
    };
    assert!(warnings(&period_only.schedule(), NOW).is_empty());
}
