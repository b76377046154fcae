//! Tests for what users copy and read: every example under `examples/` is `terraform fmt`-clean, every example that
//! needs only this provider validates and applies against the emulator exactly as written, `import.sh` imports, and
//! `docs/` is what `scripts/gen-docs.py` generates from the current schema and examples.

use crate::common::{
    Emulator, LOGIN_PATH, LOGOUT_PATH, RESET_PATH, TOKEN_PATH, Terraform, Workspace,
    assert_no_api_calls, parse_time, planned_actions, provider_bin, repo_root, str_of,
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
/// Pattern directories applied with the real provider they also need, from a filesystem mirror, by their own test
/// module (`secret_store`: hashicorp/aws against moto).
const APPLIED_WITH_ANOTHER_PROVIDER: &[&str] =
    &["app-accounts", "per-department", "secret-store-aws"];
/// Pattern directories that need another provider which cannot be installed or served here (Vault, time), or whose
/// AWS half is the same as `secret-store-aws`'s: fmt-checked only.
const FMT_ONLY_PATTERNS: &[&str] = &[
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
    // The rotation, then its verification (verify_new_password, on by default): a log-in and a log-out with the
    // new password.
    let want: Vec<(String, Option<u16>)> = [
        TOKEN_PATH,
        LOGIN_PATH,
        RESET_PATH,
        LOGOUT_PATH,
        LOGIN_PATH,
        LOGOUT_PATH,
    ]
    .iter()
    .map(|p| ((*p).to_owned(), Some(200)))
    .collect();
    assert_eq!(calls, want, "one rotation for {username}");
}

/// A request path as a `&'static str`, to compare a list of them with the path constants.
fn leak(path: &str) -> &'static str {
    Box::leak(path.to_owned().into_boxed_str())
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
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<&str> = APPLIED_PATTERNS
        .iter()
        .chain(APPLIED_WITH_ANOTHER_PROVIDER)
        .chain(FMT_ONLY_PATTERNS)
        .copied()
        .collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "each pattern must be applied by a test or listed as needing another provider"
    );
    for name in FMT_ONLY_PATTERNS
        .iter()
        .chain(APPLIED_WITH_ANOTHER_PROVIDER)
    {
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
            "data-sources/connection.md",
            "guides/ci.md",
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
        &[(
            "resource.tf",
            "resources/thingspace_password_rotation/resource.tf",
        )],
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
        &[(
            "resource.tf",
            "resources/thingspace_password_rotation/resource.tf",
        )],
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

/// `import-by-identity.tf` beside the resource example, as written (Terraform 1.12 and later; the harness runs
/// 1.15.5): the plan imports by identity without an API call, the apply takes the password under management, and
/// the state records the identity.
#[test]
fn import_by_identity_example_imports_and_the_next_apply_takes_over() {
    let emu = Emulator::start();
    let mut ws = workspace_with(
        &emu,
        "svc-provisioning",
        &[(
            "import.tf",
            "resources/thingspace_password_rotation/import-by-identity.tf",
        )],
    );
    ws.set_env("TF_VAR_current_password", SEED);
    let addr = "thingspace_password_rotation.example";
    let plan = ws.plan_json(&[]);
    assert!(emu.requests().is_empty(), "an import plan calls no API");
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == addr))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        change["change"]["importing"]["identity"]["username"], "svc-provisioning",
        "{change:#}"
    );
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_one_rotation_recorded(&emu, "svc-provisioning");
    let state: serde_json::Value = serde_json::from_str(&ws.state_file()).unwrap();
    assert_eq!(
        state["resources"][0]["instances"][0]["identity"]["username"], "svc-provisioning",
        "{state:#}"
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

    // The plan's connection check (a token, by the plan's provider process), then one rotation.
    let calls: Vec<&str> = emu.requests().iter().map(|r| leak(&r.path)).collect();
    assert_eq!(
        calls,
        [
            TOKEN_PATH,
            TOKEN_PATH,
            LOGIN_PATH,
            RESET_PATH,
            LOGOUT_PATH,
            LOGIN_PATH,
            LOGOUT_PATH
        ]
    );
    let addr = "thingspace_password_rotation.billing";
    // 83 days between rotations, so a daily run keeps every password under the 90-day maximum.
    let r = ws.resource(addr);
    let user = emu.user("svc-billing");
    assert_eq!(str_of(&r, "password"), user.password);
    assert_eq!((user.resets, user.failed_logins), (1, 0));
    let rotated = parse_time(str_of(&r, "rotated_at"));
    assert_eq!(
        parse_time(str_of(&r, "rotate_after")) - rotated,
        time::Duration::days(83)
    );
    assert_eq!(
        parse_time(str_of(&r, "password_age_deadline")) - rotated,
        NINETY_DAYS
    );
    let out = ws.tf(&["output", "-raw", "next_rotation_after"]);
    out.assert_success();
    assert_eq!(out.stdout, str_of(&ws.resource(addr), "rotate_after"));
    let out = ws.tf(&["output", "-raw", "password_age_deadline"]);
    out.assert_success();
    assert_eq!(
        out.stdout,
        str_of(&ws.resource(addr), "password_age_deadline")
    );
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

/// Every file under `dir` (recursively) whose name ends with one of `suffixes`.
fn files_under(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    read_tree(dir)
        .into_iter()
        .map(|(rel, _)| dir.join(rel))
        .filter(|p| suffixes.iter().any(|s| p.to_string_lossy().ends_with(s)))
        .collect()
}

/// The `source = "verizon/thingspace"` lines of `text` whose next line does not pin `version = "~> 0.1.0"`.
fn unpinned_sources(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("source") && t.ends_with("\"verizon/thingspace\"")
        })
        .filter(|(i, _)| {
            let next: String = lines
                .get(i + 1)
                .map(|l| l.split_whitespace().collect())
                .unwrap_or_default();
            next != "version=\"~>0.1.0\""
        })
        .map(|(i, l)| format!("line {}: {}", i + 1, l.trim()))
        .collect()
}

