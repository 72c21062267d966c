#include "deploy/journal.hpp"

#include "deploy/jsonl.hpp"

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

fs::path folder_of(const fs::path& file) { return file.has_parent_path() ? file.parent_path() : fs::path("."); }

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

Journal::Journal(std::shared_ptr<StateStore> store, std::string name)
    : m_store(std::move(store)), m_name(std::move(name)) {}

Journal::Journal(const fs::path& file)
    : Journal(make_local_state_store(folder_of(file)), file.filename().string()) {}

bool Journal::exists() const {
  auto content = m_store->read(m_name);
  return !content || content->has_value();
}

core::Status Journal::write(const JournalRecord& record) const {
  return jsonl::append_line(*m_store, m_name, record.to_json().dump() + "\n", "the journal");
}

core::Result<JournalRead> Journal::read() const {
  auto lines = jsonl::read_lines(*m_store, m_name, "the journal", problem_with);
  if (!lines) return lines.error();
  JournalRead result;
  for (const auto& line : lines->values) result.records.push_back(JournalRecord::from_json(line));
  result.warnings = std::move(lines->warnings);
  return result;
}

core::Status Journal::remove() const {
  auto removed = m_store->remove(m_name);
  if (!removed)
    return core::make_error(removed.error().kind, "cannot remove the journal: " + removed.error().message);
  return removed;
}

} // namespace deploy
