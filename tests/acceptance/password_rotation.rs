//! Acceptance tests for `thingspace_password_rotation`: a real Terraform drives the provider binary against the
//! ThingSpace emulator. Each test asserts on Terraform's state and output and on what the emulator recorded.

use crate::common::{
    Emulator, REQUIRED_PROVIDERS, Workspace, assert_no_api_calls, flat, parse_time,
    planned_actions, rfc3339_in, str_of,
};
use time::OffsetDateTime;

const ADDR: &str = "thingspace_password_rotation.ci";
const SEED: &str = "Seed-Passw0rd-1";
/// The rotation period of the time-based tests, which move the provider's clock instead of sleeping through it.
const HOUR: time::Duration = time::Duration::hours(1);
/// A test-clock offset (seconds) past an hour from now, with a margin for the commands run in between.
const HOUR_AND_A_BIT: i64 = 3600 + 300;

/// A workspace with user `svc-ci` whose password is [`SEED`], and a resource body (inside the resource block).
fn setup(body: &str) -> (Emulator, Workspace) {
    let emu = Emulator::start();
    emu.add_user("svc-ci", SEED);
    let ws = Workspace::new(&emu);
    write_resource(&ws, body);
    (emu, ws)
}

/// Like [`setup`], with the seed in an ephemeral variable `pw` (set to [`SEED`]) as users write write-only values.
/// Returns the whole `main.tf`, for tests that rewrite it.
fn setup_with_seed_variable(body: &str) -> (Emulator, Workspace, String) {
    let (emu, mut ws) = setup(body);
    let var =
        "variable \"pw\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n";
    let main = format!("{var}{}", ws.read("main.tf"));
    ws.write("main.tf", &main);
    ws.set_env("TF_VAR_pw", SEED);
    (emu, ws, main)
}

fn write_resource(ws: &Workspace, body: &str) {
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"svc-ci\"\n{body}\n}}\n"),
    );
}

#[test]
fn create_logs_in_resets_logs_out_and_stores_the_new_password() {
    let (emu, ws) = setup(&format!(
        "  current_password_wo = \"{SEED}\"\n  current_password_wo_version = 1"
    ));
    ws.apply();

    let user = emu.user("svc-ci");
    let r = ws.resource(ADDR);
    assert_eq!(user.resets, 1);
    assert_ne!(user.password, SEED);
    assert_eq!(
        str_of(&r, "password"),
        user.password,
        "state holds the password ThingSpace handed out"
    );
    assert_eq!(str_of(&r, "id"), "svc-ci");
    assert!(
        r["current_password_wo"].is_null(),
        "write-only value is never stored"
    );
    assert!(
        r["rotate_after"].is_null(),
        "neither rotate_after nor rotation_period: null"
    );
    let rotated = parse_time(str_of(&r, "rotated_at"));
    assert!((OffsetDateTime::now_utc() - rotated).whole_seconds().abs() < 120);
    assert!(str_of(&r, "rotated_at").ends_with('Z'));

    let paths: Vec<(String, String, Option<u16>)> = emu
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("POST".into(), "/api/ts/v1/oauth2/token".into(), Some(200)),
            ("POST".into(), "/api/m2m/v1/session/login".into(), Some(200)),
            (
                "PUT".into(),
                "/api/m2m/v1/session/password/actions/reset".into(),
                Some(200)
            ),
            (
                "POST".into(),
                "/api/m2m/v1/session/logout".into(),
                Some(200)
            ),
            // The verification (verify_new_password, on by default): one log-in with the new password, one log-out.
            ("POST".into(), "/api/m2m/v1/session/login".into(), Some(200)),
            (
                "POST".into(),
                "/api/m2m/v1/session/logout".into(),
                Some(200)
            ),
        ]
    );
    assert!(
        !ws.state_file().contains(SEED),
        "the seed never reaches the state file"
    );
}

#[test]
fn plan_after_create_is_empty_and_calls_no_api() {
    let (emu, ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  rotation_period = \"90d\""
    ));
    ws.apply();
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "no changes expected:\n{out}");
    assert!(out.stdout.contains("No changes"), "{out}");
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "plan");
    assert_eq!(emu.user("svc-ci").resets, 1);
}

