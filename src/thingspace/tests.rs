//! Tests of the rotation flow against the in-test ThingSpace of `fake`: one behaviour per test, each asserting on
//! what the fake recorded (requests, failed log-ins, resets, the password it holds) and on what the client returned.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::fake::*;
use super::*;
use crate::shutdown::Shutdown;

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

const SECOND: Duration = Duration::from_secs(1);

/// Asserts no secret in play shows up in a message.
fn assert_no_secret(text: &str, fake: &Fake, user: &str, old: &str) {
    for s in [old, &fake.password(user), CLIENT_SECRET, "tok-", "sess-"] {
        assert!(!text.contains(s), "{s:?} leaked into: {text}");
    }
}

#[tokio::test]
async fn happy_path_makes_one_token_request_and_three_m2m_calls() {
    let fake = Fake::start().await;
    fake.add_user("svc", "Old-pass-1");
    let client = fake.client(5 * SECOND, Shutdown::new());
    let rotation = client.rotate("svc", &secret("Old-pass-1")).await.unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_ne!(fake.password("svc"), "Old-pass-1");
    assert!(rotation.warnings.is_empty(), "{:?}", rotation.warnings);
    assert_eq!(
        (
            fake.count(TOKEN),
            fake.count(LOGIN),
            fake.count(RESET),
            fake.count(LOGOUT)
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(fake.resets("svc"), 1);

    let reset = &fake.requests(RESET)[0];
    assert_eq!(reset.method, "PUT");
    assert_eq!(reset.headers["authorization"], "Bearer tok-1");
    assert_eq!(reset.headers["vz-m2m-token"], "sess-1");
    assert_eq!(reset.headers["content-type"], "application/json");
    assert_eq!(
        reset.headers["user-agent"],
        "terraform-provider-thingspace/test"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&reset.body).unwrap()["oldPassword"],
        "Old-pass-1"
    );
    let token = &fake.requests(TOKEN)[0];
    assert_eq!(
        token.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    // The session that was used for the reset is the one logged out.
    assert_eq!(fake.requests(LOGOUT)[0].headers["vz-m2m-token"], "sess-1");
    assert!(fake.state.lock().unwrap().sessions.is_empty());

    // A second rotation reuses the token and logs in with the new password.
    let again = client.rotate("svc", &rotation.new_password).await.unwrap();
    assert_eq!(again.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(fake.count(TOKEN), 1);
}

#[tokio::test]
async fn log_ins_and_resets_each_go_over_a_fresh_connection() {
    // A pooled connection the server closes just as a request goes out loses the answer, which for a log-in or a
    // reset blocks the resource; a fresh connection fails before sending, which proves nothing was sent.
    let fake = Fake::start().await;
    fake.state.lock().unwrap().keep_alive = true;
    fake.add_user("u1", "p1");
    fake.add_user("u2", "p2");
    let client = fake.client(5 * SECOND, Shutdown::new());
    client.rotate("u1", &secret("p1")).await.unwrap();
    client.rotate("u2", &secret("p2")).await.unwrap();
    let requests = fake.state.lock().unwrap().requests.clone();
    let port_of = |path: &str| -> Vec<u16> {
        requests
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.port)
            .collect()
    };
    let critical: Vec<u16> = [port_of(LOGIN), port_of(RESET)].concat();
    let pooled: Vec<u16> = [port_of(TOKEN), port_of(LOGOUT)].concat();
    assert_eq!((critical.len(), pooled.len()), (4, 3));
    let distinct: std::collections::HashSet<u16> = critical.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "a connection was reused: {critical:?}");
    assert!(
        critical.iter().all(|p| !pooled.contains(p)),
        "{critical:?} {pooled:?}"
    );
    // The other calls do reuse connections, so the fake did keep them open.
    let pooled_distinct: std::collections::HashSet<u16> = pooled.iter().copied().collect();
    assert!(pooled_distinct.len() < pooled.len(), "{pooled:?}");
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_joined() {
    let fake = Fake::start().await;
    fake.add_user("svc", "p");
    let cfg = ClientConfig {
        base_url: validate_base_url(&format!("http://{}/gw", fake.addr)).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: secret(CLIENT_SECRET),
        request_timeout: SECOND,
        user_agent: "ua".into(),
    };
    let client = Client::with_retry_policy(cfg, Shutdown::new(), fast_policy()).unwrap();
    let err = client.rotate("svc", &secret("p")).await.unwrap_err();
    // The fake only serves the documented paths, so the prefix shows up as the path the token request went to.
    assert!(matches!(err, RotateError::Token { .. }), "{err}");
    let paths: Vec<String> = fake
        .state
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, vec!["/gw/api/ts/v1/oauth2/token"]);
}

#[tokio::test]
async fn client_construction_makes_no_network_call() {
    let fake = Fake::start().await;
    let _client = fake.client(SECOND, Shutdown::new());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(fake.state.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn fifty_concurrent_rotations_share_one_token() {
    let fake = Fake::start().await;
    for i in 0..50 {
        fake.add_user(&format!("u{i}"), &format!("old{i}"));
    }
    let client = fake.client(10 * SECOND, Shutdown::new());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .rotate(&format!("u{i}"), &secret(&format!("old{i}")))
                    .await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let rotation = task.await.unwrap().unwrap();
        assert_eq!(
            rotation.new_password.expose_secret(),
            fake.password(&format!("u{i}"))
        );
    }
    assert_eq!(fake.count(TOKEN), 1);
    assert_eq!(fake.count(RESET), 50);
}

#[tokio::test]
async fn reset_900901_renews_the_token_and_resets_once_more() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials","description":"x"}}"#,
        ),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(fake.count(TOKEN), 2);
    assert_eq!(fake.count(RESET), 2);
    assert_eq!(fake.count(LOGIN), 1);
    assert_eq!(
        fake.requests(RESET)[1].headers["authorization"],
        "Bearer tok-2"
    );
    assert_eq!(fake.resets("svc"), 1);
}

