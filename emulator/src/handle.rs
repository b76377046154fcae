//! Starting an emulator in-process and driving it from Rust: [`spawn`] (its own thread and runtime), [`start`]
//! (the caller's Tokio runtime), and the [`Emulator`] handle with the control API as typed methods.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::model::{
    ControlError, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Expire, Expired, Fault, Held, Issued,
    Request, Stats, User,
};
use crate::server::{self, Shared, Tls};
use crate::state::{State, TOKEN_LIFETIME_MS};

/// What an emulator starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address to bind; `127.0.0.1:0` (the default) lets the OS pick the port.
    pub listen: String,
    /// OAuth app keys and secrets. None means the default client
    /// ([`DEFAULT_CLIENT_ID`]:[`DEFAULT_CLIENT_SECRET`]).
    pub clients: Vec<(String, String)>,
    /// Users (name, password) created at start.
    pub users: Vec<(String, String)>,
    /// How long an OAuth token lives (ThingSpace: one hour). Tests of token renewal use seconds.
    pub token_lifetime: Duration,
    /// Serve HTTPS with this certificate instead of plain HTTP (tests of trust, proxies and TLS failures).
    pub tls: Option<Tls>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".to_owned(),
            clients: Vec::new(),
            users: Vec::new(),
            token_lifetime: Duration::from_millis(TOKEN_LIFETIME_MS),
            tls: None,
        }
    }
}

impl Config {
    pub fn listen(mut self, addr: &str) -> Self {
        addr.clone_into(&mut self.listen);
        self
    }

    /// Registers an OAuth client (the default client is then not registered).
    pub fn client(mut self, id: &str, secret: &str) -> Self {
        self.clients.push((id.to_owned(), secret.to_owned()));
        self
    }

    pub fn user(mut self, username: &str, password: &str) -> Self {
        self.users.push((username.to_owned(), password.to_owned()));
        self
    }

    /// Serves HTTPS with `tls`; the base URL then starts with `https://`.
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Tokens live `lifetime` instead of an hour (at least 1 ms; `expires_in` is whole seconds).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    fn state(&self) -> State {
        let mut state = if self.clients.is_empty() {
            let default = [(
                DEFAULT_CLIENT_ID.to_owned(),
                DEFAULT_CLIENT_SECRET.to_owned(),
            )];
            State::new(&default, &self.users)
        } else {
            State::new(&self.clients, &self.users)
        };
        state
            .set_token_lifetime(u64::try_from(self.token_lifetime.as_millis()).unwrap_or(u64::MAX));
        state
    }
}

/// A running emulator. Dropping it (or [`Emulator::stop`]) stops the server and every request it holds.
///
/// The methods are the control API without HTTP: they act on the same state, so a test may mix them with
/// `/_emulator/` calls.
#[derive(Debug)]
pub struct Emulator {
    base_url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    /// The server's own thread, when started by [`spawn`].
    thread: Option<JoinHandle<()>>,
}

/// Starts an emulator with the default client and no users on 127.0.0.1 (an OS-chosen port), served by a
/// thread of its own with a single-threaded Tokio runtime. For synchronous tests.
pub fn spawn() -> std::io::Result<Emulator> {
    spawn_with(Config::default())
}

/// [`spawn`] with a configuration.
pub fn spawn_with(config: Config) -> std::io::Result<Emulator> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let std_listener = std::net::TcpListener::bind(&config.listen)?;
    std_listener.set_nonblocking(true)?;
    let listener = {
        let _context = runtime.enter();
        TcpListener::from_std(std_listener)?
    };
    let addr = listener.local_addr()?;
    let acceptor = server::tls_acceptor(config.tls.as_ref())?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let shared = Arc::new(Shared::new(config.state()));
    let stop = CancellationToken::new();
    let thread = std::thread::Builder::new()
        .name(format!("thingspace-emulator-{}", addr.port()))
        .spawn({
            let (shared, stop) = (Arc::clone(&shared), stop.clone());
            move || {
                runtime.block_on(server::serve(listener, acceptor, shared, stop));
                // Connections may sit in a long fault delay; don't wait for them.
                runtime.shutdown_background();
            }
        })?;
    Ok(Emulator::new(scheme, addr, shared, stop, Some(thread)))
}

