// The local StateStore: a folder on this machine. Every change is made so
// that a kill -9 at any instant leaves either the old or the new content:
// appends are single O_APPEND writes, replacements are a temporary file
// renamed over the old one, and every step that matters is fsynced.
#include "deploy/state_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "deploy/layout.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_fix = "check free space and permissions on the target";

core::Error io_error(const std::string& action, const std::string& where, int error_number) {
  return core::make_error(core::ErrorKind::runtime,
                          action + " " + where + ": " + std::strerror(error_number) + " (" + k_fix + ")");
}

// A crash in the middle of an earlier write leaves a line without its
// newline; ending it first keeps the new line from being glued onto it.
bool terminate_torn_line(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return false;
  if (info.st_size == 0) return true;
  char last = '\n';
  if (::pread(fd, &last, 1, info.st_size - 1) != 1) return false;
  return last == '\n' || layout::write_all(fd, "\n");
}

// flock(2) on "<name>.guard" for one read-modify-write. The kernel drops
// the lock when the process dies, so a crash can never leave it held.
// Each GuardLock opens the file anew: flock excludes separate opens even
// within one process, so threads exclude each other too.
class GuardLock {
public:
  explicit GuardLock(std::string path) : m_path(std::move(path)) {
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd < 0) {
      m_errno = errno;
      return;
    }
    while (::flock(m_fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue; // anybody holds it for one small update only
      m_errno = errno;
      ::close(m_fd);
      m_fd = -1;
      return;
    }
  }
  ~GuardLock() {
    if (m_fd >= 0) ::close(m_fd);
  }
  GuardLock(const GuardLock&) = delete;
  GuardLock& operator=(const GuardLock&) = delete;
  bool ok() const { return m_fd >= 0; }
  core::Error error() const { return io_error("cannot lock", m_path, m_errno); }

private:
  std::string m_path;
  int m_fd = -1;
  int m_errno = 0;
};

// The open file's age by this machine's clock, which stamped its
// modification time (on a network filesystem the server stamps it, so its
// clock and this machine's must agree).
std::optional<std::chrono::milliseconds> age_of(int fd) {
  struct stat info {};
  struct timespec now {};
  if (::fstat(fd, &info) != 0 || ::clock_gettime(CLOCK_REALTIME, &now) != 0) return std::nullopt;
  const auto nanoseconds = [](const struct timespec& time) {
    return std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec);
  };
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(nanoseconds(now) - nanoseconds(info.st_mtim));
  return std::max(age, std::chrono::milliseconds(0));
}

// "/srv/app/.shipgate/" and "/srv/app/.shipgate" are the same folder; the
// second spelling keeps where(name) free of a double slash.
fs::path without_trailing_slash(fs::path dir) {
  std::string text = dir.string();
  while (text.size() > 1 && text.back() == '/')
    text.pop_back();
  return text.empty() ? fs::path(".") : fs::path(text);
}

class LocalStateStore final : public StateStore {
public:
  explicit LocalStateStore(fs::path dir) : m_dir(without_trailing_slash(std::move(dir))) {}

  std::string describe() const override { return m_dir.string(); }

  core::Status ensure() override {
    std::error_code error;
    const fs::file_status status = fs::status(m_dir, error);
    if (fs::exists(status) && !fs::is_directory(status))
      return core::make_error(core::ErrorKind::invalid_input,
                              describe() + " exists but is not a folder; move it away and run again");
    error.clear();
    if (fs::create_directories(m_dir, error)) fs::permissions(m_dir, fs::perms::owner_all, error);
    if (error)
      return core::make_error(core::ErrorKind::runtime, "cannot create " + describe() + ": " + error.message() +
                                                            " (check that the parent folder is writable)");
    return core::ok_status();
  }

  core::Result<bool> exists() override {
    std::error_code error;
    const fs::file_status status = fs::status(m_dir, error);
    if (status.type() == fs::file_type::not_found) return false;
    if (error)
      return core::make_error(core::ErrorKind::runtime,
                              "cannot look at " + describe() + ": " + error.message() + " (check its permissions)");
    return true;
  }

  core::Status append(const std::string& name, const std::string& line) override {
    const std::string file = where(name);
    bool created = true; // O_EXCL first, to know whether the folder needs a flush too
    int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
      created = false;
      fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    }
    if (fd < 0) return io_error("cannot open", file, errno);
    struct stat before {};
    const bool sized = ::fstat(fd, &before) == 0;
    const bool written = (created || terminate_torn_line(fd)) && layout::write_all(fd, line) && ::fsync(fd) == 0;
    const int saved = errno;
    // A short write (a full disk) takes back what it wrote: never a torn line.
    if (!written && sized) (void)::ftruncate(fd, before.st_size);
    ::close(fd);
    if (!written) return io_error("cannot append to", file, saved);
    return created ? layout::fsync_path(m_dir) : core::ok_status();
  }

  core::Result<std::optional<std::string>> read(const std::string& name) override {
    auto current = read_current(name);
    if (!current) return current.error();
    return std::move(current->content);
  }

  core::Result<Current> read_current(const std::string& name) override {
    const std::string file = where(name);
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Current{};
      return io_error("cannot read", file, errno);
    }
    Current current{std::string(), age_of(fd)};
    char buffer[65536];
    ssize_t got = 0;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR))
      if (got > 0) current.content->append(buffer, static_cast<std::size_t>(got));
    const int saved = errno;
    ::close(fd);
    if (got < 0) return io_error("cannot read", file, saved);
    return current;
  }

  core::Status remove(const std::string& name) override {
    if (::unlink(where(name).c_str()) != 0) {
      if (errno == ENOENT) return core::ok_status();
      return io_error("cannot remove", where(name), errno);
    }
    return layout::fsync_path(m_dir);
  }

  core::Result<std::optional<std::string>> update(const std::string& name, const Decide& decide) override {
    GuardLock guard(where(name + ".guard"));
    if (!guard.ok()) return guard.error();
    auto current = read_current(name);
    if (!current) return current.error();
    auto change = decide(*current);
    if (!change) return change.error();
    core::Status applied = core::ok_status();
    if (change->kind == Change::Kind::write)
      applied = replace(name, change->text);
    else if (change->kind == Change::Kind::remove)
      applied = remove(name);
    if (!applied) return applied.error();
    return std::move(current->content);
  }

private:
  // A temporary file renamed over the old one: a reader sees the old
  // content or the new, never half of it. The pid in the temporary name
  // keeps two processes apart; threads are kept apart by the guard.
  core::Status replace(const std::string& name, const std::string& text) {
    const std::string temp = where(name + ".tmp-" + std::to_string(::getpid()));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("cannot write", temp, errno);
    const bool written = layout::write_all(fd, text) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!written || ::rename(temp.c_str(), where(name).c_str()) != 0) {
      const int error_number = written ? errno : saved;
      ::unlink(temp.c_str());
      return io_error("cannot replace", where(name), error_number);
    }
    return layout::fsync_path(m_dir);
  }

  fs::path m_dir;
};

} // namespace

std::shared_ptr<StateStore> make_local_state_store(std::filesystem::path dir) {
  return std::make_shared<LocalStateStore>(std::move(dir));
}

} // namespace deploy
