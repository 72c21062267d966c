# shellcheck shell=bash
# Workspaces for the dry run (sourced by run.sh, with REPO and WORK set):
#   $WORK/ws-lib      the library's checks: a launch plan with local targets under
#                     ${ROOT} (test -> staging -> prod; prod needs the tester's and the
#                     tech-lead's sign-off; canary over three roots), checks files, a notify plan,
#                     release artifacts 1.0, 1.1 (broken: fails its health check), 1.2
#   $WORK/ws-leak     a copy of its release/ for the build that shows an unmasked secret
#   $WORK/ws-example  a project for plugins/jenkins/examples/Jenkinsfile: a Makefile
#                     (its tests: a real cargo test report; its artifact: a tarball),
#                     release/launch-plan.yml, release/policy.yml, release/smoke.yml

make_artifacts="$REPO/tests/fixtures/deploy/make-artifacts.sh"

write_lib_workspace() {
  local ws="$WORK/ws-lib"
  mkdir -p "$ws/release" "$ws/dist"
  bash "$make_artifacts" "$ws/dist" 1.0 1.1:broken 1.2 >/dev/null
  cat >"$ws/release/plan.yml" <<'YAML'
version: 1
name: shop
environments:
  - test
  - staging
  - name: prod
    signoffs:
      required: [tester, tech-lead]
      self_approval: false
deadline: 1m
lock_ttl: 1m
services:
  web:
    target: {type: local, roots: ["${ROOT}/${ENV}/web-1", "${ROOT}/${ENV}/web-2", "${ROOT}/${ENV}/web-3"]}
    strategy: {type: canary, canary: 1, batch: 2}
    health:
      defaults: {retries: 0, timeout: 5s}
      checks:
        - name: version
          command: [grep, -qx, "version ${VERSION}", "${TARGET_ROOT}/current/public/index.html"]
        - name: healthy
          command: [grep, -qx, ok, "${TARGET_ROOT}/current/public/health"]
        - name: not switched off
          command: [test, "!", -e, "${ROOT}/${ENV}.down"]
YAML
  cat >"$ws/release/smoke.yml" <<'YAML'
version: 1
checks:
  - name: every target serves the version
    command: [sh, -c, 'for t in "$0"/web-*; do grep -qx "version $1" "$t/current/public/index.html" || exit 1; done',
              "${ROOT}/${ENVIRONMENT}", "${VERSION}"]
YAML
  # DEPLOY_CREDENTIAL is not named like a secret (*_TOKEN, *_PASSWORD…): only
  # --secret-env masks it, so the control build without it shows the value.
  cat >"$ws/release/secret-smoke.yml" <<'YAML'
version: 1
checks:
  - name: the deploy credential reaches the check
    command: [sh, -c, 'echo "credential=$DEPLOY_CREDENTIAL"']
    expect: {output_contains: "credential=the-expected-one"}
YAML
  cat >"$ws/release/notify-plan.yml" <<'YAML'
version: 1
name: shop
environments: [test, staging, prod]
services:
  web:
    target: {type: local, roots: ["${ROOT}/notify/${ENV}"]}
notify:
  outbox: outbox
  channels:
    audit:
      type: webhook
      url_env: HOOK_URL
      secret_env: HOOK_SECRET
      required: true
  roles:
    developer: [audit]
    product: [audit]
YAML
  echo "release notes of 1.0" >"$ws/release/notes with spaces.txt"
  # The control build of the secret checks leaks on purpose: in a workspace of its own.
  mkdir -p "$WORK/ws-leak"
  cp -r "$ws/release" "$WORK/ws-leak/"
}

write_example_workspace() {
  local ws="$WORK/ws-example"
  mkdir -p "$ws/release"
  cat >"$ws/Makefile" <<'MAKE'
# The project's own build, as the example Jenkinsfile calls it: `make test dist VERSION=…`.
# Its tests: a real report of cargo test (tests/fixtures/producers/rust-libtest).
VERSION ?= 0.0.0

test:
	mkdir -p build/test-results
	cp "$(FIXTURES)/rust-libtest/report.xml" build/test-results/cargo.xml

dist:
	bash "$(MAKE_ARTIFACTS)" dist "$(VERSION)" >/dev/null
	mv "dist/app-$(VERSION).tar.gz" "dist/shop-$(VERSION).tar.gz"
	rm -f "dist/app-$(VERSION).tar.gz.sha256"
	cd dist && sha256sum "shop-$(VERSION).tar.gz" >"shop-$(VERSION).tar.gz.sha256"

.PHONY: test dist
MAKE
  cat >"$ws/release/policy.yml" <<'YAML'
version: 1
min_tests: 5
max_failures: {A: 0, B: 0, C: 3}
severity:
  default: B
  rules:
    - level: C
      regex: "^integration::"
quarantine:
  - test: "tests::report_body_differs"
    reason: "response body differs on the shared test database"
    ticket: "SHOP-142"
    expires: 2099-12-31
YAML
  cat >"$ws/release/launch-plan.yml" <<'YAML'
version: 1
name: shop
environments:
  - test
  - staging
  - name: prod
    signoffs:
      required: [tester, tech-lead]
      self_approval: false
deadline: 2m
lock_ttl: 1m
services:
  web:
    target: {type: local, roots: ["${SHOP_ROOT}/${ENV}/web-1", "${SHOP_ROOT}/${ENV}/web-2", "${SHOP_ROOT}/${ENV}/web-3"]}
    strategy: {type: canary, canary: 1, batch: 2}
    restart: [sh, -c, 'echo "reconnecting to $SHOP_DB_URL"']
    health:
      defaults: {retries: 0, timeout: 5s}
      checks:
        - name: version
          command: [grep, -qx, "version ${VERSION}", "${TARGET_ROOT}/current/public/index.html"]
        - name: healthy
          command: [grep, -qx, ok, "${TARGET_ROOT}/current/public/health"]
notify:
  outbox: outbox
  channels:
    audit:
      type: webhook
      url_env: HOOK_URL
      secret_env: HOOK_SECRET
  roles:
    developer: [audit]
    tester: [audit]
    business: [audit]
    product: [audit]
    ops: [audit]
YAML
  cat >"$ws/release/smoke.yml" <<'YAML'
version: 1
checks:
  - name: every target serves the version
    command: [sh, -c, 'for t in "$0"/web-*; do grep -qx "version $1" "$t/current/public/index.html" || exit 1; done',
              "${SHOP_ROOT}/${ENVIRONMENT}", "${VERSION}"]
  - name: no outage reported
    command: [test, "!", -e, "${SHOP_ROOT}/${ENVIRONMENT}-outage"]
YAML
}
