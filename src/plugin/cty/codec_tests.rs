//! Tests of the msgpack and JSON value codecs: exact bytes, round trips, and hostile input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};

use super::*;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn num(s: &str) -> Value {
    Value::Number(s.parse().unwrap())
}

fn s(v: &str) -> Value {
    Value::from(v)
}

/// The resource's shape, as the issue describes it.
fn resource_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("username", Type::String),
        ("password", Type::String),
        ("current_password_wo_version", Type::Number),
        ("triggers", Type::map(Type::String)),
        ("rotate_after", Type::String),
    ])
}

fn resource_value() -> Value {
    obj(&[
        ("id", s("alice")),
        ("username", s("alice")),
        ("password", Value::Unknown),
        ("current_password_wo_version", num("3")),
        ("triggers", map(&[("a", s("1")), ("b", Value::Null)])),
        ("rotate_after", Value::Null),
    ])
}

fn round_trip(v: &Value, ty: &Type) -> Vec<u8> {
    let bytes = encode_msgpack(v, ty).unwrap_or_else(|e| panic!("encode {v:?}: {e}"));
    let back = decode_msgpack(&bytes, ty).unwrap_or_else(|e| panic!("decode {v:?}: {e}"));
    assert_eq!(&back, v, "round trip through {bytes:02x?}");
    bytes
}

#[test]
fn every_type_round_trips_with_the_bytes_cty_writes() {
    let cases: Vec<(Type, Value, Vec<u8>)> = vec![
        (Type::String, s("hi"), vec![0xa2, b'h', b'i']),
        (Type::Bool, Value::Bool(true), vec![0xc3]),
        (Type::Bool, Value::Bool(false), vec![0xc2]),
        (Type::Number, num("5"), vec![0x05]),
        (
            Type::Number,
            num("1.5"),
            [&[0xcb][..], &1.5f64.to_be_bytes()].concat(),
        ),
        (
            Type::list(Type::String),
            Value::List(vec![s("a"), s("b")]),
            vec![0x92, 0xa1, b'a', 0xa1, b'b'],
        ),
        (
            Type::set(Type::Number),
            Value::Set(vec![num("1"), num("2")]),
            vec![0x92, 0x01, 0x02],
        ),
        (
            Type::map(Type::Bool),
            map(&[("k", Value::Bool(true))]),
            vec![0x81, 0xa1, b'k', 0xc3],
        ),
        (
            Type::object([("b", Type::Number), ("a", Type::String)]),
            obj(&[("a", s("x")), ("b", num("1"))]),
            // Attributes in sorted order.
            vec![0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0x01],
        ),
        (
            Type::Tuple(vec![Type::String, Type::Bool]),
            Value::Tuple(vec![s("x"), Value::Bool(false)]),
            vec![0x92, 0xa1, b'x', 0xc2],
        ),
        (
            Type::Dynamic,
            s("x"),
            [&[0x92, 0xc4, 8][..], b"\"string\"", &[0xa1, b'x']].concat(),
        ),
        (Type::String, Value::Null, vec![0xc0]),
        (Type::String, Value::Unknown, vec![0xd4, 0, 0]),
        (Type::Dynamic, Value::Null, vec![0xc0]),
        (Type::Dynamic, Value::Unknown, vec![0xd4, 0, 0]),
        (Type::list(Type::String), Value::List(vec![]), vec![0x90]),
        (
            Type::map(Type::String),
            Value::Map(BTreeMap::new()),
            vec![0x80],
        ),
    ];
    for (ty, v, want) in cases {
        let got = round_trip(&v, &ty);
        assert_eq!(got, want, "{ty:?} {v:?}");
    }
}

