set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 2.0
"$MAKE_ARTIFACTS" "$WORK/bad" 2.0:broken
sg 0 deploy-stage --plan "$DEPLOY_E2E/order.yml" --env test --version 1.0 --artifact "$ART/app-1.0.tar.gz" --var ROOT="$ROOT"
rm "$ROOT/order.log" "$ROOT/env.log"
