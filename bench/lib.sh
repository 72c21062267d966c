# Helpers shared by the benchmark scripts (sourced; they set ROOT and log()).

# bench_apt_install PKG...: installs the packages that are missing.
bench_apt_install() {
  local need=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  ((${#need[@]})) || return 0
  log "apt-get install ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=900 "${need[@]}" >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -o DPkg::Lock::Timeout=900 >&2 &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=900 "${need[@]}" >&2; }
}

# bench_ensure_shipgate NO_BUILD: sets SHIPGATE (default build-release/shipgate)
# and rebuilds it in Release when it is missing or older than the sources,
# unless NO_BUILD is 1 or SHIPGATE was given. Returns 1 if there is no binary.
bench_ensure_shipgate() {
  local no_build="$1" default="$ROOT/build-release/shipgate" srcs=() p
  SHIPGATE="${SHIPGATE:-$default}"
  if [[ $no_build -ne 1 && "$SHIPGATE" == "$default" ]]; then
    local stale=0
    if [[ ! -x "$SHIPGATE" ]]; then
      stale=1
    else
      for p in src CMakeLists.txt; do [[ -e "$ROOT/$p" ]] && srcs+=("$ROOT/$p"); done
      [[ -n "$(find "${srcs[@]}" -newer "$SHIPGATE" -type f -print -quit 2>/dev/null)" ]] && stale=1
    fi
    if ((stale)); then
      log "building shipgate (Release) into build-release/"
      (cd "$ROOT" && cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >&2 &&
        cmake --build build-release --target shipgate >&2) ||
        log "WARNING: shipgate build failed; using the existing binary if there is one"
    fi
  fi
  [[ -x "$SHIPGATE" ]]
}
