# Helpers for the cases' setup.sh / check.sh (sourced, not run):
#   source "$REPO/tests/e2e/lib.sh"
# Every helper prints what it expected and what it found, and makes the
# script fail at the end (so one run reports every broken assertion).
# Needs jq; xsd_valid needs xmllint.

E2E_ERRORS=0
trap 'if ((E2E_ERRORS)); then echo "check: $E2E_ERRORS assertion(s) failed" >&2; exit 1; fi' EXIT

JUNIT_XSD="${JUNIT_XSD:-$REPO/../shared/schemas/junit-10.xsd}"

check_fail() {
  echo "check: FAIL: $*" >&2
  E2E_ERRORS=$((E2E_ERRORS + 1))
}

# expect_json FILE JQ_EXPR EXPECTED: `jq -c JQ_EXPR FILE` must print EXPECTED.
expect_json() {
  local file="$1" expr="$2" want="$3" got
  if ! got="$(jq -c "$expr" "$file" 2>&1)"; then
    check_fail "$file: jq '$expr' failed: $got"
    return
  fi
  [[ "$got" == "$want" ]] || check_fail "$file: $expr is $got, expected $want"
}

# expect_true FILE JQ_EXPR [WHAT]: JQ_EXPR must evaluate to true.
expect_true() {
  expect_json "$1" "$2" true
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
  [[ "$1" == "$2" ]] || check_fail "$3: got '$1', expected '$2'"
}

# expect_file_contains FILE FIXED_STRING
expect_file_contains() {
  [[ -f "$1" ]] || { check_fail "$1 was not written"; return; }
  grep -qF -- "$2" "$1" || check_fail "$1 does not contain: $2"
}

# expect_file_lacks FILE FIXED_STRING
expect_file_lacks() {
  [[ -f "$1" ]] || { check_fail "$1 was not written"; return; }
  if grep -qF -- "$2" "$1"; then check_fail "$1 contains what it must not: $2"; fi
}

# xsd_valid FILE...: each file validates against the shared JUnit schema.
xsd_valid() {
  local file out
  if [[ ! -f "$JUNIT_XSD" ]]; then
    check_fail "JUnit schema not found: $JUNIT_XSD"
    return
  fi
  for file in "$@"; do
    [[ -f "$file" ]] || { check_fail "$file was not written"; continue; }
    out="$(xmllint --noout --schema "$JUNIT_XSD" "$file" 2>&1)" || check_fail "$file is not valid JUnit ($JUNIT_XSD): $out"
  done
}

# run_shipgate EXPECTED_EXIT ARGS...: runs the binary again (same minimal
# environment idea as the runner, --ci none unless CI variables are given
# through `env` by the caller) and checks its exit code. Output goes to
# $WORK/run.stdout and $WORK/run.stderr.
run_shipgate() {
  local want="$1" got
  shift
  env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC "${RUN_EXTRA_ENV[@]}" \
    timeout 120 "$SHIPGATE" "$@" </dev/null >"$WORK/run.stdout" 2>"$WORK/run.stderr"
  got=$?
  if [[ "$got" != "$want" ]]; then
    check_fail "shipgate $* exited $got, expected $want; stdout: $(head -c 2000 "$WORK/run.stdout"); stderr: $(head -c 2000 "$WORK/run.stderr")"
  fi
}
RUN_EXTRA_ENV=()
