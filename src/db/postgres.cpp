// libpq behind core::Result. Messages from the server are passed on; the
// connection string never is.
#include "db/postgres.hpp"

#include <libpq-fe.h>

#include "core/text.hpp"

namespace db {

using core::ErrorKind;

namespace {

std::string server_message(pg_conn* connection) {
  return core::trim(connection ? PQerrorMessage(connection) : "out of memory");
}

struct FreeOptions {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using ConninfoOptions = std::unique_ptr<PQconninfoOption, FreeOptions>;

core::Result<ConninfoOptions> parse(const std::string& conninfo) {
  char* error = nullptr;
  ConninfoOptions parsed(PQconninfoParse(conninfo.c_str(), &error));
  if (!parsed) {
    std::string message = error ? core::trim(error) : "out of memory";
    if (error) PQfreemem(error);
    // libpq quotes the string it could not parse, password and all.
    for (std::size_t at = message.find(conninfo); !conninfo.empty() && at != std::string::npos;
         at = message.find(conninfo, at))
      message.replace(at, conninfo.size(), "<the connection string>");
    return core::make_error(ErrorKind::usage, "the connection string is not valid: " + message +
                                                  "; write a URI such as postgresql://user@host:5432/dbname or "
                                                  "key=value pairs such as host=db01 dbname=orders user=app");
  }
  return parsed;
}

} // namespace

core::Result<Connection> Connection::open(const std::string& conninfo, std::chrono::seconds connect_timeout,
                                          const std::string& database) {
  auto parsed = parse(conninfo);
  if (!parsed) return parsed.error();
  const std::string timeout = std::to_string(std::max<long long>(1, connect_timeout.count()));
  // expand_dbname=1: the first value is the whole connection string; the
  // keywords after it override what it says.
  std::vector<const char*> keywords = {"dbname", "fallback_application_name"};
  std::vector<const char*> values = {conninfo.c_str(), "shipgate"};
  // The string's own connect_timeout wins; else shipgate's.
  bool own_timeout = false;
  for (PQconninfoOption* option = parsed->get(); option->keyword; ++option)
    own_timeout = own_timeout || (std::string(option->keyword) == "connect_timeout" && option->val && *option->val);
  if (!own_timeout) {
    keywords.push_back("connect_timeout");
    values.push_back(timeout.c_str());
  }
  if (!database.empty()) {
    keywords.push_back("dbname");
    values.push_back(database.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* connection = PQconnectdbParams(keywords.data(), values.data(), 1);
  if (!connection || PQstatus(connection) != CONNECTION_OK) {
    const std::string message = server_message(connection);
    if (connection) PQfinish(connection);
    return core::make_error(ErrorKind::runtime, "cannot connect to the database: " + message);
  }
  // Server notices ("schema already exists, skipping") are not for the user.
  PQsetNoticeProcessor(connection, [](void*, const char*) {}, nullptr);
  return Connection(connection);
}

Connection::Connection(Connection&& other) noexcept : m_connection(other.m_connection) { other.m_connection = nullptr; }

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (m_connection) PQfinish(m_connection);
    m_connection = other.m_connection;
    other.m_connection = nullptr;
  }
  return *this;
}

Connection::~Connection() {
  if (m_connection) PQfinish(m_connection);
}

core::Result<std::vector<Row>> Connection::run(const std::string& sql, const std::vector<Value>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& param : params) values.push_back(param ? param->c_str() : nullptr);
  PGresult* result = PQexecParams(m_connection, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                  values.empty() ? nullptr : values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string message = result ? core::trim(PQresultErrorMessage(result)) : server_message(m_connection);
    if (message.empty()) message = server_message(m_connection);
    if (result) PQclear(result);
    return core::make_error(ErrorKind::runtime, message);
  }
  std::vector<Row> rows;
  const int count = PQntuples(result);
  const int columns = PQnfields(result);
  for (int r = 0; r < count; ++r) {
    Row row;
    for (int c = 0; c < columns; ++c)
      row.push_back(PQgetisnull(result, r, c) ? Value() : Value(std::string(PQgetvalue(result, r, c),
                                                                            static_cast<std::size_t>(PQgetlength(result, r, c)))));
    rows.push_back(std::move(row));
  }
  PQclear(result);
  return rows;
}

core::Result<std::vector<Row>> Connection::query(const std::string& sql, const std::vector<Value>& params) {
  return run(sql, params);
}

core::Status Connection::exec(const std::string& sql, const std::vector<Value>& params) {
  auto result = run(sql, params);
  if (!result) return result.error();
  return core::ok_status();
}

core::Status Connection::exec_script(const std::string& sql) {
  PGresult* result = PQexec(m_connection, sql.c_str());
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  std::string message;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    message = result ? core::trim(PQresultErrorMessage(result)) : server_message(m_connection);
  if (result) PQclear(result);
  if (!message.empty()) return core::make_error(ErrorKind::runtime, message);
  return core::ok_status();
}

bool Connection::answers() {
  return m_connection && run("SELECT 1", {}) && PQstatus(m_connection) == CONNECTION_OK;
}

std::string Connection::database_name() const { return PQdb(m_connection) ? PQdb(m_connection) : ""; }

std::string Connection::identifier(const std::string& name) const {
  char* quoted = PQescapeIdentifier(m_connection, name.c_str(), name.size());
  if (!quoted) return "\"" + name + "\"";
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

core::Result<std::map<std::string, std::string>> client_environment(const std::string& conninfo) {
  auto parsed = parse(conninfo);
  if (!parsed) return parsed.error();
  std::map<std::string, std::string> out;
  for (PQconninfoOption* option = parsed->get(); option->keyword; ++option) {
    if (!option->val || !option->envvar) continue;
    out[option->envvar] = option->val;
  }
  return out;
}

std::vector<std::string> conninfo_secrets(const std::string& conninfo) {
  std::vector<std::string> out;
  if (!conninfo.empty()) out.push_back(conninfo);
  auto parsed = parse(conninfo);
  if (!parsed) return out;
  for (PQconninfoOption* option = parsed->get(); option->keyword; ++option)
    if (option->val && *option->val && std::string(option->dispchar ? option->dispchar : "") == "*")
      out.push_back(option->val);
  return out;
}

} // namespace db
