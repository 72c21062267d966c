source "$REPO/tests/e2e/lib.sh"
expect_json "$WORK/r.json" '.verdict' '"fail"'
expect_json "$WORK/r.json" '.reason' '"unreachable"'
expect_json "$WORK/r.json" '.results[0].transport' '"refused"'
expect_json "$WORK/r.json" '.results[0].attempts' '3'
