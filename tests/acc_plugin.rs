//! Acceptance tests for the plugin foundation: a real Terraform loads the provider binary over a unix socket with
//! AutoMTLS and reads its schema, validates and plans, and sees its log lines; the binary refuses to run by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Emulator, REQUIRED_PROVIDERS, Workspace, provider_bin};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn attrs(schema: &Value) -> &serde_json::Map<String, Value> {
    schema["block"]["attributes"].as_object().unwrap()
}

#[test]
fn providers_schema_json_shows_every_attribute_with_its_flags() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write("main.tf", REQUIRED_PROVIDERS);
    let out = ws.tf(&["providers", "schema", "-json"]);
    out.assert_success();
    assert!(emu.requests().is_empty(), "reading the schema calls no API");
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let p = &json["provider_schemas"]["registry.terraform.io/verizon/thingspace"];

    let provider = attrs(&p["provider"]);
    let mut names: Vec<&str> = provider.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["base_url", "client_id", "client_secret", "request_timeout"]
    );
    assert_eq!(provider["client_secret"]["sensitive"], true);
    for (name, a) in provider {
        assert_eq!(a["optional"], true, "{name}");
        assert_eq!(a["type"], "string", "{name}");
    }

    let r = &p["resource_schemas"]["thingspace_password_rotation"];
    assert_eq!(r["version"], 1);
    let a = attrs(r);
    let flags = |name: &str| -> Vec<&str> {
        let x = &a[name];
        [
            "required",
            "optional",
            "computed",
            "sensitive",
            "write_only",
        ]
        .into_iter()
        .filter(|f| x[*f] == true)
        .collect()
    };
    let expected: &[(&str, Value, &[&str])] = &[
        ("id", "string".into(), &["computed"]),
        ("username", "string".into(), &["required"]),
        (
            "current_password",
            "string".into(),
            &["optional", "sensitive"],
        ),
        (
            "current_password_wo",
            "string".into(),
            &["optional", "sensitive", "write_only"],
        ),
        (
            "current_password_wo_version",
            "number".into(),
            &["optional"],
        ),
        ("rotate_after", "string".into(), &["optional", "computed"]),
        ("rotation_period", "string".into(), &["optional"]),
        (
            "triggers",
            serde_json::json!(["map", "string"]),
            &["optional"],
        ),
        ("password", "string".into(), &["computed", "sensitive"]),
        ("rotated_at", "string".into(), &["computed"]),
    ];
    assert_eq!(
        a.len(),
        expected.len(),
        "{:?}",
        a.keys().collect::<Vec<_>>()
    );
    for (name, ty, f) in expected {
        assert_eq!(&a[*name]["type"], ty, "{name}");
        assert_eq!(flags(name), *f, "{name}");
        assert_eq!(a[*name]["description_kind"], "markdown", "{name}");
        assert!(
            a[*name]["description"].as_str().unwrap().len() > 20,
            "{name} has a real description"
        );
    }
    assert_eq!(r["block"]["description_kind"], "markdown");
}

#[test]
fn validate_and_plan_succeed_on_the_quickstart_and_debug_logs_show_provider_lines() {
    let emu = Emulator::start();
    emu.add_user("demo-user", "Seed-1");
    let mut ws = Workspace::new(&emu);
    let example =
        std::fs::read_to_string(common::repo_root().join("examples/quickstart/main.tf")).unwrap();
    ws.write("main.tf", &example);
    ws.set_env("TF_VAR_current_password", "Seed-1");
    let out = ws.tf(&["validate"]);
    out.assert_success();
    assert!(out.stdout.contains("Success"), "{out}");

    let out = ws.tf_env(&["plan", "-input=false"], &[("TF_LOG", "debug")]);
    out.assert_success();
    assert!(
        out.stdout
            .contains("thingspace_password_rotation.demo will be created"),
        "{out}"
    );
    // Our JSON lines are re-logged by Terraform at their own level under the plugin's name.
    let ours: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("provider.terraform-provider-thingspace:"))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("[DEBUG]") && l.contains("planned")),
        "{}",
        ours.join("\n")
    );
    assert!(
        !out.stderr.contains("Seed-1"),
        "the seed never appears in a log"
    );
    // Terraform could not read a line as hclog JSON if it shows the raw braces.
    assert!(
        !ours.iter().any(|l| l.contains("\"@level\"")),
        "{}",
        ours.join("\n")
    );
    assert!(emu.requests().is_empty(), "plan calls no API");
}

