#!/usr/bin/env python3
"""Generates the registry documentation in docs/ from the provider's own schema and the example files.

    scripts/gen-docs.py            regenerate docs/ (builds the debug provider first)
    scripts/gen-docs.py --check    exit 1, with a diff, when docs/ differs from what would be generated

The schema comes from `terraform providers schema -json`, run in a temporary workspace whose CLI configuration
points `dev_overrides` at the provider binary, so the descriptions are exactly the ones the provider reports to
Terraform. The page prose lives in templates/ (`*.md.tmpl`, mirroring docs/); templates pull in the schema and the
example files through the directives below. Nothing in docs/ is written by hand.

Template directives (`{{ name "arg" ... }}`):
    provider_description                   the provider block's description
    provider_description_yaml              the same, indented for a front-matter `description: |-` block
    provider_schema                        the provider block's argument reference
    resource_description "TYPE"            a resource's description (and `_yaml`, as above)
    resource_schema "TYPE"                 a resource's argument and attribute reference
    data_source_description "TYPE"         a data source's description (and `_yaml`, as above)
    data_source_schema "TYPE"              a data source's attribute reference
    tffile "PATH"                          a repository file in a ```terraform block
    codefile "LANG" "PATH"                 a repository file in a ```LANG block
    version                                the provider version from Cargo.toml
    publisher "KEY"                        a value of the PUBLISHER file (REPOSITORY, RELEASES, SIGNING_KEY_FINGERPRINT)

Options:
    --provider PATH    provider binary (default: $TS_PROVIDER_BIN, else `cargo build` and target/debug)
    --terraform PATH   terraform executable (default: $TERRAFORM, else scripts/terraform)
    --docs DIR         the directory to write or check (default: docs/; the tests check a modified copy)

Only the Python standard library is used.
"""

import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
DOCS = ROOT / "docs"
PROVIDER_ADDR = "registry.terraform.io/verizon/thingspace"
PROVIDER_SOURCE = "verizon/thingspace"
BIN_NAME = "terraform-provider-thingspace"

DIRECTIVE = re.compile(r"\{\{\s*([a-z_]+)((?:\s+\"[^\"]*\")*)\s*\}\}")

WRITE_ONLY_NOTE = (
    "Write-only arguments are sent to the provider during plan and apply but never stored in the plan or "
    "state (Terraform 1.11 and later)."
)
SENSITIVE_NOTE = (
    "Sensitive values are hidden in Terraform's output; the state file still holds them in plain text."
)


class GenError(Exception):
    """A failure the user can act on; printed without a traceback."""


