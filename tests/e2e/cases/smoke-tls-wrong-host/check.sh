source "$REPO/tests/e2e/lib.sh"
expect_json "$WORK/r.json" '.results[0].transport' '"tls"'
