#!/usr/bin/env bash
# Runs one shipgate step for the composite actions in plugins/github/*/action.yml:
#
#   exec bash "$GITHUB_ACTION_PATH/../lib/run-step.sh" gate|smoke|deploy|rollback|signoff|notify
#
# The action hands its inputs over only as environment variables, INPUT_<NAME>
# with the input's name upper-cased and `-` turned into `_` (INPUT_OUT_DIR for
# `out-dir`), never through `${{ inputs.x }}` inside the script: a value is
# data and is never parsed by a shell. Lists and `args` are one item per line.
#
# It builds shipgate's argv, runs it with `--ci github`, writes the JSON, JUnit
# and Markdown results into the out-dir, adds the step outputs `exit-code`,
# `verdict`, `json`, `junit`, `markdown` to what shipgate itself writes to
# $GITHUB_OUTPUT, and decides the step's result from the exit code
# (docs/ci-github.md, "Exit codes"). shipgate prints the annotations and
# writes the step summary itself; this script adds an `::error` only when
# shipgate printed none for a failing step.
#
# Exit status: 0 when the step passes (or its exit code is not in `fail-on`),
# otherwise shipgate's own exit code; 2 for a missing or invalid input.
set -euo pipefail

step=${1:-}
case "$step" in
  gate) command=gate-on-test-report ;;
  smoke) command=smoke-test ;;
  deploy) command=deploy-stage ;;
  rollback) command=rollback ;;
  signoff) command=signoff ;;
  notify) command=notify ;;
  *)
    echo "::error title=shipgate::run-step.sh: unknown step '${step}' (gate, smoke, deploy, rollback, signoff or notify)"
    exit 2
    ;;
esac

# --- workflow commands -------------------------------------------------------

