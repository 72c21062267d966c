#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '.outcome' '"succeeded"'
expect_json "$WORK/r.json" '.actions[] | select(.id == "preflight/artifacts") | .explanation | contains("ed25519 signature")' true
expect_json "$WORK/r.json" '.actions[] | select(.id | test("^deploy/[0-9]+-prepare-web$")) | .transcript | contains("ed25519 signature verified")' true
expect_eq "$(cat "$ROOT/test/web/current/public/index.html")" "version 1.0" "the live index.html"
