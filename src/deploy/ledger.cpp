#include "deploy/ledger.hpp"

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

struct StringField {
  const char* name;
  std::string LedgerEntry::*member;
};
constexpr StringField k_string_fields[] = {
    {"id", &LedgerEntry::id},
    {"event", &LedgerEntry::event},
    {"outcome", &LedgerEntry::outcome},
    {"environment", &LedgerEntry::environment},
    {"version", &LedgerEntry::version},
    {"release", &LedgerEntry::release},
    {"previous_version", &LedgerEntry::previous_version},
    {"previous_release", &LedgerEntry::previous_release},
    {"commit", &LedgerEntry::commit},
    {"branch", &LedgerEntry::branch},
    {"artifact_sha256", &LedgerEntry::artifact_sha256},
    {"config_sha256", &LedgerEntry::config_sha256},
    {"backup_dir", &LedgerEntry::backup_dir},
    {"user", &LedgerEntry::user},
    {"provider", &LedgerEntry::provider},
    {"pipeline_url", &LedgerEntry::pipeline_url},
    {"job_url", &LedgerEntry::job_url},
    {"reason", &LedgerEntry::reason},
};

struct TimeField {
  const char* name;
  core::SystemTime LedgerEntry::*member;
};
constexpr TimeField k_time_fields[] = {
    {"started_at", &LedgerEntry::started_at},
    {"finished_at", &LedgerEntry::finished_at},
};

bool is_known_field(const std::string& key) {
  if (key == "schema") return true;
  for (const auto& field : k_string_fields)
    if (key == field.name) return true;
  for (const auto& field : k_time_fields)
    if (key == field.name) return true;
  return false;
}

// Why a parsed line cannot be trusted as an entry (empty when it can).
std::string problem_with(const json& line) {
  if (!line.is_object()) return "not a JSON object";
  if (line.contains("schema") && !line["schema"].is_number_integer()) return "\"schema\" is not an integer";
  for (const auto& field : k_string_fields)
    if (line.contains(field.name) && !line[field.name].is_string())
      return std::string("\"") + field.name + "\" is not a string";
  for (const auto& field : k_time_fields) {
    if (!line.contains(field.name)) continue;
    const auto& value = line[field.name];
    if (!value.is_string() || !core::parse_time(value.get<std::string>()))
      return std::string("\"") + field.name + "\" is not an RFC 3339 time";
  }
  return {};
}

core::Error append_error(const fs::path& file, int error_number) {
  return core::make_error(core::ErrorKind::runtime, "cannot append to " + file.string() + ": " +
                                                        std::strerror(error_number) +
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

core::Status append_line(const fs::path& file, const std::string& line) {
  bool created = true; // O_EXCL first, to know whether the folder needs a flush too
  int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return append_error(file, errno);
  const bool written = (created || terminate_torn_line(fd)) && write_all(fd, line) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) return append_error(file, saved);
  if (created) return layout::fsync_path(file.has_parent_path() ? file.parent_path() : fs::path("."));
  return core::ok_status();
}

} // namespace

json LedgerEntry::to_json() const {
  json out = extra.is_object() ? extra : json::object();
  out["schema"] = schema;
  for (const auto& field : k_string_fields) out[field.name] = this->*field.member;
  for (const auto& field : k_time_fields) {
    const core::SystemTime time = this->*field.member;
    if (time.time_since_epoch().count() != 0) out[field.name] = core::format_rfc3339(time);
  }
  return out;
}

LedgerEntry LedgerEntry::from_json(const json& line) {
  LedgerEntry entry;
  if (!line.is_object()) return entry;
  if (line.contains("schema") && line["schema"].is_number_integer()) entry.schema = line["schema"].get<int>();
  for (const auto& field : k_string_fields)
    if (line.contains(field.name) && line[field.name].is_string())
      entry.*field.member = line[field.name].get<std::string>();
  for (const auto& field : k_time_fields)
    if (line.contains(field.name) && line[field.name].is_string())
      if (auto time = core::parse_time(line[field.name].get<std::string>())) entry.*field.member = *time;
  for (const auto& [key, value] : line.items())
    if (!is_known_field(key)) entry.extra[key] = value;
  return entry;
}

core::Status Ledger::append(const LedgerEntry& entry) const { return append_line(m_file, entry.to_json().dump() + "\n"); }

core::Result<LedgerRead> Ledger::read() const {
  LedgerRead result;
  std::error_code error;
  if (!fs::exists(m_file, error)) return result;
  std::ifstream in(m_file, std::ios::binary);
  if (!in)
    return core::make_error(core::ErrorKind::runtime,
                            "cannot read the ledger " + m_file.string() + ": " + std::strerror(errno) +
                                " (check its permissions)");
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
    result.entries.push_back(LedgerEntry::from_json(line));
  }
  return result;
}

} // namespace deploy
