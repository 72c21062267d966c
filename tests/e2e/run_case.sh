#!/usr/bin/env bash
# Runs one golden end-to-end case against the real shipgate binary.
#
#   bash tests/e2e/run_case.sh PATH/TO/shipgate tests/e2e/cases/CASE
#
# A case folder holds (see tests/e2e/README.md):
#   cmd              one line: the arguments after `shipgate`. Words split on
#                    blanks; '...' and "..." quote; \ escapes the next char
#                    outside single quotes. Only $FIXTURES, $CASE, $WORK and
#                    $REPO (also as ${NAME}) are replaced, outside single
#                    quotes. No globbing, no command substitution, no eval.
#   env              optional KEY=VALUE lines exported for the run (the value
#                    is taken literally apart from the same four variables).
#   exit             expected exit code.
#   stdout, stderr   optional: every line is an extended regex that must match
#                    the whole corresponding output line; line counts must agree.
#   stdout.contains, stderr.contains
#                    optional: every line must occur (as a fixed string) somewhere.
#   stdout.absent, stderr.absent
#                    optional: no line may occur anywhere.
#                    (.contains/.absent lines get the same $VARS replaced.)
#   setup.sh         optional: run before the command (e.g. to prepare $WORK,
#                    start servers; $WORK/servers.env KEY=VALUE lines are
#                    added to the command's environment).
#   teardown.sh      optional: always run at the end (stop the servers).
#   check.sh         optional: extra assertions run after the command.
# setup.sh and check.sh run with bash from the repo root, with WORK, CASE,
# FIXTURES, REPO, SHIPGATE, STDOUT, STDERR (files holding the captured output)
# and EXIT_CODE in the environment; a non-zero exit fails the case.
#
# The command runs from the repo root in a minimal environment (PATH, HOME,
# LANG/LC_ALL=C.UTF-8, TZ=UTC plus the case's env): no NO_COLOR, no CI
# variables from the machine running the tests. Unless the case's env sets a
# CI (GITHUB_ACTIONS, GITLAB_CI, CI_JOB_ID, JENKINS_URL), `--ci none` is
# inserted right after the step name (both words of "plan show"), so a developer's shell and a real CI
# job see the same output.
#
# On success the temp dir is removed; on failure it is kept and its path
# printed (it holds work/ = $WORK, stdout, stderr).
# SHIPGATE_E2E_BLESS=1 rewrites an existing `stdout`/`stderr` file from the
# actual output (regex-escaped); review the diff before committing it.
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PATH/TO/shipgate CASE_DIR" >&2
  exit 2
fi

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHIPGATE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
CASE="$(cd "$2" && pwd)"
FIXTURES="$REPO/tests/fixtures"
NAME="$(basename "$CASE")"
export LC_ALL=C.UTF-8 # the regexes below and the output use UTF-8

if [[ ! -x "$SHIPGATE" ]]; then
  echo "e2e/$NAME: shipgate binary not found or not executable: $SHIPGATE" >&2
  exit 2
fi
for required in cmd exit; do
  if [[ ! -f "$CASE/$required" ]]; then
    echo "e2e/$NAME: the case has no '$required' file" >&2
    exit 2
  fi
done

ROOT="$(mktemp -d "${TMPDIR:-/tmp}/shipgate-e2e-$NAME.XXXXXX")"
WORK="$ROOT/work"
mkdir -p "$WORK"
STDOUT="$ROOT/stdout"
STDERR="$ROOT/stderr"
FAILED=0

fail() {
  FAILED=1
  printf 'e2e/%s: FAIL: %s\n' "$NAME" "$*"
}

# Replaces $FIXTURES, $CASE, $WORK, $REPO (and ${...}) in $1; prints the result.
expand_vars() {
  local text="$1" out="" name rest
  while [[ "$text" == *'$'* ]]; do
    out+="${text%%\$*}"
    rest="${text#*\$}"
    name=""
    if [[ "$rest" =~ ^\{(FIXTURES|CASE|WORK|REPO)\}(.*)$ ]] || [[ "$rest" =~ ^(FIXTURES|CASE|WORK|REPO)([^A-Za-z0-9_].*)?$ ]]; then
      name="${BASH_REMATCH[1]}"
      rest="${BASH_REMATCH[2]}"
      out+="${!name}"
    else
      out+='$'
    fi
    text="$rest"
  done
  printf '%s' "$out$text"
}