#[test]
fn due_rotation_is_planned_in_place_with_refresh_false_and_no_api_call() {
    let (emu, mut ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  rotation_period = \"1h\""
    ));
    ws.apply();
    let first = ws.resource(ADDR);
    // A second apply with nothing due refreshes the resource and keeps it unchanged, so the state now records that
    // refresh: the later -refresh=false plan must still see the rotation that fell due after it.
    let out = ws.apply();
    assert!(out.stdout.contains("0 changed"), "{out}");
    assert_eq!(emu.user("svc-ci").resets, 1);
    // The period passes (on the test clock) after that refresh.
    ws.set_clock_offset(HOUR_AND_A_BIT);
    emu.clear_requests();

    let plan = ws.plan_json(&["-refresh=false"]);
    assert_no_api_calls(&emu, "plan -refresh=false");
    assert_eq!(
        planned_actions(&plan, ADDR),
        vec!["update"],
        "an in-place update, never a replacement"
    );
    let change = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == ADDR)
        .unwrap();
    let unknown = &change["change"]["after_unknown"];
    assert_eq!(unknown["password"], true);
    assert_eq!(unknown["rotated_at"], true);
    assert_eq!(
        unknown["rotate_after"], true,
        "rotate_after comes from rotation_period"
    );

    let out = ws.tf(&["apply", "-input=false", "tfplan"]);
    out.assert_success();
    let second = ws.resource(ADDR);
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 2);
    assert_eq!(str_of(&second, "password"), user.password);
    assert_ne!(str_of(&second, "password"), str_of(&first, "password"));
}

#[test]
fn fixed_rotate_after_rotates_once() {
    let at = rfc3339_in(3600);
    let (emu, mut ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  rotate_after = \"{at}\""
    ));
    ws.apply();
    assert_eq!(str_of(&ws.resource(ADDR), "rotate_after"), at);
    assert_eq!(
        ws.plan(&["-detailed-exitcode"]).code,
        0,
        "not due before rotate_after"
    );

    ws.set_clock_offset(HOUR_AND_A_BIT);
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 2, "due once rotate_after has passed:\n{out}");
    assert!(out.stdout.contains("updated in-place"), "{out}");
    ws.apply();
    assert_eq!(emu.user("svc-ci").resets, 2);
    let r = ws.resource(ADDR);
    assert!(parse_time(str_of(&r, "rotated_at")) >= parse_time(&at));

    // A fixed date in the past rotates once, not on every apply.
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(
        out.code, 0,
        "rotated after rotate_after: nothing due:\n{out}"
    );
    ws.apply();
    assert_eq!(emu.user("svc-ci").resets, 2);
}

#[test]
fn rotation_period_sets_rotate_after_and_rotates_every_period() {
    let (emu, mut ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  rotation_period = \"1h\""
    ));
    ws.apply();
    let r1 = ws.resource(ADDR);
    let rotated1 = parse_time(str_of(&r1, "rotated_at"));
    assert_eq!(parse_time(str_of(&r1, "rotate_after")), rotated1 + HOUR);
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);

    ws.set_clock_offset(HOUR_AND_A_BIT);
    ws.apply();
    let r2 = ws.resource(ADDR);
    let rotated2 = parse_time(str_of(&r2, "rotated_at"));
    assert!(rotated2 > rotated1);
    assert_eq!(parse_time(str_of(&r2, "rotate_after")), rotated2 + HOUR);
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 2);
    assert_eq!(str_of(&r2, "password"), user.password);

    // A configured rotate_after wins over rotation_period.
    let later = rfc3339_in(86_400);
    write_resource(
        &ws,
        &format!(
            "  current_password = \"{SEED}\"\n  rotation_period = \"1h\"\n  rotate_after = \"{later}\""
        ),
    );
    ws.apply();
    // Another period passes: rotation_period alone would now be due.
    ws.set_clock_offset(2 * HOUR_AND_A_BIT);
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
    assert_eq!(str_of(&ws.resource(ADDR), "rotate_after"), later);
    assert_eq!(
        emu.user("svc-ci").resets,
        2,
        "moving rotate_after updates state without an API call"
    );
}

