//! In-process tests of the plugin transport: the real server on a real unix socket, reached by tonic clients that
//! play Terraform's part (or an intruder's), with and without AutoMTLS.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use thingspace_provider::plugin::handshake::MAGIC_COOKIE_VALUE;
use thingspace_provider::plugin::proto::plugin::Empty;
use thingspace_provider::plugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use thingspace_provider::plugin::proto::plugin::grpc_stdio_client::GrpcStdioClient;
use thingspace_provider::plugin::serve::{HandshakeOut, ServeError, ServeOptions, serve_routes};
use thingspace_provider::shutdown::Shutdown;

const WAIT: Duration = Duration::from_secs(10);

/// A client certificate with its key, ready for rustls.
struct ClientIdentity {
    certified: Arc<CertifiedKey>,
    pem: String,
}

/// A self-signed CA certificate on P-256, shaped like the one Terraform makes for itself on each launch.
fn client_identity() -> ClientIdentity {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).unwrap();
    let signing_key = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key.serialize_der(),
        )))
        .unwrap();
    ClientIdentity {
        certified: Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing_key)),
        pem: cert.pem(),
    }
}

/// Terraform's real client certificate is what go-plugin makes: ECDSA P-521 signed with SHA-512, a CA, CN and
/// SAN localhost, so the client signs its handshake with `ecdsa_secp521r1_sha512`. rcgen (on ring) cannot make
/// such a key, so this is a fixed, test-only certificate and key made with openssl in that shape.
const P521_CLIENT_CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIICcTCCAdSgAwIBAgIUONs128QiGQaCRBv2yRp8jQSNa8QwCgYIKoZIzj0EAwQw
KDESMBAGA1UECgwJSGFzaGlDb3JwMRIwEAYDVQQDDAlsb2NhbGhvc3QwIBcNMjYx
MTI3MDIwMzM2WhgPMjEyNjExMDMwMjAzMzZaMCgxEjAQBgNVBAoMCUhhc2hpQ29y
cDESMBAGA1UEAwwJbG9jYWxob3N0MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQA
Y9p37q1BMJUd/qp0j2nDS9haZ5ltvYjC1LD670vU2mTl1Ughu74ApDHGPaybbyAZ
JCxEDRFuBzDGxRp0/ketwrABJa3ocPMuLxr9BN0QRxZ/eXH9JGeJP3zwvZ23EmGi
U9z4CPjXd6QJrYKNLYvkHg2yl+xJzHJX2DIVT94NB3NSo5qjgZYwgZMwHQYDVR0O
BBYEFKMnVZsCXdqQjGNhI2yTGdidTcKLMB8GA1UdIwQYMBaAFKMnVZsCXdqQjGNh
I2yTGdidTcKLMBQGA1UdEQQNMAuCCWxvY2FsaG9zdDAPBgNVHRMBAf8EBTADAQH/
MAsGA1UdDwQEAwICrDAdBgNVHSUEFjAUBggrBgEFBQcDAgYIKwYBBQUHAwEwCgYI
KoZIzj0EAwQDgYoAMIGGAkEwQeB28AbMB/cEhIlXrZXdDqKRRVbTptoeJgvAd5l1
zvNPYBGIE2LkmP1iMsj2jKg4urVEI+BfbERh69XGF7r3gAJBaiwG6QeYs+izBjNz
W868IIuEt1wxBj57BZA6YHK0DFmeA8sgPePDJc+f0+Mc9Vsfz00uP5AHL7pLxwH1
+n0VKQc=
-----END CERTIFICATE-----
";
const P521_CLIENT_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIBFJq1LjSDyLqlReLf
V+iSRSl9HHQrW2WDR+8uFH3/Tp4vGEq4BVpWKWnFNw3A7NNXXNAz8R9J7fTdsVRc
9SYwZ/qhgYkDgYYABABj2nfurUEwlR3+qnSPacNL2FpnmW29iMLUsPrvS9TaZOXV
SCG7vgCkMcY9rJtvIBkkLEQNEW4HMMbFGnT+R63CsAElrehw8y4vGv0E3RBHFn95
cf0kZ4k/fPC9nbcSYaJT3PgI+Nd3pAmtgo0ti+QeDbKX7EnMclfYMhVP3g0Hc1Kj
mg==
-----END PRIVATE KEY-----
";

