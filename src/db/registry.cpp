// The registry tables and every query on them. Values always go as
// parameters; only the schema name (checked by the plan reader and quoted
// by libpq) is part of the SQL text.
#include "db/registry.hpp"

namespace db {

Registry::Registry(Connection& connection, std::string schema, std::string project, std::string database)
    : m_connection(connection), m_schema(std::move(schema)), m_project(std::move(project)),
      m_database(std::move(database)) {}

std::string Registry::table(const std::string& name) const { return m_connection.identifier(m_schema) + "." + name; }

core::Status Registry::ensure() {
  const std::string schema = m_connection.identifier(m_schema);
  // Two runs creating the schema at once: the lock serialises them.
  return m_connection.exec_script(
      "SELECT pg_advisory_xact_lock(hashtext('shipgate-registry-schema'));"
      "CREATE SCHEMA IF NOT EXISTS " + schema + ";"
      "CREATE TABLE IF NOT EXISTS " + schema + ".changes ("
      " project text NOT NULL, database_name text NOT NULL, change_id text NOT NULL,"
      " seq bigserial NOT NULL,"
      " state text NOT NULL CHECK (state IN ('deploying', 'applied', 'deployed', 'reverting')),"
      " deploy_sha256 text NOT NULL, verify_script text, revert_script text, irreversible text,"
      " release_version text NOT NULL, environment text NOT NULL, run_id text NOT NULL,"
      " applied_by text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
      " PRIMARY KEY (project, change_id));"
      "CREATE TABLE IF NOT EXISTS " + schema + ".events ("
      " id bigserial PRIMARY KEY, project text NOT NULL, database_name text NOT NULL, change_id text NOT NULL,"
      " event text NOT NULL, release_version text, environment text, run_id text, by_user text,"
      " at timestamptz NOT NULL DEFAULT now(), detail text);");
}

core::Result<bool> Registry::exists() {
  auto rows = m_connection.query("SELECT to_regclass($1) IS NOT NULL", {m_connection.identifier(m_schema) + ".changes"});
  if (!rows) return rows.error();
  return !rows->empty() && rows->front().front() == Value("t");
}

core::Result<bool> Registry::try_lock() {
  auto rows = m_connection.query("SELECT pg_try_advisory_lock(hashtext($1))", {"shipgate:" + m_schema + ":" + m_project});
  if (!rows) return rows.error();
  return !rows->empty() && rows->front().front() == Value("t");
}

void Registry::unlock() {
  (void)m_connection.exec("SELECT pg_advisory_unlock(hashtext($1))", {"shipgate:" + m_schema + ":" + m_project});
}

core::Result<std::vector<AppliedChange>> Registry::read() {
  auto rows = m_connection.query(
      "SELECT change_id, seq, state, deploy_sha256, coalesce(verify_script, ''), coalesce(revert_script, ''),"
      " coalesce(irreversible, ''), release_version, environment, run_id, applied_by,"
      " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
      " FROM " + table("changes") + " WHERE project = $1 ORDER BY seq",
      {m_project});
  if (!rows) return rows.error();
  std::vector<AppliedChange> out;
  for (const auto& row : *rows) {
    AppliedChange change;
    change.change_id = row[0].value_or("");
    change.seq = std::stoll(row[1].value_or("0"));
    change.state = row[2].value_or("");
    change.deploy_sha256 = row[3].value_or("");
    change.verify_script = row[4].value_or("");
    change.revert_script = row[5].value_or("");
    change.irreversible = row[6].value_or("");
    change.release_version = row[7].value_or("");
    change.environment = row[8].value_or("");
    change.run_id = row[9].value_or("");
    change.applied_by = row[10].value_or("");
    change.applied_at = row[11].value_or("");
    out.push_back(std::move(change));
  }
  return out;
}

core::Result<long long> Registry::begin(const AppliedChange& change) {
  auto optional = [](const std::string& text) { return text.empty() ? Value() : Value(text); };
  auto rows = m_connection.query(
      "INSERT INTO " + table("changes") +
          " (project, database_name, change_id, state, deploy_sha256, verify_script, revert_script, irreversible,"
          "  release_version, environment, run_id, applied_by)"
          " VALUES ($1, $2, $3, 'deploying', $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
      {m_project, m_database, change.change_id, change.deploy_sha256, optional(change.verify_script),
       optional(change.revert_script), optional(change.irreversible), change.release_version, change.environment,
       change.run_id, change.applied_by});
  if (!rows) return rows.error();
  return std::stoll(rows->front().front().value_or("0"));
}

core::Status Registry::set_state(const std::string& change_id, const std::string& state) {
  return m_connection.exec("UPDATE " + table("changes") + " SET state = $3 WHERE project = $1 AND change_id = $2",
                           {m_project, change_id, state});
}

core::Status Registry::promote(const std::string& run_id) {
  return m_connection.exec("UPDATE " + table("changes") +
                               " SET state = 'deployed' WHERE project = $1 AND run_id = $2 AND state = 'applied'",
                           {m_project, run_id});
}

core::Status Registry::remove(const std::string& change_id) {
  return m_connection.exec("DELETE FROM " + table("changes") + " WHERE project = $1 AND change_id = $2",
                           {m_project, change_id});
}

core::Status Registry::event(const EventRecord& event) {
  return m_connection.exec("INSERT INTO " + table("events") +
                               " (project, database_name, change_id, event, release_version, environment, run_id,"
                               "  by_user, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           {m_project, m_database, event.change_id, event.event, event.release_version,
                            event.environment, event.run_id, event.by, event.detail});
}

} // namespace db
