// The script an ssh host runs for every operation, how its answers
// become errors, and the release stream it receives (docs/ssh.md).
//
// The script is POSIX sh plus coreutils, find, tar and flock, so any Linux
// host with a POSIX login shell can be a target without installing
// anything. The tree listing it prints (list_tree) and the one this file
// writes for a staged release (tree_listing) must stay byte for byte alike:
// the host compares them before a release goes into place.
#include "deploy/ssh_remote_script.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <system_error>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/text.hpp"

namespace deploy::ssh {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;

constexpr const char* k_script = R"SHIPGATE_SH(
# shipgate's remote script on an ssh host (docs/ssh.md "The remote script"), started as
#   sh -c '<this script>' shipgate-remote OP ARG...
# It needs POSIX sh, coreutils, find, tar and flock (util-linux) only.
# Exit statuses: 0 done, 1 failed, 2 bad request, 3 changed since it was
# read (update-cas), 4 refused (the layout is not as expected), 5 files
# differ from their manifest, 6 a program is missing, 7 not found. The
# `run` operation exits with its command's status.
set -u
export LC_ALL=C
unset CDPATH
umask 022

die() {
  status=$1
  shift
  printf 'shipgate-remote: %s\n' "$*" >&2
  exit "$status"
}

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      die 6 "\"$tool\" is not installed on this host; shipgate needs sh, coreutils, find, tar and flock (util-linux) there"
  done
}

# fsync the given files or folders (coreutils >= 8.24), else everything.
flush() { sync -- "$@" 2>/dev/null || sync; }
exists() { [ -e "$1" ] || [ -L "$1" ]; }
real_dir() { [ -d "$1" ] && [ ! -L "$1" ]; }
plain() {
  case $1 in '' | . | .. | */* | .*) return 1 ;; esac
  return 0
}
need_plain() { plain "$2" || die 2 "\"$2\" is not a valid $1 (a plain name, not starting with \".\")"; }
# A file name in one folder (may start with ".").
need_file_name() {
  case $2 in '' | . | .. | */*) die 2 "\"$2\" is not a valid $1 (a file name without \"/\")" ;; esac
}
me() { id -un 2>/dev/null || echo "the ssh user"; }

make_dir() { # folder mode
  if ! exists "$1"; then
    mkdir -p -- "$1" && chmod "$2" -- "$1" ||
      die 1 "cannot create $1; check that $(me) may write to its parent folder"
  fi
  real_dir "$1" || die 4 "$1 exists but is not a folder; move it away and run again"
}

# Sets $linked to the release <root>/<name> points at ('' when no link).
link_release() {
  link=$1/$2
  linked=
  if [ ! -L "$link" ]; then
    exists "$link" && die 4 "$link exists and is not a symlink; shipgate never deletes it: move it away (e.g. into releases/) and run again"
    return 0
  fi
  text=$(readlink -- "$link") || die 1 "cannot read the link $link; check its permissions"
  target=$text
  case $target in "$1"/releases/*) target=releases/${target#"$1"/releases/} ;; esac
  case $target in
    releases/*)
      linked=${target#releases/}
      plain "$linked" && return 0
      ;;
  esac
  fix="point it at a release or move it away"
  [ "$2" = current ] && fix="point it at a release (shipgate rollback) or move it away"
  die 4 "$link points at \"$text\", which is not a release under releases/; $fix"
}

list_releases() {
  for dir in "$1"/releases/*; do
    if real_dir "$dir"; then printf '%s\n' "${dir##*/}"; fi
  done | sort
}

# Every entry below the current folder, sorted, one a line: "d ./dir",
# "f ./file", "l ./link -> target", "o ./other". The deploying machine
# writes the same lines for the tree it sends.
list_tree() {
  find . ! -name . \( \( -type d -exec printf 'd %s\n' {} + \) -o \
    \( -type l -exec sh -c 'for f in "$@"; do printf "l %s -> %s\n" "$f" "$(readlink -- "$f")"; done' sh {} + \) -o \
    \( -type f -exec printf 'f %s\n' {} + \) -o -exec printf 'o %s\n' {} + \) | sort
}

# How the current folder differs from a manifest (sha256sum lines, and
# list_tree lines): "changed ./file", "missing <line>", "added <line>".
differences() { # sums listing
  if [ -s "$1" ]; then
    sha256sum --quiet --strict -c -- "$1" 2>/dev/null | while IFS= read -r line; do
      case $line in
        *': FAILED open or read') ;;
        *': FAILED') printf 'changed %s\n' "${line%: FAILED}" ;;
      esac
    done
  fi
  list_tree | comm -3 -- "$2" - | while IFS= read -r line; do
    case $line in
      "	"*) printf 'added %s\n' "${line#?}" ;;
      *) printf 'missing %s\n' "$line" ;;
    esac
  done
}

refuse_shared() {
  die 4 "shared path \"$1\" is refused: shared paths are relative to the release, without \"..\""
}

