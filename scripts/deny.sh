#!/usr/bin/env bash
# The dependency check of the test command: cargo-deny with deny.toml (known advisories, licences, duplicate versions,
# sources) over the workspace's Cargo.lock and fuzz/Cargo.lock, against the offline RustSec snapshot in
# ../shared/advisory-db. Nothing is fetched from the advisory database: machines here cannot reach it.
#
# Usage: scripts/deny.sh [--no-install]
#   --no-install   fail instead of installing cargo-deny when the pinned version is missing
# Environment: THINGSPACE_ADVISORY_SNAPSHOT  the snapshot folder, instead of ../shared/advisory-db
#
# Prints one line per lock file when the check passes (details in target/deny/*.log) and the errors when it fails.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$repo"

# 0.20.2 builds with Rust >= 1.88 and reads the snapshot's advisories (CVSS 4.0 vectors included). The name of the
# database folder below is derived by this version from the RustSec URL in deny.toml (xxhash64 of the URL), so a
# version change must re-check it: cargo-deny then fails with "failed to get 'FETCH_HEAD' metadata".
deny_version=0.20.2
db_dir_name=advisory-db-3157b0e258782691

install=1
case ${1:-} in
    --no-install) install=0 ;;
    "") ;;
    *) echo "deny: unknown argument '$1'" >&2; exit 2 ;;
esac

# The snapshot sits beside the repository (CI clones main next to shared/). A git worktree elsewhere uses the one
# beside its main checkout.
candidates=()
if [[ -n ${THINGSPACE_ADVISORY_SNAPSHOT:-} ]]; then
    candidates+=("$THINGSPACE_ADVISORY_SNAPSHOT")
else
    candidates+=("$repo/../shared/advisory-db")
    common=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
    [[ -n $common ]] && candidates+=("$(dirname "$common")/../shared/advisory-db")
fi
snapshot=
for c in "${candidates[@]}"; do
    if [[ -d $c/crates && -f $c/SNAPSHOT.md ]]; then
        snapshot=$(cd "$c" && pwd)
        break
    fi
done
if [[ -z $snapshot ]]; then
    echo "deny: no RustSec advisory snapshot (a folder with crates/ and SNAPSHOT.md) at: ${candidates[*]}" >&2
    echo "deny: the check reads advisories only from that offline copy; put shared/advisory-db beside the repository" >&2
    exit 1
fi
snapshot_date=$(grep -oE '\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b' "$snapshot/SNAPSHOT.md" | head -n 1 || true)
if [[ -z $snapshot_date ]]; then
    echo "deny: $snapshot/SNAPSHOT.md names no date (YYYY-MM-DD) for the snapshot" >&2
    exit 1
fi

if [[ $(cargo deny --version 2>/dev/null || true) != "cargo-deny $deny_version" ]]; then
    if [[ $install == 0 ]]; then
        echo "deny: cargo-deny $deny_version is not installed (cargo install --locked cargo-deny --version $deny_version)" >&2
        exit 1
    fi
    mkdir -p target
    echo "deny: installing cargo-deny $deny_version, once per machine (about 10 minutes on 2 cores)"
    start=$SECONDS
    if ! cargo install --locked cargo-deny --version "$deny_version" >target/cargo-deny-install.log 2>&1; then
        tail -n 30 target/cargo-deny-install.log >&2
        echo "deny: cargo install cargo-deny failed; full log in target/cargo-deny-install.log" >&2
        exit 1
    fi
    echo "deny: installed cargo-deny $deny_version in $((SECONDS - start)) s"
fi

# cargo-deny opens <db-path>/<db_dir_name> as a git checkout: crates/ holds the advisories and the modification time
# of .git/FETCH_HEAD is the date of the last fetch, here the snapshot's date. The snapshot itself stays read-only
# (CI gets it without write bits); cargo-deny's lock file goes into target/.
dbs=$repo/target/advisory-dbs
mkdir -p "$dbs/$db_dir_name/.git"
rm -rf "$dbs/$db_dir_name/crates" # a link from an earlier run (rm removes the link, not what it points to)
ln -s "$snapshot/crates" "$dbs/$db_dir_name/crates"
touch -d "$snapshot_date" "$dbs/$db_dir_name/.git/FETCH_HEAD"
export THINGSPACE_ADVISORY_DBS=$dbs
age_days=$((($(date +%s) - $(date -d "$snapshot_date" +%s)) / 86400))
if ((age_days > 90)); then
    echo "deny: warning: the advisory snapshot is from $snapshot_date ($age_days days old); refresh shared/advisory-db"
fi

# Shows the error diagnostics of a cargo-deny log (and its own errors and result line), leaving out the warnings.
errors_only() {
    awk '
        /^(error|warning|note|help)(\[[^]]*\])?: / { show = ($1 ~ /^error/) }
        / \[(ERROR|WARN|INFO|DEBUG|TRACE)\] / { show = ($0 ~ /\[ERROR\]/) }
        /^(advisories|bans|licenses|sources) (ok|FAILED)/ { print; next }
        show { print }
    ' "$1"
}

mkdir -p target/deny
status=0
for manifest in Cargo.toml fuzz/Cargo.toml; do
    [[ -f $manifest ]] || continue
    name=$(basename "$(dirname "$repo/$manifest")")
    [[ $manifest == Cargo.toml ]] && name=workspace
    log=target/deny/$name.log
    start=$SECONDS
    # cargo-deny runs cargo metadata offline (--offline is also what stops it fetching advisories), so the crates of
    # every platform in the lock file are downloaded first; the lock file pins their checksums.
    if ! cargo fetch --locked --quiet --manifest-path "$manifest" >"$log" 2>&1; then
        cat "$log" >&2
        echo "deny: cargo fetch failed for $manifest" >&2
        status=1
        continue
    fi
    if cargo deny --offline --locked --color never --manifest-path "$manifest" --workspace check >"$log" 2>&1; then
        result=$(grep -E '^advisories ' "$log" | tail -n 1)
        dups=$(sed -nE "s/^warning\[duplicate\]: found [0-9]+ duplicate entries for crate '([^']+)'.*/\1/p" "$log" | tr '\n' ' ')
        others=$(grep -E '^warning\[' "$log" | grep -cv '^warning\[duplicate\]' || true)
        echo "deny: $manifest: $result (advisories of $snapshot_date; $((SECONDS - start)) s)${dups:+; duplicate versions (warn): ${dups% }}"
        ((others == 0)) || echo "deny: $manifest: $others other warnings, see $log"
    else
        errors_only "$log" >&2
        echo "deny: $manifest: the dependency check failed (full output in $log)" >&2
        status=1
    fi
done
exit $status
