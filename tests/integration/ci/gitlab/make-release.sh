#!/usr/bin/env bash
# Builds the release artifact of the GitLab CI test pipeline:
#   make-release.sh DIR VERSION good|broken|wrong
# writes DIR/site-VERSION.tar.gz and its .sha256. The archive holds
#   public/index.html   "version VERSION"
#   public/status.json  {"ok": true, "version": "VERSION"}   (ok false: wrong)
#   public/health       "ok"                                  ("broken": broken)
# A broken release fails the plan's health check after the switch; a wrong
# one passes it but fails the smoke test (checks.yml).
set -euo pipefail
if [[ $# -ne 3 || ! "$3" =~ ^(good|broken|wrong)$ ]]; then
  echo "usage: make-release.sh DIR VERSION good|broken|wrong" >&2
  exit 2
fi
out=$1 version=$2 kind=$3
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || { echo "make-release.sh: '$version' is not a version" >&2; exit 2; }
tree=$(mktemp -d)
trap 'rm -rf -- "$tree"' EXIT
mkdir -p "$tree/public" "$out"
printf 'version %s\n' "$version" >"$tree/public/index.html"
ok=true
[[ "$kind" != wrong ]] || ok=false
printf '{"ok": %s, "version": "%s"}\n' "$ok" "$version" >"$tree/public/status.json"
if [[ "$kind" == broken ]]; then echo broken; else echo ok; fi >"$tree/public/health"
tar czf "$out/site-$version.tar.gz" -C "$tree" .
(cd "$out" && sha256sum "site-$version.tar.gz" >"site-$version.tar.gz.sha256")
echo "made $out/site-$version.tar.gz ($kind)"
