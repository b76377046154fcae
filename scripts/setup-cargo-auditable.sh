#!/usr/bin/env bash
# Installs the cargo-auditable that builds release binaries (`cargo auditable build`), which embeds the binary's
# dependency list (crate names, versions, sources, in a `.dep-v0` section) so `cargo audit bin`, Trivy, Syft or Grype
# can scan the file that is deployed. No prebuilt release is installable from the registries this project uses
# (PyPI has none), so it is compiled once with `cargo install --locked` into the git-ignored .venvs/cargo-auditable
# (about 15 s on 2 cores) and reused while its version stays the same.
#
# Usage: scripts/setup-cargo-auditable.sh
# On success the last stdout line is the directory holding the cargo-auditable binary (put it first on PATH).
set -euo pipefail

version=0.7.7
repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
root=$repo/.venvs/cargo-auditable
bin=$root/bin/cargo-auditable

# `cargo install --list` names what is installed under the root, with its version.
if [[ ! -x $bin ]] || ! cargo install --list --root "$root" | grep -qxF "cargo-auditable v$version:"; then
    cargo install --quiet --locked --force --version "$version" --root "$root" cargo-auditable >&2
fi
echo "setup-cargo-auditable: cargo-auditable $version" >&2
echo "$root/bin"
