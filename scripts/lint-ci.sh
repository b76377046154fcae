#!/usr/bin/env bash
# Lints the CI definitions that cannot run here: the project's GitHub workflows and Dependabot config, and the CI
# examples users copy. Part of scripts/test.sh; fails on any finding. A finding that is intended is suppressed
# inline, next to the line, with the reason (`# shellcheck disable=... # why`, `# zizmor: ignore[audit] why`).
#
#   actionlint (with shellcheck over `run:` scripts)  .github/workflows/*.yml, examples/ci/github-actions.yml
#   zizmor --offline (security audits)                 the same, and .github/dependabot.yml
#   scripts/check-ci-config.py                         examples/ci/gitlab-ci.yml: parsed, and the jobs the docs
#                                                      promise; .github/dependabot.yml: its shape and coverage
#
# The tools are pinned in scripts/ci-lint-requirements.txt and installed into the git-ignored venv .venvs/ci-lint;
# pip runs only when that file changed since the last install. zizmor runs offline: its online audits ask the GitHub
# API, which CI machines may not reach, and a lint must not depend on the network.
# ACTIONLINT=/path/to/actionlint uses another actionlint build (see the requirements file).
#
# Usage: scripts/lint-ci.sh [DIR]   lint the files under DIR (laid out like the repository) instead of the repository;
#                                  the tests plant mistakes in such a copy to prove each check catches them.
#        scripts/lint-ci.sh --setup-only   install the venv and print its python3, lint nothing (the report test
#                                  uses its jsonschema and junitparser).
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
setup_only=false
if [[ ${1:-} == --setup-only ]]; then
    setup_only=true
    shift
fi
root=$(cd "${1:-$repo}" && pwd)
venv=$repo/.venvs/ci-lint
requirements=$repo/scripts/ci-lint-requirements.txt
python=${PYTHON:-python3}

if [[ ! -x $venv/bin/python3 ]]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$want" >"$stamp"
fi
if $setup_only; then
    echo "$venv/bin/python3"
    exit 0
fi
# The venv first on PATH: actionlint finds the pinned shellcheck there.
export PATH=$venv/bin:$PATH
actionlint=${ACTIONLINT:-$venv/bin/actionlint}

cd "$root"
workflows=(.github/workflows/*.yml examples/ci/github-actions.yml)
failed=0

echo "ci-lint: $("$actionlint" -version | head -n 1), $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
if "$actionlint" -no-color "${workflows[@]}"; then
    echo "ci-lint: actionlint: no findings in ${#workflows[@]} workflows"
else
    echo "ci-lint: actionlint reported findings (above)" >&2
    failed=1
fi

# --no-progress/--color: plain output for logs; a finding of any severity or confidence exits non-zero.
if zizmor --offline --no-progress --color=never --quiet .github/ examples/ci/github-actions.yml; then
    echo "ci-lint: $(zizmor --version): no findings in .github/ and examples/ci/github-actions.yml"
else
    echo "ci-lint: zizmor reported findings (above)" >&2
    failed=1
fi

"$venv/bin/python3" "$repo/scripts/check-ci-config.py" --root "$root" || failed=1

exit "$failed"
