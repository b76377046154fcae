//! Tests of `thingspace_alternating_password_rotation` without an API: validation, import, the decision of which
//! user a rotation resets, planning (unknowns, blocks, seeds), claims shared with the single resource, and the
//! refusals an apply makes before any call. Applying against ThingSpace is covered by the acceptance tests.

use super::decide::{Resets, decide};
use super::plan::{Known, from_config, plan_in_run};
use super::private::{Planned, UserBlock};
use super::reset::{Login, Reset};
use super::*;
use crate::plugin::cty::Number;
use crate::plugin::secret::Secret;
use crate::resources::block::{Block, BlockKind, LoginWith};
use crate::resources::password_rotation;
use crate::resources::rotating::{Applies, Plans, Rotating};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2027-03-10 12:00:00 UTC);

fn s(v: &str) -> Attr<String> {
    Attr::Known(v.to_string())
}

fn secret(v: &str) -> Attr<Secret> {
    Attr::Known(Secret::new(v))
}

fn names(a: &str, b: &str) -> Attr<Vec<Attr<String>>> {
    Attr::Known(vec![s(a), s(b)])
}

fn seeds(pairs: &[(&str, &str)]) -> Attr<Passwords> {
    Attr::Known(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), secret(v)))
            .collect(),
    )
}

fn config() -> Model {
    Model {
        usernames: names("blue", "green"),
        current_passwords: seeds(&[("blue", "b0"), ("green", "g0")]),
        ..Model::default()
    }
}

/// The state after a create at `rotated_at`: green active, blue standby.
fn state(config: &Model, rotated_at: &str) -> Model {
    Model {
        active_username: s("green"),
        active_password: secret("G1"),
        standby_username: s("blue"),
        standby_password: secret("B1"),
        rotated_at: s(rotated_at),
        standby_rotated_at: s(rotated_at),
        blocked_reason: Attr::Null,
        rotate_after: Attr::Null,
        next_window_start: Attr::Null,
        password_age_deadline: Attr::Null,
        ..from_config(config)
    }
}

/// What a plan refuses: its errors, and a due rotation it plans only for the apply to refuse (a block).
fn refused(p: &plan::Plan) -> Vec<String> {
    p.diagnostics
        .0
        .iter()
        .filter(|d| {
            d.is_error() || (p.blocked.is_some() && d.summary.starts_with("Rotation blocked"))
        })
        .map(|d| d.summary.clone())
        .collect()
}

fn errors(d: &Diagnostics) -> Vec<String> {
    d.0.iter()
        .filter(|d| d.is_error())
        .map(|d| d.summary.clone())
        .collect()
}

#[test]
fn validation_names_each_bad_attribute() {
    let cases: Vec<(Model, &str)> = vec![
        (
            Model {
                usernames: Attr::Known(vec![s("only")]),
                ..config()
            },
            "usernames",
        ),
        (
            Model {
                usernames: Attr::Known(vec![s("a"), s("b"), s("c")]),
                ..config()
            },
            "usernames",
        ),
        (
            Model {
                usernames: names("same", "same"),
                ..config()
            },
            "usernames",
        ),
        (
            Model {
                usernames: names("", "b"),
                ..config()
            },
            "usernames",
        ),
        (
            Model {
                usernames: names("svc blue", "b"),
                ..config()
            },
            "usernames",
        ),
        (
            Model {
                current_passwords_wo: seeds(&[("blue", "x")]),
                ..config()
            },
            "current_passwords_wo",
        ),
        (
            Model {
                current_passwords: seeds(&[("bleu", "x")]),
                ..config()
            },
            "current_passwords",
        ),
        (
            Model {
                rotation_period: s("500ms"),
                ..config()
            },
            "rotation_period",
        ),
    ];
    for (model, attr) in cases {
        let d = Model::validate(&model, true);
        assert!(d.has_errors(), "{attr}: {d:?}");
        assert_eq!(
            d.0[0].attribute,
            vec![crate::plugin::cty::PathStep::Attr(attr.into())],
            "{attr}"
        );
    }
    assert!(Model::validate(&config(), true).is_empty());
    // Unknown values are not errors.
    let unknown = Model {
        usernames: Attr::Known(vec![Attr::Unknown, s("b")]),
        current_passwords: Attr::Unknown,
        ..config()
    };
    assert!(Model::validate(&unknown, true).is_empty());
    let wo = Model {
        current_passwords: Attr::Null,
        current_passwords_wo: seeds(&[("blue", "x")]),
        ..config()
    };
    assert!(Model::validate(&wo, true).is_empty());
    assert!(
        Model::validate(&wo, false).has_errors(),
        "Terraform before 1.11"
    );
}

