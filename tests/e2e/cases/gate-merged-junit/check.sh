#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# Five producers (JUnit from gotestsum, pytest and Surefire, TAP, CTRF) merged
# into one JUnit file that validates against the shared schema. gotestsum
# writes each rerun as another <testcase>: in the merged file every test
# appears once, so it holds exactly as many test cases as the totals count.
m="$WORK/merged.xml"
r="$WORK/result.json"
xsd_valid "$m"
tests="$(jq .totals.tests "$r")"
expect_eq "$tests" 48 "totals.tests (11 + 10 + 11 + 8 + 8)"
expect_json "$r" '.merged_junit | [.cases, .passing_dropped]' "[$tests,0]"
expect_json "$r" '.merged_junit.duplicates_dropped' 4
python3 - "$m" "$FIXTURES/producers/gotestsum/report.xml" <<'PY' || check_fail "merged JUnit content (see above)"
import sys, collections, xml.etree.ElementTree as ET
merged = ET.parse(sys.argv[1]).getroot()
cases = [(c.get("classname"), c.get("name")) for c in merged.iter("testcase")]
dupes = [k for k, n in collections.Counter(cases).items() if n > 1]
if dupes:
    sys.exit(f"duplicate test cases in the merged report: {dupes}")
go = ET.parse(sys.argv[2]).getroot()
go_cases = [(c.get("classname"), c.get("name")) for c in go.iter("testcase")]
if len(go_cases) == len(set(go_cases)):
    sys.exit("the gotestsum fixture has no rerun duplicates any more; this case needs another input")
missing = set(go_cases) - set(cases)
if missing:
    sys.exit(f"gotestsum test cases missing from the merged report: {sorted(missing)}")
PY