# Like the local target: shared/<path> is seeded from the release's copy
# when missing, and the release's copy becomes a relative link to it.
link_shared() { # root release path
  case $3 in '' | /*) refuse_shared "$3" ;; esac
  case /$3/ in */../*) refuse_shared "$3" ;; esac
  folder=0
  case $3 in */) folder=1 ;; esac
  path=
  ups=../../
  set -f
  IFS=/
  for part in $3; do
    case $part in '' | .) continue ;; esac
    if [ -n "$path" ]; then
      [ -L "$2/$path" ] && die 4 "$2/$path is a symlink, so a shared path below it cannot be linked safely; list the folder itself as shared instead"
      path=$path/$part
      ups=../$ups
    else
      path=$part
    fi
  done
  unset IFS
  set +f
  [ -n "$path" ] || refuse_shared "$3"
  in_release=$2/$path
  in_shared=$1/shared/$path
  link=${ups}shared/$path
  if [ -L "$in_release" ] && [ "$(readlink -- "$in_release")" = "$link" ]; then return 0; fi
  if ! exists "$in_shared"; then
    mkdir -p -- "$(dirname -- "$in_shared")" || die 1 "cannot create $(dirname -- "$in_shared"); check permissions on shared/"
    if exists "$in_release"; then
      mv -T -- "$in_release" "$in_shared" || die 1 "cannot move $in_release to $in_shared; check permissions on the release and shared/"
    elif [ "$folder" = 1 ]; then
      mkdir -p -- "$in_shared" || die 1 "cannot create $in_shared; check permissions on shared/"
    else
      die 4 "shared file $in_shared is missing and the release has no copy to seed it from; create it on the host"
    fi
  fi
  rm -rf -- "$in_release" && mkdir -p -- "$(dirname -- "$in_release")" && ln -s -- "$link" "$in_release" ||
    die 1 "cannot link $in_release to shared/$path; check permissions on the release"
  flush "$(dirname -- "$in_release")"
}

# Deleting takes a while and a crash could leave half a release: a rename
# into the trash is atomic, so releases/ only ever holds whole ones.
to_trash() { # root id
  make_dir "$1/.shipgate/trash" 700
  trashed=$1/.shipgate/trash/$2-$$
  mv -T -- "$1/releases/$2" "$trashed" || die 1 "cannot move $1/releases/$2 to the trash; check permissions on $1/releases"
  flush "$1/releases"
  rm -rf -- "$trashed" || die 1 "cannot delete $trashed; delete it by hand, it is no longer a release"
  rm -f -- "$1/.shipgate/releases/$2.sha256" "$1/.shipgate/releases/$2.tree"
}

op_ensure() { # root
  for folder in "$1" "$1/releases" "$1/shared"; do make_dir "$folder" 755; done
  make_dir "$1/.shipgate" 700
  link_release "$1" current
}

op_status() { # root
  if exists "$1"; then
    link_release "$1" current
    [ -n "$linked" ] && printf 'current %s\n' "$linked"
    list_releases "$1" | while IFS= read -r id; do printf 'release %s\n' "$id"; done
  fi
  return 0
}

