//! `thingspace-emulator`: a local, faithful emulator of the ThingSpace API calls the provider
//! makes, with a control API for tests and the quickstart.
//!
//! # CLI
//! ```text
//! thingspace-emulator [--listen ADDR] [--client ID:SECRET]... [--user NAME:PASSWORD]... [--exit-on-stdin-eof]
//! ```
//! - `--listen` defaults to `127.0.0.1:0` (the OS picks the port). Once bound, the emulator
//!   prints exactly one line to stdout, its base URL (`http://127.0.0.1:40123`), and nothing
//!   else ever goes to stdout. Logs go to stderr, at the level in `THINGSPACE_EMULATOR_LOG`
//!   (`error`..`trace`, default `warn`; `debug` logs one line per API request, never a secret).
//! - `--client` registers an OAuth app key and secret (repeatable); with none, the app is
//!   `emulator-client:emulator-secret`. `--user` creates a user (repeatable). Both split at the
//!   first `:`, so secrets and passwords may contain colons.
//! - It runs until SIGINT or SIGTERM, or with `--exit-on-stdin-eof` until stdin reaches EOF, so
//!   a test that dies never leaves an orphan behind.
//!
//! # Emulated API (see `api.rs` for the error codes the emulator chose)
//! - `POST /api/ts/v1/oauth2/token` (Basic app key:secret, form `grant_type=client_credentials`,
//!   optional `scope`): the same token for its whole hour, per client; `expires_in` is the
//!   seconds left. `POST /api/ts/v1/oauth2/revoke` (form `token=`) revokes one.
//! - `POST /api/m2m/v1/session/login`, `PUT /api/m2m/v1/session/password/actions/reset`,
//!   `POST /api/m2m/v1/session/logout`: bearer token checked by the "gateway" (401 fault 900902
//!   missing, 900901 unknown or expired), sessions expire after 20 idle minutes, a user locks
//!   after 5 consecutive failed log-ins, a reset makes a new random 12-character password.
//! - Unknown path: 404 with a gateway fault body; wrong method: 405 with an `Allow` header.
//!
//! # Control API (no auth, JSON in and out)
//! - `POST /_emulator/users {"username","password"}` → 201 user view; creates or replaces the
//!   user, unlocked, counters zeroed. `GET /_emulator/users` → all user views.
//! - `GET /_emulator/users/{username}` → 200 `{"username","password","locked",
//!   "consecutive_failed_logins","failed_logins","successful_logins","resets","logouts"}`, or
//!   404. `failed_logins` also counts attempts refused because the user was locked.
//! - `GET /_emulator/requests` → every API request served since the last clear, in order:
//!   `{"seq","method","path","status" (null if no response was delivered: dropped, or abandoned
//!   by the client during a fault delay),"username","outcome" ("ok"|"failed_login"|"locked"|
//!   "error"|"fault"),"effect","fault","user_agent","at_ms"}`. `DELETE` clears it.
//! - `GET /_emulator/stats` → `{"token","login","reset","logout","tokens_issued"}`, counted over
//!   the request log (so `DELETE /_emulator/requests` zeroes them too).
//! - `POST /_emulator/faults {"path","count":1,"when":"before"|"after","delay_ms":0,"status",
//!   "body":"","content_type":"application/json","headers":{},"drop":false}` → 201
//!   `{"pending":n}`. The next `count` requests to `path` (any method) draw the fault; faults
//!   queue per path in registration order. `before`: wait `delay_ms`, then answer the fault (or
//!   drop the connection) without processing. `after`: process (the request takes effect), wait
//!   `delay_ms`, then answer the fault or drop. No `status` and no `drop` means only the delay,
//!   then the normal answer. Faulted requests are logged with `"fault": true`, and
//!   `"outcome": "fault"` when the answer was replaced. `GET` → pending count; `DELETE` clears.
//! - `GET /_emulator/clock` → `{"now_ms"}`; `POST /_emulator/clock {"advance_secs": n}` moves
//!   emulator time forward (token hours and session idle time follow it).
//! - `POST /_emulator/expire {"tokens":bool,"sessions":bool}` → ends all OAuth tokens and/or
//!   sessions; answers `{"tokens_expired","sessions_expired"}`.

mod api;
mod cli;
mod control;
mod faults;
mod server;
mod state;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing_subscriber::filter::LevelFilter;

use crate::server::Emulator;
use crate::state::State;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(cli::CliError::Help) => {
            eprintln!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("thingspace-emulator: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };

    let level = std::env::var("THINGSPACE_EMULATOR_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::WARN);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("thingspace-emulator: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(args));
    // Connections may sit in a long fault delay; don't wait for them.
    runtime.shutdown_background();
    code
}

async fn run(args: cli::Args) -> ExitCode {
    let listener = match TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(error) => {
            eprintln!(
                "thingspace-emulator: cannot listen on {}: {error}",
                args.listen
            );
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(error) => {
            eprintln!("thingspace-emulator: no local address: {error}");
            return ExitCode::FAILURE;
        }
    };
    {
        // The one line on stdout: whoever started us reads the base URL from it.
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "http://{addr}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    tracing::info!(%addr, clients = args.clients.len(), users = args.users.len(), "emulator listening");

    let emulator = Arc::new(Emulator::new(State::new(&args.clients, &args.users)));
    server::serve(listener, emulator, shutdown_signal(args.exit_on_stdin_eof)).await;
    tracing::info!("emulator stopped");
    ExitCode::SUCCESS
}

/// Completes on SIGINT, SIGTERM, or (when asked) EOF on stdin.
async fn shutdown_signal(exit_on_stdin_eof: bool) {
    let stdin_eof = async {
        if !exit_on_stdin_eof {
            return std::future::pending().await;
        }
        // A plain thread does the blocking read; process exit ends it if EOF never comes.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("stdin-watch".to_owned())
            .spawn(move || {
                let mut stdin = std::io::stdin().lock();
                let mut buf = [0u8; 256];
                while let Ok(n) = stdin.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
                let _ = tx.send(());
            });
        match spawned {
            // Either EOF or the thread died: both mean the parent is gone.
            Ok(_) => {
                let _ = rx.await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch stdin; --exit-on-stdin-eof is ignored");
                std::future::pending::<()>().await;
            }
        }
    };
    let terminate = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
        () = stdin_eof => {}
    }
}
