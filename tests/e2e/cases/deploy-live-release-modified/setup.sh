set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0 1.1
deploy_web 0 test 1.0
live="$ROOT/test/web/current/public"
echo "hot-fixed by hand" >>"$live/index.html"
echo "stray" >"$live/notes.txt"