#[tokio::test]
async fn reset_900901_twice_is_not_retried_again() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let f = answer(
        When::Before,
        401,
        r#"{"fault":{"code":900901,"message":"Invalid Credentials"}}"#,
    );
    fake.fault(RESET, f.clone());
    fake.fault(RESET, f);
    let err = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert_eq!(err.api_error().map(|a| a.code.as_str()), Some("900901"));
    assert_eq!(fake.count(RESET), 2);
    assert_eq!(fake.password("svc"), "old");
}

#[tokio::test]
async fn expired_session_on_reset_logs_in_again_then_resets() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        answer(
            When::Before,
            400,
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"The Session has expired."}"#,
        ),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        (fake.count(LOGIN), fake.count(RESET), fake.resets("svc")),
        (2, 2, 1)
    );
    assert_eq!(fake.requests(RESET)[1].headers["vz-m2m-token"], "sess-2");
    assert_eq!(fake.failed_logins("svc"), 0);
}

#[tokio::test]
async fn login_429_honours_retry_after() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGIN,
        Fault::Answer {
            when: When::Before,
            status: 429,
            content_type: "text/plain".into(),
            body: "slow down".into(),
            retry_after: Some(1),
        },
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    let logins = fake.requests(LOGIN);
    assert_eq!(logins.len(), 2);
    let gap = logins[1].at - logins[0].at;
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, before Retry-After"
    );
    assert!(gap < 3 * SECOND, "retried after {gap:?}");
}

#[tokio::test]
async fn token_503_is_retried() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        TOKEN,
        answer(When::Before, 503, "<html>Service Unavailable</html>"),
    );
    fake.fault(TOKEN, answer(When::Before, 503, ""));
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(fake.count(TOKEN), 3);
}

