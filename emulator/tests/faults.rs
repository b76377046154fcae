//! The fault outcomes issue 9's invariants talk about, over real HTTP against `spawn()`: every outcome class on
//! each of the four API steps (the matrix), delayed effects, echoes of the request in any encoding, and the
//! per-password record of failed log-ins.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use thingspace_emulator::{
    Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Fault, LOGIN_PATH, LOGOUT_PATH,
    Outcome, RESET_PATH, Request, TOKEN_PATH, User,
};

const USER: &str = "alice";
const SEED: &str = "pw-alice";
/// The password the log-in step tries: wrong, so the effect of a log-in is a counted failure (what I1 is about).
const WRONG: &str = "wrong-seed";

/// What the client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Answer(u16, String),
    /// No HTTP answer: the connection was dropped, or the client timed out.
    NoAnswer(String),
}

impl Seen {
    fn status(&self) -> Option<u16> {
        match self {
            Self::Answer(status, _) => Some(*status),
            Self::NoAnswer(_) => None,
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Answer(_, body) => serde_json::from_str(body).unwrap_or(Value::Null),
            Self::NoAnswer(_) => Value::Null,
        }
    }

    fn body(&self) -> &str {
        match self {
            Self::Answer(_, body) => body,
            Self::NoAnswer(why) => panic!("no answer: {why}"),
        }
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(timeout).build()
}

fn send(req: ureq::Request, body: Option<&str>) -> Seen {
    let result = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    match result {
        Ok(r) => Seen::Answer(r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => {
            Seen::Answer(code, r.into_string().unwrap_or_default())
        }
        Err(e) => Seen::NoAnswer(e.to_string()),
    }
}

fn basic() -> String {
    let pair = format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The four API steps of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Token,
    Login,
    Reset,
    Logout,
}

const STEPS: [Step; 4] = [Step::Token, Step::Login, Step::Reset, Step::Logout];

/// An emulator with [`USER`], and what a step needs before it: a bearer token and a session.
struct Fixture {
    emu: Emulator,
    bearer: String,
    session: String,
}

impl Fixture {
    /// Makes the requests that come before `step`, unfaulted, and clears the log.
    fn before(step: Step) -> Self {
        let emu = thingspace_emulator::spawn_with(Config::default().user(USER, SEED)).unwrap();
        let mut f = Self {
            emu,
            bearer: String::new(),
            session: String::new(),
        };
        let a = agent(Duration::from_secs(10));
        if step != Step::Token {
            f.bearer = f.token(&a).json()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if matches!(step, Step::Reset | Step::Logout) {
            let seen = f.login(&a, SEED);
            f.session = seen.json()["sessionToken"].as_str().unwrap().to_owned();
        }
        f.emu.clear_requests();
        f
    }

    fn url(&self, path: &str) -> String {
        self.emu.url(path)
    }

    fn token(&self, a: &ureq::Agent) -> Seen {
        send(
            a.post(&self.url(TOKEN_PATH))
                .set("Authorization", &basic())
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some("grant_type=client_credentials"),
        )
    }

    fn login(&self, a: &ureq::Agent, password: &str) -> Seen {
        send(
            a.post(&self.url(LOGIN_PATH))
                .set("Authorization", &format!("Bearer {}", self.bearer))
                .set("Content-Type", "application/json"),
            Some(&json!({ "username": USER, "password": password }).to_string()),
        )
    }

    fn reset(&self, a: &ureq::Agent) -> Seen {
        send(
            a.put(&self.url(RESET_PATH))
                .set("Authorization", &format!("Bearer {}", self.bearer))
                .set("VZ-M2M-Token", &self.session)
                .set("Content-Type", "application/json"),
            Some(&json!({ "oldPassword": SEED }).to_string()),
        )
    }

    fn logout(&self, a: &ureq::Agent) -> Seen {
        send(
            a.post(&self.url(LOGOUT_PATH))
                .set("Authorization", &format!("Bearer {}", self.bearer))
                .set("VZ-M2M-Token", &self.session),
            None,
        )
    }

    fn call(&self, step: Step, a: &ureq::Agent) -> Seen {
        match step {
            Step::Token => self.token(a),
            Step::Login => self.login(a, WRONG),
            Step::Reset => self.reset(a),
            Step::Logout => self.logout(a),
        }
    }

    fn user(&self) -> User {
        self.emu.user(USER).unwrap()
    }

    /// Whether the step's request took effect at the emulator.
    fn took_effect(&self, step: Step) -> bool {
        let user = self.user();
        match step {
            Step::Token => !self.emu.issued().access_tokens.is_empty(),
            Step::Login => {
                let tried: Vec<_> = user
                    .failed_login_attempts
                    .iter()
                    .map(|a| a.password.as_str())
                    .collect();
                assert!(tried.is_empty() || tried == [WRONG], "{tried:?}");
                tried == [WRONG]
            }
            Step::Reset => {
                assert_eq!(user.resets == 1, user.password != SEED);
                user.resets == 1
            }
            Step::Logout => user.logouts == 1,
        }
    }

    /// The log entry of the step's request (the only request since the fixture cleared the log).
    fn entry(&self, step: Step) -> Request {
        let log = self.emu.requests();
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].path, path(step));
        log[0].clone()
    }
}

fn path(step: Step) -> &'static str {
    match step {
        Step::Token => TOKEN_PATH,
        Step::Login => LOGIN_PATH,
        Step::Reset => RESET_PATH,
        Step::Logout => LOGOUT_PATH,
    }
}

