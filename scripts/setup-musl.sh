#!/usr/bin/env bash
# Prepares this machine to build the fully static Linux provider: the Rust musl target, and a C compiler for it,
# which ring and aws-lc-sys (under rustls) need for their C and assembly. Debian/Ubuntu's musl-tools provides that
# compiler (<arch>-linux-musl-gcc, found by the cc crate) for the machine's own architecture only, so the musl target
# built is the host's. Installs musl-tools with apt-get when it is missing (as root, or through passwordless sudo).
#
# Usage: scripts/setup-musl.sh [TRIPLE]   (default: <host arch>-unknown-linux-musl)
# On success the last stdout line is the target triple.
set -euo pipefail

if [[ $(uname -s) != Linux ]]; then
    echo "setup-musl: the static build is made on Linux (this is $(uname -s))" >&2
    exit 1
fi
target=${1:-$(uname -m)-unknown-linux-musl}
arch=${target%%-*}
if [[ $target != *-linux-musl || $arch != "$(uname -m)" ]]; then
    echo "setup-musl: '$target' is not this machine's musl target ($(uname -m)-unknown-linux-musl)" >&2
    exit 2
fi

if command -v rustup >/dev/null 2>&1; then
    rustup target add "$target" >&2
elif ! rustc --print target-libdir --target "$target" >/dev/null 2>&1; then
    echo "setup-musl: no rustup to add the $target target; install it with your Rust toolchain" >&2
    exit 1
fi

cc=$arch-linux-musl-gcc
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo -n "$@"; fi; }
if ! command -v "$cc" >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1 || { [[ $(id -u) != 0 ]] && ! sudo -n true 2>/dev/null; }; then
        echo "setup-musl: no $cc: install musl-tools (Debian/Ubuntu) or your distribution's musl-gcc" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    install=(apt-get install -y -q --no-install-recommends musl-tools)
    # A fresh image may have no package lists yet: update only when the install cannot find the package.
    as_root "${install[@]}" >&2 || { as_root apt-get update -q >&2 && as_root "${install[@]}" >&2; }
fi
echo "setup-musl: $target with $("$cc" --version | head -n 1)" >&2
echo "$target"
