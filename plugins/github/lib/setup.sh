#!/usr/bin/env bash
# Puts shipgate on PATH for the later steps of a job (plugins/github/setup/action.yml):
#
#   INPUT_PATH=/opt/shipgate/bin/shipgate bash setup.sh        an executable already there
#   INPUT_URL=https://… INPUT_SHA256=<64 hex> bash setup.sh    a release tarball
#
# A tarball is downloaded with curl, its sha256 checked BEFORE anything is
# unpacked (a mismatch is refused and the file deleted), its member names
# checked (no absolute path, no `..`), unpacked into a fresh folder without
# owners or set-uid bits, and refused if a symbolic link points outside it.
# The folder holding `shipgate` is appended to $GITHUB_PATH; outputs `path`
# and `version` go to $GITHUB_OUTPUT.
# Exit status: 0 done, 1 refused or failed (an ::error says why), 2 bad inputs.
set -euo pipefail

escape_data() {
  local s=$1
  s=${s//'%'/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  printf '%s' "$s"
}
fail() { # fail CODE MESSAGE
  printf '::error title=shipgate setup::%s\n' "$(escape_data "$2")"
  exit "$1"
}
set_output() {
  [[ -n "${GITHUB_OUTPUT:-}" ]] || return 0
  local delimiter
  delimiter="ghadelimiter_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >>"$GITHUB_OUTPUT"
}

path=${INPUT_PATH:-}
url=${INPUT_URL:-}
sha256=${INPUT_SHA256:-}
temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

if [[ -n "$path" && -n "$url" ]]; then
  fail 2 "give input 'path' or input 'url', not both"
fi
if [[ -z "$path" && -z "$url" ]]; then
  fail 2 "input 'path' or input 'url' is required: an executable already on the runner, or a release tarball to download"
fi

if [[ -n "$path" ]]; then
  [[ -f "$path" && -x "$path" ]] || fail 2 "input 'path': '$path' is not an executable file"
  executable=$(realpath -- "$path")
else
  # Shown without its query string, which may carry a token.
  shown=${url%%\?*}
  [[ -n "$sha256" ]] || fail 2 "input 'sha256' is required with input 'url': the tarball's sha256 (64 hex digits)"
  sha256=${sha256,,}
  [[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || fail 2 "input 'sha256': '$sha256' is not 64 hex digits"
  [[ "$url" =~ ^(https|http|file):// ]] || fail 2 "input 'url': '$shown' is not an https://, http:// or file:// URL"

  folder="$temp/shipgate-${sha256:0:16}"
  rm -rf -- "$folder"
  mkdir -p -- "$folder"
  tarball="$folder/download"
  curl --fail --silent --show-error --location --proto '=https,http,file' --proto-redir '=https' \
    --retry 3 --connect-timeout 30 --max-time 600 --output "$tarball" -- "$url" ||
    fail 1 "could not download $shown"
  actual=$(sha256sum -- "$tarball" | cut -d ' ' -f 1)
  if [[ "$actual" != "$sha256" ]]; then
    rm -rf -- "$folder"
    fail 1 "sha256 mismatch for $shown: expected $sha256, got $actual; the download was deleted, nothing was unpacked"
  fi

  # GNU tar lists names with control characters escaped, one per line.
  names=$(tar -tf "$tarball" 2>&1) || fail 1 "$shown is not a tar archive: $names"
  while IFS= read -r member; do
    if [[ "$member" == /* || "$member" =~ (^|/)\.\.(/|$) ]]; then
      rm -rf -- "$folder"
      fail 1 "$shown holds an unsafe path '$member'; nothing was unpacked"
    fi
  done <<<"$names"
  tree="$folder/tree"
  mkdir -- "$tree"
  tar -xf "$tarball" -C "$tree" --no-same-owner --no-same-permissions ||
    fail 1 "could not unpack $shown"
  rm -f -- "$tarball"
  while IFS= read -r -d '' link; do
    target=$(realpath -m -- "$link")
    if [[ "$target" != "$tree" && "$target" != "$tree"/* ]]; then
      rm -rf -- "$folder"
      fail 1 "$shown holds a link '${link#"$tree"/}' that points outside the archive; refused"
    fi
  done < <(find "$tree" -type l -print0)

  mapfile -d '' found < <(find "$tree" -maxdepth 3 -type f -name shipgate -perm -u+x -print0)
  ((${#found[@]} == 1)) ||
    fail 1 "$shown should hold one executable named shipgate (at most two folders deep); found ${#found[@]}"
  executable=${found[0]}
fi

folder=$(dirname -- "$executable")
if [[ "$(basename -- "$executable")" != shipgate ]]; then
  # PATH finds commands by name: give it one.
  folder="$temp/shipgate-bin"
  mkdir -p -- "$folder"
  ln -sfn -- "$executable" "$folder/shipgate"
fi
version=$("$folder/shipgate" --version 2>&1) || fail 1 "$executable does not run: $version"
version=${version%%$'\n'*}

[[ -z "${GITHUB_PATH:-}" ]] || printf '%s\n' "$folder" >>"$GITHUB_PATH"
set_output path "$folder/shipgate"
set_output version "${version#shipgate }"
echo "shipgate: $version from $folder"
