#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/artifacts") | .status]' '["fail"]'
[[ ! -L "$ROOT/test/web/current" ]] || check_fail "current was created"
# An explicit --signature pointing at a file made with the trusted key is accepted.
sign_artifact "$WORK/keys/release.pem" "$ART/app-1.0.tar.gz"
mv "$ART/app-1.0.tar.gz.sig" "$WORK/elsewhere.sig"
sg 0 deploy-stage --plan "$SIGNED_PLAN" --env test --version 1.0 --artifact "$ART/app-1.0.tar.gz" \
  --signature "$WORK/elsewhere.sig" --var ROOT="$ROOT" || check_fail "--signature FILE was not used"
