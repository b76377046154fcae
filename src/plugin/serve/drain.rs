//! Winding down: after exit, the process waits until no log-in or reset is on the wire and the calls that carried
//! them have written their answers, within a cap and a grace period.

use std::future::Future;
use std::time::Duration;

use crate::shutdown::Shutdown;

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;
    use tokio::time::Instant;

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
