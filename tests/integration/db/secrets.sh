#!/usr/bin/env bash
# The connection string's password never leaves shipgate (docs/database.md,
# `connection_env`), on a real PostgreSQL whose role `app` has a password
# with characters a URL must escape (: / @ # ? & % + space ' \):
#   - deploys that succeed and fail, a rollback, db status and db plan, with
#     --json, --junit and --markdown, with the URL form and the key=value form
#     of the connection string, through `connection_env: ORDERS_URL_${ENV}`;
#   - db status of a database that refuses the password, and of one that
#     cannot be reached;
# then neither the password nor its escaped form is in any output, artifact,
# ledger, journal or backup under the work folder, nor in the registry.
#
#   bash tests/integration/db/secrets.sh PATH/TO/shipgate
# shellcheck disable=SC2034 # DB_URL and SG_ENV are read by lib.sh
source "$(dirname "$0")/lib.sh"

db_setup 1.0 2.0 3.0
db_plan "$PLAN_DIR/v1.yml" --connection-env 'ORDERS_URL_${ENV}' customers-table orders-table
db_plan "$PLAN_DIR/v2.yml" --connection-env 'ORDERS_URL_${ENV}' customers-table orders-table orders-status audit-log
db_plan "$PLAN_DIR/v3.yml" --connection-env 'ORDERS_URL_${ENV}' customers-table orders-table orders-status
# outputs: OUTPUT_ARGS, the artifact options of the next run (r<N>.json, .xml, .md).
ARTIFACTS=0
outputs() {
  ARTIFACTS=$((ARTIFACTS + 1))
  OUTPUT_ARGS=(--json "$WORK/r$ARTIFACTS.json" --junit "$WORK/r$ARTIFACTS.xml" --markdown "$WORK/r$ARTIFACTS.md")
}
# Only ORDERS_URL_test holds the connection: ORDERS_DATABASE_URL (set by sg) is empty.
DB_URL=""

begin "URL form through ORDERS_URL_\${ENV}"
SG_ENV=(ORDERS_URL_test="$(pg_url orders)")
outputs
deploy "$PLAN_DIR/v1.yml" 1.0 "${OUTPUT_ARGS[@]}"
check_rc 0 "deploy-stage 1.0"
check "table orders exists" table_exists orders
outputs
deploy "$PLAN_DIR/v2.yml" 2.0 "${OUTPUT_ARGS[@]}"
check_rc 1 "deploy-stage 2.0 (audit-log fails its verify)"

begin "key=value form"
SG_ENV=(ORDERS_URL_test="$(pg_keyvalue orders)")
outputs
deploy "$PLAN_DIR/v3.yml" 3.0 "${OUTPUT_ARGS[@]}"
check_rc 0 "deploy-stage 3.0"
check "column orders.status exists" column_exists orders status
outputs
db_cmd status "$PLAN_DIR/v3.yml" "${OUTPUT_ARGS[@]}"
check_rc 0 "db status"
db_cmd plan "$PLAN_DIR/v3.yml" --rollback
check_rc 0 "db plan --rollback"
outputs
rollback "$PLAN_DIR/v3.yml" "${OUTPUT_ARGS[@]}"
check_rc 0 "rollback"
check_not "column orders.status was reverted" column_exists orders status

begin "errors"
SG_ENV=(ORDERS_URL_test="postgresql://app:${PG_PASSWORD_ESCAPED}x@127.0.0.1:$PG_PORT/orders")
outputs
db_cmd status "$PLAN_DIR/v3.yml" "${OUTPUT_ARGS[@]}"
check_not "db status with a wrong password succeeded" test "$RC" = 0
SG_ENV=(ORDERS_URL_test="postgresql://app:${PG_PASSWORD_ESCAPED}@127.0.0.1:$(pg_free_port)/orders")
outputs
db_cmd status "$PLAN_DIR/v3.yml" "${OUTPUT_ARGS[@]}"
check_rc 3 "db status of an unreachable database"
SG_ENV=(ORDERS_URL_test="$(pg_keyvalue orders) port=$(pg_free_port)")
outputs
deploy "$PLAN_DIR/v3.yml" 3.0 "${OUTPUT_ARGS[@]}"
check_not "deploy-stage to an unreachable database succeeded" test "$RC" = 0
check "the artifacts were written" test -s "$WORK/r$ARTIFACTS.json"
SG_ENV=()

db_finish
