#!/usr/bin/env bash
# A throwaway nginx on 127.0.0.1 for the smoke-test integration tests and the
# benchmark. Everything it needs or writes stays inside DIR.
#
#   nginx.sh start DIR   make certificates and a config in DIR, start nginx,
#                        write DIR/env (KEY=VALUE lines, see below)
#   nginx.sh stop DIR    stop the nginx started in DIR (no-op if none)
#
# DIR/env:
#   HTTP_PORT        plain HTTP
#   HTTPS_PORT       HTTPS, certificate for localhost and 127.0.0.1, signed by CA_CERT
#   EXPIRED_PORT     HTTPS, same names, certificate expired in January 2020
#   WRONG_HOST_PORT  HTTPS, valid certificate for wrong-host.example only
#   CA_CERT          the test CA (PEM), for --cacert
#   VALID_DAYS       the valid certificates' lifetime, from now
# Routes on every port: / (HTML), /health (JSON {"status":"ok","version":"1.2.3","count":5}),
# /redirect (302 to /), /status/503, /large (2 MiB of text).
#
# Needs /usr/sbin/nginx (Debian package nginx-light, installed by
# scripts/install-deps.sh), openssl and python3 (to find free ports).
set -euo pipefail

readonly NGINX=/usr/sbin/nginx
readonly VALID_DAYS=30

die() { echo "nginx.sh: $*" >&2; exit 1; }

usage() { die "usage: nginx.sh start|stop DIR"; }

require_tools() {
  [[ -x $NGINX ]] || die "$NGINX not found; install the Debian package nginx-light (scripts/install-deps.sh)"
  command -v openssl >/dev/null || die "openssl not found; install the Debian package openssl"
  command -v python3 >/dev/null || die "python3 not found; install the Debian package python3"
}

# Four ports the kernel says are free right now, held together so they differ.
free_ports() {
  python3 -c '
import socket
held = [socket.socket() for _ in range(4)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))'
}

