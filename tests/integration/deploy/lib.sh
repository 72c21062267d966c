# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Helpers for the deploy tests and bench/deploy (sourced, not run):
#   source tests/integration/deploy/lib.sh
# They build release artifacts of the test app, start an nginx that serves
# <root>/current/public and proxies /app/ to the app, and write launch plans.
# Everything stays on 127.0.0.1 and inside the folders given.
# Needs: /usr/sbin/nginx (Debian nginx-light), python3, tar, gzip, sha256sum.

DEPLOY_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEPLOY_REPO="$(cd "$DEPLOY_LIB_DIR/../../.." && pwd)"
DEPLOY_APP_DIR="$DEPLOY_REPO/tests/fixtures/deploy/app"
APPCTL="$DEPLOY_APP_DIR/appctl.py"
# Debian's python3 starts in ~10 ms; a version manager's shim in front of
# it can take ten times longer, which would show in every measured restart.
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON="$(command -v python3)"; fi
fi
NGINX="${NGINX:-/usr/sbin/nginx}"
PAGE_BYTES=65536

# free_ports N: N ports the kernel says are free right now (held together so they differ).
free_ports() {
  "$PYTHON" -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))' "$1"
}

# make_page VERSION FILE: a $PAGE_BYTES-byte HTML page whose first and last
# lines name the version, so a response mixing two versions is detectable.
make_page() {
  "$PYTHON" - "$1" "$2" "$PAGE_BYTES" <<'PY'
import sys
version, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = "<!-- version %s begin -->\n<!doctype html>\n<html><head><title>site %s</title></head><body>\n<pre>\n" % (version, version)
tail = "</pre>\n</body></html>\n<!-- version %s end -->\n" % version
lines, n = [], 0
room = size - len(head) - len(tail)
while room > 0:
    line = "%s line %06d: the quick brown fox jumps over the lazy dog\n" % (version, n)
    line = line[:room - 1] + "\n" if len(line) > room else line
    lines.append(line)
    room -= len(line)
    n += 1
body = (head + "".join(lines) + tail).encode()
assert len(body) == size, len(body)
open(path, "wb").write(body)
PY
}

# make_artifact VERSION OUT_DIR: OUT_DIR/site-VERSION.tar.gz (VERSION, app.py,
# public/index.html) and its sha256sum file beside it; the page is also kept
# as OUT_DIR/page-VERSION.html for the load generator.
make_artifact() {
  local version="$1" out="$2" tree
  tree="$out/tree-$version"
  rm -rf "$tree"
  mkdir -p "$tree/public"
  printf '%s\n' "$version" >"$tree/VERSION"
  cp "$DEPLOY_APP_DIR/app.py" "$tree/app.py"
  make_page "$version" "$tree/public/index.html"
  cp "$tree/public/index.html" "$out/page-$version.html"
  tar -C "$tree" -czf "$out/site-$version.tar.gz" VERSION app.py public
  (cd "$out" && sha256sum "site-$version.tar.gz" >"site-$version.tar.gz.sha256")
}

# nginx_temp_paths DIR: temp paths of every module this nginx has, inside DIR.
nginx_temp_paths() {
  local dir="$1" build module
  build=$("$NGINX" -V 2>&1)
  echo "client_body_temp_path \"$dir/temp/body\";"
  for module in proxy fastcgi uwsgi scgi; do
    [[ $build == *"--without-http_${module}_module"* ]] || echo "${module}_temp_path \"$dir/temp/$module\";"
  done
}

