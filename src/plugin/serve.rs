//! The plugin server: checks Terraform's launch environment, listens on a private unix socket (with AutoMTLS when
//! Terraform asks for it), prints the handshake line, serves `tfplugin6.Provider` beside go-plugin's controller,
//! stdio and health services, and stops gracefully on the one process-wide [`Shutdown`] signal.
//!
//! [`serve`] is what `main` calls with the Provider implementation. [`serve_routes`] takes any set of tonic
//! services instead, so transport tests can run the real server without a full Provider.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;
use tonic::service::Routes;
use tonic::transport::server::{Connected, UdsConnectInfo};
use tonic::{Request, Response, Status};

use crate::plugin::handshake::{self, HandshakeError, SocketDir};
use crate::plugin::mtls::{self, MtlsError, ServerIdentity};
use crate::plugin::proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use crate::plugin::proto::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use crate::plugin::proto::plugin::{Empty, StdioData};
use crate::plugin::proto::tfplugin6::provider_server::{Provider, ProviderServer};
use crate::shutdown::Shutdown;

/// The largest gRPC message we accept or send. Terraform sends whole states and plans in one message, and a state
/// can be large; tonic's 4 MiB default would fail such a run for no good reason.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
/// How long one client may take over its TLS handshake before we give up on it.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, after the shutdown signal, in-flight calls get to finish before `serve` returns anyway.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
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
    /// Whether SIGINT and SIGTERM fire the shutdown signal (off in tests, which share one process).
    pub handle_signals: bool,
    /// How long in-flight calls may take to finish once shutdown fires.
    pub drain_timeout: Duration,
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
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
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
    /// SIGINT/SIGTERM handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// The handshake line could not be written.
    #[error("cannot write the handshake line to stdout: {0}")]
    HandshakeWrite(#[source] io::Error),
    /// The gRPC server itself failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `provider` as `tfplugin6.Provider` (with large message limits) plus go-plugin's services, until
/// `shutdown` fires. This is what `main` calls.
pub async fn serve<P: Provider>(
    provider: P,
    shutdown: Shutdown,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    let provider = ProviderServer::new(provider)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    serve_routes(Routes::new(provider), shutdown, opts).await
}

/// Serves `routes` plus `plugin.GRPCController`, `plugin.GRPCStdio` and `grpc.health.v1.Health` on the plugin
/// socket until `shutdown` fires, then removes the socket directory and returns.
pub async fn serve_routes(
    routes: Routes,
    shutdown: Shutdown,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    if !opts.debug {
        handshake::check_magic_cookie(opts.magic_cookie.as_deref())?;
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
        watch_signals(shutdown.clone()).map_err(ServeError::Signals)?;
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
        let reattach = handshake::reattach_providers_json(
            handshake::PROVIDER_ADDRESS,
            std::process::id(),
            &socket_path,
        );
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
    let server = tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, signal);
    let drain_deadline = {
        let shutdown = shutdown.clone();
        let drain = opts.drain_timeout;
        async move {
            shutdown.exiting().await;
            tracing::debug!("shutdown signalled, finishing in-flight calls");
            tokio::time::sleep(drain).await;
        }
    };
    let result = tokio::select! {
        r = server => r.map_err(ServeError::from),
        () = drain_deadline => {
            tracing::warn!(timeout_s = opts.drain_timeout.as_secs(), "in-flight calls did not finish in time, stopping anyway");
            Ok(())
        }
    };
    health_reporter
        .set_service_status(HEALTH_SERVICE, tonic_health::ServingStatus::NotServing)
        .await;

    if let Err(e) = socket_dir.remove() {
        tracing::warn!(error = %e, "could not remove the plugin socket directory");
    }
    tracing::debug!("plugin server stopped");
    result
}

/// Fires `shutdown` on SIGINT or SIGTERM.
fn watch_signals(shutdown: Shutdown) -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
            () = shutdown.exiting() => return,
        };
        tracing::info!(signal = name, "signal received, shutting down");
        shutdown.exit();
    });
    Ok(())
}

/// Accepts connections until shutdown, doing each TLS handshake in its own task so that a slow or hostile client
/// cannot hold up Terraform's connection.
async fn accept_loop(
    listener: UnixListener,
    tls: Option<TlsAcceptor>,
    conns: mpsc::Sender<io::Result<PluginConn>>,
    shutdown: Shutdown,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.exiting() => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _addr)) => stream,
            Err(e) => {
                // Usually EMFILE or a client that hung up at once; back off briefly rather than spin.
                tracing::warn!(error = %e, "accepting a plugin connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let conns = conns.clone();
        match &tls {
            None => {
                if conns.send(Ok(PluginConn::Plain(stream))).await.is_err() {
                    break;
                }
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(tls)) => {
                            let _ = conns.send(Ok(PluginConn::Tls(Box::new(tls)))).await;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "plugin client failed the TLS handshake");
                        }
                        Err(_) => tracing::warn!("plugin client TLS handshake timed out"),
                    }
                });
            }
        }
    }
    // Dropping the listener here stops the kernel from queueing new connections.
}

/// One accepted connection, with or without TLS.
enum PluginConn {
    Plain(UnixStream),
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl Connected for PluginConn {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            PluginConn::Plain(s) => s.connect_info(),
            PluginConn::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for PluginConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            PluginConn::Plain(s) => s.is_write_vectored(),
            PluginConn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_flush(cx),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PluginConn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// `plugin.GRPCController`: Terraform calls `Shutdown` when it is done with us.
struct Controller {
    shutdown: Shutdown,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("terraform asked the plugin to shut down");
        // The reply still goes out: graceful shutdown lets in-flight calls, this one included, finish.
        self.shutdown.exit();
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: we never write to stdout/stderr through this channel (logs go to stderr directly), so the
/// stream carries nothing and ends at shutdown. Serving it, rather than `Unimplemented`, keeps go-plugin from
/// logging a warning on every launch.
struct Stdio {
    shutdown: Shutdown,
}

type StdioStream = Pin<Box<dyn futures_util::Stream<Item = Result<StdioData, Status>> + Send>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let stream = futures_util::stream::unfold(self.shutdown.clone(), |shutdown| async move {
            shutdown.exiting().await;
            None::<(Result<StdioData, Status>, Shutdown)>
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
