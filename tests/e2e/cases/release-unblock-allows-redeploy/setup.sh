set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 2.0:broken
# The fixed 2.0 (same version, a good build) is kept apart.
"$MAKE_ARTIFACTS" "$WORK/fixed" 2.0
deploy_web 0 test 1.0
deploy_web 1 test 2.0
deploy_web 4 test 2.0 --artifact "$WORK/fixed/app-2.0.tar.gz"
