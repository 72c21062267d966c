#pragma once
// The registry of applied changes, kept inside the target database in
// shipgate's own schema (docs/database.md#registry): the truth lives with
// the data. One row per applied change of a project; an events table logs
// every deploy, verify, revert and failure.
#include <string>
#include <vector>

#include "db/postgres.hpp"

namespace db {

struct AppliedChange {
  std::string change_id;
  long long seq = 0;      // order of application
  std::string state;      // deploying | applied | deployed | reverting
  std::string deploy_sha256;
  std::string verify_script, revert_script; // the scripts' text when applied
  std::string irreversible;                 // the reason, or empty
  std::string release_version, environment, run_id, applied_by, applied_at;
};

struct EventRecord {
  std::string change_id, event, release_version, environment, run_id, by, detail;
};

class Registry {
public:
  Registry(Connection& connection, std::string schema, std::string project, std::string database);

  // Creates the schema and tables when missing (idempotent).
  core::Status ensure();
  // Whether the registry tables exist at all (read-only commands).
  core::Result<bool> exists();
  // A session advisory lock on this project's database; it dies with the
  // connection, so a killed run never leaves it held.
  core::Result<bool> try_lock();
  void unlock();
  // Applied changes, in order of application.
  core::Result<std::vector<AppliedChange>> read();
  // Records a change about to be deployed (state deploying); its seq.
  core::Result<long long> begin(const AppliedChange& change);
  core::Status set_state(const std::string& change_id, const std::string& state);
  // The rows of `run_id` in state applied become deployed.
  core::Status promote(const std::string& run_id);
  core::Status remove(const std::string& change_id);
  core::Status event(const EventRecord& event);

private:
  std::string table(const std::string& name) const;
  Connection& m_connection;
  std::string m_schema, m_project, m_database;
};

} // namespace db