fn terraform_like_p521_identity() -> ClientIdentity {
    let cert = CertificateDer::from_pem_slice(P521_CLIENT_CERT_PEM.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(P521_CLIENT_KEY_PEM.as_bytes()).unwrap();
    // ring cannot sign with P-521; aws-lc-rs (already linked for the server side) can.
    let signing_key = rustls::crypto::aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(key)
        .unwrap();
    ClientIdentity {
        certified: Arc::new(CertifiedKey::new(vec![cert], signing_key)),
        pem: P521_CLIENT_CERT_PEM.to_owned(),
    }
}

/// Always presents one certificate, whatever the server hints.
#[derive(Debug)]
struct Present(Arc<CertifiedKey>);

impl ResolvesClientCert for Present {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The server as Terraform sees it after reading the handshake line.
struct Running {
    task: JoinHandle<Result<(), ServeError>>,
    shutdown: Shutdown,
    socket: PathBuf,
    server_cert: Option<Vec<u8>>,
    _parent: tempfile::TempDir,
}

impl Running {
    fn socket_dir(&self) -> &Path {
        self.socket.parent().unwrap()
    }

    async fn finished(self) -> Result<(), ServeError> {
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("serve did not return after shutdown")
            .unwrap()
    }
}

fn options(
    client_cert_pem: Option<String>,
    debug: bool,
    parent: &Path,
) -> (ServeOptions, oneshot::Receiver<String>) {
    let (tx, rx) = oneshot::channel();
    let opts = ServeOptions {
        debug,
        magic_cookie: (!debug).then(|| MAGIC_COOKIE_VALUE.to_owned()),
        protocol_versions: Some("5,6".to_owned()),
        client_cert_pem,
        socket_parent: Some(parent.to_path_buf()),
        handle_signals: false,
        grace: Duration::from_secs(5),
        parent_pid: None,
        handshake_out: HandshakeOut::Channel(tx),
    };
    (opts, rx)
}

async fn start(client_cert_pem: Option<String>, debug: bool) -> Running {
    start_with(
        Routes::default(),
        Shutdown::new(),
        client_cert_pem,
        debug,
        None,
    )
    .await
}

/// Starts `routes` on `shutdown`, with `grace` for the calls left after exit when given.
async fn start_with(
    routes: Routes,
    shutdown: Shutdown,
    client_cert_pem: Option<String>,
    debug: bool,
    grace: Option<Duration>,
) -> Running {
    let parent = tempfile::tempdir().unwrap();
    let (mut opts, rx) = options(client_cert_pem, debug, parent.path());
    if let Some(grace) = grace {
        opts.grace = grace;
    }
    let task = tokio::spawn(serve_routes(routes, shutdown.clone(), opts));
    let line = tokio::time::timeout(WAIT, rx)
        .await
        .unwrap()
        .expect("no handshake line");
    assert!(line.ends_with('\n'), "{line:?}");
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "{line:?}");
    assert_eq!(&fields[..3], ["1", "6", "unix"]);
    assert_eq!(fields[4], "grpc");
    let socket = PathBuf::from(fields[3]);
    let server_cert = (!fields[5].is_empty()).then(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(fields[5])
            .expect("cert field is unpadded standard base64")
    });
    Running {
        task,
        shutdown,
        socket,
        server_cert,
        _parent: parent,
    }
}

/// Trusts exactly the server certificate from the handshake line, as go-plugin's client does.
#[derive(Debug)]
struct PinnedServer {
    der: Vec<u8>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(server_name.to_str(), "localhost");
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn client_tls(server_cert: &[u8], identity: Option<&ClientIdentity>) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedServer {
        der: server_cert.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder.with_client_cert_resolver(Arc::new(Present(id.certified.clone()))),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

fn endpoint() -> Endpoint {
    Endpoint::from_static("http://localhost").connect_timeout(WAIT)
}

async fn tls_channel(
    socket: &Path,
    tls: Arc<ClientConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let socket = socket.to_path_buf();
    endpoint()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            let tls = tls.clone();
            async move {
                let stream = UnixStream::connect(&socket).await?;
                let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
                let stream = tokio_rustls::TlsConnector::from(tls)
                    .connect(name, stream)
                    .await?;
                Ok::<_, io::Error>(TokioIo::new(stream))
            }
        }))
        .await
}

async fn plain_channel(socket: &Path) -> Result<Channel, tonic::transport::Error> {
    let socket = socket.to_path_buf();
    endpoint()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(&socket).await?)) }
        }))
        .await
}

async fn plugin_health(channel: Channel) -> Result<ServingStatus, tonic::Status> {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}

/// What an intruder gets: either the connection or the first call must fail.
async fn health_via_tls(socket: &Path, tls: Arc<ClientConfig>) -> Result<ServingStatus, String> {
    let channel = tls_channel(socket, tls).await.map_err(|e| e.to_string())?;
    tokio::time::timeout(WAIT, plugin_health(channel))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|s| s.to_string())
}

