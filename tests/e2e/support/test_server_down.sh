# Sourced by smoke cases' teardown.sh.
[[ -f "$WORK/test_server.pid" ]] && kill "$(cat "$WORK/test_server.pid")" 2>/dev/null
true
