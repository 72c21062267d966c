set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0
deploy_web 0 test 1.0
# 1.1: a normal-looking archive with one entry that climbs out of the
# release folder (../../escape lands in the target root, ../../../../escape
# in $WORK, if it is ever written).
python3 - "$ART/app-1.1.tar.gz" <<'PY'
import io, sys, tarfile
def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
with tarfile.open(sys.argv[1], "w:gz") as tar:
    add(tar, "public/index.html", b"version 1.1\n")
    add(tar, "public/health", b"ok\n")
    add(tar, "../../escape", b"written outside the release\n")
    add(tar, "../../../../escape", b"written outside the target\n")
PY
(cd "$ART" && sha256sum app-1.1.tar.gz >app-1.1.tar.gz.sha256)
