//! Fuzzes the `DynamicValue` codec with the resource's state type: whatever decodes must re-encode, and
//! the re-encoding must decode to the same value. Run with `cargo +nightly fuzz run dynamic_value`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use thingspace_provider::plugin::cty::{Type, decode_json, decode_msgpack, encode_msgpack};

/// `thingspace_password_rotation`'s own state type (from its schema, so it cannot drift), plus a `dynamic`
/// attribute so the fuzzer also reaches type-JSON parsing inside msgpack.
fn resource_type() -> Type {
    match <thingspace_provider::resources::password_rotation::Model as thingspace_provider::resources::rotating::Rotating>::schema().value_type() {
        Type::Object(mut attrs) => {
            attrs.insert("extra".to_string(), Type::Dynamic);
            Type::Object(attrs)
        }
        other => other,
    }
}

fn check(
    ty: &Type,
    decoded: Result<thingspace_provider::plugin::cty::Value, impl std::fmt::Debug>,
) {
    let Ok(v) = decoded else { return };
    let bytes = match encode_msgpack(&v, ty) {
        Ok(b) => b,
        Err(e) => panic!("decoded value does not re-encode: {e}"),
    };
    match decode_msgpack(&bytes, ty) {
        Ok(again) => assert!(again == v, "re-encoded value decodes differently"),
        Err(e) => panic!("re-encoded value does not decode: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the type so one corpus covers the resource and free-form dynamic values.
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let ty = if selector & 1 == 0 {
        resource_type()
    } else {
        Type::Dynamic
    };
    check(&ty, decode_msgpack(rest, &ty));
    check(&ty, decode_json(rest, &ty));
});
