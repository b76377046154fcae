//! What CI pipelines do with Terraform, run for real against the emulator: saved plans applied later, stale plans,
//! automation flags, manual replacement, dependent resources and lifecycle rules, and states read back or written by
//! an older schema version. Each test asserts on Terraform's state and output and on what the emulator recorded.

use crate::common::{
    Emulator, REQUIRED_PROVIDERS, Workspace, assert_no_api_calls, flat, planned_actions,
    rfc3339_in, str_of,
};
use serde_json::{Value, json};

const ADDR: &str = "thingspace_password_rotation.ci";
const SEED: &str = "Seed-Passw0rd-1";

/// A resource block for user `name` (resource name = user name) with `body` inside.
fn resource(name: &str, body: &str) -> String {
    format!(
        "resource \"thingspace_password_rotation\" \"{name}\" {{\n  username         = \"{name}\"\n  current_password = \"{SEED}\"\n{body}\n}}\n"
    )
}

/// An emulator with user `ci` (password [`SEED`]) and a workspace whose main.tf is `resource("ci", body)`.
fn setup(body: &str) -> (Emulator, Workspace) {
    let emu = Emulator::start();
    emu.add_user("ci", SEED);
    let ws = Workspace::new(&emu);
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}\n{}", resource("ci", body)),
    );
    (emu, ws)
}

/// The values of `addr` in the prior state embedded in a saved plan's JSON.
fn prior_values(plan: &Value, addr: &str) -> Value {
    plan.pointer("/prior_state/values/root_module/resources")
        .and_then(Value::as_array)
        .and_then(|rs| rs.iter().find(|r| r["address"] == addr))
        .map(|r| r["values"].clone())
        .unwrap_or_else(|| panic!("no {addr} in the plan's prior state"))
}

/// A test-clock offset (seconds) that puts "now" past a `rotate_after` set an hour ahead, with a margin for the
/// commands run in between.
const PAST_THE_HOUR: i64 = 3600 + 300;

fn with_rotate_after(t: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\n{}",
        resource("ci", &format!("  rotate_after     = \"{t}\""))
    )
}

#[test]
fn saved_plans_do_at_apply_exactly_what_they_said_at_plan_time() {
    let first_due = rfc3339_in(3600);
    let (emu, mut ws) = setup(&format!("  rotate_after     = \"{first_due}\""));
    ws.apply();

    // Planned right after the create: nothing is due yet.
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["no-op"]);
    let before = prior_values(&plan, ADDR);

    // rotate_after passes between plan and apply (the test clock moves past it); the saved "no rotation" plan must
    // still not rotate.
    ws.set_clock_offset(PAST_THE_HOUR);
    emu.clear_requests();
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_no_api_calls(&emu, "applying a saved no-op plan");
    assert_eq!(emu.user("ci").resets, 1);
    let after = ws.resource(ADDR);
    assert_eq!(str_of(&after, "password"), str_of(&before, "password"));
    assert_eq!(str_of(&after, "rotated_at"), str_of(&before, "rotated_at"));

    // The next run sees the rotation, and its saved plan rotates when applied.
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    let user = emu.user("ci");
    assert_eq!(user.resets, 2);
    assert_eq!(user.failed_logins, 0);
    let rotated = ws.resource(ADDR);
    assert_eq!(str_of(&rotated, "password"), user.password);
    assert_ne!(str_of(&rotated, "password"), str_of(&before, "password"));
    assert_eq!(
        ws.plan(&["-detailed-exitcode"]).code,
        0,
        "a fixed rotate_after rotates once"
    );
}

/// A saved plan that updates without rotating (here: `rotate_after` moved to another time) must apply as planned
/// even when that time has passed by the time it is applied.
///
/// Applying a saved plan, Terraform calls PlanResourceChange again with the same prior state, prior private and
/// config, and requires every value the saved plan knew to stay the same. The provider decides time-based rotations
/// as of the refresh recorded in the prior private bytes, so the re-plan agrees with the saved plan even though
/// rotate_after passed in between (deciding by the wall clock would fail with "Provider produced inconsistent final
/// plan").
#[test]
fn saved_update_without_rotation_applies_after_rotate_after_passes() {
    let (emu, mut ws) = setup(&format!("  rotate_after     = \"{}\"", rfc3339_in(7200)));
    ws.apply();
    let before = ws.resource(ADDR);

    let moved = rfc3339_in(3600);
    ws.write("main.tf", &with_rotate_after(&moved));
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);
    let change = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == ADDR)
        .unwrap();
    assert_ne!(
        change["change"]["after_unknown"]["password"], true,
        "the plan keeps the password: no rotation"
    );
    ws.set_clock_offset(PAST_THE_HOUR);
    emu.clear_requests();
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_no_api_calls(&emu, "applying a saved update that planned no rotation");
    let user = emu.user("ci");
    assert_eq!(user.resets, 1);
    let after = ws.resource(ADDR);
    assert_eq!(str_of(&after, "password"), user.password);
    assert_eq!(str_of(&after, "password"), str_of(&before, "password"));
    assert_eq!(str_of(&after, "rotate_after"), moved);
    assert_eq!(user.failed_logins, 0);
    // rotate_after has passed for the provider: the next plan is the rotation the saved plan did not make.
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 2, "{out}");
}