/// The test clock (`THINGSPACE_TEST_NOW_OFFSET_SECS`, which the time-based tests above set) moves the provider's
/// "now" only against an emulator: plain `http://` to a loopback address. With the production URL (the default), or
/// `https://` even to loopback, the same setting changes nothing, so a pipeline that has it set by mistake still
/// rotates on time. A plan makes no API call, so the provider can be configured for production here without
/// reaching it; the check is the plan's verdict on a rotation that is due only on the shifted clock.
#[test]
fn the_test_clock_offset_is_ignored_unless_base_url_is_a_loopback_http_emulator() {
    let (emu, mut ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  rotation_period = \"1h\""
    ));
    ws.apply();
    emu.clear_requests();
    ws.set_clock_offset(HOUR_AND_A_BIT);

    let by_name = emu.base_url.replace("127.0.0.1", "localhost");
    assert_ne!(by_name, emu.base_url);
    for url in [emu.base_url.as_str(), &by_name] {
        ws.set_env("THINGSPACE_BASE_URL", url);
        let out = ws.plan(&["-detailed-exitcode"]);
        assert_eq!(
            out.code, 2,
            "{url}: the shifted clock makes the rotation due:\n{out}"
        );
    }

    ws.unset_env("THINGSPACE_BASE_URL");
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(
        out.code, 0,
        "production base_url: the offset is ignored:\n{out}"
    );
    let tls_loopback = emu.base_url.replace("http://", "https://");
    ws.set_env("THINGSPACE_BASE_URL", &tls_loopback);
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{tls_loopback}: the offset is ignored:\n{out}");

    assert_no_api_calls(&emu, "plans");
    assert_eq!(emu.user("svc-ci").resets, 1);
}

#[test]
fn triggers_change_rotates_in_place() {
    let (emu, ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  triggers = {{ release = \"v1\" }}"
    ));
    ws.apply();
    let before = emu.user("svc-ci").password;
    write_resource(
        &ws,
        &format!("  current_password = \"{SEED}\"\n  triggers = {{ release = \"v2\" }}"),
    );
    emu.clear_requests();
    let plan = ws.plan_json(&[]);
    assert_no_api_calls(&emu, "plan");
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();

    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 2);
    assert_ne!(user.password, before);
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
    // The second rotation logged in with the stored password, not the seed: no failed log-in.
    assert_eq!(user.failed_logins, 0);
    assert_eq!(ws.resource(ADDR)["triggers"]["release"], "v2");
}

#[test]
fn reseed_through_write_only_version_uses_the_new_value_and_never_stores_it() {
    // The write-only value comes from an ephemeral variable, as users write it, so neither the state nor the saved
    // plan may hold it anywhere.
    let (emu, mut ws, main) = setup_with_seed_variable(
        "  current_password_wo = var.pw\n  current_password_wo_version = 1",
    );
    ws.apply();
    // Someone changes the password outside Terraform.
    let out_of_band = "Changed-By-Hand-7";
    emu.add_user("svc-ci", out_of_band);

    ws.write(
        "main.tf",
        &main.replace(
            "current_password_wo_version = 1",
            "current_password_wo_version = 2",
        ),
    );
    ws.set_env("TF_VAR_pw", out_of_band);
    let plan = ws.plan_json(&["-refresh=false"]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    assert!(
        !plan.to_string().contains(out_of_band),
        "the saved plan does not hold the write-only value"
    );
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();

    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 1, "one reset since the user was re-created");
    assert_eq!(
        user.failed_logins, 0,
        "the re-seed logged in with the write-only value"
    );
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "password"), user.password);
    assert!(r["current_password_wo"].is_null());
    assert_eq!(r["current_password_wo_version"], 2);
    let state = ws.state_file();
    assert!(
        !state.contains(out_of_band) && !state.contains(SEED),
        "write-only values are absent from the state file"
    );
}