op_prepare() { # root id shared-path...
  root=$1 id=$2
  shift 2
  need_plain "release id" "$id"
  need tar sha256sum find sort comm
  real_dir "$root/releases" || die 1 "$root/releases is missing; shipgate creates it (ensure) before preparing a release"
  final=$root/releases/$id
  exists "$final" && die 4 "release $final already exists; use a new release id"
  partial=$root/releases/.partial-$id
  rm -rf -- "$partial" && mkdir -m 700 -- "$partial" ||
    die 1 "cannot create $partial; check free space and permissions on $root/releases"
  tar -x -p -o -f - -C "$partial" 2>"$partial/tar.log" ||
    die 1 "cannot unpack the release into $partial: $(head -c 400 "$partial/tar.log"); check free space on the host"
  real_dir "$partial/tree" && [ -f "$partial/manifest/sha256" ] && [ -f "$partial/manifest/tree" ] ||
    die 5 "the release stream for $id holds no manifest; deploy again"
  found=$(cd "$partial/tree" && differences "$partial/manifest/sha256" "$partial/manifest/tree" | head -n 5)
  if [ -n "$found" ]; then
    rm -rf -- "$partial"
    die 5 "the files received for release $id are not the verified ones ($(printf '%s' "$found" | tr '\n' ';')); nothing was installed; the staged copy on the deploying machine was changed or the transfer was damaged: deploy again"
  fi
  sync -f -- "$partial/tree" 2>/dev/null || sync
  mv -T -- "$partial/tree" "$final" || die 1 "cannot rename $partial/tree to $final; check permissions on $root/releases"
  flush "$root/releases"
  for shared in "$@"; do link_shared "$root" "$final" "$shared"; done
  # The manifest check_intact compares with: the tree as it now is, shared
  # links included; hashes are taken again only when links replaced files.
  records=$root/.shipgate/releases
  make_dir "$records" 700
  (cd "$final" && list_tree) >"$records/$id.tree.new" || die 1 "cannot list $final"
  if [ $# -gt 0 ]; then
    (cd "$final" && find . -type f -exec sha256sum -- {} +) >"$records/$id.sha256.new" || die 1 "cannot hash $final"
  else
    cp -- "$partial/manifest/sha256" "$records/$id.sha256.new" || die 1 "cannot write $records"
  fi
  flush "$records/$id.tree.new" "$records/$id.sha256.new"
  mv -f -- "$records/$id.sha256.new" "$records/$id.sha256" && mv -f -- "$records/$id.tree.new" "$records/$id.tree" ||
    die 1 "cannot write the manifest of $id in $records; check free space"
  flush "$records"
  rm -rf -- "$partial"
}

op_point_link() { # root name id
  need_plain "link name" "$2"
  need_plain "release id" "$3"
  real_dir "$1/releases/$3" || die 7 "release $1/releases/$3 does not exist or is not complete; \`$2\` was not changed"
  link_release "$1" "$2"
  make_dir "$1/.shipgate" 700
  # A new link renamed over the old one: the name always resolves to the
  # old release or the new one, never to nothing.
  temp=$1/.shipgate/$2.new-$$
  rm -f -- "$temp" && ln -s -- "releases/$3" "$temp" || die 1 "cannot create the link $temp; check permissions on $1/.shipgate"
  if ! mv -T -f -- "$temp" "$1/$2"; then
    rm -f -- "$temp"
    die 1 "cannot switch $1/$2: it must be a symlink on the same filesystem as .shipgate/; it was not changed"
  fi
  flush "$1"
}

op_read_link() { # root name
  need_plain "link name" "$2"
  link_release "$1" "$2"
  [ -n "$linked" ] && printf 'release %s\n' "$linked"
  return 0
}

op_check_intact() { # root id
  need_plain "release id" "$2"
  need sha256sum find sort comm
  release=$1/releases/$2
  record=$1/.shipgate/releases/$2
  real_dir "$release" || die 7 "release $2 is gone from $1/releases"
  [ -f "$record.sha256" ] && [ -f "$record.tree" ] ||
    die 7 "release $2 has no manifest (it was never completely prepared)"
  found=$(cd "$release" && differences "$record.sha256" "$record.tree")
  [ -z "$found" ] && return 0
  printf '%s\n' "$found"
  exit 5
}

op_discard() { # root id
  need_plain "release id" "$2"
  rm -rf -- "$1/releases/.partial-$2" || die 1 "cannot delete $1/releases/.partial-$2; delete it by hand"
  if exists "$1/releases/$2"; then
    link_release "$1" current
    [ "$linked" = "$2" ] && die 4 "release $2 is live (\`current\` points at it); switch to another release first"
    to_trash "$1" "$2"
  fi
  rm -f -- "$1/.shipgate/releases/$2.sha256" "$1/.shipgate/releases/$2.tree"
}

op_prune() { # root keep protected-id...
  root=$1 keep=$2
  shift 2
  case $keep in '' | *[!0-9]*) die 2 "keep must be 0 or more (got \"$keep\")" ;; esac
  exists "$root/releases" || return 0
  rm -rf -- "$root/.shipgate/trash" || die 1 "cannot empty $root/.shipgate/trash; delete it by hand"
  link_release "$root" current # an unreadable `current`: nothing is deleted
  live=$linked
  ids=$(list_releases "$root")
  [ -n "$ids" ] || return 0
  drop=$(($(printf '%s\n' "$ids" | wc -l) - keep))
  printf '%s\n' "$ids" | while IFS= read -r id; do
    [ "$drop" -gt 0 ] || break
    drop=$((drop - 1))
    [ "$id" = "$live" ] && continue
    for protected in "$@"; do [ "$id" = "$protected" ] && continue 2; done
    to_trash "$root" "$id"
    printf 'removed %s\n' "$id"
  done
}

# ---- the ledger, journal and lease folder (a StateStore)

state_file() { # folder name
  need_file_name "state file name" "$2"
  umask 077
  file=$1/$2
}

# Milliseconds since the file was last replaced, by this host's clock, which
# also stamped its modification time: the deploying machine's own clock may
# be off, this age is not. GNU date has %N; where it does not, whole
# seconds; "-" when the host cannot tell at all.
age_ms() { # file
  now=$(date +%s%N 2>/dev/null) || now=
  then=$(date -r "$1" +%s%N 2>/dev/null) || then=
  case $now/$then in
    *[!0-9/]* | /* | */) ;;
    *)
      if [ ${#now} -ge 16 ] && [ ${#then} -ge 16 ]; then
        age=$((${now%??????} - ${then%??????}))
        [ "$age" -ge 0 ] || age=0
        echo "$age"
        return 0
      fi
      ;;
  esac
  now=$(date +%s 2>/dev/null) || now=
  then=$(stat -c %Y -- "$1" 2>/dev/null) || then=
  case $now/$then in
    *[!0-9/]* | /* | */) echo - ;;
    *)
      age=$(((now - then) * 1000))
      [ "$age" -ge 0 ] || age=0
      echo "$age"
      ;;
  esac
}

print_state() { # file: "absent", or "present <sha256> <age_ms>" and the content
  if exists "$1"; then
    sum=$(sha256sum <"$1") || die 1 "cannot read $1; check its permissions"
    printf 'present %s %s\n' "${sum%% *}" "$(age_ms "$1")"
    cat -- "$1" || die 1 "cannot read $1; check its permissions"
  else
    echo absent
  fi
}

