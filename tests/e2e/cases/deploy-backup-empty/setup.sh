set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1
sg 0 deploy-stage --plan "$DEPLOY_E2E/backup.yml" --env test --version 1.0 --artifact "$ART/app-1.0.tar.gz" --var ROOT="$ROOT"
