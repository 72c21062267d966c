// A database during a run: scripts through the plan's client, the registry
// through libpq, a check for every step. The order of writes is chosen so
// that a run killed at any point leaves rows the next run can settle: a
// row is written (deploying) before its script runs, marked applied after
// its verify, deployed only when the whole run succeeded, and marked
// reverting before its revert script runs.
#include "db/session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/artifact.hpp"
#include "io/process.hpp"

namespace db {

namespace fs = std::filesystem;
using core::CheckStatus;
using core::ErrorKind;

namespace {

double seconds_of(std::chrono::milliseconds elapsed) { return std::chrono::duration<double>(elapsed).count(); }

// The last lines of a client's output, for a check's explanation.
std::string tail_of(const std::string& output, std::size_t limit = 1500) {
  std::string text = core::trim(output);
  if (text.size() > limit) text = "…" + text.substr(text.size() - limit);
  return text;
}


bool read_text(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return !in.bad();
}

// "shipgate_restore_20261122t031500z_ab12": a lowercase SQL name from the run id.
std::string scratch_name(const std::string& run_id) {
  std::string out = "shipgate_restore_";
  for (const char c : run_id)
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                                       : '_';
  return out.substr(0, 63);
}

} // namespace

std::string file_sha256(const std::string& path) {
  auto digest = deploy::sha256_file(path);
  return digest ? *digest : std::string();
}

Session::Session(const deploy::DatabaseSpec& spec, const SessionContext& context, Connection connection,
                 std::string conninfo, std::map<std::string, std::string> client_env)
    : m_spec(spec), m_context(context), m_connection(std::move(connection)), m_conninfo(std::move(conninfo)),
      m_client_env(std::move(client_env)),
      m_registry(m_connection, m_spec.registry_schema, context.project, m_spec.name) {}

Session::~Session() {
  if (m_locked) m_registry.unlock();
}

core::Result<std::unique_ptr<Session>> Session::open(const deploy::DatabaseSpec& spec, const SessionContext& context,
                                                     bool lock) {
  const std::string what = "database " + spec.name;
  const auto conninfo = context.env.get(spec.connection_env);
  if (!conninfo || conninfo->empty())
    return core::make_error(ErrorKind::usage, what + ": the environment variable " + spec.connection_env +
                                                  " (connection_env) is not set; export the connection string in it, "
                                                  "e.g. postgresql://user@db01:5432/orders (from your CI's secrets)");
  for (const auto& secret : conninfo_secrets(*conninfo)) context.output.add_secret(secret);
  auto client_env = client_environment(*conninfo);
  if (!client_env)
    return core::make_error(client_env.error().kind, what + " (" + spec.connection_env + "): " + client_env.error().message);
  auto connection = Connection::open(*conninfo, std::chrono::seconds(10));
  if (!connection)
    return core::make_error(ErrorKind::runtime, what + " (" + spec.connection_env + "): " +
                                                    context.output.redactor().redact(connection.error().message) +
                                                    "; check that the server is up and the connection string is right");
  std::unique_ptr<Session> session(
      new Session(spec, context, std::move(*connection), *conninfo, std::move(*client_env)));
  if (!lock) return session;
  // The lock first: two runs must not create the registry or settle rows at once.
  const auto until = std::chrono::steady_clock::now() + context.wait_lock;
  for (;;) {
    auto taken = session->m_registry.try_lock();
    if (!taken) return core::make_error(ErrorKind::runtime, what + ": cannot take its lock: " + taken.error().message);
    if (*taken) break;
    if (std::chrono::steady_clock::now() >= until || core::interrupted())
      return core::make_error(ErrorKind::blocked,
                              what + " is locked by another shipgate run changing it (a PostgreSQL advisory lock, "
                                     "released when that run ends); wait for it, or pass --wait-lock 10m");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  session->m_locked = true;
  if (auto ensured = session->m_registry.ensure(); !ensured)
    return core::make_error(ErrorKind::runtime, what + ": cannot create the registry schema " + spec.registry_schema +
                                                    ": " + ensured.error().message +
                                                    "; the connection's role needs CREATE on the database, or create "
                                                    "the schema for it");
  return session;
}

std::string Session::check_id(const std::string& kind, const std::string& change_id) const {
  return "db/" + m_spec.name + "/" + kind + (change_id.empty() ? "" : "/" + change_id);
}

core::Result<Comparison> Session::compare() {
  std::vector<AppliedChange> rows;
  auto exists = m_registry.exists();
  if (!exists) return exists.error();
  if (*exists) {
    auto read = m_registry.read();
    if (!read) return read.error();
    rows = std::move(*read);
  }
  std::map<std::string, std::string> checksums;
  for (const auto& change : m_spec.changes) {
    const std::string sum = file_sha256(change.deploy);
    if (sum.empty())
      return core::make_error(ErrorKind::invalid_input, "database " + m_spec.name + ": cannot read the deploy script " +
                                                            change.deploy + " of change " + change.id,
                              change.location);
    checksums[change.id] = sum;
  }
  return db::compare(m_spec, rows, checksums, m_context.environment);
}

std::string Session::script_path_for(const std::string& change_id, const std::string& kind) const {
  for (const auto& change : m_spec.changes)
    if (change.id == change_id) return kind == "verify" ? change.verify : kind == "revert" ? change.revert : change.deploy;
  return {};
}

void Session::event(const std::string& change_id, const std::string& name, const std::string& detail) {
  (void)m_registry.event({change_id, name, m_context.version, m_context.environment, m_context.run_id, m_context.user,
                          m_context.output.redactor().redact(detail)});
}

core::Status Session::run_script(const Script& script, Reporter& reporter, bool rolling_back,
                                 const std::string& database) {
  std::string path = script.path;
  if (path.empty()) {
    // A script kept in the registry: written to the run's private folder.
    if (m_context.work_dir.empty())
      return core::make_error(ErrorKind::runtime, "no private folder to write the " + script.kind + " script of " +
                                                      script.change_id + " to; check that the temporary folder is "
                                                      "writable (TMPDIR)");
    path = (m_context.work_dir / (m_spec.name + "-" + script.change_id + "." + script.kind + ".sql")).string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool written = fd >= 0 && ::write(fd, script.text.data(), script.text.size()) ==
                                  static_cast<ssize_t>(script.text.size());
    if (fd >= 0) written = (::close(fd) == 0) && written;
    if (!written)
      return core::make_error(ErrorKind::runtime, "cannot write the " + script.kind + " script of " + script.change_id +
                                                      " to " + path);
  }
  io::ProcessSpec process;
  bool on_argv = false;
  for (const auto& word : m_spec.client) {
    if (word.find("${SCRIPT}") != std::string::npos) on_argv = true;
    process.argv.push_back(core::replace_all(word, "${SCRIPT}", path));
  }
  if (!on_argv) {
    std::string text;
    if (!read_text(path, text))
      return core::make_error(ErrorKind::runtime, "cannot read the " + script.kind + " script " + path);
    process.input = std::move(text);
  }
  process.env_add = m_client_env;
  if (!database.empty()) process.env_add["PGDATABASE"] = database;
  process.timeout = m_spec.timeout;
  process.stop_on_interrupt = !rolling_back;
  const auto result = io::run_process(process);
  const std::string output = m_context.output.redactor().redact(tail_of(result.output));
  const std::string where = database.empty() ? "" : " (in " + database + ")";
  const std::string title = script.kind + " " + script.change_id + where;
  if (result.ok()) {
    reporter.check(check_id(script.kind, script.change_id) + script.suffix + (database.empty() ? "" : "@restore"), title,
                   CheckStatus::pass, script.kind + " script " + fs::path(path).filename().string() + " succeeded" + where,
                   seconds_of(result.elapsed));
    return core::ok_status();
  }
  std::string why;
  if (result.outcome == io::ProcessResult::Outcome::failed_to_start)
    why = "the client " + m_spec.client.front() + " could not start: " + result.error;
  else if (result.outcome == io::ProcessResult::Outcome::timed_out)
    why = "timed out after " + std::to_string(m_spec.timeout.count() / 1000) + " s (databases." + m_spec.name + ".timeout)";
  else if (result.outcome == io::ProcessResult::Outcome::interrupted)
    why = "interrupted";
  else
    why = "exit " + std::to_string(result.exit_code);
  // A client's output alone ("server closed the connection unexpectedly")
  // does not say that the database is gone, nor what to do about it.
  const std::string lost = m_connection.answers() ? "" : server_lost();
  const std::string message = "the " + script.kind + " script of change " + script.change_id + where + " failed (" +
                              why + ")" + lost + (output.empty() ? "" : ": " + output);
  reporter.check(check_id(script.kind, script.change_id) + script.suffix + (database.empty() ? "" : "@restore"), title,
                 CheckStatus::fail, message, seconds_of(result.elapsed));
  return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": " + message);
}

core::Status Session::settle(const std::function<bool(const std::string&)>& succeeded, Reporter& reporter,
                             std::vector<std::string>& done) {
  auto exists = m_registry.exists();
  if (!exists) return exists.error();
  if (!*exists) return core::ok_status();
  auto rows = m_registry.read();
  if (!rows) return rows.error();
  for (auto it = rows->rbegin(); it != rows->rend(); ++it) {
    const AppliedChange& row = *it;
    if (row.state == "deployed") continue;
    if (row.state == "applied" && succeeded(row.run_id)) {
      if (auto promoted = m_registry.set_state(row.change_id, "deployed"); !promoted) return promoted;
      done.push_back("database " + m_spec.name + ": change " + row.change_id + " of run " + row.run_id +
                     ", which the ledger records as succeeded, is now marked deployed");
      continue;
    }
    if (row.state == "deploying") {
      // Killed around its deploy script: in place only if its verify says so.
      bool in_place = false;
      if (!row.verify_script.empty() || !script_path_for(row.change_id, "verify").empty()) {
        Reporter quiet{[](const std::string&, const std::string&, CheckStatus, const std::string&, double) {},
                       reporter.progress};
        in_place = static_cast<bool>(run_script({"verify", row.change_id, script_path_for(row.change_id, "verify"),
                                                 row.verify_script},
                                                quiet, true));
      }
      if (!in_place) {
        if (auto removed = m_registry.remove(row.change_id); !removed) return removed;
        event(row.change_id, "settled", "interrupted before its deploy script took effect; row removed");
        done.push_back("database " + m_spec.name + ": change " + row.change_id + " of interrupted run " + row.run_id +
                       " had not taken effect; its registry row was removed");
        continue;
      }
    }
    if (!row.irreversible.empty()) {
      // As in revert(): the older unsettled rows stay with it.
      for (auto older = it; older != rows->rend(); ++older)
        if (older->state != "deployed") {
          keep(*older, reporter, row);
          done.push_back("database " + m_spec.name + ": change " + older->change_id + " of interrupted run " +
                         older->run_id + " stays applied (irreversible change " + row.change_id + ")");
        }
      break;
    }
    if (auto reverted = revert_one(row, reporter, true); !reverted) return reverted;
    done.push_back("database " + m_spec.name + ": change " + row.change_id + " of interrupted run " + row.run_id +
                   " was reverted");
  }
  return core::ok_status();
}

core::Result<BackupRecord> Session::backup(const fs::path& dir, const std::vector<AppliedChange>& applied,
                                           Reporter& reporter) {
  BackupRecord record;
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    return core::make_error(ErrorKind::runtime, "cannot create the backup folder " + dir.string() + ": " + error.message());
  // The dump holds the data: readable by the owner only.
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
  error.clear();
  record.file = (dir / ("db-" + m_spec.name + ".dump")).string();
  io::ProcessSpec dump;
  for (const auto& word : m_spec.backup.command) dump.argv.push_back(core::replace_all(word, "${BACKUP_FILE}", record.file));
  dump.env_add = m_client_env;
  dump.timeout = m_spec.timeout;
  const std::string id = check_id("backup");
  const auto dumped = io::run_process(dump);
  const auto size = fs::file_size(record.file, error);
  if (!dumped.ok() || error || size == 0) {
    const std::string why = !dumped.ok() ? (dumped.outcome == io::ProcessResult::Outcome::exited
                                                ? "exit " + std::to_string(dumped.exit_code)
                                                : dumped.error)
                                         : error ? "it wrote no file " + record.file
                                                 : record.file + " is empty";
    const std::string message = "the dump of database " + m_spec.name + " failed (" + why + ")" +
                                (dumped.output.empty() ? "" : ": " + m_context.output.redactor().redact(tail_of(dumped.output)));
    reporter.check(id, "backup of database " + m_spec.name, CheckStatus::fail, message, seconds_of(dumped.elapsed));
    return core::make_error(ErrorKind::runtime, message);
  }
  fs::permissions(record.file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, error);
  record.bytes = size;
  record.sha256 = file_sha256(record.file);
  reporter.check(id, "backup of database " + m_spec.name, CheckStatus::pass,
                 record.file + ": " + std::to_string(size) + " bytes, sha256 " + record.sha256,
                 seconds_of(dumped.elapsed));
  if (!m_spec.backup.verify_restore) return record;

  // The restore check: a scratch database, the dump restored into it, the
  // registry's head found there, and the verify scripts passing there.
  const std::string scratch = scratch_name(m_context.run_id);
  const std::string restore_id = check_id("restore-check");
  const auto started = std::chrono::steady_clock::now();
  auto fail = [&](const std::string& why) -> core::Result<BackupRecord> {
    (void)m_connection.exec("DROP DATABASE IF EXISTS " + m_connection.identifier(scratch) + " WITH (FORCE)");
    const std::string message = "the dump of database " + m_spec.name + " did not pass the restore check: " + why;
    reporter.check(restore_id, "restore check of database " + m_spec.name, CheckStatus::fail, message,
                   seconds_of(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)));
    return core::make_error(ErrorKind::runtime, message);
  };
  (void)m_connection.exec("DROP DATABASE IF EXISTS " + m_connection.identifier(scratch) + " WITH (FORCE)");
  if (auto created = m_connection.exec("CREATE DATABASE " + m_connection.identifier(scratch)); !created)
    return fail("cannot create the scratch database " + scratch + ": " + created.error().message +
                " (the connection's role needs CREATEDB)");
  io::ProcessSpec restore;
  for (const auto& word : m_spec.backup.restore)
    restore.argv.push_back(core::replace_all(core::replace_all(word, "${BACKUP_FILE}", record.file), "${SCRATCH_DATABASE}", scratch));
  restore.env_add = m_client_env;
  restore.env_add["PGDATABASE"] = scratch;
  restore.timeout = m_spec.timeout;
  const auto restored = io::run_process(restore);
  if (!restored.ok())
    return fail("the restore command failed (" +
                (restored.outcome == io::ProcessResult::Outcome::exited ? "exit " + std::to_string(restored.exit_code)
                                                                         : restored.error) +
                ")" + (restored.output.empty() ? "" : ": " + m_context.output.redactor().redact(tail_of(restored.output))));
  // The restored registry must hold the same head as the live one.
  const Head live = head_of(applied);
  if (live.seq != 0) {
    auto connection = Connection::open(m_conninfo, std::chrono::seconds(10), scratch);
    if (!connection) return fail("cannot connect to the scratch database: " + connection.error().message);
    Registry copy(*connection, m_spec.registry_schema, m_context.project, m_spec.name);
    auto rows = copy.read();
    if (!rows)
      return fail("the restored database has no readable registry (" + rows.error().message +
                  "); the dump must include the schema " + m_spec.registry_schema);
    std::vector<AppliedChange> deployed;
    for (const auto& row : *rows)
      if (row.state == "deployed") deployed.push_back(row);
    const Head restored_head = head_of(deployed);
    if (restored_head.change_id != live.change_id)
      return fail("the restored registry's head is '" + restored_head.change_id + "', the live one is '" +
                  live.change_id + "'");
  }
  Reporter nested{reporter.check, reporter.progress};
  for (const auto& change : applied) {
    const std::string path = script_path_for(change.change_id, "verify");
    if (path.empty() && change.verify_script.empty()) continue;
    if (auto verified = run_script({"verify", change.change_id, path, change.verify_script}, nested, false, scratch);
        !verified)
      return fail(verified.error().message);
  }
  if (auto dropped = m_connection.exec("DROP DATABASE IF EXISTS " + m_connection.identifier(scratch) + " WITH (FORCE)");
      !dropped)
    reporter.progress("database " + m_spec.name + ": could not drop the scratch database " + scratch + ": " +
                      dropped.error().message);
  record.restore_verified = true;
  reporter.check(restore_id, "restore check of database " + m_spec.name, CheckStatus::pass,
                 "restored into the scratch database " + scratch + " (since dropped); registry head '" +
                     (live.change_id.empty() ? std::string("none") : live.change_id) + "' and " +
                     std::to_string(applied.size()) + " verify script(s) checked there",
                 seconds_of(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)));
  return record;
}