op_append() { # folder name; the line on stdin
  state_file "$1" "$2"
  need flock
  real_dir "$1" || die 1 "cannot append to $file: $1 does not exist (shipgate creates it before writing)"
  new=0
  exists "$file" || new=1
  # The lock makes the torn-line check and the append one step, whatever
  # size the line arrives in.
  (
    flock 9 || die 1 "cannot lock $file"
    if [ -s "$file" ] && [ "$(tail -c 1 -- "$file" | wc -l)" -eq 0 ]; then printf '\n' >&9; fi
    cat >&9 || die 1 "cannot append to $file; check free space on the host"
  ) 9>>"$file" || exit
  flush "$file"
  if [ "$new" = 1 ]; then flush "$1"; fi
}

op_read() { # folder name
  state_file "$1" "$2"
  if exists "$file"; then
    echo present
    cat -- "$file" || die 1 "cannot read $file; check its permissions"
  else
    echo absent
  fi
}

op_remove() { # folder name
  state_file "$1" "$2"
  if exists "$file"; then
    rm -f -- "$file" || die 1 "cannot remove $file; check permissions on $1"
    flush "$1"
  fi
}

op_read_state() { # folder name: print_state under a shared lock
  state_file "$1" "$2"
  need flock sha256sum
  real_dir "$1" || { echo absent; return 0; }
  (
    flock -s 9 || die 1 "cannot lock $file.guard"
    print_state "$file"
  ) 9>>"$file.guard"
}

# Applies a change only while the file still has the sha256 (or is still
# "absent") the deciding side saw; else prints the current state, exit 3.
op_update_cas() { # folder name expected write|remove; new content on stdin
  state_file "$1" "$2"
  need flock sha256sum
  real_dir "$1" || die 1 "cannot update $file: $1 does not exist (shipgate creates it before writing)"
  (
    flock 9 || die 1 "cannot lock $file.guard"
    now=absent
    if exists "$file"; then
      sum=$(sha256sum <"$file") || die 1 "cannot read $file; check its permissions"
      now=${sum%% *}
    fi
    if [ "$now" != "$3" ]; then
      print_state "$file"
      exit 3
    fi
    case $4 in
      write)
        temp=$file.tmp-$$
        if ! { cat >"$temp" && flush "$temp" && mv -f -- "$temp" "$file"; }; then
          rm -f -- "$temp"
          die 1 "cannot replace $file; check free space and permissions on $1"
        fi
        ;;
      remove) rm -f -- "$file" || die 1 "cannot remove $file; check permissions on $1" ;;
      *) die 2 "unknown change \"$4\"" ;;
    esac
    flush "$1"
  ) 9>>"$file.guard"
}

# ---- configuration snapshots and single files

copy_synced() { # from to
  temp=$2.shipgate-tmp
  if ! { cp -- "$1" "$temp" && flush "$temp" && mv -f -- "$temp" "$2"; }; then
    rm -f -- "$temp"
    die 1 "cannot copy $1 to $2; check free space and permissions"
  fi
}

# Like the local target: backups/<release>/config/ holds a copy per file
# and manifest.json {file: sha256 or null}; the deploying machine sends
# each file as: path on the host, copy name, file as a JSON string.
op_snapshot() { # root id (path copy key)...
  need_plain "release id" "$2"
  need sha256sum
  snapshot=$1/.shipgate/backups/$2/config
  shift 2
  mkdir -p -- "$snapshot" || die 1 "cannot create $snapshot; check free space and permissions"
  json=
  while [ $# -ge 3 ]; do
    need_file_name "snapshot copy name" "$2"
    if [ ! -e "$1" ]; then
      value=null
      echo -
    else
      [ -f "$1" ] || die 1 "$1 is not a regular file; only files can be listed as config_files"
      copy_synced "$1" "$snapshot/$2"
      sum=$(sha256sum <"$snapshot/$2") || die 1 "cannot read $snapshot/$2"
      value="\"${sum%% *}\""
      printf '%s\n' "${sum%% *}"
    fi
    json="$json${json:+,}
 $3: $value"
    shift 3
  done
  if [ -n "$json" ]; then json="{$json
}"; else json="{}"; fi
  printf '%s\n' "$json" >"$snapshot/manifest.json.new" && flush "$snapshot/manifest.json.new" &&
    mv -f -- "$snapshot/manifest.json.new" "$snapshot/manifest.json" ||
    die 1 "cannot write $snapshot/manifest.json; check free space"
  flush "$snapshot"
}

