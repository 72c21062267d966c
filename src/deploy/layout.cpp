#include "deploy/layout.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

namespace deploy::layout {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view k_partial_prefix = ".partial-";
constexpr std::string_view k_link_prefix = "releases/";

core::Error io_error(const std::string& what, const fs::path& path, int error_number, const std::string& fix) {
  return core::make_error(core::ErrorKind::runtime,
                          what + " " + path.string() + ": " + std::strerror(error_number) + " (" + fix + ")");
}

core::Error io_error(const std::string& what, const fs::path& path, const std::error_code& error,
                     const std::string& fix) {
  return core::make_error(core::ErrorKind::runtime,
                          what + " " + path.string() + ": " + error.message() + " (" + fix + ")");
}

bool is_real_directory(const fs::path& path) {
  std::error_code ignored;
  return fs::is_directory(fs::symlink_status(path, ignored));
}

bool exists_no_follow(const fs::path& path) {
  std::error_code ignored;
  return fs::exists(fs::symlink_status(path, ignored));
}

// A plain folder name: the only thing a release id may be when it becomes
// part of a path, whatever created it.
bool is_plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

std::string random_suffix() {
  unsigned char bytes[6];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr));
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char byte : bytes) {
    text += k_hex[byte >> 4];
    text += k_hex[byte & 0xf];
  }
  return text;
}

fs::path trash_dir(const fs::path& root) { return state_dir(root) / "trash"; }

// Deleting a release takes a while and a crash could leave half of it; a
// rename into the trash is atomic, so releases/ only ever holds whole ones.
core::Status move_to_trash_and_delete(const fs::path& root, const fs::path& folder, const std::string& name) {
  const fs::path trash = trash_dir(root);
  std::error_code error;
  fs::create_directories(trash, error);
  if (error) return io_error("cannot create", trash, error, "check permissions on the target root");
  const fs::path target = trash / (name + "-" + random_suffix());
  if (::rename(folder.c_str(), target.c_str()) != 0)
    return io_error("cannot move to the trash", folder, errno, "check permissions on " + folder.parent_path().string());
  if (auto synced = fsync_path(folder.parent_path()); !synced) return synced;
  fs::remove_all(target, error);
  if (error) return io_error("cannot delete", target, error, "delete it by hand; it is no longer a release");
  return core::ok_status();
}

// Leftovers of a prune or remove that crashed after the rename.
core::Status empty_trash(const fs::path& root) {
  const fs::path trash = trash_dir(root);
  std::error_code error;
  if (!fs::exists(trash, error)) return core::ok_status();
  for (const auto& entry : fs::directory_iterator(trash, error)) {
    fs::remove_all(entry.path(), error);
    if (error) return io_error("cannot delete", entry.path(), error, "delete it by hand");
  }
  if (error) return io_error("cannot list", trash, error, "check permissions");
  return core::ok_status();
}

core::Status create_dir(const fs::path& path, fs::perms perms) {
  std::error_code error;
  if (fs::create_directories(path, error)) fs::permissions(path, perms, error);
  if (error) return io_error("cannot create", path, error, "check that the parent folder is writable");
  if (!is_real_directory(path))
    return core::make_error(core::ErrorKind::invalid_input,
                            path.string() + " exists but is not a folder; move it away and run again");
  return core::ok_status();
}

// Refuses what could leave the release: absolute paths and "..".
core::Result<fs::path> checked_shared_path(const std::string& text) {
  fs::path path(text);
  bool escapes = text.empty() || path.is_absolute();
  for (const auto& part : path)
    if (part == "..") escapes = true;
  fs::path normal = path.lexically_normal();
  if (!normal.empty() && !normal.has_filename()) normal = normal.parent_path(); // "config/" -> "config"
  if (escapes || normal.empty() || normal == ".")
    return core::make_error(core::ErrorKind::invalid_input,
                            "shared path \"" + text +
                                "\" is refused: shared paths are relative to the release, without \"..\"");
  return normal;
}

// A symlink among the parents inside the release could point anywhere, and
// replacing the path through it would change files outside the release.
core::Status refuse_linked_parents(const fs::path& release, const fs::path& relative) {
  fs::path walk = release;
  for (auto it = relative.begin(); std::next(it) != relative.end(); ++it) {
    walk /= *it;
    std::error_code ignored;
    if (fs::is_symlink(fs::symlink_status(walk, ignored)))
      return core::make_error(core::ErrorKind::invalid_input,
                              walk.string() + " is a symlink, so a shared path below it cannot be linked safely; "
                                              "list the folder itself as shared instead");
  }
  return core::ok_status();
}

