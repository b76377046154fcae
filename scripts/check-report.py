#!/usr/bin/env python3
"""Checks the report command's machine-readable outputs with independent, well-kept tools:

    check-report.py --schema SCHEMA --json REPORT.json --junit REPORT.xml

The JSON document is validated against the JSON Schema (Draft 2020-12) by `jsonschema`; the JUnit file is read by
`junitparser`, and each test case is printed as `case <classname> <name> <passed|failed>` so the caller can compare
them with what it expects. Exits 1 on a schema violation or an unreadable JUnit file.
"""

import argparse
import json
import sys

import jsonschema
from junitparser import JUnitXml


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--junit", required=True)
    args = ap.parse_args()

    with open(args.schema) as f:
        schema = json.load(f)
    with open(args.json) as f:
        doc = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
    for e in errors:
        print(f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}", file=sys.stderr)
    if errors:
        return 1
    print(f"json: valid against {schema.get('$id')}")

    xml = JUnitXml.fromfile(args.junit)
    for suite in xml:
        print(f"suite {suite.name} tests={suite.tests} failures={suite.failures}")
        for case in suite:
            print(f"case {case.classname} {case.name} {'passed' if case.is_passed else 'failed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
