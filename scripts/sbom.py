#!/usr/bin/env python3
"""Writes a CycloneDX 1.6 SBOM (JSON) of the provider binary's dependency tree, for scripts/release.sh.

Usage: scripts/sbom.py --out FILE [--target TRIPLE] [--binary PATH]
  --out FILE       where to write the SBOM
  --target TRIPLE  the Rust target the binary is built for (default: the host); platform-specific crates follow it
  --binary PATH    the released binary: its SHA-256 goes into the SBOM's metadata, tying the SBOM to that file

The components are the crates the provider binary is built from: the normal (not build, not dev) dependencies of the
terraform-provider-thingspace package, for the target, with the features a release build resolves. They come from
`cargo tree --edges normal`, not from `cargo metadata`, whose resolve graph unifies the features of dev-dependencies
and of every workspace member and so lists crates the binary does not contain. Versions and SHA-256 checksums come
from Cargo.lock (--locked: the lock file is what is released). The output is reproducible: no timestamp unless
SOURCE_DATE_EPOCH is set, and a serial number derived from the lock file and the binary.

Needs only cargo and python3's standard library.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

PACKAGE = "terraform-provider-thingspace"
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def fail(message):
    print(f"sbom: {message}", file=sys.stderr)
    sys.exit(1)


def cargo(repo, *args):
    try:
        out = subprocess.run(["cargo", *args], cwd=repo, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        fail("cargo is not on PATH")
    except subprocess.CalledProcessError as e:
        fail(f"cargo {' '.join(args)} failed:\n{e.stderr}")
    return out.stdout


def host_triple(repo):
    out = subprocess.run(["rustc", "-vV"], cwd=repo, check=True, capture_output=True, text=True).stdout
    return re.search(r"^host: (\S+)$", out, re.M).group(1)


def lock_entries(path):
    """(name, version) -> {"source", "checksum"} for every [[package]] of a Cargo.lock."""
    entries, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line == "[[package]]":
                current = {}
                continue
            m = re.fullmatch(r'(name|version|source|checksum) = "([^"]*)"', line)
            if current is not None and m:
                current[m.group(1)] = m.group(2)
                if "name" in current and "version" in current:
                    entries[(current["name"], current["version"])] = current
    return entries


def dependency_tree(repo, target):
    """The crates of the binary as {(name, version): license} and the edges between them, root first."""
    # One line per dependency edge: `<depth><name> v<version>[ (<path or registry>)]|<license>`. A crate seen
    # before is marked `(*)` and its subtree not repeated, which is all an edge list needs.
    out = cargo(repo, "tree", "--locked", "--package", PACKAGE, "--edges", "normal", "--target", target,
                "--prefix", "depth", "--charset", "ascii", "--format", "{p}|{l}")
    crates, edges, stack, root = {}, set(), [], None
    for line in out.splitlines():
        m = re.fullmatch(r"(\d+)(\S+) v(\S+)(?: \((?!proc-macro\))([^)]*)\))?(?: \(proc-macro\))?\|(.*?)(?: \(\*\))?",
                         line)
        if not m:
            fail(f"unexpected line from cargo tree: {line!r}")
        depth, name, version, where, license_ = int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5)
        # cargo tree names the source only when it is not crates.io: a path (a workspace crate), another registry
        # or a git repository. deny.toml refuses the last two; a path crate is listed without a checksum.
        if where and not where.startswith("/"):
            fail(f"{name} {version} comes from {where}, not crates.io")
        key = (name, version)
        del stack[depth:]
        if depth == 0:
            root = key
        else:
            edges.add((stack[-1], key))
            crates.setdefault(key, " ".join(license_.replace("/", " OR ").split()))
        stack.append(key)
    if root is None:
        fail("cargo tree printed no package")
    return root, crates, edges


def purl(name, version):
    return f"pkg:cargo/{name}@{version}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--target")
    parser.add_argument("--binary")
    args = parser.parse_args()

    repo = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    target = args.target or host_triple(repo)
    lock_path = os.path.join(repo, "Cargo.lock")
    lock = lock_entries(lock_path)
    root, crates, edges = dependency_tree(repo, target)

    components = []
    for name, version in sorted(crates):
        entry = lock.get((name, version))
        if entry is None:
            fail(f"{name} {version} is in the dependency tree but not in Cargo.lock")
        component = {
            "type": "library",
            "bom-ref": purl(name, version),
            "name": name,
            "version": version,
            "purl": purl(name, version),
            "scope": "required",
        }
        if "source" in entry:
            if entry["source"] != CRATES_IO or not entry.get("checksum"):
                fail(f"{name} {version} is not a crates.io package with a checksum in Cargo.lock")
            component["hashes"] = [{"alg": "SHA-256", "content": entry["checksum"]}]
        if crates[(name, version)]:
            component["licenses"] = [{"expression": crates[(name, version)]}]
        components.append(component)

    root_ref = purl(*root)
    app = {"type": "application", "bom-ref": root_ref, "name": root[0], "version": root[1], "purl": root_ref,
           "licenses": [{"expression": "MPL-2.0"}]}
    with open(lock_path, "rb") as f:
        seed = hashlib.sha256(f.read())
    if args.binary:
        with open(args.binary, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        app["hashes"] = [{"alg": "SHA-256", "content": digest}]
        seed.update(digest.encode())
    seed.update(target.encode())

    metadata = {
        "tools": {"components": [{"type": "application", "name": "scripts/sbom.py", "group": PACKAGE}]},
        "component": app,
        "properties": [{"name": "cargo:target", "value": target}],
    }
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        stamp = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        metadata = {"timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), **metadata}

    depends = {}
    for parent, child in edges:
        depends.setdefault(parent, set()).add(child)
    dependencies = [
        {"ref": purl(*key), "dependsOn": sorted(purl(*c) for c in depends.get(key, ()))}
        for key in [root, *sorted(crates)]
    ]

    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": uuid.uuid5(uuid.NAMESPACE_URL, f"{root_ref}#{seed.hexdigest()}").urn,
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": dependencies,
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(bom, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"sbom: {len(components)} crates for {target} in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
