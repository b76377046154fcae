//! The rotation schedule's controls under a real Terraform: `rotation_window` holding a due rotation until a window
//! opens, explicit rotations (`triggers`, `-replace`) that no window holds, `rotation_jitter` agreeing between plan,
//! saved plan and apply, and "rotate now" from CI run with the exact scripts of `examples/ci/`.
//!
//! Time moves with the provider's test clock (`Workspace::set_clock_offset`); every window is placed relative to
//! the real time the test starts at, so the tests hold at any time of day.

use crate::common::{
    Emulator, REQUIRED_PROVIDERS, Workspace, assert_no_api_calls, parse_time, planned_actions,
    repo_root, rfc3339, str_of,
};
use thingspace_provider::resources::schedule::jitter_offset;
use time::{Duration, OffsetDateTime};

const SEED: &str = "Seed-Passw0rd-1";
const HOUR: Duration = Duration::hours(1);

/// A `rotation_window` one hour long that opens at the first whole hour at least two hours after `t0`, on that
/// day only, and the time it opens.
fn window_after(t0: OffsetDateTime) -> (String, OffsetDateTime) {
    let later = t0 + Duration::hours(3);
    let opens = later.replace_time(time::Time::from_hms(later.hour(), 0, 0).unwrap());
    let day = opens.weekday().to_string().to_lowercase()[..3].to_owned();
    let hhmm = |t: OffsetDateTime| format!("{:02}:00", t.hour());
    let block = format!(
        "  rotation_window = {{\n    days  = [\"{day}\"]\n    start = \"{}\"\n    end   = \"{}\"\n  }}",
        hhmm(opens),
        hhmm(opens + HOUR)
    );
    (block, opens)
}

/// A resource block for `user` (also its resource name) seeded with [`SEED`], with `body` inside.
fn resource(user: &str, body: &str) -> String {
    format!(
        "resource \"thingspace_password_rotation\" \"{user}\" {{\n  username         = \"{user}\"\n  current_password = \"{SEED}\"\n{body}\n}}\n"
    )
}

/// An emulator with `users` (password [`SEED`]) and a workspace whose main.tf holds `config`.
fn setup(users: &[&str], config: &str) -> (Emulator, Workspace) {
    let emu = Emulator::start();
    for u in users {
        emu.add_user(u, SEED);
    }
    let ws = Workspace::new(&emu);
    ws.write("main.tf", &format!("{REQUIRED_PROVIDERS}\n{config}"));
    (emu, ws)
}

/// The test-clock offset, in seconds, that makes the provider's "now" `t`.
fn offset_to(t: OffsetDateTime) -> i64 {
    (t - OffsetDateTime::now_utc()).whole_seconds()
}

#[test]
fn a_due_rotation_is_held_outside_the_window_and_runs_inside_it() {
    const ADDR: &str = "thingspace_password_rotation.svc-ci";
    let t0 = OffsetDateTime::now_utc();
    let (window, opens) = window_after(t0);
    let (emu, mut ws) = setup(
        &["svc-ci"],
        &resource("svc-ci", &format!("  rotation_period = \"1h\"\n{window}")),
    );
    // A create is never held.
    ws.apply();
    assert_eq!(emu.user("svc-ci").resets, 1);
    let first = ws.resource(ADDR);
    let rotated = parse_time(str_of(&first, "rotated_at"));
    assert_eq!(parse_time(str_of(&first, "rotate_after")), rotated + HOUR);
    assert_eq!(
        parse_time(str_of(&first, "next_window_start")),
        opens,
        "the first window opening after rotate_after"
    );
    assert_eq!(
        ws.plan(&["-detailed-exitcode"]).code,
        0,
        "no perpetual diff"
    );

    // Two hours on: rotate_after has passed, the window has not opened.
    ws.set_clock_offset(2 * 3600);
    emu.clear_requests();
    for flags in [
        &["-detailed-exitcode"][..],
        &["-detailed-exitcode", "-refresh=false"],
    ] {
        let out = ws.plan(flags);
        assert_eq!(out.code, 0, "held outside the window ({flags:?}):\n{out}");
    }
    ws.apply();
    assert_no_api_calls(&emu, "plan and apply outside the window");
    assert_eq!(emu.user("svc-ci").resets, 1);
    assert_eq!(ws.resource(ADDR), first, "state unchanged while held");

    // Half an hour into the window: the held rotation is planned. The saved plan is applied after the window has
    // closed, and does what it said: Terraform's re-plan at apply agrees with it.
    ws.set_clock_offset(offset_to(opens + Duration::minutes(30)));
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.set_clock_offset(offset_to(opens + Duration::minutes(90)));
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    let user = emu.user("svc-ci");
    assert_eq!(user.resets, 2);
    let second = ws.resource(ADDR);
    assert_eq!(str_of(&second, "password"), user.password);
    let rotated2 = parse_time(str_of(&second, "rotated_at"));
    assert!(rotated2 >= opens, "rotated inside the window: {rotated2}");
    assert_eq!(
        parse_time(str_of(&second, "next_window_start")),
        opens + Duration::days(7),
        "the window opens on one day of the week: next week's"
    );
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);

    // Changing the window alone never rotates: the state follows, no API call.
    emu.clear_requests();
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\n{}",
            resource(
                "svc-ci",
                "  rotation_period = \"1h\"\n  rotation_window = {\n    start = \"00:00\"\n    end   = \"23:59\"\n  }"
            )
        ),
    );
    ws.apply();
    assert_no_api_calls(&emu, "changing rotation_window");
    let third = ws.resource(ADDR);
    assert_eq!(str_of(&third, "password"), str_of(&second, "password"));
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}

