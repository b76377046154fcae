//! One shutdown signal for the whole process.
//!
//! `GRPCController.Shutdown`, `StopProvider`, SIGINT and SIGTERM all trigger the same signal. The gRPC server waits on it
//! to stop accepting work, and in-flight API calls watch it to cancel their waits (never to discard a password
//! ThingSpace already handed out).

use std::sync::Arc;
use tokio::sync::watch;

/// A cloneable handle on the process-wide shutdown signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(false);
        Self { tx: Arc::new(tx) }
    }

    /// Fires the signal. Firing twice is harmless.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the signal has fired (at once if it already has).
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        // `wait_for` checks the current value first, so a signal fired before this call is not missed.
        // It only errs when the sender is dropped, which cannot happen while `self` holds it.
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wait_resolves_after_trigger_from_a_clone() {
        let s = Shutdown::new();
        assert!(!s.is_triggered());
        let c = s.clone();
        let waiter = tokio::spawn(async move { c.wait().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        s.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(s.is_triggered());
    }

    #[tokio::test]
    async fn wait_after_trigger_returns_at_once() {
        let s = Shutdown::new();
        s.trigger();
        tokio::time::timeout(Duration::from_secs(1), s.wait())
            .await
            .unwrap();
    }
}
