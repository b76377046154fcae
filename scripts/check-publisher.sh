#!/usr/bin/env bash
# Checks the publisher's identity before a release: every value in PUBLISHER is filled in (no PLACEHOLDER), the
# repository in Cargo.toml is PUBLISHER's REPOSITORY, and, given a fingerprint (the signing key the release workflow
# imported), it is PUBLISHER's SIGNING_KEY_FINGERPRINT. Exits 1 with one line per problem.
#
#   scripts/check-publisher.sh [--fingerprint HEX] [--root DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fingerprint=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --fingerprint) fingerprint=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    *) echo "usage: $0 [--fingerprint HEX] [--root DIR]" >&2; exit 2 ;;
  esac
done

value() {
  sed -n "s/^$1=//p" "$root/PUBLISHER" | tail -n 1
}

problems=0
fail() {
  echo "publisher: $*" >&2
  problems=$((problems + 1))
}

for key in REPOSITORY RELEASES SIGNING_KEY_FINGERPRINT; do
  v=$(value "$key")
  if [[ -z $v ]]; then
    fail "$key is missing from PUBLISHER"
  elif [[ $v == *PLACEHOLDER* ]]; then
    fail "$key in PUBLISHER is still a placeholder ($v): fill it in before publishing"
  fi
done
repository=$(value REPOSITORY)
in_cargo=$(sed -n 's/^repository = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[[ $in_cargo == "$repository" ]] || fail "Cargo.toml's repository ($in_cargo) is not PUBLISHER's REPOSITORY ($repository)"
key=$(value SIGNING_KEY_FINGERPRINT)
if [[ -n $fingerprint && ${fingerprint^^} != "${key^^}" ]]; then
  fail "the signing key given has fingerprint $fingerprint, not PUBLISHER's SIGNING_KEY_FINGERPRINT ($key)"
elif [[ $key != *PLACEHOLDER* && ! $key =~ ^[0-9A-Fa-f]{40}$ ]]; then
  fail "SIGNING_KEY_FINGERPRINT must be 40 hexadecimal digits, without spaces"
fi
if [[ $problems -gt 0 ]]; then
  exit 1
fi
echo "publisher: $repository, releases at $(value RELEASES), signed by $key"
