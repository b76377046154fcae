//! Unattended operation (issue 19): what a CI schedule needs to rely on the provider. A password past
//! `max_password_age` fails the plan instead of being skipped in silence; a rotation held by `rotation_window` warns
//! when it will run; a block whose cause may have been transient is lifted by moving `retry_stored_password_version`,
//! with no password handled by hand; a locked user is reported as locked; a successful `-replace` warns of nothing;
//! and a reset answer that cannot be the new password blocks instead of being stored.
//!
//! Every test drives a real Terraform against the emulator, with the provider's test clock standing in for months
//! of waiting, and asserts on Terraform's state and output and on what the emulator recorded.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::common::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Fault, LOGIN_PATH, REQUIRED_PROVIDERS,
    RESET_PATH, Workspace, assert_no_api_calls, flat, on_path, stored_password, str_of, warnings,
};

const ADDR: &str = "thingspace_password_rotation.billing";
const USER: &str = "svc-billing";
const SEED: &str = "Seed-Passw0rd-19";

/// The provider-clock offset that makes the provider's "now" half a minute after `t` for the next few seconds, so
/// times compared to the minute are stable whatever the test's own pace.
fn offset_to(t: OffsetDateTime) -> i64 {
    (t + time::Duration::seconds(30) - OffsetDateTime::now_utc()).whole_seconds()
}

fn setup() -> (Emulator, Workspace) {
    let emu = Emulator::start();
    emu.add_user(USER, SEED);
    let ws = Workspace::new(&emu);
    (emu, ws)
}

/// The resource the CI guide used to show: Mon–Thu 02:00–05:00 UTC, 83 days, at most 90.
fn windowed(extra: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"billing\" {{\n  username = \"{USER}\"\n  current_password = \"{SEED}\"\n  rotation_period = \"83d\"\n  max_password_age = \"90d\"\n  rotation_window = {{\n    days  = [\"mon\", \"tue\", \"wed\", \"thu\"]\n    start = \"02:00\"\n    end   = \"05:00\"\n  }}\n{extra}}}\n"
    )
}

