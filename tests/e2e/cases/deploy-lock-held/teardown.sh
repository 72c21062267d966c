source "$REPO/tests/fixtures/deploy/e2e/lib.sh"
stop_holder
