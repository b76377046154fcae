//! Secrets stay secret (issue 4): two rotations (and a failed third whose error answer echoes secrets) under
//! `TF_LOG=trace` print none of the secrets in play, and the
//! plugin socket directory is private while the provider runs and gone once it exits. Control characters in user
//! input never reach Terraform's log output raw (issue 9).
//!
//! The emulator reports every access token, session token and password it issued (`/_emulator/issued`), so the
//! search covers the values that actually crossed the wire, not guesses at them.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use crate::common::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Fault, LOGIN_PATH, REQUIRED_PROVIDERS,
    RESET_PATH, TOKEN_PATH, Workspace, encodings, flat, pending, wait_for,
};
use base64::Engine as _;

const USER: &str = "svc-ci";
const SEED: &str = "Seed-Passw0rd-1";

fn write_config(ws: &Workspace, trigger: &str) {
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"{SEED}\"\n  triggers = {{ n = \"{trigger}\" }}\n}}\n"
        ),
    );
}

#[test]
fn two_rotations_at_trace_level_print_no_secret() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let ws = Workspace::new(&emu);
    let trace = [("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "trace")];

    // Everything Terraform printed, on both streams, for the create and for a rotation of the stored password.
    let mut printed = String::new();
    for trigger in ["1", "2"] {
        write_config(&ws, trigger);
        let out = ws.tf_env(&["apply", "-auto-approve", "-input=false"], &trace);
        out.assert_success();
        printed.push_str(&out.stdout);
        printed.push_str(&out.stderr);
    }
    let user = emu.user(USER);
    assert_eq!(user.resets, 2, "two rotations happened");
    let two_rotations = printed.clone();

    // A third rotation meets a server that echoes the secrets it was sent in its error answer: the diagnostic
    // quotes the answer, scrubbed.
    let echo = format!(
        r#"{{"errorCode":"REQUEST_FAILED.UnexpectedError","errorMessage":"old password {} rejected for {}"}}"#,
        user.password, DEFAULT_CLIENT_SECRET
    );
    emu.fault(Fault::status(RESET_PATH, 400, &echo));
    write_config(&ws, "3");
    let out = ws.tf_env(&["apply", "-auto-approve", "-input=false"], &trace);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(
        text.contains("old password [redacted] rejected for [redacted]"),
        "the echoed answer is shown, scrubbed:\n{text}"
    );
    printed.push_str(&out.stdout);
    printed.push_str(&out.stderr);
    assert_eq!(emu.user(USER).resets, 2);

    let issued = emu.issued();
    assert_eq!(issued.passwords.len(), 2, "{issued:?}");
    // Two rotations with their verifications (two sessions each), and the third rotation's log-in.
    assert_eq!(issued.session_tokens.len(), 5, "{issued:?}");
    assert!(!issued.access_tokens.is_empty(), "{issued:?}");
    assert_eq!(issued.passwords[1], user.password);
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));

    let mut secrets: Vec<(String, &str)> = vec![
        (SEED.to_owned(), "seed password"),
        (DEFAULT_CLIENT_SECRET.to_owned(), "client secret"),
        (basic, "Basic auth header value"),
    ];
    secrets.extend(issued.passwords.iter().map(|p| (p.clone(), "new password")));
    secrets.extend(
        issued
            .access_tokens
            .iter()
            .map(|t| (t.clone(), "OAuth access token")),
    );
    secrets.extend(
        issued
            .session_tokens
            .iter()
            .map(|t| (t.clone(), "session token")),
    );
    for (secret, what) in &secrets {
        if let Some(at) = printed.find(secret.as_str()) {
            let line_start = printed[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = printed[at..].find('\n').map_or(printed.len(), |i| at + i);
            panic!(
                "the {what} appears in Terraform's output:\n{}",
                &printed[line_start..line_end]
            );
        }
    }

    // The search above is only worth something if the provider really logged at trace level: its rotation steps,
    // with the username and ThingSpace's status, must be there.
    let provider_lines: Vec<&str> = two_rotations
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-thingspace"))
        .collect();
    assert!(
        provider_lines.len() > 10,
        "the provider's logs reached Terraform's output: {} lines",
        provider_lines.len()
    );
    for (step, words) in [
        (
            "rotation start",
            &["password rotation started", "username=svc-ci"][..],
        ),
        (
            "reset answer",
            &[
                "thingspace answered",
                "step=reset",
                "status=200",
                "username=svc-ci",
            ][..],
        ),
        (
            "log-in answer",
            &[
                "thingspace answered",
                "step=log-in",
                "status=200",
                "username=svc-ci",
            ][..],
        ),
        (
            "token answer",
            &["thingspace answered", "step=token", "status=200"][..],
        ),
        (
            "rotation end",
            &["password rotation finished", "username=svc-ci"][..],
        ),
    ] {
        let found = provider_lines
            .iter()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .count();
        // Each rotation logs in twice: to reset, and to verify the new password.
        let per_rotation = if step == "log-in answer" { 2 } else { 1 };
        assert_eq!(
            found,
            2 * per_rotation,
            "{per_rotation} provider log line(s) per rotation for the {step} with {words:?}; provider lines:\n{}",
            provider_lines.join("\n")
        );
    }
    assert!(
        printed.contains("[TRACE]"),
        "Terraform itself logged at trace"
    );
}

