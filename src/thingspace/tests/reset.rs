//! Every outcome of the reset: one that may have taken effect is sent once and reported as possibly applied; one
//! refused before the service is repeated with a new token (900901) or in a new session (an expired one), at most
//! once each; one refused by the service changes nothing and says so.

use secrecy::ExposeSecret;
use thingspace_emulator::Request;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::testing::*;
use crate::thingspace::{Call, Effect, RotateError};

const EXPIRED: &str = r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"The Session has expired."}"#;

fn told(r: &Request) -> (Option<u16>, Option<&str>) {
    (r.status, r.error_code.as_deref())
}

#[tokio::test]
async fn reset_900901_renews_the_token_and_resets_once_more() {
    // The token dies while the reset is on its way: the gateway refuses it before the service.
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::hold(RESET));
    let expiry = emu.when_held(RESET, {
        let emu = emu.clone();
        move || async move {
            emu.expire(true, false);
        }
    });
    let rotation = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    expiry.await.unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert_eq!(
        (emu.count(TOKEN), emu.count(RESET), emu.count(LOGIN)),
        (2, 2, 1)
    );
    let resets = emu.requests_to(RESET);
    assert_eq!(told(&resets[0]), (Some(401), Some("900901")));
    // The second reset carried the new token: the old one was dead.
    assert_eq!(told(&resets[1]), (Some(200), None));
    assert_eq!(emu.issued().access_tokens.len(), 2);
    assert_eq!(emu.resets("svc"), 1);
}

#[tokio::test]
async fn reset_900901_twice_is_not_retried_again() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(
        Fault::status(
            RESET,
            401,
            r#"{"fault":{"code":900901,"message":"Invalid Credentials"}}"#,
        )
        .count(2),
    );
    let err = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert_eq!(err.api_error().map(|a| a.code.as_str()), Some("900901"));
    assert_eq!(emu.count(RESET), 2);
    assert_eq!(emu.password("svc"), "old");
}

#[tokio::test]
async fn expired_session_on_reset_logs_in_again_then_resets() {
    // The session ends while the reset is on its way.
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::hold(RESET));
    let expiry = emu.when_held(RESET, {
        let emu = emu.clone();
        move || async move {
            emu.expire(false, true);
        }
    });
    let rotation = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    expiry.await.unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert_eq!(
        (emu.count(LOGIN), emu.count(RESET), emu.resets("svc")),
        (2, 2, 1)
    );
    let resets = emu.requests_to(RESET);
    assert_eq!(
        told(&resets[0]),
        (
            Some(400),
            Some("UnifiedWebService.REQUEST_FAILED.SessionToken.Expired")
        )
    );
    // The second reset ran in the new session (the old one was dead), and the log-out ended that one.
    assert_eq!(told(&resets[1]), (Some(200), None));
    assert_eq!(emu.issued().session_tokens.len(), 2);
    let user = emu.account("svc");
    assert_eq!((user.failed_logins, user.logouts), (0, 1));
    assert_eq!(told(&emu.requests_to(LOGOUT)[0]), (Some(200), None));
}

#[tokio::test]
async fn token_failure_on_the_second_log_in_is_a_reset_not_applied() {
    // The session expired before the reset; the new log-in meets a stale token and the token endpoint refuses.
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::hold(RESET));
    let expiry = emu.when_held(RESET, {
        let emu = emu.clone();
        move || async move {
            emu.expire(false, true);
            emu.inject(Fault::status(
                LOGIN,
                401,
                r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
            ));
            emu.inject(Fault::refuse(TOKEN));
        }
    });
    let err = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    expiry.await.unwrap();
    assert!(
        matches!(
            err,
            RotateError::Token {
                step: Call::Reset,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    assert!(
        err.detail()
            .contains("The log-in succeeded, but no reset was applied"),
        "{err}"
    );
    assert_eq!(
        (emu.count(TOKEN), emu.count(LOGIN), emu.count(RESET)),
        (2, 2, 1)
    );
    assert_eq!(
        (emu.password("svc").as_str(), emu.failed_logins("svc")),
        ("old", 0)
    );
}

#[tokio::test]
async fn expired_session_twice_logs_in_once_more_and_stops_with_the_password_unchanged() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::status(RESET, 400, EXPIRED).count(2));
    let err = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert_eq!(
        (emu.count(LOGIN), emu.count(RESET), emu.failed_logins("svc")),
        (2, 2, 0)
    );
    assert_eq!(emu.password("svc"), "old");
}

#[tokio::test]
async fn reset_refused_with_400_is_not_retried() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::status(
        RESET,
        400,
        r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.UnexpectedError","errorMessage":"nope"}"#,
    ));
    let err = emu
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("HTTP 400, code REQUEST_FAILED.UnexpectedError: nope"),
        "{err}"
    );
    assert_eq!((emu.count(RESET), emu.count(LOGIN)), (1, 1));
}

