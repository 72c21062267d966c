# Sourced by smoke cases' setup.sh: starts the test nginx (HTTP, HTTPS with a
# CA made for the test, an expired and a wrong-host certificate) in $WORK/nginx
# and publishes its ports and CA path to $WORK/servers.env.
bash "$REPO/tests/integration/servers/nginx.sh" start "$WORK/nginx" >/dev/null
cp "$WORK/nginx/env" "$WORK/servers.env"
