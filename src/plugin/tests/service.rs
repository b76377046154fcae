//! The service with the test provider: the panic guard, StopProvider, garbage on the wire, and the RPCs a provider
//! does not serve.

use tonic::{Request, Response};

use super::notes::{NOTE, Notes, service};
use crate::plugin::proto::tfplugin6 as pb;
use crate::plugin::proto::tfplugin6::provider_server::Provider as _;
use crate::plugin::service::ProviderService;
use crate::shutdown::Shutdown;

#[tokio::test]
async fn a_panicking_handler_becomes_an_error_diagnostic_and_the_service_keeps_serving() {
    let svc = service();
    let resp: Response<pb::plan_resource_change::Response> = svc
        .guarded("PlanResourceChange", async {
            if std::hint::black_box(true) {
                panic!("boom with a secret: hunter2");
            }
            pb::plan_resource_change::Response::default()
        })
        .await
        .unwrap();
    let diags = &resp.get_ref().diagnostics;
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].severity, pb::diagnostic::Severity::Error as i32);
    assert_eq!(diags[0].summary, "Internal error in the notes provider");
    assert!(diags[0].detail.contains("PlanResourceChange"));
    assert!(
        !diags[0].detail.contains("hunter2"),
        "the payload is never shown"
    );

    // The same service answers the next call normally.
    let schema = svc
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .unwrap();
    assert!(schema.get_ref().resource_schemas.contains_key(NOTE));
}

#[tokio::test]
async fn stop_provider_fires_the_shutdown_signal() {
    let shutdown = Shutdown::new();
    let svc = ProviderService::new(Notes::default(), shutdown.clone());
    svc.stop_provider(Request::new(pb::stop_provider::Request {}))
        .await
        .unwrap();
    assert!(shutdown.is_stopped() && !shutdown.is_exiting());
}

#[tokio::test]
async fn garbage_on_the_wire_is_an_error_diagnostic_not_a_panic() {
    let svc = service();
    for bytes in [
        vec![0xc1],
        vec![0x81, 0xa1],
        vec![0xdd, 0xff, 0xff, 0xff, 0xff],
        b"not msgpack".to_vec(),
    ] {
        let resp = svc
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: NOTE.into(),
                config: Some(pb::DynamicValue {
                    msgpack: bytes.clone(),
                    json: vec![],
                }),
                proposed_new_state: Some(pb::DynamicValue {
                    msgpack: bytes,
                    json: vec![],
                }),
                ..Default::default()
            }))
            .await
            .unwrap();
        let d = &resp.get_ref().diagnostics;
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].summary.starts_with("Invalid"), "{d:?}");
    }
}

#[tokio::test]
async fn unserved_calls_answer_with_a_diagnostic_naming_what_is_missing() {
    let svc = service();
    let data = svc
        .read_data_source(Request::new(pb::read_data_source::Request {
            type_name: "example_feed".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(data.diagnostics[0].summary, "Unknown data source type");
    assert!(data.diagnostics[0].detail.contains("\"example_feed\""));
    let generate = svc
        .generate_resource_config(Request::new(pb::generate_resource_config::Request {
            type_name: NOTE.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        generate.diagnostics[0].detail,
        "Write the configuration for \"example_note\" by hand: it needs only name."
    );
    let function = svc
        .call_function(Request::new(pb::call_function::Request {
            name: "f".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        function.error.unwrap().text,
        "The notes provider has no function named \"f\"."
    );
    let schemas = svc
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert!(schemas.diagnostics.is_empty() && schemas.identity_schemas.is_empty());
}