#[tokio::test]
async fn token_rejected_client_credentials_are_not_retried_and_say_what_to_check() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let client = fake.client_with_secret(5 * SECOND, Shutdown::new(), "wrong-secret-value");
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert!(matches!(err, RotateError::Token { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("HTTP 401, code invalid_client") && text.contains("client_secret"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-value"), "{text}");
    assert_eq!((fake.count(TOKEN), fake.count(LOGIN)), (1, 0));
}

#[tokio::test]
async fn wrong_password_costs_exactly_one_failed_login_and_warns_about_lockout() {
    let fake = Fake::start().await;
    fake.add_user("svc", "right");
    let err = fake
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
        (400, "INPUT_INVALID.Login.Failed")
    );
    let text = err.to_string();
    assert!(
        text.contains("5 consecutive failed log-ins")
            && text.contains("Invalid username or password."),
        "{text}"
    );
    assert!(!text.contains("wrong-pw"), "{text}");
    assert_eq!(
        (
            fake.failed_logins("svc"),
            fake.count(LOGIN),
            fake.count(RESET)
        ),
        (1, 1, 0)
    );
}

/// A log-in whose outcome is unknown: sent once, never repeated, nothing reset.
async fn login_unknown_case(password: &str, fault: Fault) -> (Fake, RotateError) {
    let fake = Fake::start().await;
    fake.add_user("svc", "right-pw");
    fake.fault(LOGIN, fault);
    let cancel = Shutdown::new();
    let err = fake
        .client(SECOND, cancel.clone())
        .rotate("svc", &secret(password))
        .await
        .unwrap_err();
    fake.settle().await;
    assert!(matches!(err, RotateError::LoginUnknown { .. }), "{err}");
    assert_eq!(err.effect(), Effect::LoginUnknown);
    let text = err.to_string();
    for needle in [
        "may have counted as a failed log-in",
        "will not log in with this password again",
        "current_password_wo_version",
    ] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    assert!(!text.contains("tries again"), "{text}");
    assert_no_secret(&text, &fake, "svc", password);
    assert_eq!((fake.count(LOGIN), fake.count(RESET)), (1, 0));
    assert_eq!(fake.password("svc"), "right-pw");
    assert_eq!(cancel.critical_in_flight(), 0);
    (fake, err)
}

#[tokio::test]
async fn login_503_before_the_backend_is_not_retried_and_reported_unknown() {
    let (fake, _) = login_unknown_case(
        "right-pw",
        answer(When::Before, 503, "<html>Service Unavailable</html>"),
    )
    .await;
    assert_eq!(fake.failed_logins("svc"), 0);
}

#[tokio::test]
async fn wrong_password_answered_504_after_the_backend_counted_it_makes_exactly_one_log_in() {
    // Defect 1: the gateway times out after the backend counted the failure; a retry would count another.
    let (fake, err) = login_unknown_case(
        "wrong-pw",
        answer(
            When::After,
            504,
            r#"{"fault":{"code":"101504","message":"Backend timeout"}}"#,
        ),
    )
    .await;
    assert_eq!(fake.failed_logins("svc"), 1);
    assert!(err.to_string().contains("HTTP 504"), "{err}");
}

#[tokio::test]
async fn right_password_answered_502_after_the_backend_is_not_retried() {
    let (fake, _) = login_unknown_case("right-pw", answer(When::After, 502, "")).await;
    assert_eq!(fake.failed_logins("svc"), 0);
    assert_eq!(
        fake.state.lock().unwrap().sessions.len(),
        1,
        "the log-in did happen"
    );
}

#[tokio::test]
async fn login_dropped_after_the_backend_counted_it_is_not_retried() {
    let (fake, _) = login_unknown_case("wrong-pw", Fault::Drop { when: When::After }).await;
    assert_eq!(fake.failed_logins("svc"), 1);
}

#[tokio::test]
async fn login_that_times_out_and_counts_later_is_not_retried() {
    let fake = Fake::start().await;
    fake.add_user("svc", "right-pw");
    fake.fault(
        LOGIN,
        Fault::Slow {
            delay: Duration::from_millis(800),
        },
    );
    let err = fake
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("wrong-pw"))
        .await
        .unwrap_err();
    fake.settle().await;
    assert_eq!(err.effect(), Effect::LoginUnknown, "{err}");
    assert_eq!(fake.labels(LOGIN), ["timeout"]);
    assert_eq!(fake.failed_logins("svc"), 1);
}

#[tokio::test]
async fn login_answered_200_with_an_unreadable_body_is_no_failed_log_in() {
    let fake = Fake::start().await;
    fake.add_user("svc", "right-pw");
    fake.fault(LOGIN, Fault::Garble);
    let err = fake
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
        (
            fake.count(LOGIN),
            fake.count(RESET),
            fake.failed_logins("svc")
        ),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn login_900901_renews_the_token_and_logs_in_once_more() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGIN,
        answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials","description":"x"}}"#,
        ),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!((fake.count(TOKEN), fake.count(LOGIN)), (2, 2));
    assert_eq!(
        fake.requests(LOGIN)[1].headers["authorization"],
        "Bearer tok-2"
    );
}

