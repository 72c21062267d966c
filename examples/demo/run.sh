#!/usr/bin/env bash
# The demo release: a whole release chain of the demo shop, run with shipgate
# against real services started for it on this machine, all on 127.0.0.1 or
# inside network namespaces that the demo makes and removes:
#
#   - six real ssh hosts (OpenSSH sshd, each in its own network and mount
#     namespace): one for test, one for staging, four for prod;
#   - nginx, the prod load balancer in front of the four prod hosts;
#   - PostgreSQL, one database per environment;
#   - an SMTP server (STARTTLS and a login) and a webhook receiver that
#     checks every signature: the team's mail, DingTalk robot and audit hook.
#
# The chain: the test reports of release 1.0 (pytest, run now) -> the release
# gate -> deploy to test -> smoke test -> staging -> the prod deploy refused
# until the tester and the tech lead sign off -> hand-off mail to ops and DBA
# -> prod in canary batches -> smoke test through the load balancer. Then
# release 2.0 (a database change and a new checkout) passes test and staging,
# but its canary in prod fails its health check: shipgate rolls the canary
# and the database change back by itself, and the other prod hosts never
# serve 2.0. Every notification is delivered; the demo prints what arrived.
#
# Usage: run.sh [OUTPUT_DIR]   (default /tmp/shipgate-demo; SHIPGATE=path to
# the executable, default build/shipgate). Needs root (the ssh hosts) and the
# packages of scripts/install-deps.sh. Exit 0 when every step ended as the
# story says; 1 otherwise, naming the step. It stops everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
demo=$root/examples/demo
out=${1:-/tmp/shipgate-demo}
shipgate=${SHIPGATE:-$root/build/shipgate}
[[ -x "$shipgate" ]] || { echo "demo: no shipgate executable at $shipgate (build it: bash scripts/build.sh)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "demo: run it as root (it makes ssh hosts in network namespaces)" >&2; exit 1; }
shipgate=$(cd "$(dirname "$shipgate")" && pwd)/$(basename "$shipgate")
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Only what an earlier demo run left in this folder is removed.
rm -rf "$out"/{steps,reports,artifacts,services,mail,webhooks,outbox,backups,plan-2.0.yml,SUMMARY.md}
mkdir -p "$out"/{steps,reports,artifacts,services}
host_python=/usr/bin/python3

banner() { printf '\n=== %s ===\n' "$*"; }
die() {
  echo "demo: $*" >&2
  echo "demo: everything so far is in $out (steps/ holds each step's JSON, JUnit and Markdown)" >&2
  exit 1
}

# ---------------------------------------------------------------- services

harness=$root/tests/integration/fleet/hosts.sh
fixtures=$root/tests/fixtures/notify
pids=()
cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [[ -f "$out/services/nginx/nginx.pid" ]] && kill "$(cat "$out/services/nginx/nginx.pid")" 2>/dev/null
  "$harness" down "$out/services/fleet" >/dev/null 2>&1 || true
  declare -F pg_stop >/dev/null && { pg_stop >/dev/null 2>&1 || true; }
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

banner "Starting the demo's services"
# Six ssh hosts: test, staging, and four for prod.
"$harness" gc
HARNESS_OWNER=$$ "$harness" up 6 "$out/services/fleet" >"$out/services/hosts.log" 2>&1 ||
  { cat "$out/services/hosts.log" >&2; die "the ssh hosts could not be made"; }
mapfile -t addresses < <(awk '{print $2}' "$out/services/fleet/hosts.txt")
export DEMO_FLEET="$out/services/fleet" DEMO_APP_ROOT="$out/services/fleet/host-root/shop" DEMO_DIR="$demo"
export TEST_HOSTS="${addresses[0]}" STAGING_HOSTS="${addresses[1]}" PROD_HOSTS="${addresses[*]:2:4}"
# Each environment's settings, put on its hosts by ops: the payment gateway in use.
for index in 1 2 3 4 5 6; do
  shared="$out/services/fleet/hosts/0$index/shop/shared"
  mkdir -p "$shared"
  if ((index <= 2)); then
    printf '# payment settings\npayments=sandbox\nfee_rate=0.01\nfee_rate_sandbox=0\n' >"$shared/shop.conf"
  else
    printf '# payment settings\npayments=live\nfee_rate=0.01\nfee_rate_live_gateway=0.006\n' >"$shared/shop.conf"
  fi
done

# PostgreSQL: one database per environment.
source "$root/tests/fixtures/db/pg.sh"
pg_start >/dev/null
for env in test staging prod; do
  pg_create_db "demo_$env" >/dev/null
  export "DEMO_${env}_DATABASE_URL=$(pg_url "demo_$env")"
done

# Mail: an SMTP server that requires STARTTLS and a login, with a
# certificate for 127.0.0.1 that the plan trusts (notify.channels.mail.cacert).
mkdir -p "$out/mail" "$out/webhooks"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$out/services/smtp-key.pem" -out "$out/services/smtp-cert.pem" \
  2>/dev/null || die "openssl could not make the SMTP server's certificate"
export DEMO_CA="$out/services/smtp-cert.pem"
export DEMO_SMTP_PASSWORD="demo-smtp-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
/usr/bin/python3 "$fixtures/smtp_server.py" "$out/mail" --tls "$DEMO_CA" "$out/services/smtp-key.pem" \
  --auth release-bot "$DEMO_SMTP_PASSWORD" >"$out/services/smtp.port" 2>"$out/services/smtp.log" &
pids+=($!)
# Webhooks: the team's DingTalk robot and the signed audit hook, verified
# by a receiver that recomputes each signature.
robot_token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export DEMO_ROBOT_SECRET="SEC$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export DEMO_AUDIT_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
printf '{"dingtalk": {"token": "%s", "secret": "%s"}, "generic": {"secret": "%s"}}\n' \
  "$robot_token" "$DEMO_ROBOT_SECRET" "$DEMO_AUDIT_SECRET" >"$out/webhooks/config.json"
python3 "$fixtures/webhook_receiver.py" "$out/webhooks" >"$out/services/webhooks.port" 2>"$out/services/webhooks.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$out/services/smtp.port" && -s "$out/services/webhooks.port" ]] && break; sleep 0.1; done
export DEMO_SMTP_PORT=$(head -n1 "$out/services/smtp.port") DEMO_HOOK_PORT=$(head -n1 "$out/services/webhooks.port")
[[ -n "$DEMO_SMTP_PORT" && -n "$DEMO_HOOK_PORT" ]] || die "the mail or webhook server did not start (see $out/services/*.log)"
export DEMO_ROBOT_URL="http://127.0.0.1:$DEMO_HOOK_PORT/dingtalk/robot/send?access_token=$robot_token"
export DEMO_OUT="$out"