#[test]
fn dynamic_values_carry_their_type() {
    let v = obj(&[
        ("a", Value::List(vec![s("x"), Value::Null])),
        ("n", Value::Null),
    ]);
    let bytes = round_trip(&v, &Type::Dynamic);
    let ty_json = br#"["object",{"a":["list","string"],"n":"dynamic"}]"#;
    assert_eq!(&bytes[..3], &[0x92, 0xc4, ty_json.len() as u8]);
    assert_eq!(&bytes[3..3 + ty_json.len()], ty_json);
    // Nested dynamic attribute inside a typed object.
    let ty = Type::object([("d", Type::Dynamic), ("s", Type::String)]);
    round_trip(&obj(&[("d", num("42")), ("s", s("y"))]), &ty);
    round_trip(&obj(&[("d", Value::Unknown), ("s", Value::Null)]), &ty);
    round_trip(
        &obj(&[
            ("d", Value::Tuple(vec![Value::Bool(true), s("z")])),
            ("s", s("")),
        ]),
        &ty,
    );
    // A type given as str rather than bin is accepted, as cty's decoder does.
    let mut as_str = vec![0x92, 0xa8];
    as_str.extend_from_slice(b"\"number\"");
    as_str.push(0x07);
    assert_eq!(decode_msgpack(&as_str, &Type::Dynamic).unwrap(), num("7"));
}

#[test]
fn null_and_unknown_round_trip_nested() {
    let ty = resource_type();
    round_trip(&resource_value(), &ty);
    round_trip(&Value::Null, &ty);
    round_trip(&Value::Unknown, &ty);
    let mut all_unknown = BTreeMap::new();
    if let Type::Object(attrs) = &ty {
        for k in attrs.keys() {
            all_unknown.insert(k.clone(), Value::Unknown);
        }
    }
    round_trip(&Value::Object(all_unknown), &ty);
    let lt = Type::list(Type::map(Type::String));
    round_trip(
        &Value::List(vec![
            Value::Unknown,
            Value::Null,
            map(&[("k", Value::Unknown)]),
        ]),
        &lt,
    );
}

#[test]
fn refined_unknowns_decode_as_unknown() {
    // What Terraform 1.6+ sends for a not-null string known to start with "ami-": ext 12 with
    // {1: false, 2: "ami-"}.
    let payload = [0x82, 0x01, 0xc2, 0x02, 0xa4, b'a', b'm', b'i', b'-'];
    let mut refined_str = vec![0xc7, payload.len() as u8, 12];
    refined_str.extend_from_slice(&payload);
    assert_eq!(
        decode_msgpack(&refined_str, &Type::String).unwrap(),
        Value::Unknown
    );

    // A number in [0, 10): {1: false, 3: [0, true], 4: [10, false]}.
    let payload = [
        0x83, 0x01, 0xc2, 0x03, 0x92, 0x00, 0xc3, 0x04, 0x92, 0x0a, 0xc2,
    ];
    let mut refined_num = vec![0xc7, payload.len() as u8, 12];
    refined_num.extend_from_slice(&payload);

    // Inside an object beside known attributes: the whole thing decodes and the rest is intact.
    let ty = Type::object([
        ("a", Type::String),
        ("n", Type::Number),
        ("z", Type::String),
    ]);
    let mut bytes = vec![0x83, 0xa1, b'a'];
    bytes.extend_from_slice(&refined_str);
    bytes.extend_from_slice(&[0xa1, b'n']);
    bytes.extend_from_slice(&refined_num);
    bytes.extend_from_slice(&[0xa1, b'z', 0xa2, b'o', b'k']);
    let v = decode_msgpack(&bytes, &ty).unwrap();
    assert_eq!(
        v,
        obj(&[("a", Value::Unknown), ("n", Value::Unknown), ("z", s("ok"))])
    );
    // We answer with a plain unknown.
    assert_eq!(
        encode_msgpack(&Value::Unknown, &Type::String).unwrap(),
        vec![0xd4, 0, 0]
    );

    // A collection-length refinement in fixext4 form, {5: 1}, plus a padding byte cty ignores.
    let fixed = [0xd6, 12, 0x81, 0x05, 0x01, 0x00];
    assert_eq!(
        decode_msgpack(&fixed, &Type::list(Type::String)).unwrap(),
        Value::Unknown
    );
    // A fixext4 with only three payload bytes is truncated.
    assert!(decode_msgpack(&[0xd6, 12, 0x82, 0x01, 0xc2], &Type::String).is_err());

    // Other extension types are unknown too, whatever their payload.
    assert_eq!(
        decode_msgpack(&[0xd5, 3, 1, 2], &Type::Bool).unwrap(),
        Value::Unknown
    );
    // A refinement payload that is not a map, or is malformed, is refused.
    assert!(decode_msgpack(&[0xd5, 12, 0xa1, b'x'], &Type::String).is_err());
    assert!(decode_msgpack(&[0xd5, 12, 0x82, 0x01], &Type::String).is_err());
}