#[test]
fn import_makes_no_api_call_and_the_next_apply_takes_the_password_under_management() {
    let (emu, ws) = setup(&format!(
        "  current_password_wo = \"{SEED}\"\n  current_password_wo_version = 1"
    ));
    let out = ws.tf(&["import", "-input=false", ADDR, "svc-ci"]);
    out.assert_success();
    assert_no_api_calls(&emu, "import");
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "id"), "svc-ci");
    assert_eq!(str_of(&r, "username"), "svc-ci");
    assert!(r["password"].is_null());

    let plan = ws.plan_json(&[]);
    assert_no_api_calls(&emu, "plan after import");
    assert_eq!(
        planned_actions(&plan, ADDR),
        vec!["update"],
        "the rotation that takes the password under management"
    );
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 1);
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}

#[test]
fn destroy_warns_at_plan_time_that_the_password_stays_and_makes_no_api_call() {
    let (emu, ws) = setup(&format!("  current_password = \"{SEED}\""));
    ws.apply();
    let before = emu.user("svc-ci");
    emu.clear_requests();
    // The warning comes with the plan, while the state still holds the password, not after it is gone.
    let planned = ws.plan(&["-destroy"]);
    let text = flat(&planned.combined());
    assert!(
        text.contains("Warning: Destroying leaves the ThingSpace password unchanged"),
        "{planned}"
    );
    assert!(
        text.contains("svc-ci") && text.contains("Read it first"),
        "{planned}"
    );
    let out = ws.destroy();
    let text = flat(&out.combined());
    assert_eq!(
        text.matches("Destroying leaves the ThingSpace password unchanged")
            .count(),
        1,
        "{out}"
    );
    assert_no_api_calls(&emu, "destroy");
    assert!(!ws.has_resource(ADDR));
    let after = emu.user("svc-ci");
    assert_eq!(after.password, before.password);
    assert_eq!(after.resets, 1);
}

#[test]
fn validation_errors_name_the_attribute_and_make_no_api_call() {
    let cases = [
        (
            format!("  current_password = \"{SEED}\"\n  rotate_after = \"next tuesday\""),
            "rotate_after",
            "RFC 3339",
        ),
        (
            format!("  current_password = \"{SEED}\"\n  rotate_after = \"2027-03-01 00:00:00Z\""),
            "rotate_after",
            "RFC 3339",
        ),
        (
            format!("  current_password = \"{SEED}\"\n  rotation_period = \"90 days\""),
            "rotation_period",
            "not a duration",
        ),
        (
            format!("  current_password = \"{SEED}\"\n  rotation_period = \"500ms\""),
            "rotation_period",
            "minimum of 1s",
        ),
        (
            format!("  current_password = \"{SEED}\"\n  rotation_period = \"106751991167300d\""),
            "rotation_period",
            "maximum of 100 years",
        ),
        (
            format!("  current_password = \"{SEED}\"\n  current_password_wo = \"{SEED}\""),
            "current_password_wo",
            "only one of current_password and current_password_wo",
        ),
    ];
    let emu = Emulator::start();
    emu.add_user("svc-ci", SEED);
    for (body, attr, words) in cases {
        let ws = Workspace::new(&emu);
        write_resource(&ws, &body);
        for cmd in [vec!["validate"], vec!["plan", "-input=false"]] {
            let out = ws.tf(&cmd);
            out.assert_failure();
            let text = flat(&out.combined());
            assert!(text.contains(words), "{attr}: {cmd:?}:\n{text}");
            assert!(
                text.contains(&format!("{attr} =")),
                "diagnostic points at {attr}:\n{text}"
            );
        }
    }
    // An empty username.
    let ws = Workspace::new(&emu);
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"\"\n  current_password = \"x\"\n}}\n"),
    );
    let out = ws.tf(&["validate"]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(
        text.contains("Invalid username")
            && text.contains("it is empty")
            && text.contains("username ="),
        "{out}"
    );
    assert_no_api_calls(&emu, "validate/plan of invalid configurations");
    assert_eq!(emu.user("svc-ci").failed_logins, 0);
}