/// A reset whose outcome is unknown: sent once, no log-in follows it, and the error says it may have taken effect.
async fn reset_unknown_case(fault: Fault, timeout: Duration) -> (Emu, RotateError) {
    let emu = Emu::start().await;
    emu.add("svc", "old-secret-pw");
    emu.inject(fault);
    let cancel = Shutdown::new();
    let err = emu
        .client(timeout, cancel.clone())
        .rotate("svc", &secret("old-secret-pw"))
        .await
        .unwrap_err();
    emu.settle().await;
    let RotateError::ResetUnknown { username, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(username, "svc");
    assert_eq!(err.effect(), Effect::ResetUnknown);
    let text = err.to_string();
    for needle in [
        "may have taken effect",
        "unknown to Terraform",
        "does not send the reset again",
        "Verizon",
    ] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    assert!(!text.contains("current_password"), "{text}");
    assert_no_secret(&text, &emu, "svc", "old-secret-pw");
    // Exactly one reset and the one log-in before it: no probe, no second reset, no failed log-in.
    assert_eq!(
        (
            emu.count(RESET),
            emu.count(LOGIN),
            emu.failed_logins("svc"),
            emu.count(LOGOUT)
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(cancel.critical_in_flight(), 0);
    (emu, err)
}

#[tokio::test]
async fn reset_500_before_effect_is_sent_once_and_reported_unknown() {
    let (emu, _) = reset_unknown_case(
        Fault::status(
            RESET,
            500,
            r#"{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"boom"}"#,
        ),
        5 * SECOND,
    )
    .await;
    // It did not take effect, but nothing the client saw proves that.
    assert_eq!(emu.password("svc"), "old-secret-pw");
}

#[tokio::test]
async fn reset_502_after_effect_is_sent_once_and_reported_unknown() {
    let (emu, err) = reset_unknown_case(
        Fault::status(RESET, 502, "<html><title>502 Bad Gateway</title></html>")
            .content_type("text/html")
            .after(),
        5 * SECOND,
    )
    .await;
    assert_eq!(emu.resets("svc"), 1);
    assert!(err.to_string().contains("HTTP 502"), "{err}");
}

#[tokio::test]
async fn dropped_connection_after_reset_is_reported_unknown() {
    let (emu, _) = reset_unknown_case(Fault::drop_connection(RESET).after(), 5 * SECOND).await;
    assert_eq!(emu.resets("svc"), 1);
}

#[tokio::test]
async fn dropped_connection_before_reset_effect_is_still_unknown_and_not_repeated() {
    let (emu, _) = reset_unknown_case(Fault::drop_connection(RESET), 5 * SECOND).await;
    assert_eq!(emu.password("svc"), "old-secret-pw");
}

#[tokio::test]
async fn reset_200_with_html_body_is_reported_unknown() {
    let (emu, _) = reset_unknown_case(
        Fault::status(RESET, 200, "<html>ok</html>")
            .content_type("text/html")
            .after(),
        5 * SECOND,
    )
    .await;
    assert_eq!(emu.resets("svc"), 1);
}

#[tokio::test]
async fn reset_200_without_new_password_is_reported_unknown() {
    let (emu, _) = reset_unknown_case(
        Fault::status(RESET, 200, r#"{"status":"ok"}"#).after(),
        5 * SECOND,
    )
    .await;
    assert_eq!(emu.resets("svc"), 1);
}

#[tokio::test]
async fn reset_that_times_out_and_applies_later_is_sent_once_and_reported_unknown() {
    // Defect 2: the reset answers after the client gave up, and takes effect then. No check log-in and no second
    // reset may follow, and the error must say the reset may have taken effect.
    let (emu, err) =
        reset_unknown_case(Fault::delay(RESET, 0).late(800), Duration::from_millis(300)).await;
    assert!(
        err.to_string().contains("no answer within request_timeout"),
        "{err}"
    );
    assert_eq!(emu.resets("svc"), 1, "the late effect landed");
    assert_ne!(emu.password("svc"), "old-secret-pw");
    let reset = &emu.requests_to(RESET)[0];
    assert_eq!(reset.status, None, "{reset:?}");
    assert!(
        reset.processed_at_ms.unwrap() >= reset.at_ms + 800,
        "{reset:?}"
    );
}

#[tokio::test]
async fn reset_429_is_retried_after_retry_after() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(
        Fault::status(RESET, 429, "slow down")
            .content_type("text/plain")
            .header("Retry-After", "1"),
    );
    let rotation = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    let resets = emu.requests_to(RESET);
    assert_eq!(
        (resets.len(), emu.resets("svc"), emu.count(LOGIN)),
        (2, 1, 1)
    );
    assert!(resets[1].at_ms - resets[0].at_ms >= 990, "{resets:?}");
}

#[tokio::test]
async fn hung_reset_is_bounded_sent_once_and_reported_unknown() {
    let started = tokio::time::Instant::now();
    let (emu, _) = reset_unknown_case(hang(RESET), Duration::from_millis(300)).await;
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(emu.password("svc"), "old-secret-pw");
}
