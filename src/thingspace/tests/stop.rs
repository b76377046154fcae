//! The stop signal (Terraform's StopProvider, Ctrl-C): it cancels waits and keeps the next log-in or reset from
//! being sent, lets one already on the wire finish (counted as critical meanwhile), and never turns a password
//! ThingSpace handed out into an error. The emulator holds a request while the test stops the client, so "during"
//! is exact, not a race.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::testing::*;
use crate::thingspace::{Call, Effect, RotateError};

#[tokio::test]
async fn stop_before_the_log_in_sends_nothing() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let cancel = Shutdown::new();
    cancel.stop();
    let err = emu
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Call::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn stop_with_a_token_in_hand_still_sends_no_log_in() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let cancel = Shutdown::new();
    let client = emu.client(5 * SECOND, cancel.clone());
    client.rotate("svc", &secret("old")).await.unwrap();
    cancel.stop();
    let err = client
        .rotate("svc", &secret(&emu.password("svc")))
        .await
        .unwrap_err();
    assert_eq!(err.effect(), Effect::None, "{err}");
    assert_eq!((emu.count(TOKEN), emu.count(LOGIN)), (1, 1));
}

/// While the request to `path` is held at the emulator, notes `critical_in_flight()`, stops the provider, waits a
/// moment and notes it again; then the request goes on. Returns the two counts.
fn stop_while_in_flight(
    emu: &Emu,
    path: &'static str,
    cancel: &Shutdown,
) -> Arc<Mutex<Vec<usize>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    emu.inject(Fault::hold(path));
    emu.when_held(path, {
        let (cancel, seen) = (cancel.clone(), Arc::clone(&seen));
        move || async move {
            seen.lock().unwrap().push(cancel.critical_in_flight());
            cancel.stop();
            tokio::time::sleep(Duration::from_millis(300)).await;
            seen.lock().unwrap().push(cancel.critical_in_flight());
        }
    });
    seen
}

#[tokio::test]
async fn stop_while_the_log_in_is_on_the_wire_waits_for_it_and_sends_no_reset() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let cancel = Shutdown::new();
    let seen = stop_while_in_flight(&emu, LOGIN, &cancel);
    let err = emu
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert_eq!(*seen.lock().unwrap(), [1, 1], "critical while on the wire");
    assert_eq!(cancel.critical_in_flight(), 0, "and not after");
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Call::Reset,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    let login = &emu.requests_to(LOGIN)[0];
    assert_eq!(
        (login.status, login.outcome),
        (Some(200), Outcome::Ok),
        "the log-in ran to its end"
    );
    assert_eq!((emu.count(RESET), emu.password("svc").as_str()), (0, "old"));
}

#[tokio::test]
async fn stop_while_the_reset_is_on_the_wire_waits_for_it_and_keeps_the_password() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let cancel = Shutdown::new();
    let seen = stop_while_in_flight(&emu, RESET, &cancel);
    let rotation = emu
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 1]);
    assert_eq!(cancel.critical_in_flight(), 0);
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert!(
        rotation.warnings[0].contains("skipped the log-out"),
        "{:?}",
        rotation.warnings
    );
    assert_eq!(emu.count(LOGOUT), 0);
}

#[tokio::test]
async fn token_and_log_out_are_not_critical() {
    // Each call is held at the emulator in turn while the test reads the client's own count of critical requests:
    // the log-in counts; the token and log-out requests, which change no password, do not.
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let cancel = Shutdown::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut watchers = Vec::new();
    for path in [TOKEN, LOGIN, LOGOUT] {
        emu.inject(Fault::hold(path));
        watchers.push(emu.when_held(path, {
            let (cancel, seen) = (cancel.clone(), Arc::clone(&seen));
            move || async move {
                seen.lock()
                    .unwrap()
                    .push((path, cancel.critical_in_flight()));
            }
        }));
    }
    emu.client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    for watcher in watchers {
        watcher.await.unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), [(TOKEN, 0), (LOGIN, 1), (LOGOUT, 0)]);
}

#[tokio::test]
async fn cancel_during_backoff_stops_before_anything_is_reset() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(
        Fault::status(TOKEN, 503, "")
            .content_type("text/plain")
            .header("Retry-After", "5"),
    );
    let cancel = Shutdown::new();
    let client = emu.client(5 * SECOND, cancel.clone());
    let trigger = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.stop();
    });
    let started = tokio::time::Instant::now();
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    trigger.await.unwrap();
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    // The stop came while waiting to fetch the token for the log-in.
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Call::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    assert!(err.to_string().contains("password is unchanged"), "{err}");
    assert_eq!(
        (emu.count(TOKEN), emu.count(LOGIN), emu.count(RESET)),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn cancel_during_login_backoff_never_sends_the_reset() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(
        Fault::status(LOGIN, 429, "")
            .content_type("text/plain")
            .header("Retry-After", "5"),
    );
    let cancel = Shutdown::new();
    let client = emu.client(5 * SECOND, cancel.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.stop();
    });
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Call::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!((emu.count(LOGIN), emu.count(RESET)), (1, 0));
    assert_eq!(emu.password("svc"), "old");
}

#[tokio::test]
async fn cancel_after_reset_keeps_the_password_and_skips_logout_with_a_warning() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let cancel = Shutdown::new();
    // The reset takes effect, then the provider is asked to stop before its answer arrives.
    emu.inject(Fault::hold(RESET).after());
    let stop = emu.when_held(RESET, {
        let cancel = cancel.clone();
        move || async move { cancel.stop() }
    });
    let rotation = emu
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    stop.await.unwrap();
    assert!(cancel.is_stopped());
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert_eq!(rotation.warnings.len(), 1);
    assert!(
        rotation.warnings[0].contains("skipped the log-out"),
        "{:?}",
        rotation.warnings
    );
    assert_eq!(emu.count(LOGOUT), 0);
}

#[tokio::test]
async fn cancel_during_a_slow_logout_keeps_the_password_with_a_warning() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(hang(LOGOUT));
    let cancel = Shutdown::new();
    let client = emu.client(30 * SECOND, cancel.clone());
    let started = tokio::time::Instant::now();
    let watcher = {
        let emu = emu.clone();
        tokio::spawn(async move {
            emu.held_request(LOGOUT).await;
            cancel.stop();
        })
    };
    let rotation = client.rotate("svc", &secret("old")).await.unwrap();
    watcher.await.unwrap();
    assert!(
        started.elapsed() < 5 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert!(
        rotation.warnings[0].contains("asked to stop during the log-out"),
        "{:?}",
        rotation.warnings
    );
    emu.settle().await;
    assert_eq!(
        emu.requests_to(LOGOUT)[0].status,
        None,
        "the log-out was abandoned"
    );
}

#[tokio::test]
async fn slow_logout_times_out_into_a_warning() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(hang(LOGOUT));
    let rotation = emu
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert!(
        rotation.warnings[0].contains("no answer within request_timeout"),
        "{:?}",
        rotation.warnings
    );
}