core::Status seed_shared(const fs::path& in_release, const fs::path& in_shared, bool is_folder) {
  std::error_code error;
  fs::create_directories(in_shared.parent_path(), error);
  if (error) return io_error("cannot create", in_shared.parent_path(), error, "check permissions on shared/");
  if (!exists_no_follow(in_release)) {
    if (is_folder) {
      fs::create_directories(in_shared, error);
      if (error) return io_error("cannot create", in_shared, error, "check permissions on shared/");
      return core::ok_status();
    }
    return core::make_error(core::ErrorKind::invalid_input,
                            "shared file " + in_shared.string() +
                                " is missing and the release has no copy to seed it from; create it on the target");
  }
  if (::rename(in_release.c_str(), in_shared.c_str()) == 0) return core::ok_status();
  if (errno != EXDEV) return io_error("cannot move", in_release, errno, "check permissions on the release and shared/");
  fs::copy(in_release, in_shared, fs::copy_options::recursive | fs::copy_options::copy_symlinks, error);
  if (error) return io_error("cannot copy", in_release, error, "check free space and permissions on shared/");
  return core::ok_status();
}

core::Status link_one_shared(const fs::path& root, const fs::path& release, const std::string& text) {
  auto relative = checked_shared_path(text);
  if (!relative) return relative.error();
  if (auto safe = refuse_linked_parents(release, *relative); !safe) return safe;
  const fs::path in_release = release / *relative;
  const fs::path in_shared = shared_dir(root) / *relative;
  const fs::path link_text = in_shared.lexically_relative(in_release.parent_path());
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(in_release, error)) && fs::read_symlink(in_release, error) == link_text)
    return core::ok_status(); // already linked by an earlier, interrupted run
  error.clear();
  if (!exists_no_follow(in_shared)) {
    if (auto seeded = seed_shared(in_release, in_shared, text.back() == '/'); !seeded) return seeded;
  }
  fs::remove_all(in_release, error);
  if (!error) fs::create_directories(in_release.parent_path(), error);
  if (error) return io_error("cannot replace", in_release, error, "check permissions on the release");
  if (::symlink(link_text.c_str(), in_release.c_str()) != 0)
    return io_error("cannot link", in_release, errno, "check permissions on the release");
  return fsync_path(in_release.parent_path());
}

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

fs::path releases_dir(const fs::path& root) { return root / "releases"; }
fs::path release_dir(const fs::path& root, const std::string& id) { return releases_dir(root) / id; }
fs::path partial_dir(const fs::path& root, const std::string& id) {
  return releases_dir(root) / (std::string(k_partial_prefix) + id);
}
fs::path current_link(const fs::path& root) { return root / "current"; }
fs::path shared_dir(const fs::path& root) { return root / "shared"; }
fs::path state_dir(const fs::path& root) { return root / ".shipgate"; }
fs::path incoming_dir(const fs::path& root) { return state_dir(root) / "incoming"; }
fs::path backups_dir(const fs::path& root) { return state_dir(root) / "backups"; }

core::Status ensure(const fs::path& root) {
  const auto folder_perms = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec;
  for (const auto& folder : {root, releases_dir(root), shared_dir(root)})
    if (auto made = create_dir(folder, folder_perms); !made) return made;
  if (auto made = create_dir(state_dir(root), fs::perms::owner_all); !made) return made;
  const fs::path current = current_link(root);
  std::error_code ignored;
  if (exists_no_follow(current) && !fs::is_symlink(fs::symlink_status(current, ignored)))
    return core::make_error(core::ErrorKind::invalid_input,
                            current.string() + " exists and is not a symlink; shipgate never deletes it: "
                                               "move it away (e.g. into releases/) and run again");
  return core::ok_status();
}

bool valid_version(std::string_view version) {
  if (version.empty() || version.size() > 100) return false;
  if (!std::isalnum(static_cast<unsigned char>(version.front()))) return false;
  return std::all_of(version.begin(), version.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-';
  });
}