#[tokio::test]
async fn login_gateway_404_is_not_processed_and_not_retried() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGIN,
        answer(
            When::Before,
            404,
            r#"{"fault":{"code":"900906","message":"No matching resource found"}}"#,
        ),
    );
    let err = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::Login { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert!(err.to_string().contains("tries again"), "{err}");
    assert_eq!(fake.count(LOGIN), 1);
}

#[tokio::test]
async fn stop_before_the_log_in_sends_nothing() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    cancel.stop();
    let err = fake
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Step::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    assert!(fake.state.lock().unwrap().requests.is_empty());
}

#[tokio::test]
async fn stop_with_a_token_in_hand_still_sends_no_log_in() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    let client = fake.client(5 * SECOND, cancel.clone());
    client.rotate("svc", &secret("old")).await.unwrap();
    cancel.stop();
    let err = client
        .rotate("svc", &secret(&fake.password("svc")))
        .await
        .unwrap_err();
    assert_eq!(err.effect(), Effect::None, "{err}");
    assert_eq!((fake.count(TOKEN), fake.count(LOGIN)), (1, 1));
}

/// Stops the provider while the request to `path` is on the wire, and returns what `critical_in_flight()` said
/// then and a moment later.
async fn stop_while_in_flight(
    fake: &Fake,
    path: &str,
    cancel: &Shutdown,
) -> Arc<Mutex<Vec<usize>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    fake.fault(
        path,
        Fault::StopAndWatch {
            shutdown: cancel.clone(),
            hold: Duration::from_millis(300),
            seen: Arc::clone(&seen),
        },
    );
    seen
}

#[tokio::test]
async fn stop_while_the_log_in_is_on_the_wire_waits_for_it_and_sends_no_reset() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    let seen = stop_while_in_flight(&fake, LOGIN, &cancel).await;
    let err = fake
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
                step: Step::Reset,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    assert_eq!(fake.labels(LOGIN), ["ok"], "the log-in ran to its end");
    assert_eq!(
        (fake.count(RESET), fake.password("svc").as_str()),
        (0, "old")
    );
}

#[tokio::test]
async fn stop_while_the_reset_is_on_the_wire_waits_for_it_and_keeps_the_password() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    let seen = stop_while_in_flight(&fake, RESET, &cancel).await;
    let rotation = fake
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 1]);
    assert_eq!(cancel.critical_in_flight(), 0);
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert!(
        rotation.warnings[0].contains("skipped the log-out"),
        "{:?}",
        rotation.warnings
    );
    assert_eq!(fake.count(LOGOUT), 0);
}

#[tokio::test]
async fn token_and_log_out_are_not_critical() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    let token_seen = Arc::new(Mutex::new(Vec::new()));
    let logout_seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = |seen: &Arc<Mutex<Vec<usize>>>| Fault::StopAndWatch {
        shutdown: Shutdown::new(), // a separate lifecycle: only the count of `cancel` matters here
        hold: Duration::ZERO,
        seen: Arc::clone(seen),
    };
    fake.fault(TOKEN, watcher(&token_seen));
    fake.fault(LOGOUT, watcher(&logout_seen));
    fake.client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(*token_seen.lock().unwrap(), [0, 0]);
    assert_eq!(*logout_seen.lock().unwrap(), [0, 0]);
}

