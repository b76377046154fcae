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
//! [`serve`] is what `main` calls with the Provider implementation. [`serve_routes`] takes any set of tonic
//! services instead, so transport tests can run the real server without a full Provider.

use std::future::Future;
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

/// Runs `server` (already wired to stop accepting calls at exit) until the process may end, and returns its result.
///
/// The process may end once exit has fired, no critical request (log-in or reset) is on the wire, and the calls
/// on the wire have written their answers. The wait for critical requests is capped by
/// [`Shutdown::drain_cap`] (derived from the configured `request_timeout`, so it never cuts one short); after
/// that the other calls get `grace`. Should the server end first (Terraform hung up, which cancels its calls),
/// critical requests are still waited for: one running outside its call would otherwise be cut off.
pub async fn drain<F>(
    server: F,
    shutdown: &Shutdown,
    grace: Duration,
) -> Result<(), tonic::transport::Error>
where
    F: Future<Output = Result<(), tonic::transport::Error>>,
{
    drain_within(server, shutdown, shutdown.drain_cap(), grace).await
}

/// [`drain`] with the cap on the wait for critical requests given.
async fn drain_within<F>(
    server: F,
    shutdown: &Shutdown,
    cap: Duration,
    grace: Duration,
) -> Result<(), tonic::transport::Error>
where
    F: Future<Output = Result<(), tonic::transport::Error>>,
{
    tokio::pin!(server);
    let ended = tokio::select! {
        r = &mut server => Some(r),
        () = shutdown.exiting() => None,
    };
    let critical_deadline = tokio::time::Instant::now() + cap;
    let in_flight = shutdown.critical_in_flight();
    if in_flight > 0 {
        tracing::info!(
            in_flight,
            cap_s = cap.as_secs(),
            "waiting for log-ins and resets on the wire before exiting"
        );
    }
    let result = match ended {
        Some(r) => Some(r),
        None => {
            tracing::debug!("exit signalled, finishing in-flight calls");
            tokio::select! {
                r = &mut server => Some(r),
                idle = shutdown.idle_by(critical_deadline) => {
                    if !idle {
                        warn_still_critical(shutdown, cap);
                    }
                    match tokio::time::timeout(grace, &mut server).await {
                        Ok(r) => Some(r),
                        Err(_) => {
                            tracing::warn!(grace_s = grace.as_secs(), "in-flight calls did not finish in time, stopping anyway");
                            None
                        }
                    }
                }
            }
        }
    };
    if !shutdown.idle_by(critical_deadline).await {
        warn_still_critical(shutdown, cap);
    }
    result.unwrap_or(Ok(()))
}

fn warn_still_critical(shutdown: &Shutdown, cap: Duration) {
    tracing::warn!(
        in_flight = shutdown.critical_in_flight(),
        cap_s = cap.as_secs(),
        "a log-in or reset is still on the wire after the drain cap, stopping anyway"
    );
}

/// A signal the plugin handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, a service manager.
    Terminate,
    /// The terminal went away.
    Hangup,
}

impl Signal {
    /// The usual name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }
}

/// What a signal fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalAction {
    /// [`Shutdown::stop`]: send nothing new, keep serving.
    Stop,
    /// [`Shutdown::exit`].
    Exit,
}

/// Ctrl-C in a terminal reaches Terraform and every plugin it started. Terraform then calls StopProvider, waits for
/// the calls on the wire and closes the plugin itself, so a plugin that exited on SIGINT would lose the answers
/// Terraform is waiting for (a reset's new password among them). Under `--debug` a person started the plugin and
/// Ctrl-C is how they end it.
#[must_use]
pub fn signal_action(signal: Signal, debug: bool) -> SignalAction {
    match signal {
        Signal::Interrupt if !debug => SignalAction::Stop,
        Signal::Interrupt | Signal::Terminate | Signal::Hangup => SignalAction::Exit,
    }
}

/// Fires [`signal_action`] for SIGINT, SIGTERM and SIGHUP until exit.
fn watch_signals(shutdown: Shutdown, debug: bool) -> io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                _ = interrupt.recv() => Signal::Interrupt,
                _ = terminate.recv() => Signal::Terminate,
                _ = hangup.recv() => Signal::Hangup,
                () = shutdown.exiting() => return,
            };
            match signal_action(received, debug) {
                SignalAction::Stop => {
                    tracing::info!(
                        signal = received.name(),
                        "signal received, stopping api calls and leaving the shutdown to terraform"
                    );
                    shutdown.stop();
                }
                SignalAction::Exit => {
                    tracing::info!(signal = received.name(), "signal received, shutting down");
                    shutdown.exit();
                    // The handlers stay installed, so later signals are ignored while the drain finishes.
                    return;
                }
            }
        }
    });
    Ok(())
}

