#!/usr/bin/env bash
# The hot-update recipe, end to end (docs/recipes/hot-update.md): a running
# pricing service gets new rules without stopping, from signed artifacts.
#
#   1. rules 1.0 are deployed: the service reloads them;
#   2. rules 2.0 are deployed while requests keep coming: none fails;
#   3. a 2.1 artifact altered after it was signed is refused (exit 4);
#   4. rules 3.0, signed but invalid, fail the reload: shipgate switches back
#      and reloads 2.0 by itself (exit 1); requests still never fail.
#
# Usage: run.sh [WORK_DIR]  (SHIPGATE=path to the executable, default
# build/shipgate). Needs python3, curl, openssl, tar. Exit 0 when every step
# ended as described, 1 otherwise. It stops the service it started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
shipgate=${SHIPGATE:-$root/build/shipgate}
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/shipgate-hot-update.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work"/{keys,dist,rules,results,plan.yml,load.*,app.log}
mkdir -p "$work"/{keys,dist,results}
problems=()
expect() { # WHAT GOT WANT
  if [[ "$2" == "$3" ]]; then echo "   ok: $1"; else echo "   NOT OK: $1: got $2, expected $3"; problems+=("$1"); fi
}

# The signing key pair: the private key stays with the build, the public key
# goes next to the plan.
openssl genpkey -algorithm ed25519 -out "$work/keys/release-signing.pem" 2>/dev/null
chmod 600 "$work/keys/release-signing.pem"
openssl pkey -in "$work/keys/release-signing.pem" -pubout -out "$work/keys/release-signing.pub.pem"
cp "$here/plan.yml" "$work/plan.yml"

# A build: rules-VERSION.tar.gz, its sha256 and its raw Ed25519 signature.
build() { # VERSION PRICES-JSON
  local tree=$work/dist/tree-$1 file=$work/dist/rules-$1.tar.gz
  mkdir -p "$tree"
  printf '{"version": "%s", "prices": %s}\n' "$1" "$2" >"$tree/rules.json"
  tar czf "$file" -C "$tree" rules.json
  (cd "$work/dist" && sha256sum "rules-$1.tar.gz" >"rules-$1.tar.gz.sha256")
  openssl pkeyutl -sign -inkey "$work/keys/release-signing.pem" -rawin -in "$file" -out "$file.sig"
}
build 1.0 '{"tea": 18.5, "cup": 32}'
build 2.0 '{"tea": 19.0, "cup": 32, "pot": 120}'
build 3.0 '{"tea": -1, "cup": 32}'
# 2.1: altered after signing (its sha256 file is made afterwards, as a
# tampered mirror would serve it).
build 2.1 '{"tea": 19.5, "cup": 32}'
printf 'tampered' >>"$work/dist/rules-2.1.tar.gz"
(cd "$work/dist" && sha256sum "rules-2.1.tar.gz" >"rules-2.1.tar.gz.sha256")

# The service, started once; it is never stopped by a deploy.
export RULES_ROOT=$work/rules RULES_DIST=$work/dist
APP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export APP_PORT
python3 "$here/app.py" --rules-root "$RULES_ROOT" --port "$APP_PORT" >"$work/app.log" 2>&1 &
app=$!
load_pid=""
trap 'kill $app $load_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$APP_PORT") 2>/dev/null && break; sleep 0.05; done

deploy() { # VERSION
  set +e
  "$shipgate" deploy-stage --plan "$work/plan.yml" --env prod --version "$1" --ci none --quiet \
    --json "$work/results/deploy-$1.json" --junit "$work/results/deploy-$1.junit.xml"
  rc=$?
  set -e
}
served() { curl -sf "http://127.0.0.1:$APP_PORT/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rules_version"])'; }
# Requests all through a deploy: one line per answer, "STATUS VERSION".
load_start() {
  rm -f "$work/load.stop"
  python3 - "$APP_PORT" "$work/load.stop" >"$work/load.log" <<'PY' &
import json, os, sys, time, urllib.error, urllib.request
port, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(stop):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/price?item=tea" % port, timeout=2) as answer:
            print(answer.status, json.load(answer)["rules_version"], flush=True)
    except urllib.error.HTTPError as error:
        print(error.code, "-", flush=True)
    except OSError as error:
        print("down", "-", flush=True)
    time.sleep(0.005)
PY
  load_pid=$!
  # The first answer before anything else happens, however slow the start.
  for _ in $(seq 200); do [[ -s "$work/load.log" ]] && break; sleep 0.05; done
}
load_stop() { touch "$work/load.stop"; wait "$load_pid" || true; load_pid=""; }

echo "1. rules 1.0: the first deploy; the service loads them"
deploy 1.0
expect "deploy 1.0 exit code" "$rc" 0
expect "rules in use" "$(served)" 1.0

echo "2. rules 2.0, deployed while requests keep coming"
load_start
sleep 0.3
deploy 2.0
sleep 0.3
load_stop
expect "deploy 2.0 exit code" "$rc" 0
expect "rules in use" "$(served)" 2.0
expect "requests answered with something else than 200" "$(grep -vc '^200 ' "$work/load.log" || true)" 0
expect "versions the requests saw" "$(awk '{print $2}' "$work/load.log" | uniq | tr '\n' ' ')" "1.0 2.0 "

echo "3. rules 2.1, altered after signing: refused before anything changes"
deploy 2.1
expect "deploy 2.1 exit code" "$rc" 4
expect "why" "$(python3 -c 'import json,sys; print("does not verify" in json.load(open(sys.argv[1]))["headline"])' "$work/results/deploy-2.1.json")" True
expect "rules in use" "$(served)" 2.0

echo "4. rules 3.0, signed but invalid: the reload fails, shipgate switches back and reloads 2.0"
load_start
deploy 3.0
sleep 0.3
load_stop
expect "deploy 3.0 exit code" "$rc" 1
expect "rules in use" "$(served)" 2.0
expect "requests answered with something else than 200" "$(grep -vc '^200 ' "$work/load.log" || true)" 0
expect "outcome" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["outcome"])' "$work/results/deploy-3.0.json")" rolled-back

echo
echo "results: $work/results (each deploy's JSON and JUnit), requests: $work/load.log"
if ((${#problems[@]})); then
  echo "hot-update recipe: ${#problems[@]} step(s) did not end as described" >&2
  exit 1
fi
echo "hot-update recipe: every step ended as described"
