#!/usr/bin/env bash
# Builds the provider's Terraform Registry release artifacts into dist/ (git-ignored), named the way the registry
# and goreleaser's provider conventions expect, so the same files can be uploaded to a GitHub release, served from a
# network mirror, or dropped into a filesystem_mirror:
#
#   terraform-provider-thingspace_<version>_<os>_<arch>.zip   holding terraform-provider-thingspace_v<version>
#   terraform-provider-thingspace_<version>_manifest.json     the repository's terraform-registry-manifest.json
#   terraform-provider-thingspace_<version>_SHA256SUMS        sha256sum lines for every zip there, their SBOMs and the manifest
#
# The version comes from Cargo.toml; <os>_<arch> uses Go's names (linux_amd64, darwin_arm64, ...), which is what
# Terraform looks for. The SHA256SUMS file is not GPG-signed here: signing needs the publisher's key and happens
# in the publishing pipeline (.github/workflows/release.yml: `gpg --detach-sign` into <...>_SHA256SUMS.sig).
# Packaging several platforms into one --out-dir (one run per --target) leaves one SHA256SUMS listing them all.
#
# Usage: scripts/release.sh [--binary PATH] [--target TRIPLE] [--out-dir DIR]
#   --binary PATH    package this already built provider binary instead of running `cargo auditable build --release`
#                    (scripts/test.sh builds the release binary once; the release test reuses it)
#   --target TRIPLE  build for a Rust target triple (default: the host) and name the zip after its <os>_<arch>;
#                    with --binary, only names the zip (the release workflow builds on each OS, packages here)
#   --out-dir DIR    write the artifacts here instead of <repo>/dist
# On success the last stdout line is the path of the zip.
#
# Needs only bash, cargo and python3's standard library: no `zip` CLI. scripts/sbom.py writes the CycloneDX SBOM,
# <prefix>_<os>_<arch>.sbom.cdx.json, of the binary's crates; SHA256SUMS covers it.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
name=terraform-provider-thingspace
binary=
target=
out_dir=$repo/dist

usage() { sed -n '15,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --binary) [[ $# -ge 2 ]] || usage; binary=$2; shift 2 ;;
        --target) [[ $# -ge 2 ]] || usage; target=$2; shift 2 ;;
        --out-dir) [[ $# -ge 2 ]] || usage; out_dir=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "release: unknown argument '$1'" >&2; usage ;;
    esac
done

# The [package] version, read with the standard library's TOML parser when there is one (3.11+), else the first
# `version = "..."` line of the [package] table.
version=$(python3 - "$repo/Cargo.toml" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
try:
    import tomllib
    print(tomllib.loads(text)["package"]["version"])
except ImportError:
    section = re.search(r"^\[package\]\s*$(.*?)(^\[|\Z)", text, re.M | re.S)
    print(re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M).group(1))
PY
)
if [[ ! $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
    echo "release: Cargo.toml version '$version' is not a semantic version" >&2
    exit 1
fi

# The platform: from --target, else rustc's host triple, else uname. Terraform names platforms like Go does.
triple=$target
if [[ -z $triple ]] && command -v rustc >/dev/null 2>&1; then
    triple=$(rustc -vV | sed -n 's/^host: //p')
fi
if [[ -n $triple ]]; then
    arch_part=${triple%%-*}
    case $triple in
        *-linux-*) os=linux ;;
        *-apple-darwin) os=darwin ;;
        *-windows-*) os=windows ;;
        *-freebsd) os=freebsd ;;
        *) echo "release: unsupported target '$triple'" >&2; exit 1 ;;
    esac
else
    arch_part=$(uname -m)
    os=$(uname -s | tr '[:upper:]' '[:lower:]')
fi
case $arch_part in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    i686|i586|i386) arch=386 ;;
    arm|armv7|armv6*) arch=arm ;;
    *) echo "release: unsupported architecture '$arch_part'" >&2; exit 1 ;;
