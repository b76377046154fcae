//! The whole rotation: the calls it makes and how, the connections they use, the one OAuth token every call and
//! every concurrent rotation shares, and the failures around the token and the log-out.

use std::collections::HashSet;

use secrecy::ExposeSecret;
use thingspace_emulator::Config;
use tokio::net::TcpListener;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::testing::*;
use crate::thingspace::{Call, Client, ClientConfig, Error, RotateError, validate_base_url};

#[tokio::test]
async fn happy_path_makes_one_token_request_and_three_m2m_calls() {
    let emu = Emu::start().await;
    emu.add("svc", "Old-pass-1");
    let client = emu.client(5 * SECOND, Shutdown::new());
    let rotation = client.rotate("svc", &secret("Old-pass-1")).await.unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert_ne!(emu.password("svc"), "Old-pass-1");
    assert!(rotation.warnings.is_empty(), "{:?}", rotation.warnings);
    let stats = emu.stats();
    assert_eq!(
        (stats.token, stats.login, stats.reset, stats.logout),
        (1, 1, 1, 1)
    );
    // The emulator checks every method, content type, body field, bearer token, session and old password, and
    // answers anything amiss with an error: each call was answered 200, as itself.
    for r in emu.requests() {
        assert_eq!(
            (r.status, r.outcome, r.error_code.as_deref()),
            (Some(200), Outcome::Ok, None),
            "{r:?}"
        );
        assert_eq!(
            r.user_agent.as_deref(),
            Some("terraform-provider-thingspace/test")
        );
    }
    // One session: the reset ran in it, and the log-out ended it.
    let user = emu.account("svc");
    assert_eq!(
        (user.successful_logins, user.resets, user.logouts),
        (1, 1, 1)
    );
    assert_eq!(emu.issued().session_tokens.len(), 1);
    assert_eq!(emu.requests_to(RESET)[0].username.as_deref(), Some("svc"));
    assert_eq!(emu.requests_to(LOGOUT)[0].username.as_deref(), Some("svc"));

    // A second rotation reuses the token and logs in with the new password.
    let again = client.rotate("svc", &rotation.new_password).await.unwrap();
    assert_eq!(again.new_password.expose_secret(), emu.password("svc"));
    assert_eq!(emu.count(TOKEN), 1);
    assert_eq!(emu.failed_logins("svc"), 0);
}

#[tokio::test]
async fn log_ins_and_resets_each_go_over_a_fresh_connection() {
    // A pooled connection the server closes just as a request goes out loses the answer, which for a log-in or a
    // reset blocks the resource; a fresh connection fails before sending, which proves nothing was sent.
    let emu = Emu::start().await;
    emu.add("u1", "p1");
    emu.add("u2", "p2");
    let client = emu.client(5 * SECOND, Shutdown::new());
    client.rotate("u1", &secret("p1")).await.unwrap();
    client.rotate("u2", &secret("p2")).await.unwrap();
    let connection_of =
        |path: &str| -> Vec<u64> { emu.requests_to(path).iter().map(|r| r.connection).collect() };
    let critical: Vec<u64> = [connection_of(LOGIN), connection_of(RESET)].concat();
    let pooled: Vec<u64> = [connection_of(TOKEN), connection_of(LOGOUT)].concat();
    assert_eq!((critical.len(), pooled.len()), (4, 3));
    let distinct: HashSet<u64> = critical.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "a connection was reused: {critical:?}");
    assert!(
        critical.iter().all(|c| !pooled.contains(c)),
        "{critical:?} {pooled:?}"
    );
    // The other calls do reuse connections, so the emulator did keep them open.
    let pooled_distinct: HashSet<u64> = pooled.iter().copied().collect();
    assert!(pooled_distinct.len() < pooled.len(), "{pooled:?}");
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_joined() {
    let emu = Emu::start().await;
    emu.add("svc", "p");
    let cfg = ClientConfig {
        base_url: validate_base_url(&format!("{}/gw", emu.base_url())).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: secret(CLIENT_SECRET),
        request_timeout: SECOND,
        user_agent: "ua".into(),
        base_url_source: Default::default(),
        proxy: None,
        ca: None,
    };
    let client = Client::with_retry_policy(cfg, Shutdown::new(), fast_policy()).unwrap();
    let err = client.rotate("svc", &secret("p")).await.unwrap_err();
    // The emulator serves only the documented paths, so the prefix shows up as the path the token request went to.
    assert!(matches!(err, RotateError::Token { .. }), "{err}");
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/gw/api/ts/v1/oauth2/token"]);
}