#[test]
fn import_takes_two_names_joined_with_a_comma() {
    let m = Model::import("blue,green").unwrap();
    assert_eq!(m.names(), Some(["blue".to_owned(), "green".to_owned()]));
    assert_eq!(m.id, s("blue,green"));
    for bad in [
        "blue",
        "blue,green,red",
        "blue,blue",
        ",green",
        "bl ue,green",
    ] {
        let e = Model::import(bad).unwrap_err();
        assert!(
            e.detail.contains("svc-blue,svc-green"),
            "{bad}: {}",
            e.detail
        );
    }
    // The next plan resets both users with their seeds, standby order by usernames.
    let prior = Model::import("blue,green").unwrap();
    assert_eq!(
        decide(&prior, &config(), &Private::default(), NOW).unwrap(),
        Resets::Steps(vec![
            Reset {
                user: "blue".into(),
                login: Login::Seed
            },
            Reset {
                user: "green".into(),
                login: Login::Seed
            },
        ])
    );
    let one_seed = Model {
        current_passwords: seeds(&[("blue", "b0"), ("green", "")]),
        ..config()
    };
    let p = Model::plan(
        Some(&prior),
        &one_seed,
        NOW,
        &Private::default(),
        &Known::default(),
    );
    assert_eq!(errors(&p.diagnostics), vec!["No password to log in with"]);
    assert!(p.diagnostics.0[0].detail.contains("\"green\""));
}

#[test]
fn a_scheduled_rotation_resets_only_the_standby_and_plans_the_active_pair_unknown() {
    let cfg = Model {
        rotation_period: s("7d"),
        ..config()
    };
    let prior = state(&cfg, "2027-03-01T00:00:00Z");
    assert_eq!(
        decide(&prior, &cfg, &Private::default(), NOW).unwrap(),
        Resets::Steps(vec![Reset {
            user: "blue".into(),
            login: Login::Stored
        }])
    );
    let p = Model::plan(
        Some(&prior),
        &cfg,
        NOW,
        &Private::default(),
        &Known::default(),
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert!(p.planned.active_username.is_unknown());
    assert!(p.planned.active_password.is_unknown());
    assert_eq!(p.planned.standby_username, s("green"));
    assert_eq!(p.planned.standby_password, secret("G1"));
    // Not due yet: nothing changes.
    let early = Model {
        rotate_after: s("2027-03-16T00:00:00Z"),
        ..state(&cfg, "2027-03-09T00:00:00Z")
    };
    let p = Model::plan(
        Some(&early),
        &cfg,
        NOW,
        &Private::default(),
        &Known::default(),
    );
    assert_eq!(p.planned, early);
    assert_eq!(p.private.rotation, None);
    // A seed removed after the first apply is no rotation.
    let unseeded = Model {
        current_passwords: Attr::Null,
        ..cfg.clone()
    };
    assert_eq!(
        decide(&early, &unseeded, &Private::default(), NOW).unwrap(),
        Resets::None
    );
    // A changed seed re-seeds that user only.
    let reseed = Model {
        current_passwords: seeds(&[("blue", "b0"), ("green", "from-support")]),
        ..cfg.clone()
    };
    assert_eq!(
        decide(&early, &reseed, &Private::default(), NOW).unwrap(),
        Resets::Steps(vec![Reset {
            user: "green".into(),
            login: Login::Seed
        }])
    );
    // Unknown seeds at plan time: the apply decides.
    let unknown = Model {
        current_passwords: Attr::Unknown,
        ..cfg
    };
    assert_eq!(
        decide(&early, &unknown, &Private::default(), NOW).unwrap(),
        Resets::Unknown
    );
}

fn user_block(user: &str, kind: BlockKind, with: LoginWith) -> UserBlock {
    UserBlock {
        user: user.into(),
        block: Block {
            kind,
            at: datetime!(2027-03-09 10:00:00 UTC).unix_timestamp(),
            login: Some(with),
            retry: None,
            retried: None,
        },
        seed: None,
    }
}

fn blocked(user: &str) -> Private {
    Private {
        blocks: vec![user_block(
            user,
            BlockKind::LoginRejected,
            LoginWith::Stored,
        )],
        ..Private::default()
    }
}

#[test]
fn a_block_refuses_only_a_rotation_that_logs_in_as_its_user() {
    let cfg = Model {
        rotation_period: s("7d"),
        ..config()
    };
    let prior = state(&cfg, "2027-03-01T00:00:00Z");
    // The standby (blue) is blocked and due: refused.
    let p = Model::plan(Some(&prior), &cfg, NOW, &blocked("blue"), &Known::default());
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
    // The active user (green) is blocked: the standby may still rotate, with a warning.
    let p = Model::plan(
        Some(&prior),
        &cfg,
        NOW,
        &blocked("green"),
        &Known::default(),
    );
    assert!(!p.diagnostics.has_errors(), "{:?}", p.diagnostics);
    assert_eq!(p.diagnostics.0[0].summary, "Password rotation is blocked");
    assert!(p.diagnostics.0[0].detail.contains("\"green\""));
    // Re-seeding blue lifts its block.
    let reseed = Model {
        current_passwords: seeds(&[("blue", "from-support"), ("green", "g0")]),
        ..cfg.clone()
    };
    let p = Model::plan(
        Some(&prior),
        &reseed,
        NOW,
        &blocked("blue"),
        &Known::default(),
    );
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        Some(Planned::Steps(vec![Reset {
            user: "blue".into(),
            login: Login::Seed
        }]))
    );
    // A block seen only in blocked_reason (a tainted object, refresh off) names its user.
    let shown = Model {
        blocked_reason: s(&blocked("blue").blocks[0].reason()),
        ..prior
    };
    let users = Users::default();
    Model::observe(&users, &shown, &Private::default());
    assert!(users.blocked("blue", &shown.seed("blue")).is_some());
    assert!(users.blocked("green", &shown.seed("green")).is_none());
    assert_eq!(
        users.known_password("green", &shown.seed("green")),
        Some(Secret::new("G1"))
    );
}