op_restore() { # root id (path copy sha256)...
  need_plain "release id" "$2"
  need sha256sum
  snapshot=$1/.shipgate/backups/$2/config
  shift 2
  while [ $# -ge 3 ]; do
    need_file_name "snapshot copy name" "$2"
    if [ -f "$1" ]; then
      sum=$(sha256sum <"$1") || die 1 "cannot read $1; check its permissions"
      if [ "${sum%% *}" = "$3" ]; then shift 3 && continue; fi
    fi
    sum=$(sha256sum <"$snapshot/$2" 2>/dev/null) || die 7 "the snapshot copy $snapshot/$2 is missing; restore $1 by hand"
    [ "${sum%% *}" = "$3" ] || die 5 "the snapshot copy $snapshot/$2 does not match its manifest; restore $1 by hand"
    mkdir -p -- "$(dirname -- "$1")" || die 1 "cannot create the folder of $1"
    copy_synced "$snapshot/$2" "$1"
    flush "$(dirname -- "$1")"
    printf '%s\n' "$1"
    shift 3
  done
}

op_file_facts() { # path: "none", or "file <size> <sha256>"
  if [ -f "$1" ]; then
    size=$(wc -c <"$1") && sum=$(sha256sum <"$1") || die 1 "cannot read $1; check its permissions"
    printf 'file %s %s\n' "$((size + 0))" "${sum%% *}"
  else
    echo none
  fi
}

op_write_file() { # path; the content on stdin
  folder=$(dirname -- "$1")
  mkdir -p -- "$folder" || die 1 "cannot create $folder; check permissions on its parent"
  temp=$1.shipgate-tmp-$$
  # A replaced file keeps its mode; a new one gets 0644 (less the umask).
  if ! { cat >"$temp" && { [ ! -e "$1" ] || chmod --reference="$1" -- "$temp"; } && flush "$temp" &&
    mv -f -- "$temp" "$1"; }; then
    rm -f -- "$temp"
    die 1 "cannot write $1; check free space and permissions on $folder"
  fi
  flush "$folder"
}

op_read_file() { # path: "absent", or "present" and the content
  if exists "$1"; then
    echo present
    cat -- "$1" || die 1 "cannot read $1; check its permissions"
  else
    echo absent
  fi
}

# Runs a command of the plan. Its environment comes on stdin, one
# NAME=VALUE a line with the value in printf %b escapes, so no value shows
# on a command line; the rest of stdin is the command's.
op_run() { # folder create-it(0|1) time-limit(s, 0: none) env-count command...
  folder=$1 create=$2 limit=$3 count=$4
  shift 4
  while [ "$count" -gt 0 ]; do
    IFS= read -r pair || die 2 "the environment ended early"
    value=$(printf '%bx' "${pair#*=}")
    export "${pair%%=*}=${value%x}" || die 2 "cannot set the environment variable ${pair%%=*}"
    count=$((count - 1))
  done
  if [ -n "$folder" ]; then
    if [ "$create" = 1 ]; then mkdir -p -- "$folder" || die 126 "cannot create the working folder $folder; check permissions"; fi
    cd "$folder" 2>/dev/null || die 126 "cannot enter the working folder $folder; check that it exists and that $(me) may enter it"
  fi
  [ $# -gt 0 ] || die 2 "no command to run"
  # `timeout` ends the command on the host too when it runs too long.
  if [ "$limit" != 0 ] && command -v timeout >/dev/null 2>&1; then exec timeout -k 5 "$limit" "$@"; fi
  exec "$@"
}

want() { # count given operation
  [ "$2" -ge "$1" ] || die 2 "$3 needs at least $1 arguments: a request this script does not understand"
}

[ $# -ge 1 ] || die 2 "no operation given"
op=$1
shift
case $op in
  ensure) want 1 $# "$op" && op_ensure "$1" ;;
  status) want 1 $# "$op" && op_status "$1" ;;
  prepare) want 2 $# "$op" && op_prepare "$@" ;;
  point-link) want 3 $# "$op" && op_point_link "$1" "$2" "$3" ;;
  read-link) want 2 $# "$op" && op_read_link "$1" "$2" ;;
  check-intact) want 2 $# "$op" && op_check_intact "$1" "$2" ;;
  discard) want 2 $# "$op" && op_discard "$1" "$2" ;;
  prune) want 2 $# "$op" && op_prune "$@" ;;
  store-ensure) want 1 $# "$op" && make_dir "$1" 700 ;;
  store-exists) want 1 $# "$op" && { if exists "$1"; then echo yes; else echo no; fi; } ;;
  append) want 2 $# "$op" && op_append "$1" "$2" ;;
  read) want 2 $# "$op" && op_read "$1" "$2" ;;
  remove) want 2 $# "$op" && op_remove "$1" "$2" ;;
  read-state) want 2 $# "$op" && op_read_state "$1" "$2" ;;
  update-cas) want 4 $# "$op" && op_update_cas "$1" "$2" "$3" "$4" ;;
  snapshot-config) want 2 $# "$op" && op_snapshot "$@" ;;
  restore-config) want 2 $# "$op" && op_restore "$@" ;;
  file-facts) want 1 $# "$op" && op_file_facts "$1" ;;
  write-file) want 1 $# "$op" && op_write_file "$1" ;;
  read-file) want 1 $# "$op" && op_read_file "$1" ;;
  run) want 5 $# "$op" && op_run "$@" ;;
  *) die 2 "unknown operation \"$op\": a request this script does not understand" ;;
esac
)SHIPGATE_SH";

