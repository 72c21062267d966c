set -euo pipefail
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
"$MAKE_ARTIFACTS" "$ART" 1.0
deploy_web 0 test 1.0
# 1.1: a symlink pointing out of the release, then a file written through it.
python3 - "$ART/app-1.1.tar.gz" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tar:
    data = b"version 1.1\n"
    info = tarfile.TarInfo("public/index.html"); info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    link = tarfile.TarInfo("public/out"); link.type = tarfile.SYMTYPE; link.linkname = "../../../.."
    tar.addfile(link)
    data = b"written through the link\n"
    info = tarfile.TarInfo("public/out/escape"); info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
PY
(cd "$ART" && sha256sum app-1.1.tar.gz >app-1.1.tar.gz.sha256)