core::Status Session::apply(const std::vector<const deploy::DbChangeSpec*>& pending, Reporter& reporter) {
  for (const auto* change : pending) {
    if (core::interrupted()) {
      auto status = core::make_error(ErrorKind::interrupted, "interrupted before change " + change->id);
      undo_run(reporter);
      return status;
    }
    reporter.progress("database " + m_spec.name + ": applying " + change->id);
    AppliedChange row;
    row.change_id = change->id;
    row.deploy_sha256 = file_sha256(change->deploy);
    if (!change->verify.empty()) (void)read_text(change->verify, row.verify_script);
    if (!change->revert.empty()) (void)read_text(change->revert, row.revert_script);
    row.irreversible = change->irreversible;
    row.release_version = m_context.version;
    row.environment = m_context.environment;
    row.run_id = m_context.run_id;
    row.applied_by = m_context.user.empty() ? "shipgate" : m_context.user;
    auto seq = m_registry.begin(row);
    if (!seq) {
      undo_run(reporter);
      return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": cannot record change " + change->id +
                                                      " in the registry: " + seq.error().message);
    }
    auto deployed = run_script({"deploy", change->id, change->deploy, {}}, reporter, false);
    if (!deployed) {
      // The default client runs the script in one transaction: nothing of it stayed.
      event(change->id, "fail", deployed.error().message);
      (void)m_registry.remove(change->id);
      undo_run(reporter);
      return deployed;
    }
    event(change->id, "deploy", "");
    m_applied_ids.push_back(change->id);
    if (!change->verify.empty()) {
      auto verified = run_script({"verify", change->id, change->verify, {}}, reporter, false);
      if (!verified) {
        event(change->id, "fail", verified.error().message);
        undo_run(reporter);
        return verified;
      }
      event(change->id, "verify", "");
    }
    if (m_spec.rehearse_revert && !change->revert.empty()) {
      if (auto rehearsed = rehearse_revert(*change, reporter); !rehearsed) {
        event(change->id, "fail", rehearsed.error().message);
        undo_run(reporter);
        return rehearsed;
      }
    }
    if (auto marked = m_registry.set_state(change->id, "applied"); !marked) {
      undo_run(reporter);
      return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": cannot mark change " + change->id +
                                                      " applied: " + marked.error().message);
    }
  }
  return core::ok_status();
}