/// Waits until the step's request was processed (a `late` fault's delay ended).
fn wait_processed(f: &Fixture, step: Step) -> Request {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entry = f.entry(step);
        if entry.processed_at_ms.is_some() {
            return entry;
        }
        assert!(Instant::now() < deadline, "never processed: {entry:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One row of the matrix: the fault, what the client sees, and whether the request takes effect.
struct Class {
    name: &'static str,
    fault: fn(Step) -> Fault,
    /// The status the client gets on a step; None for no answer.
    seen: fn(Step) -> Option<u16>,
    effect: bool,
}

fn refusal(step: Step) -> Fault {
    match step {
        Step::Token => Fault::status(
            TOKEN_PATH,
            401,
            r#"{"error":"invalid_client","error_description":"Client Authentication failed."}"#,
        ),
        _ => Fault::status(
            path(step),
            400,
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.UnexpectedError","errorMessage":"refused"}"#,
        ),
    }
}

/// Runs one outcome class on all four steps and checks what the client saw, the effect and the log.
fn run_class(class: &Class) {
    for step in STEPS {
        let what = format!("{} on {step:?}", class.name);
        let f = Fixture::before(step);
        f.emu.fault(&(class.fault)(step)).unwrap();
        let seen = f.call(step, &agent(Duration::from_secs(10)));
        let expected = (class.seen)(step);
        assert_eq!(seen.status(), expected, "{what}: {seen:?}");
        assert_eq!(f.took_effect(step), class.effect, "{what}");
        let entry = f.entry(step);
        assert_eq!(
            (
                entry.status,
                entry.fault,
                entry.outcome,
                entry.processed_at_ms.is_some()
            ),
            (expected, true, Outcome::Fault, class.effect),
            "{what}: {entry:?}"
        );
        if class.effect && step != Step::Login {
            assert!(entry.effect, "{what}: {entry:?}");
        }
        assert_eq!(f.emu.pending_faults(), 0, "{what}");
    }
}

#[test]
fn refused_before_effect_on_every_step() {
    run_class(&Class {
        name: "4xx before",
        fault: refusal,
        seen: |step| Some(if step == Step::Token { 401 } else { 400 }),
        effect: false,
    });
}

#[test]
fn server_error_before_effect_on_every_step() {
    run_class(&Class {
        name: "5xx before",
        fault: |step| {
            Fault::status(path(step), 503, "<html>Service Unavailable</html>")
                .content_type("text/html")
        },
        seen: |_| Some(503),
        effect: false,
    });
}

#[test]
fn server_error_after_effect_on_every_step() {
    run_class(&Class {
        name: "5xx after",
        fault: |step| Fault::status(path(step), 504, "<html>Gateway Timeout</html>").after(),
        seen: |_| Some(504),
        effect: true,
    });
}

#[test]
fn dropped_after_effect_on_every_step() {
    run_class(&Class {
        name: "dropped after",
        fault: |step| Fault::drop_connection(path(step)).after(),
        seen: |_| None,
        effect: true,
    });
}

#[test]
fn malformed_answer_after_effect_on_every_step() {
    run_class(&Class {
        name: "garbled 200",
        fault: |step| {
            Fault::status(path(step), 200, "\u{1}\u{2}garbage{{{not json")
                .content_type("text/plain")
                .after()
        },
        seen: |_| Some(200),
        effect: true,
    });
}

#[test]
fn timeout_with_late_effect_on_every_step() {
    for step in STEPS {
        let what = format!("late on {step:?}");
        let f = Fixture::before(step);
        f.emu.fault(&Fault::delay(path(step), 0).late(700)).unwrap();
        let started = Instant::now();
        let seen = f.call(step, &agent(Duration::from_millis(150)));
        assert!(matches!(seen, Seen::NoAnswer(_)), "{what}: {seen:?}");
        // The client gave up; the request has not taken effect yet...
        if started.elapsed() < Duration::from_millis(600) {
            assert!(!f.took_effect(step), "{what}: effect before the delay");
            assert_eq!(f.entry(step).processed_at_ms, None, "{what}");
        }
        // ...and takes effect when the delay ends, with nobody left to answer.
        let entry = wait_processed(&f, step);
        assert!(f.took_effect(step), "{what}");
        assert_eq!(
            entry.status, None,
            "{what}: no answer was delivered: {entry:?}"
        );
        assert!(entry.fault, "{what}");
        assert!(
            entry.processed_at_ms.unwrap() >= entry.at_ms + 700,
            "{what}: processed after the delay: {entry:?}"
        );
        assert_eq!(
            entry.username.is_some(),
            step != Step::Token,
            "{what}: {entry:?}"
        );
    }
}

#[test]
fn the_outcome_classes_are_also_right_for_a_successful_log_in() {
    // The matrix's log-in step sends a wrong password; a right one under `after` and `late` counts too.
    for fault in [
        Fault::status(LOGIN_PATH, 502, "").after(),
        Fault::drop_connection(LOGIN_PATH).after(),
        Fault::delay(LOGIN_PATH, 0).late(300),
    ] {
        let f = Fixture::before(Step::Login);
        f.emu.fault(&fault).unwrap();
        let seen = f.login(&agent(Duration::from_millis(100)), SEED);
        assert_ne!(seen.status(), Some(200), "{fault:?}");
        let entry = wait_processed(&f, Step::Login);
        assert!(entry.effect, "{fault:?}: {entry:?}");
        assert_eq!(f.user().successful_logins, 1, "{fault:?}");
        assert_eq!(f.emu.issued().session_tokens.len(), 1, "{fault:?}");
    }
}

#[test]
fn late_answers_a_patient_client_normally_after_the_effect() {
    let f = Fixture::before(Step::Reset);
    f.emu.fault(&Fault::delay(RESET_PATH, 0).late(300)).unwrap();
    let started = Instant::now();
    let seen = f.reset(&agent(Duration::from_secs(10)));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(seen.status(), Some(200), "{seen:?}");
    assert_eq!(seen.json()["newPassword"], f.user().password.as_str());
    let entry = f.entry(Step::Reset);
    assert_eq!(
        (entry.status, entry.effect, entry.outcome),
        (Some(200), true, Outcome::Ok)
    );
}

#[test]
fn late_with_a_status_answers_the_fault_after_the_effect() {
    let f = Fixture::before(Step::Reset);
    f.emu
        .fault(&Fault::status(RESET_PATH, 504, "").late(200))
        .unwrap();
    let seen = f.reset(&agent(Duration::from_secs(10)));
    assert_eq!(seen.status(), Some(504));
    assert_eq!(f.user().resets, 1);
    let entry = f.entry(Step::Reset);
    assert_eq!(
        (entry.status, entry.effect, entry.outcome),
        (Some(504), true, Outcome::Fault)
    );
}

#[test]
fn late_with_drop_applies_then_closes_the_connection() {
    let f = Fixture::before(Step::Reset);
    f.emu
        .fault(&Fault::drop_connection(RESET_PATH).late(200))
        .unwrap();
    let seen = f.reset(&agent(Duration::from_secs(10)));
    assert!(matches!(seen, Seen::NoAnswer(_)), "{seen:?}");
    assert_eq!(f.user().resets, 1);
    assert_eq!(f.entry(Step::Reset).status, None);
}

#[test]
fn a_late_reset_landing_after_a_newer_one_is_refused_by_its_stale_old_password() {
    // "A reset that times out but applies late": the client gives up, logs in again meanwhile and resets; the
    // first reset lands afterwards. Its oldPassword no longer matches, so ThingSpace refuses it then.
    let f = Fixture::before(Step::Reset);
    f.emu.fault(&Fault::delay(RESET_PATH, 0).late(500)).unwrap();
    assert!(matches!(
        f.reset(&agent(Duration::from_millis(100))),
        Seen::NoAnswer(_)
    ));
    let second = f.reset(&agent(Duration::from_secs(10)));
    assert_eq!(second.status(), Some(200));
    let new = second.json()["newPassword"].as_str().unwrap().to_owned();
    let log = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = f.emu.requests();
            if log[0].processed_at_ms.is_some() || Instant::now() > deadline {
                break log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].status, log[0].effect), (None, false), "{log:?}");
    assert!(log[0].processed_at_ms.unwrap() > log[1].processed_at_ms.unwrap());
    assert_eq!(f.user().password, new);
    assert_eq!(f.user().resets, 1);
}

