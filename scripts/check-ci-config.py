#!/usr/bin/env python3
"""Checks the CI configuration that no linter here covers, as part of scripts/lint-ci.sh (and so scripts/test.sh).

examples/ci/gitlab-ci.yml must parse and keep the pipeline its header and the docs promise:
  - a `plan` job that runs only in merge request pipelines and plans with -detailed-exitcode, never applying;
  - an `apply` job that runs only on the default branch and applies exactly the plan it saved;
  - both in the hashicorp/terraform image with its `terraform` entrypoint cleared (else `script:` lines are handed to
    terraform as arguments), after `terraform init -lockfile=readonly` (the committed lock file decides what is
    installed), each in a resource_group so two pipelines never rotate at once;
  - an `apply` job that is not interruptible: a newer pipeline must never cancel an apply half-way;
  - and, as GitLab would insist, every job has a script and a declared stage, and every `extends` exists.
.github/dependabot.yml must be version 2, cover cargo for every Cargo.lock in the repository and the github-actions
ecosystem, give each entry a schedule, and use only keys Dependabot knows (zizmor does not check the schema).

Usage: scripts/check-ci-config.py [--root DIR]   (needs PyYAML; scripts/lint-ci.sh runs it from its venv)
  --root DIR   check the files under DIR instead of this repository (the tests check planted mistakes in a copy)
Prints one line per file checked; exits 1 with every problem listed when any is found.
"""

import argparse
import sys
from pathlib import Path

import yaml

GITLAB = Path("examples") / "ci" / "gitlab-ci.yml"
DEPENDABOT = Path(".github") / "dependabot.yml"

# Keys of GitLab CI's top level that are not jobs.
GITLAB_GLOBAL_KEYS = {
    "stages", "variables", "default", "include", "workflow", "image", "services", "cache", "before_script",
    "after_script",
}
DEPENDABOT_UPDATE_KEYS = {
    "package-ecosystem", "directory", "directories", "schedule", "cooldown", "groups", "open-pull-requests-limit",
    "allow", "ignore", "assignees", "reviewers", "labels", "milestone", "commit-message", "rebase-strategy",
    "registries", "target-branch", "vendor", "versioning-strategy", "insecure-external-code-execution",
    "pull-request-branch-name", "exclude-paths", "multi-ecosystem-group", "patterns",
}


class GitLabLoader(yaml.SafeLoader):
    """SafeLoader that accepts GitLab's `!reference [job, key]` tag (as its list) instead of failing on it."""


GitLabLoader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))