/// Entries of `dir` (names only).
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn plugin_socket_dir_is_private_while_running_and_removed_on_exit() {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let ws = Workspace::new(&emu);
    write_config(&ws, "1");
    let parent = tempfile::TempDir::with_prefix("ts-sock-").unwrap();
    let parent_str = parent.path().display().to_string();
    let env = [("PLUGIN_UNIX_SOCKET_DIR", parent_str.as_str())];

    // A slow log-in holds the provider in the middle of the apply, so its socket can be looked at.
    emu.fault(Fault::delay(LOGIN_PATH, 2000));
    let running = ws.spawn(&["apply", "-auto-approve", "-input=false"], &env);
    wait_for(&emu, "the delayed log-in", |r| pending(r, LOGIN_PATH));
    let ours: Vec<String> = entries(parent.path())
        .into_iter()
        .filter(|n| n.starts_with("tfplugin-"))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "one running provider, one socket directory: {:?}",
        entries(parent.path())
    );
    let dir = parent.path().join(&ours[0]);
    let meta = std::fs::symlink_metadata(&dir).unwrap();
    assert!(meta.is_dir(), "a real directory, not a link");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o700,
        "only the user may enter the socket directory"
    );
    let inside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(inside.len(), 1, "just the socket");
    assert!(inside[0].file_type().unwrap().is_socket());

    running.wait().assert_success();
    assert_eq!(emu.user(USER).resets, 1);
    assert_eq!(
        entries(parent.path()),
        Vec::<String>::new(),
        "every provider process removed its socket directory on exit"
    );

    // A plan (several provider starts: validate, plan, refresh) leaves nothing either.
    let out = ws.tf_env(&["plan", "-input=false"], &env);
    out.assert_success();
    assert_eq!(entries(parent.path()), Vec::<String>::new());
}

#[test]
fn a_username_with_an_escape_sequence_and_a_new_line_never_reaches_the_trace_log_raw() {
    // What the user means, and how the configuration spells it (HCL escapes, so main.tf itself stays printable).
    let username = "svc\u{1b}[31mred\nforged-line";
    let spelled = r"svc\u001b[31mred\nforged-line";
    let emu = Emulator::start();
    emu.add_user(username, SEED);
    let ws = Workspace::new(&emu);
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{spelled}\"\n  current_password = \"{SEED}\"\n}}\n"
        ),
    );
    let out = ws.tf_env(
        &["apply", "-auto-approve", "-input=false"],
        &[("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "trace")],
    );
    if let Some(at) = out.stderr.find('\u{1b}') {
        let line_start = out.stderr[..at].rfind('\n').map_or(0, |i| i + 1);
        panic!(
            "a raw ESC reached Terraform's stderr at byte {at}:\n{:?}",
            &out.stderr[line_start..(at + 80).min(out.stderr.len())]
        );
    }
    let provider_lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-thingspace"))
        .collect();
    assert!(
        provider_lines.len() > 5,
        "the provider's trace logs reached Terraform's output: {}\n{out}",
        provider_lines.len()
    );
    // A new line in a log field would start a line of its own, which the provider never wrote.
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("forged-line")),
        "{out}"
    );
    if emu.requests().iter().any(|r| r.path == LOGIN_PATH) {
        // The name passed validation and was used: every provider line that names it shows it escaped.
        let naming: Vec<&&str> = provider_lines
            .iter()
            .filter(|l| l.contains("username="))
            .collect();
        assert!(!naming.is_empty(), "{out}");
        for line in naming {
            assert!(line.contains(r"u{1b}[31mred"), "{line}");
        }
    } else {
        // Validation refused the name before any API call; its diagnostic names the attribute.
        out.assert_failure();
        assert!(out.stderr.contains("username"), "{out}");
    }
}

