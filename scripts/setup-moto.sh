#!/usr/bin/env bash
# Installs moto's server (a local AWS emulator from PyPI, pinned in scripts/moto-requirements.txt) into the
# git-ignored venv .venvs/moto, for the acceptance test that applies examples/patterns/secret-store-aws with the real
# hashicorp/aws provider (tests/acceptance/secret_store.rs). scripts/test.sh runs it; running it again is cheap: pip
# runs only when the requirements file changed since the last install.
#
# On success the last stdout line is the venv's python. A failed install exits non-zero; the test then prints a
# SKIPPED line saying so, which scripts/test.sh counts.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
venv=$repo/.venvs/moto
requirements=$repo/scripts/moto-requirements.txt
python=${PYTHON:-python3}

if [[ ! -x $venv/bin/python3 ]]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    rm -f "$stamp"
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$want" >"$stamp"
fi
# Prove the install: the server module and the client the test reads secrets with must import.
if ! "$venv/bin/python3" -c 'import moto.server, boto3' >&2; then
    echo "setup-moto: moto's server or boto3 does not import in $venv" >&2
    exit 1
fi
echo "setup-moto: $("$venv/bin/python3" -c 'import moto; print("moto", moto.__version__)') in $venv" >&2
echo "$venv/bin/python3"
