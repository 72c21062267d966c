// The Driver defaults: commands and files on this machine, for local
// roots and plugins. The ssh driver overrides them to act on its host.
// Configuration snapshots: <state_dir>/backups/<release>/config/ holds one
// copy per file ('/' in its name spelled '%') and manifest.json
// {file: sha256, or null when the file was absent}.
#include "deploy/driver.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "deploy/layout.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;

core::Error io_error(const std::string& what, const fs::path& path, int error_number, const std::string& fix) {
  return core::make_error(ErrorKind::runtime,
                          what + " " + path.string() + ": " + std::strerror(error_number) + " (" + fix + ")");
}

core::Error io_error(const std::string& what, const fs::path& path, const std::error_code& error,
                     const std::string& fix) {
  return core::make_error(ErrorKind::runtime, what + " " + path.string() + ": " + error.message() + " (" + fix + ")");
}

// A release id becomes a folder name below backups/.
bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

core::Status check_release(const std::string& release) {
  if (is_plain_name(release)) return core::ok_status();
  return core::make_error(ErrorKind::invalid_input, "\"" + release + "\" is not a release id");
}

// Whether `path` is `folder` or lies below it (lexically: the folder may not exist yet).
bool is_below(const fs::path& path, const fs::path& folder) {
  const fs::path relative = path.lexically_normal().lexically_relative(folder.lexically_normal());
  return !relative.empty() && *relative.begin() != "..";
}

fs::path on_target(const Driver& driver, const std::string& file) {
  return fs::path(file).is_absolute() ? fs::path(file) : driver.root() / file;
}

fs::path snapshot_dir(const Driver& driver, const std::string& release) {
  return driver.state_dir() / "backups" / release / "config";
}

std::string snapshot_name(const std::string& file) {
  std::string out;
  for (char c : file)
    out += c == '/' ? '%' : c;
  return out;
}

// Copies through a temporary file renamed into place, so `to` is always
// the old file or the whole new one, even after a crash.
core::Status copy_file_synced(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::create_directories(to.parent_path(), error);
  const fs::path temp = to.string() + ".shipgate-tmp";
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing, error);
  if (error) return io_error("cannot copy " + from.string() + " to", to, error, "check free space and permissions");
  if (auto synced = layout::fsync_path(temp); !synced) return synced;
  fs::rename(temp, to, error);
  if (error) return io_error("cannot write", to, error, "check permissions on its folder");
  return layout::fsync_path(to.parent_path());
}

core::Status write_synced(const fs::path& file, const std::string& content) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  if (error) return io_error("cannot create", file.parent_path(), error, "check permissions on its parent");
  const fs::path temp = file.string() + ".shipgate-tmp-" + std::to_string(::getpid());
  // A new file gets 0644 (less the umask); a replaced one keeps its mode.
  struct stat old {};
  const bool replacing = ::stat(file.c_str(), &old) == 0;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot write", temp, errno, "check permissions on its folder");
  const bool written =
      layout::write_all(fd, content) && (!replacing || ::fchmod(fd, old.st_mode & 07777) == 0) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), file.c_str()) != 0) {
    const int error_number = written ? errno : saved;
    ::unlink(temp.c_str());
    return io_error("cannot write", file, error_number, "check free space and permissions on its folder");
  }
  return layout::fsync_path(file.parent_path());
}

core::Result<std::optional<std::string>> read_whole(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return io_error("cannot read", file, errno, "check its permissions");
  }
  std::string text;
  char buffer[65536];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0) text.append(buffer, static_cast<std::size_t>(got));
  const int saved = errno;
  ::close(fd);
  if (got < 0) return io_error("cannot read", file, saved, "check its permissions");
  return std::optional<std::string>(std::move(text));
}

// Copies one configuration file into the snapshot; its sha256, or null when absent.
core::Result<nlohmann::json> snapshot_one(const fs::path& source, const fs::path& copy) {
  std::error_code error;
  const fs::file_status status = fs::status(source, error);
  if (status.type() == fs::file_type::not_found) return nlohmann::json(nullptr);
  if (error) return io_error("cannot look at", source, error, "check its permissions");
  if (auto copied = copy_file_synced(source, copy); !copied) return copied.error();
  auto digest = sha256_file(source);
  if (!digest) return digest.error();
  return nlohmann::json(*digest);
}

} // namespace

