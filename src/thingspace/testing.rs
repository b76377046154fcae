//! The harness the client's tests share: the ThingSpace emulator (`thingspace_emulator`), started in-process on the
//! test's own runtime, a client pointed at it with short retry delays, and readers of what the emulator recorded
//! (its request log, its users, the secrets it handed out). The same emulator, with the same fault model, serves the
//! acceptance tests and the benchmarks. For the network tests: a certificate authority made per test ([`TestCa`]),
//! the emulator serving HTTPS with it, and a CONNECT proxy ([`ConnectProxy`]) that records where it was asked to go.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use thingspace_emulator::{Config, Emulator, Request, Tls, User};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use thingspace_emulator::{
    Fault, LOGIN_PATH as LOGIN, LOGOUT_PATH as LOGOUT, Outcome, RESET_PATH as RESET,
    TOKEN_PATH as TOKEN,
};

use super::{Client, ClientConfig, Policy, validate_base_url};
use crate::shutdown::Shutdown;

/// The OAuth app the emulator knows the tests' clients by.
pub const CLIENT_ID: &str = "app-key";
pub const CLIENT_SECRET: &str = "app-secret-xyz";

/// How long any wait for the emulator may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

/// Retry delays short enough for tests, with the default's shape.
pub fn fast_policy() -> Policy {
    Policy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(60),
        budget: Duration::from_secs(10),
        max_attempts: 6,
        max_connect_attempts: 3,
    }
}

/// A request that never gets an answer and never takes effect: held at the emulator and never released, until its
/// client gives up.
pub fn hang(path: &str) -> Fault {
    Fault::hold(path)
}

/// An emulator on the test's runtime. Shared (`Arc`) so that watcher tasks can act on it while a rotation runs.
#[derive(Clone)]
pub struct Emu(Arc<Emulator>);

impl std::ops::Deref for Emu {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.0
    }
}

impl Emu {
    pub async fn start() -> Emu {
        Self::start_with(Config::default()).await
    }

    /// An emulator serving HTTPS with a certificate from `ca` for `names`.
    pub async fn start_tls(ca: &TestCa, names: &[&str]) -> Emu {
        Self::start_with(Config::default().tls(ca.server(names))).await
    }

    pub async fn start_with(config: Config) -> Emu {
        let emu = thingspace_emulator::start(config.client(CLIENT_ID, CLIENT_SECRET))
            .await
            .unwrap();
        Emu(Arc::new(emu))
    }

    /// An emulator on a thread of its own, for a test that captures its own thread's log and must not capture the
    /// emulator's.
    pub fn spawn() -> Emu {
        let config = Config::default().client(CLIENT_ID, CLIENT_SECRET);
        Emu(Arc::new(thingspace_emulator::spawn_with(config).unwrap()))
    }

    pub fn add(&self, username: &str, password: &str) {
        self.add_user(username, password).unwrap();
    }

    /// Queues `fault` for the next request to its path.
    pub fn inject(&self, fault: Fault) {
        self.fault(&fault).unwrap();
    }

    pub fn account(&self, username: &str) -> User {
        self.user(username).unwrap()
    }

    pub fn password(&self, username: &str) -> String {
        self.account(username).password
    }

    pub fn failed_logins(&self, username: &str) -> u64 {
        self.account(username).failed_logins
    }

    pub fn resets(&self, username: &str) -> u64 {
        self.account(username).resets
    }

    /// The requests to `path` the emulator served, in order.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests_to(path).len()
    }

    /// Every access token and session token the emulator handed out: none may show up in a message or a log.
    pub fn issued_tokens(&self) -> Vec<String> {
        let issued = self.issued();
        [issued.access_tokens, issued.session_tokens].concat()
    }

    /// Waits until the emulator serves no request, so late effects have landed and abandoned requests are gone.
    pub async fn settle(&self) {
        let deadline = Instant::now() + PATIENCE;
        while self.in_flight() > 0 {
            assert!(Instant::now() < deadline, "the emulator never settled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until a request to `path` is held at the emulator (a [`Fault::hold`]); returns its log `seq`.
    pub async fn held_request(&self, path: &str) -> u64 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(held) = self.held().into_iter().find(|h| h.path == path) {
                return held.seq;
            }
            assert!(Instant::now() < deadline, "no request to {path} was held");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Once a request to `path` is held at the emulator, runs `then` while it waits there, then releases it.
    pub fn when_held<F, Fut>(&self, path: &'static str, then: F) -> JoinHandle<()>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let emu = self.clone();
        tokio::spawn(async move {
            let seq = emu.held_request(path).await;
            then().await;
            emu.release(seq);
        })
    }

    pub fn client(&self, timeout: Duration, cancel: Shutdown) -> Client {
        self.client_with_secret(timeout, cancel, CLIENT_SECRET)
    }

    pub fn client_with_secret(&self, timeout: Duration, cancel: Shutdown, secret: &str) -> Client {
        let cfg = ClientConfig {
            base_url: validate_base_url(&format!("{}/", self.base_url())).unwrap(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(secret),
            request_timeout: timeout,
            user_agent: "terraform-provider-thingspace/test".into(),
            base_url_source: Default::default(),
            proxy: None,
            ca: None,
        };
        Client::with_retry_policy(cfg, cancel, fast_policy()).unwrap()
    }
}

/// A certificate authority made for one test, which issues the emulator's server certificates.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    /// The CA certificate, PEM: what `ca_file` holds.
    pub pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "thingspace provider test CA");
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            issuer: rcgen::Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate for `names` (host names or IP addresses) and its key.
    pub fn server(&self, names: &[&str]) -> Tls {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Tls {
            cert_chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn bundle(&self) -> super::CaBundle {
        super::CaBundle::from_pem(self.pem.as_bytes()).unwrap()
    }
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1: it records every CONNECT target, resolves host names only through its
/// own table (so a name that works proves the request went through it), and tunnels bytes both ways.
pub struct ConnectProxy {
    pub url: String,
    targets: Arc<std::sync::Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// Starts the proxy; `hosts` maps the names it knows to addresses.
    pub async fn start(hosts: &[(&str, std::net::SocketAddr)]) -> ConnectProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hosts: Vec<(String, std::net::SocketAddr)> =
            hosts.iter().map(|(h, a)| ((*h).to_owned(), *a)).collect();
        let targets = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = Arc::clone(&targets);
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (hosts, recorded) = (hosts.clone(), Arc::clone(&recorded));
                tokio::spawn(async move {
                    // The request head: "CONNECT host:port HTTP/1.1" and headers, up to the empty line.
                    let mut head = Vec::new();
                    while !head.ends_with(b"\r\n\r\n") {
                        let mut byte = [0u8; 1];
                        if client.read_exact(&mut byte).await.is_err() || head.len() > 8192 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let mut words = head.split_whitespace();
                    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
                        let _ = client
                            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                            .await;
                        return;
                    };
                    recorded.lock().unwrap().push(target.to_owned());
                    let (host, port) = target.rsplit_once(':').unwrap_or((target, "443"));
                    let known = hosts
                        .iter()
                        .find(|(h, a)| h == host && a.port().to_string() == port);
                    let upstream = match known {
                        Some((_, addr)) => tokio::net::TcpStream::connect(addr).await.ok(),
                        None => None,
                    };
                    let Some(mut upstream) = upstream else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                        return;
                    };
                    if client
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await
                        .is_ok()
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        ConnectProxy { url, targets, task }
    }

    /// The CONNECT targets asked for, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
