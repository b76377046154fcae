//! Property tests with fixed seeds, so they run the same cases on every `cargo test`:
//! - response parsing: hostile answers (any status, content type and body) never panic, never echo a secret, and
//!   well-formed answers give back exactly what they carried;
//! - redaction: a secret echoed in any encoding a server could use, in any error shape, never reaches a message;
//! - the rotation flow: under any interleaving of outcomes on the token, log-in, reset and log-out calls (the
//!   in-test ThingSpace of `fake`), nothing that may have counted or taken effect is sent again, and the error's
//!   [`Effect`] agrees with what the fake really did.
//!
//! The cargo-fuzz target `fuzz/fuzz_targets/thingspace_response.rs` explores the parsing entry points without a case
//! limit.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use secrecy::ExposeSecret;

use super::client::{AnswerKind, parse_answer};
use super::error::{Effect, Error, parse_error_body};
use super::fake::{Fake, Fault, LOGIN, LOGOUT, RESET, TOKEN, When, answer};
use secrecy::SecretString;

/// The same seed every run: a failure reproduces, and the suite's time stays fixed.
const SEED: [u8; 32] = *b"thingspace-response-parsing-0001";

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &SEED),
    )
}

/// A secret as ThingSpace makes them (passwords, GUID tokens): a fixed prefix keeps it from ever being a
/// substring of the fixed text of an error message by chance.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{8,20}".prop_map(|s| format!("Zq9{s}"))
}

fn kind() -> impl Strategy<Value = AnswerKind> {
    prop_oneof![
        Just(AnswerKind::Token),
        Just(AnswerKind::Login),
        Just(AnswerKind::Reset),
        Just(AnswerKind::Logout),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop_oneof![Just(200u16), Just(201), Just(204), Just(400), Just(401), Just(429), Just(500), Just(502), Just(503)],
        1 => 0u16..1000,
    ]
}

/// Content types, including one that echoes `secret` (the fuzz target's first finding: a 200 whose content type
/// held a token was quoted unscrubbed).
fn content_type_with(secret: String) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("text/html; charset=utf-8".to_owned())),
        "\\PC{0,200}".prop_map(Some),
        Just(Some(format!("a:\"{secret}\"o"))),
    ]
}

