//! The process lifecycle: the stop and exit signals, and the count of requests whose answers must not be lost.
//!
//! Terraform means two different things when it winds a provider down, so there are two signals:
//! - **stop** (`StopProvider`, Ctrl-C): cancel waits and send nothing new to ThingSpace, but keep serving, so that
//!   Terraform still receives the answers of calls already on the wire;
//! - **exit** (`GRPCController.Shutdown`, SIGTERM, the parent Terraform gone): stop serving. Exit implies stop.
//!
//! A *critical* request is a log-in or a reset that has been sent. Its answer decides whether a new password reaches
//! state and whether a failed log-in is recorded, so the process never ends while one is on the wire; each one is
//! bounded by `request_timeout`, so waiting for them is bounded too. The lifecycle records the configured
//! `request_timeout` ([`Shutdown::record_request_timeout`]) so that the safety cap on that wait ([`Shutdown::drain_cap`])
//! can never be shorter than a request it waits for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A cloneable handle on the process lifecycle.
#[derive(Clone, Debug)]
pub struct Shutdown {
    stop: CancellationToken,
    exit: CancellationToken,
    critical: Arc<watch::Sender<usize>>,
    /// The longest `request_timeout` configured in this process, in milliseconds; 0 until one is recorded.
    request_timeout_ms: Arc<AtomicU64>,
}

/// The `request_timeout` assumed before ConfigureProvider records one: the provider's default.
pub const ASSUMED_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Added to the drain cap for reading and handing on the last answer after its request's own timeout.
const DRAIN_MARGIN: Duration = Duration::from_secs(5);

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
            request_timeout_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records a configured `request_timeout` (ConfigureProvider calls this). The longest one recorded wins, so a
    /// second configuration can only lengthen the drain cap.
    pub fn record_request_timeout(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.request_timeout_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// The longest `request_timeout` recorded, or [`ASSUMED_REQUEST_TIMEOUT`] when none was recorded yet.
    pub fn request_timeout(&self) -> Duration {
        match self.request_timeout_ms.load(Ordering::Relaxed) {
            0 => ASSUMED_REQUEST_TIMEOUT,
            ms => Duration::from_millis(ms),
        }
    }

    /// The longest the process waits, after exit fires, for critical requests to end.
    ///
    /// Each critical request ends by its own `request_timeout`, so this cap only matters if a guard were never
    /// dropped. It is twice the timeout (a guard may be held across a log-in and the reset that follows it) plus a
    /// margin for reading the answer, so that it can never cut a request short.
    pub fn drain_cap(&self) -> Duration {
        self.request_timeout()
            .saturating_mul(2)
            .saturating_add(DRAIN_MARGIN)
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

    /// Waits until no critical request is on the wire, or `deadline` passes; says whether it became idle.
    pub async fn idle_by(&self, deadline: tokio::time::Instant) -> bool {
        tokio::time::timeout_at(deadline, self.idle()).await.is_ok()
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

    #[test]
    fn drain_cap_follows_the_longest_recorded_request_timeout() {
        let s = Shutdown::new();
        assert_eq!(s.request_timeout(), ASSUMED_REQUEST_TIMEOUT);
        assert_eq!(s.drain_cap(), Duration::from_secs(65));
        // A clone shares the record: ConfigureProvider records on the service's handle, serve reads its own.
        s.clone().record_request_timeout(Duration::from_secs(120));
        assert_eq!(s.request_timeout(), Duration::from_secs(120));
        assert_eq!(s.drain_cap(), Duration::from_secs(245));
        s.record_request_timeout(Duration::from_secs(10));
        assert_eq!(
            s.request_timeout(),
            Duration::from_secs(120),
            "a shorter one never shortens the cap"
        );
        let short = Shutdown::new();
        short.record_request_timeout(Duration::from_millis(1500));
        assert_eq!(short.request_timeout(), Duration::from_millis(1500));
        assert!(short.drain_cap() > short.request_timeout() * 2);
        let huge = Shutdown::new();
        huge.record_request_timeout(Duration::MAX);
        assert!(huge.drain_cap() >= Duration::from_millis(u64::MAX));
    }

    #[test]
    fn the_assumed_request_timeout_is_the_providers_default() {
        assert_eq!(
            ASSUMED_REQUEST_TIMEOUT,
            crate::provider::DEFAULT_REQUEST_TIMEOUT
        );
    }

    #[tokio::test]
    async fn idle_by_gives_up_at_the_deadline_and_reports_it() {
        let ms = Duration::from_millis(1);
        let s = Shutdown::new();
        let now = tokio::time::Instant::now;
        assert!(s.idle_by(now() + ms * 1000).await, "idle at once");
        let guard = s.critical();
        let start = now();
        assert!(!s.idle_by(start + ms * 100).await);
        assert!(start.elapsed() >= ms * 100);
        let c = s.clone();
        let waiter = tokio::spawn(async move { c.idle_by(now() + ms * 60_000).await });
        tokio::time::sleep(ms * 50).await;
        assert!(!waiter.is_finished());
        drop(guard);
        let idle = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert!(idle.unwrap().unwrap());
    }
}