# nginx: the prod load balancer, in front of the four prod hosts.
# free_ports and nginx_temp_paths, as the deploy tests use them.
source "$root/tests/integration/deploy/lib.sh"
lb_port=$(free_ports 1)
lb=$out/services/nginx
mkdir -p "$lb/temp"
{
  echo "daemon on; pid \"$lb/nginx.pid\"; error_log \"$lb/error.log\" warn; worker_processes 1;"
  echo "events { worker_connections 64; }"
  echo "http {"
  echo "  access_log \"$lb/access.log\";"
  nginx_temp_paths "$lb" | sed 's/^/  /'
  echo "  upstream shop {"
  for address in ${PROD_HOSTS}; do echo "    server $address:8080 max_fails=1 fail_timeout=2s;"; done
  echo "  }"
  echo "  server {"
  echo "    listen 127.0.0.1:$lb_port;"
  echo "    location / { proxy_pass http://shop; proxy_next_upstream error timeout http_502 http_503; }"
  echo "  }"
  echo "}"
} >"$lb/nginx.conf"
/usr/sbin/nginx -p "$lb/" -c "$lb/nginx.conf" -e "$lb/error.log" || die "nginx did not start (see $lb/error.log)"

printf '%-26s %s\n' "ssh hosts (sshd)" "test ${TEST_HOSTS}, staging ${STAGING_HOSTS}, prod ${PROD_HOSTS}" \
  "prod load balancer (nginx)" "http://127.0.0.1:$lb_port/" \
  "PostgreSQL" "127.0.0.1:$PG_PORT, databases demo_test, demo_staging, demo_prod" \
  "SMTP (STARTTLS, login)" "127.0.0.1:$DEMO_SMTP_PORT -> $out/mail/" \
  "webhooks (robot, audit)" "127.0.0.1:$DEMO_HOOK_PORT -> $out/webhooks/received.jsonl"