/// A password with every character an encoder treats specially.
const AWKWARD: &str = "Zq9 \"pa\\ss/<w>&d%+=é";

#[tokio::test]
async fn secrets_echoed_in_any_encoding_never_reach_a_message() {
    let fake = Fake::start().await;
    fake.add_user("svc", AWKWARD);
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let percent = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let json_escaped = serde_json::to_string(AWKWARD).unwrap().replace('/', "\\/");
    // The token endpoint echoes the Authorization header; then a log-in answer echoes the password JSON-escaped,
    // with `\/`, and a content type percent-encoded.
    fake.fault(
        TOKEN,
        answer(
            When::Before,
            401,
            &format!(
                r#"{{"error":"invalid_client","error_description":"Authorization: Basic {basic}"}}"#
            ),
        ),
    );
    let err = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret(AWKWARD))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains(&basic) && !text.contains(CLIENT_SECRET),
        "{text}"
    );
    assert!(text.contains("Basic [redacted]"), "{text}");

    fake.fault(
        LOGIN,
        Fault::Answer {
            when: When::Before,
            status: 400,
            content_type: format!("application/json; x={}", percent(AWKWARD)),
            body: format!(
                r#"{{"errorCode":"INPUT_INVALID.Login.Failed","errorMessage":"password {} rejected"}}"#,
                &json_escaped[1..json_escaped.len() - 1]
            ),
            retry_after: None,
        },
    );
    let err = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret(AWKWARD))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("password [redacted] rejected"), "{text}");
    for leak in [
        AWKWARD,
        &json_escaped[1..json_escaped.len() - 1],
        &percent(AWKWARD),
    ] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }

    // A reset error page echoes the old password HTML-escaped and the session token.
    fake.fault(
        RESET,
        Fault::Answer {
            when: When::Before,
            status: 400,
            content_type: "text/html".into(),
            body: "<p>old=Zq9 &quot;pa\\ss/&lt;w&gt;&amp;d%+=&#233; session=sess-1</p>".into(),
            retry_after: None,
        },
    );
    let err = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret(AWKWARD))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert_eq!(
        err.effect(),
        Effect::ResetUnknown,
        "a 400 page in no known shape"
    );
    for leak in [AWKWARD, "sess-1", "&quot;pa"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
}