/// Defect 6: a server that echoes what it was sent, in another encoding than the raw value, must not get a secret
/// into a diagnostic. The seed holds `"` and `\`, so its JSON-escaped form differs from the raw one.
#[test]
fn secrets_echoed_json_escaped_url_encoded_html_escaped_or_as_the_basic_credential_never_reach_the_output()
 {
    let seed = "Se\"ed\\P@ss w0rd&<1>";
    let hcl_seed = seed.replace('\\', "\\\\").replace('"', "\\\"");
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}"));
    let cases = [
        (
            LOGIN_PATH,
            400,
            r#"{"errorCode":"INPUT_INVALID.Credentials","errorMessage":"bad password {{field:password|json}}"}"#,
        ),
        (
            LOGIN_PATH,
            400,
            r#"{"errorCode":"INPUT_INVALID.Credentials","errorMessage":"bad password {{field:password|url}} / {{field:password|html}}"}"#,
        ),
        (
            LOGIN_PATH,
            502,
            "<html><body>upstream said {{body|html}} and {{body|htmlnum}}</body></html>",
        ),
        (
            TOKEN_PATH,
            401,
            r#"{"error":"invalid_client","error_description":"credentials {{header:Authorization}} rejected"}"#,
        ),
        (
            TOKEN_PATH,
            400,
            "<p>{{header:Authorization|json}} {{body|url}} {{header:Authorization|base64}}</p>",
        ),
    ];
    for (path, status, body) in cases {
        let emu = Emulator::start();
        emu.add_user(USER, seed);
        let ws = Workspace::new(&emu);
        ws.write(
            "main.tf",
            &format!(
                "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"{USER}\"\n  current_password = \"{hcl_seed}\"\n}}\n"
            ),
        );
        let mut fault = Fault::status(path, status, body);
        if !body.starts_with('{') {
            fault = fault.content_type("text/html");
        }
        emu.fault(fault);
        let out = ws.tf_env(
            &["apply", "-auto-approve", "-input=false"],
            &[("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "trace")],
        );
        out.assert_failure();
        let text = out.combined();
        let json = serde_json::to_string(seed).unwrap();
        let mut forms = vec![
            seed.to_owned(),
            json[1..json.len() - 1].to_owned(),
            "Se%22ed%5CP%40ss".to_owned(),
            "Se&quot;ed\\P@ss".to_owned(),
            "Se&#34;ed".to_owned(),
            DEFAULT_CLIENT_SECRET.to_owned(),
            basic.clone(),
            base64::engine::general_purpose::STANDARD.encode(&basic),
        ];
        // And every form the other tests search for (fully URL-encoded, base64 of the seed).
        forms.extend(encodings(seed));
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{path} {status} {body}: {form:?} in the output:\n{}",
                out.stderr
                    .lines()
                    .filter(|l| l.contains(form.as_str()))
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        // The diagnostic still says what happened, and the echo did arrive (so this check can fail).
        assert!(text.contains("log-in") || text.contains("token"), "{out}");
        let answered = emu
            .requests()
            .iter()
            .any(|r| r.path == path && r.fault && r.status == Some(status));
        assert!(
            answered,
            "{path}: the echoing fault answered: {:?}",
            emu.requests()
        );
        let diag = out
            .stderr
            .split("Error: ")
            .nth(1)
            .map(|d| flat(d).chars().take(600).collect::<String>())
            .unwrap_or_default();
        eprintln!("{path} {status}: {diag}");
        let user = emu.user(USER);
        assert!(user.failed_logins <= 1 && !user.locked);
    }
}
