//! Tests of the serde bridge: typed models through [`to_value`], the msgpack codec and [`from_value`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::*;

#[derive(Clone, PartialEq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_string(StringVisitor).map(Secret)
    }
}

struct StringVisitor;

impl Visitor<'_> for StringVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Model {
    id: Attr<String>,
    username: Attr<String>,
    password: Attr<Secret>,
    current_password_wo_version: Attr<Number>,
    triggers: Attr<BTreeMap<String, Attr<String>>>,
    rotate_after: Attr<String>,
}

fn model_type() -> Type {
    Type::object([
        ("id", Type::String),
        ("username", Type::String),
        ("password", Type::String),
        ("current_password_wo_version", Type::Number),
        ("triggers", Type::map(Type::String)),
        ("rotate_after", Type::String),
    ])
}

fn model() -> Model {
    Model {
        id: Attr::Known("alice".into()),
        username: Attr::Known("alice".into()),
        password: Attr::Unknown,
        current_password_wo_version: Attr::Known("9007199254740993".parse().unwrap()),
        triggers: Attr::Known(BTreeMap::from([
            ("a".to_string(), Attr::Known("1".to_string())),
            ("b".to_string(), Attr::Unknown),
            ("c".to_string(), Attr::Null),
        ])),
        rotate_after: Attr::Null,
    }
}

/// Model → Value → msgpack → Value → Model.
fn through_the_wire<T: Serialize + DeserializeOwned>(m: &T, ty: &Type) -> T {
    let v = to_value(m, ty).unwrap();
    let bytes = encode_msgpack(&v, ty).unwrap();
    let back = decode_msgpack(&bytes, ty).unwrap();
    assert_eq!(back, v);
    from_value(&back).unwrap()
}

#[test]
fn resource_model_round_trips_with_unknowns() {
    let m = model();
    let v = to_value(&m, &model_type()).unwrap();
    assert_eq!(v.get_attr("password"), Some(&Value::Unknown));
    assert_eq!(v.get_attr("rotate_after"), Some(&Value::Null));
    assert_eq!(
        v.get_attr("triggers").and_then(|t| t.get_attr("b")),
        Some(&Value::Unknown)
    );
    assert_eq!(v.get_attr("id"), Some(&Value::from("alice")));
    assert_eq!(through_the_wire(&m, &model_type()), m);

    let all_unknown = Model {
        id: Attr::Unknown,
        username: Attr::Unknown,
        password: Attr::Unknown,
        current_password_wo_version: Attr::Unknown,
        triggers: Attr::Unknown,
        rotate_after: Attr::Unknown,
    };
    assert_eq!(through_the_wire(&all_unknown, &model_type()), all_unknown);
    assert_eq!(
        through_the_wire(&Model::default(), &model_type()),
        Model::default()
    );
    let with_secret = Model {
        password: Attr::Known(Secret("p@ss\"w0rd".into())),
        ..model()
    };
    assert_eq!(through_the_wire(&with_secret, &model_type()), with_secret);
}

#[test]
fn numbers_survive_attr_number_losslessly() {
    for text in [
        "9007199254740993",
        "0.1",
        "-123456789012345678901234567890.000000000000000000000001",
        "7",
    ] {
        let m = Model {
            current_password_wo_version: Attr::Known(text.parse().unwrap()),
            ..Model::default()
        };
        let back = through_the_wire(&m, &model_type());
        let n = back.current_password_wo_version.known().unwrap();
        assert_eq!(n.to_string(), text);
    }
}

#[test]
fn struct_fields_absent_from_the_model_become_null_and_extra_fields_are_refused() {
    #[derive(Serialize)]
    struct Partial {
        id: String,
    }
    let v = to_value(&Partial { id: "x".into() }, &model_type()).unwrap();
    let Value::Object(m) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(m.len(), 6);
    assert_eq!(m["id"], Value::from("x"));
    assert_eq!(m["username"], Value::Null);

    #[derive(Serialize)]
    struct Extra {
        nope: bool,
    }
    let err = to_value(&Extra { nope: true }, &model_type()).unwrap_err();
    assert_eq!(err.to_string(), "at .nope: unsupported attribute");
}

#[test]
fn type_mismatches_name_the_path() {
    #[derive(Serialize)]
    struct Wrong {
        triggers: BTreeMap<String, bool>,
    }
    let err = to_value(
        &Wrong {
            triggers: BTreeMap::from([("x".to_string(), true)]),
        },
        &model_type(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"at .triggers["x"]: expected string, got bool"#
    );

    let v = Value::Object(BTreeMap::from([(
        "triggers".to_string(),
        Value::Map(BTreeMap::from([("x".to_string(), Value::Bool(true))])),
    )]));
    let err = from_value::<Model>(&v).unwrap_err();
    assert_eq!(
        err.path(),
        &[PathStep::Attr("triggers".into()), PathStep::Key("x".into())]
    );
    assert_eq!(
        err.to_string(),
        r#"at .triggers["x"]: expected a string, got bool"#
    );
}

#[test]
fn errors_never_echo_the_value() {
    #[derive(Debug, Deserialize)]
    struct N {
        #[allow(dead_code)]
        n: u32,
    }
    let v = Value::Object(BTreeMap::from([("n".to_string(), Value::from("hunter2"))]));
    let err = from_value::<N>(&v).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(err.to_string(), "at .n: expected u32, got string");

    let v = Value::Object(BTreeMap::from([("n".to_string(), Value::from("hunter2"))]));
    #[derive(Debug, Deserialize)]
    struct Num {
        #[allow(dead_code)]
        n: Number,
    }
    let err = from_value::<Num>(&v).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(err.path(), &[PathStep::Attr("n".into())]);
}

#[test]
fn option_fields_take_null_but_not_unknown() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct O {
        a: Option<String>,
        b: Option<i64>,
    }
    let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
    let o = O {
        a: None,
        b: Some(-5),
    };
    assert_eq!(through_the_wire(&o, &ty), o);
    let v = Value::Object(BTreeMap::from([
        ("a".to_string(), Value::Unknown),
        ("b".to_string(), Value::Null),
    ]));
    let err = from_value::<O>(&v).unwrap_err();
    assert_eq!(err.path(), &[PathStep::Attr("a".into())]);
    assert!(err.message().contains("unknown"), "{err}");
}

