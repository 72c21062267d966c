#include "deploy/journal.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/layout.hpp"

namespace deploy {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

constexpr std::size_t k_max_line = 1024 * 1024;
constexpr const char* k_string_keys[] = {"run", "action", "phase", "service"};

// Why a parsed line cannot be trusted as a record (empty when it can).
std::string problem_with(const json& line) {
  if (!line.is_object()) return "not a JSON object";
  for (const char* key : k_string_keys)
    if (line.contains(key) && !line[key].is_string()) return std::string("\"") + key + "\" is not a string";
  if (line.contains("seq") && !line["seq"].is_number_integer()) return "\"seq\" is not an integer";
  if (line.contains("data") && !line["data"].is_object()) return "\"data\" is not an object";
  return {};
}

std::string string_at(const json& line, const char* key) {
  return line.contains(key) && line[key].is_string() ? line[key].get<std::string>() : std::string();
}

core::Error journal_error(const std::string& what, const fs::path& file, int error_number) {
  return core::make_error(core::ErrorKind::runtime, what + " " + file.string() + ": " + std::strerror(error_number) +
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

// A kill -9 in the middle of an earlier write leaves a line without its
// newline; ending it first keeps the new record on a line of its own.
bool terminate_torn_line(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return false;
  if (info.st_size == 0) return true;
  char last = '\n';
  if (::pread(fd, &last, 1, info.st_size - 1) != 1) return false;
  return last == '\n' || write_all(fd, "\n");
}

core::Status append_line(const fs::path& file, const std::string& line) {
  bool created = true; // O_EXCL first, to know whether the folder needs a flush too
  int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return journal_error("cannot open", file, errno);
  const bool written = (created || terminate_torn_line(fd)) && write_all(fd, line) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) return journal_error("cannot append to", file, saved);
  if (created) return layout::fsync_path(file.has_parent_path() ? file.parent_path() : fs::path("."));
  return core::ok_status();
}

} // namespace

json JournalRecord::to_json() const {
  return json{{"run", run}, {"seq", seq},         {"action", action},
              {"phase", phase}, {"service", service}, {"data", data.is_object() ? data : json::object()}};
}

JournalRecord JournalRecord::from_json(const json& line) {
  JournalRecord record;
  if (!line.is_object()) return record;
  record.run = string_at(line, "run");
  record.action = string_at(line, "action");
  record.phase = string_at(line, "phase");
  record.service = string_at(line, "service");
  if (line.contains("seq") && line["seq"].is_number_integer()) record.seq = line["seq"].get<int>();
  if (line.contains("data") && line["data"].is_object()) record.data = line["data"];
  return record;
}

bool Journal::exists() const {
  std::error_code ignored;
  return fs::exists(fs::symlink_status(m_file, ignored));
}

core::Status Journal::write(const JournalRecord& record) const {
  return append_line(m_file, record.to_json().dump() + "\n");
}

core::Result<JournalRead> Journal::read() const {
  JournalRead result;
  if (!exists()) return result;
  std::ifstream in(m_file, std::ios::binary);
  if (!in) return journal_error("cannot read the journal", m_file, errno);
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = m_file.string() + ":" + std::to_string(number) + ": ";
    if (text.size() > k_max_line) {
      result.warnings.push_back(where + "line longer than 1 MiB skipped");
      continue;
    }
    const json line = json::parse(text, nullptr, false);
    const std::string problem = line.is_discarded() ? "not valid JSON" : problem_with(line);
    if (!problem.empty()) {
      result.warnings.push_back(where + "torn or unreadable line skipped (" + problem + ")");
      continue;
    }
    result.records.push_back(JournalRecord::from_json(line));
  }
  return result;
}

core::Status Journal::remove() const {
  if (::unlink(m_file.c_str()) != 0) {
    if (errno == ENOENT) return core::ok_status();
    return journal_error("cannot remove the journal", m_file, errno);
  }
  return layout::fsync_path(m_file.has_parent_path() ? m_file.parent_path() : fs::path("."));
}

} // namespace deploy
