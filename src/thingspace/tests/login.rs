//! Every outcome of the log-in: a refused one costs exactly one failed log-in; one that may have counted is never
//! sent again and says so; one that provably never reached the password check is repeated (429, 900901) or reported
//! as changing nothing.

use secrecy::ExposeSecret;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::testing::*;
use crate::thingspace::{Effect, RotateError};

#[tokio::test]
async fn wrong_password_costs_exactly_one_failed_login_and_warns_about_lockout() {
    let emu = Emu::start().await;
    emu.add("svc", "right");
    let err = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("wrong-pw"))
        .await
        .unwrap_err();
    let RotateError::LoginRejected { username, error } = &err else {
        panic!("{err}")
    };
    assert_eq!(err.effect(), Effect::LoginRejected);
    assert_eq!(username, "svc");
    assert_eq!(
        (error.status, error.code.as_str()),
        (400, "REQUEST_FAILED.Login.InvalidCredentials")
    );
    let text = err.to_string();
    assert!(
        text.contains("5 consecutive failed log-ins")
            && text.contains("Login failed: the username or password is incorrect."),
        "{text}"
    );
    assert!(!text.contains("wrong-pw"), "{text}");
    let tried: Vec<String> = emu
        .account("svc")
        .failed_login_attempts
        .into_iter()
        .map(|a| a.password)
        .collect();
    assert_eq!(tried, ["wrong-pw"]);
    assert_eq!((emu.count(LOGIN), emu.count(RESET)), (1, 0));
}

/// A log-in whose outcome is unknown: sent once, never repeated, nothing reset.
async fn login_unknown_case(password: &str, fault: Fault) -> (Emu, RotateError) {
    let emu = Emu::start().await;
    emu.add("svc", "right-pw");
    emu.inject(fault);
    let cancel = Shutdown::new();
    let err = emu
        .client(SECOND, cancel.clone())
        .rotate("svc", &secret(password))
        .await
        .unwrap_err();
    emu.settle().await;
    assert!(matches!(err, RotateError::LoginUnknown { .. }), "{err}");
    assert_eq!(err.effect(), Effect::LoginUnknown);
    let text = err.to_string();
    for needle in [
        "may have counted as a failed log-in",
        "will not log in with this password again",
    ] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    // What to do names Terraform arguments, which the client never knows: the resource adds it.
    assert!(!text.contains("current_password"), "{text}");
    assert!(!text.contains("tries again"), "{text}");
    assert_no_secret(&text, &emu, "svc", password);
    assert_eq!((emu.count(LOGIN), emu.count(RESET)), (1, 0));
    assert_eq!(emu.password("svc"), "right-pw");
    assert_eq!(cancel.critical_in_flight(), 0);
    (emu, err)
}

#[tokio::test]
async fn login_503_before_the_backend_is_not_retried_and_reported_unknown() {
    let (emu, _) = login_unknown_case(
        "right-pw",
        Fault::status(LOGIN, 503, "<html>Service Unavailable</html>").content_type("text/html"),
    )
    .await;
    assert_eq!(emu.failed_logins("svc"), 0);
    assert_eq!(emu.requests_to(LOGIN)[0].processed_at_ms, None);
}

#[tokio::test]
async fn wrong_password_answered_504_after_the_backend_counted_it_makes_exactly_one_log_in() {
    // Defect 1: the gateway times out after the backend counted the failure; a retry would count another.
    let (emu, err) = login_unknown_case(
        "wrong-pw",
        Fault::status(
            LOGIN,
            504,
            r#"{"fault":{"code":"101504","message":"Backend timeout"}}"#,
        )
        .after(),
    )
    .await;
    assert_eq!(emu.failed_logins("svc"), 1);
    assert!(err.to_string().contains("HTTP 504"), "{err}");
}

#[tokio::test]
async fn right_password_answered_502_after_the_backend_is_not_retried() {
    let (emu, _) = login_unknown_case("right-pw", Fault::status(LOGIN, 502, "").after()).await;
    assert_eq!(emu.failed_logins("svc"), 0);
    assert_eq!(
        emu.account("svc").successful_logins,
        1,
        "the log-in did happen"
    );
}

