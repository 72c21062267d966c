#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
r="$WORK/r.json"
web="$ROOT/test/web"

# `current` is a symlink to releases/<id ending in -1.0>, holding the artifact's files.
link="$(readlink "$web/current")"
[[ "$link" =~ ^releases/[0-9]{8}T[0-9]{6}Z-1\.0$ ]] || check_fail "current -> '$link', expected releases/<stamp>-1.0"
release="${link#releases/}"
expect_eq "$(cat "$web/current/public/index.html")" "version 1.0" "the live index.html"
[[ -x "$web/current/bin/start" ]] || check_fail "bin/start of the release is not executable"
[[ -z "$(find "$web/releases" -maxdepth 1 -name '.partial-*')" ]] || check_fail "a .partial- folder was left in releases/"
[[ ! -e "$web/.shipgate/journal.jsonl" ]] || check_fail "the journal was not removed after the run"
[[ ! -e "$web/.shipgate/lock" ]] || check_fail "the lock was not released after the run"
[[ -f "$web/.shipgate/releases/$release.json" ]] || check_fail "no manifest for $release"

# The ledger: one deploy entry with the CI context from the flags.
l="$(ledger_json test)"
expect_json "$l" 'length' 1
expect_json "$l" '.[0].schema' 1
expect_json "$l" '.[0].event' '"deploy"'
expect_json "$l" '.[0].outcome' '"succeeded"'
expect_json "$l" '.[0].environment' '"test"'
expect_json "$l" '.[0].version' '"1.0"'
expect_json "$l" '.[0].release' "\"$release\""
expect_json "$l" '.[0].artifact_sha256' "\"$(sha256sum "$ART/app-1.0.tar.gz" | cut -d' ' -f1)\""
expect_json "$l" '.[0].commit' '"0123456789abcdef"'
expect_json "$l" '.[0].branch' '"release/1.0"'
expect_json "$l" '.[0].user' '"alice"'
expect_json "$l" '.[0].pipeline_url' '"https://ci.example.com/p/42"'
expect_json "$l" '.[0].id | test("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]+$")' true
expect_json "$l" '.[0].started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' true
expect_json "$l" '.[0].finished_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' true
expect_json "$l" '.[0].previous_version // ""' '""'

# --json: the documented fields.
expect_json "$r" '.step' '"deploy-stage"'
expect_json "$r" '.verdict' '"pass"'
expect_json "$r" '.exit_code' 0
expect_json "$r" '.outcome' '"succeeded"'
expect_json "$r" '.environment' '"test"'
expect_json "$r" '.version' '"1.0"'
expect_json "$r" '.release' "\"$release\""
expect_json "$r" '.run_id' "$(jq -c '.[0].id' "$l")"
expect_json "$r" '.rolled_back' false
expect_json "$r" '.targets' "[\"local:$web\"]"
expect_json "$r" '.artifact_sha256.web' "\"$(sha256sum "$ART/app-1.0.tar.gz" | cut -d' ' -f1)\""
expect_json "$r" '[.actions[].id | select(startswith("preflight/"))] | length > 3' true
expect_json "$r" '[.actions[] | select(.id | startswith("preflight/")) | .status] | unique' '["pass"]'
expect_json "$r" '[.actions[].id | select(. == "preflight/lock" or . == "preflight/promotion-order" or . == "preflight/not-bad" or . == "preflight/artifacts")] | length' 4
expect_json "$r" '[.actions[].id | select(test("^deploy/[0-9]{2}-switch-web$"))] | length' 1
expect_json "$r" '[.actions[].id | select(startswith("health/web/"))] | sort' '["health/web/healthy","health/web/version"]'
expect_json "$r" '[.actions[] | .status] | unique' '["pass"]'
expect_json "$r" '[.actions[].id | select(startswith("rollback/"))]' '[]'
xsd_valid "$WORK/r.xml"

# The plan's commands ran, in deploy mode, with the new release.
expect_file_contains "$ROOT/events.log" "web restart deploy $release"
expect_file_contains "$ROOT/events.log" "web start deploy $release"

# A second deploy records what was live before it.
deploy_web 0 test 1.1 --json "$WORK/r2.json" || check_fail "deploying 1.1 after 1.0 failed"
expect_json "$WORK/r2.json" '.previous_version' '"1.0"'
expect_json "$(ledger_json test)" '.[1] | [.event, .outcome, .version, .previous_version, .previous_release]' "[\"deploy\",\"succeeded\",\"1.1\",\"1.0\",\"$release\"]"
expect_eq "$(live_release test)" "$(release_of test 1.1)" "current after the 1.1 deploy"
[[ -d "$web/releases/$release" ]] || check_fail "the previous release $release was removed (it is the rollback target)"
