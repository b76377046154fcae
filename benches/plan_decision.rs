//! Criterion benches of the resource's pure plan decision: `rotation_due` and `plan` for the cases a plan of many
//! instances hits (nothing due, rotation due by time, a create). Run with `cargo bench --bench plan_decision`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // setup failures are bench failures, as in tests

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use thingspace_provider::plugin::cty::Attr;
use thingspace_provider::plugin::cty::Number;
use thingspace_provider::plugin::secret::Secret;
use thingspace_provider::resources::password_rotation::decide::{Due, Reason, rotation_due};
use thingspace_provider::resources::password_rotation::plan::Known;
use thingspace_provider::resources::password_rotation::{Model, Private};
use thingspace_provider::resources::rotating::Plans;
use time::macros::datetime;

/// The configuration of a typical instance: a write-only seed, a 90-day period and one trigger.
fn config() -> Model {
    let mut triggers = BTreeMap::new();
    triggers.insert("pipeline".to_owned(), Attr::Known("deploy-42".to_owned()));
    Model {
        username: Attr::Known("svc-ci".to_owned()),
        current_password_wo: Attr::Known(Secret::new("Seed-Passw0rd-1")),
        current_password_wo_version: Attr::Known(Number::from(1_i64)),
        rotation_period: Attr::Known("90d".to_owned()),
        triggers: Attr::Known(triggers),
        ..Model::default()
    }
}

/// The state that config leaves after a rotation on 2025-11-26.
fn prior() -> Model {
    let c = config();
    Model {
        id: c.username.clone(),
        // Write-only: never in state.
        current_password_wo: Attr::Null,
        rotate_after: Attr::Known("2026-02-24T10:00:00Z".to_owned()),
        password: Attr::Known(Secret::new("Xq7!mP2#vL9z")),
        rotated_at: Attr::Known("2025-11-26T10:00:00Z".to_owned()),
        ..c
    }
}

fn decision(c: &mut Criterion) {
    let config = config();
    let prior = prior();
    let before = datetime!(2025-12-01 00:00 UTC);
    let after = datetime!(2026-03-01 00:00 UTC);
    assert_eq!(
        rotation_due(&prior, &config, before).expect("valid"),
        Due::No
    );
    assert_eq!(
        rotation_due(&prior, &config, after).expect("valid"),
        Due::Yes(Reason::RotateAfterPassed)
    );
    let none = Private::default();
    let known = Known::default();
    assert_eq!(
        Model::plan(Some(&prior), &config, before, &none, &known)
            .private
            .rotation,
        None
    );

    let mut g = c.benchmark_group("plan_decision");
    g.bench_function("rotation_due/not_due", |b| {
        b.iter(|| rotation_due(black_box(&prior), black_box(&config), black_box(before)))
    });
    g.bench_function("rotation_due/period_passed", |b| {
        b.iter(|| rotation_due(black_box(&prior), black_box(&config), black_box(after)))
    });
    // The common case of `plan -refresh=false` on a settled state: no-op.
    g.bench_function("plan/no_op", |b| {
        b.iter(|| {
            Model::plan(
                Some(black_box(&prior)),
                black_box(&config),
                before,
                &none,
                &known,
            )
        })
    });
    g.bench_function("plan/rotate", |b| {
        b.iter(|| {
            Model::plan(
                Some(black_box(&prior)),
                black_box(&config),
                after,
                &none,
                &known,
            )
        })
    });
    assert!(
        Model::plan(None, &config, before, &none, &known)
            .diagnostics
            .is_empty()
    );
    g.bench_function("plan/create", |b| {
        b.iter(|| Model::plan(None, black_box(&config), before, &none, &known))
    });
    g.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
