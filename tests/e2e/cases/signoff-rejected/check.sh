#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
if [[ -L "$ROOT/prod/web/current" ]]; then check_fail "prod was deployed despite the rejection"; fi
# The tester approves after the fix: the latest decision counts.
signoff 0 1.0 tester bob approve "the cart bug was in the test data, not in the build" || check_fail "signoff approve"
deploy_signoff 0 prod 1.0 || check_fail "deploy after the new approval"
expect_eq "$(live_release prod)" "$(release_of prod 1.0)" "prod current"
