//! The emulator over real HTTP, through `spawn()`: the API flow, the control API, and the fault kinds
//! `before`, `after`, `drop` and delays.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thingspace_emulator::{
    Config, Emulator, LOGIN_PATH as LOGIN, LOGOUT_PATH as LOGOUT, RESET_PATH as RESET,
    TOKEN_PATH as TOKEN,
};

/// An emulator with the app `app:secret` and the user `alice`; dropping it shuts it down.
fn start() -> Emulator {
    thingspace_emulator::spawn_with(
        Config::default()
            .client("app", "secret")
            .user("alice", "pw-alice"),
    )
    .unwrap()
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

/// Status and JSON body, for success and error statuses alike.
fn send(req: ureq::Request, body: Option<&str>) -> (u16, String) {
    let result = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    match result {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("transport error: {e}"),
    }
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn token(a: &ureq::Agent, base: &str) -> String {
    let (st, body) = send(
        a.post(&format!("{base}{TOKEN}"))
            .set("Authorization", "Basic YXBwOnNlY3JldA==")
            .set("Content-Type", "application/x-www-form-urlencoded")
            .set("User-Agent", "emulator-test/1"),
        Some("grant_type=client_credentials"),
    );
    assert_eq!(st, 200, "{body}");
    json(&body)["access_token"].as_str().unwrap().to_owned()
}

fn login(a: &ureq::Agent, base: &str, bearer: &str, pw: &str) -> (u16, Value) {
    let (st, body) = send(
        a.post(&format!("{base}{LOGIN}"))
            .set("Authorization", &format!("Bearer {bearer}"))
            .set("Content-Type", "application/json"),
        Some(&json!({"username": "alice", "password": pw}).to_string()),
    );
    (st, json(&body))
}

fn reset(
    a: &ureq::Agent,
    base: &str,
    bearer: &str,
    session: &str,
    old: &str,
) -> Result<(u16, Value), Box<ureq::Error>> {
    let r = a
        .put(&format!("{base}{RESET}"))
        .set("Authorization", &format!("Bearer {bearer}"))
        .set("VZ-M2M-Token", session)
        .set("Content-Type", "application/json")
        .send_string(&json!({"oldPassword": old}).to_string());
    match r {
        Ok(r) => Ok((r.status(), json(&r.into_string().unwrap()))),
        // A fault body need not be JSON.
        Err(ureq::Error::Status(code, r)) => Ok((
            code,
            serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or(Value::Null),
        )),
        Err(e) => Err(Box::new(e)),
    }
}

fn control(
    a: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let req = a.request(method, &format!("{base}/_emulator/{path}"));
    let (st, body) = send(
        req.set("Content-Type", "application/json"),
        body.map(|b| b.to_string()).as_deref(),
    );
    (st, json(&body))
}

#[test]
fn full_rotation_over_http_is_recorded() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    let bearer = token(&a, b);
    assert_eq!(token(&a, b), bearer, "same token inside the hour");

    let (st, v) = login(&a, b, &bearer, "pw-alice");
    assert_eq!(st, 200);
    let session = v["sessionToken"].as_str().unwrap().to_owned();
    let (st, v) = reset(&a, b, &bearer, &session, "pw-alice").unwrap();
    assert_eq!(st, 200);
    let new = v["newPassword"].as_str().unwrap().to_owned();
    let (st, v) = send(
        a.post(&format!("{b}{LOGOUT}"))
            .set("Authorization", &format!("Bearer {bearer}"))
            .set("VZ-M2M-Token", &session),
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(json(&v)["sessionToken"], session.as_str());

    let (st, user) = control(&a, b, "GET", "users/alice", None);
    assert_eq!(st, 200);
    assert_eq!(user["password"], new.as_str());
    assert_eq!(user["resets"], 1);
    assert_eq!(user["successful_logins"], 1);
    assert_eq!(user["logouts"], 1);

    let (_, log) = control(&a, b, "GET", "requests", None);
    let log = log.as_array().unwrap();
    let summary: Vec<(String, u64, bool)> = log
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
                e["effect"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (TOKEN.to_owned(), 200, true),
            (TOKEN.to_owned(), 200, false),
            (LOGIN.to_owned(), 200, true),
            (RESET.to_owned(), 200, true),
            (LOGOUT.to_owned(), 200, true),
        ]
    );
    assert_eq!(log[0]["user_agent"], "emulator-test/1");
    assert_eq!(log[0]["seq"], 1);
    assert_eq!(log[3]["username"], "alice");
    assert_eq!(log[3]["outcome"], "ok");
    assert_eq!(log[3]["fault"], false);

    let (_, stats) = control(&a, b, "GET", "stats", None);
    assert_eq!(
        stats,
        json!({"token":2,"login":1,"reset":1,"logout":1,"tokens_issued":1})
    );

    let (st, _) = control(&a, b, "DELETE", "requests", None);
    assert_eq!(st, 200);
    let (_, log) = control(&a, b, "GET", "requests", None);
    assert_eq!(log, json!([]));
}

#[test]
fn clock_and_expire_control_token_and_session_lifetimes() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    let bearer = token(&a, b);
    let (_, v) = login(&a, b, &bearer, "pw-alice");
    let session = v["sessionToken"].as_str().unwrap().to_owned();

    let (_, before) = control(&a, b, "GET", "clock", None);
    let (st, after) = control(&a, b, "POST", "clock", Some(json!({"advance_secs": 1201})));
    assert_eq!(st, 200);
    assert!(after["now_ms"].as_u64().unwrap() >= before["now_ms"].as_u64().unwrap() + 1_201_000);
    let (st, v) = reset(&a, b, &bearer, &session, "pw-alice").unwrap();
    assert_eq!(st, 400);
    assert_eq!(
        v["errorCode"],
        "UnifiedWebService.REQUEST_FAILED.SessionToken.Expired"
    );

    control(&a, b, "POST", "expire", Some(json!({"tokens": true})));
    let (st, v) = login(&a, b, &bearer, "pw-alice");
    assert_eq!(st, 401);
    assert_eq!(v["fault"]["code"], "900901");
    let fresh = token(&a, b);
    assert_ne!(fresh, bearer);
    let (_, stats) = control(&a, b, "GET", "stats", None);
    assert_eq!(stats["tokens_issued"], 2);
}

