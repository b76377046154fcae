//! Redaction: a secret echoed in any encoding a server could use (one encoding or one inside another), in any error
//! shape or a content type, never reaches an error message, not even once the message is decoded.

use proptest::prelude::*;

use super::{kind, runner, texts};
use crate::thingspace::answer::parse_answer;

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
            !crate::thingspace::redact::reveals(&text, &[&secret]),
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
