set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1
fleet_plan "{type: rolling, batch: 2}"
deploy_fleet 0 1.0
touch "$ROOT/h4/fail-1.1"
: >"$ROOT/events.log"
