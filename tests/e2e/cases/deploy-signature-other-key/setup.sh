set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
signed_setup
sign_artifact "$WORK/keys/other.pem" "$ART/app-1.0.tar.gz"