def merge(base, override):
    """GitLab's `extends` merge: mappings merge key by key, anything else (lists included) is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return override


def resolve(jobs, name, problems, seen=()):
    job = jobs[name]
    parents = job.get("extends", [])
    parents = [parents] if isinstance(parents, str) else parents
    resolved = {}
    for parent in parents:
        if parent not in jobs:
            problems.append(f"job {name!r} extends {parent!r}, which does not exist")
        elif parent in seen:
            problems.append(f"job {name!r}: extends loop through {parent!r}")
        else:
            resolved = merge(resolved, resolve(jobs, parent, problems, seen + (name,)))
    return merge(resolved, {k: v for k, v in job.items() if k != "extends"})


def script_text(job):
    lines = []
    for key in ("before_script", "script"):
        value = job.get(key) or []
        lines.extend(value if isinstance(value, list) else [value])
    return "\n".join(str(line) for line in lines)


def rules_text(job):
    return " ".join(str(rule.get("if", "")) for rule in job.get("rules") or [] if isinstance(rule, dict))


def check_gitlab(root, problems):
    doc = yaml.load((root / GITLAB).read_text(encoding="utf-8"), Loader=GitLabLoader)
    if not isinstance(doc, dict):
        problems.append("the file is not a YAML mapping")
        return []
    stages = doc.get("stages") or []
    jobs = {k: v for k, v in doc.items() if k not in GITLAB_GLOBAL_KEYS and isinstance(v, dict)}
    resolved = {name: resolve(jobs, name, problems) for name in jobs}
    visible = {name: job for name, job in resolved.items() if not name.startswith(".")}

    for name, job in visible.items():
        if not job.get("script"):
            problems.append(f"job {name!r} has no script")
        if job.get("stage", "test") not in stages:
            problems.append(f"job {name!r} is in stage {job.get('stage', 'test')!r}, which `stages` does not list")
    if "plan" in stages and "apply" in stages and stages.index("plan") > stages.index("apply"):
        problems.append("stage plan must come before stage apply")

    for name in ("plan", "apply"):
        job = visible.get(name)
        if job is None:
            problems.append(f"no {name!r} job")
            continue
        if job.get("stage") != name:
            problems.append(f"job {name!r} is not in stage {name!r}")
        image = job.get("image") or doc.get("image") or {}
        image_name = image.get("name", "") if isinstance(image, dict) else str(image)
        if not image_name.startswith("hashicorp/terraform:"):
            problems.append(f"job {name!r} does not run in a pinned hashicorp/terraform image: {image_name!r}")
        if not (isinstance(image, dict) and image.get("entrypoint") == [""]):
            problems.append(f"job {name!r}: the image's terraform entrypoint must be cleared (entrypoint: [\"\"])")
        if not job.get("resource_group"):
            problems.append(f"job {name!r} has no resource_group: two pipelines could rotate at once")
        script = script_text(job)
        if "terraform init" not in script:
            problems.append(f"job {name!r} never runs terraform init")
        elif "-lockfile=readonly" not in script:
            problems.append(f"job {name!r} must run terraform init -lockfile=readonly (the committed lock file)")
        if "-detailed-exitcode" not in script:
            problems.append(f"job {name!r} does not plan with -detailed-exitcode")

    plan, apply = visible.get("plan"), visible.get("apply")
    if plan is not None:
        if "merge_request_event" not in rules_text(plan):
            problems.append("job 'plan' must run in merge request pipelines (rules: $CI_PIPELINE_SOURCE)")
        if "terraform apply" in script_text(plan):
            problems.append("job 'plan' must never apply")
    if apply is not None:
        if "$CI_DEFAULT_BRANCH" not in rules_text(apply):
            problems.append("job 'apply' must run only on the default branch (rules: $CI_DEFAULT_BRANCH)")
        if apply.get("interruptible") is True:
            problems.append("job 'apply' must not be interruptible: a cancelled apply can lose a reset's password")
        script = script_text(apply)
        if "-out=tfplan" not in script or "terraform apply tfplan" not in script:
            problems.append("job 'apply' must apply exactly the plan it saved (plan -out=tfplan, apply tfplan)")
    return sorted(visible)


def check_dependabot(root, problems):
    doc = yaml.safe_load((root / DEPENDABOT).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("version") != 2:
        problems.append("version must be 2")
        return []
    updates = doc.get("updates") or []
    covered = {}
    for i, update in enumerate(updates):
        where = f"updates[{i}]"
        unknown = set(update) - DEPENDABOT_UPDATE_KEYS
        if unknown:
            problems.append(f"{where}: keys Dependabot does not know: {sorted(unknown)}")
        if not (update.get("schedule") or {}).get("interval"):
            problems.append(f"{where}: no schedule.interval")
        dirs = update.get("directories") or [update.get("directory")]
        if None in dirs or not dirs:
            problems.append(f"{where}: no directory or directories")
        covered.setdefault(update.get("package-ecosystem"), set()).update(d for d in dirs if d)

    # The workspaces of this repository: the root and fuzz/, each with its own lock file.
    cargo_dirs = {d.rstrip("/") or "/" for d in covered.get("cargo", ())}
    for lock in sorted([root / "Cargo.lock", *root.glob("*/Cargo.lock")]):
        if not lock.is_file():
            continue
        rel = lock.parent.relative_to(root).as_posix()
        directory = "/" if rel == "." else "/" + rel
        if directory not in cargo_dirs:
            problems.append(f"cargo updates do not cover {lock.relative_to(root)} (add {directory!r})")
    for directory in cargo_dirs:
        if not (root / directory.strip("/") / "Cargo.toml").is_file():
            problems.append(f"cargo directory {directory!r} has no Cargo.toml")
    if "/" not in covered.get("github-actions", ()):
        problems.append("no github-actions updates for the workflows (directory '/')")
    return sorted(k for k in covered if k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    root = parser.parse_args().root.resolve()
    failed = False
    for rel, check in ((GITLAB, check_gitlab), (DEPENDABOT, check_dependabot)):
        problems = []
        try:
            found = check(root, problems)
        except (OSError, yaml.YAMLError) as e:
            problems.append(str(e))
            found = []
        if problems:
            failed = True
            for p in problems:
                print(f"{rel}: {p}", file=sys.stderr)
        else:
            what = "jobs" if rel == GITLAB else "ecosystems"
            print(f"ci-lint: {rel}: ok ({what}: {', '.join(found)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