#[test]
fn a_create_plans_everything_unknown_and_hands_over_known_passwords() {
    let p = Model::plan(None, &config(), NOW, &Private::default(), &Known::default());
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.planned.id, s("blue,green"));
    assert!(p.planned.active_username.is_unknown());
    assert!(p.planned.blocked_reason.is_unknown());
    assert!(p.private.logins.is_empty());
    // The replacement of a tainted object whose first reset succeeded logs in as that user with its new password.
    let known = Known {
        passwords: [("blue".to_owned(), Secret::new("B1"))].into(),
        ..Known::default()
    };
    let no_blue_seed = Model {
        current_passwords: seeds(&[("green", "g0")]),
        ..config()
    };
    let p = Model::plan(None, &no_blue_seed, NOW, &Private::default(), &known);
    assert!(!p.diagnostics.has_errors(), "{:?}", p.diagnostics);
    assert_eq!(p.private.logins.get("blue"), Some(&Secret::new("B1")));
    assert_eq!(p.planned.blocked_reason, Attr::Null);
    // Without a seed or hand-off for a user: an error naming it.
    let p = Model::plan(
        None,
        &no_blue_seed,
        NOW,
        &Private::default(),
        &Known::default(),
    );
    assert_eq!(errors(&p.diagnostics), vec!["No password to log in with"]);
    assert!(p.diagnostics.0[0].detail.contains("\"blue\""));
}

#[test]
fn a_user_managed_by_both_resource_types_is_a_plan_error() {
    let users = Users::default();
    let single = password_rotation::Model {
        username: s("green"),
        current_password: secret("g0"),
        ..password_rotation::Model::default()
    };
    let p = password_rotation::plan_in_run(
        None,
        &single,
        NOW,
        &password_rotation::Private::default(),
        &users,
    );
    assert!(!p.diagnostics.has_errors());
    let p = plan_in_run(None, &config(), NOW, &Private::default(), &users);
    assert_eq!(
        errors(&p.diagnostics),
        vec!["Duplicate ThingSpace user name"]
    );
    assert!(p.diagnostics.0[0].detail.contains("\"green\""));
    // A destroy releases both users.
    let users = Users::default();
    let (_, d) = Model::plan_destroy(&state(&config(), "2027-03-01T00:00:00Z"), &[], &users);
    assert!(!d.has_errors(), "{d:?}");
    assert!(!d.0[0].detail.contains("G1") && !d.0[0].detail.contains("B1"));
    let p = password_rotation::plan_in_run(
        None,
        &single,
        NOW,
        &password_rotation::Private::default(),
        &users,
    );
    assert_eq!(
        errors(&p.diagnostics),
        vec!["ThingSpace user moves to another resource address"]
    );
}