/// Findings 1 and 2: a CI schedule (Monday 06:17) that never falls inside the window. Before the deadline the plan
/// says "No changes" but warns, with the next window and the deadline; once the deadline has passed, every plan
/// (also `-refresh=false`) fails naming the user, the age, the deadline and the reason, while a speculative plan
/// (a pull request's) only warns. A run inside the window rotates and clears it. No plan calls ThingSpace.
#[test]
fn a_window_the_schedule_never_hits_warns_then_fails_the_plan_past_max_password_age() {
    let (emu, mut ws) = setup();
    ws.write("main.tf", &windowed(""));
    // Created on Monday 2027-01-04 at 06:17 (a create is never held by the window).
    ws.set_clock_offset(offset_to(datetime!(2027-01-04 06:17 UTC)));
    ws.apply();
    // Times are to the second of the (shifted) clock: compare them to the minute.
    let r = ws.resource(ADDR);
    assert!(
        str_of(&r, "password_age_deadline").starts_with("2027-04-04T06:17:"),
        "{r}"
    );
    assert!(
        str_of(&r, "rotate_after").starts_with("2027-03-28T06:17:"),
        "{r}"
    );

    // Monday 2027-03-29 06:17: due since Sunday, held by the window; no change, and a warning saying when.
    emu.clear_requests();
    ws.set_clock_offset(offset_to(datetime!(2027-03-29 06:17 UTC)));
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    let text = flat(&out.combined());
    for needle in [
        "Warning: Rotation held by rotation_window",
        "due since 2027-03-28T06:17:",
        "from 2027-03-30T02:00:00Z at the earliest",
        "max_password_age requires it by 2027-04-04T06:17:",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{out}");
    }

    // Monday 2027-04-05 06:17, past the deadline: an error, whichever way the plan is made.
    ws.set_clock_offset(offset_to(datetime!(2027-04-05 06:17 UTC)));
    for extra in [&[][..], &["-refresh=false"][..]] {
        let mut args = vec!["plan", "-input=false", "-detailed-exitcode"];
        args.extend_from_slice(extra);
        let out = ws.tf(&args);
        assert_eq!(out.code, 1, "{out}");
        let text = flat(&out.combined());
        for needle in [
            "Error: Password older than max_password_age",
            "user \"svc-billing\"",
            "was set at 2027-01-04T06:17:",
            " ago. max_password_age (90d) required a rotation by 2027-04-04T06:17:",
            "rotation_window holds the rotation that has been due since 2027-03-28T06:17:",
            "the next window opens at 2027-04-06T02:00:00Z",
            "Run Terraform inside rotation_window",
        ] {
            assert!(text.contains(needle), "missing {needle:?}:\n{out}");
        }
    }
    // The apply of a scheduled job fails the same way, before any call.
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    // A pull request's plan, which is never applied, shows the same as a warning.
    let out = ws.tf_env(
        &["plan", "-input=false", "-detailed-exitcode"],
        &[("THINGSPACE_SPECULATIVE_PLAN", "true")],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        flat(&out.combined()).contains("Warning: Password older than max_password_age"),
        "{out}"
    );
    assert_no_api_calls(&emu, "plans of a held, then overdue, rotation");

    // Tuesday 03:00, inside the window: the rotation runs, and the next plan is clean.
    ws.set_clock_offset(offset_to(datetime!(2027-04-06 03:00 UTC)));
    let out = ws.apply();
    assert!(out.stdout.contains("1 changed"), "{out}");
    let user = emu.user(USER);
    assert_eq!((user.resets, user.failed_logins), (2, 0));
    assert_eq!(stored_password(&ws, ADDR).as_deref(), Some(&*user.password));
    assert!(
        str_of(&ws.resource(ADDR), "password_age_deadline").starts_with("2027-07-05T03:00:"),
        "{}",
        ws.resource(ADDR)
    );
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(warnings(&out.combined()), Vec::<String>::new(), "{out}");
}

/// A schedule that can never meet its maximum age is refused at validate, naming the attributes.
#[test]
fn a_schedule_that_cannot_meet_max_password_age_is_a_validate_error() {
    let (emu, ws) = setup();
    ws.write("main.tf", &windowed("  rotation_jitter = \"14d\"\n"));
    ws.tf(&["init", "-input=false"]).assert_success();
    let out = ws.tf(&["validate"]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    for needle in [
        "The rotation schedule cannot meet max_password_age",
        "rotation_period (83d) + rotation_jitter (14d) + the longest wait for rotation_window (3d21h) = 100d21h",
        "more than max_password_age (90d)",
        "max_password_age",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{out}");
    }
    assert_no_api_calls(&emu, "validate");
}

fn triggered(n: u32, extra: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"billing\" {{\n  username = \"{USER}\"\n  current_password = \"{SEED}\"\n  triggers = {{ n = \"{n}\" }}\n{extra}}}\n"
    )
}