#[test]
fn stale_saved_plan_is_refused_by_terraform_and_changes_nothing() {
    let (emu, ws) = setup("  triggers = { release = \"v1\" }");
    ws.apply();
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\n{}",
            resource("ci", "  triggers = { release = \"v2\" }")
        ),
    );
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["update"]);

    // Another pipeline run applies first.
    ws.apply();
    let user = emu.user("ci");
    assert_eq!(user.resets, 2);
    let state_before = ws.state_file();

    emu.clear_requests();
    let out = ws.tf(&["apply", "-input=false", "tfplan"]);
    out.assert_failure();
    assert!(
        flat(&out.combined()).contains("Saved plan is stale"),
        "{out}"
    );
    assert_no_api_calls(&emu, "a refused stale plan");
    assert_eq!(emu.user("ci"), user, "the emulator's user is untouched");
    assert_eq!(ws.state_file(), state_before, "the state is untouched");
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
}

#[test]
fn automation_flags_parallelism_refresh_false_and_detailed_exitcode() {
    let emu = Emulator::start();
    let names = ["a", "b", "c"];
    for n in names {
        emu.add_user(n, SEED);
    }
    let mut ws = Workspace::new(&emu);
    let config = |b_release: &str| {
        let mut tf = REQUIRED_PROVIDERS.to_owned();
        for n in names {
            let release = if n == "b" { b_release } else { "v1" };
            tf.push_str(&resource(
                n,
                &format!("  triggers = {{ release = \"{release}\" }}"),
            ));
        }
        tf
    };
    ws.write("main.tf", &config("v1"));

    // TF_IN_AUTOMATION drops the hints meant for a person at a terminal.
    let hint = "You didn't use the -out option";
    ws.unset_env("TF_IN_AUTOMATION");
    let interactive = ws.plan(&[]);
    ws.set_env("TF_IN_AUTOMATION", "1");
    let automated = ws.plan(&[]);
    assert!(flat(&interactive.stdout).contains(hint), "{interactive}");
    assert!(!flat(&automated.stdout).contains(hint), "{automated}");

    // -parallelism=1: one rotation at a time, so each user's log-in, reset and log-out are consecutive.
    emu.clear_requests();
    ws.apply_with(&["-parallelism=1"]);
    let sessions: Vec<(String, String)> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/session/"))
        .map(|r| (r.username.unwrap_or_default(), r.path))
        .collect();
    // Per user: log-in, reset, log-out, then the verification's log-in and log-out.
    assert_eq!(sessions.len(), 15, "{sessions:?}");
    for chunk in sessions.chunks(5) {
        assert!(
            chunk.iter().all(|(u, _)| *u == chunk[0].0),
            "interleaved: {sessions:?}"
        );
        assert!(
            chunk[0].1.ends_with("/login")
                && chunk[2].1.ends_with("/logout")
                && chunk[3].1.ends_with("/login")
                && chunk[4].1.ends_with("/logout"),
            "{sessions:?}"
        );
    }
    for n in names {
        assert_eq!(emu.user(n).resets, 1, "{n}");
    }

    // -detailed-exitcode: 0 when nothing is due; -refresh=false plans without calling ThingSpace.
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 0, "{out}");
    ws.write("main.tf", &config("v2"));
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 2, "a rotation is due:\n{out}");
    assert!(flat(&out.stdout).contains("1 to change"), "{out}");
    assert_no_api_calls(&emu, "plan -refresh=false");

    ws.apply_with(&["-refresh=false", "-parallelism=2"]);
    let resets: Vec<u64> = names.iter().map(|n| emu.user(n).resets).collect();
    assert_eq!(resets, vec![1, 2, 1], "only b rotated");
    assert_eq!(
        str_of(&ws.resource("thingspace_password_rotation.b"), "password"),
        emu.user("b").password
    );
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}

#[test]
fn replace_rotates_by_logging_in_with_the_password_in_state() {
    let (emu, ws) = setup("");
    ws.apply();
    let first = emu.user("ci").password;

    let plan = ws.plan_json(&[&format!("-replace={ADDR}")]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["delete", "create"]);
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();

    // The configured current_password is the long-gone seed: the create used the destroyed instance's password.
    let user = emu.user("ci");
    assert_eq!(user.resets, 2);
    assert_eq!(user.failed_logins, 0, "no log-in with the stale seed");
    assert_ne!(user.password, first);
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}