core::Result<RemoteAnswer> answer_of(Session& session, const RemoteCall& call, const io::ProcessResult& result) {
  if (auto failed = session.connection_error(result, call.timeout)) return *failed;
  if (result.exit_code == 255 || result.exit_code > 128)
    return core::make_error(ErrorKind::runtime, session.describe() + ": shipgate's remote script was killed during \"" +
                                                    call.op + "\" (status " + std::to_string(result.exit_code) +
                                                    "); check the host's memory and its logs, then run again");
  if (result.output.size() >= k_max_answer || result.error_output.size() >= k_max_answer)
    return core::make_error(ErrorKind::runtime, session.describe() + ": the answer to \"" + call.op +
                                                    "\" is larger than " + std::to_string(k_max_answer >> 20) +
                                                    " MiB; shipgate does not read it");
  return RemoteAnswer{result.exit_code, result.output, result.error_output};
}

// The remote script's own words: its "shipgate-remote: " lines, else all it said.
std::string remote_message(const RemoteAnswer& answer) {
  static constexpr std::string_view k_prefix = "shipgate-remote: ";
  std::string said;
  std::size_t start = 0;
  while (start < answer.err.size()) {
    const std::size_t end = std::min(answer.err.find('\n', start), answer.err.size());
    const std::string_view line = std::string_view(answer.err).substr(start, end - start);
    if (core::starts_with(line, k_prefix))
      said += (said.empty() ? "" : "; ") + std::string(line.substr(k_prefix.size()));
    start = end + 1;
  }
  if (said.empty()) said = core::trim(answer.err);
  return core::truncate(core::sanitize_utf8(said), 2000);
}

} // namespace

const std::string& remote_script() {
  static const std::string script(k_script);
  return script;
}

core::Result<RemoteAnswer> call_remote(Session& session, const RemoteCall& call) {
  Session::Request request;
  request.argv = {"sh", "-c", remote_script(), "shipgate-remote", call.op};
  request.argv.insert(request.argv.end(), call.args.begin(), call.args.end());
  request.input = call.input;
  request.timeout = call.timeout;
  request.max_output = k_max_answer;
  // shipgate's own operations finish even when a run is interrupted: the
  // rollback that follows needs them.
  request.stop_on_interrupt = false;
  return answer_of(session, call, session.run(request));
}

core::Error remote_failure(const Session& session, const RemoteCall& call, const RemoteAnswer& answer) {
  ErrorKind kind = ErrorKind::runtime;
  if (answer.status == remote_status::refused || answer.status == remote_status::not_found)
    kind = ErrorKind::invalid_input;
  else if (answer.status == remote_status::differs)
    kind = ErrorKind::blocked;
  std::string message = remote_message(answer);
  if (message.empty())
    message = "\"" + call.op + "\" failed with status " + std::to_string(answer.status) + " and no message";
  if (answer.status == remote_status::bad_request)
    message += " (is the host's /bin/sh a POSIX shell, and its login shell too?)";
  return core::make_error(kind, session.describe() + ": " + message);
}

core::Result<RemoteAnswer> call_remote_ok(Session& session, const RemoteCall& call) {
  auto answer = call_remote(session, call);
  if (!answer) return answer;
  if (answer->status != remote_status::ok) return remote_failure(session, call, *answer);
  return answer;
}

// ---- the release stream

