source "$REPO/tests/e2e/lib.sh"
expect_json "$WORK/r.json" '.wait.ready' 'false'
expect_json "$WORK/r.json" '.results[0].attempts' '0'
