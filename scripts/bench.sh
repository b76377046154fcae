#!/usr/bin/env bash
# The end-to-end benchmark (issues 6 and 10): builds the release binaries, then runs benches/e2e against a real
# Terraform and the ThingSpace emulator. It prints the results with the budgets the provider controls (PASS/FAIL):
# provider CPU per planned instance <= 0.1 ms, plan cost per extra instance <= 2.0x terraform_data's, handshake < 5 ms,
# RSS after the handshake < 10 MiB, one token request per run and three requests per rotation. When a local
# filesystem mirror holds hashicorp/aws (TS_BENCH_PLUGIN_MIRROR, default /opt/tf-plugins), it also plans the same
# numbers of creates with it beside ours and prints the peer row (fixed and per-instance cost); without one the row
# says so and nothing fails. It rewrites the generated block of BENCHMARKS.md and draws benchmarks/plan-time.svg.
# About 8 minutes on 2 cores after the release build (which takes several: fat LTO); the machine should be quiet.
#
# Usage: scripts/bench.sh [--sizes 10,100,1000] [--reps 7] [--handshakes 30] [--no-write] [--out FILE] [--chart FILE]
# Exit status: 0 when every budget passed; non-zero when one was missed (the driver exits 1, which cargo reports as
# "bench failed") or the run itself failed.
# The criterion micro-benchmarks are separate: cargo bench --bench codec --bench plan_decision
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-terraform.sh >/dev/null
echo "== release build" >&2
cargo build --release --workspace --bins
export TS_PROVIDER_BIN="$PWD/target/release/terraform-provider-thingspace"
export TS_EMULATOR_BIN="$PWD/target/release/thingspace-emulator"
# The driver itself is not what is measured: build it with the dev profile, which is quick and shares the test
# build's artifacts, instead of the bench profile's fat LTO.
echo "== end-to-end benchmark" >&2
exec cargo bench --profile dev --bench e2e -- --e2e "$@"
