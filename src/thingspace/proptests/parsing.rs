//! Response parsing under hostile answers: any status, content type and body parses without a panic and never
//! echoes a secret; a well-formed success gives back exactly its value; a success without a usable value is an error.

use proptest::prelude::*;
use secrecy::ExposeSecret;

use super::{kind, runner, secret, texts};
use crate::thingspace::answer::{parse_answer, parse_error_body};
use crate::thingspace::endpoints::Call;
use crate::thingspace::error::Error;

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
                prop_assert_eq!(value.is_some(), kind != Call::Logout);
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
            Call::Token => serde_json::json!({
                "access_token": value, "token_type": "Bearer", "expires_in": 3599, "scope": "x"
            }),
            Call::Login => serde_json::json!({ "sessionToken": value }),
            Call::Reset => serde_json::json!({ "newPassword": value }),
            Call::Logout => serde_json::json!({ "sessionToken": value }),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let got = parse_answer(kind, status, Some("application/json"), &body, &[]);
        match got {
            Ok(Some(v)) => prop_assert_eq!(v.expose_secret(), value.as_str()),
            Ok(None) => prop_assert_eq!(kind, Call::Logout),
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
    let cases: &[(Call, &[u8], &str)] = &[
        (Call::Reset, b"", "empty body"),
        (Call::Reset, b"  \n", "empty body"),
        (Call::Reset, b"{}", "JSON body without newPassword"),
        (
            Call::Reset,
            br#"{"newPassword":""}"#,
            "newPassword that is empty or only white space",
        ),
        (
            Call::Reset,
            br#"{"newPassword":" \t "}"#,
            "newPassword that is empty or only white space",
        ),
        (
            Call::Reset,
            br#"{"newPassword":"Ab\n12"}"#,
            "newPassword with control characters",
        ),
        (
            Call::Reset,
            br#"{"newPassword":5}"#,
            "JSON body without a usable newPassword",
        ),
        (Call::Reset, b"<html>ok</html>", "body that is not JSON"),
        (
            Call::Token,
            br#"{"access_token":""}"#,
            "access_token that is not a valid header value",
        ),
        (
            Call::Token,
            b"{\"access_token\":\"a\\nb\"}",
            "access_token that is not a valid header value",
        ),
        (
            Call::Login,
            br#"{"sessionToken":"  "}"#,
            "sessionToken that is not a valid header value",
        ),
        (
            Call::Login,
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
