//! The report command on real plans (issue 25): `terraform show -json` of a saved plan with a healthy, a held, an
//! overdue, a blocked and an unverified user, through the provider binary's `report --json --junit --markdown`. The
//! JSON is validated against the schema the binary carries by `jsonschema`, and the JUnit file is read by
//! `junitparser` (both from the CI-lint venv, scripts/check-report.py); no secret appears in any output.

use std::process::Command;

use crate::common::{Emulator, REQUIRED_PROVIDERS, Workspace, provider_bin, repo_root};

const SEED: &str = "Seed-Report-1";
const DAY: i64 = 24 * 3600;

/// A one-hour window twelve hours from now, every day: closed now and two or three days from now at this hour.
fn closed_window() -> String {
    let hour = (time::OffsetDateTime::now_utc().hour() + 12) % 24;
    format!(
        "  rotation_window = {{\n    start = \"{hour:02}:00\"\n    end   = \"{:02}:00\"\n  }}\n",
        (hour + 1) % 24
    )
}

fn resource(name: &str, body: &str) -> String {
    format!(
        "resource \"thingspace_password_rotation\" \"{name}\" {{\n  username         = \"svc-{name}\"\n  current_password = \"{SEED}\"\n{body}}}\n"
    )
}

fn config(unverified_verifies: bool) -> String {
    let window = closed_window();
    [
        REQUIRED_PROVIDERS.to_owned(),
        resource("healthy", "  rotation_period = \"90d\"\n"),
        resource(
            "held",
            &format!("  rotation_period = \"1d\"\n  max_password_age = \"10d\"\n{window}"),
        ),
        resource(
            "overdue",
            &format!("  rotation_period = \"1d\"\n  max_password_age = \"2d\"\n{window}"),
        ),
        resource("blocked", "  rotation_period = \"90d\"\n"),
        resource(
            "unverified",
            &format!(
                "  rotation_period = \"90d\"\n  verify_new_password = {unverified_verifies}\n"
            ),
        ),
    ]
    .join("\n")
}

#[test]
fn report_outputs_validate_and_name_each_users_status() {
    let emu = Emulator::start();
    for u in ["healthy", "held", "overdue", "unverified"] {
        emu.add_user(&format!("svc-{u}"), SEED);
    }
    // The blocked user's real password is another: its create is rejected once and blocks.
    emu.add_user("svc-blocked", "Another-Password-1");
    let mut ws = Workspace::new(&emu);
    ws.write("main.tf", &config(false));
    let first = ws.try_apply(&[]);
    assert!(!first.success(), "the blocked user's create fails: {first}");
    // Verification turned on for a password set without it: no log-in has proven it.
    ws.write("main.tf", &config(true));

    // Three days on: held waits for its window, overdue is past max_password_age. A pull request's plan (speculative)
    // shows the overdue and blocked users instead of failing.
    ws.set_clock_offset(3 * DAY);
    ws.set_env("THINGSPACE_SPECULATIVE_PLAN", "true");
    emu.clear_requests();
    ws.tf(&["plan", "-input=false", "-out=tfplan"])
        .assert_success();
    let show = ws.tf(&["show", "-json", "tfplan"]);
    show.assert_success();
    let dir = ws.root();
    std::fs::write(dir.join("plan.json"), &show.stdout).unwrap();
    assert!(
        emu.requests().is_empty(),
        "planning and reporting call no API"
    );

    let (json, junit, md, schema) = (
        dir.join("report.json"),
        dir.join("report.xml"),
        dir.join("summary.md"),
        dir.join("schema.json"),
    );
    let out = Command::new(provider_bin())
        .args(["report", "--schema"])
        .arg(&schema)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    // The plan's timestamp is Terraform's real clock; judge as of the provider's shifted one.
    let now = time::OffsetDateTime::now_utc() + time::Duration::seconds(3 * DAY);
    let now = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = Command::new(provider_bin())
        .args([
            "report",
            "--now",
            &now,
            "--fail-on",
            "blocked,overdue",
            "--json",
        ])
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md)
        .arg(dir.join("plan.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "blocked and overdue fail it: {stderr}"
    );
    assert!(out.stdout.is_empty(), "stdout is the handshake's only");

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let status = |user: &str| {
        doc["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == user)
            .map(|u| u["status"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {user} in {doc:#}"))
    };
    for (user, want) in [
        ("svc-healthy", "ok"),
        ("svc-held", "held"),
        ("svc-overdue", "overdue"),
        ("svc-blocked", "blocked"),
        ("svc-unverified", "unverified"),
    ] {
        assert_eq!(status(user), want, "{user}: {doc:#}");
    }
    assert_eq!(doc["source"], "plan");

    // Independent readers: jsonschema against the schema the binary wrote, junitparser for the XML.
    let setup = Command::new(repo_root().join("scripts/lint-ci.sh"))
        .arg("--setup-only")
        .output()
        .unwrap();
    assert!(setup.status.success(), "{setup:?}");
    let python = String::from_utf8_lossy(&setup.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let check = Command::new(python)
        .arg(repo_root().join("scripts/check-report.py"))
        .arg("--schema")
        .arg(&schema)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let checked = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{checked}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        checked.contains("json: valid against urn:terraform-provider-thingspace:rotation-report:1")
    );
    for (user, result) in [
        ("svc-healthy", "passed"),
        ("svc-held", "passed"),
        ("svc-overdue", "failed"),
        ("svc-blocked", "failed"),
        ("svc-unverified", "failed"),
    ] {
        let name = user.trim_start_matches("svc-");
        let line = format!("case thingspace_password_rotation.{name} {user} {result}");
        assert!(checked.contains(&line), "{line:?} not in:\n{checked}");
    }
    assert!(checked.contains("tests=5 failures=3"), "{checked}");

    // The secrets are nowhere in the outputs.
    let everything = [json, junit, md]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>()
        + &stderr;
    for u in ["healthy", "held", "overdue", "unverified", "blocked"] {
        let password = emu.user(&format!("svc-{u}")).password;
        assert!(
            !everything.contains(&password),
            "{u}'s password in a report"
        );
    }
    assert!(!everything.contains(SEED));
}
