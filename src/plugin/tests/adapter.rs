//! `example_note` end to end through the service's handlers and the generic adapter, with msgpack values as
//! Terraform sends them: schema, validation, the whole lifecycle, replacement, import and upgrade.

use serde::Serialize;
use tonic::Request;

use super::notes::*;
use crate::plugin::cty::{self, Attr, Number, Type, Value};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::proto::tfplugin6::provider_server::Provider as _;
use crate::plugin::provider::Provider;
use crate::plugin::service::ProviderService;

/// `m` as Terraform sends it.
pub(crate) fn dv<T: Serialize>(m: &T, ty: &Type) -> Option<pb::DynamicValue> {
    let v = cty::to_value(m, ty).unwrap();
    Some(pb::DynamicValue {
        msgpack: cty::encode_msgpack(&v, ty).unwrap(),
        json: Vec::new(),
    })
}

pub(super) fn null() -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: cty::encode_msgpack(&Value::Null, &note_type()).unwrap(),
        json: Vec::new(),
    })
}

/// A state answer decoded as the raw value (to see nulls) and as a note (`None` when null).
pub(super) fn decoded(dv: Option<&pb::DynamicValue>) -> (Value, Option<Note>) {
    let v = cty::decode_msgpack(&dv.unwrap().msgpack, &note_type()).unwrap();
    let note = (!v.is_null()).then(|| cty::from_value(&v).unwrap());
    (v, note)
}

pub(super) fn known(s: &str) -> Attr<String> {
    Attr::Known(s.to_owned())
}

pub(super) fn config(name: &str, body: &str) -> Note {
    Note {
        name: known(name),
        body: known(body),
        token_wo: known("s3cret-token"),
        ..Note::default()
    }
}

pub(super) fn summaries(d: &[pb::Diagnostic]) -> Vec<&str> {
    d.iter().map(|d| d.summary.as_str()).collect()
}