#[test]
fn refinement_payload_over_one_kib_is_refused() {
    let mut bytes = vec![0xc8, 0x04, 0x01, 12, 0x80];
    bytes.resize(5 + 0x400, 0);
    assert!(decode_msgpack(&bytes, &Type::String).is_err());
}

#[test]
fn numbers_keep_every_digit() {
    // 2^53 + 1 as msgpack uint64, int64 and a decimal string.
    let big = 9_007_199_254_740_993u64;
    let mut as_u64 = vec![0xcf];
    as_u64.extend_from_slice(&big.to_be_bytes());
    let mut as_i64 = vec![0xd3];
    as_i64.extend_from_slice(&(big as i64).to_be_bytes());
    let as_str = [&[0xb0][..], b"9007199254740993"].concat();
    for bytes in [&as_u64, &as_i64, &as_str] {
        let v = decode_msgpack(bytes, &Type::Number).unwrap();
        assert_eq!(v, num("9007199254740993"));
        assert_eq!(
            encode_msgpack(&v, &Type::Number).unwrap(),
            as_u64,
            "written as a compact uint64"
        );
    }

    // 0.1 as cty sends it (a string, because float64 cannot hold it) comes back as the same string.
    let tenth = [0xa3, b'0', b'.', b'1'];
    let v = decode_msgpack(&tenth, &Type::Number).unwrap();
    assert_eq!(v, num("0.1"));
    assert_eq!(encode_msgpack(&v, &Type::Number).unwrap(), tenth);

    // 0.1 as a float64 is a different number, and comes back as the same float64.
    let mut f = vec![0xcb];
    f.extend_from_slice(&0.1f64.to_be_bytes());
    let v = decode_msgpack(&f, &Type::Number).unwrap();
    assert_ne!(v, num("0.1"));
    assert_eq!(encode_msgpack(&v, &Type::Number).unwrap(), f);

    // float32 decodes to its exact value.
    let mut f32b = vec![0xca];
    f32b.extend_from_slice(&0.5f32.to_be_bytes());
    assert_eq!(decode_msgpack(&f32b, &Type::Number).unwrap(), num("0.5"));

    // A long decimal string survives byte for byte.
    let text = "-123456789012345678901234567890.098765432109876543210987654321";
    let mut bytes = vec![0xd9, text.len() as u8];
    bytes.extend_from_slice(text.as_bytes());
    let v = decode_msgpack(&bytes, &Type::Number).unwrap();
    assert_eq!(encode_msgpack(&v, &Type::Number).unwrap(), bytes);

    // u64::MAX: not an i64 and not exact as a float64, so cty writes a string.
    let v = Value::Number(Number::from(u64::MAX));
    let enc = encode_msgpack(&v, &Type::Number).unwrap();
    assert_eq!(enc, [&[0xb4][..], b"18446744073709551615"].concat());
    assert_eq!(decode_msgpack(&enc, &Type::Number).unwrap(), v);
    // 2^63 is exact as a float64, so cty writes a float64.
    let v = num("9223372036854775808");
    assert_eq!(
        encode_msgpack(&v, &Type::Number).unwrap(),
        [&[0xcb][..], &9.223_372_036_854_776e18_f64.to_be_bytes()].concat()
    );
}