/// Finding 4: a log-in answered 503 after ThingSpace processed it (successfully: nothing was counted) blocks the
/// resource, because the provider cannot know. Moving retry_stored_password_version, the one change the block
/// message offers for this case, lets the next apply log in once with the stored password and rotate: no failed
/// log-in, and nobody copied the password out of state.
#[test]
fn the_acknowledgement_recovers_a_login_answered_503_after_it_was_processed() {
    let (emu, ws) = setup();
    ws.write("main.tf", &triggered(1, ""));
    ws.apply();
    let first = stored_password(&ws, ADDR).unwrap();

    ws.write("main.tf", &triggered(2, ""));
    emu.fault(
        Fault::status(LOGIN_PATH, 503, "<html>Service Unavailable</html>")
            .content_type("text/html")
            .after(),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    assert!(
        text.contains("may have counted as a failed log-in"),
        "{out}"
    );
    assert!(
        text.contains("change retry_stored_password_version"),
        "{out}"
    );
    let r = ws.resource(ADDR);
    assert!(
        str_of(&r, "blocked_reason").contains("retry_stored_password_version"),
        "{r}"
    );
    assert_eq!(str_of(&r, "password"), first, "the stored password stays");

    // Still blocked on the next run: refused before any call.
    emu.clear_requests();
    let out = ws.try_apply(&[]);
    assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    assert_no_api_calls(&emu, "a blocked apply");

    // The acknowledgement: one number in the configuration.
    ws.write(
        "main.tf",
        &triggered(2, "  retry_stored_password_version = 1\n"),
    );
    let out = ws.plan(&[]);
    assert!(
        flat(&out.combined())
            .contains("logs in once more as user \"svc-billing\" with the password in state"),
        "{out}"
    );
    emu.clear_requests();
    ws.apply();
    let user = emu.user(USER);
    assert_eq!(user.failed_logins, 0, "the recovery cost no failed log-in");
    assert_eq!(user.resets, 2);
    let logins = on_path(&emu.requests(), LOGIN_PATH).len();
    assert_eq!(
        logins, 2,
        "one log-in with the stored password, and the one that verifies the new password"
    );
    let r = ws.resource(ADDR);
    assert!(r["blocked_reason"].is_null(), "{r}");
    assert_eq!(str_of(&r, "password"), user.password);
    // Afterwards the normal rules apply: nothing is due, nothing happens.
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "the plan after the recovery");
}

/// The acknowledgement is one log-in per move: when the stored password no longer works (the reset did take
/// effect), that log-in fails once and blocks again; the same value does not retry again; only another move does.
#[test]
fn each_move_of_the_acknowledgement_allows_exactly_one_log_in() {
    let (emu, ws) = setup();
    ws.write("main.tf", &triggered(1, ""));
    ws.apply();
    ws.write("main.tf", &triggered(2, ""));
    emu.fault(
        Fault::status(RESET_PATH, 500, "<html>oops</html>")
            .content_type("text/html")
            .after(),
    );
    let out = ws.try_apply(&[]);
    assert!(
        flat(&out.combined()).contains("may have taken effect"),
        "{out}"
    );

    ws.write(
        "main.tf",
        &triggered(2, "  retry_stored_password_version = 1\n"),
    );
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    assert!(
        flat(&out.combined()).contains("ThingSpace log-in failed"),
        "{out}"
    );
    assert_eq!(emu.user(USER).failed_logins, 1);
    // The same value again, and plain runs: refused, no further log-in.
    for _ in 0..2 {
        emu.clear_requests();
        let out = ws.try_apply(&[]);
        assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
        assert_no_api_calls(&emu, "a blocked apply after a failed retry");
    }
    // The block now says to re-seed; a re-seed with ThingSpace's real password recovers.
    let r = ws.resource(ADDR);
    assert!(str_of(&r, "blocked_reason").contains("re-seed"), "{r}");
    let real = emu.user(USER).password;
    ws.write(
        "main.tf",
        &triggered(2, "  retry_stored_password_version = 1\n").replace(SEED, &real),
    );
    ws.apply();
    let user = emu.user(USER);
    assert_eq!((user.failed_logins, user.locked), (1, false));
    assert_eq!(stored_password(&ws, ADDR).as_deref(), Some(&*user.password));
}

/// Fails `user`'s log-in five times from outside Terraform, which locks it.
fn lock(emu: &Emulator, user: &str) {
    let token: serde_json::Value = ureq::post(&format!("{}/api/ts/v1/oauth2/token", emu.base_url))
        .set(
            "Authorization",
            &format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}")
                )
            ),
        )
        .send_form(&[("grant_type", "client_credentials")])
        .unwrap()
        .into_json()
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    for _ in 0..5 {
        let _ = ureq::post(&format!("{}{LOGIN_PATH}", emu.base_url))
            .set("Authorization", &bearer)
            .send_json(serde_json::json!({"username": user, "password": "not-the-password"}));
    }
    assert!(emu.user(user).locked);
}