#[test]
fn a_triggers_change_and_replace_rotate_outside_the_window() {
    const ADDR: &str = "thingspace_password_rotation.svc-ci";
    let (window, opens) = window_after(OffsetDateTime::now_utc());
    let config = format!(
        "variable \"rotation_generation\" {{\n  type    = string\n  default = \"1\"\n}}\n\n{}",
        resource(
            "svc-ci",
            &format!(
                "  rotation_period = \"90d\"\n  triggers = {{\n    generation = var.rotation_generation\n  }}\n{window}"
            )
        )
    );
    let (emu, ws) = setup(&["svc-ci"], &config);
    ws.apply();
    assert_eq!(emu.user("svc-ci").resets, 1);
    let now = OffsetDateTime::now_utc();
    assert!(now < opens, "outside the window for the whole test");

    // TF_VAR_rotation_generation, as a CI variable sets it.
    let env = [("TF_VAR_rotation_generation", "2")];
    let out = ws.tf_env(&["plan", "-input=false", "-detailed-exitcode"], &env);
    assert_eq!(out.code, 2, "a triggers change is not held:\n{out}");
    let out = ws.tf_env(&["apply", "-auto-approve", "-input=false"], &env);
    out.assert_success();
    assert_eq!(emu.user("svc-ci").resets, 2);
    assert_eq!(
        ws.tf_env(&["plan", "-input=false", "-detailed-exitcode"], &env)
            .code,
        0
    );

    // -replace is not held either, and logs in with the password in state (the seed no longer works).
    let before = emu.user("svc-ci");
    let out = ws.tf_env(
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            &format!("-replace={ADDR}"),
        ],
        &env,
    );
    out.assert_success();
    let after = emu.user("svc-ci");
    assert_eq!(after.resets, 3);
    assert_eq!(
        after.failed_logins, before.failed_logins,
        "no failed log-in"
    );
    assert_eq!(str_of(&ws.resource(ADDR), "password"), after.password);
}

#[test]
fn jitter_is_the_same_in_plan_saved_plan_and_apply() {
    const USER: &str = "svc-jitter";
    const ADDR: &str = "thingspace_password_rotation.svc-jitter";
    let (emu, mut ws) = setup(
        &[USER],
        &resource(
            USER,
            "  rotation_period = \"1h\"\n  rotation_jitter = \"1h\"",
        ),
    );
    ws.apply();
    let first = ws.resource(ADDR);
    let rotated = parse_time(str_of(&first, "rotated_at"));
    let due = rotated + HOUR;
    let jittered = due + jitter_offset(USER, due, std::time::Duration::from_secs(3600));
    assert_eq!(str_of(&first, "rotate_after"), rfc3339(jittered));
    assert_eq!(first["next_window_start"], serde_json::Value::Null);
    for flags in [
        &["-detailed-exitcode"][..],
        &["-detailed-exitcode", "-refresh=false"],
    ] {
        assert_eq!(ws.plan(flags).code, 0, "stable: {flags:?}");
    }

    // Past the unjittered time but before this user's: not due yet.
    if jittered - due > Duration::minutes(2) {
        ws.set_clock_offset(offset_to(due + Duration::minutes(1)));
        assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0, "jitter delays");
    }

    // Past the jittered time: a saved plan rotates, and its apply agrees with it.
    ws.set_clock_offset(offset_to(jittered + Duration::minutes(1)));
    emu.clear_requests();
    let plan = ws.plan_json(&[]);
    assert_no_api_calls(&emu, "plan");
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_eq!(emu.user(USER).resets, 2);
    let second = ws.resource(ADDR);
    let rotated2 = parse_time(str_of(&second, "rotated_at"));
    let due2 = rotated2 + HOUR;
    assert_eq!(
        str_of(&second, "rotate_after"),
        rfc3339(due2 + jitter_offset(USER, due2, std::time::Duration::from_secs(3600)))
    );
    for flags in [
        &["-detailed-exitcode"][..],
        &["-detailed-exitcode", "-refresh=false"],
    ] {
        assert_eq!(
            ws.plan(flags).code,
            0,
            "stable after the rotation: {flags:?}"
        );
    }

    // An apply without a saved plan plans twice (plan and apply walks): both agree.
    ws.set_clock_offset(offset_to(
        parse_time(str_of(&second, "rotate_after")) + Duration::minutes(1),
    ));
    ws.apply();
    assert_eq!(emu.user(USER).resets, 3);

    // Changing the jitter alone never rotates.
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\n{}",
            resource(
                USER,
                "  rotation_period = \"1h\"\n  rotation_jitter = \"30m\""
            )
        ),
    );
    ws.apply();
    assert_eq!(emu.user(USER).resets, 3);
}

