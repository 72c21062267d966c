source "$REPO/tests/e2e/support/test_server_up.sh"
