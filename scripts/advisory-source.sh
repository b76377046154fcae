#!/usr/bin/env bash
# Says where the dependency check reads RustSec advisories from: the one rule scripts/deny.sh and the supply-chain
# test (tests/acceptance/supply_chain.rs) share. Prints one line:
#   snapshot DIR   an offline copy of the advisory database (a folder with crates/ and SNAPSHOT.md), in this order:
#                  $THINGSPACE_ADVISORY_SNAPSHOT; ../shared/advisory-db beside the repository; the same beside the
#                  main checkout of a git worktree
#   fetch          no snapshot: cargo-deny fetches the database itself, where the network allows
# A THINGSPACE_ADVISORY_SNAPSHOT that is not such a folder is an error (exit 1), not a silent fallback.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
is_snapshot() { [[ -d $1/crates && -f $1/SNAPSHOT.md ]]; }

if [[ -n ${THINGSPACE_ADVISORY_SNAPSHOT:-} ]]; then
    if ! is_snapshot "$THINGSPACE_ADVISORY_SNAPSHOT"; then
        echo "advisory-source: THINGSPACE_ADVISORY_SNAPSHOT=$THINGSPACE_ADVISORY_SNAPSHOT is not an advisory snapshot (a folder with crates/ and SNAPSHOT.md)" >&2
        exit 1
    fi
    echo "snapshot $(cd "$THINGSPACE_ADVISORY_SNAPSHOT" && pwd)"
    exit 0
fi
candidates=("$repo/../shared/advisory-db")
common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
[[ -n $common ]] && candidates+=("$(dirname "$common")/../shared/advisory-db")
for c in "${candidates[@]}"; do
    if is_snapshot "$c"; then
        echo "snapshot $(cd "$c" && pwd)"
        exit 0
    fi
done
echo fetch
