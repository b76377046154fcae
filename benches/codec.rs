//! Criterion benches of the `DynamicValue` codec: msgpack decode/encode and the serde bridge to the typed model, on
//! the resource's state object and on a 1,000-element `map(string)`.
//!
//! Terraform sends a config, a prior state and a proposed state to every `PlanResourceChange` and gets a planned
//! state back, so a plan of N instances runs these paths several times per instance. Run with
//! `cargo bench --bench codec`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // setup failures are bench failures, as in tests

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use thingspace_provider::plugin::cty::{Attr, from_value, to_value};
use thingspace_provider::plugin::cty::{Number, Type, Value, decode_msgpack, encode_msgpack};
use thingspace_provider::plugin::secret::Secret;
use thingspace_provider::resources::password_rotation::Model;
use thingspace_provider::resources::rotating::Rotating;
use thingspace_provider::resources::schedule::RotationWindow;

/// A state as the resource stores it after a rotation, with every kind of attribute populated (a trigger map, a
/// number, sensitive strings) so no codec path is skipped because its attribute is null.
fn state_model() -> Model {
    let mut triggers = BTreeMap::new();
    triggers.insert("pipeline".to_owned(), Attr::Known("deploy-42".to_owned()));
    triggers.insert("owner".to_owned(), Attr::Known("platform-team".to_owned()));
    Model {
        id: Attr::Known("svc-ci".to_owned()),
        username: Attr::Known("svc-ci".to_owned()),
        current_password: Attr::Null,
        current_password_wo: Attr::Null,
        current_password_wo_version: Attr::Known(Number::from(3_i64)),
        rotate_after: Attr::Known("2026-02-24T10:00:00Z".to_owned()),
        rotation_period: Attr::Known("90d".to_owned()),
        triggers: Attr::Known(triggers),
        rotation_window: Attr::Known(RotationWindow {
            days: Attr::Known(vec![
                Attr::Known("mon".to_owned()),
                Attr::Known("thu".to_owned()),
            ]),
            start: Attr::Known("02:00".to_owned()),
            end: Attr::Known("05:00".to_owned()),
        }),
        rotation_jitter: Attr::Known("14d".to_owned()),
        next_window_start: Attr::Known("2026-02-26T02:00:00Z".to_owned()),
        password: Attr::Known(Secret::new("Xq7!mP2#vL9z")),
        rotated_at: Attr::Known("2025-11-26T10:00:00Z".to_owned()),
        blocked_reason: Attr::Null,
        max_password_age: Attr::Known("90d".to_owned()),
        password_age_deadline: Attr::Known("2026-02-24T10:00:00Z".to_owned()),
        retry_stored_password_version: Attr::Known(Number::from(1_i64)),
        verify_new_password: Attr::Known(true),
        verified_at: Attr::Known("2025-11-26T10:00:00Z".to_owned()),
    }
}

fn state_object(c: &mut Criterion) {
    let ty = Model::schema().value_type();
    let model = state_model();
    let value = to_value(&model, &ty).expect("model to value");
    let bytes = encode_msgpack(&value, &ty).expect("encode state");
    assert_eq!(
        decode_msgpack(&bytes, &ty).expect("decode state"),
        value,
        "the bench input round-trips"
    );

    let mut g = c.benchmark_group("state_object");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("decode_msgpack", |b| {
        b.iter(|| decode_msgpack(black_box(&bytes), &ty))
    });
    g.bench_function("encode_msgpack", |b| {
        b.iter(|| encode_msgpack(black_box(&value), &ty))
    });
    g.bench_function("from_value", |b| {
        b.iter(|| from_value::<Model>(black_box(&value)))
    });
    g.bench_function("to_value", |b| b.iter(|| to_value(black_box(&model), &ty)));
    // What one DynamicValue costs the service end to end: bytes in to a typed model, and back out.
    g.bench_function("bytes_to_model", |b| {
        b.iter(|| {
            let v = decode_msgpack(black_box(&bytes), &ty).expect("decode");
            from_value::<Model>(&v)
        })
    });
    g.bench_function("model_to_bytes", |b| {
        b.iter(|| {
            let v = to_value(black_box(&model), &ty).expect("to value");
            encode_msgpack(&v, &ty)
        })
    });
    g.finish();
}

fn map_1000(c: &mut Criterion) {
    let ty = Type::Map(Box::new(Type::String));
    let map: BTreeMap<String, String> = (0..1000)
        .map(|i| (format!("key-{i:04}"), format!("value number {i}")))
        .collect();
    let value = to_value(&map, &ty).expect("map to value");
    let Value::Map(entries) = &value else {
        panic!("a map(string) became {}", value.kind_name());
    };
    assert_eq!(entries.len(), 1000);
    let bytes = encode_msgpack(&value, &ty).expect("encode map");
    assert_eq!(decode_msgpack(&bytes, &ty).expect("decode map"), value);

    let mut g = c.benchmark_group("map_1000");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("decode_msgpack", |b| {
        b.iter(|| decode_msgpack(black_box(&bytes), &ty))
    });
    g.bench_function("encode_msgpack", |b| {
        b.iter(|| encode_msgpack(black_box(&value), &ty))
    });
    g.bench_function("from_value", |b| {
        b.iter(|| from_value::<BTreeMap<String, String>>(black_box(&value)))
    });
    g.bench_function("to_value", |b| b.iter(|| to_value(black_box(&map), &ty)));
    g.finish();
}

criterion_group!(benches, state_object, map_1000);
criterion_main!(benches);
