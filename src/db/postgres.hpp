#pragma once
// A PostgreSQL connection through libpq, for shipgate's own registry
// queries (the change scripts themselves run through the plan's client,
// psql by default). Parameters always travel separately from the SQL text.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

struct pg_conn;

namespace db {

using Value = std::optional<std::string>; // NULL is nullopt
using Row = std::vector<Value>;

class Connection {
public:
  // `conninfo`: a libpq connection string or URI. Errors never repeat it.
  // `database`, when given, replaces the database the string names.
  static core::Result<Connection> open(const std::string& conninfo, std::chrono::seconds connect_timeout,
                                       const std::string& database = {});
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Runs one statement; its rows (text format).
  core::Result<std::vector<Row>> query(const std::string& sql, const std::vector<Value>& params = {});
  core::Status exec(const std::string& sql, const std::vector<Value>& params = {});
  // Several statements without parameters (schema creation).
  core::Status exec_script(const std::string& sql);
  // Whether the server still answers on this connection (a trivial
  // query); false once it stopped or the network between failed.
  bool answers();
  std::string database_name() const; // the connected database
  // Quoted for use as an SQL identifier.
  std::string identifier(const std::string& name) const;

private:
  explicit Connection(pg_conn* connection) : m_connection(connection) {}
  core::Result<std::vector<Row>> run(const std::string& sql, const std::vector<Value>& params);
  pg_conn* m_connection = nullptr;
};

// The standard libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE, PGSSLMODE, ...) that make a client reach what `conninfo`
// names, so that the connection string never goes on a command line.
core::Result<std::map<std::string, std::string>> client_environment(const std::string& conninfo);
// The values in `conninfo` to mask in every output (the password, and the
// whole string itself).
std::vector<std::string> conninfo_secrets(const std::string& conninfo);

} // namespace db
