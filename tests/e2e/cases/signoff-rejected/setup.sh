set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0
deploy_signoff 0 test 1.0
signoff 0 1.0 tech-lead alice approve
signoff 0 1.0 tester bob reject "checkout crashes with an empty cart"
