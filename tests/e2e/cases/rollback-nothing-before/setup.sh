set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1
deploy_web 0 test 1.0
# A second release folder exists, but the ledger never saw it live: it is
# not a rollback target (never guessed from folder names).
mkdir -p "$ROOT/test/web/releases/20200101T000000Z-0.9/public"
echo "version 0.9" >"$ROOT/test/web/releases/20200101T000000Z-0.9/public/index.html"
