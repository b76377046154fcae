//! Tests of reading error answers: the three shapes, what each message says, and that none carries a secret.

use super::*;
use crate::thingspace::redact::ECHOED;

fn parse(status: u16, ct: Option<&str>, body: &str) -> Error {
    parse_error_body(status, ct, body.as_bytes(), &[])
}

#[test]
fn m2m_shape_is_parsed_and_loses_its_service_prefix() {
    let e = parse(
        400,
        Some("application/json"),
        r#"{"errorCode":"UnifiedWebService.REQUEST_FAILED.SessionToken.Expired","errorMessage":"The Session has expired."}"#,
    );
    let api = e.api().cloned().unwrap();
    assert_eq!(api.status, 400);
    assert_eq!(api.code, "REQUEST_FAILED.SessionToken.Expired");
    assert_eq!(api.message, "The Session has expired.");
    assert_eq!(api.shape, ErrorShape::M2m);
    assert!(api.has_code("REQUEST_FAILED.SessionToken.Expired"));
    assert_eq!(
        e.to_string(),
        "HTTP 400, code REQUEST_FAILED.SessionToken.Expired: The Session has expired."
    );
}

#[test]
fn gateway_fault_with_string_or_numeric_code_is_parsed() {
    for body in [
        r#"{"fault":{"code":"900901","message":"Invalid Credentials","description":"Access failure. Make sure you have given the correct access token"}}"#,
        r#"{"fault":{"code":900901,"message":"Invalid Credentials","description":"Access failure. Make sure you have given the correct access token"}}"#,
    ] {
        let api = parse(401, None, body).api().cloned().unwrap();
        assert_eq!(api.code, "900901");
        assert_eq!(api.shape, ErrorShape::Gateway);
        assert_eq!(
            api.message,
            "Invalid Credentials (Access failure. Make sure you have given the correct access token)"
        );
    }
}

#[test]
fn oauth_shape_is_parsed() {
    let api = parse(
        401,
        None,
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
    )
    .api()
    .cloned()
    .unwrap();
    assert_eq!(
        (api.code.as_str(), api.message.as_str(), api.shape),
        (
            "invalid_client",
            "Client authentication failed",
            ErrorShape::OAuth
        )
    );
}

#[test]
fn html_error_page_gives_status_content_type_and_a_tag_free_excerpt() {
    let e = parse(
        502,
        Some("text/html"),
        "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1></body></html>",
    );
    assert_eq!(
        e.to_string(),
        "HTTP 502 with an unexpected body that is not JSON (content type text/html): \"502 Bad Gateway Bad Gateway\""
    );
}

