#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# --junit writes one test case per rule; failing rules are <failure>s. The
# file validates against the shared JUnit schema.
j="$WORK/rules.xml"
xsd_valid "$j"
python3 - "$j" "$WORK/result.json" <<'PY' || check_fail "--junit content (see above)"
import sys, json, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
result = json.load(open(sys.argv[2]))
cases = list(root.iter("testcase"))
if len(cases) != len(result["rules"]):
    sys.exit(f"{len(cases)} test cases for {len(result['rules'])} rules")
failing = sorted(c.get("name").split(":")[0] for c in cases if c.find("failure") is not None)
want = sorted(r["id"] for r in result["rules"] if r["status"] == "fail")
if failing != want:
    sys.exit(f"failing test cases {failing}, expected {want}")
PY