/// The YAML block scalar (`run: |` or `- |`) on the first line ending in `tail` after the line that is `from`.
fn block_after(yaml: &str, from: &str, tail: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == from)
        .unwrap_or_else(|| panic!("no {from:?} in the CI example"));
    let head = (start..lines.len())
        .find(|i| lines[*i].trim_end().ends_with(tail))
        .unwrap_or_else(|| panic!("no {tail:?} after {from:?}"));
    let indent = |l: &str| l.len() - l.trim_start().len();
    let outer = indent(lines[head]);
    let body: Vec<&str> = lines[head + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > outer)
        .copied()
        .collect();
    let inner = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|l| l.get(inner..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "Rotate now" exactly as examples/ci/ does it: the apply job's own script turns the listed addresses into
/// `-replace` flags on the scheduled run's plan and apply, also outside the window; with nothing listed it is the
/// scheduled run, which holds the due rotation.
#[test]
fn rotate_now_from_the_ci_examples_replaces_the_listed_resources() {
    let (window, _) = window_after(OffsetDateTime::now_utc());
    let users = ["svc-a", "svc-b", "svc-c"];
    let config: String = users
        .iter()
        .map(|u| resource(u, &format!("  rotation_period = \"1h\"\n{window}")))
        .collect();
    let (emu, mut ws) = setup(&users, &config);
    ws.place_provider_as_init_does();
    ws.apply();
    let resets = |emu: &Emulator| users.map(|u| emu.user(u).resets);
    assert_eq!(resets(&emu), [1, 1, 1]);
    // All three are due by time, but outside their window.
    ws.set_clock_offset(2 * 3600);

    let github = std::fs::read_to_string(repo_root().join("examples/ci/github-actions.yml"))
        .expect("read the GitHub example");
    assert!(github.contains("ROTATE_NOW: ${{ inputs.rotate_now }}"));
    let plan_step = block_after(&github, "id: plan", "run: |");
    assert!(github.contains("run: terraform apply tfplan"));
    let github_run = |rotate_now: &str| {
        let outputs = ws.root().join("github-output");
        std::fs::write(&outputs, "").unwrap();
        let out = ws.shell(
            "bash",
            &plan_step,
            &[
                ("ROTATE_NOW", rotate_now),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ],
        );
        out.assert_success();
        let changes = std::fs::read_to_string(&outputs).unwrap();
        if changes.contains("changes=true") {
            ws.shell("bash", "terraform apply tfplan", &[])
                .assert_success();
        }
        changes
    };

    // The scheduled run (no input): nothing outside the window, no API call.
    emu.clear_requests();
    assert_eq!(github_run("").trim(), "changes=false");
    assert_no_api_calls(&emu, "the scheduled run outside the window");

    // A manual run listing two resources rotates those two, with the passwords in state.
    assert_eq!(
        github_run("thingspace_password_rotation.svc-a  thingspace_password_rotation.svc-b").trim(),
        "changes=true"
    );
    assert_eq!(resets(&emu), [2, 2, 1]);

    let gitlab = std::fs::read_to_string(repo_root().join("examples/ci/gitlab-ci.yml"))
        .expect("read the GitLab example");
    assert!(gitlab.contains("ROTATE_NOW:"));
    let apply_script = block_after(&gitlab, "apply:", "- |");
    // The terraform image has no bash: POSIX sh.
    let out = ws.shell(
        "sh",
        &apply_script,
        &[("ROTATE_NOW", "thingspace_password_rotation.svc-c")],
    );
    out.assert_success();
    assert_eq!(resets(&emu), [2, 2, 2]);
    emu.clear_requests();
    let out = ws.shell("sh", &apply_script, &[("ROTATE_NOW", "")]);
    out.assert_success();
    assert!(
        out.stdout.contains("No changes: no rotation is due."),
        "{out}"
    );
    assert_no_api_calls(&emu, "the scheduled GitLab run outside the window");
    for u in users {
        assert_eq!(
            str_of(
                &ws.resource(&format!("thingspace_password_rotation.{u}")),
                "password"
            ),
            emu.user(u).password
        );
        assert_eq!(emu.user(u).failed_logins, 0, "{u}: no failed log-in");
    }
}

#[test]
fn bad_window_and_jitter_values_are_validate_errors_naming_the_attribute() {
    let (_emu, ws) = setup(
        &[],
        &resource(
            "svc-ci",
            "  rotation_period = \"1d\"\n  rotation_jitter = \"2d\"\n  rotation_window = {\n    days  = [\"Mon\"]\n    start = \"03:00\"\n    end   = \"03:00\"\n  }",
        ),
    );
    let out = ws.tf(&["validate", "-no-color"]);
    assert!(!out.success(), "{out}");
    let text = crate::common::flat(&out.combined());
    for want in [
        "Invalid rotation_jitter",
        "Invalid rotation_window.days",
        "Invalid rotation_window.end",
        "rotation_window.start and rotation_window.end are equal",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{out}");
    }
}

/// Issue 14, finding 8: a passed fixed `rotate_after` with a `rotation_period` rotates once, then every plan warns
/// that the period is ignored.
#[test]
fn a_passed_fixed_rotate_after_with_a_period_warns_on_every_plan() {
    let past = rfc3339(OffsetDateTime::now_utc() - HOUR);
    let (emu, ws) = setup(
        &["svc-ci"],
        &resource(
            "svc-ci",
            &format!("  rotation_period = \"1h\"\n  rotate_after = \"{past}\""),
        ),
    );
    let out = ws.apply();
    assert!(
        crate::common::flat(&out.combined())
            .contains("rotation_period is ignored while rotate_after is set"),
        "{out}"
    );
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "rotated once, nothing more:\n{out}");
    assert!(
        crate::common::flat(&out.combined())
            .contains("Remove rotate_after to rotate every rotation_period"),
        "{out}"
    );
    assert_eq!(emu.user("svc-ci").resets, 1);
}

