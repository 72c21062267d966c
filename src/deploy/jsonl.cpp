#include "deploy/jsonl.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/layout.hpp"

namespace deploy::jsonl {
namespace {

namespace fs = std::filesystem;

core::Error file_error(const std::string& action, const fs::path& file, int error_number) {
  return core::make_error(core::ErrorKind::runtime, action + " " + file.string() + ": " + std::strerror(error_number) +
                                                        " (check free space and permissions on the target)");
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t written = ::write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    done += static_cast<std::size_t>(written);
  }
  return true;
}

// A crash in the middle of an earlier write leaves a line without its
// newline; ending it first keeps the new line from being glued onto it.
bool terminate_torn_line(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return false;
  if (info.st_size == 0) return true;
  char last = '\n';
  if (::pread(fd, &last, 1, info.st_size - 1) != 1) return false;
  return last == '\n' || write_all(fd, "\n");
}

} // namespace

core::Status append_line(const fs::path& file, const std::string& line, const std::string& what) {
  bool created = true; // O_EXCL first, to know whether the folder needs a flush too
  int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return file_error("cannot open " + what, file, errno);
  const bool written = (created || terminate_torn_line(fd)) && write_all(fd, line) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) return file_error("cannot append to " + what, file, saved);
  if (created) return layout::fsync_path(file.has_parent_path() ? file.parent_path() : fs::path("."));
  return core::ok_status();
}

core::Result<Lines> read_lines(const fs::path& file, const std::string& what,
                               const std::function<std::string(const nlohmann::json&)>& problem_with) {
  Lines result;
  std::error_code error;
  if (!fs::exists(fs::symlink_status(file, error))) return result;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return core::make_error(core::ErrorKind::runtime, "cannot read " + what + " " + file.string() + ": " +
                                                          std::strerror(errno) + " (check its permissions)");
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = file.string() + ":" + std::to_string(number) + ": ";
    if (text.size() > k_max_line) {
      result.warnings.push_back(where + "line longer than 1 MiB skipped");
      continue;
    }
    nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
    const std::string problem = line.is_discarded() ? "not valid JSON" : problem_with(line);
    if (!problem.empty()) {
      result.warnings.push_back(where + "torn or unreadable line skipped (" + problem + ")");
      continue;
    }
    result.values.push_back(std::move(line));
  }
  return result;
}

} // namespace deploy::jsonl
