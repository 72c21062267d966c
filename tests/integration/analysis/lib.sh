# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Helpers for the metric analysis tests (sourced, not run):
#   source tests/integration/analysis/lib.sh
# They build releases of the metrics test app (tests/fixtures/metrics_app),
# run a real Prometheus server that scrapes the apps every second, and ask
# it what it has. Everything stays on 127.0.0.1 and inside the folders given.
# Needs: prometheus (Debian package `prometheus`), python3, curl, jq, tar, sha256sum.

ANALYSIS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/integration/deploy/lib.sh
source "$ANALYSIS_LIB_DIR/../deploy/lib.sh" # free_ports, PYTHON
METRICS_APP="$DEPLOY_REPO/tests/fixtures/metrics_app/app.py"
PROMETHEUS="${PROMETHEUS:-$(command -v prometheus || echo /usr/bin/prometheus)}"
PROM_PID=""
PROM_PORT=""

# make_metrics_artifact VERSION OUT_DIR BEHAVIOUR_JSON: OUT_DIR/metrics-VERSION.tar.gz
# (app.py, VERSION, behaviour.json) and its sha256sum file beside it.
make_metrics_artifact() {
  local version="$1" out="$2" behaviour="$3" tree
  mkdir -p "$out"
  tree="$out/tree-$version"
  rm -rf "$tree"
  mkdir -p "$tree"
  cp "$METRICS_APP" "$tree/app.py"
  printf '%s\n' "$version" >"$tree/VERSION"
  printf '%s\n' "$behaviour" >"$tree/behaviour.json"
  tar -C "$tree" -czf "$out/metrics-$version.tar.gz" app.py VERSION behaviour.json
  (cd "$out" && sha256sum "metrics-$version.tar.gz" >"metrics-$version.tar.gz.sha256")
  rm -rf "$tree"
}

# start_prometheus DIR PORT APP_PORT...: Prometheus on 127.0.0.1:PORT in the
# background (PROM_PID), its configuration and data in DIR, scraping job
# `app` on every APP_PORT each second. Data already in DIR is kept (a
# restart). Returns 1 (after printing its log) if it is not ready in 30 s.
start_prometheus() {
  local dir="$1" port="$2" targets="" app_port
  shift 2
  for app_port in "$@"; do targets+="${targets:+, }\"127.0.0.1:$app_port\""; done
  mkdir -p "$dir/data"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [$targets]
EOF
  "$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=1h \
    --log.level=warn >>"$dir/prometheus.log" 2>&1 </dev/null &
  PROM_PID=$!
  PROM_PORT="$port"
  local _
  for _ in $(seq 300); do
    if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/-/ready"; then return 0; fi
    kill -0 "$PROM_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "prometheus did not become ready on 127.0.0.1:$port; last lines of $dir/prometheus.log:" >&2
  tail -n 20 "$dir/prometheus.log" >&2
  stop_prometheus
  return 1
}

# stop_prometheus: stops the Prometheus of start_prometheus (no-op if none).
stop_prometheus() {
  [[ -n "${PROM_PID:-}" ]] || return 0
  if kill -0 "$PROM_PID" 2>/dev/null; then
    kill -TERM "$PROM_PID" 2>/dev/null || true
    local _
    for _ in $(seq 100); do kill -0 "$PROM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PROM_PID" 2>/dev/null || true
  fi
  wait "$PROM_PID" 2>/dev/null || true
  PROM_PID=""
}

# prom_query EXPR: the value of an instant query: the number of a scalar or
# of a one-series vector, `none` for an empty vector, `many` for more than
# one series, `error: ...` when Prometheus refuses or does not answer.
prom_query() {
  local answer
  answer=$(curl -s --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1") ||
    { echo "error: no answer from 127.0.0.1:$PROM_PORT"; return 0; }
  jq -r 'if .status != "success" then "error: \(.errorType): \(.error)"
         elif .data.resultType == "scalar" then .data.result[1]
         elif (.data.result | length) == 0 then "none"
         elif (.data.result | length) > 1 then "many"
         else .data.result[0].value[1] end' <<<"$answer"
}

# prom_wait EXPR SECONDS: waits until EXPR has a value (not none/error);
# returns 1 when it has none after SECONDS.
prom_wait() {
  local expr="$1" deadline=$((SECONDS + $2)) value
  while ((SECONDS <= deadline)); do
    value=$(prom_query "$expr")
    [[ "$value" != none && "$value" != error* && "$value" != NaN ]] && return 0
    sleep 0.25
  done
  echo "prom_wait: '$expr' has no value after $2 s (last: $value)" >&2
  return 1
}

# The queries of the analysis, for version $1 over a $2 window (default 5s).
error_ratio_query() {
  local w="${2:-5s}"
  printf 'sum(rate(app_requests_total{code=~"5..",version="%s"}[%s])) / sum(rate(app_requests_total{version="%s"}[%s]))' \
    "$1" "$w" "$1" "$w"
}
p95_query() {
  printf 'histogram_quantile(0.95, sum by (le) (rate(app_request_duration_seconds_bucket{version="%s"}[%s])))' \
    "$1" "${2:-5s}"
}

# Apps outside a deploy (the harness's own check): start_app ROOT,
# stop_app ROOT, with the port in ROOT/shared/app.port.
start_app() { "$PYTHON" "$METRICS_APP" start --root "$1" >/dev/null; }
stop_app() { "$PYTHON" "$METRICS_APP" stop --root "$1" >/dev/null; }

# stop_all_apps ROOT...: stops the app of every root (for a trap).
stop_all_apps() {
  local root
  for root in "$@"; do "$PYTHON" "$METRICS_APP" stop --root "$root" >/dev/null 2>&1 || true; done
}

# live_version ROOT: the VERSION of the release `current` points at (`none`).
live_version() {
  if [[ -f "$1/current/VERSION" ]]; then cat "$1/current/VERSION"; else echo none; fi
}
