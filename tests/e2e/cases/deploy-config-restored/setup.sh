set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 2.0:broken
deploy_web 0 test 1.0
mkdir -p "$ROOT/test/web/config"
printf 'db_host=old-cluster\npool=5\n' >"$ROOT/test/web/config/app.conf"
cp "$ROOT/test/web/config/app.conf" "$WORK/app.conf.original"
