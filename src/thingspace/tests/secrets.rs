//! No secret reaches a message or a log line: answers that echo the request back (the emulator's echo placeholders,
//! in the encodings a server might use) are scrubbed, and the trace log names steps and statuses but never a
//! password, the client secret or a token.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use secrecy::ExposeSecret;

use super::*;
use crate::shutdown::Shutdown;
use crate::thingspace::Effect;
use crate::thingspace::testing::*;

/// A password with every character an encoder treats specially.
const AWKWARD: &str = "Zq9 \"pa\\ss/<w>&d%+=é";

#[tokio::test]
async fn secrets_echoed_in_any_encoding_never_reach_a_message() {
    let emu = Emu::start().await;
    emu.add("svc", AWKWARD);
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
    let json_escaped = &json_escaped[1..json_escaped.len() - 1];
    // The token endpoint echoes the Authorization header.
    emu.inject(Fault::status(
        TOKEN,
        401,
        r#"{"error":"invalid_client","error_description":"Authorization: {{header:authorization|json}}"}"#,
    ));
    let err = emu
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

    // A log-in answer echoes the password JSON-escaped, as the emulator escapes it and with `\/`, and a content type
    // echoes it percent-encoded.
    emu.inject(
        Fault::status(
            LOGIN,
            400,
            &format!(
                r#"{{"errorCode":"INPUT_INVALID.Login.Failed","errorMessage":"password {{{{field:password|json}}}} or {json_escaped} rejected"}}"#
            ),
        )
        .content_type(&format!("application/json; x={}", percent(AWKWARD))),
    );
    let err = emu
        .client(SECOND, Shutdown::new())
        .rotate("svc", &secret(AWKWARD))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("password [redacted] or [redacted] rejected"),
        "{text}"
    );
    for leak in [AWKWARD, json_escaped, &percent(AWKWARD)] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }

    // A reset error page echoes the old password HTML-escaped (as the emulator escapes it, and in a mix of named and
    // numeric entities) and the session token.
    emu.inject(
        Fault::status(
            RESET,
            400,
            "<p>old={{field:oldPassword|html}} mixed=Zq9 &quot;pa\\ss/&lt;w&gt;&amp;d%+=&#233; \
             session={{header:vz-m2m-token}}</p>",
        )
        .content_type("text/html"),
    );
    let err = emu
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
    let sessions = emu.issued().session_tokens;
    assert_eq!(sessions.len(), 1);
    for leak in [AWKWARD, &sessions[0], "&quot;pa"] {
        assert!(!text.contains(leak), "{leak:?} in {text}");
    }
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

    // On a thread of its own, so this thread's log holds the client's lines only.
    let emu = Emu::spawn();
    emu.add("svc", "Old-Secret-Pw");
    // A token renewal and a log-out failure put the error paths in the log too.
    emu.inject(Fault::status(
        RESET,
        401,
        r#"{"fault":{"code":"900901","message":"Invalid Credentials"}}"#,
    ));
    emu.inject(Fault::status(
        LOGOUT,
        500,
        r#"{"errorCode":"X","errorMessage":"y"}"#,
    ));
    let rotation = emu
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
    assert!(!log.contains("thingspace_emulator"), "{log}");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let mut secrets = vec![
        "Old-Secret-Pw".to_owned(),
        new_password,
        CLIENT_SECRET.to_owned(),
        basic,
    ];
    secrets.extend(emu.issued_tokens());
    assert_eq!(secrets.len(), 6, "one token and one session");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "{secret:?} leaked into the log:\n{log}"
        );
    }
}