#[test]
fn collections_follow_the_type() {
    let ty = Type::object([
        ("hm", Type::map(Type::Number)),
        ("l", Type::list(Type::String)),
        ("s", Type::set(Type::String)),
        ("t", Type::Tuple(vec![Type::String, Type::Bool])),
        ("f", Type::Number),
        ("b", Type::Bool),
    ]);
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct C {
        hm: HashMap<String, u64>,
        l: Vec<String>,
        s: Vec<String>,
        t: (String, bool),
        f: f64,
        b: bool,
    }
    let c = C {
        hm: HashMap::from([("k".to_string(), u64::MAX)]),
        l: vec!["a".into(), "b".into()],
        s: vec!["z".into()],
        t: ("x".into(), true),
        f: 0.25,
        b: false,
    };
    let v = to_value(&c, &ty).unwrap();
    assert!(matches!(v.get_attr("l"), Some(Value::List(_))));
    assert!(matches!(v.get_attr("s"), Some(Value::Set(_))));
    assert!(matches!(v.get_attr("t"), Some(Value::Tuple(_))));
    assert!(matches!(v.get_attr("hm"), Some(Value::Map(_))));
    assert_eq!(through_the_wire(&c, &ty), c);
    // A tuple of the wrong length is refused.
    assert!(
        to_value(
            &("x", true, 1),
            &Type::Tuple(vec![Type::String, Type::Bool])
        )
        .is_err()
    );
    // Non-finite floats have no cty value.
    assert!(to_value(&f64::NAN, &Type::Number).is_err());
    // Under dynamic, sequences become tuples and structs objects.
    let v = to_value(&(1, "a"), &Type::Dynamic).unwrap();
    assert_eq!(
        v,
        Value::Tuple(vec![Value::Number(Number::from(1i64)), Value::from("a")])
    );
}

#[test]
fn unit_enums_are_strings() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fixed,
        Periodic,
    }
    let v = to_value(&Mode::Periodic, &Type::String).unwrap();
    assert_eq!(v, Value::from("periodic"));
    assert_eq!(from_value::<Mode>(&v).unwrap(), Mode::Periodic);
    assert_eq!(
        from_value::<Mode>(&Value::from("fixed")).unwrap(),
        Mode::Fixed
    );
    let err = from_value::<Mode>(&Value::from("s3cr3t")).unwrap_err();
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn attr_helpers_and_debug() {
    let k: Attr<i32> = Attr::Known(3);
    assert!(k.is_known() && !k.is_null() && !k.is_unknown());
    assert_eq!(k.known(), Some(&3));
    assert_eq!(k.clone().into_known(), Some(3));
    assert_eq!(k.clone().map(|x| x * 2), Attr::Known(6));
    assert!(Attr::<i32>::default().is_null());
    assert!(Attr::<i32>::Unknown.is_unknown());
    assert_eq!(Attr::from(None::<i32>), Attr::Null);
    assert_eq!(format!("{k:?}"), "3");
    assert_eq!(format!("{:?}", Attr::<i32>::Unknown), "unknown");
    assert_eq!(format!("{:?}", Attr::<i32>::Null), "null");
    let secret = Attr::Known(Secret("hunter2".into()));
    assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    assert_eq!(format!("{:?}", model()).matches("redacted").count(), 0);
    let m = Model {
        password: secret,
        ..model()
    };
    assert!(!format!("{m:?}").contains("hunter2"));
}

#[test]
fn other_serde_formats_see_plain_options_and_numbers() {
    let m = model();
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["password"], serde_json::Value::Null);
    // Fits i64, so it is an exact JSON integer.
    assert_eq!(
        json["current_password_wo_version"],
        serde_json::json!(9_007_199_254_740_993i64)
    );
    // Beyond i64 or fractional: exact text.
    let big: Number = "123456789012345678901234567890.5".parse().unwrap();
    assert_eq!(
        serde_json::to_value(&big).unwrap(),
        serde_json::json!("123456789012345678901234567890.5")
    );
    assert_eq!(json["triggers"]["a"], serde_json::json!("1"));
    let small = serde_json::to_value(Number::from(5i64)).unwrap();
    assert_eq!(small, serde_json::json!(5));
    let back: Model = serde_json::from_value(json).unwrap();
    assert_eq!(
        back.current_password_wo_version,
        m.current_password_wo_version
    );
    assert_eq!(back.password, Attr::Null);
    assert_eq!(back.id, m.id);
    let n: Number = serde_json::from_str("12.5").unwrap();
    assert_eq!(n.to_string(), "12.5");
}
