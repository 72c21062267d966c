#!/usr/bin/env bash
# `shipgate notify` end to end (docs/notify.md), against a real SMTP server
# (aiosmtpd with STARTTLS and AUTH: tests/fixtures/notify/smtp_server.py)
# and a webhook receiver that verifies DingTalk's and Standard Webhooks'
# signatures (tests/fixtures/notify/webhook_receiver.py), both on 127.0.0.1:
#   1. handoff-to-ops in Chinese with an attachment: one mail to ops and the
#      DBA (Chinese subject, the attachment's bytes), the DingTalk robot's
#      message correctly signed; nothing for the audit webhook (not routed).
#   2. --level P0: every channel hears it, the generic webhook among them,
#      with webhook-id = the message id of the result.
#   3. The audit webhook answers 500: deploy-failed at P0 still exits 0 (the
#      channel is not required), the entry stays pending in the outbox; once
#      the receiver is healthy, `notify --flush` delivers it exactly once
#      (same webhook-id), and a second flush has nothing to do.
#   4. The same with the channel required: exit 3.
#   5. deploy-stage sends its own events: deploy-started to ops, then
#      deploy-succeeded to the developers; a broken release sends
#      deploy-failed (P1) after its automatic rollback.
#   gate-on-test-report and smoke-test send test-report and smoke-failed
#   with --plan and --environment.
#   6. No secret (SMTP password, robot URL token, signing secrets) appears in
#      any output, result or outbox file.
#
#   bash tests/integration/notify/cli.sh PATH/TO/shipgate
set -uo pipefail
SHIPGATE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
REPO="$(cd "$(dirname "$0")/../../.." && pwd)"
FIXTURES="$REPO/tests/fixtures/notify"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-notify-cli.XXXXXX")"
PIDS=()
FAILED=0
PASSED=0
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if ((FAILED)); then echo "notify-cli: work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
check_eq() { if [[ "$1" == "$2" ]]; then ok; else bad "$3: got '$1', expected '$2'"; fi; }
check() { local what="$1"; shift; if "$@"; then ok; else bad "$what"; fi; }

# Servers: a certificate for 127.0.0.1, aiosmtpd with STARTTLS + AUTH, the receiver.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null ||
  { echo "notify-cli: openssl failed" >&2; exit 2; }
SMTP_PASSWORD='Smtp-Canary-7f3a#pw'
ROBOT_TOKEN='robotTokenCanary0123456789abcdef'
ROBOT_SECRET='SECrobotSecretCanary42'
AUDIT_SECRET="whsec_$(printf 'audit-secret-canary-0123456789' | base64)"
mkdir -p "$WORK/mail" "$WORK/hooks"
/usr/bin/python3 "$FIXTURES/smtp_server.py" "$WORK/mail" --tls "$WORK/cert.pem" "$WORK/key.pem" \
  --auth release-bot "$SMTP_PASSWORD" >"$WORK/smtp.port" 2>"$WORK/smtp.log" &
