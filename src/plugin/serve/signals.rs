//! What ends the process besides Terraform's own Shutdown call: signals, and the parent Terraform going away.

use std::io;
use std::time::Duration;

use crate::shutdown::Shutdown;

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
pub(super) fn watch_signals(shutdown: Shutdown, debug: bool) -> io::Result<()> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

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
}
