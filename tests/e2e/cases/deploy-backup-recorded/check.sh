#!/usr/bin/env bash
# The backup command's output is kept in .shipgate/backups/<release>/ and its
# size and sha256 are recorded in the result and in the ledger.
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
release="$(jq -r .release "$WORK/r.json")"
dump="$ROOT/test/web/.shipgate/backups/$release/db.sql"
[[ -s "$dump" ]] || check_fail "the backup $dump was not written"
expect_eq "$(cat "$dump")" "insert into orders values (1);" "the backup's content"
sha="$(sha256sum "$dump" | cut -d' ' -f1)"
expect_json "$WORK/r.json" '.backups | length' 1
expect_json "$WORK/r.json" '.backups[0] | [.service, .name, .file, .bytes, .sha256]' "[\"web\",\"db\",\"$dump\",$(stat -c %s "$dump"),\"$sha\"]"
expect_json "$(ledger_json test)" '.[0].backups[0].sha256' "\"$sha\""
expect_json "$(ledger_json test)" '.[0].backup_dir' "\"$ROOT/test/web/.shipgate/backups/$release\""
# The backup ran before the switch.
expect_json "$WORK/r.json" '[.actions[] | select(.id | startswith("deploy/")) | .id | sub("^deploy/[0-9]+-"; "")]' '["prepare-web","backup-web","switch-web","restart-web","verify-web"]'