/// A reset whose outcome is unknown: sent once, no log-in follows it, and the error says it may have taken effect.
async fn reset_unknown_case(fault: Fault, timeout: Duration) -> (Fake, RotateError) {
    let fake = Fake::start().await;
    fake.add_user("svc", "old-secret-pw");
    fake.fault(RESET, fault);
    let cancel = Shutdown::new();
    let err = fake
        .client(timeout, cancel.clone())
        .rotate("svc", &secret("old-secret-pw"))
        .await
        .unwrap_err();
    fake.settle().await;
    let RotateError::ResetUnknown { username, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(username, "svc");
    assert_eq!(err.effect(), Effect::ResetUnknown);
    let text = err.to_string();
    for needle in [
        "may have taken effect",
        "unknown to Terraform",
        "blocked",
        "current_password_wo_version",
        "Verizon",
    ] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    assert_no_secret(&text, &fake, "svc", "old-secret-pw");
    // Exactly one reset and the one log-in before it: no probe, no second reset, no failed log-in.
    assert_eq!(
        (
            fake.count(RESET),
            fake.count(LOGIN),
            fake.failed_logins("svc"),
            fake.count(LOGOUT)
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(cancel.critical_in_flight(), 0);
    (fake, err)
}

#[tokio::test]
async fn reset_500_before_effect_is_sent_once_and_reported_unknown() {
    let (fake, _) = reset_unknown_case(
        answer(
            When::Before,
            500,
            r#"{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"boom"}"#,
        ),
        5 * SECOND,
    )
    .await;
    // It did not take effect, but nothing the client saw proves that.
    assert_eq!(fake.password("svc"), "old-secret-pw");
}

#[tokio::test]
async fn reset_502_after_effect_is_sent_once_and_reported_unknown() {
    let (fake, err) = reset_unknown_case(
        answer(
            When::After,
            502,
            "<html><title>502 Bad Gateway</title></html>",
        ),
        5 * SECOND,
    )
    .await;
    assert_eq!(fake.resets("svc"), 1);
    assert!(err.to_string().contains("HTTP 502"), "{err}");
}

#[tokio::test]
async fn dropped_connection_after_reset_is_reported_unknown() {
    let (fake, _) = reset_unknown_case(Fault::Drop { when: When::After }, 5 * SECOND).await;
    assert_eq!(fake.resets("svc"), 1);
}

#[tokio::test]
async fn dropped_connection_before_reset_effect_is_still_unknown_and_not_repeated() {
    let (fake, _) = reset_unknown_case(Fault::Drop { when: When::Before }, 5 * SECOND).await;
    assert_eq!(fake.password("svc"), "old-secret-pw");
}

#[tokio::test]
async fn reset_200_with_html_body_is_reported_unknown() {
    let (fake, _) = reset_unknown_case(
        Fault::Answer {
            when: When::After,
            status: 200,
            content_type: "text/html".into(),
            body: "<html>ok</html>".into(),
            retry_after: None,
        },
        5 * SECOND,
    )
    .await;
    assert_eq!(fake.resets("svc"), 1);
}

#[tokio::test]
async fn reset_200_without_new_password_is_reported_unknown() {
    reset_unknown_case(answer(When::After, 200, r#"{"status":"ok"}"#), 5 * SECOND).await;
}

#[tokio::test]
async fn reset_that_times_out_and_applies_later_is_sent_once_and_reported_unknown() {
    // Defect 2: the reset answers after the client gave up, and takes effect then. No check log-in and no second
    // reset may follow, and the error must say the reset may have taken effect.
    let (fake, err) = reset_unknown_case(
        Fault::Slow {
            delay: Duration::from_millis(800),
        },
        Duration::from_millis(300),
    )
    .await;
    assert!(
        err.to_string().contains("no answer within request_timeout"),
        "{err}"
    );
    assert_eq!(fake.resets("svc"), 1, "the late effect landed");
    assert_ne!(fake.password("svc"), "old-secret-pw");
    assert_eq!(fake.labels(RESET), ["timeout"]);
}

#[tokio::test]
async fn reset_429_is_retried_after_retry_after() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        Fault::Answer {
            when: When::Before,
            status: 429,
            content_type: "text/plain".into(),
            body: "slow down".into(),
            retry_after: Some(1),
        },
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    let resets = fake.requests(RESET);
    assert_eq!(
        (resets.len(), fake.resets("svc"), fake.count(LOGIN)),
        (2, 1, 1)
    );
    assert!(resets[1].at - resets[0].at >= Duration::from_millis(990));
}

#[tokio::test]
async fn token_failure_on_the_second_log_in_is_a_reset_not_applied() {
    // The session expired before the reset; the new log-in meets a stale token and the token endpoint refuses.
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        RESET,
        answer(
            When::Before,
            400,
            r#"{"errorCode":"REQUEST_FAILED.SessionToken.Expired","errorMessage":"expired"}"#,
        ),
    );
    fake.fault(LOGIN, Fault::Pass);
    fake.fault(
        LOGIN,
        answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
        ),
    );
    fake.fault(TOKEN, Fault::Pass);
    fake.fault(TOKEN, Fault::Refuse);
    let err = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Token {
                step: Step::Reset,
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
        (fake.count(TOKEN), fake.count(LOGIN), fake.count(RESET)),
        (2, 2, 1)
    );
    assert_eq!(
        (fake.password("svc").as_str(), fake.failed_logins("svc")),
        ("old", 0)
    );
}

#[tokio::test]
async fn expired_session_twice_logs_in_once_more_and_stops_with_the_password_unchanged() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let expired = answer(
        When::Before,
        400,
        r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"The Session has expired."}"#,
    );
    fake.fault(RESET, expired.clone());
    fake.fault(RESET, expired);
    let err = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap_err();
    assert!(matches!(err, RotateError::ResetFailed { .. }), "{err}");
    assert_eq!(err.effect(), Effect::None);
    assert_eq!(
        (
            fake.count(LOGIN),
            fake.count(RESET),
            fake.failed_logins("svc")
        ),
        (2, 2, 0)
    );
    assert_eq!(fake.password("svc"), "old");
}

