set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
signed_setup
sign_artifact "$WORK/keys/release.pem" "$ART/app-1.0.tar.gz"
# Someone swaps the artifact and its digest file, but cannot sign: the
# signature of the original stays beside it.
mv "$ART/app-1.0.tar.gz.sig" "$WORK/original.sig"
"$MAKE_ARTIFACTS" "$ART" 1.0:broken
mv "$WORK/original.sig" "$ART/app-1.0.tar.gz.sig"
(cd "$ART" && sha256sum -c --quiet app-1.0.tar.gz.sha256)