namespace {

struct StageEntry {
  std::mutex mutex;
  std::shared_ptr<StagedRelease> staged;
  std::optional<core::Error> error; // an artifact that cannot be staged fails alike for every host
};

// The sha256 of one open file, taken once.
struct DigestEntry {
  std::mutex mutex;
  std::string digest;
};

struct StageCache {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<DigestEntry>> digests; // by file identity
  std::map<std::string, std::shared_ptr<StageEntry>> entries;  // by content and limits
  int next = 0;
};

StageCache& stage_cache() {
  static auto* instance = new StageCache;
  return *instance;
}

// The open file itself, not just its name: a file replaced or rewritten
// under the same path is hashed anew.
std::string file_identity(const OpenedArtifact& artifact) {
  struct stat info {};
  if (::fstat(artifact.fd(), &info) != 0) return {};
  const auto number = [](auto value) { return std::to_string(static_cast<long long>(value)); };
  return artifact.path().string() + "\n" + number(info.st_dev) + ":" + number(info.st_ino) + ":" +
         number(info.st_size) + ":" + number(info.st_mtim.tv_sec) + "." + number(info.st_mtim.tv_nsec) + ":" +
         number(info.st_ctim.tv_sec) + "." + number(info.st_ctim.tv_nsec);
}

// Staged copies are shared by content: hosts that were handed separate
// downloads of the same artifact still cause one unpack, at the price of
// one sha256 per file.
core::Result<std::string> stage_key(const OpenedArtifact& artifact, const UnpackLimits& limits) {
  const std::string identity = file_identity(artifact);
  StageCache& cache = stage_cache();
  std::shared_ptr<DigestEntry> entry = std::make_shared<DigestEntry>();
  if (!identity.empty()) {
    const std::lock_guard lock(cache.mutex);
    auto& slot = cache.digests[identity];
    if (!slot) slot = entry;
    entry = slot;
  }
  const std::lock_guard lock(entry->mutex);
  if (entry->digest.empty()) {
    auto digest = sha256_hex(artifact);
    if (!digest) return digest.error();
    entry->digest = *digest;
  }
  return entry->digest + ":" + std::to_string(limits.max_total_bytes) + ":" + std::to_string(limits.max_entries);
}

// sha256sum writes a name holding a backslash escaped, the line marked
// with a leading backslash; `sha256sum -c` reads it back the same way.
std::string sums_line(const std::string& digest, const std::string& name) {
  if (name.find('\\') == std::string::npos) return digest + "  " + name + "\n";
  std::string escaped;
  for (char c : name)
    escaped += c == '\\' ? std::string("\\\\") : std::string(1, c);
  return "\\" + digest + "  " + escaped + "\n";
}

core::Status refuse_line_break(const std::string& text) {
  if (text.find_first_of("\n\r") == std::string::npos) return core::ok_status();
  return core::make_error(ErrorKind::invalid_input,
                          "the artifact holds \"" + core::sanitize_utf8(text) +
                              "\", a name with a line break, which an ssh target cannot check; rename it");
}

// The manifest of the staged tree: list_tree's lines (sorted bytewise,
// like `LC_ALL=C sort`) and sha256sum lines for the regular files.
core::Status describe_staged(StagedRelease& staged) {
  std::vector<std::string> lines;
  std::error_code error;
  fs::recursive_directory_iterator it(staged.tree, fs::directory_options::none, error), end;
  for (; !error && it != end; it.increment(error)) {
    const std::string name = "./" + it->path().lexically_relative(staged.tree).string();
    if (auto clean = refuse_line_break(name); !clean) return clean;
    const fs::file_status status = it->symlink_status(error);
    if (error) break;
    if (fs::is_symlink(status)) {
      const std::string target = fs::read_symlink(it->path(), error).string();
      if (auto clean = refuse_line_break(target); !clean) return clean;
      lines.push_back("l " + name + " -> ");
      lines.back() += target;
    } else if (fs::is_directory(status)) {
      lines.push_back("d " + name);
    } else if (fs::is_regular_file(status)) {
      auto digest = sha256_file(it->path());
      if (!digest) return digest.error();
      lines.push_back("f " + name);
      staged.sums += sums_line(*digest, name);
    } else {
      lines.push_back("o " + name);
    }
  }
  if (error)
    return core::make_error(ErrorKind::runtime, "cannot read the staged release " + staged.tree.string() + ": " +
                                                    error.message() + " (check free space in the temporary folder)");
  std::sort(lines.begin(), lines.end());
  for (const auto& line : lines)
    staged.listing += line + "\n";
  return core::ok_status();
}

la_ssize_t append_to_string(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// A tar in memory: folders, regular files and symlinks with their mode
// bits and times, no owners (the host's user owns what it unpacks).
class TarWriter {
public:
  explicit TarWriter(std::string& out) : m_archive(archive_write_new()) {
    archive_write_set_format_gnutar(m_archive); // raw names, any length, read by GNU and busybox tar
    archive_write_set_bytes_in_last_block(m_archive, 1);
    m_open = archive_write_open(m_archive, &out, nullptr, append_to_string, nullptr) == ARCHIVE_OK;
  }
  ~TarWriter() { archive_write_free(m_archive); }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  core::Status add_text(const std::string& name, const std::string& text) {
    auto entry = new_entry(name, AE_IFREG, 0600);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(text.size()));
    if (archive_write_header(m_archive, entry.get()) < ARCHIVE_WARN) return failure(name);
    if (!text.empty() && archive_write_data(m_archive, text.data(), text.size()) < 0) return failure(name);
    return core::ok_status();
  }

  core::Status add_folder(const std::string& name, mode_t mode) {
    auto entry = new_entry(name, AE_IFDIR, mode);
    return archive_write_header(m_archive, entry.get()) < ARCHIVE_WARN ? failure(name) : core::ok_status();
  }

  core::Status add_path(const std::string& name, const fs::path& source) {
    struct stat info {};
    if (::lstat(source.c_str(), &info) != 0) return io_failure(source);
    if (S_ISDIR(info.st_mode)) return add_folder(name, info.st_mode & 0777);
    auto entry = new_entry(name, S_ISLNK(info.st_mode) ? AE_IFLNK : AE_IFREG, info.st_mode & 0777);
    archive_entry_set_mtime(entry.get(), info.st_mtim.tv_sec, info.st_mtim.tv_nsec);
    if (S_ISLNK(info.st_mode)) {
      std::error_code error;
      const std::string target = fs::read_symlink(source, error).string();
      if (error) return io_failure(source);
      archive_entry_copy_symlink(entry.get(), target.c_str());
      return archive_write_header(m_archive, entry.get()) < ARCHIVE_WARN ? failure(name) : core::ok_status();
    }
    if (!S_ISREG(info.st_mode)) return core::ok_status(); // nothing else survives unpack_archive
    return add_file(name, source, std::move(entry));
  }

  core::Status finish() {
    return archive_write_close(m_archive) == ARCHIVE_OK ? core::ok_status() : failure("the end");
  }
  bool open() const { return m_open; }

private:
  using Entry = std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)>;

