//! The fault options and control knobs that let a client's own tests run on the emulator, over real HTTP against
//! `spawn()`: holding a request until the test releases it, refusing a request with the refusal's effect, replacing
//! only a success answer, the in-flight count, the connection and error code in the request log, and a shorter
//! token lifetime.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thingspace_emulator::{
    Config, Emulator, Fault, Held, LOGIN_PATH, Outcome, RESET_PATH, Request, TOKEN_PATH,
};

const BASIC: &str = "Basic YXBwOnNlY3JldA=="; // app:secret

fn start() -> Emulator {
    thingspace_emulator::spawn_with(
        Config::default()
            .client("app", "secret")
            .user("alice", "pw-alice"),
    )
    .unwrap()
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
}

/// Status and body, or `None` when no answer came (dropped, or the agent gave up).
fn send(req: ureq::Request, body: &str) -> Option<(u16, String)> {
    match req.send_string(body) {
        Ok(r) => Some((r.status(), r.into_string().unwrap())),
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

fn token(a: &ureq::Agent, emu: &Emulator) -> Option<(u16, String)> {
    send(
        a.post(&emu.url(TOKEN_PATH))
            .set("Authorization", BASIC)
            .set("Content-Type", "application/x-www-form-urlencoded"),
        "grant_type=client_credentials",
    )
}

fn bearer(emu: &Emulator) -> String {
    let (_, body) = token(&agent(Duration::from_secs(10)), emu).unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

fn login(a: &ureq::Agent, emu: &Emulator, bearer: &str, pw: &str) -> Option<(u16, String)> {
    send(
        a.post(&emu.url(LOGIN_PATH))
            .set("Authorization", &format!("Bearer {bearer}"))
            .set("Content-Type", "application/json"),
        &json!({"username": "alice", "password": pw}).to_string(),
    )
}

fn session(emu: &Emulator, bearer: &str) -> String {
    let (_, body) = login(&agent(Duration::from_secs(10)), emu, bearer, "pw-alice").unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    v["sessionToken"].as_str().unwrap().to_owned()
}

fn reset(a: &ureq::Agent, emu: &Emulator, bearer: &str, session: &str) -> Option<(u16, String)> {
    send(
        a.put(&emu.url(RESET_PATH))
            .set("Authorization", &format!("Bearer {bearer}"))
            .set("VZ-M2M-Token", session)
            .set("Content-Type", "application/json"),
        &json!({"oldPassword": "pw-alice"}).to_string(),
    )
}

/// Polls `f` until it gives something, for at most 10 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn held_one(emu: &Emulator) -> Held {
    eventually("a held request", || emu.held().into_iter().next())
}

fn last(emu: &Emulator) -> Request {
    emu.requests().pop().unwrap()
}

#[test]
fn a_held_request_waits_unprocessed_until_released_then_goes_on() {
    let emu = start();
    let bearer = bearer(&emu);
    emu.fault(&Fault::hold(LOGIN_PATH)).unwrap();
    let client = std::thread::spawn({
        let url = emu.base_url().to_owned();
        let bearer = bearer.clone();
        move || {
            let a = agent(Duration::from_secs(10));
            a.post(&format!("{url}{LOGIN_PATH}"))
                .set("Authorization", &format!("Bearer {bearer}"))
                .set("Content-Type", "application/json")
                .send_string(r#"{"username":"alice","password":"pw-alice"}"#)
                .map(|r| r.status())
                .ok()
        }
    });
    let held = held_one(&emu);
    assert_eq!(held.path, LOGIN_PATH);
    assert_eq!(held.seq, last(&emu).seq);
    // Nothing happens while it is held: no effect, no answer, and it counts as in flight.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(emu.user("alice").unwrap().successful_logins, 0);
    assert_eq!(last(&emu).processed_at_ms, None);
    assert_eq!(emu.in_flight(), 1);
    assert!(!client.is_finished());

    assert!(emu.release(held.seq));
    assert_eq!(client.join().unwrap(), Some(200));
    assert_eq!(emu.user("alice").unwrap().successful_logins, 1);
    assert!(emu.held().is_empty());
    assert!(!emu.release(held.seq), "released once only");
    eventually("nothing in flight", || (emu.in_flight() == 0).then_some(()));
}

#[test]
fn a_hold_after_processing_keeps_the_answer_while_the_effect_has_landed() {
    let emu = start();
    let bearer = bearer(&emu);
    let session = session(&emu, &bearer);
    emu.fault(&Fault::hold(RESET_PATH).after()).unwrap();
    let client = std::thread::spawn({
        let url = emu.base_url().to_owned();
        move || {
            agent(Duration::from_secs(10))
                .put(&format!("{url}{RESET_PATH}"))
                .set("Authorization", &format!("Bearer {bearer}"))
                .set("VZ-M2M-Token", &session)
                .set("Content-Type", "application/json")
                .send_string(r#"{"oldPassword":"pw-alice"}"#)
                .map(|r| r.status())
                .ok()
        }
    });
    held_one(&emu);
    assert_eq!(
        emu.user("alice").unwrap().resets,
        1,
        "processed before the hold"
    );
    assert_eq!(last(&emu).status, None, "but not answered");
    // Released through the control API, all at once.
    let (status, body) = send(
        agent(Duration::from_secs(10)).post(&emu.url("/_emulator/release")),
        "{}",
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"released":1}"#));
    assert_eq!(client.join().unwrap(), Some(200));
    assert_eq!(last(&emu).status, Some(200));
}

#[test]
fn a_held_request_whose_client_gives_up_ends_unprocessed_and_unheld() {
    let emu = start();
    let bearer = bearer(&emu);
    let session = session(&emu, &bearer);
    emu.fault(&Fault::hold(RESET_PATH)).unwrap();
    assert!(reset(&agent(Duration::from_millis(200)), &emu, &bearer, &session).is_none());
    eventually("the hold to end", || emu.held().is_empty().then_some(()));
    eventually("nothing in flight", || (emu.in_flight() == 0).then_some(()));
    assert_eq!(emu.user("alice").unwrap().resets, 0);
    let entry = last(&emu);
    assert_eq!((entry.status, entry.processed_at_ms), (None, None));
}

#[test]
fn in_flight_counts_a_late_effect_until_it_lands() {
    let emu = start();
    let bearer = bearer(&emu);
    let session = session(&emu, &bearer);
    emu.fault(&Fault::delay(RESET_PATH, 0).late(500)).unwrap();
    assert!(reset(&agent(Duration::from_millis(100)), &emu, &bearer, &session).is_none());
    // The connection's own count ends once the server notices the client left; the late effect's stays.
    eventually("the connection to end", || {
        (emu.in_flight() == 1).then_some(())
    });
    assert_eq!(emu.user("alice").unwrap().resets, 0, "not landed yet");
    eventually("the late effect", || (emu.in_flight() == 0).then_some(()));
    assert_eq!(emu.user("alice").unwrap().resets, 1);
    assert!(last(&emu).processed_at_ms.is_some());
}

#[test]
fn the_log_names_each_requests_connection_and_its_answers_error_code() {
    let emu = start();
    let kept = agent(Duration::from_secs(10));
    token(&kept, &emu).unwrap();
    token(&kept, &emu).unwrap();
    let bearer = bearer(&emu);
    login(&kept, &emu, &bearer, "wrong").unwrap();
    emu.fault(&Fault::status(
        LOGIN_PATH,
        401,
        r#"{"fault":{"code":900901,"message":"Invalid Credentials"}}"#,
    ))
    .unwrap();
    login(&kept, &emu, &bearer, "pw-alice").unwrap();
    let other = agent(Duration::from_secs(10));
    send(
        other
            .post(&emu.url(TOKEN_PATH))
            .set("Authorization", "Basic eDp5")
            .set("Content-Type", "application/x-www-form-urlencoded"),
        "grant_type=client_credentials",
    )
    .unwrap();

    let log = emu.requests();
    let connections: Vec<u64> = log.iter().map(|r| r.connection).collect();
    // Requests 0, 1, 3 and 4 came from the kept agent; 2 and 5 from agents of their own.
    let [kept_a, kept_b, own_a, kept_c, kept_d, own_b] = connections[..] else {
        panic!("{connections:?}")
    };
    assert!(kept_a > 0, "numbered from 1: {connections:?}");
    assert_eq!(
        [kept_b, kept_c, kept_d],
        [kept_a; 3],
        "a kept-alive connection"
    );
    assert!(
        own_a != kept_a && own_b != kept_a && own_a != own_b,
        "other agents, other connections: {connections:?}"
    );
    let codes: Vec<Option<&str>> = log.iter().map(|r| r.error_code.as_deref()).collect();
    assert_eq!(
        codes,
        [
            None,
            None,
            None,
            Some("UnifiedWebService.REQUEST_FAILED.Login.InvalidCredentials"),
            Some("900901"),
            Some("invalid_client"),
        ]
    );
}

#[test]
fn refuse_counts_a_failed_log_in_even_with_the_right_password() {
    let emu = start();
    let bearer = bearer(&emu);
    // Posted as JSON, as a test outside Rust would.
    let (status, _) = send(
        agent(Duration::from_secs(10)).post(&emu.url("/_emulator/faults")),
        &json!({"path": LOGIN_PATH, "refuse": true}).to_string(),
    )
    .unwrap();
    assert_eq!(status, 201);
    let (status, body) = login(&agent(Duration::from_secs(10)), &emu, &bearer, "pw-alice").unwrap();
    assert_eq!(status, 400, "{body}");
    let user = emu.user("alice").unwrap();
    assert_eq!((user.failed_logins, user.successful_logins), (1, 0));
    assert_eq!(user.failed_login_attempts[0].password, "pw-alice");
    let entry = last(&emu);
    assert_eq!((entry.outcome, entry.fault), (Outcome::FailedLogin, true));
    assert!(entry.processed_at_ms.is_some());
    // Only that request: the next log-in is checked as usual.
    assert_eq!(
        login(&agent(Duration::from_secs(10)), &emu, &bearer, "pw-alice").map(|r| r.0),
        Some(200)
    );
}

#[test]
fn on_success_only_garbles_a_success_but_lets_a_refusal_through() {
    let emu = start();
    let bearer = bearer(&emu);
    emu.fault(
        &Fault::status(LOGIN_PATH, 200, "<html>maintenance</html>")
            .content_type("text/html")
            .after()
            .on_success_only()
            .count(2),
    )
    .unwrap();
    let a = agent(Duration::from_secs(10));
    let (status, body) = login(&a, &emu, &bearer, "wrong").unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidCredentials"), "{body}");
    assert_eq!(last(&emu).outcome, Outcome::FailedLogin);
    let (status, body) = login(&a, &emu, &bearer, "pw-alice").unwrap();
    assert_eq!((status, body.as_str()), (200, "<html>maintenance</html>"));
    assert_eq!(last(&emu).outcome, Outcome::Fault);
    assert_eq!(emu.user("alice").unwrap().successful_logins, 1);
}

#[test]
fn a_shorter_token_lifetime_is_announced_and_enforced() {
    let emu = thingspace_emulator::spawn_with(
        Config::default()
            .client("app", "secret")
            .user("alice", "pw-alice")
            .token_lifetime(Duration::from_secs(2)),
    )
    .unwrap();
    let (_, body) = token(&agent(Duration::from_secs(10)), &emu).unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["expires_in"], 2);
    let bearer = v["access_token"].as_str().unwrap().to_owned();
    emu.advance_clock(Duration::from_secs(2));
    let (status, body) = login(&agent(Duration::from_secs(10)), &emu, &bearer, "pw-alice").unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("900901"), "{body}");
    assert_ne!(
        self::bearer(&emu),
        bearer,
        "a new token after the old one died"
    );
}
