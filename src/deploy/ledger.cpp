#include "deploy/ledger.hpp"

#include "deploy/jsonl.hpp"

namespace deploy {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

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
    {"commit_time", &LedgerEntry::commit_time},
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
    // A commit time only feeds a figure: one that cannot be read is
    // dropped, never the entry a rollback may need.
    if (!line.contains(field.name) || std::string_view(field.name) == "commit_time") continue;
    const auto& value = line[field.name];
    if (!value.is_string() || !core::parse_time(value.get<std::string>()))
      return std::string("\"") + field.name + "\" is not an RFC 3339 time";
  }
  return {};
}

fs::path folder_of(const fs::path& file) { return file.has_parent_path() ? file.parent_path() : fs::path("."); }

} // namespace

json LedgerEntry::to_json() const {
  json out = extra.is_object() ? extra : json::object();
  out["schema"] = schema;
  for (const auto& field : k_string_fields) out[field.name] = this->*field.member;
  for (const auto& field : k_time_fields) {
    const core::SystemTime time = this->*field.member;
    if (time.time_since_epoch().count() != 0) out[field.name] = core::format_rfc3339_millis(time);
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
      if (auto time = core::parse_time_millis(line[field.name].get<std::string>())) entry.*field.member = *time;
  for (const auto& [key, value] : line.items())
    if (!is_known_field(key)) entry.extra[key] = value;
  return entry;
}

Ledger::Ledger(std::shared_ptr<StateStore> store, std::string name)
    : m_store(std::move(store)), m_name(std::move(name)) {}

Ledger::Ledger(const fs::path& file) : Ledger(make_local_state_store(folder_of(file)), file.filename().string()) {}

core::Status Ledger::append(const LedgerEntry& entry) const {
  return jsonl::append_line(*m_store, m_name, entry.to_json().dump() + "\n", "the ledger");
}

core::Result<LedgerRead> Ledger::read() const {
  auto lines = jsonl::read_lines(*m_store, m_name, "the ledger", problem_with);
  if (!lines) return lines.error();
  LedgerRead result;
  for (const auto& line : lines->values) result.entries.push_back(LedgerEntry::from_json(line));
  result.warnings = std::move(lines->warnings);
  return result;
}

} // namespace deploy
