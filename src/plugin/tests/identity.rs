//! Resource identity through the service and the generic adapter: `example_note` only declares an identity
//! (`{ name }`, version 1), and every read, plan, apply and import answer carries the one its state gives, whether
//! Terraform sent one or not; import by identity, the identity upgrade, and the refusal of an in-place change.

use std::collections::BTreeMap;

use tonic::Request;

use super::adapter::{config, configure, decoded, dv, known, null, summaries};
use super::notes::*;
use crate::plugin::cty::{self, Attr, Type, Value};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::proto::tfplugin6::provider_server::Provider as _;
use crate::plugin::service::ProviderService;

fn identity_type() -> Type {
    note_identity().schema().value_type()
}

/// The identity `{ name = <name> }` as a value; `None` for a null name.
fn named(name: Option<&str>) -> Value {
    let name = name.map_or(Value::Null, |n| Value::String(n.to_owned()));
    Value::Object(BTreeMap::from([("name".to_owned(), name)]))
}

/// An identity as Terraform sends it.
fn sent(v: &Value) -> Option<pb::ResourceIdentityData> {
    Some(pb::ResourceIdentityData {
        identity_data: Some(pb::DynamicValue {
            msgpack: cty::encode_msgpack(v, &identity_type()).unwrap(),
            json: Vec::new(),
        }),
    })
}

/// An identity a response carries; `Value::Null` for none.
fn answered(data: Option<&pb::ResourceIdentityData>) -> Value {
    data.and_then(|d| d.identity_data.as_ref())
        .map_or(Value::Null, |dv| {
            cty::decode_msgpack(&dv.msgpack, &identity_type()).unwrap()
        })
}

