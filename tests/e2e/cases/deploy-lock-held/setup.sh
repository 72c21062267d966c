set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1 1.2
deploy_web 0 test 1.0
# bob's deploy of 1.1 holds the lock for 30 s (its restart sleeps).
start_holder 1.1 bob
