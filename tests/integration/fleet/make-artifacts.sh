#!/usr/bin/env bash
# Release artifacts of the fleet tests' web service:
#
#   tests/integration/fleet/make-artifacts.sh DIR VERSION...
#
# For each VERSION: DIR/web-VERSION.tar.gz holding VERSION (read by the app,
# tests/integration/fleet/app/fleetapp.py, as the version it runs) and
# public/index.html, and DIR/web-VERSION.tar.gz.sha256 (sha256sum format).
# Exit status: 0 written, 2 usage or a bad version.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 DIR VERSION..." >&2
  exit 2
fi
out="$1"
shift
mkdir -p "$out"
out="$(cd "$out" && pwd)"
for version in "$@"; do
  if [[ ! "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
    echo "$0: '$version' is not a version (letters, digits, . _ + -)" >&2
    exit 2
  fi
  tree="$(mktemp -d "$out/.tree-$version.XXXXXX")"
  mkdir -p "$tree/public"
  printf '%s\n' "$version" >"$tree/VERSION"
  printf '<!doctype html><title>web %s</title><p>version %s</p>\n' "$version" "$version" >"$tree/public/index.html"
  tar czf "$out/web-$version.tar.gz" -C "$tree" VERSION public
  (cd "$out" && sha256sum "web-$version.tar.gz" >"web-$version.tar.gz.sha256")
  rm -rf "$tree"
done