#[test]
fn run_by_hand_it_explains_itself_on_stderr_and_prints_nothing_on_stdout() {
    let out = Command::new(provider_bin())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "stdout is reserved for the handshake line"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Terraform"), "{err}");
    assert!(
        err.contains("not meant to be run directly") || err.contains("plugin"),
        "{err}"
    );

    let out = Command::new(provider_bin())
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains('6'),
        "names the protocol it needs"
    );
}

#[test]
fn debug_mode_prints_a_reattach_value_that_terraform_uses() {
    let emu = Emulator::start();
    emu.add_user("svc-ci", "Seed-1");
    // In debug mode the provider runs in its own environment, not Terraform's: it reads the credentials from here.
    let mut child = Command::new(provider_bin())
        .arg("--debug")
        .env("THINGSPACE_BASE_URL", &emu.base_url)
        .env("THINGSPACE_CLIENT_ID", common::DEFAULT_CLIENT_ID)
        .env("THINGSPACE_CLIENT_SECRET", common::DEFAULT_CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reattach = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(v) = line.split("TF_REATTACH_PROVIDERS='").nth(1) {
            reattach = Some(v.trim_end_matches('\'').to_string());
            break;
        }
        assert!(Instant::now() < deadline, "no reattach line");
    }
    let reattach = reattach.expect("a TF_REATTACH_PROVIDERS line on stderr");
    let v: Value = serde_json::from_str(&reattach).unwrap();
    assert_eq!(
        v["registry.terraform.io/verizon/thingspace"]["ProtocolVersion"],
        6
    );

    let ws = Workspace::new(&emu);
    ws.write(
        "main.tf",
        &format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username = \"svc-ci\"\n  current_password = \"Seed-1\"\n}}\n"
        ),
    );
    let out = ws.tf_env(
        &["plan", "-input=false"],
        &[("TF_REATTACH_PROVIDERS", &reattach)],
    );
    out.assert_success();
    assert!(out.stdout.contains("will be created"), "{out}");
    let _ = child.kill();
    let _ = child.wait();
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.is_empty(),
        "debug mode prints nothing on stdout: {stdout}"
    );
}

#[test]
fn provider_configuration_errors_name_the_attribute_and_env_var_and_call_no_api() {
    let emu = Emulator::start();
    let resource = "resource \"thingspace_password_rotation\" \"ci\" {\n  username = \"svc-ci\"\n  current_password = \"x\"\n}\n";
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "",
            &["THINGSPACE_CLIENT_SECRET"],
            &["Missing client_secret", "THINGSPACE_CLIENT_SECRET"],
        ),
        (
            "",
            &["THINGSPACE_CLIENT_ID"],
            &["Missing client_id", "THINGSPACE_CLIENT_ID"],
        ),
        (
            "provider \"thingspace\" {\n  base_url = \"http://thingspace.example.com\"\n}\n",
            &[],
            &["Invalid base_url", "base_url ="],
        ),
        (
            "provider \"thingspace\" {\n  request_timeout = \"soon\"\n}\n",
            &[],
            &["Invalid request_timeout", "request_timeout ="],
        ),
    ];
    for (provider_block, unset, expect) in cases {
        let mut ws = Workspace::new(&emu);
        for var in *unset {
            ws.unset_env(var);
        }
        ws.write(
            "main.tf",
            &format!("{REQUIRED_PROVIDERS}{provider_block}{resource}"),
        );
        let out = ws.tf(&["plan", "-input=false"]);
        out.assert_failure();
        let text = out
            .combined()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for e in *expect {
            assert!(text.contains(e), "expected {e:?} in:\n{text}");
        }
    }
    assert!(emu.requests().is_empty());
}
