set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 0.9
deploy_signoff 0 test 1.0
signoff 0 0.9 tech-lead alice approve
signoff 0 0.9 tester bob approve
