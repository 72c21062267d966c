#include "deploy/journal.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/jsonl.hpp"
#include "deploy/layout.hpp"

namespace deploy {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

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
  return jsonl::append_line(m_file, record.to_json().dump() + "\n", "the journal");
}

core::Result<JournalRead> Journal::read() const {
  auto lines = jsonl::read_lines(m_file, "the journal", problem_with);
  if (!lines) return lines.error();
  JournalRead result;
  for (const auto& line : lines->values) result.records.push_back(JournalRecord::from_json(line));
  result.warnings = std::move(lines->warnings);
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
