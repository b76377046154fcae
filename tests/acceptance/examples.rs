//! Tests for what users copy and read: every example under `examples/` is `terraform fmt`-clean, every example that
//! needs only this provider validates and applies against the emulator exactly as written, `import.sh` imports, and
//! `docs/` is what `scripts/gen-docs.py` generates from the current schema and examples.

use crate::common::{
    Emulator, LOGIN_PATH, LOGOUT_PATH, RESET_PATH, TOKEN_PATH, Terraform, Workspace, parse_time,
    planned_actions, provider_bin, repo_root, str_of,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED: &str = "Example-Seed-Passw0rd";
const NINETY_DAYS: time::Duration = time::Duration::days(90);

/// Pattern directories applied against the emulator by a test below.
const APPLIED_PATTERNS: &[&str] = &[
    "adopt-existing-user",
    "reseed-after-out-of-band-change",
    "rotate-every-90-days",
];
/// Pattern directories that need another provider (Vault, AWS, time), which cannot be installed here: fmt-checked only.
const FMT_ONLY_PATTERNS: &[&str] = &[
    "secret-store-aws",
    "secret-store-aws-alternating",
    "secret-store-vault",
    "time-rotating",
];

fn examples_dir() -> PathBuf {
    repo_root().join("examples")
}

fn example(rel: &str) -> String {
    let path = examples_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A workspace wired to `emu` holding the given example files, with the user `username` created at the emulator
/// with password [`SEED`].
fn workspace_with(emu: &Emulator, username: &str, files: &[(&str, &str)]) -> Workspace {
    emu.add_user(username, SEED);
    let ws = Workspace::new(emu);
    for (name, rel) in files {
        ws.write(name, &example(rel));
    }
    ws
}

/// Asserts the emulator served exactly one rotation (token, log-in, reset, log-out) since its log was cleared.
fn assert_one_rotation_recorded(emu: &Emulator, username: &str) {
    let calls: Vec<(String, Option<u16>)> = emu
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    let want: Vec<(String, Option<u16>)> = [TOKEN_PATH, LOGIN_PATH, RESET_PATH, LOGOUT_PATH]
        .iter()
        .map(|p| ((*p).to_owned(), Some(200)))
        .collect();
    assert_eq!(calls, want, "one rotation for {username}");
}

fn validate(ws: &Workspace) {
    let out = ws.tf(&["validate"]);
    out.assert_success();
    assert!(out.stdout.contains("The configuration is valid"), "{out}");
}

/// Asserts state and ThingSpace agree after a rotation: the state holds the password the emulator has, and
/// rotate_after is rotated_at + 90 days.
fn assert_rotated_every_90_days(emu: &Emulator, ws: &Workspace, addr: &str, username: &str) {
    let r = ws.resource(addr);
    let user = emu.user(username);
    assert_eq!(str_of(&r, "id"), username);
    assert_eq!(
        str_of(&r, "password"),
        user.password,
        "state holds ThingSpace's password"
    );
    assert_ne!(user.password, SEED);
    assert_eq!(
        parse_time(str_of(&r, "rotate_after")) - parse_time(str_of(&r, "rotated_at")),
        NINETY_DAYS,
        "rotation_period = \"90d\""
    );
    assert!(r["current_password_wo"].is_null());
    assert_eq!(user.failed_logins, 0);
}

#[test]
fn examples_are_terraform_fmt_clean() {
    let ws = Workspace::without_emulator(Terraform::from_env());
    let dir = examples_dir();
    let out = ws.tf(&[
        "fmt",
        "-check",
        "-recursive",
        "-diff",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.success(),
        "examples/ is not terraform fmt clean (run `scripts/terraform fmt -recursive examples/`):\n{out}"
    );
}

#[test]
fn every_pattern_is_applied_or_needs_another_provider() {
    let mut found: Vec<String> = std::fs::read_dir(examples_dir().join("patterns"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<&str> = APPLIED_PATTERNS
        .iter()
        .chain(FMT_ONLY_PATTERNS)
        .copied()
        .collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "each pattern must be applied by a test or listed as needing another provider"
    );
    for name in FMT_ONLY_PATTERNS {
        let main = example(&format!("patterns/{name}/main.tf"));
        assert!(
            main.contains("source = \"hashicorp/"),
            "{name} needs only our provider, so it must be applied against the emulator"
        );
    }
    for name in APPLIED_PATTERNS {
        let main = example(&format!("patterns/{name}/main.tf"));
        assert!(
            !main.contains("hashicorp/"),
            "{name} needs another provider"
        );
    }
}

/// Runs `scripts/gen-docs.py --check` with this test run's provider binary and Terraform.
fn gen_docs_check(docs: &Path) -> std::process::Output {
    let terraform = Terraform::from_env();
    Command::new("python3")
        .arg(repo_root().join("scripts").join("gen-docs.py"))
        .arg("--check")
        .arg("--provider")
        .arg(std::path::absolute(provider_bin()).unwrap())
        .arg("--terraform")
        .arg(&terraform.program)
        .arg("--docs")
        .arg(docs)
        .output()
        .expect("run python3 scripts/gen-docs.py")
}

fn read_tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), text));
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, text) in read_tree(from) {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, text).unwrap();
    }
}