# ---------------------------------------------------------------- steps

plan=$demo/plan.yml
# Release 2.0's launch plan adds a database change to 1.0's.
plan20=$out/plan-2.0.yml
cp "$plan" "$plan20"
cat >>"$plan20" <<'PLAN'
      - id: order-status
        deploy: "${DEMO_DIR}/db/order-status/deploy.sql"
        verify: "${DEMO_DIR}/db/order-status/verify.sql"
        revert: "${DEMO_DIR}/db/order-status/revert.sql"
PLAN
sed -i "s|^# The demo's launch plan (上线方案) for release 1.0|# Release 2.0's launch plan (上线方案)|" "$plan20"

# step NAME EXPECTED-EXIT COMMAND [ARGS...]: runs `shipgate COMMAND ARGS`
# with its JSON, JUnit and Markdown written to steps/NAME.*; stops the demo
# when the exit code is not the one the story expects.
steps=0
step() {
  local name=$1 expected=$2 words=1 rc
  shift 2
  case $1 in plan | release | lock | db) words=2 ;; esac
  steps=$((steps + 1))
  name=$(printf '%02d-%s' "$steps" "$name")
  set +e
  "$shipgate" "${@:1:words}" "${@:words+1}" --json "$out/steps/$name.json" --junit "$out/steps/$name.junit.xml" \
    --markdown "$out/steps/$name.md" 2> >(tee "$out/steps/$name.log" >&2)
  rc=$?
  set -e
  echo "-> exit $rc ($(meaning "$rc"))"
  [[ $rc == "$expected" ]] || die "step $name: exit $rc, the story expects $expected"
}
meaning() {
  case $1 in
    0) echo "success" ;; 1) echo "negative verdict: failed, or rolled back" ;; 2) echo "usage or inconclusive" ;;
    3) echo "runtime failure" ;; 4) echo "refused by policy before changing anything" ;;
    5) echo "the rollback failed" ;; *) echo "see docs/exit-codes.md" ;;
  esac
}

# Release artifacts as a build makes them: a tarball and its sha256.
build_release() { # VERSION FEATURES
  local tree=$out/artifacts/shop-$1
  mkdir -p "$tree/public"
  cp "$demo/app/shop.py" "$tree/"
  echo "$1" >"$tree/VERSION"
  printf '%s\n' "$2" >"$tree/FEATURES"
  echo "<!doctype html><title>demo shop</title><p>version $1</p>" >"$tree/public/index.html"
  tar czf "$out/artifacts/shop-$1.tar.gz" -C "$tree" .
  (cd "$out/artifacts" && sha256sum "shop-$1.tar.gz" >"shop-$1.tar.gz.sha256")
}
# The release's unit tests, run now by pytest, whose JUnit report the gate reads.
run_tests() { # VERSION
  (cd "$demo/app" && /usr/bin/python3 -m pytest -q -p no:cacheprovider \
    --junitxml="$out/reports/pytest-$1.xml" -o junit_suite_name="shop-$1" >"$out/reports/pytest-$1.log" 2>&1) || true
  tail -n1 "$out/reports/pytest-$1.log"
}
deploy() { # NAME EXPECTED ENV VERSION PLAN
  step "$1" "$2" deploy-stage --plan "$5" --env "$3" --version "$4" --artifact "$out/artifacts/shop-$4.tar.gz" \
    --user ops.wang --ci none
}
signoffs() { # VERSION PLAN
  step "signoff-tester-$1" 0 signoff --plan "$2" --env prod --version "$1" --role tester --by li.lei \
    --decision approve --comment "acceptance run on staging: all cases pass" --ci none
  step "signoff-tech-lead-$1" 0 signoff --plan "$2" --env prod --version "$1" --role tech-lead --by han.meimei \
    --decision approve --comment "launch plan and DB scripts reviewed" --ci none
}
smoke() { # NAME ENV URL VERSION
  step "$1" 0 smoke-test --checks "$demo/smoke.yml" --var "BASE_URL=$3" --environment "$2" \
    --plan "$plan" --version "$4" --ci none
}

