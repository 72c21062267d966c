// unpack_archive: libarchive reads the verified descriptor; every entry is
// checked and written below the release folder with openat, never through
// a link.
#include "deploy/artifact.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/artifact_internal.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using artifact_detail::fsync_folder;
using artifact_detail::io_error;
using artifact_detail::system_error;
using artifact_detail::UniqueFd;
using core::ErrorKind;
using core::make_error;

bool pwrite_all(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t written = ::pwrite(fd, data, size, offset);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
    offset += written;
  }
  return true;
}

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
using Parts = std::vector<std::string>;

std::string shown_name(const char* name) {
  return core::first_line(core::sanitize_utf8(name ? name : ""), 200);
}

std::string joined(const Parts& parts, std::size_t count) {
  std::string path;
  for (std::size_t i = 0; i < count; ++i)
    path += (i ? "/" : "") + parts[i];
  return path;
}

core::Error refused(const std::string& entry, const std::string& why) {
  return make_error(ErrorKind::blocked, "archive entry \"" + entry + "\" refused: " + why);
}

// An entry's path as components inside the release: "." and empty parts
// dropped; absolute paths and ".." refused.
core::Result<Parts> entry_parts(const char* name, const std::string& entry, const char* what) {
  const std::string_view path(name ? name : "");
  if (!path.empty() && path[0] == '/')
    return refused(entry, std::string(what) + " is absolute; archives must hold relative paths");
  Parts parts;
  for (std::size_t start = 0; start <= path.size();) {
    const auto end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return refused(entry, std::string(what) + " has a \"..\" component, which could leave the release folder");
    parts.emplace_back(part);
  }
  return parts;
}

// A symbolic link may climb with leading ".." only as far as the release
// folder, then descend. ".." after a name is refused: the name may itself
// be a link, so where it leads cannot be told from the text.
std::optional<std::string> symlink_escape(const Parts& entry, const std::string& target) {
  if (target.empty()) return "its target is empty";
  if (target[0] == '/') return "its target \"" + shown_name(target.c_str()) + "\" is absolute";
  auto depth = static_cast<long>(entry.size()) - 1; // the link's own folder
  bool descended = false;
  for (std::size_t start = 0; start <= target.size();) {
    const auto end = std::min(target.find('/', start), target.size());
    const std::string_view part = std::string_view(target).substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      descended = true;
      continue;
    }
    if (descended) return "its target \"" + shown_name(target.c_str()) + "\" has \"..\" after a name; write it without";
    if (--depth < 0) return "its target \"" + shown_name(target.c_str()) + "\" points outside the release folder";
  }
  return std::nullopt;
}

class Unpacker {
public:
  Unpacker(const fs::path& dest, const UnpackLimits& limits) : m_dest(dest), m_limits(limits) {}
  core::Result<UnpackStats> run(const OpenedArtifact& artifact);

private:
  core::Status create_root();
  core::Status open_archive(const OpenedArtifact& artifact);
  core::Status extract(archive_entry* entry);
  core::Status extract_file(archive_entry* entry, const Parts& parts, const std::string& name);
  core::Status copy_data(int fd, const std::string& name, const std::string& path, std::uint64_t& end);
  core::Status extract_directory(archive_entry* entry, const Parts& parts, const std::string& name);
  core::Status extract_symlink(archive_entry* entry, const Parts& parts, const std::string& name);
  core::Status extract_hardlink(const char* target, const Parts& parts, const std::string& name);
  core::Result<UniqueFd> open_folder(const Parts& parts, std::size_t count, bool create, const std::string& name);
  core::Status finish_folders();
  core::Error archive_error(const std::string& what) const;
  core::Error write_error(const std::string& what, const std::string& path, int err) const;

  fs::path m_dest;
  UnpackLimits m_limits;
  UnpackStats m_stats;
  ArchivePtr m_archive{nullptr, &archive_read_free};
  UniqueFd m_root;
  std::uint64_t m_entries = 0;
  std::map<std::string, mode_t> m_folders; // release-relative path -> mode from the archive
};

core::Error Unpacker::archive_error(const std::string& what) const {
  const char* text = archive_error_string(m_archive.get());
  return make_error(ErrorKind::invalid_input, what + ": " + (text ? text : "libarchive gave no reason"));
}