#[test]
fn fault_before_answers_instead_and_has_no_effect() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    let (st, _) = control(
        &a,
        b,
        "POST",
        "faults",
        Some(
            json!({"path": RESET, "status": 500, "body": "<html>oops</html>",
                    "content_type": "text/html", "headers": {"Retry-After": "1"}}),
        ),
    );
    assert_eq!(st, 201);
    let bearer = token(&a, b);
    let (_, v) = login(&a, b, &bearer, "pw-alice");
    let session = v["sessionToken"].as_str().unwrap().to_owned();
    let resp = a
        .put(&format!("{b}{RESET}"))
        .set("Authorization", &format!("Bearer {bearer}"))
        .set("VZ-M2M-Token", &session)
        .set("Content-Type", "application/json")
        .send_string(r#"{"oldPassword":"pw-alice"}"#);
    let Err(ureq::Error::Status(500, r)) = resp else {
        panic!("expected the injected 500");
    };
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert_eq!(r.content_type(), "text/html");
    assert_eq!(r.into_string().unwrap(), "<html>oops</html>");
    let (_, user) = control(&a, b, "GET", "users/alice", None);
    assert_eq!(user["password"], "pw-alice");
    assert_eq!(user["resets"], 0);

    // The fault was used up: the next reset works.
    let (st, _) = reset(&a, b, &bearer, &session, "pw-alice").unwrap();
    assert_eq!(st, 200);

    let (_, log) = control(&a, b, "GET", "requests", None);
    let faulted = &log.as_array().unwrap()[2];
    assert_eq!(faulted["status"], 500);
    assert_eq!(faulted["fault"], true);
    assert_eq!(faulted["outcome"], "fault");
    assert_eq!(faulted["effect"], false);
}

#[test]
fn fault_after_takes_effect_then_answers_the_fault() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    control(
        &a,
        b,
        "POST",
        "faults",
        Some(json!({"path": RESET, "status": 502, "when": "after"})),
    );
    let bearer = token(&a, b);
    let (_, v) = login(&a, b, &bearer, "pw-alice");
    let session = v["sessionToken"].as_str().unwrap().to_owned();
    let (st, _) = reset(&a, b, &bearer, &session, "pw-alice").unwrap();
    assert_eq!(st, 502);
    let (_, user) = control(&a, b, "GET", "users/alice", None);
    assert_eq!(user["resets"], 1);
    assert_ne!(user["password"], "pw-alice");
    let (_, log) = control(&a, b, "GET", "requests", None);
    let e = &log.as_array().unwrap()[2];
    assert_eq!(
        (
            e["status"].as_u64(),
            e["effect"].as_bool(),
            e["outcome"].as_str()
        ),
        (Some(502), Some(true), Some("fault"))
    );
    assert_eq!(e["username"], "alice");
}

