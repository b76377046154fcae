//! Fuzzes the parsing of ThingSpace's answers: any status, content type and body, read as each of the four
//! answers the client expects, must give a value or an error (never a panic), and no error may quote the secrets in
//! play or a success answer's body. Run with `cargo +nightly fuzz run thingspace_response` (or, on stable,
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run thingspace_response`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use thingspace_provider::thingspace::error::{Error, parse_error_body};
use thingspace_provider::thingspace::{AnswerKind, parse_answer};

/// Secrets the parser is told about; the fuzzer finds them in the dictionary-free input quickly enough because
/// they are short and also appear in the seed corpus shapes below.
const SECRETS: [&str; 2] = ["Zq9hunter2pw", "Zq9tok-1234"];

fuzz_target!(|data: &[u8]| {
    // Layout: [kind][status hi][status lo][content-type length][content type...][body...]
    let [kind, hi, lo, ct_len, rest @ ..] = data else {
        return;
    };
    let kind = match kind % 4 {
        0 => AnswerKind::Token,
        1 => AnswerKind::Login,
        2 => AnswerKind::Reset,
        _ => AnswerKind::Logout,
    };
    let status = u16::from_be_bytes([*hi, *lo]) % 1000;
    let ct_len = usize::from(*ct_len).min(rest.len());
    let (ct, body) = rest.split_at(ct_len);
    let ct = String::from_utf8_lossy(ct);
    let ct = (!ct.is_empty()).then_some(ct.as_ref());

    let check = |error: &Error| {
        let text = format!("{error} {error:?}");
        for secret in SECRETS {
            assert!(!text.contains(secret), "secret echoed: {text}");
        }
        assert!(
            text.chars().count() < 2000,
            "unbounded message: {} chars",
            text.chars().count()
        );
        if (200..300).contains(&status) {
            assert!(
                matches!(error, Error::UnexpectedBody { excerpt: None, .. }),
                "a success answer was quoted: {error:?}"
            );
        }
    };
    match parse_answer(kind, status, ct, body, &SECRETS) {
        Ok(value) => {
            assert!((200..300).contains(&status), "a value from status {status}");
            assert_eq!(value.is_some(), kind != AnswerKind::Logout);
        }
        Err(error) => check(&error),
    }
    let error = parse_error_body(status, ct, body, &SECRETS);
    if !(200..300).contains(&status) {
        check(&error);
    }
    let text = error.to_string();
    assert!(
        !text.chars().any(char::is_control),
        "control characters: {text:?}"
    );
});
