//! The process lifecycle: the stop and exit signals, and the count of requests whose answers must not be lost.
//!
//! Terraform means two different things when it winds a provider down, so there are two signals:
//! - **stop** (`StopProvider`, Ctrl-C): cancel waits and send nothing new to ThingSpace, but keep serving, so that
//!   Terraform still receives the answers of calls already on the wire;
//! - **exit** (`GRPCController.Shutdown`, SIGTERM, the parent Terraform gone): stop serving. Exit implies stop.
//!
//! A *critical* request is a log-in or a reset that has been sent. Its answer decides whether a new password reaches
//! state and whether a failed log-in is recorded, so the process never ends while one is on the wire; each one is
//! bounded by `request_timeout`, so waiting for them is bounded too.

use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A cloneable handle on the process lifecycle.
#[derive(Clone, Debug)]
pub struct Shutdown {
    stop: CancellationToken,
    exit: CancellationToken,
    critical: Arc<watch::Sender<usize>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A lifecycle with neither signal fired and nothing in flight.
    pub fn new() -> Self {
        let (critical, _rx) = watch::channel(0);
        Self {
            stop: CancellationToken::new(),
            exit: CancellationToken::new(),
            critical: Arc::new(critical),
        }
    }

    /// Fires the stop signal: waits are cancelled and no new log-in or reset is sent. Firing twice is harmless.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Whether stop (or exit) has fired.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once stop (or exit) has fired; at once if it already has.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// Fires the exit signal (and stop): the server stops serving once nothing critical is in flight.
    pub fn exit(&self) {
        self.stop.cancel();
        self.exit.cancel();
    }

    /// Whether exit has fired.
    pub fn is_exiting(&self) -> bool {
        self.exit.is_cancelled()
    }

    /// Resolves once exit has fired; at once if it already has.
    pub async fn exiting(&self) {
        self.exit.cancelled().await;
    }

    /// Marks a critical request as on the wire until the returned guard is dropped.
    pub fn critical(&self) -> Critical {
        self.critical.send_modify(|n| *n += 1);
        Critical {
            critical: Arc::clone(&self.critical),
        }
    }

    /// How many critical requests are on the wire now.
    pub fn critical_in_flight(&self) -> usize {
        *self.critical.borrow()
    }

    /// Resolves once no critical request is on the wire; at once if none is.
    pub async fn idle(&self) {
        let mut rx = self.critical.subscribe();
        // `wait_for` checks the current value first, and only errs when the sender is gone, which `self` prevents.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// A critical request on the wire; dropping it (on any path, including a panic) ends it.
#[derive(Debug)]
pub struct Critical {
    critical: Arc<watch::Sender<usize>>,
}

impl Drop for Critical {
    fn drop(&mut self) {
        self.critical.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stop_resolves_waiters_from_a_clone_but_does_not_exit() {
        let s = Shutdown::new();
        assert!(!s.is_stopped());
        let c = s.clone();
        let waiter = tokio::spawn(async move { c.stopped().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        s.stop();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(s.is_stopped());
        assert!(!s.is_exiting());
    }

    #[tokio::test]
    async fn exit_implies_stop_and_resolves_at_once_afterwards() {
        let s = Shutdown::new();
        s.exit();
        assert!(s.is_stopped() && s.is_exiting());
        tokio::time::timeout(Duration::from_secs(1), s.exiting())
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(1), s.stopped())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn idle_waits_for_every_critical_request_to_end() {
        let s = Shutdown::new();
        tokio::time::timeout(Duration::from_secs(1), s.idle())
            .await
            .unwrap();
        let a = s.critical();
        let b = s.critical();
        assert_eq!(s.critical_in_flight(), 2);
        let c = s.clone();
        let waiter = tokio::spawn(async move { c.idle().await });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "one request is still on the wire");
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.critical_in_flight(), 0);
    }
}
