source "$REPO/tests/e2e/lib.sh"
# wait: 3 refused polls (503), then 2 successes in a row
expect_json "$WORK/r.json" '.wait.ready' 'true'
expect_json "$WORK/r.json" '.wait.polls' '5'
# retries: 2 x 503, then 200
expect_json "$WORK/r.json" '.results[0].attempts' '3'
# Retry-After: 1 s was honoured before the second attempt
expect_json "$WORK/r.json" '.results[1].attempts' '2'
expect_json "$WORK/r.json" '.summary.elapsed_ms >= 1000' 'true'