PIDS+=($!)
cat >"$WORK/hooks/config.json" <<JSON
{"dingtalk": {"token": "$ROBOT_TOKEN", "secret": "$ROBOT_SECRET"}, "generic": {"secret": "$AUDIT_SECRET"}}
JSON
python3 "$FIXTURES/webhook_receiver.py" "$WORK/hooks" >"$WORK/hooks.port" 2>"$WORK/hooks.log" &
PIDS+=($!)
for _ in $(seq 50); do [[ -s "$WORK/smtp.port" && -s "$WORK/hooks.port" ]] && break; sleep 0.1; done
SMTP_PORT="$(head -n1 "$WORK/smtp.port")"
HOOK_PORT="$(head -n1 "$WORK/hooks.port")"
[[ -n "$SMTP_PORT" && -n "$HOOK_PORT" ]] || { echo "notify-cli: the servers did not start" >&2; cat "$WORK"/*.log >&2; exit 2; }

# What every shipgate run of this test gets: a minimal environment and the secrets.
RUN_ENV=(PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 TZ=UTC SMTP_PASSWORD="$SMTP_PASSWORD"
         OPS_ROBOT_URL="http://127.0.0.1:$HOOK_PORT/dingtalk/robot/send?access_token=$ROBOT_TOKEN"
         OPS_ROBOT_SECRET="$ROBOT_SECRET" AUDIT_SECRET="$AUDIT_SECRET")
plan() { # REQUIRED(true|false)
  cat >"$WORK/plan.yml" <<YAML
version: 1
name: shop
environments: [test, prod]
services:
  web:
    target: {type: local, roots: ["$WORK/root/\${ENV}"]}
    health:
      checks:
        - name: healthy
          command: [grep, -qx, ok, "$WORK/root/\${ENV}/current/public/health"]
notify:
  lang: zh
  outbox: outbox
  channels:
    mail:
      type: smtp
      url: "smtp://127.0.0.1:$SMTP_PORT"
      username: release-bot
      password_env: SMTP_PASSWORD
      from: "发布机器人 <release@example.com>"
      cacert: cert.pem
    ops-robot:
      type: dingtalk
      url_env: OPS_ROBOT_URL
      secret_env: OPS_ROBOT_SECRET
    audit:
      type: webhook
      url: "http://127.0.0.1:$HOOK_PORT/generic/shipgate"
      secret_env: AUDIT_SECRET
      required: $1
  roles:
    ops: [ops@example.com, ops-robot]
    dba: [dba@example.com]
    developer: [dev@example.com]
YAML
}
sg() { # EXPECTED ARGS...
  local want="$1"
  shift
  env -i "${RUN_ENV[@]}" "$SHIPGATE" notify --ci none --plan "$WORK/plan.yml" --env prod "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
  if [[ "$got" != "$want" ]]; then bad "notify $*: exit $got, expected $want"; sed 's/^/  | /' "$WORK/out" "$WORK/err" >&2; else ok; fi
}
received() { jq -sc "$1" "$WORK/hooks/received.jsonl" 2>/dev/null; }
inspect() { /usr/bin/python3 "$FIXTURES/smtp_inspect.py" "$1"; }

plan false
cp "$WORK/cert.pem" "$WORK/cert.pem" 2>/dev/null
printf '# 上线方案 1.4.0\n先执行数据库脚本。\n' >"$WORK/上线方案.md"

# 1. handoff-to-ops
sg 0 --event handoff-to-ops --version 1.4.0 --attach "$WORK/上线方案.md" --comment "窗口：周六 22:00" --json "$WORK/r1.json"
check_eq "$(jq -c '[.deliveries[] | [.channel, .state]] | sort' "$WORK/r1.json")" '[["mail","delivered"],["ops-robot","delivered"]]' "deliveries of handoff-to-ops"
check_eq "$(ls "$WORK/mail"/*.eml 2>/dev/null | wc -l)" 1 "mails received"
mail="$(inspect "$WORK/mail/1.eml")"
check_eq "$(jq -r '.headers.Subject[0]' <<<"$mail")" "【shop】1.4.0 移交运维和 DBA：prod" "the Chinese subject"
check_eq "$(jq -c '.rcpt_tos' "$WORK/mail/1.json")" '["ops@example.com","dba@example.com"]' "the envelope recipients"
check_eq "$(jq -r '[.parts[] | select(.filename != null)][0].filename' <<<"$mail")" "上线方案.md" "the attachment's name"
check_eq "$(jq -r '[.parts[] | select(.filename != null)][0].sha256' <<<"$mail")" "$(sha256sum "$WORK/上线方案.md" | cut -d' ' -f1)" "the attachment's bytes"
check "the body has the comment" grep -q "窗口：周六 22:00" <(jq -r '.parts[].text // empty' <<<"$mail")
check_eq "$(received '[.[] | select(.channel == "dingtalk") | .verdict]')" '["ok"]' "the robot's signature and token, checked by the receiver"
check_eq "$(received '[.[] | select(.channel == "generic")] | length')" 0 "audit is not routed for handoff-to-ops"

# 2. P0 reaches every channel
sg 0 --event deploy-started --version 1.4.0 --level P0 --json "$WORK/r2.json"
id="$(jq -r .message_id "$WORK/r2.json")"
check_eq "$(received "[.[] | select(.channel == \"generic\") | [.verdict, .headers[\"webhook-id\"]]]")" "[[\"ok\",\"$id\"]]" "the generic webhook at P0, signed, webhook-id = the message id"

# 3. the audit webhook fails: pending, then one flush delivers it once
echo '{"generic": {"mode": "500"}}' >"$WORK/hooks/modes.json"
sg 0 --event deploy-failed --version 1.4.0 --level P0 --json "$WORK/r3.json"
id3="$(jq -r .message_id "$WORK/r3.json")"
check_eq "$(jq -r '.deliveries[] | select(.channel == "audit") | .state' "$WORK/r3.json")" pending "audit after three 500s"
check "a warning names the outbox" grep -q "kept in the outbox for .shipgate notify --flush" "$WORK/out"
rm -f "$WORK/hooks/modes.json"
sg 0 --flush --json "$WORK/flush.json"
check_eq "$(jq -c '[.deliveries[] | [.channel, .state]]' "$WORK/flush.json")" '[["audit","delivered"]]' "what the flush delivered"
check_eq "$(received "[.[] | select(.channel == \"generic\" and .headers[\"webhook-id\"] == \"$id3\" and .verdict == \"ok\")] | length")" 1 "deliveries of the failed message (exactly once)"
sg 0 --flush --json "$WORK/flush2.json"
check_eq "$(jq '.deliveries | length' "$WORK/flush2.json")" 0 "a second flush delivers nothing"

# 4. a required channel that fails: exit 3
plan true
echo '{"generic": {"mode": "500"}}' >"$WORK/hooks/modes.json"
sg 3 --event rollback-failed --version 1.4.0
rm -f "$WORK/hooks/modes.json"

# 5. deploy-stage's own events
plan false
"$REPO/tests/fixtures/deploy/make-artifacts.sh" "$WORK/art" 1.0 1.1:broken >/dev/null
mails_before=$(ls "$WORK/mail"/*.json | wc -l)
deploy() { # EXPECTED VERSION JSON
  env -i "${RUN_ENV[@]}" "$SHIPGATE" deploy-stage --ci none --plan "$WORK/plan.yml" --env test --version "$2" \
    --artifact "$WORK/art/app-$2.tar.gz" --json "$WORK/$3" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
  if [[ "$got" != "$1" ]]; then bad "deploy-stage $2: exit $got, expected $1"; sed 's/^/  | /' "$WORK/out" "$WORK/err" >&2; else ok; fi
}
deploy 0 1.0 d1.json
check_eq "$(jq -c '[.notifications[].event]' "$WORK/d1.json")" '["deploy-started","deploy-succeeded"]' "events of a successful deploy"
subjects() {
  for meta in $(ls "$WORK/mail"/*.json | sort -V | tail -n +$((mails_before + 1))); do
    printf '%s %s\n' "$(inspect "${meta%.json}.eml" | jq -r '.headers.Subject[0]')" "$(jq -c .rcpt_tos "$meta")"
  done
}
check_eq "$(subjects)" "【shop】开始部署 1.0 到 test [\"ops@example.com\"]
【shop】1.0 已在 test 上线 [\"dev@example.com\"]" "the mails of a successful deploy"
mails_before=$(ls "$WORK/mail"/*.json | wc -l)
deploy 1 1.1 d2.json
check_eq "$(jq -c '[.notifications[] | [.event, .urgency]]' "$WORK/d2.json")" '[["deploy-started","P3"],["deploy-failed","P1"]]' "events of a failed deploy"
failed_mail="$(ls "$WORK/mail"/*.eml | sort -V | tail -n1)"
check "the failure mail says why" grep -q "healthy" <(inspect "$failed_mail" | jq -r '.parts[].text // empty')

# gate-on-test-report and smoke-test send theirs with --plan and --environment
run_step() { # EXPECTED ARGS...
  local want="$1"
  shift
  env -i "${RUN_ENV[@]}" "$SHIPGATE" "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  cat "$WORK/out" "$WORK/err" >>"$WORK/all-output"
  if [[ "$got" != "$want" ]]; then bad "$1: exit $got, expected $want"; sed 's/^/  | /' "$WORK/out" "$WORK/err" >&2; else ok; fi
}
run_step 1 gate-on-test-report --ci none --environment test --report "$REPO/tests/fixtures/producers/pytest-xunit1/report.xml" \
  --plan "$WORK/plan.yml" --version 1.2 --json "$WORK/gate.json"
check_eq "$(jq -c '[.notifications[] | [.event, .urgency, ([.deliveries[].recipients[]] | join(","))]]' "$WORK/gate.json")" \
  '[["test-report","P2","dev@example.com"]]' "the gate's test report (failed: P2) to the developers"
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_step 3 smoke-test --ci none --environment test --url "http://127.0.0.1:$closed_port/health" --timeout 1s \
  --plan "$WORK/plan.yml" --version 1.2 --json "$WORK/smoke.json"
check_eq "$(jq -c '[.notifications[] | [.event, .urgency, ([.deliveries[].channel] | sort)]]' "$WORK/smoke.json")" \
  '[["smoke-failed","P1",["mail","ops-robot"]]]' "the smoke test's failure to developers, testers and ops"

# 6. secrets
for secret in "$SMTP_PASSWORD" "$ROBOT_TOKEN" "$ROBOT_SECRET" "$AUDIT_SECRET"; do
  if grep -rqF -- "$secret" "$WORK/all-output" "$WORK"/r*.json "$WORK"/flush*.json "$WORK/outbox"; then
    bad "a secret appears in an output, result or the outbox: ${secret:0:6}…"
  else
    ok
  fi
done

echo "notify-cli: $PASSED passed, $FAILED failed"
((FAILED == 0))