// Revert, check the change is gone (its verify must now fail), deploy and
// verify again: the revert script is proven before production needs it.
core::Status Session::rehearse_revert(const deploy::DbChangeSpec& change, Reporter& reporter) {
  reporter.progress("database " + m_spec.name + ": rehearsing the revert of " + change.id);
  if (auto reverted = run_script({"revert", change.id, change.revert, {}, "@rehearsal"}, reporter, false); !reverted)
    return core::make_error(ErrorKind::runtime, "the rehearsal of the revert of change " + change.id +
                                                    " failed: " + reverted.error().message);
  event(change.id, "rehearse-revert", "");
  if (!change.verify.empty()) {
    Reporter quiet{[](const std::string&, const std::string&, CheckStatus, const std::string&, double) {},
                   reporter.progress};
    const auto started = std::chrono::steady_clock::now();
    const bool still_there = static_cast<bool>(run_script({"verify", change.id, change.verify, {}}, quiet, false));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string id = check_id("rehearsal", change.id);
    if (still_there) {
      const std::string why = "after its revert script ran, the verify script of change " + change.id +
                              " still passes: the revert does not undo the change, or the verify script does not "
                              "check it";
      reporter.check(id, "revert rehearsal of " + change.id, CheckStatus::fail, why, seconds);
      m_unrevertable.push_back(change.id);
      return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": " + why);
    }
    reporter.check(id, "revert rehearsal of " + change.id, CheckStatus::pass,
                   "reverted, verify failed as it should without the change, then deployed again", seconds);
  }
  if (auto deployed = run_script({"deploy", change.id, change.deploy, {}, "@again"}, reporter, false); !deployed)
    return core::make_error(ErrorKind::runtime, "deploying change " + change.id + " again after the rehearsal of its "
                                                    "revert failed: " + deployed.error().message);
  if (!change.verify.empty())
    if (auto verified = run_script({"verify", change.id, change.verify, {}, "@again"}, reporter, false); !verified)
      return verified;
  return core::ok_status();
}

