//! The plugin server: checks Terraform's launch environment, listens on a private unix socket (with AutoMTLS when
//! Terraform asks for it), prints the handshake line, serves `tfplugin6.Provider` beside go-plugin's controller,
//! stdio and health services, and stops gracefully on the one process-wide [`Shutdown`] signal.
//!
//! Winding down follows Terraform's own protocol. Ctrl-C reaches the whole terminal process group, but Terraform
//! handles it itself (StopProvider, then it waits for the calls on the wire), so a plain SIGINT only fires *stop*
//! here, as go-plugin plugins ignore it. *Exit* (GRPCController.Shutdown, SIGTERM, SIGHUP, the parent Terraform
//! gone) stops serving, but the process still waits until no log-in or reset is on the wire and the calls that
//! carried them have written their answers (see [`drain`]).
//!
//! [`serve`] is what `main` calls with the provider's service. [`serve_routes`] takes any set of tonic services
//! instead, so transport tests can run the real server without a full provider.
//!
//! Layout: the connections in `conn.rs`, go-plugin's controller and stdio services in `go_plugin.rs`, signals and
//! the parent watch in `signals.rs`, the wait before the process ends in `drain.rs`.

mod conn;
mod drain;
mod go_plugin;
mod signals;

pub use drain::drain;
pub use signals::{Signal, SignalAction, signal_action, watch_parent};

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;
use tonic::service::Routes;

use crate::plugin::handshake::{self, HandshakeError, SocketDir};
use crate::plugin::mtls::{self, MtlsError, ServerIdentity};
use crate::plugin::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::plugin::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::plugin::proto::tfplugin6::provider_server::ProviderServer;
use crate::plugin::provider::Provider;
use crate::plugin::service::ProviderService;
use crate::shutdown::Shutdown;
use conn::{PluginConn, accept_loop};
use go_plugin::{Controller, Stdio};
use signals::watch_signals;

/// The largest gRPC message we accept or send. Terraform sends whole states and plans in one message, and a state
/// can be large; tonic's 4 MiB default would fail such a run for no good reason.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// How long, after exit and once no log-in or reset is on the wire, the remaining calls get to finish. Every API
/// wait is cancelled by then, so this is only for writing answers.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// How often the parent process id is checked. `getppid` is a cheap system call; a quarter second is prompt
/// enough for a process nobody is waiting for.
pub const PARENT_POLL: Duration = Duration::from_millis(250);
/// The health service name go-plugin's client checks.
const HEALTH_SERVICE: &str = "plugin";

/// Where the handshake line goes.
#[derive(Debug, Default)]
pub enum HandshakeOut {
    /// Standard output, flushed at once: what Terraform reads.
    #[default]
    Stdout,
    /// A channel, for in-process tests (the line includes its trailing newline).
    Channel(oneshot::Sender<String>),
}

/// Everything `serve` needs to know, gathered up front so that tests never touch the process environment.
#[derive(Debug)]
pub struct ServeOptions {
    /// `--debug`: serve without Terraform's cookie, without TLS, and print `TF_REATTACH_PROVIDERS` on stderr.
    pub debug: bool,
    /// `TF_PLUGIN_MAGIC_COOKIE`.
    pub magic_cookie: Option<String>,
    /// `PLUGIN_PROTOCOL_VERSIONS`.
    pub protocol_versions: Option<String>,
    /// `PLUGIN_CLIENT_CERT` (PEM): when present, AutoMTLS is on.
    pub client_cert_pem: Option<String>,
    /// `PLUGIN_UNIX_SOCKET_DIR`: where the private socket directory is made (the temp dir when unset).
    pub socket_parent: Option<PathBuf>,
    /// Whether SIGINT, SIGTERM and SIGHUP are handled (off in tests, which share one process).
    pub handle_signals: bool,
    /// After exit, once no log-in or reset is on the wire, how long the other calls may take to finish.
    pub grace: Duration,
    /// The parent process id at launch: when the process is re-parented (Terraform died), exit fires. `None`
    /// watches nothing (tests that share one process).
    pub parent_pid: Option<u32>,
    /// Where the handshake line is written.
    pub handshake_out: HandshakeOut,
}

impl ServeOptions {
    /// Options from the process environment, as Terraform launches us (or as a person runs `--debug`).
    pub fn from_env(debug: bool) -> Self {
        let var = |key: &str| std::env::var(key).ok();
        Self {
            debug,
            magic_cookie: var(handshake::MAGIC_COOKIE_KEY),
            protocol_versions: var(handshake::PROTOCOL_VERSIONS_KEY),
            client_cert_pem: var(handshake::CLIENT_CERT_KEY).filter(|s| !s.trim().is_empty()),
            socket_parent: var(handshake::UNIX_SOCKET_DIR_KEY)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            handle_signals: true,
            grace: DEFAULT_GRACE,
            parent_pid: Some(std::os::unix::process::parent_id()),
            handshake_out: HandshakeOut::Stdout,
        }
    }
}

