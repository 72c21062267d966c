#!/usr/bin/env bash
# Installs the Debian 12 packages shipgate needs to build and test.
# Idempotent: runs apt-get only when something is missing. Needs root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libexpat1-dev nlohmann-json3-dev libcli11-dev doctest-dev libyaml-cpp-dev
  libboost-dev libcurl4-openssl-dev libssl-dev libarchive-dev libkainjow-mustache-dev
  libboost-filesystem-dev
  libxml2-utils python3 git jq zip zstd
  # servers and tools the integration tests start on 127.0.0.1
  nginx-light openssl curl
  # ssh targets: the OpenSSH client shipgate drives; sshd, network
  # namespaces and flock for the fleet tests' hosts
  openssh-client openssh-server iproute2 util-linux procps
  # database changes: libpq for the registry; the PostgreSQL server, psql,
  # pg_dump and pg_restore for the tests (initdb as a non-root user)
  libpq-dev postgresql postgresql-client
  # notifications: an SMTP server for the mail tests
  python3-aiosmtpd
  # the demo release runs its shop's unit tests with pytest
  python3-pytest
  # fault injection (kill -9 at every fsync) in the crash tests
  strace
  # the GitHub Actions checks read action.yml files with PyYAML
  python3-yaml
  # the test build: clang with AddressSanitizer, UBSan and libFuzzer
  clang libclang-rt-14-dev
  # lock leases under clock skew: a runner whose clock is off
  faketime
  # metric analysis of canaries against a real Prometheus server
  prometheus
  # release metrics pushed to a real Pushgateway
  prometheus-pushgateway
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 2
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages such as nginx start a system-wide service on install; the tests
# start their own servers on 127.0.0.1, so keep services from starting.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap '((created_policy)) && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