  Entry new_entry(const std::string& name, unsigned int type, mode_t mode) {
    Entry entry(archive_entry_new(), &archive_entry_free);
    archive_entry_copy_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), mode);
    return entry;
  }

  core::Status add_file(const std::string& name, const fs::path& source, Entry entry) {
    const int fd = ::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return io_failure(source);
    struct stat info {};
    std::string buffer(std::size_t{128} * 1024, '\0');
    bool written = ::fstat(fd, &info) == 0;
    if (written) {
      archive_entry_set_size(entry.get(), info.st_size);
      written = archive_write_header(m_archive, entry.get()) >= ARCHIVE_WARN;
    }
    ssize_t got = 0;
    while (written && (got = ::read(fd, buffer.data(), buffer.size())) != 0) {
      if (got < 0 && errno == EINTR) continue;
      written = got > 0 && archive_write_data(m_archive, buffer.data(), static_cast<size_t>(got)) >= 0;
    }
    ::close(fd);
    return written ? core::ok_status() : failure(name);
  }

  core::Error failure(const std::string& name) {
    const char* why = archive_error_string(m_archive);
    return core::make_error(ErrorKind::runtime,
                            "cannot write the release stream at " + name + ": " + (why ? why : "unknown error"));
  }
  static core::Error io_failure(const fs::path& path) {
    return core::make_error(ErrorKind::runtime, "cannot read the staged file " + path.string() + ": " +
                                                    std::strerror(errno) + " (was the temporary folder cleaned?)");
  }

  struct archive* m_archive;
  bool m_open = false;
};

// The tree is read now, after its manifest was made: a staged file that
// changed since then reaches the host as it is now and is refused there.
core::Result<std::string> build_stream(const StagedRelease& staged) {
  std::string out;
  TarWriter tar(out);
  if (!tar.open()) return core::make_error(ErrorKind::runtime, "cannot start the release stream (libarchive)");
  core::Status header = tar.add_folder("manifest", 0700);
  if (header) header = tar.add_text("manifest/sha256", staged.sums);
  if (header) header = tar.add_text("manifest/tree", staged.listing);
  if (header) header = tar.add_folder("tree", 0755);
  if (!header) return header.error();
  std::error_code error;
  fs::recursive_directory_iterator it(staged.tree, fs::directory_options::none, error), end;
  for (; !error && it != end; it.increment(error))
    if (auto added = tar.add_path("tree/" + it->path().lexically_relative(staged.tree).string(), it->path()); !added)
      return added.error();
  if (error)
    return core::make_error(ErrorKind::runtime,
                            "cannot read the staged release " + staged.tree.string() + ": " + error.message());
  if (auto finished = tar.finish(); !finished) return finished.error();
  return out;
}

core::Result<std::shared_ptr<StagedRelease>> unpack_staged(const OpenedArtifact& artifact, const UnpackLimits& limits,
                                                           int number) {
  auto dir = private_dir();
  if (!dir) return dir.error();
  auto staged = std::make_shared<StagedRelease>();
  const fs::path folder = *dir / ("stage-" + std::to_string(number));
  staged->tree = folder / "tree";
  std::error_code error;
  fs::remove_all(folder, error);
  fs::create_directory(folder, error);
  if (error)
    return core::make_error(ErrorKind::runtime, "cannot create " + folder.string() + ": " + error.message() +
                                                    " (check free space in the temporary folder)");
  auto unpacked = unpack_archive(artifact, staged->tree, limits);
  if (!unpacked) return unpacked.error();
  if (auto described = describe_staged(*staged); !described) return described.error();
  return staged;
}

} // namespace

core::Result<std::shared_ptr<StagedRelease>> stage_release(const OpenedArtifact& artifact, const UnpackLimits& limits) {
  auto key = stage_key(artifact, limits);
  if (!key) return key.error();
  StageCache& cache = stage_cache();
  std::shared_ptr<StageEntry> entry;
  int number = 0;
  {
    const std::lock_guard lock(cache.mutex);
    number = ++cache.next;
    auto& slot = cache.entries[*key];
    if (!slot) slot = std::make_shared<StageEntry>();
    entry = slot;
  }
  // Hosts asking for the same artifact wait for one unpack; other artifacts
  // are not held up.
  const std::lock_guard lock(entry->mutex);
  if (entry->staged) return entry->staged;
  if (entry->error) return *entry->error;
  auto staged = unpack_staged(artifact, limits, number);
  if (!staged) {
    if (staged.error().kind != ErrorKind::interrupted) entry->error = staged.error();
    return staged.error();
  }
  entry->staged = *staged;
  return entry->staged;
}

core::Result<std::shared_ptr<const std::string>> release_stream(StagedRelease& staged) {
  const std::lock_guard lock(staged.stream_mutex);
  if (staged.stream) return staged.stream;
  auto built = build_stream(staged);
  if (!built) return built.error();
  staged.stream = std::make_shared<const std::string>(std::move(*built));
  return staged.stream;
}

void drop_staged_releases() {
  StageCache& cache = stage_cache();
  const std::lock_guard lock(cache.mutex);
  std::error_code ignored;
  for (const auto& [key, entry] : cache.entries) {
    const std::lock_guard entry_lock(entry->mutex);
    if (entry->staged) fs::remove_all(entry->staged->tree.parent_path(), ignored);
  }
  cache.entries.clear();
  cache.digests.clear();
}

} // namespace deploy::ssh
