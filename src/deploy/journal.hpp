#pragma once
// The journal: a crash-safe record of the run in progress on one target
// (journal.jsonl in the target's StateStore: <root>/.shipgate). Every action is written (and fsynced)
// before it runs ("begin") and after ("done" / "failed"), so that after a
// kill -9 the next run knows exactly what was changed and can complete or
// undo it. A finished run removes its journal.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "deploy/state_store.hpp"

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
  explicit Journal(std::shared_ptr<StateStore> store, std::string name = "journal.jsonl");
  // `file` on this machine (a local store on its folder).
  explicit Journal(const std::filesystem::path& file);
  // The file, for messages ("/srv/app/.shipgate/journal.jsonl").
  std::string file() const { return m_store->where(m_name); }
  // Whether the file is there. A store that cannot tell (unreachable host)
  // answers true, so that the read() that follows reports why.
  bool exists() const;
  // Appends one line and fsyncs it (and the folder when the file is new).
  core::Status write(const JournalRecord& record) const;
  // A missing file is an empty journal; unreadable lines are warnings.
  core::Result<JournalRead> read() const;
  // Removes the file and fsyncs the folder.
  core::Status remove() const;

private:
  std::shared_ptr<StateStore> m_store;
  std::string m_name;
};

} // namespace deploy
