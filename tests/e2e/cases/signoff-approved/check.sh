#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
expect_json "$WORK/r.json" '[.actions[] | select(.id == "preflight/signoffs") | [.status, .explanation]]' \
  '[["pass","approved by tech-lead (alice), tester (bob)"]]'
signoffs=$(jq -sc '[.[] | select(.event == "signoff") | [.role, .by, .decision]]' "$(ledger prod)")
expect_eq "$signoffs" '[["tech-lead","alice","approve"],["tester","bob","approve"]]' "sign-offs in the prod ledger"
comment=$(jq -sr '[.[] | select(.event == "signoff" and .role == "tech-lead")][0] | "\(.outcome) \(.version): \(.comment)"' "$(ledger prod)")
expect_eq "$comment" "approved 1.0: reviewed the launch plan" "the tech-lead's entry"
expect_eq "$(live_release prod)" "$(release_of prod 1.0)" "prod current"