#[test]
fn every_example_and_doc_pins_the_provider_version() {
    let root = repo_root();
    let mut files = files_under(&root.join("examples"), &[".tf"]);
    files.extend(files_under(&root.join("templates"), &[".tmpl"]));
    files.extend(files_under(&root.join("docs"), &[".md"]));
    files.push(root.join("README.md"));
    let mut pinned = 0;
    let mut unpinned = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        pinned += text.matches("version = \"~> 0.1.0\"").count();
        for line in unpinned_sources(&text) {
            unpinned.push(format!("{}: {line}", file.display()));
        }
    }
    assert!(
        unpinned.is_empty(),
        "pin version = \"~> 0.1.0\" next to each source (the provider is not in a public registry):\n{}",
        unpinned.join("\n")
    );
    assert!(pinned >= 8, "the examples pin the version ({pinned} found)");
    // The check itself: a block without the pin, or with the looser `~> 0.1`, is reported.
    assert_eq!(
        unpinned_sources("    thingspace = {\n      source = \"verizon/thingspace\"\n    }\n")
            .len(),
        1
    );
    assert_eq!(
        unpinned_sources("      source  = \"verizon/thingspace\"\n      version = \"~> 0.1\"\n")
            .len(),
        1
    );
}

/// Every file under examples/resources/ and examples/data-sources/ (and the provider example) is a configuration of
/// its own: copied alone into an empty directory, `terraform init` finds our provider (not hashicorp/thingspace)
/// and `terraform validate` passes. Each states the oldest Terraform it needs in `required_version`.
#[test]
fn each_resource_and_data_source_example_validates_on_its_own() {
    let root = repo_root();
    let mut files = files_under(&root.join("examples/resources"), &[".tf"]);
    files.extend(files_under(&root.join("examples/data-sources"), &[".tf"]));
    files.push(root.join("examples/provider/provider.tf"));
    assert!(files.len() >= 6, "{files:?}");
    let emu = Emulator::start();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains("required_version = \">= 1."),
            "{} states no minimum Terraform version",
            file.display()
        );
        let ws = Workspace::new(&emu);
        ws.write("main.tf", &text);
        let init = ws.tf(&["init", "-input=false"]);
        assert!(init.success(), "{}: init failed:\n{init}", file.display());
        assert!(!init.combined().contains("hashicorp/thingspace"), "{init}");
        let out = ws.tf(&["validate"]);
        assert!(
            out.success() && out.stdout.contains("The configuration is valid"),
            "{} does not validate on its own:\n{out}",
            file.display()
        );
    }
    assert_no_api_calls(&emu, "init and validate");
}

/// The fenced blocks of a Markdown page as (language, body).
fn fenced_blocks(page: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in page.lines() {
        let t = line.trim_start();
        match (&mut current, t.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.to_owned(), Vec::new())),
            (Some(_), Some("")) => {
                let (lang, body) = current.take().unwrap();
                blocks.push((lang, body.join("\n") + "\n"));
            }
            (Some((_, body)), _) => body.push(line),
            (None, None) => {}
        }
    }
    blocks
}