write_openssl_configs() {
  local tls=$1
  cat >"$tls/req.cnf" <<CONF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CONF
  cat >"$tls/ca.cnf" <<CONF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $tls/index.txt
new_certs_dir = $tls/issued
serial = $tls/serial
certificate = $tls/ca.crt
private_key = $tls/ca.key
default_md = sha256
policy = any_name
copy_extensions = copy
unique_subject = no
[ any_name ]
commonName = supplied
[ leaf_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CONF
}

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# issue NAME CN SAN DATES...: a leaf certificate signed by the test CA.
issue() {
  local tls=$1 name=$2 cn=$3 san=$4
  shift 4
  new_key "$tls/$name.key"
  openssl req -new -config "$tls/req.cnf" -key "$tls/$name.key" -subj "/CN=$cn" \
    -addext "subjectAltName=$san" -out "$tls/$name.csr"
  openssl ca -batch -config "$tls/ca.cnf" -extensions leaf_ext -notext "$@" \
    -in "$tls/$name.csr" -out "$tls/$name.crt" 2>/dev/null
}

make_certificates() {
  local tls=$1
  mkdir -p "$tls/issued"
  : >"$tls/index.txt"
  echo 1000 >"$tls/serial"
  write_openssl_configs "$tls"
  new_key "$tls/ca.key"
  openssl req -new -x509 -config "$tls/req.cnf" -extensions ca_ext -key "$tls/ca.key" \
    -subj "/CN=shipgate test CA" -days 3650 -out "$tls/ca.crt"
  issue "$tls" valid localhost "DNS:localhost,IP:127.0.0.1" -days "$VALID_DAYS"
  issue "$tls" expired localhost "DNS:localhost,IP:127.0.0.1" -startdate 20200101000000Z -enddate 20200131000000Z
  issue "$tls" wrong-host wrong-host.example "DNS:wrong-host.example" -days "$VALID_DAYS"
}

make_content() {
  local html=$1
  mkdir -p "$html"
  printf '<!doctype html>\n<html><head><title>shipgate test</title></head><body><h1>It works</h1></body></html>\n' \
    >"$html/index.html"
  # 2 MiB, larger than the executor keeps of a body (1 MiB).
  head -c 2097152 /dev/zero | tr '\0' 'x' >"$html/large.txt"
}

# Temp paths of every module this nginx has, so nothing is written outside DIR.
temp_paths() {
  local dir=$1 build
  build=$("$NGINX" -V 2>&1)
  echo "client_body_temp_path \"$dir/temp/body\";"
  for module in proxy fastcgi uwsgi scgi; do
    [[ $build == *"--without-http_${module}_module"* ]] || echo "${module}_temp_path \"$dir/temp/$module\";"
  done
}

server_block() {
  local port=$1 cert=${2:-}
  echo "  server {"
  if [[ -n $cert ]]; then
    echo "    listen 127.0.0.1:$port ssl;"
    echo "    ssl_certificate \"$cert.crt\";"
    echo "    ssl_certificate_key \"$cert.key\";"
  else
    echo "    listen 127.0.0.1:$port;"
  fi
  echo "    include routes.conf;"
  echo "  }"
}

write_config() {
  local dir=$1 http=$2 https=$3 expired=$4 wrong=$5
  cat >"$dir/routes.conf" <<CONF
root "$dir/html";
location = / { try_files /index.html =404; }
location = /health {
  default_type application/json;
  return 200 '{"status":"ok","version":"1.2.3","count":5}';
}
location = /redirect { return 302 /; }
location = /status/503 { return 503; }
location = /large { default_type text/plain; alias "$dir/html/large.txt"; }
CONF
  {
    # Workers must read files in DIR, which may be private to this user.
    [[ $(id -u) == 0 ]] && echo "user root root;"
    echo "worker_processes 2;"
    echo "daemon on;"
    echo "pid \"$dir/nginx.pid\";"
    echo "error_log \"$dir/logs/error.log\" warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  access_log \"$dir/logs/access.log\";"
    temp_paths "$dir" | sed 's/^/  /'
    echo "  types { text/html html; text/plain txt; application/json json; }"
    echo "  default_type application/octet-stream;"
    echo "  absolute_redirect off;"
    echo "  keepalive_requests 100000;"
    echo "  add_header X-Shipgate-Test nginx always;"
    server_block "$http"
    server_block "$https" "$dir/tls/valid"
    server_block "$expired" "$dir/tls/expired"
    server_block "$wrong" "$dir/tls/wrong-host"
    echo "}"
  } >"$dir/nginx.conf"
}

# True while `pid` runs; a zombie waiting for init to reap it counts as gone.
alive() {
  local state
  [[ -r /proc/$1/stat ]] || return 1
  read -r _ _ state _ <"/proc/$1/stat" || return 1
  [[ $state != Z ]]
}

running_pid() {
  local pidfile=$1/nginx.pid pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  alive "$pid" || return 1
  echo "$pid"
}

children_of() {
  local stat fields
  for stat in /proc/[0-9]*/stat; do
    read -r -a fields <"$stat" 2>/dev/null || continue
    [[ ${fields[3]} == "$1" ]] && echo "${fields[0]}"
  done
  return 0
}

start() {
  local dir=$1
  require_tools
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if running_pid "$dir" >/dev/null; then die "an nginx is already running from $dir; stop it first"; fi
  mkdir -p "$dir/logs" "$dir/temp" "$dir/tls"
  make_certificates "$dir/tls" >"$dir/logs/openssl.log" 2>&1 ||
    die "making the test certificates failed; see $dir/logs/openssl.log"
  make_content "$dir/html"
  local ports
  read -r -a ports <<<"$(free_ports)"
  write_config "$dir" "${ports[@]}"
  if ! "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log"; then
    tail -n 20 "$dir/logs/error.log" >&2 || true
    die "nginx did not start (config: $dir/nginx.conf)"
  fi
  # The master binds the ports before it detaches; the pid file follows at once.
  for _ in $(seq 50); do running_pid "$dir" >/dev/null && break; sleep 0.1; done
  running_pid "$dir" >/dev/null || die "nginx started but wrote no pid file; see $dir/logs/error.log"
  cat >"$dir/env" <<ENV
HTTP_PORT=${ports[0]}
HTTPS_PORT=${ports[1]}
EXPIRED_PORT=${ports[2]}
WRONG_HOST_PORT=${ports[3]}
CA_CERT=$dir/tls/ca.crt
VALID_DAYS=$VALID_DAYS
ENV
}

stop() {
  local dir=$1 pid
  pid=$(running_pid "$dir") || return 0
  # The workers are the master's children; remembered in case the master must be killed.
  local workers
  workers=$(children_of "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do alive "$pid" || return 0; sleep 0.05; done
  echo "nginx.sh: nginx $pid ignored SIGTERM; killing it" >&2
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL "$pid" $workers 2>/dev/null || true
}

[[ $# == 2 ]] || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