#[test]
fn wrong_password_costs_exactly_one_failed_login_and_says_why() {
    let (emu, ws) = setup("  current_password = \"not-the-password\"");
    let out = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(text.contains("log-in failed"), "{text}");
    assert!(text.contains("5 consecutive failed log-ins"), "{text}");
    assert!(
        !text.contains("not-the-password"),
        "the password never appears in output"
    );
    let user = emu.user("svc-ci");
    assert_eq!(user.failed_logins, 1);
    assert_eq!(user.resets, 0);
    assert!(!user.locked);
    assert_eq!(user.password, SEED);
    let logins = emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/session/login"))
        .count();
    assert_eq!(logins, 1, "a credentials failure is never retried");
    // The evidence is kept: a tainted object without a password, whose blocked_reason says why.
    let state = ws.resource(ADDR);
    assert!(state["password"].is_null());
    assert!(
        str_of(&state, "blocked_reason").contains("rejected a log-in"),
        "{state}"
    );
    // The next apply (and a -refresh=false one) refuses before any log-in: one failed log-in per seed.
    for extra in [&[][..], &["-refresh=false"][..]] {
        let mut args = vec!["apply", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        let out = ws.tf(&args);
        out.assert_failure();
        assert!(
            flat(&out.combined()).contains("Rotation blocked to protect the user"),
            "{out}"
        );
    }
    let user = emu.user("svc-ci");
    assert_eq!(
        user.failed_logins, 1,
        "no second log-in with the rejected seed"
    );
    assert!(!user.locked);
}

#[test]
fn after_a_reset_that_may_have_taken_effect_only_a_reseed_rotates_again() {
    use crate::common::{Fault, RESET_PATH};
    let (emu, mut ws, main) = setup_with_seed_variable(
        "  current_password_wo = var.pw\n  current_password_wo_version = 1\n  triggers = { r = \"1\" }",
    );
    ws.apply();
    let stored = str_of(&ws.resource(ADDR), "password").to_string();

    // The reset takes effect but its answer is lost. No log-in checks it: that log-in would fail and count.
    emu.fault(
        Fault::status(RESET_PATH, 502, "<html>Bad Gateway</html>")
            .content_type("text/html")
            .after(),
    );
    ws.write("main.tf", &main.replace("r = \"1\"", "r = \"2\""));
    let out = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(text.contains("may have taken effect"), "{text}");
    assert!(text.contains("current_password_wo_version"), "{text}");
    assert!(
        text.contains(
            "state keeps the previous password, which no longer works if the reset took effect"
        ),
        "{text}"
    );
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 2, "the reset happened at ThingSpace");
    assert_eq!(
        user.failed_logins, 0,
        "no check log-in with the stale password"
    );
    assert_eq!(
        str_of(&ws.resource(ADDR), "password"),
        stored,
        "state keeps the old password"
    );
    assert!(
        str_of(&ws.resource(ADDR), "blocked_reason").contains("may have taken effect"),
        "terraform show tells why the resource is blocked"
    );

    // Further runs must not log in with the stale password: they are refused at plan, with no API call.
    emu.clear_requests();
    for _ in 0..2 {
        let out = ws.tf(&["apply", "-auto-approve", "-input=false"]);
        out.assert_failure();
        assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    }
    assert_no_api_calls(&emu, "a blocked rotation");
    assert_eq!(emu.user("svc-ci").failed_logins, 0);
    assert!(!emu.user("svc-ci").locked);

    // The recovery the error describes: the password from ThingSpace, and a new current_password_wo_version.
    let real = emu.user("svc-ci").password;
    ws.write(
        "main.tf",
        &main.replace("r = \"1\"", "r = \"2\"").replace(
            "current_password_wo_version = 1",
            "current_password_wo_version = 2",
        ),
    );
    ws.set_env("TF_VAR_pw", &real);
    ws.apply();
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 3);
    assert_eq!(user.consecutive_failed_logins, 0);
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
    // And the block is gone: an ordinary triggers change rotates again.
    ws.write(
        "main.tf",
        &main.replace("r = \"1\"", "r = \"3\"").replace(
            "current_password_wo_version = 1",
            "current_password_wo_version = 2",
        ),
    );
    ws.apply();
    assert_eq!(emu.user("svc-ci").resets, 4);
}