/// Finding 5: ThingSpace's answer for a locked user is its own outcome. The diagnostic and blocked_reason say the
/// user is locked, that only Verizon support can unlock it, and that nothing logs in until a re-seed after the
/// unlock; the acknowledgement does not lift it.
#[test]
fn a_locked_user_is_reported_as_locked_and_no_retry_lifts_it() {
    let (emu, ws) = setup();
    ws.write("main.tf", &triggered(1, ""));
    ws.apply();
    lock(&emu, USER);
    ws.write("main.tf", &triggered(2, ""));
    let out = ws.try_apply(&[]);
    assert!(!out.success(), "{out}");
    let text = flat(&out.combined());
    for needle in [
        "ThingSpace user \"svc-billing\" is locked",
        "only Verizon support can unlock it",
        "no plan or apply logs in for this user until you act",
        "After the unlock, re-seed",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{out}");
    }
    assert!(!text.contains("Check the password"), "{out}");
    let reason = str_of(&ws.resource(ADDR), "blocked_reason").to_owned();
    assert!(reason.contains("the user is locked"), "{reason}");
    assert!(
        !reason.contains("retry_stored_password_version"),
        "{reason}"
    );
    // Moving the acknowledgement does not log in.
    ws.write(
        "main.tf",
        &triggered(2, "  retry_stored_password_version = 1\n"),
    );
    emu.clear_requests();
    let out = ws.try_apply(&[]);
    assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    assert_no_api_calls(&emu, "an acknowledgement of a locked user");
}

/// Finding 6: rotating now with `-replace` is a plain success: no warning of a lost password or of a
/// create_before_destroy nobody set. (A real destroy warns at plan time: `password_rotation::`.)
#[test]
fn a_successful_replace_prints_no_warning() {
    let (emu, ws) = setup();
    ws.write("main.tf", &triggered(1, ""));
    ws.apply();
    let out = ws.apply_with(&["-replace", ADDR]);
    assert_eq!(warnings(&out.combined()), Vec::<String>::new(), "{out}");
    assert!(!out.combined().contains("left unchanged"), "{out}");
    let user = emu.user(USER);
    assert_eq!((user.resets, user.failed_logins), (2, 0));
    assert_eq!(stored_password(&ws, ADDR).as_deref(), Some(&*user.password));
}

/// Finding 7: a 200 whose newPassword cannot be the new password (the old one again, empty, white space) is a reset
/// that may have taken effect: blocked, no second reset, and nothing of it stored.
#[test]
fn an_implausible_new_password_blocks_and_is_never_stored() {
    for (name, body, after) in [
        (
            "the old password",
            r#"{"newPassword":"{{field:oldPassword|json}}"}"#,
            true,
        ),
        ("an empty one", r#"{"newPassword":""}"#, false),
        ("white space", r#"{"newPassword":"   "}"#, true),
    ] {
        let (emu, ws) = setup();
        ws.write("main.tf", &triggered(1, ""));
        ws.apply();
        let first = stored_password(&ws, ADDR).unwrap();
        ws.write("main.tf", &triggered(2, ""));
        let fault = Fault::status(RESET_PATH, 200, body);
        emu.fault(if after { fault.after() } else { fault });
        let out = ws.try_apply(&[]);
        assert!(!out.success(), "{name}: {out}");
        let text = flat(&out.combined());
        assert!(text.contains("may have taken effect"), "{name}: {out}");
        let r = ws.resource(ADDR);
        assert_eq!(
            str_of(&r, "password"),
            first,
            "{name}: the answer is not stored"
        );
        assert!(
            str_of(&r, "blocked_reason").contains("may have taken effect"),
            "{name}: {r}"
        );
        assert_eq!(
            on_path(&emu.requests(), RESET_PATH).len(),
            2,
            "{name}: one reset per apply"
        );
        assert_eq!(emu.user(USER).failed_logins, 0, "{name}");
        emu.clear_requests();
        let out = ws.try_apply(&[]);
        assert!(
            flat(&out.combined()).contains("Rotation blocked"),
            "{name}: {out}"
        );
        assert_no_api_calls(&emu, "an apply after an implausible answer");
    }
}