core::Status Session::revert_one(const AppliedChange& change, Reporter& reporter, bool rolling_back) {
  if (!change.irreversible.empty()) {
    keep(change, reporter, change);
    return core::ok_status();
  }
  if (std::find(m_unrevertable.begin(), m_unrevertable.end(), change.change_id) != m_unrevertable.end())
    return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": change " + change.change_id +
                                                    " cannot be reverted: the rehearsal showed that its revert script "
                                                    "does not undo it; it is still applied, fix the revert script and "
                                                    "undo it by hand");
  const std::string path = script_path_for(change.change_id, "revert");
  if (path.empty() && change.revert_script.empty())
    return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": change " + change.change_id +
                                                    " has no revert script, in the plan or in the registry");
  if (auto marked = m_registry.set_state(change.change_id, "reverting"); !marked) return marked;
  reporter.progress("database " + m_spec.name + ": reverting " + change.change_id);
  if (auto reverted = run_script({"revert", change.change_id, path, change.revert_script}, reporter, rolling_back);
      !reverted) {
    event(change.change_id, "fail", reverted.error().message);
    return reverted;
  }
  if (auto removed = m_registry.remove(change.change_id); !removed) return removed;
  event(change.change_id, "revert", "");
  m_reverted.push_back(change.change_id);
  return core::ok_status();
}