/// Bodies that look like what a server might send, each holding `secret` somewhere an echo would put it, plus
/// arbitrary bytes.
fn body_with(secret: String) -> impl Strategy<Value = Vec<u8>> {
    let s = secret;
    let json_str = serde_json::to_string(&s).unwrap_or_default();
    prop_oneof![
        any::<Vec<u8>>(),
        "\\PC{0,300}".prop_map(String::into_bytes),
        Just(
            format!(r#"{{"errorCode":"UnifiedWebService.X","errorMessage":"bad {s} here"}}"#)
                .into_bytes()
        ),
        Just(format!(r#"{{"errorCode":{json_str},"errorMessage":{json_str}}}"#).into_bytes()),
        Just(
            format!(r#"{{"fault":{{"code":900901,"message":"m {s}","description":"d {s}"}}}}"#)
                .into_bytes()
        ),
        Just(format!(r#"{{"error":"invalid_client","error_description":"{s}"}}"#).into_bytes()),
        Just(format!("<html><body><p>echo {s}</p></body></html>").into_bytes()),
        "\\PC{0,200}".prop_map({
            let s = s.clone();
            move |pad| format!("{pad}{s}{pad}").into_bytes()
        }),
        // Success shapes with the wrong types, truncated JSON, and deep nesting.
        Just(format!(r#"{{"newPassword":5,"note":"{s}"}}"#).into_bytes()),
        Just(format!(r#"{{"access_token":["{s}"]}}"#).into_bytes()),
        Just(format!(r#"{{"sessionToken":"{s}"#).into_bytes()),
        (1usize..3000).prop_map(|depth| "[".repeat(depth).into_bytes()),
        (1usize..3000)
            .prop_map(|depth| format!("{}1{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
    ]
}

/// Every string an error can put in front of a user.
fn texts(error: &Error) -> String {
    format!("{error} {error:?}")
}

#[test]
fn any_answer_parses_without_panic_and_never_echoes_a_secret() {
    let input = (secret(), secret()).prop_flat_map(|(echoed, other)| {
        (
            kind(),
            status(),
            content_type_with(echoed.clone()),
            body_with(echoed.clone()),
            Just(echoed),
            Just(other),
        )
    });
    let result = runner(2000).run(&input, |(kind, status, ct, body, echoed, other)| {
        let secrets = [echoed.as_str(), other.as_str()];
        match parse_answer(kind, status, ct.as_deref(), &body, &secrets) {
            Ok(value) => {
                // Only a success answer carries a value, and only the calls that expect one.
                prop_assert!((200..300).contains(&status));
                prop_assert_eq!(value.is_some(), kind != AnswerKind::Logout);
            }
            Err(error) => {
                let text = texts(&error);
                prop_assert!(!text.contains(&echoed), "secret echoed: {}", text);
                prop_assert!(!text.contains(&other), "secret echoed: {}", text);
                // Bounded: no diagnostic quotes a megabyte page or a deep structure.
                prop_assert!(
                    text.chars().count() < 2000,
                    "{} chars",
                    text.chars().count()
                );
                if (200..300).contains(&status) {
                    // A success answer is never quoted: it may hold a token or a password we failed to read.
                    prop_assert!(
                        matches!(&error, Error::UnexpectedBody { excerpt: None, .. }),
                        "{:?}",
                        error
                    );
                }
            }
        }
        // The error parser alone, as the log-out and the retry policy call it.
        let error = parse_error_body(status, ct.as_deref(), &body, &secrets);
        let text = texts(&error);
        prop_assert!(
            !text.contains(&echoed) && !text.contains(&other),
            "{}",
            text
        );
        prop_assert!(!text.chars().any(|c| c.is_control()), "{:?}", text);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn well_formed_success_answers_give_back_exactly_their_value() {
    let value = "[A-Za-z0-9!#%&()*+,./:;<=>?@^_{|}~-]{1,40}";
    let input = (kind(), value, 200u16..300);
    let result = runner(500).run(&input, |(kind, value, status)| {
        let body = match kind {
            AnswerKind::Token => serde_json::json!({
                "access_token": value, "token_type": "Bearer", "expires_in": 3599, "scope": "x"
            }),
            AnswerKind::Login => serde_json::json!({ "sessionToken": value }),
            AnswerKind::Reset => serde_json::json!({ "newPassword": value }),
            AnswerKind::Logout => serde_json::json!({ "sessionToken": value }),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let got = parse_answer(kind, status, Some("application/json"), &body, &[]);
        match got {
            Ok(Some(v)) => prop_assert_eq!(v.expose_secret(), value.as_str()),
            Ok(None) => prop_assert_eq!(kind, AnswerKind::Logout),
            Err(e) => prop_assert!(false, "{:?} rejected: {}", kind, e),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn success_answers_without_a_usable_value_are_errors_not_values() {
    let cases: &[(AnswerKind, &[u8], &str)] = &[
        (AnswerKind::Reset, b"", "empty body"),
        (AnswerKind::Reset, b"  \n", "empty body"),
        (AnswerKind::Reset, b"{}", "JSON body without newPassword"),
        (
            AnswerKind::Reset,
            br#"{"newPassword":""}"#,
            "JSON body without newPassword",
        ),
        (
            AnswerKind::Reset,
            br#"{"newPassword":5}"#,
            "JSON body without a usable newPassword",
        ),
        (
            AnswerKind::Reset,
            b"<html>ok</html>",
            "body that is not JSON",
        ),
        (
            AnswerKind::Token,
            br#"{"access_token":""}"#,
            "access_token that is not a valid header value",
        ),
        (
            AnswerKind::Token,
            b"{\"access_token\":\"a\\nb\"}",
            "access_token that is not a valid header value",
        ),
        (
            AnswerKind::Login,
            br#"{"sessionToken":"  "}"#,
            "sessionToken that is not a valid header value",
        ),
        (
            AnswerKind::Login,
            b"[]",
            "JSON body without a usable sessionToken",
        ),
    ];
    for (kind, body, what) in cases {
        let error = parse_answer(*kind, 200, None, body, &[]).err();
        let Some(Error::UnexpectedBody {
            what: got, excerpt, ..
        }) = &error
        else {
            panic!("{kind:?} {body:?}: {error:?}");
        };
        assert_eq!(got, what, "{kind:?} {body:?}");
        assert_eq!(*excerpt, None);
    }
}

// ----- redaction: a secret echoed in any encoding never reaches a message -----

/// A secret with the characters encoders treat specially, white space and non-ASCII. The prefix keeps it from being
/// a substring of a message's fixed text by chance.
fn awkward_secret() -> impl Strategy<Value = String> {
    let alphabet = prop_oneof![
        4 => proptest::char::ranges(vec!['a'..='z', 'A'..='Z', '0'..='9'].into()),
        4 => proptest::sample::select(vec!['"', '\\', '<', '>', '&', '%', '+', '/', '=', ' ', '\'', ';', '#', ':']),
        1 => proptest::sample::select(vec!['é', 'ü', 'ß', '日', '本', '😀', '\u{a0}']),
    ];
    proptest::collection::vec(alphabet, 4..16)
        .prop_map(|chars| format!("Zq9{}", chars.into_iter().collect::<String>()))
}

/// The encodings a server could echo a secret in, each written here independently of the code under test.
#[derive(Clone, Copy, Debug)]
enum Encoding {
    Raw,
    Json,
    JsonSlash,
    JsonAscii,
    PercentUpper,
    PercentLower,
    PercentForm,
    HtmlNamed,
    HtmlApos,
    HtmlDecimal,
    HtmlHex,
    Base64,
    Base64NoPad,
    Base64Url,
    Base64UrlNoPad,
    /// `base64(app-key:secret)`, the `Basic` credentials.
    Basic,
}

const ENCODINGS: [Encoding; 16] = [
    Encoding::Raw,
    Encoding::Json,
    Encoding::JsonSlash,
    Encoding::JsonAscii,
    Encoding::PercentUpper,
    Encoding::PercentLower,
    Encoding::PercentForm,
    Encoding::HtmlNamed,
    Encoding::HtmlApos,
    Encoding::HtmlDecimal,
    Encoding::HtmlHex,
    Encoding::Base64,
    Encoding::Base64NoPad,
    Encoding::Base64Url,
    Encoding::Base64UrlNoPad,
    Encoding::Basic,
];

fn encode(encoding: Encoding, s: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let json = || {
        let quoted = serde_json::to_string(s).unwrap();
        quoted[1..quoted.len() - 1].to_owned()
    };
    let percent = |upper: bool, form: bool| {
        s.bytes()
            .map(|b| match b {
                b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => char::from(b).to_string(),
                b' ' if form => "+".to_owned(),
                b if upper => format!("%{b:02X}"),
                b => format!("%{b:02x}"),
            })
            .collect::<String>()
    };
    let html = |apos: &str, numeric: Option<bool>| {
        s.chars()
            .map(|c| match (numeric, c) {
                (Some(hex), c) if !c.is_ascii_alphanumeric() => {
                    if hex {
                        format!("&#x{:X};", u32::from(c))
                    } else {
                        format!("&#{};", u32::from(c))
                    }
                }
                (_, '"') => "&quot;".to_owned(),
                (_, '&') => "&amp;".to_owned(),
                (_, '<') => "&lt;".to_owned(),
                (_, '>') => "&gt;".to_owned(),
                (_, '\'') => apos.to_owned(),
                (_, c) => c.to_string(),
            })
            .collect::<String>()
    };
    match encoding {
        Encoding::Raw => s.to_owned(),
        Encoding::Json => json(),
        Encoding::JsonSlash => json().replace('/', "\\/"),
        Encoding::JsonAscii => s
            .encode_utf16()
            .map(|u| match char::from_u32(u32::from(u)) {
                Some(c) if c.is_ascii() => serde_json::to_string(&c.to_string())
                    .map(|q| q[1..q.len() - 1].to_owned())
                    .unwrap(),
                _ => format!("\\u{u:04x}"),
            })
            .collect(),
        Encoding::PercentUpper => percent(true, false),
        Encoding::PercentLower => percent(false, false),
        Encoding::PercentForm => percent(true, true),
        Encoding::HtmlNamed => html("&#39;", None),
        Encoding::HtmlApos => html("&apos;", None),
        Encoding::HtmlDecimal => html("&#39;", Some(false)),
        Encoding::HtmlHex => html("&#39;", Some(true)),
        Encoding::Base64 => STANDARD.encode(s),
        Encoding::Base64NoPad => STANDARD_NO_PAD.encode(s),
        Encoding::Base64Url => URL_SAFE.encode(s),
        Encoding::Base64UrlNoPad => URL_SAFE_NO_PAD.encode(s),
        Encoding::Basic => STANDARD.encode(format!("app-key:{s}")),
    }
}

/// Where the echo goes.
#[derive(Clone, Copy, Debug)]
enum Shape {
    M2mMessage,
    GatewayDescription,
    OAuthDescription,
    HtmlPage,
    PlainText,
    ContentType,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::M2mMessage),
        Just(Shape::GatewayDescription),
        Just(Shape::OAuthDescription),
        Just(Shape::HtmlPage),
        Just(Shape::PlainText),
        Just(Shape::ContentType),
    ]
}

/// Status, content type and body of an answer that echoes `echo` in `shape`.
fn echoing(shape: Shape, status: u16, echo: &str) -> (u16, Option<String>, Vec<u8>) {
    let j = |s: &str| serde_json::to_string(s).unwrap();
    let json = Some("application/json".to_owned());
    match shape {
        Shape::M2mMessage => (
            status,
            json,
            format!(
                r#"{{"errorCode":"UnifiedWebService.X","errorMessage":{}}}"#,
                j(&format!("bad {echo} here"))
            )
            .into_bytes(),
        ),
        Shape::GatewayDescription => (
            status,
            json,
            format!(
                r#"{{"fault":{{"code":"900901","message":"Invalid","description":{}}}}}"#,
                j(&format!("token {echo}"))
            )
            .into_bytes(),
        ),
        Shape::OAuthDescription => (
            status,
            json,
            format!(
                r#"{{"error":"invalid_client","error_description":{}}}"#,
                j(&format!("Authorization: Basic {echo}"))
            )
            .into_bytes(),
        ),
        Shape::HtmlPage => (
            status,
            Some("text/html".to_owned()),
            format!("<html><body><h1>Error</h1><p>you sent {echo}</p></body></html>").into_bytes(),
        ),
        Shape::PlainText => (
            status,
            Some("text/plain".to_owned()),
            format!("error: {echo}\n").into_bytes(),
        ),
        // A success status too: a message about an unreadable success answer shows its content type.
        Shape::ContentType => (
            status,
            Some(format!("text/plain; echo={echo}")),
            b"garbage".to_vec(),
        ),
    }
}

#[test]
fn a_secret_echoed_in_any_encoding_never_reaches_an_error_message() {
    let encoding = || proptest::sample::select(ENCODINGS.to_vec());
    let input = (
        awkward_secret(),
        encoding(),
        proptest::option::of(encoding()),
        shape(),
        prop_oneof![
            Just(200u16),
            Just(400),
            Just(401),
            Just(404),
            Just(429),
            Just(500),
            Just(502),
            Just(503)
        ],
        kind(),
    );
    let result = runner(1500).run(&input, |(secret, first, second, shape, status, kind)| {
        // One encoding, or one inside another (an echo that was JSON-escaped, then HTML-escaped...).
        let mut echo = encode(first, &secret);
        if let Some(second) = second {
            echo = encode(second, &echo);
        }
        let (status, content_type, body) = echoing(shape, status, &echo);
        let basic = encode(Encoding::Basic, &secret);
        // The secrets the client passes: the secret and, for the client secret, its Basic form.
        let secrets = [secret.as_str(), basic.as_str()];
        let error = match parse_answer(kind, status, content_type.as_deref(), &body, &secrets) {
            Ok(_) => return Ok(()), // a success answer carrying a value: nothing is shown
            Err(error) => error,
        };
        let text = texts(&error);
        for leaked in
            std::iter::once(secret.clone()).chain(ENCODINGS.iter().map(|e| encode(*e, &secret)))
        {
            prop_assert!(
                !text.contains(&leaked),
                "{:?} shows {:?}: {}",
                echo,
                leaked,
                text
            );
        }
        prop_assert!(!text.contains(&echo), "{:?}: {}", echo, text);
        // And no decoding of the message (HTML, percent, JSON escapes, base64, up to three layers) shows it.
        prop_assert!(
            !super::redact::reveals(&text, &[&secret]),
            "{:?}: decodable in {}",
            echo,
            text
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ----- the rotation flow under every interleaving of outcomes -----

/// What the fake does with one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Ok,
    /// Refused in the service's shape, with the refusal's effect (a counted failed log-in).
    Refused,
    Throttled,
    /// The gateway's 401 900901 (bad bearer token), before the service.
    BadToken,
    Fail5xxBefore,
    Fail5xxAfter,
    DropBefore,
    DropAfter,
    /// The client gives up; the request takes effect later.
    Timeout,
    Garbled,
    /// Reset only: the session expired.
    Expired,
    /// The provider is asked to stop while this request is on the wire.
    Stop,
}

fn steps(expired: bool) -> impl Strategy<Value = Vec<Step>> {
    use Step::*;
    let mut all = vec![
        Ok,
        Refused,
        Throttled,
        BadToken,
        Fail5xxBefore,
        Fail5xxAfter,
        DropBefore,
        DropAfter,
        Timeout,
        Garbled,
        Stop,
    ];
    if expired {
        all.push(Expired);
    }
    proptest::collection::vec(proptest::sample::select(all), 0..4)
}

#[derive(Clone, Debug)]
struct Interleaving {
    token: Vec<Step>,
    login: Vec<Step>,
    reset: Vec<Step>,
    logout: Vec<Step>,
    wrong_seed: bool,
}

const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(200);

fn fault_of(step: Step, shutdown: &crate::shutdown::Shutdown) -> Fault {
    match step {
        Step::Ok => Fault::Pass,
        Step::Refused => Fault::Refuse,
        Step::Throttled => Fault::Answer {
            when: When::Before,
            status: 429,
            content_type: "text/plain".into(),
            body: "slow down".into(),
            retry_after: None,
        },
        Step::BadToken => answer(
            When::Before,
            401,
            r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
        ),
        Step::Fail5xxBefore => answer(When::Before, 503, "<html>Service Unavailable</html>"),
        Step::Fail5xxAfter => answer(When::After, 504, ""),
        Step::DropBefore => Fault::Drop { when: When::Before },
        Step::DropAfter => Fault::Drop { when: When::After },
        Step::Timeout => Fault::Slow {
            delay: REQUEST_TIMEOUT * 2,
        },
        Step::Garbled => Fault::Garble,
        Step::Expired => answer(
            When::Before,
            400,
            r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"expired"}"#,
        ),
        Step::Stop => Fault::CancelAfterEffect(shutdown.clone()),
    }
}

/// Runs one rotation against the fake with the scripted outcomes, then checks, from what the fake recorded and holds,
/// that nothing was sent blindly and that the error's effect tells the truth.
async fn check_interleaving(
    case: Interleaving,
    seen: &std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
) -> Result<(), TestCaseError> {
    const SEED: &str = "Seed-pw-1";
    let fake = Fake::start().await;
    fake.add_user("svc", SEED);
    let shutdown = crate::shutdown::Shutdown::new();
    for (path, steps) in [
        (TOKEN, &case.token),
        (LOGIN, &case.login),
        (RESET, &case.reset),
        (LOGOUT, &case.logout),
    ] {
        for step in steps {
            fake.fault(path, fault_of(*step, &shutdown));
        }
    }
    let tried = if case.wrong_seed { "Wrong-pw-1" } else { SEED };
    let client = fake.client(REQUEST_TIMEOUT, shutdown.clone());
    let result = client
        .rotate("svc", &SecretString::from(tried.to_owned()))
        .await;
    fake.settle().await;
    prop_assert_eq!(shutdown.critical_in_flight(), 0);

    let logins = fake.labels(LOGIN);
    let resets = fake.labels(RESET);
    let outcome = match &result {
        Ok(_) => "Ok".to_owned(),
        Err(e) => format!("{:?}", e.effect()),
    };
    *seen.lock().unwrap().entry(outcome).or_default() += 1;
    let (password, failed, applied) = {
        let state = fake.state.lock().unwrap();
        let user = &state.users["svc"];
        (user.password.clone(), user.failed_logins, user.resets)
    };

    // I2: a log-in is sent again only after one that provably was not processed, or a successful one whose session
    // expired before the reset; a reset only after one that provably was not applied.
    for earlier in logins.iter().rev().skip(1) {
        prop_assert!(
            ["ok", "429", "900901"].contains(earlier),
            "a log-in followed a {} one: {:?}",
            earlier,
            logins
        );
    }
    prop_assert!(
        logins.iter().filter(|l| **l == "ok").count() <= 2,
        "{:?}",
        logins
    );
    for earlier in resets.iter().rev().skip(1) {
        prop_assert!(
            ["429", "900901", "expired"].contains(earlier),
            "a reset followed a {} one: {:?}",
            earlier,
            resets
        );
    }
    prop_assert!(resets.len() <= 3, "{:?}", resets);
    // I1 within one rotation: at most one failed log-in, and at most one reset applied.
    prop_assert!(failed <= 1, "{} failed log-ins: {:?}", failed, logins);
    prop_assert!(applied <= 1, "{} resets applied: {:?}", applied, resets);

    match &result {
        Ok(rotation) => {
            prop_assert_eq!(rotation.new_password.expose_secret(), password.as_str());
            prop_assert_eq!((applied, failed), (1, 0));
            prop_assert!(!case.wrong_seed);
        }
        Err(e) => {
            let last_login = logins.last().copied().unwrap_or("");
            match e.effect() {
                Effect::None => {
                    prop_assert_eq!(password.as_str(), SEED, "{}", e);
                    prop_assert_eq!((failed, applied), (0, 0), "{}", e);
                }
                Effect::LoginRejected => {
                    prop_assert_eq!(last_login, "refused", "{}", e);
                    prop_assert_eq!((failed, applied), (1, 0), "{}", e);
                    prop_assert_eq!(password.as_str(), SEED);
                }
                Effect::LoginUnknown => {
                    prop_assert!(
                        !["ok", "refused", "429", "900901"].contains(&last_login),
                        "{} {}",
                        last_login,
                        e
                    );
                    prop_assert_eq!(applied, 0, "{}", e);
                    prop_assert_eq!(password.as_str(), SEED);
                }
                Effect::ResetUnknown => {
                    prop_assert!(!case.wrong_seed);
                    prop_assert_eq!(failed, 0, "{}", e);
                    let last_reset = resets.last().copied().unwrap_or("");
                    prop_assert!(
                        !["", "429", "900901", "expired", "refused"].contains(&last_reset),
                        "{} {}",
                        last_reset,
                        e
                    );
                }
            }
            // Whatever changed at ThingSpace is reported: a new password that was not returned is never silent.
            if password != SEED {
                prop_assert_eq!(e.effect(), Effect::ResetUnknown, "{}", e);
            }
            if failed > 0 {
                prop_assert!(
                    matches!(e.effect(), Effect::LoginRejected | Effect::LoginUnknown),
                    "{}",
                    e
                );
            }
        }
    }
    Ok(())
}

#[test]
fn every_interleaving_of_outcomes_keeps_the_lock_out_and_lost_password_promises() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let input = (
        steps(false),
        steps(false),
        steps(true),
        steps(true),
        proptest::bool::weighted(0.25),
    )
        .prop_map(|(token, login, reset, logout, wrong_seed)| Interleaving {
            token,
            login,
            reset,
            logout,
            wrong_seed,
        });
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 96,
            failure_persistence: None,
            max_shrink_iters: 64,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, b"thingspace-rotation-interleaving"),
    );
    let seen = std::sync::Mutex::default();
    let result = runner.run(&input, |case| {
        runtime.block_on(check_interleaving(case, &seen))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The sample reaches every kind of ending, so none of the checks above is vacuous.
    let seen = seen.into_inner().unwrap();
    for ending in [
        "Ok",
        "None",
        "LoginRejected",
        "LoginUnknown",
        "ResetUnknown",
    ] {
        assert!(
            seen.get(ending).copied().unwrap_or(0) >= 3,
            "{ending} too rare: {seen:?}"
        );
    }
}