#[tokio::test]
async fn terraforms_certificate_is_served_and_shutdown_rpc_stops_the_server() {
    let terraform = client_identity();
    let server = start(Some(terraform.pem.clone()), false).await;
    let server_cert = server
        .server_cert
        .clone()
        .expect("mTLS: the line carries the server cert");

    let dir_mode = std::fs::metadata(server.socket_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    assert_eq!(server.socket_dir().parent(), Some(server._parent.path()));

    let channel = tls_channel(&server.socket, client_tls(&server_cert, Some(&terraform)))
        .await
        .unwrap();
    assert_eq!(
        plugin_health(channel.clone()).await.unwrap(),
        ServingStatus::Serving
    );

    // An open stdio stream is an in-flight call: shutdown must end it cleanly, not cut the connection.
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();

    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .unwrap();
    assert!(server.shutdown.is_exiting());
    let end = tokio::time::timeout(WAIT, stdio.message()).await.unwrap();
    assert!(
        matches!(end, Ok(None)),
        "stdio stream should end cleanly: {end:?}"
    );

    let dir = server.socket_dir().to_path_buf();
    server.finished().await.unwrap();
    assert!(!dir.exists(), "socket dir must be removed");
}

#[tokio::test]
async fn a_p521_client_certificate_like_terraforms_is_served() {
    let terraform = terraform_like_p521_identity();
    let server = start(Some(terraform.pem.clone()), false).await;
    let server_cert = server.server_cert.clone().unwrap();
    let ok = health_via_tls(&server.socket, client_tls(&server_cert, Some(&terraform))).await;
    assert_eq!(ok, Ok(ServingStatus::Serving));

    // Pinning still holds: a different certificate is refused by the same server.
    let other = client_identity();
    let refused = health_via_tls(&server.socket, client_tls(&server_cert, Some(&other))).await;
    assert!(refused.is_err(), "{refused:?}");
    server.shutdown.exit();
    server.finished().await.unwrap();
}

#[tokio::test]
async fn client_without_a_certificate_is_refused() {
    let terraform = client_identity();
    let server = start(Some(terraform.pem.clone()), false).await;
    let server_cert = server.server_cert.clone().unwrap();

    let refused = health_via_tls(&server.socket, client_tls(&server_cert, None)).await;
    assert!(
        refused.is_err(),
        "a client without a certificate was served: {refused:?}"
    );

    // The refusal did not hurt the server: Terraform itself is still served.
    let ok = health_via_tls(&server.socket, client_tls(&server_cert, Some(&terraform))).await;
    assert_eq!(ok, Ok(ServingStatus::Serving));
    server.shutdown.exit();
    server.finished().await.unwrap();
}

#[tokio::test]
async fn client_with_a_different_certificate_is_refused() {
    let terraform = client_identity();
    let intruder = client_identity();
    let server = start(Some(terraform.pem.clone()), false).await;
    let server_cert = server.server_cert.clone().unwrap();

    let refused = health_via_tls(&server.socket, client_tls(&server_cert, Some(&intruder))).await;
    assert!(
        refused.is_err(),
        "a client with another certificate was served: {refused:?}"
    );

    // Plain gRPC on the TLS socket is refused too.
    let plain = match plain_channel(&server.socket).await {
        Ok(ch) => tokio::time::timeout(WAIT, plugin_health(ch))
            .await
            .ok()
            .and_then(Result::ok),
        Err(_) => None,
    };
    assert_eq!(plain, None);

    let ok = health_via_tls(&server.socket, client_tls(&server_cert, Some(&terraform))).await;
    assert_eq!(ok, Ok(ServingStatus::Serving));
    server.shutdown.exit();
    server.finished().await.unwrap();
}

#[tokio::test]
async fn a_stalled_handshake_does_not_block_terraform() {
    let terraform = client_identity();
    let server = start(Some(terraform.pem.clone()), false).await;
    let server_cert = server.server_cert.clone().unwrap();

    // Connects and says nothing: its TLS handshake never completes.
    let _stalled = UnixStream::connect(&server.socket).await.unwrap();
    let ok = health_via_tls(&server.socket, client_tls(&server_cert, Some(&terraform))).await;
    assert_eq!(ok, Ok(ServingStatus::Serving));
    server.shutdown.exit();
    server.finished().await.unwrap();
}

#[tokio::test]
async fn without_client_cert_the_server_speaks_plain_grpc_with_an_empty_cert_field() {
    let server = start(None, false).await;
    assert_eq!(server.server_cert, None);
    let channel = plain_channel(&server.socket).await.unwrap();
    assert_eq!(
        plugin_health(channel).await.unwrap(),
        ServingStatus::Serving
    );
    // The process-wide signal (SIGTERM, StopProvider...) stops it too, and the directory goes with it.
    let dir = server.socket_dir().to_path_buf();
    server.shutdown.exit();
    server.finished().await.unwrap();
    assert!(!dir.exists());
}

#[tokio::test]
async fn debug_mode_needs_no_cookie_and_serves_plain() {
    let server = start(Some(client_identity().pem), true).await;
    assert_eq!(
        server.server_cert, None,
        "debug sessions are reattached without TLS"
    );
    let channel = plain_channel(&server.socket).await.unwrap();
    assert_eq!(
        plugin_health(channel).await.unwrap(),
        ServingStatus::Serving
    );
    server.shutdown.exit();
    server.finished().await.unwrap();
}

#[tokio::test]
async fn missing_cookie_is_refused_before_anything_is_created() {
    let parent = tempfile::tempdir().unwrap();
    let (mut opts, rx) = options(None, false, parent.path());
    opts.magic_cookie = None;
    let err = serve_routes(Routes::default(), Shutdown::new(), opts)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not meant to be run directly"),
        "{err}"
    );
    assert!(rx.await.is_err(), "no handshake line may be written");
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn garbage_client_cert_is_an_error_not_an_open_door() {
    let parent = tempfile::tempdir().unwrap();
    let (opts, _rx) = options(Some("not a certificate".to_owned()), false, parent.path());
    let err = serve_routes(Routes::default(), Shutdown::new(), opts)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PLUGIN_CLIENT_CERT"), "{err}");
}

/// `/test.Slow/Call`: a unary call that holds a critical guard for `hold`, as a reset on the wire does, then answers.
#[derive(Clone)]
struct Slow {
    shutdown: Shutdown,
    hold: Duration,
}

const SLOW_CALL: &str = "/test.Slow/Call";

impl tonic::server::NamedService for Slow {
    const NAME: &'static str = "test.Slow";
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl tonic::server::UnaryService<Empty> for Slow {
    type Response = Empty;
    type Future = BoxFuture<Result<tonic::Response<Empty>, tonic::Status>>;

    fn call(&mut self, _request: tonic::Request<Empty>) -> Self::Future {
        let guard = self.shutdown.critical();
        let hold = self.hold;
        Box::pin(async move {
            tokio::time::sleep(hold).await;
            drop(guard);
            Ok(tonic::Response::new(Empty {}))
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Slow {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move {
            if request.uri().path() != SLOW_CALL {
                return Ok(tonic::Status::unimplemented("no such call").into_http());
            }
            let mut grpc =
                tonic::server::Grpc::new(tonic_prost::ProstCodec::<Empty, Empty>::default());
            Ok(grpc.unary(handler, request).await)
        })
    }
}

async fn slow_call(channel: Channel) -> Result<Empty, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let response = grpc
        .unary(
            tonic::Request::new(Empty {}),
            http::uri::PathAndQuery::from_static(SLOW_CALL),
            tonic_prost::ProstCodec::<Empty, Empty>::default(),
        )
        .await?;
    Ok(response.into_inner())
}

#[tokio::test]
async fn exit_waits_past_the_grace_for_a_call_holding_a_reset_and_that_call_gets_its_answer() {
    let shutdown = Shutdown::new();
    shutdown.record_request_timeout(Duration::from_secs(60));
    let hold = Duration::from_secs(2);
    let grace = Duration::from_millis(200);
    let slow = Slow {
        shutdown: shutdown.clone(),
        hold,
    };
    let server = start_with(
        Routes::new(slow),
        shutdown.clone(),
        None,
        false,
        Some(grace),
    )
    .await;
    let channel = plain_channel(&server.socket).await.unwrap();
    let call = tokio::spawn(slow_call(channel));
    let deadline = tokio::time::Instant::now() + WAIT;
    while shutdown.critical_in_flight() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    shutdown.exit();
    tokio::time::sleep(grace * 4).await;
    assert!(
        !server.task.is_finished(),
        "serve returned while a reset was on the wire"
    );
    assert!(server.socket.exists());

    // The call on the wire is answered, well after the grace.
    let answer = tokio::time::timeout(WAIT, call).await.unwrap().unwrap();
    assert_eq!(answer.unwrap(), Empty {});
    let dir = server.socket_dir().to_path_buf();
    server.finished().await.unwrap();
    assert!(!dir.exists());
    assert_eq!(shutdown.critical_in_flight(), 0);
}

#[tokio::test]
async fn exit_with_a_critical_guard_held_outside_any_call_waits_until_it_is_dropped() {
    let shutdown = Shutdown::new();
    shutdown.record_request_timeout(Duration::from_secs(60));
    let server = start_with(
        Routes::default(),
        shutdown.clone(),
        None,
        false,
        Some(Duration::from_millis(100)),
    )
    .await;
    let guard = shutdown.critical();
    shutdown.exit();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !server.task.is_finished(),
        "exited with a reset on the wire"
    );
    assert!(server.socket_dir().exists());
    let released = tokio::time::Instant::now();
    drop(guard);
    let dir = server.socket_dir().to_path_buf();
    server.finished().await.unwrap();
    assert!(
        released.elapsed() < Duration::from_secs(2),
        "exit is prompt once idle: {:?}",
        released.elapsed()
    );
    assert!(!dir.exists());
}