/// Starts an emulator on the caller's Tokio runtime (any flavour). For async tests and the binary.
pub async fn start(config: Config) -> std::io::Result<Emulator> {
    let listener = TcpListener::bind(&config.listen).await?;
    let addr = listener.local_addr()?;
    let acceptor = server::tls_acceptor(config.tls.as_ref())?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let shared = Arc::new(Shared::new(config.state()));
    let stop = CancellationToken::new();
    tokio::spawn(server::serve(
        listener,
        acceptor,
        Arc::clone(&shared),
        stop.clone(),
    ));
    Ok(Emulator::new(scheme, addr, shared, stop, None))
}

impl Emulator {
    fn new(
        scheme: &str,
        addr: SocketAddr,
        shared: Arc<Shared>,
        stop: CancellationToken,
        thread: Option<JoinHandle<()>>,
    ) -> Self {
        Self {
            base_url: format!("{scheme}://{addr}"),
            addr,
            shared,
            stop,
            thread,
        }
    }

    /// e.g. `http://127.0.0.1:40123` (`https://` with [`Config::tls`]), without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The full URL of `path` (an API or control path).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server now; requests in flight are abandoned without an answer. Same as dropping it.
    pub fn stop(self) {}

    /// Creates or replaces a user: unlocked, counters zeroed.
    pub fn add_user(&self, username: &str, password: &str) -> Result<User, ControlError> {
        self.shared.lock().add_user(username, password)
    }

    pub fn user(&self, username: &str) -> Option<User> {
        self.shared.lock().user_view(username)
    }

    /// Every user, ordered by name.
    pub fn users(&self) -> Vec<User> {
        self.shared.lock().user_views()
    }

    /// Every API request since the log was last cleared, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().log().to_vec()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().clear_log();
    }

    /// Request counts per API step since the log was last cleared.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats()
    }

    /// Every OAuth access token, session token and reset password issued since start.
    pub fn issued(&self) -> Issued {
        self.shared.lock().issued().clone()
    }

    /// Checks and queues a fault; returns the number of fault applications pending over all paths.
    pub fn fault(&self, fault: &Fault) -> Result<u64, ControlError> {
        self.shared.lock().add_fault(fault).map(|p| p.pending)
    }

    pub fn pending_faults(&self) -> u64 {
        self.shared.lock().pending_faults().pending
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The requests waiting under a `hold` fault, oldest first.
    pub fn held(&self) -> Vec<Held> {
        self.shared.lock().holds.list()
    }

    /// Releases the held request `seq`: it goes on as its fault says. False when it was not held.
    pub fn release(&self, seq: u64) -> bool {
        let released = self.shared.lock().holds.release(seq);
        self.shared.wake_held();
        released
    }

    /// Releases every held request; returns how many there were.
    pub fn release_all(&self) -> u64 {
        let released = self.shared.lock().holds.release_all();
        self.shared.wake_held();
        released
    }

    /// API requests being served now, counting `late` ones that are still to be processed after their client
    /// left. Zero means every effect has landed.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    /// Emulator time in ms: the real clock plus every advance.
    pub fn now_ms(&self) -> u64 {
        self.shared.lock().now(self.shared.real_ms())
    }

    /// Moves emulator time forward (token hours and session idle time follow it); returns the new time.
    pub fn advance_clock(&self, by: Duration) -> u64 {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let mut state = self.shared.lock();
        state.advance(ms);
        state.now(self.shared.real_ms())
    }

    /// Ends every OAuth token and/or every session now.
    pub fn expire(&self, tokens: bool, sessions: bool) -> Expired {
        self.shared.lock().expire(Expire { tokens, sessions })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
