#!/usr/bin/env bash
# Checks the Jenkins integration (plugins/jenkins) with what runs on this machine;
# Jenkins itself does not (no package, no network to jenkins.io):
#   1. npm-groovy-lint (CodeNarc, with plugins/jenkins/.groovylintrc.json) finds no
#      error in the Jenkinsfile, the example Jenkinsfile and every library file, and
#      does find one in a copy with a syntax error (so the linter really runs);
#   2. a dry run (dryrun.groovy) of the library and of the example Jenkinsfile in a
#      stand-in for the Jenkins pipeline DSL (standin/), run with the Groovy jar that
#      npm-groovy-lint ships, against the real shipgate binary;
#   3. every JUnit file the dry run published validates against junit-10.xsd, and the
#      secret of the secret checks appears in no log or artifact but the control's.
# Usage: run.sh PATH_TO_SHIPGATE. Prints "N checks passed"; exits 1 at the first
# failure with what was expected (the work folder is then kept).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PATH_TO_SHIPGATE" >&2
  exit 2
fi
shipgate=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$here/../../../.." && pwd)
JUNIT_XSD=${SHIPGATE_JUNIT_XSD:-$REPO/../shared/schemas/junit-10.xsd}
eval "$(bash "$REPO/scripts/install-ci-clients.sh")"

WORK=$(mktemp -d /tmp/shipgate-ci-jenkins.XXXXXX)
pids=()
ok=false
cleanup() {
  local pid
  # Each JVM (and the webhook receiver) runs in its own process group.
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $ok == true ]]; then
    rm -rf "$WORK"
  else
    echo "work folder kept: $WORK" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

passed=0
pass() {
  passed=$((passed + 1))
  echo "ok $passed - $*"
}
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# in_group DIR OUT COMMAND...: runs COMMAND in DIR in a process group of its own (so
# the trap can end it and all it started), stdout and stderr to OUT; returns its status.
in_group() {
  local dir=$1 out=$2
  shift 2
  (cd "$dir" && exec setsid -w "$@" >"$out" 2>&1) &
  pids+=("$!")
  local status=0
  wait "$!" || status=$?
  return "$status"
}

# ---- 1. npm-groovy-lint ------------------------------------------------------------
library="$REPO/plugins/jenkins"
mapfile -t lint_files < <(cd "$REPO" && printf '%s\n' Jenkinsfile plugins/jenkins/examples/Jenkinsfile &&
  find plugins/jenkins/vars plugins/jenkins/src -name '*.groovy' | sort)
lint() { # lint DIR OUT FILES... (relative to DIR)
  in_group "$1" "$2" npm-groovy-lint --noserver --failon error --output txt \
    --config "$library/.groovylintrc.json" "${@:3}"
}
status=0
lint "$REPO" "$WORK/lint.txt" "${lint_files[@]}" || status=$?
sed -i 's/\x1b\[[0-9;]*m//g' "$WORK/lint.txt"
[[ $status == 0 ]] || fail "npm-groovy-lint: expected no error, exit $status:"$'\n'"$(cat "$WORK/lint.txt")"
grep -q "in ${#lint_files[@]} linted files" "$WORK/lint.txt" ||
  fail "npm-groovy-lint: expected ${#lint_files[@]} linted files:"$'\n'"$(tail -12 "$WORK/lint.txt")"
pass "npm-groovy-lint: no error in the ${#lint_files[@]} files (Jenkinsfile, example, library)"