#[test]
fn docs_are_up_to_date_and_the_check_catches_stale_docs() {
    let docs = repo_root().join("docs");
    let before = read_tree(&docs);
    let out = gen_docs_check(&docs);
    assert!(
        out.status.success(),
        "docs/ is stale: run scripts/gen-docs.py\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read_tree(&docs), before, "--check must not rewrite docs/");
    let pages: Vec<String> = before
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert_eq!(
        pages,
        [
            "guides/installation.md",
            "guides/troubleshooting.md",
            "index.md",
            "resources/alternating_password_rotation.md",
            "resources/password_rotation.md"
        ]
    );
    // What is tested and what is only expected to work, and the state encryption OpenTofu users should turn on.
    let page = |name: &str| &before.iter().find(|(p, _)| p.ends_with(name)).unwrap().1;
    let index = page("index.md");
    for words in [
        "Supported and tested: Terraform 1.6 to 1.15",
        "1.11 and later should work",
        "method \"aes_gcm\"",
    ] {
        assert!(index.contains(words), "index page lacks {words:?}");
    }
    let resource = page("password_rotation.md");
    for words in [
        "`current_password_wo` (String, Sensitive, Write-only)",
        "`password` (String, Sensitive)",
        "5 consecutive failed log-ins",
        "terraform import thingspace_password_rotation.example svc-provisioning",
        "import {",
        "OpenTofu",
    ] {
        assert!(resource.contains(words), "resource page lacks {words:?}");
    }

    let alternating = page("alternating_password_rotation.md");
    for words in [
        "`current_passwords_wo` (Map of String, Sensitive, Write-only)",
        "`active_password` (String, Sensitive)",
        "`standby_password` (String, Sensitive)",
        "5 consecutive failed log-ins",
        "terraform import thingspace_alternating_password_rotation.example svc-api-blue,svc-api-green",
        "aws_secretsmanager_secret_version",
        "active_username",
    ] {
        assert!(
            alternating.contains(words),
            "alternating resource page lacks {words:?}"
        );
    }

    // The same check fails on a hand edit, and names the file.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&docs, copy.path());
    let page = copy.path().join("resources").join("password_rotation.md");
    let edited = std::fs::read_to_string(&page)
        .unwrap()
        .replace("(String, Sensitive, Write-only)", "(String)");
    std::fs::write(&page, edited).unwrap();
    let out = gen_docs_check(copy.path());
    assert_eq!(out.status.code(), Some(1), "a stale page fails the check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("password_rotation.md") && stderr.contains("Write-only"),
        "{stderr}"
    );
}

#[test]
fn provider_and_resource_examples_validate_and_create_a_rotation() {
    let emu = Emulator::start();
    let mut ws = workspace_with(
        &emu,
        "svc-provisioning",
        &[
            ("provider.tf", "provider/provider.tf"),
            (
                "resource.tf",
                "resources/thingspace_password_rotation/resource.tf",
            ),
        ],
    );
    ws.set_env("TF_VAR_current_password", SEED);
    validate(&ws);
    ws.apply();

    assert_one_rotation_recorded(&emu, "svc-provisioning");
    assert_rotated_every_90_days(
        &emu,
        &ws,
        "thingspace_password_rotation.example",
        "svc-provisioning",
    );
    assert!(
        !ws.state_file().contains(SEED),
        "the write-only seed is not stored"
    );
    emu.clear_requests();
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0, "nothing due");
    assert!(emu.requests().is_empty(), "plan calls no API");
}