/// Fires exit once the process's parent is no longer `initial` (`current` reads the parent id; polled every
/// `every`). When Terraform dies, even by `kill -9`, its plugins are re-parented, and nobody will ever call
/// Shutdown. A parent-death signal would be simpler but would kill a reset mid-flight; exit lets the drain wait.
pub async fn watch_parent<F>(initial: u32, mut current: F, every: Duration, shutdown: Shutdown)
where
    F: FnMut() -> u32,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.exiting() => return,
        }
        let now = current();
        if now != initial {
            tracing::info!(
                parent = initial,
                new_parent = now,
                "the parent process is gone, shutting down"
            );
            shutdown.exit();
            return;
        }
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    #[test]
    fn sigint_only_stops_under_terraform_and_exits_under_debug() {
        let cases = [
            (Signal::Interrupt, false, SignalAction::Stop),
            (Signal::Interrupt, true, SignalAction::Exit),
            (Signal::Terminate, false, SignalAction::Exit),
            (Signal::Terminate, true, SignalAction::Exit),
            (Signal::Hangup, false, SignalAction::Exit),
            (Signal::Hangup, true, SignalAction::Exit),
        ];
        for (signal, debug, want) in cases {
            assert_eq!(
                signal_action(signal, debug),
                want,
                "{signal:?} debug={debug}"
            );
        }
    }

    /// A short poll period, so that the tests run in real time.
    const POLL: Duration = Duration::from_millis(10);

    #[tokio::test]
    async fn a_new_parent_fires_exit_within_a_poll_or_two() {
        let shutdown = Shutdown::new();
        let parent = Arc::new(AtomicU32::new(4242));
        let polls = Arc::new(AtomicU32::new(0));
        let (p, n) = (parent.clone(), polls.clone());
        let watcher = tokio::spawn(watch_parent(
            4242,
            move || {
                n.fetch_add(1, Ordering::Relaxed);
                p.load(Ordering::Relaxed)
            },
            POLL,
            shutdown.clone(),
        ));
        tokio::time::sleep(POLL * 20).await;
        assert!(!shutdown.is_stopped(), "the same parent fires nothing");
        assert!(polls.load(Ordering::Relaxed) >= 5, "it keeps polling");

        parent.store(1, Ordering::Relaxed);
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .unwrap()
            .unwrap();
        assert!(shutdown.is_exiting());
    }

    #[tokio::test]
    async fn the_parent_watch_ends_quietly_when_exit_comes_from_elsewhere() {
        let shutdown = Shutdown::new();
        let watcher = tokio::spawn(watch_parent(7, || 7, POLL, shutdown.clone()));
        tokio::time::sleep(POLL * 3).await;
        assert!(!watcher.is_finished());
        shutdown.exit();
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .unwrap()
            .unwrap();
    }

    /// A stand-in for the tonic server: ends when told to.
    fn fake_server() -> (
        oneshot::Sender<()>,
        impl Future<Output = Result<(), tonic::transport::Error>>,
    ) {
        let (tx, rx) = oneshot::channel::<()>();
        (tx, async move {
            let _ = rx.await;
            Ok(())
        })
    }

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn drain_waits_past_the_grace_for_a_critical_request_then_gives_the_calls_their_grace() {
        let shutdown = Shutdown::new();
        let (_server_tx, server) = fake_server();
        let grace = MS * 50;
        let drained = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { drain_within(server, &shutdown, MS * 60_000, grace).await }
        });
        let reset = shutdown.critical();
        tokio::time::sleep(MS * 100).await;
        assert!(!drained.is_finished(), "serving until exit");

        shutdown.exit();
        tokio::time::sleep(grace * 8).await;
        assert!(!drained.is_finished(), "a reset is on the wire");
        let released = Instant::now();
        drop(reset);
        // The server (a call that never ends) gets its grace, then the drain is over.
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(released.elapsed() >= grace);
    }

    #[tokio::test]
    async fn drain_keeps_waiting_for_a_critical_request_after_the_server_ended() {
        let shutdown = Shutdown::new();
        let (server_tx, server) = fake_server();
        let drained = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { drain_within(server, &shutdown, MS * 60_000, MS * 60_000).await }
        });
        let reset = shutdown.critical();
        shutdown.exit();
        // Terraform hung up: every connection is gone and the server ends at once.
        server_tx.send(()).unwrap();
        tokio::time::sleep(MS * 300).await;
        assert!(!drained.is_finished());
        drop(reset);
        // And it ends as soon as nothing is on the wire, without any grace.
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn drain_ends_with_the_server_when_nothing_critical_is_on_the_wire() {
        let shutdown = Shutdown::new();
        let (server_tx, server) = fake_server();
        let drained = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { drain_within(server, &shutdown, MS * 60_000, MS * 60_000).await }
        });
        tokio::time::sleep(MS * 50).await;
        shutdown.exit();
        tokio::time::sleep(MS * 200).await;
        assert!(!drained.is_finished(), "calls on the wire get their grace");
        server_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), drained)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_guard_that_is_never_dropped_is_given_up_on_at_the_cap() {
        let shutdown = Shutdown::new();
        let (_server_tx, server) = fake_server();
        let leaked = shutdown.critical();
        let exited = Instant::now();
        shutdown.exit();
        let (cap, grace) = (MS * 300, MS * 100);
        tokio::time::timeout(
            Duration::from_secs(5),
            drain_within(server, &shutdown, cap, grace),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(exited.elapsed() >= cap + grace, "{:?}", exited.elapsed());
        drop(leaked);
    }
}