#[test]
fn dependents_are_replaced_on_rotation_and_ignore_changes_on_triggers_is_honoured() {
    let emu = Emulator::start();
    emu.add_user("a", SEED);
    emu.add_user("b", SEED);
    let ws = Workspace::new(&emu);
    let config = |release: &str| {
        format!(
            "{REQUIRED_PROVIDERS}\n{}\n{}\nresource \"terraform_data\" \"consumer\" {{\n  input = \"uses b\"\n  lifecycle {{\n    replace_triggered_by = [thingspace_password_rotation.b.password]\n  }}\n}}\n",
            resource(
                "a",
                &format!(
                    "  triggers = {{ release = \"{release}\" }}\n  lifecycle {{\n    ignore_changes = [triggers]\n  }}"
                )
            ),
            resource("b", &format!("  triggers = {{ release = \"{release}\" }}")),
        )
    };
    ws.write("main.tf", &config("v1"));
    ws.apply();
    let consumer_id =
        |ws: &Workspace| str_of(&ws.resource("terraform_data.consumer"), "id").to_owned();
    let id1 = consumer_id(&ws);
    assert_eq!(
        ws.plan(&["-detailed-exitcode"]).code,
        0,
        "no rotation, no replacement"
    );

    ws.write("main.tf", &config("v2"));
    let plan = ws.plan_json(&[]);
    assert_eq!(
        planned_actions(&plan, "thingspace_password_rotation.a"),
        vec!["no-op"]
    );
    assert_eq!(
        planned_actions(&plan, "thingspace_password_rotation.b"),
        vec!["update"]
    );
    assert_eq!(
        planned_actions(&plan, "terraform_data.consumer"),
        vec!["delete", "create"]
    );
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();

    assert_eq!(emu.user("a").resets, 1, "ignored triggers do not rotate");
    assert_eq!(emu.user("b").resets, 2);
    assert_eq!(
        ws.resource("thingspace_password_rotation.a")["triggers"],
        json!({"release": "v1"}),
        "ignored triggers keep their old value in state"
    );
    assert_ne!(consumer_id(&ws), id1, "the dependent was replaced");
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
}

#[test]
fn state_written_by_this_version_reads_back_with_no_diff() {
    let (emu, ws) = setup("  rotation_period = \"90d\"\n  triggers = { release = \"v1\" }");
    ws.apply();
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
    let pulled = ws.tf(&["state", "pull"]);
    pulled.assert_success();

    // The pulled state pushed into a fresh working directory with the same configuration.
    let other = Workspace::new(&emu);
    other.write("main.tf", &ws.read("main.tf"));
    other.write("pulled.tfstate", &pulled.stdout);
    other
        .tf(&["state", "push", "pulled.tfstate"])
        .assert_success();
    emu.clear_requests();
    let out = other.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("No changes"), "{out}");
    assert_eq!(other.resource(ADDR), ws.resource(ADDR));
    other.apply();
    assert_no_api_calls(&emu, "plan and apply of a read-back state");
    assert_eq!(emu.user("ci").resets, 1);
}

#[test]
fn schema_version_0_state_upgrades_without_a_rotation() {
    let emu = Emulator::start();
    let current = "Current-Passw0rd-9";
    emu.add_user("ci", current);
    let ws = Workspace::new(&emu);
    let far = "2099-01-01T00:00:00Z";
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username         = \"ci\"\n  current_password = \"{SEED}\"\n  rotate_after     = \"{far}\"\n}}\n"
        ),
    );
    // A state as an earlier provider version wrote it: schema version 0, without rotation_period, triggers or the
    // write-only attributes.
    let state = json!({
        "version": 4,
        "terraform_version": "1.6.0",
        "serial": 3,
        "lineage": "5b0e0f44-0d0a-4c55-9a57-3f7b6a1c0001",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "thingspace_password_rotation",
            "name": "ci",
            "provider": "provider[\"registry.terraform.io/verizon/thingspace\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "id": "ci",
                    "username": "ci",
                    "current_password": SEED,
                    "password": current,
                    "rotated_at": "2025-01-01T00:00:00Z",
                    "rotate_after": far,
                },
                "sensitive_attributes": [],
            }],
        }],
        "check_results": null,
    });
    ws.write(
        "terraform.tfstate",
        &serde_json::to_string_pretty(&state).unwrap(),
    );

    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "the upgraded state needs no change:\n{out}");
    ws.apply();
    assert_no_api_calls(&emu, "plan and apply after a state upgrade");
    let user = emu.user("ci");
    assert_eq!(user.resets, 0);
    assert_eq!(user.password, current);

    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "password"), current);
    assert_eq!(str_of(&r, "rotated_at"), "2025-01-01T00:00:00Z");
    assert_eq!(str_of(&r, "rotate_after"), far);
    assert!(r["rotation_period"].is_null() && r["triggers"].is_null());
    let stored: Value = serde_json::from_str(&ws.state_file()).unwrap();
    assert_eq!(
        stored["resources"][0]["instances"][0]["schema_version"], 1,
        "the apply wrote the state at the current schema version"
    );
}
