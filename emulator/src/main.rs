//! The `thingspace-emulator` binary: the library's emulator behind the CLI documented in the crate doc
//! (`lib.rs`). It prints its base URL as the one line on stdout and runs until a signal or, if asked, stdin EOF.

use std::io::{Read, Write};
use std::process::ExitCode;

use thingspace_emulator::cli;
use tracing_subscriber::filter::LevelFilter;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(cli::CliError::Help) => {
            eprintln!("{}\n{}", cli::USAGE, cli::HELP);
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
    let emulator = match thingspace_emulator::start(args.config()).await {
        Ok(e) => e,
        Err(error) if error.kind() == std::io::ErrorKind::InvalidInput && args.tls.is_some() => {
            eprintln!(
                "thingspace-emulator: cannot serve HTTPS with --tls-cert and --tls-key: {error}"
            );
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!(
                "thingspace-emulator: cannot listen on {}: {error}",
                args.listen
            );
            return ExitCode::FAILURE;
        }
    };
    {
        // The one line on stdout: whoever started us reads the base URL from it.
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{}", emulator.base_url())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    tracing::info!(addr = %emulator.addr(), clients = args.clients.len(), users = args.users.len(), "emulator listening");
    shutdown_signal(args.exit_on_stdin_eof).await;
    emulator.stop();
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