# start_site_nginx DIR PORT ROOT APP_PORT: nginx on 127.0.0.1:PORT, in the
# foreground of a background job (NGINX_PID), serving ROOT/current/public at
# / and proxying /app/ to the app on APP_PORT. Returns 1 if it does not answer.
# `current` is resolved on every request (open_file_cache off), so a switch
# shows on the next request and no file of a replaced release is served.
start_site_nginx() {
  local dir="$1" port="$2" root="$3" app_port="$4"
  mkdir -p "$dir/temp" "$dir/logs"
  {
    [[ $(id -u) == 0 ]] && echo "user root root;"
    echo "worker_processes 2;"
    echo "daemon off;"
    echo "pid \"$dir/nginx.pid\";"
    echo "error_log \"$dir/logs/error.log\" warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log off;"
    nginx_temp_paths "$dir" | sed 's/^/  /'
    echo "  types { text/html html; text/plain txt; }"
    echo "  default_type application/octet-stream;"
    echo "  keepalive_requests 100000;"
    echo "  open_file_cache off;"
    echo "  server {"
    echo "    listen 127.0.0.1:$port;"
    echo "    root \"$root/current/public\";"
    echo "    location / { index index.html; }"
    echo "    location /app/ {"
    echo "      proxy_pass http://127.0.0.1:$app_port/;"
    echo "      proxy_connect_timeout 5s;"
    echo "    }"
    echo "  }"
    echo "}"
  } >"$dir/nginx.conf"
  "$NGINX" -p "$dir/" -e "$dir/logs/error.log" -c "$dir/nginx.conf" >"$dir/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  local _
  for _ in $(seq 100); do
    # Any answer (404 before the first deploy) means it listens.
    if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then return 0; fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 5 "$dir/logs/error.log" "$dir/logs/stdout.log" >&2 2>/dev/null || true
  stop_site_nginx
  return 1
}

# stop_site_nginx: stops the nginx started by start_site_nginx (no-op if none).
stop_site_nginx() {
  [[ -n "${NGINX_PID:-}" ]] || return 0
  if kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    local _
    for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
  fi
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
}

# page_version URL: the version named on the first line of the page at URL
# ("-" when there is no answer or no marker).
page_version() {
  local body
  body=$(curl -s --max-time 5 "$1" 2>/dev/null) || true
  if [[ "$body" =~ ^'<!-- version '([A-Za-z0-9._+-]+)' begin -->' ]]; then echo "${BASH_REMATCH[1]}"; else echo -; fi
}

# write_plan FILE MODE: a launch plan for one service `web` on the local
# target ${SITE_ROOT}, with the app on ${APP_PORT}. MODE reload: start + graceful
# reload (no stop: the app keeps serving through the switch); MODE restart:
# stop + start. ${SITE_ROOT}, ${APP_PORT}, ${PYTHON} and ${APPCTL} come from the
# process environment; ${VERSION} from the run.
write_plan() {
  local file="$1" mode="$2" commands
  # shellcheck disable=SC2016 # ${NAME} is for shipgate to replace, not the shell
  local ctl='"${PYTHON}", "${APPCTL}"'
  # shellcheck disable=SC2016
  local args='--root, "${SITE_ROOT}", --port, "${APP_PORT}"'
  case "$mode" in
    reload) commands="    start: [$ctl, start, $args]
    reload: [$ctl, reload, $args]" ;;
    restart) commands="    stop: [$ctl, stop, --root, \"\${SITE_ROOT}\"]
    start: [$ctl, start, $args]" ;;
    *) echo "write_plan: MODE is reload or restart" >&2; return 2 ;;
  esac
  cat >"$file" <<EOF
version: 1
name: site
environments: [{name: prod}]
deadline: 1m
keep_releases: 4
services:
  web:
    target: {type: local, roots: ["\${SITE_ROOT}"]}
$commands
    health:
      wait:
        check: {url: "http://127.0.0.1:\${APP_PORT}/version", expect: {status: 200, body: {contains: "\${VERSION}"}}}
        interval: 50ms
        backoff: 1
        deadline: 20s
      checks:
        - name: app page
          url: "http://127.0.0.1:\${APP_PORT}/"
          expect: {status: 200, body: {contains: "version \${VERSION} begin"}}
EOF
}