pub(super) async fn configure(svc: &ProviderService<Notes>, shelf: Attr<String>) {
    let ty = Notes::default().schema().value_type();
    let resp = svc
        .configure_provider(Request::new(pb::configure_provider::Request {
            config: dv(&ShelfConfig { shelf }, &ty),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(resp.get_ref().diagnostics.is_empty());
}

async fn plan(
    svc: &ProviderService<Notes>,
    prior: Option<&Note>,
    config: &Note,
    private: &[u8],
) -> pb::plan_resource_change::Response {
    let ty = note_type();
    let prior = prior.map_or_else(null, |p| dv(p, &ty));
    svc.plan_resource_change(Request::new(pb::plan_resource_change::Request {
        type_name: NOTE.into(),
        prior_state: prior,
        proposed_new_state: dv(config, &ty),
        config: dv(config, &ty),
        prior_private: private.to_vec(),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn apply(
    svc: &ProviderService<Notes>,
    prior: Option<&Note>,
    planned: Option<&pb::DynamicValue>,
    config: Option<&Note>,
    private: Vec<u8>,
) -> pb::apply_resource_change::Response {
    let ty = note_type();
    svc.apply_resource_change(Request::new(pb::apply_resource_change::Request {
        type_name: NOTE.into(),
        prior_state: prior.map_or_else(null, |p| dv(p, &ty)),
        planned_state: planned.cloned(),
        config: config.map_or_else(null, |c| dv(c, &ty)),
        planned_private: private,
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn read(svc: &ProviderService<Notes>, current: &Note) -> pb::read_resource::Response {
    svc.read_resource(Request::new(pb::read_resource::Request {
        type_name: NOTE.into(),
        current_state: dv(current, &note_type()),
        private: b"from-apply".to_vec(),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test]
async fn the_schema_lists_the_test_type_with_its_flags_and_the_provider_block() {
    let svc = service();
    let resp = svc
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .unwrap()
        .into_inner();
    let block = resp.resource_schemas[NOTE].block.clone().unwrap();
    let wo: Vec<_> = block
        .attributes
        .iter()
        .filter(|a| a.write_only)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(wo, ["token_wo"]);
    assert_eq!(resp.resource_schemas[NOTE].version, 1);
    assert_eq!(
        resp.provider.unwrap().block.unwrap().attributes[0].name,
        "shelf"
    );
    assert!(resp.server_capabilities.unwrap().plan_destroy);
    let meta = svc
        .get_metadata(Request::new(pb::get_metadata::Request {}))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = meta
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(names, [NOTE]);
}

#[tokio::test]
async fn validation_reaches_the_resource_with_the_client_capabilities_and_unknown_types_are_named()
{
    let svc = service();
    let validate = |type_name: &str, write_only_attributes_allowed| {
        svc.validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: type_name.into(),
            config: dv(&config("a", "b"), &note_type()),
            client_capabilities: Some(pb::ClientCapabilities {
                write_only_attributes_allowed,
                deferral_allowed: false,
            }),
        }))
    };
    assert!(
        validate(NOTE, true)
            .await
            .unwrap()
            .get_ref()
            .diagnostics
            .is_empty()
    );
    let old = validate(NOTE, false)
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert_eq!(summaries(&old), ["Old Terraform"]);
    assert!(format!("{:?}", old[0].attribute).contains("token_wo"));
    let other = validate("example_other", true)
        .await
        .unwrap()
        .into_inner()
        .diagnostics;
    assert_eq!(summaries(&other), ["Unknown resource type"]);
    assert_eq!(
        other[0].detail,
        "The notes provider has no resource named \"example_other\". It serves the resource \"example_note\"."
    );
    let provider = svc
        .validate_provider_config(Request::new(pb::validate_provider_config::Request {
            config: dv(
                &ShelfConfig { shelf: known("") },
                &Notes::default().schema().value_type(),
            ),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summaries(&provider.diagnostics), ["Empty shelf"]);
}

#[tokio::test]
async fn a_note_lives_a_whole_lifecycle_through_the_adapter_and_write_only_values_never_come_back()
{
    let svc = service();
    configure(&svc, known("top")).await;
    let cfg = config("groceries", "milk");

    let planned = plan(&svc, None, &cfg, b"").await;
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    let (raw, note) = decoded(planned.planned_state.as_ref());
    assert_eq!(
        raw.get_attr("token_wo"),
        Some(&Value::Null),
        "planned state"
    );
    assert_eq!(raw.get_attr("revision"), Some(&Value::Unknown));
    assert_eq!(note.unwrap().id, known("groceries"));
    assert!(
        planned.requires_replace.is_empty(),
        "a create replaces nothing"
    );
    assert_eq!(planned.planned_private, b"planned:");

    let created = apply(
        &svc,
        None,
        planned.planned_state.as_ref(),
        Some(&cfg),
        planned.planned_private,
    )
    .await;
    assert!(created.diagnostics.is_empty(), "{:?}", created.diagnostics);
    let (raw, note) = decoded(created.new_state.as_ref());
    assert_eq!(
        raw.get_attr("token_wo"),
        Some(&Value::Null),
        "applied state"
    );
    let state = note.unwrap();
    assert_eq!(state.revision, Attr::Known(Number::from(1i64)));
    assert_eq!(
        created.private, b"shelf=top",
        "the configured data reached the apply"
    );

    let refreshed = read(&svc, &state).await;
    let (raw, note) = decoded(refreshed.new_state.as_ref());
    assert_eq!(raw.get_attr("token_wo"), Some(&Value::Null), "read state");
    assert_eq!(note.as_ref(), Some(&state));
    assert_eq!(refreshed.private, b"from-apply");

    let edited = config("groceries", "milk, eggs");
    let update = plan(&svc, Some(&state), &edited, b"read").await;
    assert!(update.requires_replace.is_empty(), "body updates in place");
    assert_eq!(update.planned_private, b"planned:read");
    let updated = apply(
        &svc,
        Some(&state),
        update.planned_state.as_ref(),
        Some(&edited),
        update.planned_private,
    )
    .await;
    let (_, note) = decoded(updated.new_state.as_ref());
    let state = note.unwrap();
    assert_eq!(state.revision, Attr::Known(Number::from(2i64)));

    let destroy = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: NOTE.into(),
            prior_state: dv(&state, &note_type()),
            proposed_new_state: null(),
            config: null(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        decoded(destroy.planned_state.as_ref()).1.is_none(),
        "a destroy plans null"
    );
    assert_eq!(
        (
            destroy.planned_private.as_slice(),
            summaries(&destroy.diagnostics)
        ),
        (&b"destroy"[..], vec!["Destroying"])
    );
    let deleted = apply(
        &svc,
        Some(&state),
        null().as_ref(),
        None,
        destroy.planned_private,
    )
    .await;
    assert!(decoded(deleted.new_state.as_ref()).1.is_none());
    assert!(
        decoded(read(&svc, &state).await.new_state.as_ref())
            .1
            .is_none(),
        "gone from the shelf"
    );
}

#[tokio::test]
async fn requires_replace_follows_the_schema_flag_when_the_configured_value_is_unknown_or_changed()
{
    let svc = service();
    let prior = Note {
        id: known("a"),
        revision: Attr::Known(Number::from(3i64)),
        ..config("a", "text")
    };
    let replaced = |p: &pb::plan_resource_change::Response| -> Vec<String> {
        p.requires_replace
            .iter()
            .map(|path| format!("{:?}", path.steps))
            .collect()
    };
    let same = plan(&svc, Some(&prior), &config("a", "other text"), b"").await;
    assert!(same.requires_replace.is_empty());
    let renamed = plan(&svc, Some(&prior), &config("b", "text"), b"").await;
    assert_eq!(renamed.requires_replace.len(), 1);
    assert!(
        replaced(&renamed)[0].contains("AttributeName(\"name\")"),
        "{:?}",
        replaced(&renamed)
    );
    let unknown = Note {
        name: Attr::Unknown,
        ..config("a", "text")
    };
    let later = plan(&svc, Some(&prior), &unknown, b"").await;
    assert_eq!(
        replaced(&later),
        replaced(&renamed),
        "unknown until apply: replaced"
    );
    let unset = Note {
        name: Attr::Null,
        ..config("a", "text")
    };
    assert!(
        plan(&svc, Some(&prior), &unset, b"")
            .await
            .requires_replace
            .is_empty(),
        "null replaces nothing"
    );
    // Not a flagged attribute: the body changes in place whatever it is.
    let unknown_body = Note {
        body: Attr::Unknown,
        ..config("a", "text")
    };
    assert!(
        plan(&svc, Some(&prior), &unknown_body, b"")
            .await
            .requires_replace
            .is_empty()
    );
}

#[tokio::test]
async fn import_and_upgrade_answer_with_the_write_only_value_nulled() {
    let svc = service();
    let imported = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: NOTE.into(),
            id: "todo".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let object = &imported.imported_resources[0];
    assert_eq!(object.type_name, NOTE);
    let (raw, note) = decoded(object.state.as_ref());
    assert_eq!(raw.get_attr("token_wo"), Some(&Value::Null));
    assert_eq!(note.unwrap().name, known("todo"));
    let refused = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: NOTE.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summaries(&refused.diagnostics), ["Invalid import ID"]);

    let upgrade = |version, json: &str, flatmap: &[(&str, &str)]| {
        svc.upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: NOTE.into(),
            version,
            raw_state: Some(pb::RawState {
                json: json.as_bytes().to_vec(),
                flatmap: flatmap
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            }),
        }))
    };
    let v0 = r#"{"id":"a","name":"a","body":"x","token_wo":"leaked","dropped_since":7}"#;
    let up = upgrade(0, v0, &[]).await.unwrap().into_inner();
    assert!(up.diagnostics.is_empty(), "{:?}", up.diagnostics);
    let (raw, note) = decoded(up.upgraded_state.as_ref());
    assert_eq!(raw.get_attr("token_wo"), Some(&Value::Null));
    assert_eq!(
        note.unwrap().revision,
        Attr::Known(Number::from(0i64)),
        "the resource's upgrade ran"
    );
    let newer = upgrade(2, v0, &[]).await.unwrap().into_inner();
    assert_eq!(
        summaries(&newer.diagnostics),
        ["State from a newer provider"]
    );
    let bad = upgrade(1, "[1]", &[]).await.unwrap().into_inner();
    assert_eq!(summaries(&bad.diagnostics), ["Unreadable state"]);
    let flat = upgrade(0, "", &[("id", "a")]).await.unwrap().into_inner();
    assert_eq!(summaries(&flat.diagnostics), ["Unsupported state format"]);
}

#[tokio::test]
async fn an_unconfigured_provider_gives_its_data_to_no_call() {
    let svc = service();
    configure(&svc, Attr::Unknown).await;
    let cfg = config("n", "b");
    let planned = plan(&svc, None, &cfg, b"").await;
    let created = apply(
        &svc,
        None,
        planned.planned_state.as_ref(),
        Some(&cfg),
        planned.planned_private,
    )
    .await;
    assert_eq!(summaries(&created.diagnostics), ["No shelf"]);
    // Then a known configuration is kept, and a later one does not replace it.
    configure(&svc, known("first")).await;
    configure(&svc, known("second")).await;
    let created = apply(
        &svc,
        None,
        planned.planned_state.as_ref(),
        Some(&cfg),
        b"planned:".to_vec(),
    )
    .await;
    assert_eq!(created.private, b"shelf=first");
}
