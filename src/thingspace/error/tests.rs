//! Tests of the error types: what each message says.

use super::*;

#[test]
fn code_matching_ignores_any_service_prefix_but_not_partial_words() {
    assert!(code_matches(
        "REQUEST_FAILED.SessionToken.Expired",
        "REQUEST_FAILED.SessionToken.Expired"
    ));
    assert!(code_matches(
        "Other.REQUEST_FAILED.SessionToken.Expired",
        "REQUEST_FAILED.SessionToken.Expired"
    ));
    assert!(!code_matches(
        "XREQUEST_FAILED.SessionToken.Expired",
        "REQUEST_FAILED.SessionToken.Expired"
    ));
    assert!(!code_matches("900902", "900901"));
}

#[test]
fn transport_messages_say_what_failed_where_and_how_often() {
    use crate::thingspace::network::BaseUrlSource;
    use std::sync::Arc;
    let route = Arc::new(Route {
        base_url: "https://h.example".into(),
        source: BaseUrlSource::Attribute,
        proxy: None,
    });
    let t = |cause, maybe_sent, timed_out, attempts| {
        Error::Transport(TransportError {
            maybe_sent,
            timed_out,
            detail: "stack says".into(),
            cause,
            route: route.clone(),
            attempts,
            elapsed: Duration::from_millis(1250),
        })
        .to_string()
    };
    let refused = t(NetCause::Refused, false, false, 3);
    assert_eq!(
        refused,
        "could not connect: the connection was refused (nothing listens at that address and port) (stack says); \
         base URL https://h.example (from the base_url attribute); 3 attempts over 1.2 s"
    );
    let cert = t(NetCause::Certificate, false, false, 1);
    assert!(
        cert.contains("not trusted")
            && cert
                .ends_with("1 attempt over 1.2 s, not retried because a retry fails the same way"),
        "{cert}"
    );
    let connect_timeout = t(NetCause::Connect, false, true, 1);
    assert!(
        connect_timeout.starts_with("could not connect within request_timeout"),
        "{connect_timeout}"
    );
    let read_timeout = t(NetCause::AfterConnect, true, true, 1);
    assert!(
        read_timeout.starts_with("no answer within request_timeout"),
        "{read_timeout}"
    );
    assert!(!read_timeout.contains("not retried"), "{read_timeout}");
    let dropped = t(NetCause::AfterConnect, true, false, 0);
    assert!(
        dropped.starts_with("the connection failed before a complete answer")
            && !dropped.contains("attempt"),
        "{dropped}"
    );
    let via_proxy = Error::Transport(TransportError {
        cause: NetCause::Refused,
        route: Arc::new(Route {
            proxy: Some(("http://proxy:3128".into(), "HTTPS_PROXY")),
            ..Route::clone(&route)
        }),
        ..TransportError::default()
    })
    .to_string();
    assert!(
        via_proxy.contains("refused (by the proxy, or by what it connects to)")
            && via_proxy.contains("through the proxy http://proxy:3128 (from HTTPS_PROXY)"),
        "{via_proxy}"
    );
}