/// The alternating resource shares the schedule: a due rotation of the standby is held outside the window, runs
/// inside it, and its `rotate_after` carries the jitter of its first user name, the same in plan and apply.
#[test]
fn the_alternating_resource_holds_for_the_window_and_jitters_by_its_first_user() {
    const ADDR: &str = "thingspace_alternating_password_rotation.api";
    let t0 = OffsetDateTime::now_utc();
    let (window, opens) = window_after(t0);
    let config = format!(
        "resource \"thingspace_alternating_password_rotation\" \"api\" {{\n  usernames = [\"svc-blue\", \"svc-green\"]\n  current_passwords = {{\n    \"svc-blue\"  = \"{SEED}\"\n    \"svc-green\" = \"{SEED}\"\n  }}\n  rotation_period = \"1h\"\n  rotation_jitter = \"10m\"\n{window}\n}}\n"
    );
    let (emu, mut ws) = setup(&["svc-blue", "svc-green"], &config);
    ws.apply();
    let first = ws.resource(ADDR);
    let rotated = parse_time(str_of(&first, "rotated_at"));
    let due = rotated + HOUR;
    let jitter = jitter_offset("svc-blue", due, std::time::Duration::from_secs(600));
    assert_eq!(
        parse_time(str_of(&first, "rotate_after")),
        due + jitter,
        "rotated_at + rotation_period + the offset of usernames[0]"
    );
    assert_eq!(parse_time(str_of(&first, "next_window_start")), opens);
    assert_eq!(
        ws.plan(&["-detailed-exitcode"]).code,
        0,
        "no perpetual diff"
    );

    // Due, but outside the window: held, no API call.
    ws.set_clock_offset(2 * 3600);
    emu.clear_requests();
    assert_eq!(ws.plan(&["-detailed-exitcode", "-refresh=false"]).code, 0);
    ws.apply();
    assert_no_api_calls(&emu, "plan and apply outside the window");
    assert_eq!(ws.resource(ADDR), first, "state unchanged while held");

    // Inside the window: the standby (blue) rotates and becomes active.
    ws.set_clock_offset(offset_to(opens + Duration::minutes(30)));
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    let after = ws.resource(ADDR);
    assert_eq!(str_of(&after, "active_username"), "svc-blue");
    assert_eq!(
        str_of(&after, "active_password"),
        emu.user("svc-blue").password
    );
    assert_eq!(emu.user("svc-green").resets, 1, "the active user untouched");
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}