/// The one block of `lang` on `page` that contains `needle`.
fn block_with(page: &str, lang: &str, needle: &str) -> String {
    let found: Vec<String> = fenced_blocks(page)
        .into_iter()
        .filter(|(l, b)| l == lang && b.contains(needle))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(found.len(), 1, "one ```{lang} block with {needle:?}");
    found[0].clone()
}

#[test]
fn installation_guide_filesystem_mirror_and_lock_steps_work_as_written() {
    let guide = std::fs::read_to_string(repo_root().join("docs/guides/installation.md")).unwrap();
    let emu = Emulator::start();
    emu.add_user("svc-provisioning", SEED);
    let mut ws = Workspace::new(&emu);

    // The mirror directory in the packed layout the guide shows, holding the release zip.
    let mirror = ws.root().join("mirror");
    let guide_path = "/opt/terraform/providers";
    let layout = block_with(&guide, "text", "registry.terraform.io/verizon/thingspace/");
    assert!(layout.starts_with(&format!("{guide_path}/")), "{layout}");
    let slot = mirror.join("registry.terraform.io/verizon/thingspace");
    std::fs::create_dir_all(&slot).unwrap();
    let pkg = crate::release::package();
    assert!(
        layout.contains(
            &pkg.zip_name()
                .replace(&crate::release::platform(), "linux_amd64")
        )
    );
    std::fs::copy(&pkg.zip, slot.join(pkg.zip_name())).unwrap();

    // The guide's CLI configuration, with the mirror's path.
    let cli = block_with(&guide, "hcl", "filesystem_mirror");
    ws.write_cli_config(&cli.replace(guide_path, &mirror.display().to_string()));
    // The guide's network mirror configuration is the one the CI examples ship.
    let net = block_with(&guide, "hcl", "network_mirror");
    let tfrc = example("ci/terraform.tfrc");
    assert!(
        tfrc.ends_with(&net),
        "examples/ci/terraform.tfrc and the guide differ:\n{tfrc}\n{net}"
    );

    // The guide's pinned required_providers is the resource example's; the example is a whole configuration.
    let pin = block_with(&guide, "terraform", "required_providers");
    let resource = example("resources/thingspace_password_rotation/resource.tf");
    assert!(
        pin.contains("version = \"~> 0.1.0\"") && resource.contains("version = \"~> 0.1.0\""),
        "{pin}"
    );
    ws.write("resource.tf", &resource);
    ws.set_env("TF_VAR_current_password", SEED);
    // Another provider in the configuration, as the secret-store patterns have: the real hashicorp/aws when the
    // machine's mirror holds it, locked from there (the guide: lock each other provider from its own source).
    let aws_mirror = std::path::Path::new("/opt/tf-plugins");
    let with_aws = aws_mirror
        .join("registry.terraform.io/hashicorp/aws")
        .is_dir();
    if with_aws {
        ws.write(
            "modules/store/main.tf",
            "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"~> 5.100\"\n    }\n  }\n}\n",
        );
        ws.write(
            "store.tf",
            "module \"store\" {\n  source = \"./modules/store\"\n}\n",
        );
        // Modules are installed before providers are locked (`terraform get` installs modules only).
        ws.tf(&["get"]).assert_success();
    } else {
        eprintln!(
            "SKIPPED: hashicorp/aws is not in /opt/tf-plugins; the lock step runs with our provider alone"
        );
    }

    // The guide's lock command: every platform listed; run here for the one platform whose zip the mirror holds.
    let lock = block_with(&guide, "shell", "terraform providers lock");
    let words: Vec<String> = lock
        .replace("\\\n", " ")
        .lines()
        .find(|l| l.contains("providers lock"))
        .unwrap()
        .split_whitespace()
        .map(|w| w.replace(guide_path, &mirror.display().to_string()))
        .collect();
    let platforms: Vec<&str> = words
        .iter()
        .filter_map(|w| w.strip_prefix("-platform="))
        .collect();
    assert_eq!(
        platforms,
        [
            "linux_amd64",
            "linux_arm64",
            "darwin_amd64",
            "darwin_arm64",
            "windows_amd64"
        ]
    );
    let this = format!("-platform={}", crate::release::platform());
    let args: Vec<&str> = words[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with("-platform=") || *w == this)
        .collect();
    assert_eq!(
        args.last(),
        Some(&"verizon/thingspace"),
        "the guide's lock names our provider"
    );
    ws.tf(&args).assert_success();
    assert!(
        ws.read(".terraform.lock.hcl")
            .contains("version     = \"0.1.0\"")
    );
    if with_aws {
        // The other provider from its own source, into the same lock file, with a CLI configuration that can also
        // install it from there.
        let ours = mirror.display().to_string();
        ws.write_cli_config(&format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{ours}\"\n    include = [\"registry.terraform.io/verizon/thingspace\"]\n  }}\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
            aws_mirror.display()
        ));
        let fs = format!("-fs-mirror={}", aws_mirror.display());
        ws.tf(&["providers", "lock", &fs, &this, "hashicorp/aws"])
            .assert_success();
        let lock = ws.read(".terraform.lock.hcl");
        assert!(
            lock.contains("hashicorp/aws") && lock.contains("verizon/thingspace"),
            "{lock}"
        );
    }

    // What CI then runs: an init that may not change the lock file, and a rotation with the installed binary.
    let out = ws.tf(&["init", "-input=false", "-lockfile=readonly"]);
    out.assert_success();
    assert!(
        out.stdout.contains("Installed verizon/thingspace v0.1.0"),
        "{out}"
    );
    ws.apply();
    assert_one_rotation_recorded(&emu, "svc-provisioning");
}