#[test]
fn a_create_whose_reset_may_have_taken_effect_is_tainted_and_blocked_until_a_reseed() {
    use crate::common::{Fault, RESET_PATH};
    let (emu, mut ws, main) = setup_with_seed_variable(
        "  current_password_wo = var.pw\n  current_password_wo_version = 1",
    );
    emu.fault(Fault::drop_connection(RESET_PATH).after());
    let out = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(text.contains("may have taken effect"), "{out}");
    // The error says what the state holds: a tainted object without a password, not "the old password".
    assert!(
        text.contains("stores this object tainted and without a password"),
        "{out}"
    );
    assert!(!text.contains("keeps the old password"), "{out}");
    assert!(ws.resource(ADDR)["password"].is_null());
    assert_eq!(emu.user("svc-ci").resets, 1);
    assert_eq!(
        emu.user("svc-ci").failed_logins,
        0,
        "no check log-in with the stale seed"
    );
    let state = ws.show_json().to_string();
    assert!(
        state.contains("\"tainted\":true") || ws.state_file().contains("\"status\": \"tainted\""),
        "{state}"
    );

    // The next runs plan a replacement but refuse to log in with the same seed: no API call, no further failure.
    emu.clear_requests();
    for _ in 0..2 {
        let out = ws.tf(&["apply", "-auto-approve", "-input=false"]);
        out.assert_failure();
        assert!(flat(&out.combined()).contains("Rotation blocked"), "{out}");
    }
    assert_no_api_calls(&emu, "a blocked replacement");
    assert_eq!(emu.user("svc-ci").failed_logins, 0);
    assert!(!emu.user("svc-ci").locked);

    // The recovery: the password from ThingSpace and a new current_password_wo_version.
    let real = emu.user("svc-ci").password;
    ws.write(
        "main.tf",
        &main.replace(
            "current_password_wo_version = 1",
            "current_password_wo_version = 2",
        ),
    );
    ws.set_env("TF_VAR_pw", &real);
    ws.apply();
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 2);
    assert_eq!(user.failed_logins, 0);
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}

/// Issue 22: a planned rotation says why, beside the bare `~ password = (sensitive value)`: changed triggers, a
/// passed rotate_after (with both times). Each is a warning naming the user; the plan calls no API.
#[test]
fn a_planned_rotation_says_why_it_rotates() {
    let (emu, mut ws) = setup(&format!(
        "  current_password = \"{SEED}\"\n  rotation_period = \"30d\"\n  triggers = {{ n = \"1\" }}"
    ));
    ws.apply();
    let rotate_after = str_of(&ws.resource(ADDR), "rotate_after").to_owned();
    emu.clear_requests();

    write_resource(
        &ws,
        &format!(
            "  current_password = \"{SEED}\"\n  rotation_period = \"30d\"\n  triggers = {{ n = \"2\" }}"
        ),
    );
    let text = flat(&ws.plan(&[]).combined());
    assert!(
        text.contains("Warning: Rotation planned for user \"svc-ci\""),
        "{text}"
    );
    assert!(text.contains("because triggers changed"), "{text}");
    write_resource(
        &ws,
        &format!(
            "  current_password = \"{SEED}\"\n  rotation_period = \"30d\"\n  triggers = {{ n = \"1\" }}"
        ),
    );

    ws.set_clock_offset(31 * 24 * 3600);
    let text = flat(&ws.plan(&[]).combined());
    assert!(
        text.contains(&format!("because rotate_after ({rotate_after}) has passed")),
        "{text}"
    );

    // A replacement needs no warning of ours: Terraform shows "will be replaced, as requested", and it keeps only
    // the errors of the create half's plan, so a warning there would never be seen.
    ws.set_clock_offset(0);
    let text = flat(&ws.plan(&["-replace", ADDR]).combined());
    assert!(text.contains("will be replaced, as requested"), "{text}");
    // Nothing due: no such warning.
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.combined().contains("Rotation planned"), "{out}");
    assert_no_api_calls(&emu, "plans");
}