bool valid_release_id(std::string_view id) {
  // yyyymmddThhmmssZ-<version>
  if (id.size() < 18) return false;
  return all_digits(id.substr(0, 8)) && id[8] == 'T' && all_digits(id.substr(9, 6)) && id[15] == 'Z' &&
         id[16] == '-' && valid_version(id.substr(17));
}

std::string make_release_id(std::string_view version, core::SystemTime now) {
  const std::time_t epoch = std::chrono::system_clock::to_time_t(now);
  std::tm fields{};
  gmtime_r(&epoch, &fields);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &fields);
  return std::string(stamp) + "-" + std::string(version);
}

core::Result<std::optional<std::string>> current_release(const fs::path& root) {
  return link_release(root, "current");
}

core::Result<std::optional<std::string>> link_release(const fs::path& root, const std::string& name) {
  if (!is_plain_name(name))
    return core::make_error(core::ErrorKind::invalid_input, "\"" + name + "\" is not a link name (a plain file name in the root)");
  const fs::path link = root / name;
  std::error_code error;
  const fs::path target = fs::read_symlink(link, error);
  if (error == std::errc::no_such_file_or_directory) return std::optional<std::string>{};
  if (error) return io_error("cannot read the link", link, error, "it must be a symlink to releases/<id>");
  std::string text = target.string();
  if (target.is_absolute()) { // written by another tool: accept it when it names one of our releases
    const fs::path inside = target.lexically_normal().lexically_relative(fs::absolute(root).lexically_normal());
    text = inside.string();
  }
  if (text.rfind(k_link_prefix, 0) == 0) {
    const std::string id = text.substr(k_link_prefix.size());
    if (is_plain_name(id) && id.rfind(k_partial_prefix, 0) != 0) return std::optional<std::string>(id);
  }
  const std::string fix = name == "current" ? "point it at a release (shipgate rollback) or move it away"
                                            : "point it at a release or move it away";
  return core::make_error(core::ErrorKind::invalid_input,
                          link.string() + " points at \"" + target.string() +
                              "\", which is not a release under releases/; " + fix);
}

core::Result<std::vector<std::string>> list_releases(const fs::path& root) {
  std::vector<std::string> ids;
  const fs::path folder = releases_dir(root);
  std::error_code error;
  if (!fs::exists(folder, error)) return ids;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.front() != '.' && is_real_directory(entry.path())) ids.push_back(name);
  }
  if (error) return io_error("cannot list", folder, error, "check permissions");
  std::sort(ids.begin(), ids.end());
  return ids;
}

core::Status switch_current(const fs::path& root, const std::string& id) { return switch_link(root, "current", id); }

core::Status switch_link(const fs::path& root, const std::string& name, const std::string& id) {
  if (!is_plain_name(name))
    return core::make_error(core::ErrorKind::invalid_input, "\"" + name + "\" is not a link name (a plain file name in the root)");
  if (!is_plain_name(id) || id.rfind(k_partial_prefix, 0) == 0 || !is_real_directory(release_dir(root, id)))
    return core::make_error(core::ErrorKind::invalid_input,
                            "release " + release_dir(root, id).string() + " does not exist or is not complete; `" +
                                name + "` was not changed");
  std::error_code error;
  fs::create_directories(state_dir(root), error);
  // rename(2) replaces the old link in one step, so the link always
  // resolves to the old or the new release; unlink + symlink would leave a
  // moment with no link at all.
  const fs::path temp = state_dir(root) / (name + ".new-" + std::to_string(::getpid()));
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT)
    return io_error("cannot remove the leftover", temp, errno, "remove it by hand");
  const std::string link_text = std::string(k_link_prefix) + id;
  if (::symlink(link_text.c_str(), temp.c_str()) != 0)
    return io_error("cannot create the link", temp, errno, "check permissions on " + state_dir(root).string());
  if (::rename(temp.c_str(), (root / name).c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    return io_error("cannot switch", root / name, saved,
                    "`" + name + "` must be a symlink on the same filesystem as .shipgate/; it was not changed");
  }
  return fsync_path(root);
}