std::shared_ptr<StateStore> Driver::state_store() {
  // The local store keeps nothing between calls, so a new one each time
  // behaves exactly like a cached one.
  return make_local_state_store(state_dir());
}

io::ProcessResult Driver::run_command(const io::ProcessSpec& spec) {
  if (!spec.cwd.empty() && is_below(spec.cwd, state_dir())) {
    std::error_code error;
    fs::create_directories(spec.cwd, error);
    if (error) {
      io::ProcessResult result;
      result.outcome = io::ProcessResult::Outcome::failed_to_start;
      result.error = "cannot create the working folder " + spec.cwd + ": " + error.message() +
                     " (check permissions on " + state_dir().string() + ")";
      return result;
    }
  }
  return io::run_process(spec);
}

core::Result<nlohmann::json> Driver::snapshot_config(const std::string& release,
                                                     const std::vector<std::string>& files) {
  if (auto checked = check_release(release); !checked) return checked.error();
  const fs::path dir = snapshot_dir(*this, release);
  nlohmann::json manifest = nlohmann::json::object();
  for (const auto& file : files) {
    auto digest = snapshot_one(on_target(*this, file), dir / snapshot_name(file));
    if (!digest) return digest.error();
    manifest[file] = *digest;
  }
  // Written last: a manifest means every copy it lists is complete.
  if (auto written = write_synced(dir / "manifest.json", manifest.dump(1) + "\n"); !written) return written.error();
  return manifest;
}

core::Result<std::vector<std::string>> Driver::restore_config(const std::string& release) {
  if (auto checked = check_release(release); !checked) return checked.error();
  const fs::path dir = snapshot_dir(*this, release);
  auto text = read_whole(dir / "manifest.json");
  if (!text) return text.error();
  std::vector<std::string> restored;
  if (!*text) return restored;
  const nlohmann::json manifest = nlohmann::json::parse(**text, nullptr, false);
  if (!manifest.is_object())
    return core::make_error(ErrorKind::runtime, "the snapshot manifest " + (dir / "manifest.json").string() +
                                                    " is unreadable; restore the configuration files by hand");
  for (const auto& [file, digest] : manifest.items()) {
    if (!digest.is_string()) continue; // absent when snapshotted: nothing to put back
    const fs::path target = on_target(*this, file);
    auto now = sha256_file(target);
    if (now && *now == digest.get<std::string>()) continue;
    if (auto copied = copy_file_synced(dir / snapshot_name(file), target); !copied) return copied.error();
    restored.push_back(target.string() + ": restored (sha256 " + digest.get<std::string>() + ")");
  }
  return restored;
}

core::Result<std::optional<FileFacts>> Driver::file_facts(const std::string& path) {
  const fs::path file = on_target(*this, path);
  std::error_code error;
  const fs::file_status status = fs::status(file, error);
  if (status.type() == fs::file_type::not_found) return std::optional<FileFacts>{};
  if (error) return io_error("cannot look at", file, error, "check its permissions");
  if (!fs::is_regular_file(status)) return std::optional<FileFacts>{};
  const std::uintmax_t size = fs::file_size(file, error);
  if (error) return io_error("cannot look at", file, error, "check its permissions");
  auto digest = sha256_file(file);
  if (!digest) return digest.error();
  return std::optional<FileFacts>(FileFacts{static_cast<std::uint64_t>(size), *digest});
}

core::Status Driver::write_file(const std::string& path, const std::string& content) {
  return write_synced(on_target(*this, path), content);
}

core::Result<std::optional<std::string>> Driver::read_file(const std::string& path) {
  return read_whole(on_target(*this, path));
}

core::Status Driver::point_link(const std::string& name, const std::string& release) {
  return layout::switch_link(root(), name, release);
}

core::Result<std::optional<std::string>> Driver::link_target(const std::string& name) {
  return layout::link_release(root(), name);
}

} // namespace deploy
