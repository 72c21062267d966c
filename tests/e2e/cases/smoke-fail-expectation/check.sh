source "$REPO/tests/e2e/lib.sh"
expect_json "$WORK/r.json" '.reason' '"expectation-failed"'
expect_json "$WORK/r.json" '.failed' '["version is the one we deployed"]'