#[tokio::test]
async fn login_dropped_after_the_backend_counted_it_is_not_retried() {
    let (emu, _) = login_unknown_case("wrong-pw", Fault::drop_connection(LOGIN).after()).await;
    assert_eq!(emu.failed_logins("svc"), 1);
}

#[tokio::test]
async fn login_that_times_out_and_counts_later_is_not_retried() {
    let emu = Emu::start().await;
    emu.add("svc", "right-pw");
    emu.inject(Fault::delay(LOGIN, 0).late(800));
    let err = emu
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("wrong-pw"))
        .await
        .unwrap_err();
    emu.settle().await;
    assert_eq!(err.effect(), Effect::LoginUnknown, "{err}");
    // The client gave up; the failed log-in landed afterwards.
    let [login] = &emu.requests_to(LOGIN)[..] else {
        panic!("{:?}", emu.requests_to(LOGIN))
    };
    assert_eq!(login.status, None, "{login:?}");
    assert!(
        login.processed_at_ms.unwrap() >= login.at_ms + 800,
        "{login:?}"
    );
    assert_eq!(emu.failed_logins("svc"), 1);
}

#[tokio::test]
async fn login_answered_200_with_an_unreadable_body_is_no_failed_log_in() {
    let emu = Emu::start().await;
    emu.add("svc", "right-pw");
    emu.inject(
        Fault::status(LOGIN, 200, "<html>ok</html>")
            .content_type("text/html")
            .after()
            .on_success_only(),
    );
    let err = emu
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("right-pw"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::Login { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert!(
        err.detail().starts_with("ThingSpace accepted the log-in"),
        "{err}"
    );
    assert_eq!(
        (emu.count(LOGIN), emu.count(RESET), emu.failed_logins("svc")),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn login_900901_renews_the_token_and_logs_in_once_more() {
    // The token dies while the log-in is on its way: the gateway refuses it before the service.
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::hold(LOGIN));
    let expiry = emu.when_held(LOGIN, {
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
    assert_eq!((emu.count(TOKEN), emu.count(LOGIN)), (2, 2));
    assert_eq!(emu.issued().access_tokens.len(), 2);
    let logins = emu.requests_to(LOGIN);
    assert_eq!(
        (logins[0].status, logins[0].error_code.as_deref()),
        (Some(401), Some("900901"))
    );
    // The second log-in carried the new token: the old one was dead.
    assert_eq!(logins[1].status, Some(200));
    assert_eq!(emu.failed_logins("svc"), 0);
}

#[tokio::test]
async fn login_gateway_404_is_not_processed_and_not_retried() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::status(
        LOGIN,
        404,
        r#"{"fault":{"code":"900906","message":"No matching resource found"}}"#,
    ));
    let err = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::Login { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert!(err.to_string().contains("tries again"), "{err}");
    assert_eq!(emu.count(LOGIN), 1);
}

#[tokio::test]
async fn login_429_honours_retry_after() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(
        Fault::status(LOGIN, 429, "slow down")
            .content_type("text/plain")
            .header("Retry-After", "1"),
    );
    let rotation = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    let logins = emu.requests_to(LOGIN);
    assert_eq!(logins.len(), 2);
    let gap = logins[1].at_ms - logins[0].at_ms;
    assert!(gap >= 990, "retried after {gap} ms, before Retry-After");
    assert!(gap < 3000, "retried after {gap} ms");
}

#[tokio::test]
async fn hung_login_is_bounded_by_request_timeout() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(hang(LOGIN));
    let started = tokio::time::Instant::now();
    let err = emu
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(&err, RotateError::LoginUnknown { .. }), "{err}");
    assert_eq!(err.effect(), Effect::LoginUnknown);
    assert!(
        err.to_string().contains("no answer within request_timeout"),
        "{err}"
    );
    // A log-in that may have been delivered is not repeated: it could count as a failed one.
    assert_eq!((emu.count(LOGIN), emu.count(RESET)), (1, 0));
}