#[test]
fn import_sh_imports_without_an_api_call_and_the_next_apply_takes_over() {
    let emu = Emulator::start();
    let mut ws = workspace_with(
        &emu,
        "svc-provisioning",
        &[
            ("provider.tf", "provider/provider.tf"),
            (
                "resource.tf",
                "resources/thingspace_password_rotation/resource.tf",
            ),
        ],
    );
    ws.set_env("TF_VAR_current_password", SEED);
    let script = example("resources/thingspace_password_rotation/import.sh");
    let commands: Vec<Vec<&str>> = script
        .lines()
        .filter(|l| l.starts_with("terraform "))
        .map(|l| l.split_whitespace().skip(1).collect())
        .collect();
    assert_eq!(commands.len(), 1, "one terraform command in import.sh");
    assert_eq!(commands[0][0], "import");
    ws.tf(&commands[0]).assert_success();

    assert!(emu.requests().is_empty(), "import calls no API");
    let r = ws.resource("thingspace_password_rotation.example");
    assert_eq!(str_of(&r, "id"), "svc-provisioning");
    assert_eq!(str_of(&r, "username"), "svc-provisioning");
    assert!(r["password"].is_null(), "import stores no password");

    ws.apply();
    assert_one_rotation_recorded(&emu, "svc-provisioning");
    assert_rotated_every_90_days(
        &emu,
        &ws,
        "thingspace_password_rotation.example",
        "svc-provisioning",
    );
}

#[test]
fn pattern_rotate_every_90_days_applies() {
    let emu = Emulator::start();
    let mut ws = workspace_with(
        &emu,
        "svc-billing",
        &[("main.tf", "patterns/rotate-every-90-days/main.tf")],
    );
    ws.set_env("TF_VAR_seed_password", SEED);
    validate(&ws);
    ws.apply();

    assert_one_rotation_recorded(&emu, "svc-billing");
    let addr = "thingspace_password_rotation.billing";
    assert_rotated_every_90_days(&emu, &ws, addr, "svc-billing");
    let out = ws.tf(&["output", "-raw", "next_rotation_after"]);
    out.assert_success();
    assert_eq!(out.stdout, str_of(&ws.resource(addr), "rotate_after"));
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0, "nothing due");
}

#[test]
fn pattern_adopt_existing_user_imports_and_rotates_in_one_apply() {
    let emu = Emulator::start();
    let mut ws = workspace_with(
        &emu,
        "svc-legacy",
        &[("main.tf", "patterns/adopt-existing-user/main.tf")],
    );
    ws.set_env("TF_VAR_current_password", SEED);
    validate(&ws);
    let addr = "thingspace_password_rotation.legacy";
    let plan = ws.plan_json(&[]);
    assert!(
        emu.requests().is_empty(),
        "plan with an import calls no API"
    );
    assert_eq!(planned_actions(&plan, addr), vec!["update"]);
    let change = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == addr)
        .unwrap();
    assert_eq!(change["change"]["importing"]["id"], "svc-legacy");

    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_one_rotation_recorded(&emu, "svc-legacy");
    assert_rotated_every_90_days(&emu, &ws, addr, "svc-legacy");
    assert_eq!(emu.user("svc-legacy").resets, 1);
    assert_eq!(
        ws.plan(&["-detailed-exitcode"]).code,
        0,
        "the import block is a no-op once the user is in state"
    );
}

#[test]
fn pattern_reseed_logs_in_with_the_new_seed_after_an_out_of_band_change() {
    let emu = Emulator::start();
    let mut ws = workspace_with(
        &emu,
        "svc-fleet",
        &[(
            "main.tf",
            "patterns/reseed-after-out-of-band-change/main.tf",
        )],
    );
    ws.set_env("TF_VAR_current_password", SEED);
    validate(&ws);
    ws.apply();
    let addr = "thingspace_password_rotation.fleet";
    assert_rotated_every_90_days(&emu, &ws, addr, "svc-fleet");

    // Someone resets the password in the portal. Terraform cannot see it, and later runs without the seed are quiet.
    let by_hand = "Reset-In-Portal-9";
    emu.add_user("svc-fleet", by_hand);
    ws.unset_env("TF_VAR_current_password");
    emu.clear_requests();
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0);
    assert!(emu.requests().is_empty(), "plan never logs in");

    // The re-seed the pattern describes: the current password in the variable, the version bumped.
    let main = ws.read("main.tf");
    let bumped = main.replace(
        "current_password_wo_version = 2",
        "current_password_wo_version = 3",
    );
    assert_ne!(
        main, bumped,
        "the pattern sets current_password_wo_version = 2"
    );
    ws.write("main.tf", &bumped);
    ws.set_env("TF_VAR_current_password", by_hand);
    let plan = ws.plan_json(&[]);
    assert_eq!(planned_actions(&plan, addr), vec!["update"]);
    assert!(
        !plan.to_string().contains(by_hand),
        "the plan holds no seed"
    );
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();

    assert_one_rotation_recorded(&emu, "svc-fleet");
    assert_rotated_every_90_days(&emu, &ws, addr, "svc-fleet");
    let user = emu.user("svc-fleet");
    assert_eq!(user.resets, 1, "one reset since the out-of-band change");
    assert_eq!(
        user.failed_logins, 0,
        "the re-seed logged in with the new seed"
    );
    assert_eq!(ws.resource(addr)["current_password_wo_version"], 3);
    let state = ws.state_file();
    assert!(!state.contains(by_hand) && !state.contains(SEED));
}