banner "1. Release 1.0: its unit tests (pytest), then the release gate (A/B/C criterion)"
build_release 1.0 ""
run_tests 1.0
step gate-1.0 0 gate-on-test-report --report "$out/reports/pytest-1.0.xml" --policy "$demo/policy.yml" \
  --environment test --plan "$plan" --version 1.0 --ci none

banner "2. Deploy 1.0 to test (the database change runs first, after a checked dump), then smoke-test it"
deploy deploy-test-1.0 0 test 1.0 "$plan"
smoke smoke-test-1.0 test "http://$TEST_HOSTS:8080" 1.0

banner "3. Promote 1.0 to staging"
deploy deploy-staging-1.0 0 staging 1.0 "$plan"
step notify-staging-ready-1.0 0 notify --plan "$plan" --env staging --event staging-ready --version 1.0 --ci none

banner "4. Prod without sign-offs is refused; the tester and the tech lead sign off; ops and the DBA get the plan"
deploy deploy-prod-1.0-unsigned 4 prod 1.0 "$plan"
signoffs 1.0 "$plan"
step notify-handoff-1.0 0 notify --plan "$plan" --env prod --event handoff-to-ops --version 1.0 \
  --attach "$plan" --comment "window: tonight 22:00-22:30" --by li.lei --ci none

banner "5. Deploy 1.0 to prod: a canary host first, verified, then the other three in two batches"
deploy deploy-prod-1.0 0 prod 1.0 "$plan"
smoke smoke-prod-1.0 prod "http://127.0.0.1:$lb_port" 1.0

banner "6. Release 2.0 (a new checkout and a database change) passes its tests, test and staging"
build_release 2.0 "new-checkout"
run_tests 2.0
step gate-2.0 0 gate-on-test-report --report "$out/reports/pytest-2.0.xml" --policy "$demo/policy.yml" \
  --environment test --plan "$plan20" --version 2.0 --ci none
echo "What 2.0 will run on test's database (shipgate db plan):"
"$shipgate" db plan --plan "$plan20" --env test --ci none
deploy deploy-test-2.0 0 test 2.0 "$plan20"
deploy deploy-staging-2.0 0 staging 2.0 "$plan20"
signoffs 2.0 "$plan20"

banner "7. 2.0 in prod: the canary's checkout fails with prod's payment settings; shipgate rolls back by itself"
deploy deploy-prod-2.0 1 prod 2.0 "$plan20"
smoke smoke-prod-after-rollback prod "http://127.0.0.1:$lb_port" 1.0

banner "8. What is live in prod, the record, and the database"
"$shipgate" status --plan "$plan" --env prod --ci none
"$shipgate" history --plan "$plan" --env prod --ci none --limit 6
"$shipgate" db status --plan "$plan20" --env prod --ci none