core::Status Session::verify_head(Reporter& reporter, bool rolling_back) {
  auto rows = m_registry.read();
  if (!rows) return rows.error();
  if (rows->empty()) return core::ok_status();
  const AppliedChange& head = rows->back();
  const std::string path = script_path_for(head.change_id, "verify");
  if (path.empty() && head.verify_script.empty()) return core::ok_status();
  auto verified = run_script({"verify", head.change_id, path, head.verify_script}, reporter, rolling_back);
  event(head.change_id, verified ? "verify" : "fail", verified ? "the head again, after reverts" : verified.error().message);
  return verified;
}

core::Status Session::revert(const std::vector<AppliedChange>& changes, Reporter& reporter, bool rolling_back) {
  for (std::size_t i = 0; i < changes.size(); ++i) {
    if (!changes[i].irreversible.empty()) {
      // The revert stops at an irreversible change: it and the older ones
      // stay applied, so the database is never left with a change whose
      // ground was reverted from under it.
      for (std::size_t j = i; j < changes.size(); ++j) keep(changes[j], reporter, changes[i]);
      break;
    }
    if (auto reverted = revert_one(changes[i], reporter, rolling_back); !reverted) return reverted;
  }
  if (changes.empty()) return core::ok_status();
  return verify_head(reporter, rolling_back);
}