# Copies with a syntax error (a brace missing, a brace too many) must be refused.
mkdir -p "$WORK/broken"
sed '0,/^    stages {$/s//    stages/' "$library/examples/Jenkinsfile" >"$WORK/broken/Jenkinsfile"
cp "$library/vars/shipgateDeploy.groovy" "$WORK/broken/shipgateDeploy.groovy"
echo 'def broken( {' >>"$WORK/broken/shipgateDeploy.groovy"
status=0
lint "$WORK/broken" "$WORK/lint-broken.txt" Jenkinsfile shipgateDeploy.groovy || status=$?
sed -i 's/\x1b\[[0-9;]*m//g' "$WORK/lint-broken.txt"
[[ $status != 0 ]] || fail "npm-groovy-lint: expected a failure for the syntax errors, exit 0"
for file in Jenkinsfile shipgateDeploy.groovy; do
  # The file's block: its path on a line of its own, then one line per finding.
  awk -v f="$WORK/broken/$file" '$0 == f { inside = 1; next } /^\// { inside = 0 } inside && /NglParseError/ { found = 1 }
    END { exit !found }' "$WORK/lint-broken.txt" ||
    fail "npm-groovy-lint: expected NglParseError for $file:"$'\n'"$(cat "$WORK/lint-broken.txt")"
  pass "npm-groovy-lint: the syntax error in a copy of $file is reported (NglParseError)"
done

# ---- 2. the dry run ----------------------------------------------------------------------
# shellcheck source=tests/integration/ci/jenkins/fixtures.sh
source "$here/fixtures.sh"
write_lib_workspace
write_example_workspace

# A webhook receiver on 127.0.0.1 for the notifications.
setsid python3 "$REPO/tests/integration/servers/test_server.py" 0 >"$WORK/hook.out" 2>"$WORK/hook.err" &
pids+=("$!")
for _ in $(seq 50); do
  [[ -s "$WORK/hook.out" ]] && break
  sleep 0.1
done
hook_port=$(head -n 1 "$WORK/hook.out")
[[ $hook_port =~ ^[0-9]+$ ]] || fail "the webhook receiver did not start: $(cat "$WORK/hook.err")"

groovy_lib=$(dirname "$(find "$(dirname "$(command -v npm-groovy-lint)")/../npm-groovy-lint/lib/java" \
  -name 'groovy-[0-9]*.jar' | head -n 1)")
[[ -d $groovy_lib ]] || fail "the Groovy jar of npm-groovy-lint was not found"
classpath=$(printf '%s:' "$groovy_lib"/groovy-[0-9]*.jar "$groovy_lib"/groovy-json-*.jar "$groovy_lib"/groovy-xml-*.jar)
status=0
in_group "$WORK" "$WORK/dryrun.txt" timeout 240 java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "${classpath%:}" \
  groovy.ui.GroovyMain "$here/dryrun.groovy" "$REPO" "$WORK" "$shipgate" "http://127.0.0.1:$hook_port/echo" \
  "$((passed + 1))" || status=$?
grep -v '^dry run:' "$WORK/dryrun.txt" || true
[[ $status == 0 ]] || fail "the dry run failed (exit $status), see above"
passed=$((passed + $(cat "$WORK/dryrun.count")))

# ---- 3. what the builds published --------------------------------------------------------
mapfile -t junit_files <"$WORK/junit-files.txt"
((${#junit_files[@]} >= 10)) || fail "expected at least 10 published JUnit files, found ${#junit_files[@]}"
for file in "${junit_files[@]}"; do
  xmllint --noout --schema "$JUNIT_XSD" "$file" 2>"$WORK/xmllint.txt" ||
    fail "$file does not validate against junit-10.xsd: $(cat "$WORK/xmllint.txt")"
done
pass "all ${#junit_files[@]} published JUnit files validate against junit-10.xsd"

secret='Sup3r-S3cret-Credential-917'
leaks=$(grep -rlF -- "$secret" "$WORK/jenkins/builds" | grep -v -- '-secret-control/' || true)
[[ -z $leaks ]] || fail "the secret appears outside the control build: $leaks"
grep -rqlF -- "$secret" "$WORK"/jenkins/builds/*-secret-control/archive ||
  fail "control: the secret should be in the artifacts of the build without secretEnv"
pass "the secret is in no build log or artifact (only in the control build without secretEnv)"

ok=true
echo "$passed checks passed"