banner "9. Notifications: anything still in the outbox is delivered, then what arrived"
step notify-flush 0 notify --plan "$plan" --env prod --flush --ci none
mails=$(ls "$out/mail"/*.json 2>/dev/null | wc -l)
posts=$(jq -s 'length' "$out/webhooks/received.jsonl")
bad_posts=$(jq -s '[.[] | select(.verdict != "ok")] | length' "$out/webhooks/received.jsonl")
pending=$(jq '[.deliveries[]? | select(.state != "delivered")] | length' "$out/steps/$(printf '%02d' "$steps")-notify-flush.json")
echo "mails received: $mails; webhook posts: $posts (signature or token refused: $bad_posts); left undelivered: $pending"
/usr/bin/python3 - "$out/mail" <<'PY'
import email, email.header, glob, json, os, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.eml")), key=lambda p: int(os.path.basename(p)[:-4])):
    with open(path, "rb") as handle:
        message = email.message_from_binary_file(handle)
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    with open(path[:-4] + ".json") as handle:
        envelope = json.load(handle)
    print("  mail: %-70s to %s" % (subject[:70], ", ".join(envelope["rcpt_tos"])))
PY
jq -r '"  " + .channel + " webhook: " + (.body | fromjson? | (.text.content? // .markdown.title? // .type? // "message")) + " [" + .verdict + "]"' \
  "$out/webhooks/received.jsonl" | cut -c1-110

{
  echo "# shipgate demo release"
  echo
  echo "| step | exit | verdict | headline |"
  echo "|---|---|---|---|"
  for file in "$out/steps/"*.json; do
    jq -r --arg step "$(basename "$file" .json)" '"| \($step) | \(.exit_code) | \(.verdict) | \(.headline | gsub("\\|"; "/")) |"' "$file"
  done
} >"$out/SUMMARY.md"

# ---------------------------------------------------------------- checks

problems=()
jq -r .body "$out/webhooks/received.jsonl" >"$out/services/webhook-bodies.txt"
for address in ${PROD_HOSTS}; do
  version=$(curl -sf "http://$address:8080/health" | jq -r .version) || version=down
  [[ $version == 1.0 ]] || problems+=("prod host $address serves '$version', not 1.0")
done
((mails > 0)) || problems+=("no mail arrived")
reverted=$(jq -c '[.databases.shop.reverted[]?]' "$out/steps/"*-deploy-prod-2.0.json)
[[ $reverted == '["order-status"]' ]] || problems+=("2.0's failed prod deploy reverted $reverted, expected [\"order-status\"]")
for env in test staging prod; do
  grep -q "Database changes of 1.0 done in $env" "$out/services/webhook-bodies.txt" ||
    problems+=("no db-done message for 1.0 in $env")
done
((posts > 0 && bad_posts == 0)) || problems+=("webhook posts: $posts, refused: $bad_posts")
((pending == 0)) || problems+=("$pending notifications left undelivered")
canary_versions=$(jq -r '[.target_states[] | .state] | join(" ")' "$out/steps/"*-deploy-prod-2.0.json)
[[ $canary_versions == "rolled-back untouched untouched untouched" ]] ||
  problems+=("2.0's prod targets ended as: $canary_versions (expected the canary rolled back, three untouched)")
# Every JUnit file against the JUnit schema, when it is at hand.
xsd=${SHIPGATE_JUNIT_XSD:-$root/../shared/schemas/junit-10.xsd}
if [[ -f $xsd ]]; then
  for file in "$out/steps/"*.junit.xml; do
    xmllint --noout --nonet --schema "$xsd" "$file" 2>/dev/null ||
      problems+=("$(basename "$file") does not validate against the JUnit schema $xsd")
  done
fi
# No secret in any output, artifact, outbox entry, mail or webhook body (the
# receiver's own log keeps the robot URL's token it was called with).
if grep -rqF -e "$DEMO_SMTP_PASSWORD" -e "$DEMO_ROBOT_SECRET" -e "$robot_token" -e "$DEMO_AUDIT_SECRET" -e "$PG_PASSWORD" \
  "$out/steps" "$out/outbox" "$out/mail" "$out/backups" "$out/services/webhook-bodies.txt" "$out/SUMMARY.md" 2>/dev/null; then
  problems+=("a secret appears in the demo's outputs")
fi

banner "Where to look"
cat <<EOF
$out/SUMMARY.md          every step with its exit code and headline
$out/steps/              each step's JSON result, JUnit XML, Markdown summary and log
$out/reports/            the test reports the gates read (pytest JUnit)
$out/mail/               every mail as received (.eml) with its envelope (.json)
$out/webhooks/           every webhook post as received (received.jsonl), with its signature check
$out/outbox/             the notification outbox (empty of pending messages once delivered)
$out/artifacts/          the release tarballs and their sha256
EOF
if ((${#problems[@]})); then
  printf 'demo: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo
echo "The demo ran as expected in $SECONDS s: 1.0 is live on the four prod hosts, 2.0 was stopped at its canary and rolled back."
