# Sourced by smoke cases' teardown.sh.
bash "$REPO/tests/integration/servers/nginx.sh" stop "$WORK/nginx"
