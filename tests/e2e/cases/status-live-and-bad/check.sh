#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
r="$WORK/r.json"
live="$(release_of test 1.1)"
expect_json "$r" '.exit_code' 0
expect_json "$r" '.environment' '"test"'
expect_json "$r" '[.live.version, .live.release, .live.user, .live.pipeline_url]' "[\"1.1\",\"$live\",\"bob\",\"https://ci.example.com/p/7\"]"
expect_json "$r" '[.previous.version, .previous.release]' "[\"1.0\",\"$(release_of test 1.0)\"]"
expect_json "$r" '[.rollback_target.version, .rollback_target.release]' "[\"1.0\",\"$(release_of test 1.0)\"]"
expect_json "$r" '.bad_versions' '["1.2"]'
expect_json "$r" '.targets | length' 1
expect_json "$r" '.targets[0] | [.target, .current, (.releases | length)]' "[\"local:$ROOT/test/web\",\"$live\",3]"
expect_json "$r" '.targets[0].lock // "free"' '"free"'
expect_json "$r" '.targets[0].journal_pending // false' false
expect_json "$r" '.warnings' '[]'
expect_file_contains "$WORK/r.md" "| Rollback target | 1.0 ($(release_of test 1.0)) |"
expect_file_contains "$WORK/r.md" "| Marked bad | 1.2 |"
# An environment with nothing deployed is reported as such (exit 0).
sg 0 status --plan "$WEB_PLAN" --env prod --var ROOT="$ROOT" --json "$WORK/prod.json" || check_fail "status of the empty prod failed"
expect_json "$WORK/prod.json" '[.live, .rollback_target]' '[null,null]'
expect_json "$WORK/prod.json" '.bad_versions' '["1.2"]'
# A mistyped environment is invalid input.
sg 2 status --plan "$WEB_PLAN" --env prd --var ROOT="$ROOT" || check_fail "status --env prd did not exit 2"
grep -qF "did you mean 'prod'" "$WORK/sg.stderr" || check_fail "status --env prd does not suggest prod: $(cat "$WORK/sg.stderr")"