// A failed write below the release folder names the file there, not only
// the entry, and a full file system says so: the release is removed, and
// space is what the next run needs.
core::Error Unpacker::write_error(const std::string& what, const std::string& path, int err) const {
  std::string message = system_error(what + " " + (path.empty() ? m_dest : m_dest / path).string(), err);
  if (err == ENOSPC || err == EDQUOT)
    message += " (" + std::string(err == EDQUOT ? "the disk quota" : "the file system") + " holding " +
               (m_dest.has_parent_path() ? m_dest.parent_path() : m_dest).string() +
               " is full: the partly unpacked release is removed; free space there, then deploy again)";
  return make_error(ErrorKind::runtime, message);
}

core::Status Unpacker::create_root() {
  std::error_code ignored;
  if (m_dest.has_parent_path()) fs::create_directories(m_dest.parent_path(), ignored);
  if (::mkdir(m_dest.c_str(), 0700) != 0)
    return errno == EEXIST ? make_error(ErrorKind::invalid_input,
                                        m_dest.string() + " already exists: the archive is unpacked into a new folder")
                           : write_error("cannot create", "", errno);
  m_root.reset(::open(m_dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!m_root) return io_error("cannot open " + m_dest.string(), errno);
  m_folders[""] = 0755;
  return core::ok_status();
}

core::Status Unpacker::open_archive(const OpenedArtifact& artifact) {
  m_archive.reset(archive_read_new());
  if (!m_archive) return make_error(ErrorKind::runtime, "libarchive could not start (out of memory?)");
  archive_read_support_filter_all(m_archive.get());
  archive_read_support_format_tar(m_archive.get()); // ustar and pax
  archive_read_support_format_gnutar(m_archive.get());
  archive_read_support_format_zip(m_archive.get());
  // Verification read with pread; the archive reader shares the offset.
  if (::lseek(artifact.fd(), 0, SEEK_SET) != 0) return io_error("cannot rewind " + artifact.path().string(), errno);
  if (archive_read_open_fd(m_archive.get(), artifact.fd(), std::size_t{64} * 1024) != ARCHIVE_OK)
    return archive_error(artifact.path().string() + " is not a tar or zip archive shipgate can read");
  return core::ok_status();
}

core::Result<UnpackStats> Unpacker::run(const OpenedArtifact& artifact) {
  if (auto created = create_root(); !created) return created.error();
  core::Status status = open_archive(artifact);
  for (archive_entry* entry = nullptr; status;) {
    const int next = archive_read_next_header(m_archive.get(), &entry);
    if (next == ARCHIVE_EOF) break;
    if (next < ARCHIVE_WARN) {
      status =
          archive_error(m_entries == 0 ? artifact.path().string() + " is not a tar or zip archive shipgate can read"
                                       : "cannot read " + artifact.path().string() + " after " +
                                             std::to_string(m_entries) + " entries");
      break;
    }
    status = extract(entry);
  }
  if (status) status = finish_folders();
  if (status) status = fsync_folder(m_dest.has_parent_path() ? m_dest.parent_path() : fs::path("."));
  if (!status) {
    m_root.reset();
    std::error_code ignored;
    fs::remove_all(m_dest, ignored);
    return status.error();
  }
  return m_stats;
}

core::Status Unpacker::extract(archive_entry* entry) {
  if (core::interrupted())
    return make_error(ErrorKind::interrupted, "unpacking into " + m_dest.string() + " interrupted");
  if (++m_entries > m_limits.max_entries)
    return make_error(ErrorKind::blocked, "the archive has more than " + std::to_string(m_limits.max_entries) +
                                              " entries, the limit: check the artifact, or raise the limit");
  const char* path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : archive_entry_pathname_utf8(entry);
  const std::string name = shown_name(path);
  auto parts = entry_parts(path, name, "its path");
  if (!parts) return parts.error();
  if (const char* target =
          archive_entry_hardlink(entry) ? archive_entry_hardlink(entry) : archive_entry_hardlink_utf8(entry))
    return extract_hardlink(target, *parts, name);
  const auto type = archive_entry_filetype(entry);
  if (parts->empty() && type == AE_IFDIR) return m_folders[""] = archive_entry_perm(entry) & 0777, core::ok_status();
  if (parts->empty()) return refused(name, "it has no name");
  switch (type) {
  case AE_IFREG:
    return extract_file(entry, *parts, name);
  case AE_IFDIR:
    return extract_directory(entry, *parts, name);
  case AE_IFLNK:
    return extract_symlink(entry, *parts, name);
  case AE_IFCHR:
  case AE_IFBLK:
    return refused(name, "it is a device file; a release holds files, folders and links only");
  case AE_IFIFO:
    return refused(name, "it is a FIFO; a release holds files, folders and links only");
  case AE_IFSOCK:
    return refused(name, "it is a socket; a release holds files, folders and links only");
  default:
    return refused(name, "its type is unknown; a release holds files, folders and links only");
  }
}

// Walks (and with `create`, makes) the first `count` components below the
// release folder, one openat at a time, never following a symbolic link:
// an entry can never be written through a link an earlier entry planted.
core::Result<UniqueFd> Unpacker::open_folder(const Parts& parts, std::size_t count, bool create,
                                             const std::string& name) {
  UniqueFd folder(::fcntl(m_root.get(), F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i < count && folder; ++i) {
    constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = ::openat(folder.get(), parts[i].c_str(), flags);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(folder.get(), parts[i].c_str(), 0700) != 0 && errno != EEXIST)
        return write_error("cannot create the folder", joined(parts, i + 1), errno);
      m_folders.emplace(joined(parts, i + 1), 0755);
      next = ::openat(folder.get(), parts[i].c_str(), flags);
    }
    if (next < 0 && (errno == ELOOP || errno == ENOTDIR))
      return refused(name, "\"" + shown_name(joined(parts, i + 1).c_str()) + "\" is a link or a file, not a folder");
    if (next < 0) return io_error("cannot open folder " + joined(parts, i + 1) + " for entry \"" + name + "\"", errno);
    folder.reset(next);
  }
  if (!folder) return io_error("cannot open " + m_dest.string(), errno);
  return folder;
}

