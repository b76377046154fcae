#!/usr/bin/env python3
"""Reads the dependency list `cargo auditable build` embeds in an ELF binary (the zlib-compressed JSON of its
`.dep-v0` section), as `cargo audit bin`, Trivy, Syft or Grype read it:

    check-auditable.py BINARY CARGO_LOCK [CRATE ...]

Prints the crates the binary carries (`name version`, one per line; the binary's own package and build-time
dependencies left out). Exits 1 when the binary has no `.dep-v0` section (not built with cargo auditable), when an
embedded crate is not in CARGO_LOCK at that version, or when a CRATE named on the command line is not embedded.
Only the Python standard library.
"""

import json
import struct
import sys
import zlib


def section(path, wanted):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"{path}: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(i):
        base = shoff + i * shentsize
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, base)
        return name, offset, size

    _, str_off, _ = header(shstrndx)
    for i in range(shnum):
        name, offset, size = header(i)
        end = data.index(b"\0", str_off + name)
        if data[str_off + name:end].decode() == wanted:
            return data[offset:offset + size]
    return None


def lock_versions(path):
    """(name, version) of every package in a Cargo.lock (the standard library has no TOML writer, but reads it)."""
    import tomllib

    with open(path, "rb") as f:
        lock = tomllib.load(f)
    return {(p["name"], p["version"]) for p in lock.get("package", [])}


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    binary, lock_path, expect = args[0], args[1], args[2:]
    raw = section(binary, ".dep-v0")
    if raw is None:
        print(f"{binary}: no .dep-v0 section: not built with `cargo auditable build`", file=sys.stderr)
        return 1
    info = json.loads(zlib.decompress(raw))
    carried = {
        (p["name"], p["version"])
        for p in info["packages"]
        if not p.get("root") and p.get("kind", "runtime") == "runtime"
    }
    for name, version in sorted(carried):
        print(f"{name} {version}")
    locked = lock_versions(lock_path)
    failed = 0
    for name, version in sorted(carried - locked):
        print(f"auditable: {name} {version} is embedded but not in {lock_path}", file=sys.stderr)
        failed = 1
    names = {n for n, _ in carried}
    for name in expect:
        if name not in names:
            print(f"auditable: {name} is not embedded", file=sys.stderr)
            failed = 1
    print(f"auditable: {len(carried)} crates embedded, each at its Cargo.lock version", file=sys.stderr)
    return failed


if __name__ == "__main__":
    sys.exit(main())
