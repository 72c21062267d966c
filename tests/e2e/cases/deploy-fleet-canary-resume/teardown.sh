[[ -f "$WORK/paused.pid" ]] && kill -KILL "$(cat "$WORK/paused.pid")" 2>/dev/null
exit 0