# Escaping as @actions/core does, so text cannot end a command or start another.
escape_data() {
  local s=$1
  s=${s//'%'/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  printf '%s' "$s"
}
escape_property() {
  local s
  s=$(escape_data "$1")
  s=${s//:/%3A}
  s=${s//,/%2C}
  printf '%s' "$s"
}
annotate() { # annotate error|warning MESSAGE
  printf '::%s title=%s::%s\n' "$1" "$(escape_property "shipgate $command")" "$(escape_data "$2")"
}

set_output() { # set_output NAME VALUE: a heredoc with a fresh delimiter, so a value cannot set another output
  [[ -n "${GITHUB_OUTPUT:-}" ]] || return 0
  local delimiter
  delimiter="ghadelimiter_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >>"$GITHUB_OUTPUT"
}

fail_input() { # fail_input MESSAGE: a mistake in the action's inputs (exit 2, like shipgate's usage errors)
  annotate error "$1"
  set_output exit-code 2
  exit 2
}

# --- inputs -------------------------------------------------------------------

input() { # input NAME: the value of the input NAME ('' when not given)
  local var="INPUT_${1^^}"
  var=${var//-/_}
  printf '%s' "${!var:-}"
}

require() { # require NAME WHAT: fails naming the input (the runner does not enforce `required`)
  [[ -n "$(input "$1")" ]] || fail_input "input '$1' is required: $2"
}

# lines NAME ARRAY: the input's lines, blanks around each removed, empty lines skipped.
lines() {
  local -n into=$2
  into=()
  local line
  while IFS= read -r line || [[ -n "$line" ]]; do
    line=${line%$'\r'}
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    if [[ -n "$line" ]]; then into+=("$line"); fi
  done <<<"$(input "$1")"
  return 0
}

boolean() { # boolean NAME DEFAULT: sets REPLY to true or false
  local value
  value=$(input "$1")
  case "${value:-$2}" in
    true | True | TRUE) REPLY=true ;;
    false | False | FALSE) REPLY=false ;;
    *) fail_input "input '$1' must be true or false, not '$value'" ;;
  esac
}

argv=()
option() { # option NAME FLAG: adds FLAG VALUE when the input is given
  local value
  value=$(input "$1")
  if [[ -n "$value" ]]; then argv+=("$2" "$value"); fi
}
option_lines() { # option_lines NAME FLAG: FLAG ITEM for each line of the input
  local -a items
  lines "$1" items
  local item
  for item in "${items[@]}"; do argv+=("$2" "$item"); done
}

# --- the executable -------------------------------------------------------------

bin=$(input shipgate)
bin=${bin:-${SHIPGATE_BIN:-shipgate}}
if [[ "$bin" == */* ]]; then
  [[ -f "$bin" && -x "$bin" ]] || fail_input "input 'shipgate': '$bin' is not an executable file"
else
  command -v -- "$bin" >/dev/null 2>&1 ||
    fail_input "input 'shipgate': '$bin' is not on PATH; run the plugins/github/setup action first, or give a path"
fi

# --- the step's arguments -----------------------------------------------------------

environment=$(input environment)
case "$step" in
  gate)
    require reports "one test report file or glob per line"
    option_lines reports --report
    option policy --policy
    option environment --environment
    option merged-junit --merged-junit
    ;;
  smoke)
    [[ -n "$(input checks)$(input urls)" ]] ||
      fail_input "input 'checks' or input 'urls' is required: a checks file, or one URL per line"
    option checks --checks
    option_lines urls --url
    option_lines expect-status --expect-status
    option_lines expect-body --expect-body
    option timeout --timeout
    option_lines vars --var
    option environment --environment
    ;;
  deploy)
    require plan "the launch plan file"
    require environment "the environment of the plan to deploy to"
    require version "the version to deploy"
    option plan --plan
    option environment --env
    option version --version
    option_lines artifact --artifact
    option_lines sha256 --sha256
    option_lines signature --signature
    option jobs --jobs
    option wait-lock --wait-lock
    option level --level
    option_lines vars --var
    ;;
  rollback)
    require plan "the launch plan file"
    require environment "the environment of the plan to roll back"
    option plan --plan
    option environment --env
    option to --to
    option reason --reason
    option level --level
    option wait-lock --wait-lock
    boolean force-past-irreversible false
    [[ "$REPLY" == false ]] || argv+=(--force-past-irreversible)
    option_lines vars --var
    ;;
  signoff)
    require plan "the launch plan file"
    require environment "the environment the sign-off is for"
    require version "the version signed off"
    require role "developer, tech-lead, tester, business, product, ops or dba"
    require decision "approve or reject"
    by=$(input by)
    by=${by:-${GITHUB_ACTOR:-}}
    [[ -n "$by" ]] || fail_input "input 'by' is required: who signs (GITHUB_ACTOR is not set either)"
    option plan --plan
    option environment --env
    option version --version
    option role --role
    argv+=(--by "$by")
    option decision --decision
    option comment --comment
    option_lines vars --var
    ;;
  notify)
    require plan "the launch plan file whose notify: section names the channels"
    require environment "the environment the event is about"
    option plan --plan
    option environment --env
    boolean flush false
    if [[ "$REPLY" == true ]]; then
      argv+=(--flush)
    else
      require event "the event to send (or flush: true)"
    fi
    option event --event
    option version --version
    option level --level
    option_lines attach --attach
    option comment --comment
    option_lines vars --var
    ;;
esac
# Gate and smoke test hear the launch plan's notify: section when given one.
if [[ "$step" == gate || "$step" == smoke ]]; then
  option plan --plan
  option version --version
  option level --level
fi

# --- which exit codes fail the step (gate and smoke test: `fail-on`) -------------------

fails=" 1 2 3 4 "
if [[ "$step" == gate || "$step" == smoke ]]; then
  fail_on=$(input fail-on)
  if [[ -n "$fail_on" ]]; then
    fails=" "
    IFS=$', \t\n' read -r -d '' -a codes <<<"$fail_on" || true
    for code in "${codes[@]}"; do
      [[ "$code" =~ ^(1|2|3|4)$ ]] || fail_input "input 'fail-on': '$code' is not one of the exit codes 1, 2, 3, 4"
      fails+="$code "
    done
  fi
  boolean fail-on-verdict true
  [[ "$REPLY" == true ]] || fails=${fails// 1 / }
fi

# --- secrets: masked in the log before anything can print them ---------------------------

secret_names=()
lines secret-env secret_names
for name in "${secret_names[@]}"; do
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    fail_input "input 'secret-env': '$name' is not an environment variable name"
  if [[ -z "${!name:-}" ]]; then
    annotate warning "secret-env names $name, but it is not set or empty"
  else
    # One mask per line: the runner matches masks line by line.
    while IFS= read -r secret_line; do
      if [[ -n "$secret_line" ]]; then printf '::add-mask::%s\n' "$(escape_data "$secret_line")"; fi
    done <<<"${!name}"
  fi
  argv+=(--secret-env "$name")
done

# --- output files ---------------------------------------------------------------------

out_dir=$(input out-dir)
out_dir=${out_dir:-shipgate-out}
name=$(input name)
if [[ -z "$name" ]]; then
  name=$command
  [[ -z "$environment" ]] || name="$command-${environment//[^A-Za-z0-9._-]/-}"
fi
[[ "$name" =~ ^[A-Za-z0-9._-]+$ && "$name" != .* ]] ||
  fail_input "input 'name': '$name' may hold only letters, digits, '.', '_' and '-', and may not start with '.'"
mkdir -p -- "$out_dir"
json="$out_dir/$name.json"
junit="$out_dir/$name.junit.xml"
markdown="$out_dir/$name.md"
# A file left by an earlier run (a self-hosted runner keeps its workspace) must not pass for this one's.
rm -f -- "$json" "$junit" "$markdown"

extra=()
lines args extra
argv=("$command" --ci github "${argv[@]}" --json "$json" --junit "$junit" --markdown "$markdown" "${extra[@]}")

# --- run ---------------------------------------------------------------------------------

work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/shipgate-step.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkfifo "$work/stdout" "$work/stderr"
# Job control gives shipgate its own process group and leaves SIGINT at its
# default (a background job of a script would ignore it). The runner cancels a
# job by signalling this process alone; the traps pass that on, so a deploy
# rolls back (exit 130) instead of being killed halfway.
set -m
# The tees keep a copy of what shipgate prints, to find its headline and its
# annotations; they ignore signals so the log stays open during a rollback.
(trap '' INT TERM HUP && exec tee -- "$work/stdout.log" <"$work/stdout") &
tee_out=$!
(trap '' INT TERM HUP && exec tee -- "$work/stderr.log" <"$work/stderr" >&2) &
tee_err=$!
"$bin" "${argv[@]}" <"/dev/null" >"$work/stdout" 2>"$work/stderr" &
child=$!
trap 'kill -INT "$child" 2>/dev/null || true' INT
trap 'kill -TERM "$child" 2>/dev/null || true' TERM HUP
while :; do
  rc=0
  wait "$child" || rc=$?
  # A trapped signal ends `wait` early; the child is still running then.
  kill -0 "$child" 2>/dev/null || break
done
wait "$tee_out" "$tee_err" || true
trap - INT TERM HUP

# --- outputs -----------------------------------------------------------------------------

set_output exit-code "$rc"
[[ -f "$json" ]] && set_output json "$json"
[[ -f "$junit" ]] && set_output junit "$junit"
[[ -f "$markdown" ]] && set_output markdown "$markdown"
if [[ -n "${GITHUB_OUTPUT:-}" ]] && ! grep -Eq '^verdict(<<|=)' "$GITHUB_OUTPUT" && [[ -f "$json" ]]; then
  # shipgate writes `verdict` for its steps; when it did not (signoff), take it
  # from the JSON result, whose top-level keys are indented by two spaces.
  verdict=$(sed -nE 's/^  "verdict": "(pass|fail|inconclusive)",?$/\1/p' "$json" | head -n 1)
  [[ -z "$verdict" ]] || set_output verdict "$verdict"
fi
[[ "$step" != deploy ]] || set_output url "$(input url)"

# --- result --------------------------------------------------------------------------------

meaning() {
  case "$1" in
    1) echo "negative verdict" ;;
    2) echo "usage error or inconclusive" ;;
    3) echo "runtime failure" ;;
    4) echo "refused by policy" ;;
    5) echo "rollback failed" ;;
    130) echo "interrupted" ;;
    *) echo "unexpected exit code" ;;
  esac
}

# The headline (first line shipgate printed), else its error message.
headline=$(grep -v -m 1 -e '^::' -e '^[[:space:]]*$' "$work/stdout.log" || true)
if [[ -z "$headline" ]]; then
  headline=$(sed -n 's/^shipgate: error: //p' "$work/stderr.log" | tail -n 1)
fi
[[ -n "$headline" ]] || headline=$(grep -v '^[[:space:]]*$' "$work/stderr.log" | tail -n 1 || true)
[[ -n "$headline" ]] || headline="no output"

((rc == 0)) && exit 0

if ((rc == 5)); then
  annotate error "rollback failed: a person is needed now. $headline"
  exit 5
fi

# 5, 130 and any code outside the documented set (a crash) always fail.
if ((rc > 4)) || [[ "$fails" == *" $rc "* ]]; then
  grep -q '^::error' "$work/stdout.log" || annotate error "exit $rc ($(meaning "$rc")): $headline"
  exit "$rc"
fi
annotate warning "exit $rc ($(meaning "$rc")) does not fail this step (fail-on:${fails% }): $headline"
exit 0