async fn plan(
    svc: &ProviderService<Notes>,
    prior: Option<&Note>,
    config: Option<&Note>,
    prior_identity: Option<&Value>,
) -> pb::plan_resource_change::Response {
    let ty = note_type();
    let config = config.map_or_else(null, |c| dv(c, &ty));
    svc.plan_resource_change(Request::new(pb::plan_resource_change::Request {
        type_name: NOTE.into(),
        prior_state: prior.map_or_else(null, |p| dv(p, &ty)),
        proposed_new_state: config.clone(),
        config,
        prior_identity: prior_identity.and_then(sent),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn apply(
    svc: &ProviderService<Notes>,
    prior: Option<&Note>,
    planned: &pb::plan_resource_change::Response,
    config: Option<&Note>,
    planned_identity: Option<&Value>,
) -> pb::apply_resource_change::Response {
    let ty = note_type();
    svc.apply_resource_change(Request::new(pb::apply_resource_change::Request {
        type_name: NOTE.into(),
        prior_state: prior.map_or_else(null, |p| dv(p, &ty)),
        planned_state: planned.planned_state.clone(),
        config: config.map_or_else(null, |c| dv(c, &ty)),
        planned_private: planned.planned_private.clone(),
        planned_identity: planned_identity.and_then(sent),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn read(
    svc: &ProviderService<Notes>,
    current: &Note,
    current_identity: Option<&Value>,
) -> pb::read_resource::Response {
    svc.read_resource(Request::new(pb::read_resource::Request {
        type_name: NOTE.into(),
        current_state: dv(current, &note_type()),
        current_identity: current_identity.and_then(sent),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn import(
    svc: &ProviderService<Notes>,
    id: &str,
    identity: Option<&Value>,
) -> pb::import_resource_state::Response {
    svc.import_resource_state(Request::new(pb::import_resource_state::Request {
        type_name: NOTE.into(),
        id: id.into(),
        identity: identity.and_then(sent),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn upgrade(
    svc: &ProviderService<Notes>,
    version: i64,
    json: &[u8],
) -> pb::upgrade_resource_identity::Response {
    svc.upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
        type_name: NOTE.into(),
        version,
        raw_identity: Some(pb::RawState {
            json: json.to_vec(),
            ..Default::default()
        }),
    }))
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test]
async fn the_identity_schema_is_served_only_for_a_type_that_declares_one() {
    let schemas = identified_service()
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert!(schemas.diagnostics.is_empty());
    let schema = &schemas.identity_schemas[NOTE];
    assert_eq!(schema.version, 1);
    let attrs: Vec<_> = schema
        .identity_attributes
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.r#type.as_slice(),
                a.required_for_import,
                a.optional_for_import,
            )
        })
        .collect();
    assert_eq!(attrs, [("name", &b"\"string\""[..], true, false)]);

    // The same type without one: no schema, an upgrade is an error, and an import by identity says to use the ID.
    let svc = service();
    let up = upgrade(&svc, 0, br#"{"name":"a"}"#).await;
    assert_eq!(
        summaries(&up.diagnostics),
        ["Resource identity not supported"]
    );
    let imported = import(&svc, "", Some(&named(Some("a")))).await;
    assert_eq!(
        summaries(&imported.diagnostics),
        ["Import by identity not supported"]
    );
    assert!(imported.imported_resources.is_empty());
    let by_id = import(&svc, "a", None).await;
    assert!(by_id.diagnostics.is_empty());
    assert!(by_id.imported_resources[0].identity.is_none());
}

#[tokio::test]
async fn every_answer_carries_the_identity_of_its_state_whether_terraform_sent_one_or_not() {
    let svc = identified_service();
    configure(&svc, known("kitchen")).await;
    let groceries = named(Some("groceries"));

    // A create whose name is known only after apply plans an identity holding that unknown, as Terraform allows.
    let unknown_name = Note {
        name: Attr::Unknown,
        ..config("groceries", "milk")
    };
    let pending = plan(&svc, None, Some(&unknown_name), None).await;
    assert!(pending.diagnostics.is_empty(), "{:?}", pending.diagnostics);
    assert_eq!(
        answered(pending.planned_identity.as_ref()),
        Value::Object(BTreeMap::from([("name".to_owned(), Value::Unknown)]))
    );

    let wanted = config("groceries", "milk");
    let create = plan(&svc, None, Some(&wanted), None).await;
    assert_eq!(answered(create.planned_identity.as_ref()), groceries);
    let created = apply(&svc, None, &create, Some(&wanted), Some(&groceries)).await;
    assert!(created.diagnostics.is_empty(), "{:?}", created.diagnostics);
    assert_eq!(answered(created.new_identity.as_ref()), groceries);
    let state = decoded(created.new_state.as_ref()).1.unwrap();

    // Terraform without identity (before 1.12, OpenTofu) and objects stored before the type had one send none,
    // or one whose attributes are all null: the answer has the identity all the same.
    for sent_identity in [None, Some(named(None)), Some(groceries.clone())] {
        let refreshed = read(&svc, &state, sent_identity.as_ref()).await;
        assert!(refreshed.diagnostics.is_empty(), "{sent_identity:?}");
        assert_eq!(
            answered(refreshed.new_identity.as_ref()),
            groceries,
            "{sent_identity:?}"
        );
    }

    let edited = config("groceries", "milk, eggs");
    let update = plan(&svc, Some(&state), Some(&edited), None).await;
    assert!(update.requires_replace.is_empty());
    assert_eq!(answered(update.planned_identity.as_ref()), groceries);
    let updated = apply(&svc, Some(&state), &update, Some(&edited), None).await;
    assert!(updated.diagnostics.is_empty(), "{:?}", updated.diagnostics);
    assert_eq!(answered(updated.new_identity.as_ref()), groceries);
    let state = decoded(updated.new_state.as_ref()).1.unwrap();

    // A rename replaces the note: the new object's identity may differ.
    let renamed = config("pantry", "milk, eggs");
    let replace = plan(&svc, Some(&state), Some(&renamed), Some(&groceries)).await;
    assert_eq!(replace.requires_replace.len(), 1);
    assert!(replace.diagnostics.is_empty(), "{:?}", replace.diagnostics);
    assert_eq!(
        answered(replace.planned_identity.as_ref()),
        named(Some("pantry"))
    );

    // A destroy plans the object's own identity; the deleted object has none.
    let destroy = plan(&svc, Some(&state), None, Some(&groceries)).await;
    assert_eq!(answered(destroy.planned_identity.as_ref()), groceries);
    let deleted = apply(&svc, Some(&state), &destroy, None, Some(&groceries)).await;
    assert!(decoded(deleted.new_state.as_ref()).1.is_none());
    assert!(deleted.new_identity.is_none());
}

#[tokio::test]
async fn an_identity_that_would_change_in_place_is_an_error_that_quotes_no_value() {
    let svc = identified_service();
    configure(&svc, known("kitchen")).await;
    let wanted = config("groceries", "milk");
    let create = plan(&svc, None, Some(&wanted), None).await;
    let created = apply(&svc, None, &create, Some(&wanted), None).await;
    let state = decoded(created.new_state.as_ref()).1.unwrap();

    // Terraform holds an identity this object's state does not give.
    let stored = named(Some("secret-pantry"));
    let refreshed = read(&svc, &state, Some(&stored)).await;
    let update = plan(
        &svc,
        Some(&state),
        Some(&config("groceries", "eggs")),
        Some(&stored),
    )
    .await;
    for (during, diags) in [
        ("read", &refreshed.diagnostics),
        ("plan", &update.diagnostics),
    ] {
        assert_eq!(summaries(diags), ["Resource identity changed"], "{during}");
        let detail = &diags[0].detail;
        assert!(detail.contains("(name)"), "{during}: {detail}");
        assert!(
            !detail.contains("secret-pantry") && !detail.contains("groceries"),
            "{during}: no identity value in a diagnostic: {detail}"
        );
    }
}

#[tokio::test]
async fn import_by_identity_or_id_answers_with_the_whole_identity() {
    let svc = identified_service();
    for (id, identity) in [("", Some(named(Some("groceries")))), ("groceries", None)] {
        let resp = import(&svc, id, identity.as_ref()).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        let imported = &resp.imported_resources[0];
        let (raw, note) = decoded(imported.state.as_ref());
        assert_eq!(note.unwrap().name, known("groceries"));
        assert_eq!(raw.get_attr("token_wo"), Some(&Value::Null));
        assert_eq!(
            answered(imported.identity.as_ref()),
            named(Some("groceries"))
        );
    }
    let resp = import(&svc, "", Some(&named(None))).await;
    assert_eq!(summaries(&resp.diagnostics), ["Invalid import identity"]);
    assert!(resp.imported_resources.is_empty());
}

#[tokio::test]
async fn upgrade_identity_reads_older_versions_with_the_current_schema_and_refuses_newer_ones() {
    let svc = identified_service();
    // Version 0 had a prefix and a `shelf` attribute since dropped.
    for (version, json) in [
        (0, &br#"{"name":"note:groceries","shelf":"kitchen"}"#[..]),
        (1, &br#"{"name":"groceries"}"#[..]),
    ] {
        let up = upgrade(&svc, version, json).await;
        assert!(up.diagnostics.is_empty(), "{:?}", up.diagnostics);
        assert_eq!(
            answered(up.upgraded_identity.as_ref()),
            named(Some("groceries")),
            "version {version}"
        );
    }
    let newer = upgrade(&svc, 2, br#"{"name":"groceries"}"#).await;
    assert_eq!(
        summaries(&newer.diagnostics),
        ["Resource identity from a newer provider"]
    );
    let garbage = upgrade(&svc, 0, br#"{"name":7.5e999"#).await;
    assert_eq!(
        summaries(&garbage.diagnostics),
        ["Unreadable resource identity"]
    );
    let nothing = upgrade(&svc, 0, b"").await;
    assert!(nothing.diagnostics.is_empty() && nothing.upgraded_identity.is_none());
}
