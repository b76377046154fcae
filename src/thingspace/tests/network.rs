//! Network failures and corporate networks: what a failure to connect says (the base URL and its source, the
//! attempts, the time) and which ones are retried; trust of a test-made CA (`ca_file`); a CONNECT proxy.

use std::time::{Duration, Instant};

use url::Url;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::network::{BaseUrlSource, NetCause};
use crate::thingspace::testing::*;
use crate::thingspace::{
    CaBundle, Call, Client, ClientConfig, Error, Policy, ProxyConfig, RotateError,
    validate_base_url,
};

/// A client for `base_url` with the given source, proxy, CA bundle and retry policy.
fn client_for(
    base_url: &str,
    source: BaseUrlSource,
    proxy: Option<ProxyConfig>,
    ca: Option<CaBundle>,
    policy: Policy,
) -> Client {
    let cfg = ClientConfig {
        base_url: validate_base_url(base_url).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: secret(CLIENT_SECRET),
        request_timeout: 5 * SECOND,
        user_agent: "ua".into(),
        base_url_source: source,
        proxy,
        ca,
    };
    Client::with_retry_policy(cfg, Shutdown::new(), policy).unwrap()
}

fn proxy(url: &str, no_proxy: Option<&str>) -> ProxyConfig {
    ProxyConfig {
        url: Url::parse(url).unwrap(),
        variable: "HTTPS_PROXY",
        no_proxy: no_proxy.map(str::to_owned),
    }
}

/// The token step's transport failure, which is where a network problem shows first.
fn transport(err: &RotateError) -> &crate::thingspace::error::TransportError {
    match err {
        RotateError::Token {
            step: Call::Login,
            error: Error::Transport(t),
            ..
        } => t,
        other => panic!("not a transport failure of the token step: {other}"),
    }
}

async fn closed_port() -> std::net::SocketAddr {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

#[tokio::test]
async fn connection_refused_is_retried_briefly_and_says_where_how_often_and_how_long() {
    let addr = closed_port().await;
    let base = format!("http://{addr}");
    // The production policy: the bound on connect errors is what a user waits.
    let client = client_for(
        &base,
        BaseUrlSource::Environment,
        None,
        None,
        Policy::default(),
    );
    let started = Instant::now();
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let took = started.elapsed();
    let t = transport(&err);
    assert_eq!((t.cause, t.attempts), (NetCause::Refused, 3), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}: {err}");
    let text = err.to_string();
    for want in [
        "connection was refused",
        &format!("base URL {base} (from the THINGSPACE_BASE_URL environment variable)"),
        "3 attempts over ",
        "the password is unchanged",
    ] {
        assert!(text.contains(want), "{want:?} not in: {text}");
    }
    assert_eq!(err.effect(), crate::thingspace::Effect::None);
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_failure_tried_once() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let base = emu.base_url().replacen("http://", "https://", 1);
    let client = client_for(&base, BaseUrlSource::Attribute, None, None, fast_policy());
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let t = transport(&err);
    assert_eq!((t.cause, t.attempts), (NetCause::Tls, 1), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("TLS handshake failed")
            && text.contains(&format!("{base} (from the base_url attribute)"))
            && text.contains("1 attempt over")
            && text.contains("not retried"),
        "{text}"
    );
    // The emulator never saw an HTTP request it could serve.
    assert!(emu.requests().is_empty(), "{:?}", emu.requests());
    assert_eq!(emu.failed_logins("svc"), 0);
}

#[tokio::test]
async fn a_host_name_that_does_not_resolve_is_tried_once() {
    // RFC 6761: .invalid names never resolve.
    let base = "https://thingspace-emulator.invalid";
    let client = client_for(base, BaseUrlSource::Default, None, None, fast_policy());
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let t = transport(&err);
    assert_eq!((t.cause, t.attempts), (NetCause::NameNotFound, 1), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("host name does not resolve")
            && text.contains("thingspace-emulator.invalid (from the default"),
        "{text}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_tried_once_and_points_at_ca_file() {
    let ca = TestCa::new();
    let emu = Emu::start_tls(&ca, &["localhost"]).await;
    emu.add("svc", "old");
    let base = format!("https://localhost:{}", emu.addr().port());
    let client = client_for(&base, BaseUrlSource::Attribute, None, None, fast_policy());
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let t = transport(&err);
    assert_eq!((t.cause, t.attempts), (NetCause::Certificate, 1), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("certificate is not trusted") && text.contains("ca_file"),
        "{text}"
    );
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn a_ca_bundle_makes_an_https_emulator_trusted() {
    let ca = TestCa::new();
    let emu = Emu::start_tls(&ca, &["localhost"]).await;
    emu.add("svc", "old");
    let base = format!("https://localhost:{}", emu.addr().port());
    let client = client_for(
        &base,
        BaseUrlSource::Attribute,
        None,
        Some(ca.bundle()),
        fast_policy(),
    );
    let rotation = client.rotate("svc", &secret("old")).await.unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&rotation.new_password),
        emu.password("svc")
    );
    assert_eq!(emu.resets("svc"), 1);
    // A certificate from another CA is still refused: the bundle adds trust, it does not switch checks off.
    let other = TestCa::new();
    let stranger = Emu::start_tls(&other, &["localhost"]).await;
    let base = format!("https://localhost:{}", stranger.addr().port());
    let client = client_for(
        &base,
        BaseUrlSource::Attribute,
        None,
        Some(ca.bundle()),
        fast_policy(),
    );
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert_eq!(transport(&err).cause, NetCause::Certificate, "{err}");
}

#[tokio::test]
async fn a_stray_api_in_base_url_gets_the_gateway_404_and_a_hint() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let base = format!("{}/api", emu.base_url());
    let client = client_for(&base, BaseUrlSource::Attribute, None, None, fast_policy());
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let text = err.detail();
    assert!(
        text.contains("HTTP 404, code 900906")
            && text.contains(&format!(
                "check base_url, {base} (from the base_url attribute)"
            ))
            && text.contains("without /api"),
        "{text}"
    );
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/api/ts/v1/oauth2/token"]);
}