const ALT_ADDR: &str = "thingspace_alternating_password_rotation.example";
const ALT_USERS: [&str; 2] = ["svc-api-blue", "svc-api-green"];

/// A workspace with the provider and alternating resource examples, both users at [`SEED`] and the seeds in
/// `TF_VAR_current_passwords` as the example says to pass them.
fn alternating_workspace(emu: &Emulator) -> Workspace {
    emu.add_user(ALT_USERS[0], SEED);
    let mut ws = workspace_with(
        emu,
        ALT_USERS[1],
        &[
            ("provider.tf", "provider/provider.tf"),
            (
                "resource.tf",
                "resources/thingspace_alternating_password_rotation/resource.tf",
            ),
        ],
    );
    ws.set_env(
        "TF_VAR_current_passwords",
        &format!(
            r#"{{"{}":"{SEED}","{}":"{SEED}"}}"#,
            ALT_USERS[0], ALT_USERS[1]
        ),
    );
    ws
}

/// Asserts both users were reset once, in order, and the state holds ThingSpace's passwords in their roles.
fn assert_alternating_created(emu: &Emulator, ws: &Workspace) {
    let resets: Vec<Option<String>> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path == RESET_PATH)
        .map(|r| r.username)
        .collect();
    assert_eq!(
        resets,
        ALT_USERS.map(|u| Some(u.to_owned())).to_vec(),
        "usernames[0], then usernames[1]"
    );
    let r = ws.resource(ALT_ADDR);
    assert_eq!(str_of(&r, "active_username"), ALT_USERS[1]);
    assert_eq!(str_of(&r, "standby_username"), ALT_USERS[0]);
    assert_eq!(
        str_of(&r, "active_password"),
        emu.user(ALT_USERS[1]).password
    );
    assert_eq!(
        str_of(&r, "standby_password"),
        emu.user(ALT_USERS[0]).password
    );
    assert_eq!(
        parse_time(str_of(&r, "rotate_after")) - parse_time(str_of(&r, "rotated_at")),
        time::Duration::days(45),
        "rotation_period = \"45d\""
    );
    assert!(
        !ws.state_file().contains(SEED),
        "the write-only seeds are not stored"
    );
}

#[test]
fn alternating_resource_example_validates_and_creates_both_users() {
    let emu = Emulator::start();
    let ws = alternating_workspace(&emu);
    validate(&ws);
    ws.apply();
    assert_alternating_created(&emu, &ws);
    emu.clear_requests();
    assert_eq!(ws.plan(&["-detailed-exitcode"]).code, 0, "nothing due");
    assert!(emu.requests().is_empty(), "plan calls no API");
}

#[test]
fn alternating_import_sh_imports_without_an_api_call_and_the_next_apply_takes_over() {
    let emu = Emulator::start();
    let ws = alternating_workspace(&emu);
    let script = example("resources/thingspace_alternating_password_rotation/import.sh");
    let commands: Vec<Vec<&str>> = script
        .lines()
        .filter(|l| l.starts_with("terraform "))
        .map(|l| l.split_whitespace().skip(1).collect())
        .collect();
    assert_eq!(commands.len(), 1, "one terraform command in import.sh");
    ws.tf(&commands[0]).assert_success();
    assert!(emu.requests().is_empty(), "import calls no API");
    let r = ws.resource(ALT_ADDR);
    assert_eq!(str_of(&r, "id"), "svc-api-blue,svc-api-green");
    assert!(r["active_password"].is_null(), "import stores no password");
    ws.apply();
    assert_alternating_created(&emu, &ws);
}
