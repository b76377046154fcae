//! Fuzzes the parsing of ThingSpace's answers and the scrubbing of secrets from them.
//!
//! Two modes, chosen by the first byte:
//! - parsing: any status, content type and body, read as each of the four answers the client expects, must give a
//!   value or an error (never a panic), and no error may quote the secrets in play (raw or JSON-escaped) or a success
//!   answer's body;
//! - redaction: any text and any secret given to `redact` must come back without the secret.
//!
//! Run with `cargo +nightly fuzz run thingspace_response` (or, on stable,
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run thingspace_response`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use thingspace_provider::thingspace::error::Error;
use thingspace_provider::thingspace::{Call, ECHOED, parse_answer, parse_error_body, redact};

/// Secrets the parser is told about. They hold the characters encoders escape, so an echo in another encoding is
/// something the fuzzer can build from the dictionary-free input.
const SECRETS: [&str; 2] = ["Zq9\"hu\\nt/er2", "Zq9tok-1234"];

/// The inside of a JSON string holding `s`, as serde_json and most servers write it, optionally with `\/`.
fn json_escaped(s: &str, slash: bool) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            '/' if slash => "\\/".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn parsing(data: &[u8]) {
    // Layout: [kind][status hi][status lo][content-type length][content type...][body...]
    let [kind, hi, lo, ct_len, rest @ ..] = data else {
        return;
    };
    let kind = match kind % 4 {
        0 => Call::Token,
        1 => Call::Login,
        2 => Call::Reset,
        _ => Call::Logout,
    };
    let status = u16::from_be_bytes([*hi, *lo]) % 1000;
    let ct_len = usize::from(*ct_len).min(rest.len());
    let (ct, body) = rest.split_at(ct_len);
    let ct = String::from_utf8_lossy(ct);
    let ct = (!ct.is_empty()).then_some(ct.as_ref());

    let check = |error: &Error| {
        let text = format!("{error} {error:?}");
        for secret in SECRETS {
            for shown in [
                secret.to_owned(),
                json_escaped(secret, false),
                json_escaped(secret, true),
            ] {
                assert!(!text.contains(&shown), "secret echoed: {text}");
            }
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
            assert_eq!(value.is_some(), kind != Call::Logout);
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
}

fn redaction(data: &[u8]) {
    // Layout: [secret length][secret...][text...]; the text is cut to a message's length, as the client does.
    let [len, rest @ ..] = data else {
        return;
    };
    let (secret, text) = rest.split_at(usize::from(*len).min(rest.len()));
    let secret = String::from_utf8_lossy(secret);
    let text = String::from_utf8_lossy(&text[..text.len().min(600)]);
    // A secret inside the replacement texts can't be kept out of them; real secrets are never that short.
    if secret.is_empty() || "[redacted]".contains(&*secret) || ECHOED.contains(&*secret) {
        return;
    }
    let out = redact(&text, &[&secret]);
    assert!(!out.contains(&*secret), "{secret:?} kept in {out:?}");
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((mode, rest)) if mode & 0x80 != 0 => redaction(rest),
        Some((_, rest)) => parsing(rest),
        None => {}
    }
});