#[tokio::test]
async fn an_apply_refuses_before_any_call() {
    let users = Users::default();
    let ctx = apply::ApplyContext {
        client: None,
        users: &users,
    };
    let cfg = Model {
        rotation_period: s("7d"),
        ..config()
    };
    let prior = state(&cfg, "2027-03-01T00:00:00Z");
    let mut planned = from_config(&cfg);
    planned.standby_username = s("green");
    let private = Private {
        rotation: Some(Planned::Steps(vec![Reset {
            user: "blue".into(),
            login: Login::Stored,
        }])),
        ..blocked("blue")
    };
    let out = Model::update(&ctx, &prior, &cfg, planned.clone(), private, || NOW).await;
    assert_eq!(
        errors(&out.diagnostics),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
    let kept = out.new_state.unwrap();
    assert_eq!(kept.active_password, prior.active_password);
    assert_eq!(kept.standby_password, prior.standby_password);
    assert!(
        kept.blocked_reason
            .known()
            .unwrap()
            .starts_with("User \"blue\"")
    );
    // A create checks both users before the first log-in: a missing seed for the second stops it.
    let cfg = Model {
        current_passwords: seeds(&[("blue", "b0")]),
        ..config()
    };
    let out = Model::create(&ctx, &cfg, from_config(&cfg), Private::default(), || NOW).await;
    assert_eq!(errors(&out.diagnostics), vec!["No password to log in with"]);
    assert!(out.new_state.is_none());
    let out = Model::create(
        &ctx,
        &config(),
        from_config(&config()),
        Private::default(),
        || NOW,
    )
    .await;
    assert_eq!(errors(&out.diagnostics), vec!["Provider not configured"]);
    // Delete makes no call, and says nothing: the destroy's plan warned.
    let out = Model::delete(&ctx, &prior);
    assert!(out.new_state.is_none());
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
}

#[test]
fn the_schema_marks_secrets_and_replacement() {
    let s = Model::schema();
    let names: Vec<&str> = s.requires_replace_attributes().collect();
    assert_eq!(names, vec!["usernames"]);
    let wo: Vec<&str> = s.write_only_attributes().collect();
    assert_eq!(wo, vec!["current_passwords_wo"]);
    for a in &s.attributes {
        let secret = matches!(
            a.name,
            "current_passwords" | "current_passwords_wo" | "active_password" | "standby_password"
        );
        assert_eq!(a.sensitive, secret, "{}", a.name);
    }
}

fn seeded(users: &[&str]) -> Resets {
    Resets::Steps(
        users
            .iter()
            .map(|u| Reset {
                user: (*u).to_owned(),
                login: Login::Seed,
            })
            .collect(),
    )
}

/// Which users an update resets: users that log in with a seed (no password in state, or re-seeded) or retry, standby
/// before active, else the standby alone when the schedule says so. A move of the shared version re-seeds only the
/// users that are blocked or have no password in state (issue 20): a user whose stored password works is never
/// logged in with its seed for it.
#[test]
fn decide_table() {
    let cfg = config();
    let base = state(&cfg, "2027-03-01T00:00:00Z");
    let version = |n: i64| Attr::Known(Number::from(n));
    let none = Private::default();
    let stored = |u: &str| Reset {
        user: u.into(),
        login: Login::Stored,
    };
    let unknown_blue = Private {
        blocks: vec![user_block(
            "blue",
            BlockKind::LoginUnknown,
            LoginWith::Stored,
        )],
        ..Private::default()
    };
    let both_blocked = Private {
        blocks: vec![
            user_block("blue", BlockKind::ResetUnknown, LoginWith::Stored),
            user_block("green", BlockKind::LoginUnknown, LoginWith::Stored),
        ],
        ..Private::default()
    };
    let locked_blue = Private {
        blocks: vec![user_block("blue", BlockKind::UserLocked, LoginWith::Stored)],
        ..Private::default()
    };
    let rows: Vec<(&str, Model, Model, Private, Resets)> = vec![
        (
            "nothing changed",
            base.clone(),
            cfg.clone(),
            none.clone(),
            Resets::None,
        ),
        (
            "imported: both users by usernames, with seeds",
            Model::import("blue,green").unwrap(),
            cfg.clone(),
            none.clone(),
            seeded(&["blue", "green"]),
        ),
        (
            "the standby has no password (a create that did not finish)",
            Model {
                standby_password: Attr::Null,
                ..base.clone()
            },
            cfg.clone(),
            none.clone(),
            seeded(&["blue"]),
        ),
        (
            "the active user's own entry changed: an explicit re-seed of that user",
            base.clone(),
            Model {
                current_passwords: seeds(&[("blue", "b0"), ("green", "g9")]),
                ..cfg.clone()
            },
            none.clone(),
            seeded(&["green"]),
        ),
        (
            "a new version re-seeds nobody whose stored password works",
            base.clone(),
            Model {
                current_passwords_wo_version: version(2),
                ..cfg.clone()
            },
            none.clone(),
            Resets::None,
        ),
        (
            "a new version re-seeds only the blocked user",
            base.clone(),
            Model {
                current_passwords_wo_version: version(2),
                ..cfg.clone()
            },
            blocked("blue"),
            seeded(&["blue"]),
        ),
        (
            "a new version re-seeds only the user without a password",
            Model {
                active_password: Attr::Null,
                ..base.clone()
            },
            Model {
                current_passwords_wo_version: version(2),
                ..cfg.clone()
            },
            none.clone(),
            seeded(&["green"]),
        ),
        (
            "both blocked: both re-seeded, in the order of the roles",
            Model {
                active_username: s("blue"),
                active_password: secret("B1"),
                standby_username: s("green"),
                standby_password: secret("G1"),
                ..base.clone()
            },
            Model {
                current_passwords_wo_version: version(2),
                ..cfg.clone()
            },
            both_blocked.clone(),
            seeded(&["green", "blue"]),
        ),
        (
            "a blocked user without a seed for it is not re-seeded by the version",
            base.clone(),
            Model {
                current_passwords: seeds(&[("green", "g0")]),
                current_passwords_wo_version: version(2),
                ..cfg.clone()
            },
            blocked("blue"),
            Resets::None,
        ),
        (
            "a moved retry: one log-in as the blocked user with its stored password",
            base.clone(),
            Model {
                retry_stored_password_version: version(1),
                ..cfg.clone()
            },
            unknown_blue.clone(),
            Resets::Steps(vec![stored("blue")]),
        ),
        (
            "a moved retry and a re-seed of the same user: the re-seed",
            base.clone(),
            Model {
                retry_stored_password_version: version(1),
                current_passwords_wo_version: version(2),
                ..cfg.clone()
            },
            unknown_blue.clone(),
            seeded(&["blue"]),
        ),
        (
            "a moved retry never lifts a locked user",
            base.clone(),
            Model {
                retry_stored_password_version: version(1),
                ..cfg.clone()
            },
            locked_blue,
            Resets::None,
        ),
        (
            "a moved retry with nothing blocked does nothing",
            base.clone(),
            Model {
                retry_stored_password_version: version(1),
                ..cfg.clone()
            },
            none.clone(),
            Resets::None,
        ),
        (
            "an empty seed is no re-seed",
            base.clone(),
            Model {
                current_passwords: seeds(&[("blue", ""), ("green", "g0")]),
                ..cfg.clone()
            },
            none.clone(),
            Resets::None,
        ),
        (
            "triggers changed: the standby, with its stored password",
            base.clone(),
            Model {
                triggers: Attr::Known([("n".to_owned(), s("1"))].into()),
                ..cfg.clone()
            },
            none.clone(),
            Resets::Steps(vec![stored("blue")]),
        ),
        (
            "a re-seed wins over the schedule",
            base.clone(),
            Model {
                triggers: Attr::Known([("n".to_owned(), s("1"))].into()),
                current_passwords: seeds(&[("blue", "b9"), ("green", "g0")]),
                ..cfg.clone()
            },
            none.clone(),
            seeded(&["blue"]),
        ),
        (
            "triggers unknown",
            base.clone(),
            Model {
                triggers: Attr::Unknown,
                ..cfg.clone()
            },
            none.clone(),
            Resets::Unknown,
        ),
        (
            "a seed unknown, nothing due",
            base.clone(),
            Model {
                current_passwords: Attr::Known(
                    [
                        ("blue".to_owned(), Attr::Unknown),
                        ("green".to_owned(), secret("g0")),
                    ]
                    .into(),
                ),
                ..cfg.clone()
            },
            none.clone(),
            Resets::Unknown,
        ),
        (
            "the version unknown",
            base.clone(),
            Model {
                current_passwords_wo_version: Attr::Unknown,
                ..cfg.clone()
            },
            none.clone(),
            Resets::Unknown,
        ),
        (
            "usernames unknown",
            base.clone(),
            Model {
                usernames: Attr::Unknown,
                ..cfg.clone()
            },
            none.clone(),
            Resets::Unknown,
        ),
    ];
    for (name, prior, config, private, want) in rows {
        assert_eq!(
            decide(&prior, &config, &private, NOW).unwrap(),
            want,
            "{name}"
        );
    }
    // A state whose roles are missing or name the same user falls back to the order of usernames.
    let names = ["blue".to_owned(), "green".to_owned()];
    let odd = Model {
        standby_username: s("green"),
        ..base.clone()
    };
    assert_eq!(super::decide::order(&odd, &names), names);
    assert_eq!(
        super::decide::order(&base, &names),
        ["blue".to_owned(), "green".to_owned()]
    );
    let swapped = Model {
        active_username: s("blue"),
        standby_username: s("green"),
        ..base
    };
    assert_eq!(
        super::decide::order(&swapped, &names),
        ["green".to_owned(), "blue".to_owned()]
    );
}

/// A block outlives its user's seed being removed and set again to the same value: only a different seed lifts it.
#[test]
fn a_block_is_lifted_only_by_a_different_seed_for_its_user() {
    let cfg = Model {
        rotation_period: s("7d"),
        ..config()
    };
    let prior = state(&cfg, "2027-03-01T00:00:00Z");
    let mut private = blocked("blue");
    private.blocks[0].seed = Some(prior.seed("blue"));
    // The state after an apply that removed blue's seed (the block carried, its seed with it).
    let seedless = Model {
        current_passwords: seeds(&[("green", "g0")]),
        ..prior.clone()
    };
    // The same seed set again: still blocked, and blue (the standby) is due, so the plan refuses.
    let p = Model::plan(Some(&seedless), &cfg, NOW, &private, &Known::default());
    assert_eq!(
        refused(&p),
        vec!["Rotation blocked to protect the user from ThingSpace's lock-out"]
    );
    // A different seed lifts it.
    let reseed = Model {
        current_passwords: seeds(&[("blue", "from-support"), ("green", "g0")]),
        ..cfg
    };
    let p = Model::plan(Some(&seedless), &reseed, NOW, &private, &Known::default());
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(
        p.private.rotation,
        Some(Planned::Steps(vec![Reset {
            user: "blue".into(),
            login: Login::Seed
        }]))
    );
    // The block travels to the apply, which judges it as the plan did.
    assert_eq!(p.private.blocks.len(), 1);
}

/// Whether `text` names one of the single resource's seed arguments (`current_password`, `current_password_wo`,
/// `current_password_wo_version`): a "current_password" not followed by an "s".
fn names_single_resource_arguments(text: &str) -> bool {
    text.match_indices("current_password")
        .any(|(i, m)| !text[i + m.len()..].starts_with('s'))
}

/// Issue 20, finding 3: every diagnostic and `blocked_reason` this resource can produce names its own arguments
/// (`current_passwords_wo["user"]`, `current_passwords_wo_version`), never the single resource's.
#[tokio::test]
async fn no_message_of_this_resource_names_the_single_resources_arguments() {
    use crate::thingspace::{ApiError, Call as CallStep, Error, ErrorShape, RotateError};
    let mut texts: Vec<String> = Vec::new();
    let mut collect = |d: &Diagnostics| {
        texts.extend(d.0.iter().map(|d| format!("{}: {}", d.summary, d.detail)));
    };
    // Every block kind and log-in, as blocked_reason and in the messages that quote it.
    let kinds = [
        BlockKind::LoginRejected,
        BlockKind::UserLocked,
        BlockKind::LoginUnknown,
        BlockKind::ResetUnknown,
        BlockKind::Unknown,
    ];
    let mut reasons = Vec::new();
    for kind in kinds {
        for with in [LoginWith::Stored, LoginWith::Seed] {
            let mut b = user_block("blue", kind, with);
            reasons.push(b.reason());
            b.block.retried = Some(BlockKind::ResetUnknown);
            reasons.push(b.reason());
        }
    }
    // Plans: blocked users (due and not), missing seeds, creates, destroys, validation.
    let cfg = Model {
        rotation_period: s("7d"),
        max_password_age: s("8d"),
        ..config()
    };
    let prior = state(&cfg, "2027-02-01T00:00:00Z");
    for kind in kinds {
        let private = Private {
            blocks: vec![user_block("blue", kind, LoginWith::Stored)],
            ..Private::default()
        };
        collect(&Model::plan(Some(&prior), &cfg, NOW, &private, &Known::default()).diagnostics);
        collect(&plan_in_run(Some(&prior), &cfg, NOW, &private, &Users::default()).diagnostics);
        let known = Known {
            blocks: [(
                "blue".to_owned(),
                crate::resources::block::Noted {
                    reason: user_block("blue", kind, LoginWith::Seed).reason(),
                    retry: None,
                    locked: false,
                },
            )]
            .into(),
            ..Known::default()
        };
        collect(&Model::plan(None, &config(), NOW, &Private::default(), &known).diagnostics);
    }
    let unseeded = Model {
        current_passwords: Attr::Null,
        ..config()
    };
    collect(&Model::plan(None, &unseeded, NOW, &Private::default(), &Known::default()).diagnostics);
    collect(&Model::plan_destroy(&prior, &[], &Users::default()).1);
    let bad = Model {
        usernames: Attr::Known(vec![s("blue"), s("blue")]),
        current_passwords: seeds(&[("red", "x")]),
        current_passwords_wo: seeds(&[("blue", "x")]),
        max_password_age: s("1d"),
        ..cfg.clone()
    };
    collect(&Model::validate(&bad, false));
    // Applies that refuse before any call.
    let users = Users::default();
    let ctx = apply::ApplyContext {
        client: None,
        users: &users,
    };
    let private = Private {
        rotation: Some(Planned::Steps(vec![Reset {
            user: "blue".into(),
            login: Login::Stored,
        }])),
        ..blocked("blue")
    };
    collect(
        &Model::update(&ctx, &prior, &cfg, from_config(&cfg), private, || NOW)
            .await
            .diagnostics,
    );
    collect(
        &Model::create(
            &ctx,
            &unseeded,
            from_config(&unseeded),
            Private::default(),
            || NOW,
        )
        .await
        .diagnostics,
    );
    // Every failure of a reset, with the block it leaves, and the partial-rotation error.
    let api = ApiError {
        status: 400,
        code: "REQUEST_FAILED.Login.UserLocked".into(),
        message: "locked".into(),
        shape: ErrorShape::M2m,
    };
    let failures = [
        RotateError::LoginRejected {
            username: "blue".into(),
            error: api.clone(),
        },
        RotateError::UserLocked {
            username: "blue".into(),
            error: api.clone(),
        },
        RotateError::LoginUnknown {
            username: "blue".into(),
            error: Error::Cancelled,
        },
        RotateError::ResetUnknown {
            username: "blue".into(),
            error: Error::Cancelled,
        },
        RotateError::ResetFailed {
            username: "blue".into(),
            error: Error::Cancelled,
        },
        RotateError::Cancelled {
            username: "blue".into(),
            step: CallStep::Reset,
        },
    ];
    for e in &failures {
        texts.push(e.to_string());
        for kind in kinds {
            texts.push(apply::failure_text(
                e,
                Some(&user_block("blue", kind, LoginWith::Stored)),
            ));
        }
    }
    texts.push(apply::partial_text());
    texts.extend(reasons);
    assert!(texts.len() > 60, "{}", texts.len());
    let wrong: Vec<&String> = texts
        .iter()
        .filter(|t| names_single_resource_arguments(t))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // And they do name this resource's own arguments, per user.
    assert!(
        texts
            .iter()
            .any(|t| t.contains("current_passwords_wo[\"blue\"]"))
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("current_passwords_wo_version"))
    );
    assert!(names_single_resource_arguments(
        "set current_password_wo (or current_password)"
    ));
    assert!(!names_single_resource_arguments(
        "current_passwords_wo[\"blue\"]"
    ));
}