/// The bullets of the README's guarantee list, each as (its bold title, the `module::test` names after "Tests:").
fn readme_guarantees(readme: &str) -> Vec<(String, Vec<String>)> {
    let start = readme
        .find("What it guarantees")
        .expect("the README lists its guarantees");
    let end = readme[start..]
        .find("What no provider can protect")
        .map_or(readme.len(), |i| start + i);
    readme[start..end]
        .split("\n- **")
        .skip(1)
        .map(|bullet| {
            let title = bullet.split("**").next().unwrap_or_default().to_owned();
            let tests = bullet
                .split_once("Tests:")
                .map(|(_, rest)| {
                    rest.split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            (title, tests)
        })
        .collect()
}

/// Why `module::name` is not a test of the acceptance crate, or `None` when it is one.
fn not_a_test(name: &str) -> Option<String> {
    let Some((module, test)) = name.split_once("::") else {
        return Some(format!("{name} is not module::test"));
    };
    let path = repo_root()
        .join("tests/acceptance")
        .join(format!("{module}.rs"));
    let Ok(source) = std::fs::read_to_string(&path) else {
        return Some(format!("{name}: no module {}", path.display()));
    };
    let marked = source
        .match_indices(&format!("\nfn {test}("))
        .any(|(i, _)| source[..i].trim_end().ends_with("#[test]"));
    (!marked).then(|| format!("{name}: no #[test] fn {test} in {}", path.display()))
}

/// Why a backticked name in ARCHITECTURE.md is wrong: a path that does not exist, or `path::test` naming no
/// function in that file. `None` for a good one, and for a name without a `/` (a type, an attribute, a bare file name).
fn architecture_name_problem(name: &str) -> Option<String> {
    let (path, function) = match name.split_once("::") {
        Some((path, function)) if path.contains('/') => (path, Some(function)),
        _ => (name, None),
    };
    // A bare file name (`plan.rs`) stands for the file of that name in the folder the sentence is about.
    let starts_like_a_path = path.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.');
    if !path.contains('/') || path.contains(' ') || !starts_like_a_path {
        return None;
    }
    let full = repo_root().join(path);
    let Some(function) = function else {
        return (!full.exists()).then(|| format!("{path} does not exist"));
    };
    let Ok(source) = std::fs::read_to_string(&full) else {
        return Some(format!("{name}: no file {path}"));
    };
    (!source.contains(&format!("fn {function}(")))
        .then(|| format!("{name}: no fn {function} in {path}"))
}

#[test]
fn architecture_names_paths_that_exist() {
    let text = std::fs::read_to_string(repo_root().join("ARCHITECTURE.md")).unwrap();
    let names: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
    let problems: Vec<String> = names
        .iter()
        .filter_map(|n| architecture_name_problem(n))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // It names every folder of the code map and the tests of every invariant, and the check catches a wrong one.
    let checked = names.iter().filter(|n| n.contains('/')).count();
    assert!(checked > 40, "only {checked} paths checked");
    for folder in [
        "src/plugin/",
        "src/resources/",
        "src/thingspace/",
        "emulator/",
        "tests/acceptance/",
    ] {
        assert!(names.contains(&folder), "{folder}");
    }
    for id in ["I1:", "I2:", "I3:", "I4:", "I5:", "I6:"] {
        assert!(text.contains(&format!("| {id}")), "{id}");
    }
    assert!(architecture_name_problem("src/thingspace/retrying.rs").is_some());
    assert!(architecture_name_problem("src/thingspace/policy.rs::no_such_test").is_some());
    assert!(
        architecture_name_problem("src/thingspace/policy.rs::no_blind_retry_of_a_login_or_a_reset")
            .is_none()
    );
}

#[test]
fn readme_guarantees_name_tests_that_exist() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let guarantees = readme_guarantees(&readme);
    let titles: Vec<&str> = guarantees.iter().map(|(t, _)| t.as_str()).collect();
    for id in ["I1:", "I2:", "I3:", "I4:", "I5:", "I6:"] {
        assert!(
            titles.iter().any(|t| t.starts_with(id)),
            "{id} in {titles:?}"
        );
    }
    let mut problems = Vec::new();
    for (title, tests) in &guarantees {
        if tests.is_empty() {
            problems.push(format!(
                "{title:?} names no test (add \"Tests: `module::name`\")"
            ));
        }
        problems.extend(tests.iter().filter_map(|t| not_a_test(t)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check catches a renamed or made-up test.
    assert!(not_a_test("faults::no_such_test").is_some());
    assert!(not_a_test("nowhere::x").is_some());
    assert!(not_a_test("examples::readme_guarantees_name_tests_that_exist").is_none());

    // The numbers the README and the troubleshooting guide state are the code's.
    use thingspace_provider::provider::DEFAULT_REQUEST_TIMEOUT;
    use thingspace_provider::resources::username::USERNAME_MAX_CHARS;
    use thingspace_provider::thingspace::Policy;
    use thingspace_provider::thingspace::policy::MAX_RESETS;
    assert!(readme.contains(&format!(
        "`username` is 1 to {USERNAME_MAX_CHARS} printable"
    )));
    let timeout = DEFAULT_REQUEST_TIMEOUT.as_secs();
    assert!(readme.contains(&format!(
        "| `request_timeout` | | `{timeout}s` per HTTP request |"
    )));
    let guide =
        std::fs::read_to_string(repo_root().join("docs/guides/troubleshooting.md")).unwrap();
    let p = Policy::default();
    let secs = |d: std::time::Duration| d.as_secs_f64();
    for row in [
        format!("(`request_timeout`) | {timeout} s |"),
        format!(
            "the call's first send (the budget) | {} s |",
            secs(p.budget)
        ),
        format!("| at most {} / at most {MAX_RESETS} |", p.max_attempts),
        format!(
            "doubling from {} s, half of it random, capped | {}–{} s,",
            secs(p.base_delay),
            secs(p.base_delay) / 2.0,
            secs(p.base_delay)
        ),
        format!("then {}–{} s |", secs(p.max_delay) / 2.0, secs(p.max_delay)),
        format!("its value, at most {} s |", secs(p.max_retry_after)),
    ] {
        assert!(
            guide.contains(&row),
            "the troubleshooting guide lacks {row:?}"
        );
    }
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
        &[(
            "resource.tf",
            "resources/thingspace_alternating_password_rotation/resource.tf",
        )],
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

/// The alternating resource's `import-by-identity.tf`, as written: the plan imports the pair by identity without
/// an API call, the apply rotates both users, and the state records the identity.
#[test]
fn alternating_import_by_identity_example_imports_and_the_next_apply_takes_over() {
    let emu = Emulator::start();
    let ws = alternating_workspace(&emu);
    // The import example is a whole configuration of its own, in place of the resource example.
    std::fs::remove_file(ws.dir().join("resource.tf")).unwrap();
    ws.write(
        "import.tf",
        &example("resources/thingspace_alternating_password_rotation/import-by-identity.tf"),
    );
    let plan = ws.plan_json(&[]);
    assert!(emu.requests().is_empty(), "an import plan calls no API");
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == ALT_ADDR))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        change["change"]["importing"]["identity"]["usernames"],
        serde_json::json!(ALT_USERS),
        "{change:#}"
    );
    ws.tf(&["apply", "-input=false", "tfplan"]).assert_success();
    assert_alternating_created(&emu, &ws);
    let state: serde_json::Value = serde_json::from_str(&ws.state_file()).unwrap();
    assert_eq!(
        state["resources"][0]["instances"][0]["identity"]["usernames"],
        serde_json::json!(ALT_USERS),
        "{state:#}"
    );
}
