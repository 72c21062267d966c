#pragma once
// The ledger: an append-only JSON-lines file on the target
// (ledger.jsonl in the target's StateStore: <root>/.shipgate) recording every deploy, rollback,
// reconciliation, unblock and forced lock release. It is the record that
// makes rollbacks exact: the "last good version" is read from it, never
// inferred from directory order or modification times.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/time.hpp"
#include "deploy/state_store.hpp"

namespace deploy {

struct LedgerEntry {
  int schema = 1;
  std::string id;          // the run's id (one run may write several entries: one per event)
  std::string event;       // "deploy", "rollback", "reconcile", "mark-bad", "unblock", "lock-force-release"
  std::string outcome;     // "succeeded", "rolled-back", "rollback-failed", "failed", "interrupted", "recorded"
  std::string environment;
  std::string version;
  std::string release;              // release folder id
  std::string previous_version;     // live before this run
  std::string previous_release;
  std::string commit, branch;
  std::string artifact_sha256;
  std::string config_sha256;        // hash of the snapshotted configuration files
  std::string backup_dir;           // where this run's backups went
  std::string user, provider, pipeline_url, job_url;
  std::string reason;               // why (failure, --reason TEXT)
  core::SystemTime started_at{};
  core::SystemTime finished_at{};
  // When `commit` was made, if the CI said (ci/commit_time.hpp); the lead
  // time of `shipgate metrics` (docs/metrics.md). Unset: unknown.
  core::SystemTime commit_time{};
  nlohmann::json extra = nlohmann::json::object(); // unknown fields are kept when read

  nlohmann::json to_json() const;
  static LedgerEntry from_json(const nlohmann::json& json); // missing fields stay empty
};

struct LedgerRead {
  std::vector<LedgerEntry> entries;  // in file order
  std::vector<std::string> warnings; // "ledger.jsonl:17: torn or unreadable line skipped"
};

class Ledger {
public:
  explicit Ledger(std::shared_ptr<StateStore> store, std::string name = "ledger.jsonl");
  // `file` on this machine (a local store on its folder).
  explicit Ledger(const std::filesystem::path& file);
  // The file, for messages ("/srv/app/.shipgate/ledger.jsonl").
  std::string file() const { return m_store->where(m_name); }
  // One write(2) of one line with O_APPEND, then fsync (and the folder's
  // fsync when the file was created). A torn last line left by a crash is
  // first terminated, so it never swallows the new entry.
  core::Status append(const LedgerEntry& entry) const;
  // A missing file is an empty ledger. Unreadable lines are skipped with a
  // warning (a torn last line is expected after a crash). Lines longer than
  // 1 MiB are skipped too.
  core::Result<LedgerRead> read() const;

private:
  std::shared_ptr<StateStore> m_store;
  std::string m_name;
};

} // namespace deploy