core::Status Unpacker::extract_file(archive_entry* entry, const Parts& parts, const std::string& name) {
  const std::uint64_t room = m_limits.max_total_bytes - std::min(m_limits.max_total_bytes, m_stats.bytes);
  const auto declared = archive_entry_size_is_set(entry)
                            ? static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)))
                            : 0;
  if (declared > room)
    return refused(name, "it declares " + std::to_string(declared) + " bytes, over the limit of " +
                             std::to_string(m_limits.max_total_bytes) + " bytes for the whole archive");
  auto parent = open_folder(parts, parts.size() - 1, true, name);
  if (!parent) return parent.error();
  UniqueFd fd(
      ::openat(parent->get(), parts.back().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd && errno == EEXIST) return refused(name, "the archive holds this path twice; nothing is overwritten");
  const std::string path = joined(parts, parts.size());
  if (!fd) return write_error("cannot create", path, errno);
  std::uint64_t end = 0;
  if (auto copied = copy_data(fd.get(), name, path, end); !copied) return copied;
  // A sparse file may end in a hole: its size comes from the header.
  if (declared > end && ::ftruncate(fd.get(), static_cast<off_t>(declared)) != 0)
    return write_error("cannot size", path, errno);
  const timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(entry), 0}};
  ::futimens(fd.get(), times);
  // 0777: setuid, setgid and sticky bits never survive unpacking.
  if (::fchmod(fd.get(), archive_entry_perm(entry) & 0777) != 0)
    return write_error("cannot set the mode of", path, errno);
  // Delayed allocation may report a full disk only here.
  if (::fsync(fd.get()) != 0) return write_error("cannot sync", path, errno);
  ++m_stats.files;
  return core::ok_status();
}

// Counts what is really written, whatever the header said.
core::Status Unpacker::copy_data(int fd, const std::string& name, const std::string& path, std::uint64_t& end) {
  for (;;) {
    if (core::interrupted())
      return make_error(ErrorKind::interrupted, "unpacking into " + m_dest.string() + " interrupted");
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int read = archive_read_data_block(m_archive.get(), &block, &size, &offset);
    if (read == ARCHIVE_EOF) return core::ok_status();
    if (read < ARCHIVE_WARN) return archive_error("cannot read the data of entry \"" + name + "\"");
    m_stats.bytes += size;
    if (m_stats.bytes > m_limits.max_total_bytes)
      return refused(name, "the archive unpacks to more than " + std::to_string(m_limits.max_total_bytes) +
                               " bytes, the limit");
    if (!pwrite_all(fd, static_cast<const char*>(block), size, static_cast<off_t>(offset)))
      return write_error("cannot write", path, errno);
    end = std::max(end, static_cast<std::uint64_t>(offset) + size);
  }
}