#[tokio::test]
async fn a_rotation_goes_through_an_https_proxy_to_a_name_only_the_proxy_resolves() {
    let ca = TestCa::new();
    let emu = Emu::start_tls(&ca, &["thingspace.test"]).await;
    emu.add("svc", "old");
    let port = emu.addr().port();
    let proxy_server = ConnectProxy::start(&[("thingspace.test", emu.addr())]).await;
    let base = format!("https://thingspace.test:{port}");
    let client = client_for(
        &base,
        BaseUrlSource::Attribute,
        Some(proxy(&proxy_server.url, Some("localhost,127.0.0.1"))),
        Some(ca.bundle()),
        fast_policy(),
    );
    let rotation = client.rotate("svc", &secret("old")).await.unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&rotation.new_password),
        emu.password("svc")
    );
    let targets = proxy_server.targets();
    // Token and log-out may share a pooled tunnel; the log-in and the reset each open their own.
    assert!(targets.len() >= 3, "{targets:?}");
    assert!(
        targets
            .iter()
            .all(|t| *t == format!("thingspace.test:{port}")),
        "{targets:?}"
    );
    let steps: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(steps, [TOKEN, LOGIN, RESET, LOGOUT]);
}

#[tokio::test]
async fn no_proxy_sends_a_host_around_the_proxy() {
    let ca = TestCa::new();
    let emu = Emu::start_tls(&ca, &["thingspace.test"]).await;
    let proxy_server = ConnectProxy::start(&[("thingspace.test", emu.addr())]).await;
    let base = format!("https://thingspace.test:{}", emu.addr().port());
    let client = client_for(
        &base,
        BaseUrlSource::Attribute,
        Some(proxy(&proxy_server.url, Some(".test"))),
        Some(ca.bundle()),
        fast_policy(),
    );
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    // Without the proxy, nobody resolves the name.
    assert_eq!(transport(&err).cause, NetCause::NameNotFound, "{err}");
    assert!(!err.to_string().contains("through the proxy"), "{err}");
    assert!(proxy_server.targets().is_empty());
}

#[tokio::test]
async fn a_loopback_base_url_never_goes_through_the_proxy() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let proxy_server = ConnectProxy::start(&[]).await;
    let client = client_for(
        emu.base_url(),
        BaseUrlSource::Environment,
        Some(proxy(&proxy_server.url, None)),
        None,
        fast_policy(),
    );
    client.rotate("svc", &secret("old")).await.unwrap();
    assert!(proxy_server.targets().is_empty());
    assert_eq!(emu.resets("svc"), 1);
}

#[tokio::test]
async fn a_proxy_that_is_down_is_named_without_its_password() {
    let proxy_addr = closed_port().await;
    let base = "https://thingspace.test";
    let client = client_for(
        base,
        BaseUrlSource::Attribute,
        Some(proxy(
            &format!("http://corp-user:pr0xy-pass@{proxy_addr}"),
            None,
        )),
        None,
        fast_policy(),
    );
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let t = transport(&err);
    assert!(!t.maybe_sent && t.attempts == 3, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "through the proxy http://{proxy_addr} (from HTTPS_PROXY)"
        )),
        "{text}"
    );
    assert!(
        !text.contains("pr0xy-pass") && !text.contains("corp-user"),
        "{text}"
    );
}
