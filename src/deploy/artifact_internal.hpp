#pragma once
// Pieces shared by artifact_fetch.cpp, artifact_verify.cpp and
// artifact_unpack.cpp; not part of the deploy interface.
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.hpp"

namespace deploy::artifact_detail {

inline constexpr std::size_t k_block = std::size_t{128} * 1024; // read size for copies and digests

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
public:
  explicit UniqueFd(int fd = -1) : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.m_fd, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  explicit operator bool() const { return m_fd >= 0; }
  void reset(int fd = -1) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
  }

private:
  int m_fd;
};

// "<what>: <strerror(err)>".
inline std::string system_error(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// ErrorKind::runtime with system_error's text.
inline core::Error io_error(const std::string& what, int err) {
  return core::make_error(core::ErrorKind::runtime, system_error(what, err));
}

// A new directory entry is durable only once its folder is synced too.
// Unlike layout::fsync_path, any fsync failure (EINVAL, EROFS too) is an
// error here.
inline core::Status fsync_folder(const std::filesystem::path& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return io_error("cannot sync folder " + folder.string(), errno);
  return core::ok_status();
}

} // namespace deploy::artifact_detail