def cargo_version():
    """The package version from Cargo.toml's [package] table."""
    in_package = False
    for line in (ROOT / "Cargo.toml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_package = stripped == "[package]"
        elif in_package:
            m = re.match(r'version\s*=\s*"([^"]+)"', stripped)
            if m:
                return m.group(1)
    raise GenError("no version in the [package] table of Cargo.toml")


def default_provider():
    env = os.environ.get("TS_PROVIDER_BIN")
    if env:
        return Path(env)
    # Build so the docs describe the source as it is now, not a stale binary.
    print("gen-docs: cargo build --bin " + BIN_NAME, file=sys.stderr)
    subprocess.run(["cargo", "build", "--quiet", "--bin", BIN_NAME], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / BIN_NAME


def default_terraform():
    env = os.environ.get("TERRAFORM")
    return Path(env) if env else ROOT / "scripts" / "terraform"


def read_schema(terraform, provider):
    """Runs `terraform providers schema -json` against the binary through dev_overrides; returns our provider's part."""
    provider = Path(provider).resolve()
    if not provider.is_file():
        raise GenError(f"provider binary {provider} does not exist")
    with tempfile.TemporaryDirectory(prefix="gen-docs-") as tmp:
        tmp = Path(tmp)
        plugins, work, home = tmp / "plugins", tmp / "work", tmp / "home"
        for d in (plugins, work, home):
            d.mkdir()
        # dev_overrides runs the file named terraform-provider-thingspace in this directory.
        (plugins / BIN_NAME).symlink_to(provider)
        cli_config = tmp / "terraform.tfrc"
        cli_config.write_text(
            "provider_installation {\n  dev_overrides {\n"
            f'    "{PROVIDER_ADDR}" = {json.dumps(str(plugins))}\n'
            "  }\n  direct {}\n}\n"
        )
        (work / "main.tf").write_text(
            "terraform {\n  required_providers {\n    thingspace = {\n"
            f'      source = "{PROVIDER_SOURCE}"\n    }}\n  }}\n}}\n'
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not (k.startswith("TF_") or k.startswith("THINGSPACE_"))
        }
        env.update(
            TF_CLI_CONFIG_FILE=str(cli_config),
            HOME=str(home),
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
        )
        cmd = [str(terraform), "providers", "schema", "-json"]
        try:
            out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise GenError(f"cannot run {terraform}: install Terraform with scripts/setup-terraform.sh") from None
        if out.returncode != 0:
            raise GenError(f"{shlex.join(cmd)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    try:
        schemas = json.loads(out.stdout)["provider_schemas"]
        return schemas[PROVIDER_ADDR]
    except (ValueError, KeyError) as e:
        raise GenError(f"unexpected `terraform providers schema -json` output ({e}):\n{out.stdout[:2000]}") from None


def type_name(t):
    """A cty JSON type as the registry docs name it: String, Number, Map of String, ..."""
    simple = {"string": "String", "number": "Number", "bool": "Boolean", "dynamic": "Dynamic"}
    if isinstance(t, str):
        if t in simple:
            return simple[t]
    elif isinstance(t, list) and len(t) == 2:
        kind, inner = t
        if kind in ("list", "set", "map"):
            return f"{kind.capitalize()} of {type_name(inner)}"
        if kind == "object":
            return "Object"
    raise GenError(f"gen-docs cannot name the type {json.dumps(t)}")


def one_line(text):
    return " ".join(text.split())


def attribute_groups(attributes, flags_seen, nested, prefix=""):
    """Required, Optional and Read-Only lines for `attributes`; nested attributes are collected in `nested`."""
    groups = {"Required": [], "Optional": [], "Read-Only": []}
    for name in sorted(attributes):
        a = attributes[name]
        full = prefix + name
        if "nested_type" in a:
            mode = a["nested_type"].get("nesting_mode")
            if mode != "single":
                raise GenError(f"gen-docs renders only single nested attributes, not {mode} ({full})")
            flags = ["Attributes"]
            nested.append((full, a["nested_type"]["attributes"]))
        else:
            flags = [type_name(a["type"])]
        if a.get("sensitive"):
            flags.append("Sensitive")
            flags_seen.add("sensitive")
        if a.get("write_only"):
            flags.append("Write-only")
            flags_seen.add("write_only")
        if a.get("deprecated"):
            flags.append("Deprecated")
        if a.get("required"):
            group = "Required"
        elif a.get("optional"):
            group = "Optional"
            if a.get("computed"):
                flags.append("computed when unset")
        elif a.get("computed"):
            group = "Read-Only"
        else:
            raise GenError(f"attribute {full} is neither required, optional nor computed")
        description = one_line(a.get("description", ""))
        if not description:
            raise GenError(f"attribute {full} has no description: add one to the provider's schema")
        if "nested_type" in a:
            description += f" (see [below for nested schema](#nestedatt--{full.replace('.', '--')}))"
        groups[group].append(f"- `{name}` ({', '.join(flags)}) {description}")
    return groups


def render_schema(block, heading="## Schema"):
    """The argument reference: Required, Optional and Read-Only lists, each attribute with type and flags, then one
    section per nested attribute."""
    if block.get("block_types"):
        # Silently leaving nested blocks out would make the docs wrong; make the gap loud instead.
        raise GenError("gen-docs does not render nested blocks yet: " + ", ".join(sorted(block["block_types"])))
    flags_seen = set()
    nested = []
    groups = attribute_groups(block.get("attributes", {}), flags_seen, nested)
    out = [heading]
    for group, lines in groups.items():
        if lines:
            out += ["", f"### {group}", "", *lines]
    while nested:
        name, attributes = nested.pop(0)
        out += ["", f'<a id="nestedatt--{name.replace(".", "--")}"></a>', f"### Nested Schema for `{name}`"]
        for group, lines in attribute_groups(attributes, flags_seen, nested, prefix=name + ".").items():
            if lines:
                out += ["", f"{group}:", "", *lines]
    notes = []
    if "sensitive" in flags_seen:
        notes.append(SENSITIVE_NOTE)
    if "write_only" in flags_seen:
        notes.append(WRITE_ONLY_NOTE)
    if notes:
        out += ["", " ".join(notes)]
    return "\n".join(out)


def render_identity_schema(identity):
    """The resource identity (Terraform 1.12 and later): each attribute with its type and whether an import needs it."""
    groups = {"Required for import": [], "Optional for import": []}
    for name in sorted(identity.get("attributes", {})):
        a = identity["attributes"][name]
        description = one_line(a.get("description", ""))
        if not description:
            raise GenError(f"identity attribute {name} has no description: add one to the provider's identity schema")
        group = "Required for import" if a.get("required_for_import") else "Optional for import"
        groups[group].append(f"- `{name}` ({type_name(a['type'])}) {description}")
    out = ["### Identity schema"]
    for group, lines in groups.items():
        if lines:
            out += ["", f"#### {group}", "", *lines]
    return "\n".join(out)


def yaml_block(text):
    """A description for a front-matter `description: |-` block: two-space indented."""
    return "\n".join("  " + line if line else "" for line in text.strip().splitlines())


def fenced(lang, rel):
    path = ROOT / rel
    if not path.is_file():
        raise GenError(f"template names {rel}, which does not exist")
    body = path.read_text().rstrip("\n")
    return f"```{lang}\n{body}\n```"


class Renderer:
    def __init__(self, schema, version):
        self.schema = schema
        self.version = version

    def resource(self, type_name_):
        try:
            return self.schema["resource_schemas"][type_name_]["block"]
        except KeyError:
            raise GenError(f"the provider reports no resource {type_name_}") from None

    def data_source(self, type_name_):
        try:
            return self.schema["data_source_schemas"][type_name_]["block"]
        except KeyError:
            raise GenError(f"the provider reports no data source {type_name_}") from None

    def directive(self, name, args):
        def want(n):
            if len(args) != n:
                raise GenError(f"{{{{ {name} }}}} takes {n} argument(s), got {len(args)}")

        provider = self.schema["provider"]["block"]
        if name == "provider_description":
            want(0)
            return provider["description"]
        if name == "provider_description_yaml":
            want(0)
            return yaml_block(provider["description"])
        if name == "provider_schema":
            want(0)
            return render_schema(provider)
        if name == "resource_description":
            want(1)
            return self.resource(args[0])["description"]
        if name == "resource_description_yaml":
            want(1)
            return yaml_block(self.resource(args[0])["description"])
        if name == "resource_schema":
            want(1)
            return render_schema(self.resource(args[0]))
        if name == "publisher":
            want(1)
            for line in (ROOT / "PUBLISHER").read_text().splitlines():
                if line.startswith(args[0] + "="):
                    return line.split("=", 1)[1]
            raise GenError(f"PUBLISHER has no {args[0]}")
        if name == "data_source_description":
            want(1)
            return self.data_source(args[0])["description"]
        if name == "data_source_description_yaml":
            want(1)
            return yaml_block(self.data_source(args[0])["description"])
        if name == "data_source_schema":
            want(1)
            return render_schema(self.data_source(args[0]))
        if name == "identity_schema":
            want(1)
            try:
                identity = self.schema["resource_identity_schemas"][args[0]]
            except KeyError:
                raise GenError(
                    f"the provider reports no resource identity for {args[0]} (Terraform 1.12 or later reports it)"
                ) from None
            return render_identity_schema(identity)
        if name == "tffile":
            want(1)
            return fenced("terraform", args[0])
        if name == "codefile":
            want(2)
            return fenced(args[0], args[1])
        if name == "version":
            want(0)
            return self.version
        raise GenError(f"unknown template directive {name!r}")

    def render(self, template_path):
        text = template_path.read_text()
        # Checked in the template, not the result: included files (CI YAML) may hold `${{ ... }}` of their own.
        leftover = DIRECTIVE.sub("", text)
        if "{{" in leftover:
            line = next(l for l in leftover.splitlines() if "{{" in l)
            raise GenError(f"{template_path.relative_to(ROOT)}: unrendered directive in: {line}")
        rendered = DIRECTIVE.sub(
            lambda m: self.directive(m.group(1), re.findall(r'"([^"]*)"', m.group(2))), text
        )
        return add_banner(rendered, template_path.relative_to(ROOT)).rstrip("\n") + "\n"


def add_banner(text, template_rel):
    """Puts a do-not-edit note after the front matter (the registry needs the front matter first)."""
    banner = (
        f"<!-- Generated by scripts/gen-docs.py from {template_rel}, the provider schema and examples/. "
        "Do not edit: change those and run scripts/gen-docs.py. -->"
    )
    lines = text.splitlines()
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        lines[end + 1 : end + 1] = ["", banner]
    else:
        lines[0:0] = [banner, ""]
    return "\n".join(lines)


def generate(schema, version):
    """docs/ relative path -> contents, one page per template."""
    renderer = Renderer(schema, version)
    pages = {}
    for tmpl in sorted(TEMPLATES.rglob("*.md.tmpl")):
        rel = tmpl.relative_to(TEMPLATES)
        pages[str(rel)[: -len(".tmpl")]] = renderer.render(tmpl)
    if not pages:
        raise GenError(f"no templates in {TEMPLATES}")
    return pages


def existing_docs(docs):
    if not docs.is_dir():
        return {}
    return {str(p.relative_to(docs)): p.read_text() for p in sorted(docs.rglob("*")) if p.is_file()}


def check(pages, docs):
    """Compares the docs directory with `pages`; prints a diff and returns False when they differ."""
    current = existing_docs(docs)
    ok = True
    for rel in sorted(set(pages) | set(current)):
        want, have = pages.get(rel), current.get(rel)
        if want == have:
            continue
        ok = False
        if have is None:
            print(f"docs/{rel} is missing", file=sys.stderr)
        elif want is None:
            print(f"docs/{rel} has no template in templates/ (remove it or add the template)", file=sys.stderr)
        else:
            sys.stderr.writelines(
                difflib.unified_diff(
                    have.splitlines(True), want.splitlines(True), f"docs/{rel}", f"docs/{rel} (generated)"
                )
            )
    if not ok:
        print("docs/ is stale: run scripts/gen-docs.py and commit the result", file=sys.stderr)
    return ok


def write(pages, docs):
    for rel in set(existing_docs(docs)) - set(pages):
        (docs / rel).unlink()
        print(f"removed docs/{rel}", file=sys.stderr)
    for rel, text in pages.items():
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote docs/{rel}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/ is stale; write nothing")
    parser.add_argument("--provider", type=Path, help="provider binary")
    parser.add_argument("--terraform", type=Path, help="terraform executable")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the docs directory (default: docs/)")
    args = parser.parse_args()
    try:
        provider = args.provider or default_provider()
        schema = read_schema(args.terraform or default_terraform(), provider)
        pages = generate(schema, cargo_version())
        if args.check:
            return 0 if check(pages, args.docs) else 1
        write(pages, args.docs)
        return 0
    except GenError as e:
        print(f"gen-docs: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"gen-docs: {shlex.join(e.cmd)} failed ({e.returncode})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