void Session::keep(const AppliedChange& change, Reporter& reporter, const AppliedChange& irreversible) {
  // It is in the database for good: settled, so that no later run tries again.
  (void)m_registry.set_state(change.change_id, "deployed");
  const std::string why = change.change_id == irreversible.change_id
                              ? "change " + change.change_id + " is irreversible (" + change.irreversible + ")"
                              : "change " + change.change_id + " comes before the irreversible change " +
                                    irreversible.change_id;
  event(change.change_id, "kept", why);
  m_left_applied.push_back(change.change_id);
  reporter.check(check_id("revert", change.change_id), "revert " + change.change_id, CheckStatus::warn,
                 why + " and stays applied", -1);
}

std::string Session::server_lost() const {
  return ": the connection to the server of database " + m_spec.name +
         " was lost (the server stopped, or the network failed); once it answers again, the next deploy-stage or "
         "rollback settles what this run left in its registry";
}

void Session::undo_run(Reporter& reporter) {
  if (auto undone = revert_run(reporter); !undone && m_revert_failure.empty())
    m_revert_failure = undone.error().message;
}

core::Status Session::revert_run(Reporter& reporter) {
  if (m_applied_ids.empty()) return core::ok_status();
  auto rows = m_registry.read();
  if (!rows) return not_reverted(rows.error());
  std::vector<AppliedChange> mine;
  for (auto it = rows->rbegin(); it != rows->rend(); ++it)
    if (it->run_id == m_context.run_id) mine.push_back(*it);
  auto status = revert(mine, reporter, true);
  if (!status) status = not_reverted(status.error());
  m_applied_ids.clear();
  return status;
}

// Which of this run's changes stay applied, when the server is why.
core::Error Session::not_reverted(const core::Error& error) {
  if (m_connection.answers() || error.message.find(server_lost()) != std::string::npos) return error;
  std::vector<std::string> left;
  for (const auto& id : m_applied_ids)
    if (std::find(m_reverted.begin(), m_reverted.end(), id) == m_reverted.end()) left.push_back(id);
  return core::make_error(ErrorKind::runtime, "database " + m_spec.name + ": cannot revert " + core::join(left) +
                                                  ", applied by this run (" + error.message + ")" + server_lost());
}

core::Status Session::promote() { return m_registry.promote(m_context.run_id); }

core::Result<Head> Session::head() {
  auto exists = m_registry.exists();
  if (!exists) return exists.error();
  if (!*exists) return Head{};
  auto rows = m_registry.read();
  if (!rows) return rows.error();
  std::vector<AppliedChange> settled;
  for (const auto& row : *rows)
    if (row.state == "deployed" || (row.state == "applied" && row.run_id == m_context.run_id)) settled.push_back(row);
  return head_of(settled);
}

} // namespace db