#[test]
fn empty_and_garbage_bodies_say_what_came_back() {
    let e = parse(500, None, "");
    assert_eq!(
        e.to_string(),
        "HTTP 500 with an unexpected empty body (content type none)"
    );
    let e = parse_error_body(
        503,
        Some("application/octet-stream"),
        b"\x00\xff\x01garb\nage",
        &[],
    );
    let Error::UnexpectedBody { what, excerpt, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(what, "body that is not JSON");
    let excerpt = excerpt.clone().unwrap();
    assert!(!excerpt.chars().any(char::is_control), "{excerpt:?}");
    assert!(excerpt.contains("garb age"), "{excerpt:?}");
    let e = parse(400, None, r#"{"something":"else"}"#);
    assert!(
        e.to_string()
            .contains("JSON body that is none of ThingSpace's error shapes"),
        "{e}"
    );
}

#[test]
fn excerpts_are_short_and_never_taken_from_a_success_answer() {
    let long = "x".repeat(5000);
    let Error::UnexpectedBody { excerpt, .. } = parse(500, None, &long) else {
        panic!()
    };
    assert_eq!(excerpt.unwrap().chars().count(), EXCERPT_CHARS + 1);
    let Error::UnexpectedBody { excerpt, .. } = parse(200, None, "newPassword=Secret1") else {
        panic!()
    };
    assert_eq!(excerpt, None);
}

#[test]
fn secrets_echoed_by_a_server_are_scrubbed() {
    let e = parse_error_body(
        400,
        None,
        br#"{"errorCode":"X","errorMessage":"bad password hunter2 for user"}"#,
        &["hunter2", ""],
    );
    assert_eq!(
        e.to_string(),
        "HTTP 400, code X: bad password [redacted] for user"
    );
    let e = parse_error_body(500, None, b"<p>token abc-secret</p>", &["abc-secret"]);
    assert!(!e.to_string().contains("abc-secret"), "{e}");
}

#[test]
fn secrets_echoed_in_another_encoding_are_scrubbed() {
    use base64::Engine as _;
    let password = r#"pa"ss\w/rd"#;
    // JSON-escaped inside an M2M message, with and without `\/`.
    for escaped in [r#"pa\"ss\\w/rd"#, r#"pa\"ss\\w\/rd"#] {
        let body = format!(r#"{{"errorCode":"X","errorMessage":"bad password {escaped} here"}}"#);
        let e = parse_error_body(400, None, body.as_bytes(), &[password]);
        assert_eq!(
            e.to_string(),
            "HTTP 400, code X: bad password [redacted] here"
        );
    }
    // The Basic credentials echoed by a token endpoint.
    let basic = base64::engine::general_purpose::STANDARD.encode("app:s3cr3t-app");
    let body =
        format!(r#"{{"error":"invalid_client","error_description":"bad header Basic {basic}"}}"#);
    let e = parse_error_body(401, None, body.as_bytes(), &["s3cr3t-app", &basic]);
    assert_eq!(
        e.to_string(),
        "HTTP 401, code invalid_client: bad header Basic [redacted]"
    );
    // Without the client's own Basic value the decoded view still catches it, and drops the text.
    let e = parse_error_body(401, None, body.as_bytes(), &["s3cr3t-app"]);
    assert_eq!(
        e.to_string(),
        format!("HTTP 401, code invalid_client: {ECHOED}")
    );
    // HTML-escaped in an error page, and percent-encoded in a content type.
    let e = parse_error_body(
        502,
        Some("text/html; echo=pa%22ss%5Cw%2Frd"),
        b"<p>pa&quot;ss\\w/rd</p>",
        &[password],
    );
    let text = e.to_string();
    assert!(!text.contains(password), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    // A mix no single variant covers: HTML entities for some characters, percent for others.
    let e = parse_error_body(
        400,
        None,
        br#"{"errorCode":"X","errorMessage":"pa&#34;ss%5Cw/rd"}"#,
        &[password],
    );
    assert_eq!(e.to_string(), format!("HTTP 400, code X: {ECHOED}"));
}

#[test]
fn secrets_cut_by_the_excerpt_or_nested_in_others_leave_no_half_behind() {
    // The secret straddles the 120-character cut of the excerpt.
    let body = format!("{}SECRETVALUE12345 tail", "y".repeat(EXCERPT_CHARS - 5));
    let e = parse_error_body(
        502,
        Some("text/plain"),
        body.as_bytes(),
        &["SECRETVALUE12345"],
    );
    assert!(!e.to_string().contains("SECRE"), "{e}");
    // A short secret inside a longer one must not expose the longer one's remainder.
    let e = parse_error_body(
        400,
        None,
        br#"{"errorCode":"X","errorMessage":"token abc123-and-more"}"#,
        &["abc123", "abc123-and-more"],
    );
    assert_eq!(e.to_string(), "HTTP 400, code X: token [redacted]");
}

#[test]
fn server_strings_are_bounded_single_line_and_scrubbed_everywhere() {
    let huge = "m".repeat(100_000);
    let body = format!(r#"{{"errorCode":"C\u001b[31m","errorMessage":"{huge}\nnext"}}"#);
    let api = parse(400, None, &body).api().cloned().unwrap();
    assert_eq!(api.message.chars().count(), MESSAGE_CHARS + 1);
    assert_eq!(api.code, "C [31m");
    let e = parse_error_body(500, Some("text/x-hunter2"), b"oops", &["hunter2"]);
    assert!(!e.to_string().contains("hunter2"), "{e}");
}
