# Sourced by smoke cases' setup.sh: starts the small test server (slow,
# failing, flapping and Retry-After endpoints) on 127.0.0.1 and publishes
# TEST_SERVER_PORT to $WORK/servers.env.
python3 "$REPO/tests/integration/servers/test_server.py" 0 >"$WORK/test_server.out" 2>"$WORK/test_server.err" &
echo $! >"$WORK/test_server.pid"
for _ in $(seq 100); do
  port=$(head -n1 "$WORK/test_server.out" 2>/dev/null)
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || { echo "test server did not start" >&2; exit 1; }
echo "TEST_SERVER_PORT=$port" >>"$WORK/servers.env"
