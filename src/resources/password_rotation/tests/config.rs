//! Configuration: validation, import, state upgrades and the schema.

use super::*;
use crate::plugin::adapter::upgrade_state;
use crate::resources::rotating::Rotating;
use std::sync::Arc;

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
        let d = Model::validate(&model, true);
        assert_eq!(d.0.len(), 1, "{attr}: {d:?}");
        assert!(d.has_errors());
        assert_eq!(d.0[0].attribute, at(attr), "{attr}");
        assert!(
            !d.0[0].detail.chars().any(|c| c.is_control()),
            "user text is escaped: {:?}",
            d.0[0].detail
        );
    }
    assert!(Model::validate(&config(), true).is_empty());
    assert!(
        Model::validate(
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
    assert!(Model::validate(&c, true).is_empty());
    let d = Model::validate(&c, false);
    assert!(d.has_errors());
    assert!(d.0[0].summary.contains("1.11"));
}

#[test]
fn import_and_upgrade_make_no_rotation_by_themselves() {
    let m = Model::import("svc-provisioning").unwrap();
    assert_eq!(m.id, s("svc-provisioning"));
    assert!(m.password.is_null());
    assert!(Model::import(" ").is_err());
    let bad = Model::import("svc\u{1b}]0;x\u{7}").unwrap_err();
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
    // Through the plugin's one path for stored states: read with today's schema, then the resource's upgrade.
    let rotation = PasswordRotation::new(Arc::default());
    let upgrade = |version, json: &serde_json::Value| {
        upgrade_state(&rotation, version, &serde_json::to_vec(json).unwrap())
    };
    let up = upgrade(0, &v0).unwrap().unwrap();
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
fn schema_has_blocked_reason_computed() {
    let schema = Model::schema();
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