/// Why serving failed. Each message is meant for a person reading Terraform's error output.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The launch environment is wrong (not launched by Terraform, wrong protocol, no socket directory).
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// AutoMTLS could not be set up.
    #[error(transparent)]
    Mtls(#[from] MtlsError),
    /// The socket could not be bound.
    #[error("cannot listen on {}: {source}", .path.display())]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// The handshake line could not be written.
    #[error("cannot write the handshake line to stdout: {0}")]
    HandshakeWrite(#[source] io::Error),
    /// The gRPC server itself failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves the provider's service as `tfplugin6.Provider` (with large message limits) plus go-plugin's services,
/// until `shutdown` fires. This is what `main` calls.
pub async fn serve<P: Provider>(
    service: ProviderService<P>,
    shutdown: Shutdown,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    let address = service.address().to_owned();
    let provider = ProviderServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    serve_at(&address, Routes::new(provider), shutdown, opts).await
}

/// The provider address [`serve_routes`] serves under, where a provider's own address would be named: transport
/// tests serve bare routes, not a provider.
pub const STAND_IN_ADDRESS: &str = "registry.terraform.io/example/provider";

/// [`serve_at`] under [`STAND_IN_ADDRESS`], for transport tests that serve bare tonic routes.
pub async fn serve_routes(
    routes: Routes,
    shutdown: Shutdown,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    serve_at(STAND_IN_ADDRESS, routes, shutdown, opts).await
}

/// Serves `routes` plus `plugin.GRPCController`, `plugin.GRPCStdio` and `grpc.health.v1.Health` on the plugin
/// socket until `shutdown` fires, then removes the socket directory and returns. `address` is the provider's
/// registry address, named where a person needs it: refusing a launch by hand, and the `--debug` reattach value.
pub async fn serve_at(
    address: &str,
    routes: Routes,
    shutdown: Shutdown,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    if !opts.debug {
        handshake::check_magic_cookie(opts.magic_cookie.as_deref(), address)?;
        handshake::negotiate_protocol_version(opts.protocol_versions.as_deref())?;
    }

    // Debug sessions are reattached by Terraform without any certificate exchange, so they are plain gRPC.
    let tls = match (&opts.client_cert_pem, opts.debug) {
        (Some(pem), false) => {
            let trusted = mtls::parse_client_certs(pem)?;
            let identity = ServerIdentity::generate()?;
            let config = mtls::server_config(&identity, trusted)?;
            Some((TlsAcceptor::from(config), identity))
        }
        _ => None,
    };

    let socket_dir = SocketDir::create(opts.socket_parent.as_deref())?;
    let socket_path = socket_dir.socket_path();
    let listener = UnixListener::bind(&socket_path).map_err(|source| ServeError::Bind {
        path: socket_path.clone(),
        source,
    })?;

    if opts.handle_signals {
        watch_signals(shutdown.clone(), opts.debug).map_err(ServeError::Signals)?;
    }
    if let Some(parent) = opts.parent_pid {
        tokio::spawn(watch_parent(
            parent,
            std::os::unix::process::parent_id,
            PARENT_POLL,
            shutdown.clone(),
        ));
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::Serving)
        .await;

    let routes = routes
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown.clone(),
        }))
        .add_service(GrpcStdioServer::new(Stdio {
            shutdown: shutdown.clone(),
        }))
        .add_service(health_service);

    let (conn_tx, conn_rx) = mpsc::channel::<io::Result<PluginConn>>(16);
    let acceptor = tls.as_ref().map(|(acceptor, _)| acceptor.clone());
    tokio::spawn(accept_loop(listener, acceptor, conn_tx, shutdown.clone()));

    // The listener is bound, so Terraform can connect the moment it reads the line.
    let cert_der = tls.as_ref().map(|(_, id)| id.cert_der().as_ref());
    let line = handshake::handshake_line(&socket_path, cert_der);
    tracing::debug!(socket = %socket_path.display(), tls = tls.is_some(), "plugin listening");
    if opts.debug {
        let reattach =
            handshake::reattach_providers_json(address, std::process::id(), &socket_path);
        // stderr, never stdout: stdout is reserved for the handshake channel even in debug sessions.
        eprintln!(
            "Provider started in debug mode. To attach Terraform, run in another shell:\n\n\
             \texport TF_REATTACH_PROVIDERS='{reattach}'\n\n\
             then run terraform there. Stop the provider with Ctrl-C."
        );
    }
    match opts.handshake_out {
        HandshakeOut::Stdout if !opts.debug => {
            let mut out = io::stdout().lock();
            out.write_all(line.as_bytes())
                .and_then(|()| out.flush())
                .map_err(ServeError::HandshakeWrite)?;
        }
        HandshakeOut::Stdout => {}
        HandshakeOut::Channel(tx) => {
            // A test that stopped listening is not a reason to stop serving.
            let _ = tx.send(line);
        }
    }

    let incoming = tokio_stream::wrappers::ReceiverStream::new(conn_rx);
    let signal = {
        let shutdown = shutdown.clone();
        async move { shutdown.exiting().await }
    };
    // From exit on, the server refuses new calls and lets the ones on the wire finish (graceful shutdown).
    let server = tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);
    let result = drain(server, &shutdown, opts.grace)
        .await
        .map_err(ServeError::from);
    health_reporter
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::NotServing)
        .await;

    if let Err(e) = socket_dir.remove() {
        tracing::warn!(error = %e, "could not remove the plugin socket directory");
    }
    tracing::debug!("plugin server stopped");
    result
}
