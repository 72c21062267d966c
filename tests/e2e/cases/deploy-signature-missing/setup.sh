set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
signed_setup