#[test]
fn stopping_ends_the_server_with_a_late_request_pending() {
    let f = Fixture::before(Step::Reset);
    f.emu.fault(&Fault::delay(RESET_PATH, 0).late(300)).unwrap();
    let a = agent(Duration::from_millis(100));
    assert!(matches!(f.reset(&a), Seen::NoAnswer(_)));
    let url = f.url("/_emulator/users/alice");
    let Fixture { emu, .. } = f;
    emu.stop();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        matches!(send(a.get(&url), None), Seen::NoAnswer(_)),
        "the server is gone"
    );
}

#[test]
fn echoes_repeat_the_request_in_every_encoding() {
    let secret = "p\"w\\1 &<é>+'/%";
    let f = Fixture::before(Step::Login);
    f.emu.add_user(USER, secret).unwrap();
    let encodings = ["raw", "json", "url", "form", "html", "htmlnum", "base64"];
    let body: String = encodings
        .iter()
        .map(|e| format!("[{e}:{{{{field:password|{e}}}}}]"))
        .collect();
    f.emu
        .fault(
            &Fault::status(LOGIN_PATH, 400, &body)
                .content_type("text/plain")
                .header("X-Echo-Auth", "{{header:AUTHORIZATION|base64}}")
                .header("X-Echo-Query", "{{query|url}}"),
        )
        .unwrap();
    let a = agent(Duration::from_secs(10));
    let resp = a
        .post(&format!("{}?q=a b", f.url(LOGIN_PATH)))
        .set("Authorization", &format!("Bearer {}", f.bearer))
        .set("Content-Type", "application/json")
        .send_string(&json!({ "username": USER, "password": secret }).to_string());
    let Err(ureq::Error::Status(400, resp)) = resp else {
        panic!("expected the echo fault: {resp:?}");
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        resp.header("X-Echo-Auth"),
        Some(b64.encode(format!("Bearer {}", f.bearer)).as_str())
    );
    assert_eq!(resp.header("X-Echo-Query"), Some("q%3Da%2520b"));
    let echoed = resp.into_string().unwrap();
    let expected = [
        ("raw", secret.to_owned()),
        ("json", r#"p\"w\\1 &<é>+'/%"#.to_owned()),
        ("url", "p%22w%5C1%20%26%3C%C3%A9%3E%2B%27%2F%25".to_owned()),
        ("form", "p%22w%5C1+%26%3C%C3%A9%3E%2B%27%2F%25".to_owned()),
        ("html", "p&quot;w\\1 &amp;&lt;é&gt;+&#39;/%".to_owned()),
        (
            "htmlnum",
            "p&#34;w&#92;1&#32;&#38;&#60;&#233;&#62;&#43;&#39;&#47;&#37;".to_owned(),
        ),
        ("base64", b64.encode(secret)),
    ];
    let want: String = expected.iter().map(|(e, v)| format!("[{e}:{v}]")).collect();
    assert_eq!(echoed, want);
    // A `before` echo fault is not a log-in: nothing was counted.
    assert!(f.user().failed_login_attempts.is_empty());
}

#[test]
fn the_token_endpoint_can_echo_the_basic_credentials() {
    let f = Fixture::before(Step::Token);
    f.emu
        .fault(&Fault::status(
            TOKEN_PATH,
            401,
            r#"{"error":"invalid_client","error_description":"bad {{header:authorization|json}} for {{field:grant_type}}"}"#,
        ))
        .unwrap();
    let seen = f.token(&agent(Duration::from_secs(10)));
    assert_eq!(seen.status(), Some(401));
    assert_eq!(
        seen.json()["error_description"],
        format!("bad {} for client_credentials", basic())
    );
}

#[test]
fn failed_log_ins_are_recorded_per_password_in_order_with_the_lock() {
    let f = Fixture::before(Step::Login);
    let a = agent(Duration::from_secs(10));
    // One refused by a `before` fault (not a log-in), one counted behind a 504, then wrong passwords until
    // the lock, and the right one refused because of it.
    f.emu.fault(&Fault::status(LOGIN_PATH, 503, "")).unwrap();
    assert_eq!(f.login(&a, "never-counted").status(), Some(503));
    f.emu
        .fault(&Fault::status(LOGIN_PATH, 504, "").after())
        .unwrap();
    assert_eq!(f.login(&a, "seed-1").status(), Some(504));
    for pw in ["seed-2", "seed-2", "seed-3", "seed-4"] {
        assert_eq!(f.login(&a, pw).status(), Some(400));
    }
    assert_eq!(f.login(&a, SEED).status(), Some(400));

    let user = f.user();
    let tried: Vec<(&str, bool)> = user
        .failed_login_attempts
        .iter()
        .map(|t| (t.password.as_str(), t.locked))
        .collect();
    assert_eq!(
        tried,
        [
            ("seed-1", false),
            ("seed-2", false),
            ("seed-2", false),
            ("seed-3", false),
            ("seed-4", false),
            (SEED, true),
        ]
    );
    assert!(user.locked);
    assert_eq!(user.failed_logins, 6);
    let times: Vec<u64> = user.failed_login_attempts.iter().map(|t| t.at_ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // The control API shows the same list.
    let view: Value = serde_json::from_str(
        &a.get(&f.url(&thingspace_emulator::paths::user_path(USER)))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        view["failed_login_attempts"][0],
        json!({"password": "seed-1", "at_ms": times[0], "locked": false})
    );
    assert_eq!(serde_json::from_value::<User>(view).unwrap(), user);

    // Replacing the user forgets them, as it unlocks.
    f.emu.add_user(USER, SEED).unwrap();
    assert!(f.user().failed_login_attempts.is_empty());
}

#[test]
fn faults_posted_over_http_accept_the_new_options_and_refuse_typos() {
    let f = Fixture::before(Step::Reset);
    let a = agent(Duration::from_secs(10));
    let post = |body: Value| send(a.post(&f.url("/_emulator/faults")), Some(&body.to_string()));
    let ok = post(
        json!({"path": RESET_PATH, "when": "late", "delay_ms": 10, "status": 500,
                          "body": "{{field:oldPassword|html}}", "headers": {"X-A": "{{header:vz-m2m-token}}"}}),
    );
    assert_eq!(ok, Seen::Answer(201, r#"{"pending":1}"#.to_owned()));
    for bad in [
        json!({"path": RESET_PATH, "when": "late", "status": 500}),
        json!({"path": RESET_PATH, "status": 500, "body": "{{field:oldPassword|htm}}"}),
        json!({"path": RESET_PATH, "status": 500, "body": "{{fiel:oldPassword}}"}),
    ] {
        let seen = post(bad.clone());
        assert_eq!(seen.status(), Some(400), "{bad}: {seen:?}");
        assert!(seen.json()["error"].is_string(), "{seen:?}");
    }
    let seen = f.reset(&a);
    assert_eq!(seen.status(), Some(500));
    assert_eq!(seen.body(), SEED);
}

#[test]
fn start_runs_on_the_callers_runtime_and_stops_on_drop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt
        .block_on(thingspace_emulator::start(
            Config::default().user(USER, SEED),
        ))
        .unwrap();
    let a = agent(Duration::from_secs(5));
    let url = emu.url(&thingspace_emulator::paths::user_path(USER));
    let seen = send(a.get(&url), None);
    assert_eq!(seen.status(), Some(200));
    assert_eq!(seen.json()["password"], SEED);
    drop(emu);
    let deadline = Instant::now() + Duration::from_secs(5);
    while matches!(send(a.get(&url), None), Seen::Answer(..)) {
        assert!(Instant::now() < deadline, "still serving after drop");
        std::thread::sleep(Duration::from_millis(20));
    }
}
