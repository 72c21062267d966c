#pragma once
// The layout of a local target root:
//   <root>/releases/<release-id>/   one folder per release
//   <root>/current -> releases/<id> switched atomically (new link, rename(2))
//   <root>/shared/                  linked into each release
//   <root>/.shipgate/               ledger, lock, journal, incoming/, backups/
// A release is unpacked into releases/.partial-<id> and renamed into place
// only when complete, so `current` never points at a half-unpacked release.
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"

namespace deploy::layout {

std::filesystem::path releases_dir(const std::filesystem::path& root);
std::filesystem::path release_dir(const std::filesystem::path& root, const std::string& id);
std::filesystem::path partial_dir(const std::filesystem::path& root, const std::string& id);
std::filesystem::path current_link(const std::filesystem::path& root);
std::filesystem::path shared_dir(const std::filesystem::path& root);
std::filesystem::path state_dir(const std::filesystem::path& root);   // .shipgate
std::filesystem::path incoming_dir(const std::filesystem::path& root); // .shipgate/incoming
std::filesystem::path backups_dir(const std::filesystem::path& root);  // .shipgate/backups

// Creates root, releases/, shared/ and .shipgate/ (0700) when missing.
// An existing `current` that is not a symlink is an error (the user must
// move it away; shipgate never deletes it).
core::Status ensure(const std::filesystem::path& root);

// "<UTC yyyymmddThhmmssZ>-<version>", with a "-2", "-3" suffix added by the
// caller when taken. Versions may hold [A-Za-z0-9._+-], start with an
// alphanumeric and be at most 100 characters.
bool valid_version(std::string_view version);
bool valid_release_id(std::string_view id);
std::string make_release_id(std::string_view version, core::SystemTime now);

// The release `current` points at (nullopt when there is no link); an
// error when it points outside releases/.
core::Result<std::optional<std::string>> current_release(const std::filesystem::path& root);
// Complete releases (not .partial-*), sorted by name (= by creation time).
core::Result<std::vector<std::string>> list_releases(const std::filesystem::path& root);

// Points `current` at releases/<id>: a new relative symlink
// (.shipgate/current.new-<pid>) renamed over `current`, then the root
// folder fsynced. The release must exist and be complete.
core::Status switch_current(const std::filesystem::path& root, const std::string& id);

// The same for any link <root>/<name> (blue-green colour links): `name` is
// a plain file name; the temporary link is .shipgate/<name>.new-<pid>.
core::Status switch_link(const std::filesystem::path& root, const std::string& name, const std::string& id);
// The release <root>/<name> points at, as current_release() reads `current`.
core::Result<std::optional<std::string>> link_release(const std::filesystem::path& root, const std::string& name);

// Renames releases/.partial-<id> to releases/<id> after fsyncing it.
core::Status commit_partial(const std::filesystem::path& root, const std::string& id);
// Removes releases/.partial-* leftovers of crashed runs; returns their names.
core::Result<std::vector<std::string>> remove_partials(const std::filesystem::path& root);

// For each release-relative path: when shared/<path> is missing, it is
// seeded from the release's copy (or created as an empty folder when the
// path ends with '/'); the release's copy is replaced by a relative
// symlink to shared/<path>. Paths with ".." or absolute paths are refused.
core::Status link_shared(const std::filesystem::path& root, const std::string& id,
                         const std::vector<std::string>& paths);

// Keeps the newest `keep` releases plus every release in `protect` (the
// live one, the recorded rollback target); removes the others, oldest
// first, by renaming each into .shipgate/trash/ and deleting it there, so a
// crash mid-delete never leaves a half release in releases/. Returns the
// removed ids.
core::Result<std::vector<std::string>> prune(const std::filesystem::path& root, int keep,
                                             const std::set<std::string>& protect);
// Removes one release (never the one `current` points at).
core::Status remove_release(const std::filesystem::path& root, const std::string& id);

// Writes all of `text` to `fd` (retrying short writes and EINTR); false
// with errno set when it could not.
bool write_all(int fd, std::string_view text);

// fsync helpers used by the ledger, journal and unpacker.
core::Status fsync_path(const std::filesystem::path& path); // a file or a folder
core::Status fsync_tree(const std::filesystem::path& folder); // every regular file and folder below

} // namespace deploy::layout