/// Sends one raw HTTP request and reads until the server closes the connection.
fn raw_exchange(base: &str, request: &str) -> Vec<u8> {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn drop_after_effect_closes_without_a_response_but_changes_the_password() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    let bearer = token(&a, b);
    let (_, v) = login(&a, b, &bearer, "pw-alice");
    let session = v["sessionToken"].as_str().unwrap().to_owned();
    control(
        &a,
        b,
        "POST",
        "faults",
        Some(json!({"path": RESET, "drop": true, "when": "after"})),
    );
    let body = r#"{"oldPassword":"pw-alice"}"#;
    let request = format!(
        "PUT {RESET} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {bearer}\r\nVZ-M2M-Token: {session}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = raw_exchange(b, &request);
    assert!(
        answer.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&answer)
    );
    let (_, user) = control(&a, b, "GET", "users/alice", None);
    assert_eq!(user["resets"], 1);
    let (_, log) = control(&a, b, "GET", "requests", None);
    let e = log.as_array().unwrap().last().unwrap().clone();
    assert_eq!(e["status"], Value::Null);
    assert_eq!(e["effect"], true);
    assert_eq!(e["fault"], true);
}

#[test]
fn drop_before_effect_leaves_the_password() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    control(
        &a,
        b,
        "POST",
        "faults",
        Some(json!({"path": LOGIN, "drop": true})),
    );
    let body = r#"{"username":"alice","password":"pw-alice"}"#;
    let request = format!(
        "POST {LOGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    assert!(raw_exchange(b, &request).is_empty());
    let (_, user) = control(&a, b, "GET", "users/alice", None);
    assert_eq!(user["successful_logins"], 0);
    let (_, log) = control(&a, b, "GET", "requests", None);
    assert_eq!(log[0]["status"], Value::Null);
    assert_eq!(log[0]["effect"], false);
    assert_eq!(log[0]["outcome"], "fault");
}

#[test]
fn delay_only_fault_slows_then_answers_normally() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    control(
        &a,
        b,
        "POST",
        "faults",
        Some(json!({"path": TOKEN, "delay_ms": 300})),
    );
    let started = Instant::now();
    let _ = token(&a, b);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (_, log) = control(&a, b, "GET", "requests", None);
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["outcome"], "ok");
    assert_eq!(log[0]["fault"], true);
}

#[test]
fn hung_request_abandoned_by_the_client_never_takes_effect() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    let bearer = token(&a, b);
    let (_, v) = login(&a, b, &bearer, "pw-alice");
    let session = v["sessionToken"].as_str().unwrap().to_owned();
    control(
        &a,
        b,
        "POST",
        "faults",
        Some(json!({"path": RESET, "delay_ms": 1500})),
    );
    let impatient = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(200))
        .build();
    assert!(reset(&impatient, b, &bearer, &session, "pw-alice").is_err());
    std::thread::sleep(Duration::from_millis(2000));
    let (_, user) = control(&a, b, "GET", "users/alice", None);
    assert_eq!(
        user["resets"], 0,
        "an abandoned request must not take effect later"
    );
    let (_, log) = control(&a, b, "GET", "requests", None);
    let e = log.as_array().unwrap().last().unwrap().clone();
    assert_eq!(e["status"], Value::Null);
    assert_eq!(e["fault"], true);
}

#[test]
fn concurrent_clients_share_one_token_and_every_reset_counts() {
    let srv = start();
    let a = agent();
    let b = srv.base_url().to_owned();
    for i in 0..20 {
        control(
            &a,
            &b,
            "POST",
            "users",
            Some(json!({"username": format!("u{i}"), "password": "p"})),
        );
    }
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let b = b.clone();
            std::thread::spawn(move || {
                let a = agent();
                let bearer = token(&a, &b);
                let (st, body) = send(
                    a.post(&format!("{b}{LOGIN}"))
                        .set("Authorization", &format!("Bearer {bearer}"))
                        .set("Content-Type", "application/json"),
                    Some(&json!({"username": format!("u{i}"), "password": "p"}).to_string()),
                );
                assert_eq!(st, 200);
                let session = json(&body)["sessionToken"].as_str().unwrap().to_owned();
                let (st, v) = reset(&a, &b, &bearer, &session, "p").unwrap();
                assert_eq!(st, 200);
                (i, v["newPassword"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    for t in threads {
        let (i, pw) = t.join().unwrap();
        let (_, user) = control(&a, &b, "GET", &format!("users/u{i}"), None);
        assert_eq!(user["password"], pw.as_str());
    }
    let (_, stats) = control(&a, &b, "GET", "stats", None);
    assert_eq!(stats["tokens_issued"], 1);
    assert_eq!(stats["reset"], 20);
}

#[test]
fn unknown_paths_and_methods_are_json_errors() {
    let srv = start();
    let a = agent();
    let b = srv.base_url();
    let (st, body) = send(a.get(&format!("{b}/api/m2m/v1/devices")), None);
    assert_eq!(st, 404);
    assert!(json(&body)["fault"].is_object());
    let (st, _) = send(a.get(&format!("{b}{LOGIN}")), None);
    assert_eq!(st, 405);
    let (st, _) = send(a.get(&format!("{b}/_emulator/users/nobody")), None);
    assert_eq!(st, 404);
}