#[test]
fn integers_of_every_msgpack_width_decode_and_encode_compactly() {
    let cases: Vec<(i64, Vec<u8>)> = vec![
        (0, vec![0x00]),
        (127, vec![0x7f]),
        (128, vec![0xcc, 0x80]),
        (255, vec![0xcc, 0xff]),
        (256, vec![0xcd, 0x01, 0x00]),
        (65535, vec![0xcd, 0xff, 0xff]),
        (65536, vec![0xce, 0, 1, 0, 0]),
        (4_294_967_296, vec![0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
        (-1, vec![0xff]),
        (-32, vec![0xe0]),
        (-33, vec![0xd0, 0xdf]),
        (-128, vec![0xd0, 0x80]),
        (-129, vec![0xd1, 0xff, 0x7f]),
        (-32768, vec![0xd1, 0x80, 0x00]),
        (-32769, vec![0xd2, 0xff, 0xff, 0x7f, 0xff]),
        (i64::from(i32::MIN), vec![0xd2, 0x80, 0, 0, 0]),
        (
            i64::from(i32::MIN) - 1,
            vec![0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff],
        ),
        (i64::MIN, vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        (
            i64::MAX,
            vec![0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
    ];
    for (i, bytes) in cases {
        let v = Value::Number(Number::from(i));
        assert_eq!(encode_msgpack(&v, &Type::Number).unwrap(), bytes, "{i}");
        assert_eq!(decode_msgpack(&bytes, &Type::Number).unwrap(), v, "{i}");
    }
    // Wide encodings of small values (other encoders write these) decode to the same numbers.
    for (bytes, want) in [
        (vec![0xd0, 0xff], -1i64),
        (vec![0xd1, 0xff, 0xff], -1),
        (vec![0xd2, 0xff, 0xff, 0xff, 0xff], -1),
        (
            vec![0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            -1,
        ),
        (vec![0xcc, 0x05], 5),
        (vec![0xcd, 0x00, 0x05], 5),
        (vec![0xce, 0, 0, 0, 5], 5),
        (vec![0xcf, 0, 0, 0, 0, 0, 0, 0, 5], 5),
        (vec![0xd0, 0x05], 5),
    ] {
        assert_eq!(
            decode_msgpack(&bytes, &Type::Number).unwrap(),
            Value::Number(Number::from(want))
        );
    }
}

#[test]
fn non_finite_and_malformed_numbers_are_errors() {
    let mut nan = vec![0xcb];
    nan.extend_from_slice(&f64::NAN.to_be_bytes());
    assert!(decode_msgpack(&nan, &Type::Number).is_err());
    let mut inf = vec![0xca];
    inf.extend_from_slice(&f32::INFINITY.to_be_bytes());
    assert!(decode_msgpack(&inf, &Type::Number).is_err());
    assert!(decode_msgpack(&[0xa3, b'a', b'b', b'c'], &Type::Number).is_err());
    assert!(decode_msgpack(&[0xa5, b'1', b'e', b'9', b'9', b'9'], &Type::Number).is_ok());
    let huge = b"1e99999999";
    let mut bytes = vec![0xa0 | huge.len() as u8];
    bytes.extend_from_slice(huge);
    let err = decode_msgpack(&bytes, &Type::Number).unwrap_err();
    assert!(err.message().contains("range"), "{err}");
}

#[test]
fn nesting_beyond_the_limit_is_an_error_not_a_stack_overflow() {
    // 100 nested lists against a matching type.
    let mut ty = Type::String;
    for _ in 0..100 {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; 100];
    bytes.extend_from_slice(&[0xa1, b'x']);
    let err = decode_msgpack(&bytes, &ty).unwrap_err();
    assert!(err.message().contains("nested deeper"), "{err}");
    assert_eq!(err.path().len(), MAX_DEPTH + 1);

    // Exactly at the limit is fine.
    let mut ty = Type::String;
    for _ in 0..MAX_DEPTH {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; MAX_DEPTH];
    bytes.extend_from_slice(&[0xa1, b'x']);
    let v = decode_msgpack(&bytes, &ty).unwrap();
    assert_eq!(encode_msgpack(&v, &ty).unwrap(), bytes);

    // Dynamic wrappers that each declare "dynamic" again: unbounded in the input, bounded in us.
    let mut bytes = Vec::new();
    for _ in 0..100_000 {
        bytes.extend_from_slice(&[0x92, 0xc4, 9]);
        bytes.extend_from_slice(b"\"dynamic\"");
    }
    bytes.push(0xc0);
    assert!(decode_msgpack(&bytes, &Type::Dynamic).is_err());

    // A deeply nested type description inside a dynamic value.
    let deep_type = format!(
        "{}\"string\"{}",
        "[\"list\",".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut bytes = vec![0x92, 0xc6];
    bytes.extend_from_slice(&(deep_type.len() as u32).to_be_bytes());
    bytes.extend_from_slice(deep_type.as_bytes());
    bytes.push(0x90);
    assert!(decode_msgpack(&bytes, &Type::Dynamic).is_err());

    // JSON, too.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(decode_json(deep.as_bytes(), &Type::list(Type::String)).is_err());
    let mut ty = Type::String;
    for _ in 0..100 {
        ty = Type::list(ty);
    }
    let deep = format!("{}\"x\"{}", "[".repeat(100), "]".repeat(100));
    assert!(decode_json(deep.as_bytes(), &ty).is_err());

    // Encoding a value deeper than the limit is refused as well.
    let mut v = s("x");
    for _ in 0..100 {
        v = Value::List(vec![v]);
    }
    assert!(encode_msgpack(&v, &ty).is_err());
    assert!(encode_msgpack(&v, &Type::Dynamic).is_err());
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let ty = Type::object([
        ("d", Type::Dynamic),
        ("l", Type::list(Type::Number)),
        ("m", Type::map(Type::String)),
        ("t", Type::Tuple(vec![Type::Bool, Type::String])),
    ]);
    let v = obj(&[
        ("d", obj(&[("x", num("1.25"))])),
        (
            "l",
            Value::List(vec![
                num("1"),
                num("-70000"),
                num("0.1"),
                num("123456789012345678901234567890"),
            ]),
        ),
        ("m", map(&[("k", s(&"long".repeat(20)))])),
        ("t", Value::Tuple(vec![Value::Bool(true), Value::Unknown])),
    ]);
    let full = round_trip(&v, &ty);
    for cut in 0..full.len() {
        assert!(
            decode_msgpack(&full[..cut], &ty).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
    let full = round_trip(&resource_value(), &resource_type());
    for cut in 0..full.len() {
        assert!(
            decode_msgpack(&full[..cut], &resource_type()).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
    // And trailing garbage is refused.
    let mut extra = full.clone();
    extra.push(0xc0);
    assert!(decode_msgpack(&extra, &resource_type()).is_err());
}

#[test]
fn wrong_types_name_the_path() {
    let ty = resource_type();
    let mut v = resource_value();
    if let Value::Object(m) = &mut v {
        m.insert("triggers".into(), map(&[("x", Value::Bool(true))]));
    }
    // Encoding refuses it...
    let err = encode_msgpack(&v, &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"at .triggers["x"]: expected string, got bool"#
    );
    // ...and so does decoding the same shape from the wire.
    let bytes = encode_msgpack(
        &v,
        &Type::object([
            ("id", Type::String),
            ("username", Type::String),
            ("password", Type::String),
            ("current_password_wo_version", Type::Number),
            ("triggers", Type::map(Type::Bool)),
            ("rotate_after", Type::String),
        ]),
    )
    .unwrap();
    let err = decode_msgpack(&bytes, &ty).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"at .triggers["x"]: expected string, got bool"#
    );
    assert_eq!(
        err.path(),
        &[PathStep::Attr("triggers".into()), PathStep::Key("x".into())]
    );

    let lt = Type::list(Type::Number);
    let err = decode_msgpack(&[0x92, 0x01, 0xa1, b'x'], &lt).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at [1]: invalid number string: not a decimal number"
    );
    let err = decode_msgpack(&[0x92, 0x01, 0xc3], &lt).unwrap_err();
    assert_eq!(err.to_string(), "at [1]: expected number, got bool");
    let err = decode_msgpack(&[0xa1, b'x'], &lt).unwrap_err();
    assert_eq!(err.to_string(), "expected list of number, got string");
    let err = encode_msgpack(&s("x"), &Type::Bool).unwrap_err();
    assert_eq!(err.to_string(), "expected bool, got string");
}

#[test]
fn objects_must_carry_exactly_their_attributes() {
    let ty = Type::object([("a", Type::String), ("b", Type::String)]);
    // Missing "b".
    let err = decode_msgpack(&[0x81, 0xa1, b'a', 0xc0], &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .b: missing attribute");
    // Extra "c".
    let err = decode_msgpack(
        &[0x83, 0xa1, b'a', 0xc0, 0xa1, b'b', 0xc0, 0xa1, b'c', 0xc0],
        &ty,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "at .c: unsupported attribute");
    // Duplicate "a" standing in for "b".
    let err = decode_msgpack(&[0x82, 0xa1, b'a', 0xc0, 0xa1, b'a', 0xc0], &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .a: duplicate attribute");
    // Non-string attribute name.
    assert!(decode_msgpack(&[0x82, 0x01, 0xc0, 0xa1, b'b', 0xc0], &ty).is_err());
    // Encoding fills in absent attributes with null and refuses unknown ones.
    let enc = encode_msgpack(&obj(&[("a", s("x"))]), &ty).unwrap();
    assert_eq!(enc, vec![0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc0]);
    let err = encode_msgpack(&obj(&[("zz", s("x"))]), &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .zz: unsupported attribute");
    // Tuples must have their exact length.
    let tt = Type::Tuple(vec![Type::String]);
    assert!(decode_msgpack(&[0x92, 0xc0, 0xc0], &tt).is_err());
    assert!(encode_msgpack(&Value::Tuple(vec![]), &tt).is_err());
}

#[test]
fn map_keys_may_arrive_unsorted_but_not_twice() {
    let ty = Type::map(Type::String);
    let unsorted = [0x82, 0xa1, b'b', 0xa1, b'2', 0xa1, b'a', 0xa1, b'1'];
    let v = decode_msgpack(&unsorted, &ty).unwrap();
    assert_eq!(v, map(&[("a", s("1")), ("b", s("2"))]));
    // Re-encoded in sorted order, as cty writes maps.
    assert_eq!(
        encode_msgpack(&v, &ty).unwrap(),
        [0x82, 0xa1, b'a', 0xa1, b'1', 0xa1, b'b', 0xa1, b'2']
    );
    let dup = [
        0x83, 0xa1, b'k', 0xa1, b'x', 0xa1, b'a', 0xc0, 0xa1, b'k', 0xa1, b'y',
    ];
    let err = decode_msgpack(&dup, &ty).unwrap_err();
    assert_eq!(err.to_string(), r#"at ["k"]: duplicate map key"#);
    let adjacent = [0x82, 0xa1, b'k', 0xa1, b'x', 0xa1, b'k', 0xa1, b'y'];
    assert!(decode_msgpack(&adjacent, &ty).is_err());
}

#[test]
fn huge_declared_lengths_fail_without_allocating() {
    // Each claims 2^32 - 1 elements in a handful of bytes. The vector reserve is capped, so these
    // return at end of input instead of asking for hundreds of gigabytes.
    let ty = Type::list(Type::String);
    let err = decode_msgpack(&[0xdd, 0xff, 0xff, 0xff, 0xff], &ty).unwrap_err();
    assert!(err.message().contains("ends early"), "{err}");
    let err = decode_msgpack(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0xa1, b'x'], &ty).unwrap_err();
    assert_eq!(err.path(), &[PathStep::Index(1)]);
    assert!(decode_msgpack(&[0xdf, 0xff, 0xff, 0xff, 0xff], &Type::map(Type::String)).is_err());
    assert!(decode_msgpack(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'x'], &Type::String).is_err());
    assert!(decode_msgpack(&[0xc9, 0xff, 0xff, 0xff, 0xff, 12], &Type::String).is_err());
    // Skipping inside a refinement map with a huge declared size also ends at the payload's end.
    assert!(decode_msgpack(&[0xd6, 12, 0xdf, 0xff, 0xff, 0xff], &Type::String).is_err());
    // A declared huge list of nils within a large input still only reserves the cap up front.
    let mut bytes = vec![0xdd, 0x00, 0x01, 0x00, 0x00];
    bytes.resize(5 + 65536, 0xc0);
    match decode_msgpack(&bytes, &ty).unwrap() {
        Value::List(vs) => assert_eq!(vs.len(), 65536),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_utf8_and_reserved_bytes_are_errors() {
    assert!(decode_msgpack(&[0xa2, 0xff, 0xfe], &Type::String).is_err());
    assert!(decode_msgpack(&[0xc1], &Type::String).is_err());
    assert!(decode_msgpack(&[0xc1], &Type::Dynamic).is_err());
    assert!(decode_msgpack(&[], &Type::String).is_err());
    // bin is accepted for strings, as cty's decoder does.
    assert_eq!(
        decode_msgpack(&[0xc4, 1, b'z'], &Type::String).unwrap(),
        s("z")
    );
}

#[test]
fn json_decodes_each_type() {
    let cases: Vec<(Type, &str, Value)> = vec![
        (
            Type::String,
            r#""hé\n\u00e9\ud83d\ude00""#,
            s("hé\né\u{1f600}"),
        ),
        (Type::String, "12.50", s("12.50")),
        (Type::String, "true", s("true")),
        (Type::Number, "9007199254740993", num("9007199254740993")),
        (Type::Number, "0.1", num("0.1")),
        (Type::Number, "-1.5e3", num("-1500")),
        (Type::Number, r#""42""#, num("42")),
        (Type::Bool, "false", Value::Bool(false)),
        (Type::Bool, r#""true""#, Value::Bool(true)),
        (
            Type::list(Type::String),
            r#"["a", null]"#,
            Value::List(vec![s("a"), Value::Null]),
        ),
        (
            Type::set(Type::Number),
            "[1,2]",
            Value::Set(vec![num("1"), num("2")]),
        ),
        (
            Type::map(Type::String),
            r#"{"k":"v","k":"w"}"#,
            map(&[("k", s("w"))]),
        ),
        (
            Type::object([("a", Type::String), ("b", Type::Number)]),
            r#"{"a":"x"}"#,
            obj(&[("a", s("x")), ("b", Value::Null)]),
        ),
        (
            Type::Tuple(vec![Type::String, Type::Bool]),
            r#"["x", true]"#,
            Value::Tuple(vec![s("x"), Value::Bool(true)]),
        ),
        (
            Type::Dynamic,
            r#"{"value": {"n": 1}, "type": ["object", {"n": "number"}]}"#,
            obj(&[("n", num("1"))]),
        ),
        (Type::Dynamic, "null", Value::Null),
        (Type::String, " null ", Value::Null),
    ];
    for (ty, text, want) in cases {
        assert_eq!(decode_json(text.as_bytes(), &ty).unwrap(), want, "{text}");
    }
}

#[test]
fn json_rejects_what_cty_rejects() {
    let ty = Type::object([("a", Type::String)]);
    let err = decode_json(br#"{"a":"x","old":1}"#, &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .old: unsupported attribute");
    // Unless the caller is upgrading state from an older schema.
    let v = decode_json_with(
        br#"{"a":"x","old":1}"#,
        &ty,
        JsonOptions {
            ignore_undefined_attributes: true,
        },
    )
    .unwrap();
    assert_eq!(v, obj(&[("a", s("x"))]));
    let err = decode_json(br#"{"a":{"b":1}}"#, &ty).unwrap_err();
    assert_eq!(err.to_string(), "at .a: expected string, got object");
    for bad in [
        &br#"{"a":"x"} x"#[..],
        br#"{"a":"x""#,
        br#"{"a":01}"#,
        b"[1,]",
        br#""\x""#,
        b"\"a\x01\"",
        b"",
        b"nul",
        b"-",
        b"1.",
        b"1e",
    ] {
        assert!(
            decode_json(bad, &Type::Dynamic).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
        assert!(
            decode_json(bad, &ty).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(decode_json(b"[1,2]", &Type::Tuple(vec![Type::Number])).is_err());
    assert!(decode_json(br#"{"value":1}"#, &Type::Dynamic).is_err());
    assert!(decode_json(br#"{"type":"number","value":1,"x":2}"#, &Type::Dynamic).is_err());
    assert!(decode_json(br#""abc""#, &Type::Number).is_err());
}

#[test]
fn json_and_msgpack_agree_on_the_resource_state() {
    let json =
        br#"{"id":"alice","username":"alice","password":"s3cret","current_password_wo_version":3,
        "triggers":{"a":"1","b":null},"rotate_after":null}"#;
    let from_json = decode_json(json, &resource_type()).unwrap();
    let mut want = resource_value();
    if let Value::Object(m) = &mut want {
        m.insert("password".into(), s("s3cret"));
    }
    assert_eq!(from_json, want);
    let bytes = encode_msgpack(&from_json, &resource_type()).unwrap();
    assert_eq!(decode_msgpack(&bytes, &resource_type()).unwrap(), want);
}

// ---------------------------------------------------------------------------------------------------------
// Property tests, with a fixed seed so every `cargo test` run checks the same cases.

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x7f5e_ed00_c0de),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn arb_type() -> impl Strategy<Value = Type> {
    types(true)
}

/// Types, with or without `dynamic` among the leaves. A value under `dynamic` gets a concrete type, as in
/// cty, where a list's elements all share one type.
fn types(with_dynamic: bool) -> impl Strategy<Value = Type> {
    let leaf = if with_dynamic {
        prop_oneof![
            Just(Type::String),
            Just(Type::Number),
            Just(Type::Bool),
            Just(Type::Dynamic)
        ]
        .boxed()
    } else {
        prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)].boxed()
    };
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,8}", inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        "-?[0-9]{1,40}(\\.[0-9]{1,30})?(e-?[0-9]{1,3})?".prop_map(|s| s.parse().unwrap()),
    ]
}

/// A value that conforms to `ty`; under `dynamic`, a value of some concrete type.
fn arb_value(ty: Type) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Dynamic => types(false).prop_flat_map(arb_value).boxed(),
        // Collection elements share one concrete type even where the element type has `dynamic` in it.
        Type::List(e) => instantiate(*e)
            .prop_flat_map(|ce| prop::collection::vec(arb_value(ce), 0..4).prop_map(Value::List))
            .boxed(),
        Type::Set(e) => instantiate(*e)
            .prop_flat_map(|ce| prop::collection::vec(arb_value(ce), 0..4).prop_map(Value::Set))
            .boxed(),
        Type::Map(e) => instantiate(*e)
            .prop_flat_map(|ce| {
                prop::collection::btree_map(any::<String>(), arb_value(ce), 0..4)
                    .prop_map(Value::Map)
            })
            .boxed(),
        Type::Object(attrs) => {
            let parts: Vec<BoxedStrategy<(String, Value)>> = attrs
                .into_iter()
                .map(|(k, t)| arb_value(t).prop_map(move |v| (k.clone(), v)).boxed())
                .collect();
            parts
                .prop_map(|kv| Value::Object(kv.into_iter().collect()))
                .boxed()
        }
        Type::Tuple(ts) => {
            let parts: Vec<BoxedStrategy<Value>> = ts.into_iter().map(arb_value).collect();
            parts.prop_map(Value::Tuple).boxed()
        }
    };
    prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
}

/// `ty` with each `dynamic` replaced by some concrete type.
fn instantiate(ty: Type) -> BoxedStrategy<Type> {
    match ty {
        Type::Dynamic => types(false).boxed(),
        Type::List(e) => instantiate(*e).prop_map(Type::list).boxed(),
        Type::Set(e) => instantiate(*e).prop_map(Type::set).boxed(),
        Type::Map(e) => instantiate(*e).prop_map(Type::map).boxed(),
        Type::Object(attrs) => attrs
            .into_iter()
            .map(|(k, t)| instantiate(t).prop_map(move |t| (k.clone(), t)).boxed())
            .collect::<Vec<_>>()
            .prop_map(|kv| Type::Object(kv.into_iter().collect()))
            .boxed(),
        Type::Tuple(ts) => ts
            .into_iter()
            .map(instantiate)
            .collect::<Vec<_>>()
            .prop_map(Type::Tuple)
            .boxed(),
        t => Just(t).boxed(),
    }
}

fn arb_typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t)))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_values_round_trip((ty, v) in arb_typed_value()) {
        let bytes = encode_msgpack(&v, &ty).unwrap();
        prop_assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), ty in arb_type()) {
        for t in [&ty, &resource_type(), &Type::Dynamic] {
            // Whatever decodes must re-encode and decode to the same value.
            if let Ok(v) = decode_msgpack(&bytes, t) {
                let again = encode_msgpack(&v, t).unwrap();
                prop_assert_eq!(decode_msgpack(&again, t).unwrap(), v);
            }
            if let Ok(v) = decode_json(&bytes, t) {
                let again = encode_msgpack(&v, t).unwrap();
                prop_assert_eq!(decode_msgpack(&again, t).unwrap(), v);
            }
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        (ty, v) in arb_typed_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode_msgpack(&v, &ty).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(decoded) = decode_msgpack(&bytes, &ty) {
            let again = encode_msgpack(&decoded, &ty).unwrap();
            prop_assert_eq!(decode_msgpack(&again, &ty).unwrap(), decoded);
        }
    }
}
