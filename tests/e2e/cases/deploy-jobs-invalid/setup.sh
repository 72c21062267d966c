set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
fleet_plan "all-at-once"
