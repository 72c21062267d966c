source "$REPO/tests/e2e/support/nginx_up.sh"
