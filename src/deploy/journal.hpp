#pragma once
// The journal: a crash-safe record of the run in progress on one target
// (<root>/.shipgate/journal.jsonl). Every action is written (and fsynced)
// before it runs ("begin") and after ("done" / "failed"), so that after a
// kill -9 the next run knows exactly what was changed and can complete or
// undo it. A finished run removes its journal.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace deploy {

struct JournalRecord {
  std::string run;     // run id
  int seq = 0;         // 0, 1, 2 ... within the run
  std::string action;  // "run", "prepare", "switch", "stop", ..., "finish"
  std::string phase;   // "begin", "done", "failed"
  std::string service;
  nlohmann::json data = nlohmann::json::object(); // e.g. {"from": "<release>", "to": "<release>"}
  nlohmann::json to_json() const;
  static JournalRecord from_json(const nlohmann::json& json);
};

struct JournalRead {
  std::vector<JournalRecord> records;
  std::vector<std::string> warnings; // torn last line etc.
};

class Journal {
public:
  explicit Journal(std::filesystem::path file) : m_file(std::move(file)) {}
  const std::filesystem::path& file() const { return m_file; }
  bool exists() const;
  // Appends one line and fsyncs it (and the folder when the file is new).
  core::Status write(const JournalRecord& record) const;
  // A missing file is an empty journal; unreadable lines are warnings.
  core::Result<JournalRead> read() const;
  // Removes the file and fsyncs the folder.
  core::Status remove() const;

private:
  std::filesystem::path m_file;
};

} // namespace deploy