#[tokio::test]
async fn client_construction_makes_no_network_call() {
    let emu = Emu::start().await;
    let _client = emu.client(SECOND, Shutdown::new());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn fifty_concurrent_rotations_share_one_token() {
    let emu = Emu::start().await;
    for i in 0..50 {
        emu.add(&format!("u{i}"), &format!("old{i}"));
    }
    let client = emu.client(10 * SECOND, Shutdown::new());
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
            emu.password(&format!("u{i}"))
        );
    }
    assert_eq!(emu.count(TOKEN), 1);
    assert_eq!(emu.count(RESET), 50);
}

#[tokio::test]
async fn token_is_renewed_shortly_before_it_expires() {
    // A token of 2 s is renewed a quarter of its life early: after 1.5 s.
    let emu = Emu::start_with(Config::default().token_lifetime(Duration::from_secs(2))).await;
    emu.add("svc", "p0");
    let client = emu.client(5 * SECOND, Shutdown::new());
    let r1 = client.rotate("svc", &secret("p0")).await.unwrap();
    let r2 = client.rotate("svc", &r1.new_password).await.unwrap();
    assert_eq!(emu.count(TOKEN), 1, "a fresh token is reused");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // Past its end at the emulator too: the renewal gets a new token, and an unrenewed one would be refused.
    emu.advance_clock(SECOND);
    let r3 = client.rotate("svc", &r2.new_password).await.unwrap();
    assert_eq!(r3.new_password.expose_secret(), emu.password("svc"));
    assert_eq!(
        emu.count(TOKEN),
        2,
        "a token near its expiry is renewed before use"
    );
    assert_eq!(emu.issued().access_tokens.len(), 2);
    // Renewed before the log-in, not after a refusal: no call met a dead token.
    let refused: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.status != Some(200))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test]
async fn callers_queued_behind_a_failed_token_fetch_share_its_error() {
    let emu = Emu::start().await;
    for i in 0..10 {
        emu.add(&format!("u{i}"), "p");
    }
    let client = emu.client_with_secret(5 * SECOND, Shutdown::new(), "wrong");
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
        emu.count(TOKEN),
        1,
        "no stampede on a failing token endpoint"
    );
    assert_eq!(emu.count(LOGIN), 0);
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
        base_url_source: Default::default(),
        proxy: None,
        ca: None,
    };
    let policy = crate::thingspace::Policy {
        max_attempts: 3,
        ..fast_policy()
    };
    let client = Client::with_retry_policy(cfg, Shutdown::new(), policy).unwrap();
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    let RotateError::Token {
        step: Call::Login,
        error: Error::Transport(t),
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert!(!t.maybe_sent, "{t:?}");
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn token_503_is_retried() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(
        Fault::status(TOKEN, 503, "<html>Service Unavailable</html>").content_type("text/html"),
    );
    emu.inject(Fault::status(TOKEN, 503, ""));
    let rotation = emu
        .client(5 * SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    let statuses: Vec<Option<u16>> = emu.requests_to(TOKEN).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
}

#[tokio::test]
async fn token_rejected_client_credentials_are_not_retried_and_say_what_to_check() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    let client = emu.client_with_secret(5 * SECOND, Shutdown::new(), "wrong-secret-value");
    let err = client.rotate("svc", &secret("old")).await.unwrap_err();
    assert!(matches!(err, RotateError::Token { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("HTTP 401, code invalid_client") && text.contains("client_secret"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-value"), "{text}");
    assert_eq!((emu.count(TOKEN), emu.count(LOGIN)), (1, 0));
}

#[tokio::test]
async fn logout_failure_still_returns_the_new_password_with_a_warning() {
    let emu = Emu::start().await;
    emu.add("svc", "old");
    emu.inject(Fault::status(
        LOGOUT,
        500,
        r#"{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"x"}"#,
    ));
    let rotation = emu
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret("old"))
        .await
        .unwrap();
    assert_eq!(rotation.new_password.expose_secret(), emu.password("svc"));
    assert_eq!(rotation.warnings.len(), 1);
    assert!(
        rotation.warnings[0].contains("log-out failed: HTTP 500"),
        "{:?}",
        rotation.warnings
    );
    assert_no_secret(&rotation.warnings[0], &emu, "svc", "old");
}
