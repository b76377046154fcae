//! The CI-definition lint (`scripts/lint-ci.sh`): the repository's workflows, Dependabot config and CI examples lint
//! clean, and each check really catches the mistake it exists for, shown by planting one in a copy of the files.

use crate::common::repo_root;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Lint {
    success: bool,
    output: String,
}

fn lint(root: &Path) -> Lint {
    let out = Command::new(repo_root().join("scripts").join("lint-ci.sh"))
        .arg(root)
        .output()
        .expect("run scripts/lint-ci.sh");
    Lint {
        success: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The repository's own files, linted once per test process; it also installs the pinned tools before the
/// planted-mistake tests run them in parallel.
fn repository_lint() -> &'static Lint {
    static LINT: OnceLock<Lint> = OnceLock::new();
    LINT.get_or_init(|| lint(&repo_root()))
}

/// The files the lint reads, copied into a fresh directory laid out like the repository.
fn copy_of_ci_files(name: &str) -> PathBuf {
    assert!(repository_lint().success, "{}", repository_lint().output);
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ci_lint")
        .join(name);
    let _ = std::fs::remove_dir_all(&root);
    let src = repo_root();
    for file in [
        ".github/dependabot.yml",
        ".github/workflows/test.yml",
        ".github/workflows/release.yml",
        "examples/ci/github-actions.yml",
        "examples/ci/gitlab-ci.yml",
        "Cargo.toml",
        "Cargo.lock",
        "fuzz/Cargo.toml",
        "fuzz/Cargo.lock",
    ] {
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(file), &to).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    root
}

/// Replaces `from` (which must occur) with `to` in `file` under `root`.
fn plant(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Lints `root` and asserts that it fails and that every `expected` text is in the report.
fn assert_caught(root: &Path, expected: &[&str]) {
    let result = lint(root);
    assert!(
        !result.success,
        "the planted mistake passed the lint:\n{}",
        result.output
    );
    for e in expected {
        assert!(
            result.output.contains(e),
            "expected {e:?} in:\n{}",
            result.output
        );
    }
}

#[test]
fn repository_workflows_dependabot_and_ci_examples_lint_clean() {
    let result = repository_lint();
    assert!(result.success, "{}", result.output);
    for line in [
        "ci-lint: actionlint: no findings in 3 workflows",
        "no findings in .github/ and examples/ci/github-actions.yml",
        "examples/ci/gitlab-ci.yml: ok (jobs: apply, plan)",
        ".github/dependabot.yml: ok (ecosystems: cargo, github-actions, pip)",
    ] {
        assert!(
            result.output.contains(line),
            "{line:?} in:\n{}",
            result.output
        );
    }
}

#[test]
fn untrusted_input_in_a_run_script_is_caught_by_both_linters() {
    let root = copy_of_ci_files("template-injection");
    plant(
        &root,
        ".github/workflows/test.yml",
        "run: ./scripts/test.sh",
        "run: echo \"${{ github.event.pull_request.title }}\" && ./scripts/test.sh",
    );
    assert_caught(
        &root,
        &[
            "\"github.event.pull_request.title\" is potentially untrusted",
            "template-injection",
        ],
    );
}

#[test]
fn an_action_pinned_by_tag_is_caught() {
    let root = copy_of_ci_files("unpinned");
    plant(
        &root,
        ".github/workflows/release.yml",
        "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0",
        "actions/upload-artifact@v7",
    );
    assert_caught(&root, &["unpinned-uses"]);
}

#[test]
fn a_checkout_that_keeps_the_token_is_caught_in_the_example() {
    let root = copy_of_ci_files("artipacked");
    plant(
        &root,
        "examples/ci/github-actions.yml",
        "        with:\n          persist-credentials: false\n",
        "",
    );
    assert_caught(&root, &["artipacked", "examples/ci/github-actions.yml"]);
}

#[test]
fn a_shell_mistake_in_a_run_script_is_caught_by_shellcheck() {
    let root = copy_of_ci_files("shellcheck");
    // The inline suppression is what keeps this intended `sudo ... >file` from being reported.
    plant(
        &root,
        ".github/workflows/release.yml",
        "          # shellcheck disable=SC2024 # the files are meant to be written by this user, not by root\n",
        "",
    );
    assert_caught(&root, &["SC2024"]);
}

#[test]
fn a_gitlab_example_without_its_promised_jobs_or_entrypoint_is_caught() {
    let root = copy_of_ci_files("gitlab");
    plant(
        &root,
        "examples/ci/gitlab-ci.yml",
        "\napply:\n",
        "\ndeploy:\n",
    );
    plant(
        &root,
        "examples/ci/gitlab-ci.yml",
        "  stage: apply\n",
        "  stage: deploy\n",
    );
    plant(&root, "examples/ci/gitlab-ci.yml", "entrypoint: [\"\"]", "");
    assert_caught(
        &root,
        &[
            "no 'apply' job",
            "job 'plan': the image's terraform entrypoint must be cleared",
            "job 'deploy' is in stage 'deploy', which `stages` does not list",
        ],
    );
    plant(
        &root,
        "examples/ci/gitlab-ci.yml",
        "stages:\n",
        "stages: [\n",
    );
    assert_caught(&root, &["examples/ci/gitlab-ci.yml: while parsing"]);
}

#[test]
fn a_gitlab_apply_that_can_be_cancelled_or_ignores_the_lock_file_is_caught() {
    let root = copy_of_ci_files("gitlab-apply");
    plant(
        &root,
        "examples/ci/gitlab-ci.yml",
        "  interruptible: false\n",
        "  interruptible: true\n",
    );
    plant(
        &root,
        "examples/ci/gitlab-ci.yml",
        "terraform init -lockfile=readonly",
        "terraform init",
    );
    assert_caught(
        &root,
        &[
            "job 'apply' must not be interruptible",
            "job 'apply' must run terraform init -lockfile=readonly",
        ],
    );
}

#[test]
fn dependabot_config_missing_a_lock_file_or_with_an_unknown_key_is_caught() {
    let root = copy_of_ci_files("dependabot");
    plant(
        &root,
        ".github/dependabot.yml",
        "directories: [\"/\", \"/fuzz\"]",
        "directories: [\"/\"]",
    );
    plant(
        &root,
        ".github/dependabot.yml",
        "open-pull-requests-limit:",
        "open-pull-request-limit:",
    );
    assert_caught(
        &root,
        &[
            "cargo updates do not cover fuzz/Cargo.lock",
            "keys Dependabot does not know: ['open-pull-request-limit']",
        ],
    );
}