core::Status Unpacker::extract_directory(archive_entry* entry, const Parts& parts, const std::string& name) {
  auto folder = open_folder(parts, parts.size(), true, name);
  if (!folder) return folder.error();
  m_folders[joined(parts, parts.size())] = archive_entry_perm(entry) & 0777;
  return core::ok_status();
}

core::Status Unpacker::extract_symlink(archive_entry* entry, const Parts& parts, const std::string& name) {
  const char* raw = archive_entry_symlink(entry) ? archive_entry_symlink(entry) : archive_entry_symlink_utf8(entry);
  const std::string target = raw ? raw : "";
  if (auto escape = symlink_escape(parts, target)) return refused(name, "it is a symbolic link and " + *escape);
  auto parent = open_folder(parts, parts.size() - 1, true, name);
  if (!parent) return parent.error();
  if (::symlinkat(target.c_str(), parent->get(), parts.back().c_str()) != 0)
    return errno == EEXIST ? refused(name, "the archive holds this path twice; nothing is overwritten")
                           : write_error("cannot create the symbolic link", joined(parts, parts.size()), errno);
  ++m_stats.links;
  return core::ok_status();
}

core::Status Unpacker::extract_hardlink(const char* target, const Parts& parts, const std::string& name) {
  auto target_parts = entry_parts(target, name, "its hard link target");
  if (!target_parts) return target_parts.error();
  if (target_parts->empty() || parts.empty()) return refused(name, "it is a hard link to the release folder itself");
  auto target_folder = open_folder(*target_parts, target_parts->size() - 1, false, name);
  if (!target_folder)
    return refused(name, "its hard link target \"" + shown_name(target) + "\" was not unpacked before it");
  struct stat info {};
  if (::fstatat(target_folder->get(), target_parts->back().c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(info.st_mode))
    return refused(name, "its hard link target \"" + shown_name(target) + "\" is not a file unpacked before it");
  auto parent = open_folder(parts, parts.size() - 1, true, name);
  if (!parent) return parent.error();
  if (::linkat(target_folder->get(), target_parts->back().c_str(), parent->get(), parts.back().c_str(), 0) != 0)
    return errno == EEXIST ? refused(name, "the archive holds this path twice; nothing is overwritten")
                           : write_error("cannot create the hard link", joined(parts, parts.size()), errno);
  ++m_stats.links;
  return core::ok_status();
}

// Folder modes are applied last (a read-only folder would stop its own
// entries), deepest first, each kept writable by its owner so that old
// releases can be pruned; then every folder is synced.
core::Status Unpacker::finish_folders() {
  std::vector<std::pair<Parts, mode_t>> folders;
  for (const auto& [path, mode] : m_folders) {
    auto parts = entry_parts(path.c_str(), path, "its path");
    if (parts) folders.emplace_back(std::move(*parts), mode);
  }
  std::stable_sort(folders.begin(), folders.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [parts, mode] : folders) {
    const std::string name = parts.empty() ? m_dest.string() : joined(parts, parts.size());
    auto folder = open_folder(parts, parts.size(), false, name);
    if (!folder) return folder.error();
    const std::string path = joined(parts, parts.size());
    if (::fchmod(folder->get(), mode | 0700) != 0) return write_error("cannot set the mode of", path, errno);
    if (::fsync(folder->get()) != 0) return write_error("cannot sync", path, errno);
  }
  m_stats.directories = m_folders.size() - 1; // the release folder itself is not counted
  return core::ok_status();
}

} // namespace

core::Result<UnpackStats> unpack_archive(const OpenedArtifact& artifact, const fs::path& dest,
                                         const UnpackLimits& limits) {
  return Unpacker(dest, limits).run(artifact);
}

} // namespace deploy