# Splits the cmd line into the ARGS array (quotes, backslash, $VARS as above).
split_cmd() {
  local line="$1" word="" in_word=0 quote="" c i segment=""
  ARGS=()
  flush_segment() {
    if [[ "$quote" == "'" ]]; then word+="$segment"; else word+="$(expand_vars "$segment")"; fi
    segment=""
  }
  for ((i = 0; i < ${#line}; i++)); do
    c="${line:i:1}"
    if [[ "$quote" == "'" ]]; then
      if [[ "$c" == "'" ]]; then flush_segment; quote=""; else segment+="$c"; fi
    elif [[ "$quote" == '"' ]]; then
      if [[ "$c" == '"' ]]; then flush_segment; quote="";
      elif [[ "$c" == '\' && $((i + 1)) -lt ${#line} ]]; then i=$((i + 1)); segment+="${line:i:1}";
      else segment+="$c"; fi
    elif [[ "$c" == ' ' || "$c" == $'\t' ]]; then
      flush_segment
      if ((in_word)); then ARGS+=("$word"); fi
      word=""; in_word=0
    elif [[ "$c" == "'" || "$c" == '"' ]]; then
      flush_segment; quote="$c"; in_word=1
    elif [[ "$c" == '\' && $((i + 1)) -lt ${#line} ]]; then
      flush_segment; i=$((i + 1)); word+="${line:i:1}"; in_word=1
    else
      segment+="$c"; in_word=1
    fi
  done
  if [[ -n "$quote" ]]; then
    echo "e2e/$NAME: unterminated $quote quote in cmd" >&2
    exit 2
  fi
  flush_segment
  if ((in_word)); then ARGS+=("$word"); fi
}

# The environment of the command: minimal, plus the case's env file.
RUN_ENV=(PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC TMPDIR="${TMPDIR:-/tmp}")
CASE_SETS_CI=0
if [[ -f "$CASE/env" ]]; then
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "${line// /}" || "$line" == \#* ]] && continue
    if [[ ! "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      echo "e2e/$NAME: bad line in env (want KEY=VALUE): $line" >&2
      exit 2
    fi
    key="${BASH_REMATCH[1]}"
    RUN_ENV+=("$key=$(expand_vars "${BASH_REMATCH[2]}")")
    case "$key" in GITHUB_ACTIONS | GITLAB_CI | CI_JOB_ID | JENKINS_URL) CASE_SETS_CI=1 ;; esac
  done <"$CASE/env"
fi

IFS= read -r cmd_line <"$CASE/cmd" || true
split_cmd "$cmd_line"
if ((!CASE_SETS_CI)) && ((${#ARGS[@]} > 0)) && [[ "${ARGS[0]}" != -* ]]; then
  # Two-word commands ("plan show", "lock release") take it after the second word.
  words=1
  case "${ARGS[0]}" in plan | release | lock | db) ((${#ARGS[@]} > 1)) && [[ "${ARGS[1]}" != -* ]] && words=2 ;; esac
  ARGS=("${ARGS[@]:0:words}" --ci none "${ARGS[@]:words}")
fi

HOOK_ENV=(WORK="$WORK" CASE="$CASE" FIXTURES="$FIXTURES" REPO="$REPO" SHIPGATE="$SHIPGATE"
          STDOUT="$STDOUT" STDERR="$STDERR")

cd "$REPO" || exit 2

# teardown.sh stops what setup.sh started, whatever happens in between; it
# runs before $WORK is removed (the servers' pid files are in it).
teardown() {
  [[ -f "$CASE/teardown.sh" ]] || return 0
  env "${HOOK_ENV[@]}" bash "$CASE/teardown.sh" >/dev/null 2>&1 || true
}
trap teardown EXIT

if [[ -f "$CASE/setup.sh" ]]; then
  if ! env "${HOOK_ENV[@]}" bash "$CASE/setup.sh"; then
    echo "e2e/$NAME: setup.sh failed; temp dir kept: $ROOT" >&2
    exit 1
  fi
fi

# Servers started by setup.sh publish their ports as KEY=VALUE lines in
# $WORK/servers.env; shipgate sees them as environment variables, so checks
# can use ${HTTP_PORT}.
if [[ -f "$WORK/servers.env" ]]; then
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && RUN_ENV+=("$line")
  done <"$WORK/servers.env"
fi

printf 'e2e/%s: shipgate' "$NAME"
((${#ARGS[@]})) && printf ' %q' "${ARGS[@]}"
printf '\n'
env -i "${RUN_ENV[@]}" timeout 120 "$SHIPGATE" "${ARGS[@]}" </dev/null >"$STDOUT" 2>"$STDERR"
EXIT_CODE=$?

expected_exit="$(tr -d ' \n\r\t' <"$CASE/exit")"
if [[ "$EXIT_CODE" != "$expected_exit" ]]; then
  fail "exit code $EXIT_CODE, expected $expected_exit"
fi

# Escapes a literal line into an ERE that matches exactly it.
regex_escape() { sed -e 's/[][\.*^$+?(){}|]/\\&/g'; }

# compare_lines EXPECTED_FILE ACTUAL_FILE LABEL: whole-line regex match, line by line.
compare_lines() {
  local expected="$1" actual="$2" label="$3"
  local -a want got
  mapfile -t want <"$expected"
  mapfile -t got <"$actual"
  local i n=${#want[@]} bad=-1
  ((${#got[@]} > n)) && n=${#got[@]}
  for ((i = 0; i < n; i++)); do
    if ((i >= ${#want[@]} || i >= ${#got[@]})) || ! [[ "${got[i]}" =~ ^(${want[i]})$ ]]; then
      bad=$i
      break
    fi
  done
  if ((bad >= 0)); then
    if [[ "${SHIPGATE_E2E_BLESS:-}" == 1 ]]; then
      regex_escape <"$actual" >"$expected"
      echo "e2e/$NAME: blessed $expected from the actual $label; review the diff"
      return
    fi
    fail "$label line $((bad + 1)) does not match"
    echo "  expected (regex): ${want[bad]-<end of output>}"
    echo "  actual:           ${got[bad]-<end of output>}"
    # Lines whose pattern matches show as the actual text, so the diff only
    # shows the lines that really differ (as their patterns).
    local shown="$ROOT/$label.expected"
    for ((i = 0; i < ${#want[@]}; i++)); do
      if ((i < ${#got[@]})) && [[ "${got[i]}" =~ ^(${want[i]})$ ]]; then
        printf '%s\n' "${got[i]}"
      else
        printf '%s\n' "${want[i]}"
      fi
    done >"$shown"
    echo "  --- expected ($expected, as patterns where they fail) +++ actual $label:"
    diff -u --label expected --label actual "$shown" "$actual" | sed 's/^/  /'
  fi
}

check_stream() {
  local stream="$1" actual="$2"
  [[ -f "$CASE/$stream" ]] && compare_lines "$CASE/$stream" "$actual" "$stream"
  local line
  if [[ -f "$CASE/$stream.contains" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      [[ -z "$line" ]] && continue
      line="$(expand_vars "$line")"
      grep -qF -- "$line" "$actual" || fail "$stream does not contain: $line"
    done <"$CASE/$stream.contains"
  fi
  if [[ -f "$CASE/$stream.absent" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
      [[ -z "$line" ]] && continue
      line="$(expand_vars "$line")"
      grep -qF -- "$line" "$actual" && fail "$stream contains what it must not: $line"
    done <"$CASE/$stream.absent"
  fi
}
check_stream stdout "$STDOUT"
check_stream stderr "$STDERR"

if [[ -f "$CASE/check.sh" ]]; then
  if ! env "${HOOK_ENV[@]}" EXIT_CODE="$EXIT_CODE" bash "$CASE/check.sh"; then
    fail "check.sh failed"
  fi
fi

if ((FAILED)); then
  for stream in stdout stderr; do
    echo "  ----- actual $stream -----"
    sed 's/^/  | /' "$ROOT/$stream"
  done
  echo "e2e/$NAME: temp dir kept: $ROOT (work/ is \$WORK)"
  exit 1
fi
teardown
trap - EXIT
rm -rf "$ROOT"
echo "e2e/$NAME: ok"