esac
exe=
[[ $os == windows ]] && exe=.exe

if [[ -z $binary ]]; then
    # `cargo auditable build`: the binary carries its dependency list for scanners (scripts/setup-cargo-auditable.sh).
    PATH=$("$repo/scripts/setup-cargo-auditable.sh" | tail -n 1):$PATH
    build_args=(auditable build --release --locked --bin "$name")
    [[ -n $target ]] && build_args+=(--target "$target")
    echo "release: cargo ${build_args[*]}" >&2
    (cd "$repo" && cargo "${build_args[@]}" >&2)
    if [[ -n $target ]]; then
        binary=$repo/target/$target/release/$name$exe
    else
        binary=$repo/target/release/$name$exe
    fi
fi
if [[ ! -f $binary || ! -x $binary ]]; then
    echo "release: no executable provider binary at '$binary'" >&2
    exit 1
fi

# The registry manifest is the repository's file, as in HashiCorp's provider scaffolding: checked here so a broken
# edit fails the release rather than the registry's ingestion.
manifest_src=$repo/terraform-registry-manifest.json
if ! python3 - "$manifest_src" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    m = json.load(f)
ok = m.get("version") == 1 and isinstance(m.get("metadata", {}).get("protocol_versions"), list) \
    and m["metadata"]["protocol_versions"]
sys.exit(0 if ok else 1)
PY
then
    echo "release: $manifest_src must be JSON with \"version\": 1 and metadata.protocol_versions" >&2
    exit 1
fi

mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
prefix=${name}_${version}
zip_name=${prefix}_${os}_${arch}.zip
manifest_asset=${prefix}_manifest.json
sums=${prefix}_SHA256SUMS
python3 "$repo/scripts/sbom.py" --target "$triple" --binary "$binary" --out "$out_dir/${prefix}_${os}_${arch}.sbom.cdx.json"

# Zip, manifest and checksums in one python3 run. The zip entry gets a fixed timestamp and Unix mode 0755 so the
# archive is reproducible and the unpacked provider is executable (Terraform keeps the mode from the zip header).
python3 - "$binary" "$out_dir" "$zip_name" "${name}_v${version}${exe}" "$manifest_src" "$manifest_asset" "$sums" \
    <<'PY'
import hashlib, os, sys, zipfile
binary, out_dir, zip_name, entry_name, manifest_src, manifest_asset, sums = sys.argv[1:]

def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)

zip_path = os.path.join(out_dir, zip_name)
tmp_zip = zip_path + ".tmp"
info = zipfile.ZipInfo(entry_name, date_time=(1980, 1, 1, 0, 0, 0))
info.create_system = 3  # Unix, so external_attr carries the file mode
info.external_attr = (0o100755 & 0xFFFF) << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f:
    payload = f.read()
with zipfile.ZipFile(tmp_zip, "w") as z:
    z.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED)
os.replace(tmp_zip, zip_path)

with open(manifest_src, "rb") as f:
    write_atomically(os.path.join(out_dir, manifest_asset), f.read())

# One `<sha256>  <file>` line per release asset, sorted, as sha256sum writes and the registry reads them. Zips of
# other platforms already in out_dir (built earlier with --target) stay listed.
lines = []
prefix = zip_name.rsplit("_", 2)[0] + "_"
for entry in sorted(os.listdir(out_dir)):
    if entry.startswith(prefix) and (entry.endswith((".zip", ".sbom.cdx.json")) or entry == manifest_asset):
        with open(os.path.join(out_dir, entry), "rb") as f:
            lines.append(f"{hashlib.sha256(f.read()).hexdigest()}  {entry}\n")
write_atomically(os.path.join(out_dir, sums), "".join(lines).encode())
PY

# Check what was written with the standard tool a user would run on the downloaded files.
(cd "$out_dir" && sha256sum --quiet --check "$sums" >&2)
echo "release: $name $version for ${os}_${arch} in $out_dir" >&2
echo "$out_dir/$zip_name"