core::Status commit_partial(const fs::path& root, const std::string& id) {
  const fs::path partial = partial_dir(root, id);
  const fs::path final_dir = release_dir(root, id);
  if (!is_plain_name(id) || !is_real_directory(partial))
    return core::make_error(core::ErrorKind::runtime, "no unpacked release at " + partial.string());
  // rename(2) would silently replace an empty folder of the same name.
  if (exists_no_follow(final_dir))
    return core::make_error(core::ErrorKind::invalid_input,
                            "release " + final_dir.string() + " already exists; use a new release id");
  if (auto synced = fsync_tree(partial); !synced) return synced;
  if (::rename(partial.c_str(), final_dir.c_str()) != 0)
    return io_error("cannot rename", partial, errno, "check permissions on " + releases_dir(root).string());
  return fsync_path(releases_dir(root));
}

core::Result<std::vector<std::string>> remove_partials(const fs::path& root) {
  std::vector<std::string> leftovers;
  const fs::path folder = releases_dir(root);
  std::error_code error;
  if (!fs::exists(folder, error)) return leftovers;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(k_partial_prefix, 0) == 0) leftovers.push_back(name);
  }
  if (error) return io_error("cannot list", folder, error, "check permissions");
  std::sort(leftovers.begin(), leftovers.end());
  for (const auto& name : leftovers)
    if (auto removed = move_to_trash_and_delete(root, folder / name, name); !removed) return removed.error();
  return leftovers;
}

core::Status link_shared(const fs::path& root, const std::string& id, const std::vector<std::string>& paths) {
  const fs::path release = release_dir(root, id);
  const fs::path target = is_real_directory(release) ? release : partial_dir(root, id);
  if (!is_plain_name(id) || !is_real_directory(target))
    return core::make_error(core::ErrorKind::runtime, "no release " + release.string() + " to link shared files into");
  for (const auto& path : paths)
    if (auto linked = link_one_shared(root, target, path); !linked) return linked;
  return core::ok_status();
}

core::Result<std::vector<std::string>> prune(const fs::path& root, int keep, const std::set<std::string>& protect) {
  if (keep < 0)
    return core::make_error(core::ErrorKind::invalid_input,
                            "keep must be 0 or more (got " + std::to_string(keep) + ")");
  if (auto emptied = empty_trash(root); !emptied) return emptied.error();
  auto ids = list_releases(root);
  if (!ids) return ids.error();
  // An unreadable `current` means we cannot tell what is live: delete nothing.
  auto live = current_release(root);
  if (!live) return live.error();
  std::set<std::string> kept = protect;
  if (*live) kept.insert(**live);
  const std::size_t newest = ids->size() > static_cast<std::size_t>(keep) ? ids->size() - keep : 0;
  kept.insert(ids->begin() + static_cast<std::ptrdiff_t>(newest), ids->end());
  std::vector<std::string> removed;
  for (const auto& id : *ids) {
    if (kept.count(id)) continue;
    if (auto gone = move_to_trash_and_delete(root, release_dir(root, id), id); !gone) return gone.error();
    removed.push_back(id);
  }
  return removed;
}

core::Status remove_release(const fs::path& root, const std::string& id) {
  if (!is_plain_name(id))
    return core::make_error(core::ErrorKind::invalid_input, "\"" + id + "\" is not a release id");
  auto live = current_release(root);
  if (!live) return live.error();
  if (*live && **live == id)
    return core::make_error(core::ErrorKind::invalid_input,
                            "release " + id + " is live (`current` points at it); switch to another release first");
  const fs::path folder = release_dir(root, id);
  if (!exists_no_follow(folder)) return core::ok_status();
  return move_to_trash_and_delete(root, folder, id);
}

core::Status fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path, errno, "check that it exists and is readable");
  const int result = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  // Some filesystems refuse fsync on folders; the data is as safe as they allow.
  if (result != 0 && saved != EINVAL && saved != EROFS)
    return io_error("cannot flush", path, saved, "the disk may be failing or full");
  return core::ok_status();
}

core::Status fsync_tree(const fs::path& folder) {
  std::error_code error;
  for (fs::recursive_directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const auto status = it->symlink_status(error);
    if (error) break;
    if (fs::is_regular_file(status) || fs::is_directory(status))
      if (auto synced = fsync_path(it->path()); !synced) return synced;
  }
  if (error) return io_error("cannot walk", folder, error, "check permissions");
  return fsync_path(folder);
}

bool write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t written = ::write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    done += static_cast<std::size_t>(written);
  }
  return true;
}

} // namespace deploy::layout
