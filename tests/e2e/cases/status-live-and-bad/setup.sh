set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1 1.2:broken
deploy_web 0 test 1.0 --user alice
deploy_web 0 test 1.1 --user bob --pipeline-url https://ci.example.com/p/7
deploy_web 1 test 1.2 --user carol