#[tokio::test]
async fn reset_refused_with_400_is_not_retried() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(RESET, answer(When::Before, 400, r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.UnexpectedError","errorMessage":"nope"}"#));
    let err = fake
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
    assert_eq!((fake.count(RESET), fake.count(LOGIN)), (1, 1));
}

#[tokio::test]
async fn logout_failure_still_returns_the_new_password_with_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGOUT,
        answer(
            When::Before,
            500,
            r#"{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"x"}"#,
        ),
    );
    let rotation = fake
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(rotation.warnings.len(), 1);
    assert!(
        rotation.warnings[0].contains("log-out failed: HTTP 500"),
        "{:?}",
        rotation.warnings
    );
    assert_no_secret(&rotation.warnings[0], &fake, "svc", "old");
}

#[tokio::test]
async fn hung_login_is_bounded_by_request_timeout() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(LOGIN, Fault::Hang);
    let started = Instant::now();
    let err = fake
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
    assert_eq!((fake.count(LOGIN), fake.count(RESET)), (1, 0));
}

#[tokio::test]
async fn hung_reset_is_bounded_sent_once_and_reported_unknown() {
    let started = Instant::now();
    let (fake, _) = reset_unknown_case(Fault::Hang, Duration::from_millis(300)).await;
    assert!(
        started.elapsed() < 3 * SECOND,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(fake.password("svc"), "old-secret-pw");
}

#[tokio::test]
async fn cancel_during_backoff_stops_before_anything_is_reset() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        TOKEN,
        Fault::Answer {
            when: When::Before,
            status: 503,
            content_type: "text/plain".into(),
            body: String::new(),
            retry_after: Some(5),
        },
    );
    let cancel = Shutdown::new();
    let client = fake.client(5 * SECOND, cancel.clone());
    let trigger = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.stop();
    });
    let started = Instant::now();
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
                step: Step::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.effect(), Effect::None);
    assert!(err.to_string().contains("password is unchanged"), "{err}");
    assert_eq!(
        (fake.count(TOKEN), fake.count(LOGIN), fake.count(RESET)),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn cancel_during_login_backoff_never_sends_the_reset() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(
        LOGIN,
        Fault::Answer {
            when: When::Before,
            status: 429,
            content_type: "text/plain".into(),
            body: String::new(),
            retry_after: Some(5),
        },
    );
    let cancel = Shutdown::new();
    let client = fake.client(5 * SECOND, cancel.clone());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.stop();
    });
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert!(
        matches!(
            err,
            RotateError::Cancelled {
                step: Step::Login,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!((fake.count(LOGIN), fake.count(RESET)), (1, 0));
    assert_eq!(fake.password("svc"), "old");
}

#[tokio::test]
async fn cancel_after_reset_keeps_the_password_and_skips_logout_with_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    let cancel = Shutdown::new();
    fake.fault(RESET, Fault::CancelAfterEffect(cancel.clone()));
    let rotation = fake
        .client(5 * SECOND, cancel.clone())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert!(cancel.is_stopped());
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(rotation.warnings.len(), 1);
    assert!(
        rotation.warnings[0].contains("skipped the log-out"),
        "{:?}",
        rotation.warnings
    );
    assert_eq!(fake.count(LOGOUT), 0);
}

#[tokio::test]
async fn cancel_during_a_slow_logout_keeps_the_password_with_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(LOGOUT, Fault::Hang);
    let cancel = Shutdown::new();
    let client = fake.client(30 * SECOND, cancel.clone());
    let started = Instant::now();
    let watcher = {
        let fake = fake.clone();
        tokio::spawn(async move {
            while fake.count(LOGOUT) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
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
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert!(
        rotation.warnings[0].contains("asked to stop during the log-out"),
        "{:?}",
        rotation.warnings
    );
}

#[tokio::test]
async fn slow_logout_times_out_into_a_warning() {
    let fake = Fake::start().await;
    fake.add_user("svc", "old");
    fake.fault(LOGOUT, Fault::Hang);
    let rotation = fake
        .client(Duration::from_millis(300), Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), fake.password("svc"));
    assert!(
        rotation.warnings[0].contains("no answer within request_timeout"),
        "{:?}",
        rotation.warnings
    );
}

#[tokio::test]
async fn connect_errors_are_retried_within_the_budget_then_reported() {
    // Bind and drop a listener to get a port nothing listens on.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = ClientConfig {
        base_url: validate_base_url(&format!("http://{addr}")).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: secret(CLIENT_SECRET),
        request_timeout: SECOND,
        user_agent: "ua".into(),
    };
    let policy = Policy {
        max_attempts: 3,
        ..fast_policy()
    };
    let client = Client::with_retry_policy(cfg, Shutdown::new(), policy).unwrap();
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let RotateError::Token {
        step: Step::Login,
        error: Error::Transport(t),
    } = &err
    else {
        panic!("{err}")
    };
    assert!(!t.maybe_sent, "{t:?}");
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn token_is_renewed_shortly_before_it_expires() {
    let fake = Fake::start().await;
    fake.add_user("svc", "p0");
    fake.state.lock().unwrap().expires_in = 2; // renewed a quarter of its life early: after 1.5 s
    let client = fake.client(5 * SECOND, Shutdown::new());
    let r1 = client.rotate("svc", &secret("p0")).await.unwrap();
    let r2 = client.rotate("svc", &r1.new_password).await.unwrap();
    assert_eq!(fake.count(TOKEN), 1, "a fresh token is reused");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let r3 = client.rotate("svc", &r2.new_password).await.unwrap();
    assert_eq!(r3.new_password.expose_secret(), fake.password("svc"));
    assert_eq!(
        fake.count(TOKEN),
        2,
        "a token near its expiry is renewed before use"
    );
    assert_eq!(
        fake.requests(RESET)[2].headers["authorization"],
        "Bearer tok-2"
    );
}

#[tokio::test]
async fn callers_queued_behind_a_failed_token_fetch_share_its_error() {
    let fake = Fake::start().await;
    for i in 0..10 {
        fake.add_user(&format!("u{i}"), "p");
    }
    let client = fake.client_with_secret(5 * SECOND, Shutdown::new(), "wrong");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.rotate(&format!("u{i}"), &secret("p")).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, RotateError::Token { .. }), "{err}");
    }
    assert_eq!(
        fake.count(TOKEN),
        1,
        "no stampede on a failing token endpoint"
    );
    assert_eq!(fake.count(LOGIN), 0);
}

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_show_steps_and_statuses_but_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = Fake::start().await;
    fake.add_user("svc", "Old-Secret-Pw");
    // A token renewal and a log-out failure put the error paths in the log too.
    fake.fault(
        RESET,
        answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
        ),
    );
    fake.fault(
        LOGOUT,
        answer(When::Before, 500, r#"{"errorCode":"X","errorMessage":"y"}"#),
    );
    let rotation = fake
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("Old-Secret-Pw"))
        .await
        .unwrap();
    let new_password = rotation.new_password.expose_secret().to_owned();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();

    for step in ["\"log-in\"", "\"reset\"", "\"log-out\"", "\"token\""] {
        assert!(log.contains(step), "no {step} step in the log:\n{log}");
    }
    assert!(
        log.contains("status=200") && log.contains("status=401"),
        "{log}"
    );
    assert!(log.contains("svc"), "{log}");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for secret in [
        "Old-Secret-Pw",
        new_password.as_str(),
        CLIENT_SECRET,
        basic.as_str(),
        "tok-1",
        "tok-2",
        "sess-1",
    ] {
        assert!(
            !log.contains(secret),
            "{secret:?} leaked into the log:\n{log}"
        );
    }
}
