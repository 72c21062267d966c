#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# secret.xml carries the value of DEPLOY_TOKEN (a *_TOKEN variable, so a
# secret) in a failure message, a trace, system-out and a test name. It must
# reach no output; '***' stands in its place.
secret="s3cr3t-value-123"
for file in result.json rules.xml summary.md merged.xml gate.env github-output github-summary; do
  expect_file_lacks "$WORK/out/$file" "$secret"
done
for file in result.json rules.xml merged.xml; do
  expect_file_contains "$WORK/out/$file" '***'
done
# Markdown escapes the mask like any other text, so that it shows as ***.
for file in summary.md github-summary; do
  expect_file_contains "$WORK/out/$file" '\*\*\*'
done
expect_json "$WORK/out/result.json" '.failures[] | select(.name == "test_token_refresh [A]") | .message' '"token *** was rejected by 127.0.0.1"'
xsd_valid "$WORK/out/rules.xml" "$WORK/out/merged.xml"

# Error messages and command-line parse errors go through the redactor too.
RUN_EXTRA_ENV=(DEPLOY_TOKEN="$secret")
run_shipgate 2 gate-on-test-report --ci none -r tests/fixtures/e2e/secret.xml --policy "$WORK/$secret.yaml"
expect_file_lacks "$WORK/run.stderr" "$secret"
expect_file_contains "$WORK/run.stderr" "$WORK/***.yaml"
run_shipgate 2 gate-on-test-report --ci none -r tests/fixtures/e2e/secret.xml "$secret"
expect_file_lacks "$WORK/run.stderr" "$secret"
expect_file_contains "$WORK/run.stderr" "***"
run_shipgate 2 "$secret"
expect_file_lacks "$WORK/run.stderr" "$secret"
