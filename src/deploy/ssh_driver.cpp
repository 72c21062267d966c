// The `ssh` target (docs/ssh.md): on each host the same layout, ledger,
// journal and lock as a local root, changed by one remote operation per
// method over the host's shared ssh connection. The artifact is unpacked
// and checked once on this machine; each host receives the unpacked tree
// with its manifest and checks it before the release goes into place.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/text.hpp"
#include "deploy/driver.hpp"
#include "deploy/ssh_remote_script.hpp"
#include "deploy/ssh_session.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;
using ssh::RemoteAnswer;
using ssh::RemoteCall;

constexpr int k_max_update_attempts = 20;
constexpr std::size_t k_max_listed_differences = 5;
// A plan command gets this long beyond its own timeout before the local
// ssh is killed, so the host's `timeout` ends it first and says so.
constexpr Duration k_run_grace{std::chrono::seconds(15)};
constexpr int k_timeout_status = 124; // coreutils timeout

std::string sha256_text(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += k_hex[digest[i] >> 4];
    out += k_hex[digest[i] & 0xf];
  }
  return out;
}

// Answers of the form "absent\n", or "present[ <sha256>[ <age ms>|-]]\n"
// and the content. The age is the host's (docs/ssh.md): it is carried
// forward by this machine's steady clock from when the answer came.
struct FileState {
  std::optional<std::string> content;
  std::string sha256 = "absent";
  std::optional<std::chrono::milliseconds> age;
  std::chrono::steady_clock::time_point seen_at = std::chrono::steady_clock::now();

  StateStore::Current current() const {
    if (!content || !age) return {content, std::nullopt};
    const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - seen_at);
    return {content, *age + since};
  }
};

std::optional<std::chrono::milliseconds> parse_age(const std::string& text) {
  if (text.empty() || text.size() > 15 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt; // "-": the host cannot tell
  return std::chrono::milliseconds(std::stoll(text));
}

core::Result<FileState> parse_file_state(const ssh::Session& session, const std::string& out) {
  if (out == "absent\n") return FileState{};
  const std::size_t end = out.find('\n');
  if (end != std::string::npos && core::starts_with(out, "present")) {
    FileState state;
    state.content = out.substr(end + 1);
    const std::string header = out.substr(0, end);
    const std::size_t sha = header.find(' ');
    if (sha != std::string::npos) {
      const std::size_t age = header.find(' ', sha + 1);
      state.sha256 = header.substr(sha + 1, age == std::string::npos ? std::string::npos : age - sha - 1);
      if (age != std::string::npos) state.age = parse_age(header.substr(age + 1));
    }
    return state;
  }
  return core::make_error(ErrorKind::runtime, session.describe() +
                                                  ": unexpected answer from shipgate's remote script (\"" +
                                                  core::first_line(core::sanitize_utf8(out), 80) +
                                                  "\"); is something on the host printing to stdout at login?");
}

std::vector<std::string> answer_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t end = std::min(out.find('\n', start), out.size());
    lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool is_plain_name(const std::string& name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

// The ledger, journal and lease folder on the host. update() cannot hold
// the host's lock across two ssh calls, so it applies a change only if the
// file is still what `decide` saw (compared by sha256 under the lock on the
// host) and otherwise decides again on the content the host sent back.
class SshStateStore final : public StateStore {
public:
  SshStateStore(std::shared_ptr<ssh::Session> session, std::string dir, Duration timeout)
      : m_session(std::move(session)), m_dir(std::move(dir)), m_timeout(timeout) {}

  std::string describe() const override { return m_session->options().name + ":" + m_dir; }

  core::Status ensure() override { return done(call("store-ensure", {m_dir})); }

  core::Result<bool> exists() override {
    auto answer = call("store-exists", {m_dir});
    if (!answer) return answer.error();
    return answer->out == "yes\n";
  }

  core::Status append(const std::string& name, const std::string& line) override {
    return done(call("append", {m_dir, name}, line));
  }

  core::Result<std::optional<std::string>> read(const std::string& name) override {
    auto answer = call("read", {m_dir, name});
    if (!answer) return answer.error();
    auto state = parse_file_state(*m_session, answer->out);
    if (!state) return state.error();
    return state->content;
  }

  core::Status remove(const std::string& name) override {
    forget(name);
    return done(call("remove", {m_dir, name}));
  }

  core::Result<Current> read_current(const std::string& name) override {
    auto state = read_state(name);
    if (!state) return state.error();
    return state->current();
  }

  core::Result<std::optional<std::string>> update(const std::string& name, const Decide& decide) override {
    // The state left by this store's last update saves a read when nobody
    // else changed the file since; a stale one only costs a retry.
    std::optional<FileState> seen = remembered(name);
    bool fresh = false;
    for (int attempt = 0; attempt < k_max_update_attempts; ++attempt) {
      if (!seen) {
        auto read_now = read_state(name);
        if (!read_now) return read_now.error();
        seen = *read_now;
        fresh = true;
      }
      auto change = decide(seen->current());
      if (!change) return change.error();
      if (change->kind == Change::Kind::keep) {
        if (fresh) return seen->content;
        seen.reset(); // "nothing to do" must be decided on what the host has now
        continue;
      }
      auto applied = compare_and_set(name, *seen, *change);
      if (!applied) return applied.error();
      if (!*applied) return seen->content;
      seen = **applied; // changed meanwhile: decide again on the host's content
      fresh = true;
    }
    return core::make_error(ErrorKind::runtime, where(name) + " kept changing while shipgate tried to update it (" +
                                                    std::to_string(k_max_update_attempts) +
                                                    " attempts); another run is busy with this host: try again later");
  }

private:
  core::Result<RemoteAnswer> call(std::string op, std::vector<std::string> args,
                                  std::optional<std::string> input = std::nullopt) {
    return ssh::call_remote_ok(*m_session, RemoteCall{std::move(op), std::move(args), std::move(input), m_timeout});
  }
  static core::Status done(const core::Result<RemoteAnswer>& answer) {
    return answer ? core::ok_status() : core::Status(answer.error());
  }

  core::Result<FileState> read_state(const std::string& name) {
    auto answer = call("read-state", {m_dir, name});
    if (!answer) return answer.error();
    return parse_file_state(*m_session, answer->out);
  }

  // nullopt once applied; the host's current state when it changed since `seen`.
  core::Result<std::optional<FileState>> compare_and_set(const std::string& name, const FileState& seen,
                                                         const Change& change) {
    const bool write = change.kind == Change::Kind::write;
    const RemoteCall request{"update-cas",
                             {m_dir, name, seen.sha256, write ? "write" : "remove"},
                             write ? change.text : std::string(),
                             m_timeout};
    auto answer = ssh::call_remote(*m_session, request);
    if (!answer) return answer.error();
    if (answer->status == ssh::remote_status::ok) {
      // Just replaced: its age on the host starts from 0 about now.
      remember(name, write ? FileState{change.text, sha256_text(change.text), std::chrono::milliseconds(0)}
                           : FileState{});
      return std::optional<FileState>{};
    }
    if (answer->status != ssh::remote_status::changed) return ssh::remote_failure(*m_session, request, *answer);
    auto now = parse_file_state(*m_session, answer->out);
    if (!now) return now.error();
    return std::optional<FileState>(*now);
  }

  std::optional<FileState> remembered(const std::string& name) {
    const std::lock_guard lock(m_mutex);
    const auto found = m_seen.find(name);
    return found == m_seen.end() ? std::nullopt : std::optional<FileState>(found->second);
  }
  void remember(const std::string& name, FileState state) {
    const std::lock_guard lock(m_mutex);
    m_seen[name] = std::move(state);
  }
  void forget(const std::string& name) {
    const std::lock_guard lock(m_mutex);
    m_seen.erase(name);
  }

  std::shared_ptr<ssh::Session> m_session;
  std::string m_dir;
  Duration m_timeout;
  std::mutex m_mutex;
  std::map<std::string, FileState> m_seen;
};

ssh::SessionOptions session_options(const SshOptions& options) {
  ssh::SessionOptions out;
  out.name = options.host.name.empty() ? options.host.address : options.host.name;
  out.address = options.host.address;
  out.port = options.host.port > 0 ? options.host.port : 22;
  out.user = options.host.user;
  out.identity_file = options.identity_file;
  out.known_hosts = options.known_hosts;
  out.connect_timeout = options.connect_timeout;
  out.ssh_program = options.ssh_program.empty() ? "ssh" : options.ssh_program;
  return out;
}

std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  return path;
}

// Downloads go to $TMPDIR/shipgate-<uid>/incoming, but only when that
// folder is ours alone; otherwise to the process's private folder.
fs::path make_work_dir() {
  std::error_code error;
  const fs::path base = fs::temp_directory_path(error) / ("shipgate-" + std::to_string(::getuid()));
  ::mkdir(base.c_str(), 0700);
  struct stat info {};
  if (!error && ::lstat(base.c_str(), &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == ::getuid() &&
      (info.st_mode & 077) == 0) {
    fs::create_directories(base / "incoming", error);
    if (!error) return base / "incoming";
  }
  auto own = ssh::private_dir();
  fs::path fallback = (own ? *own : fs::path("/nonexistent")) / "incoming";
  fs::create_directories(fallback, error);
  return fallback;
}

// A value in printf %b escapes, so any byte survives one line of the
// environment block that the remote script's `run` reads.
std::string printf_escaped(const std::string& value) {
  static constexpr char k_octal[] = "01234567";
  std::string out;
  for (unsigned char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += std::string("\\0") + k_octal[c >> 6] + k_octal[(c >> 3) & 7] + k_octal[c & 7];
  }
  return out;
}

bool valid_env_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

std::string seconds_text(Duration duration) {
  const long long ms = duration.count();
  std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
  return std::to_string(ms / 1000) + "." + fraction;
}

// "changed ./a", "missing f ./b", "added l ./c -> x" (check-intact) as
// "a (changed)" ... in the local target's wording.
std::string describe_differences(const std::string& out) {
  std::map<std::string, std::set<std::string>> found;
  for (const auto& line : answer_lines(out)) {
    const std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string kind = line.substr(0, space);
    std::string path = line.substr(space + 1);
    if (kind != "changed" && path.size() > 2) {
      path = path.substr(2); // the listing's type letter
      if (line.find(" l ") == kind.size()) path = path.substr(0, path.find(" -> "));
    }
    if (core::starts_with(path, "./")) path = path.substr(2);
    found[path].insert(kind);
  }
  std::vector<std::string> items;
  for (const auto& [path, kinds] : found) {
    const bool both = kinds.count("missing") && kinds.count("added");
    items.push_back(path + " (" + (both || kinds.count("changed") ? "changed" : *kinds.begin()) + ")");
  }
  std::string list;
  for (std::size_t i = 0; i < std::min(items.size(), k_max_listed_differences); ++i)
    list += (i ? ", " : "") + items[i];
  if (items.size() > k_max_listed_differences)
    list += " and " + std::to_string(items.size() - k_max_listed_differences) + " more";
  return list;
}

std::string snapshot_name(const std::string& file) {
  std::string out;
  for (char c : file)
    out += c == '/' ? '%' : c;
  return out;
}

class SshDriver final : public Driver {
public:
  explicit SshDriver(const SshOptions& options)
      : m_session(ssh::Session::get(session_options(options))), m_root(without_trailing_slash(options.root)),
        m_timeout(options.operation_timeout), m_work_dir(make_work_dir()), m_host_variables(options.host.variables) {
    if (m_root.empty() || m_root.front() != '/' || m_root.find_first_of("\n\r") != std::string::npos)
      m_problem = core::make_error(ErrorKind::invalid_input,
                                   m_session->describe() + ": the root \"" + core::sanitize_utf8(m_root) +
                                       "\" must be an absolute path on the host, on one line");
  }

  std::string describe() const override {
    const auto& o = m_session->options();
    return "ssh:" + o.name + (o.address != o.name ? " (" + o.address + ")" : "");
  }
  std::string key() const override { return "ssh:" + m_session->key() + ":" + m_root; }
  fs::path root() const override { return m_root; }
  fs::path state_dir() const override { return m_root + "/.shipgate"; }
  fs::path local_work_dir() const override { return m_work_dir; }
  // The host's own values from the plan, then the ones every host brings.
  Variables variables() const override {
    Variables out = m_host_variables;
    out["HOST"] = m_session->options().name;
    out["HOST_ADDRESS"] = m_session->options().address;
    out["TARGET_ROOT"] = m_root;
    return out;
  }

  std::shared_ptr<StateStore> state_store() override {
    const std::lock_guard lock(m_store_mutex);
    if (!m_store) m_store = std::make_shared<SshStateStore>(m_session, state_dir().string(), m_timeout);
    return m_store;
  }

  core::Status ensure() override { return done(call("ensure", {m_root})); }

  core::Result<TargetStatus> status() override {
    auto answer = call("status", {m_root});
    if (!answer) return answer.error();
    TargetStatus out;
    for (const auto& line : answer_lines(answer->out)) {
      if (core::starts_with(line, "current "))
        out.current = line.substr(8);
      else if (core::starts_with(line, "release "))
        out.releases.push_back(line.substr(8));
    }
    std::sort(out.releases.begin(), out.releases.end());
    out.details = {{"host", m_session->options().name}, {"address", m_session->options().address}};
    return out;
  }

  core::Status prepare(const PrepareRequest& request) override {
    if (auto checked = check_release(request.release); !checked) return checked;
    if (!request.artifact) return core::make_error(ErrorKind::runtime, describe() + ": no artifact to prepare");
    auto staged = ssh::stage_release(*request.artifact, request.limits);
    if (!staged) return staged.error();
    auto stream = ssh::release_stream(**staged);
    if (!stream) return stream.error();
    std::vector<std::string> args = {m_root, request.release};
    args.insert(args.end(), request.shared.begin(), request.shared.end());
    return done(call("prepare", std::move(args), **stream));
  }

  core::Status activate(const std::string& release, bool) override { return point_link("current", release); }

  core::Status verify(const std::string& release) override {
    auto live = link_target("current");
    if (!live) return live.error();
    if (!*live || **live != release)
      return core::make_error(ErrorKind::runtime, describe() + ": `current` points at " +
                                                      (*live ? **live : std::string("nothing")) + ", expected " +
                                                      release);
    return core::ok_status();
  }

  core::Status check_intact(const std::string& release) override {
    if (auto checked = check_release(release); !checked) return checked;
    const RemoteCall request{"check-intact", {m_root, release}, std::nullopt, m_timeout};
    auto answer = call_any(request);
    if (!answer) return answer.error();
    if (answer->status == ssh::remote_status::ok) return core::ok_status();
    core::Error error = ssh::remote_failure(*m_session, request, *answer);
    if (answer->status == ssh::remote_status::differs)
      error.message = describe() + ": release " + release +
                      " changed since it was deployed: " + describe_differences(answer->out) +
                      "; put writable files in shared/ (docs/plan.md)";
    if (answer->status == ssh::remote_status::not_found || answer->status == ssh::remote_status::differs)
      error.kind = ErrorKind::blocked;
    return error;
  }

  core::Status discard(const std::string& release) override {
    if (auto checked = check_release(release); !checked) return checked;
    return done(call("discard", {m_root, release}));
  }

  core::Result<std::vector<std::string>> prune(int keep, const std::set<std::string>& protect) override {
    if (keep < 0)
      return core::make_error(ErrorKind::invalid_input, "keep must be 0 or more (got " + std::to_string(keep) + ")");
    std::vector<std::string> args = {m_root, std::to_string(keep)};
    args.insert(args.end(), protect.begin(), protect.end());
    auto answer = call("prune", std::move(args));
    if (!answer) return answer.error();
    std::vector<std::string> removed;
    for (const auto& line : answer_lines(answer->out))
      if (core::starts_with(line, "removed ")) removed.push_back(line.substr(8));
    return removed;
  }

  io::ProcessResult run_command(const io::ProcessSpec& spec) override;

  core::Result<nlohmann::json> snapshot_config(const std::string& release,
                                               const std::vector<std::string>& files) override {
    if (auto checked = check_release(release); !checked) return checked.error();
    // In key order, as the local target's manifest.json lists them.
    const std::set<std::string> sorted(files.begin(), files.end());
    std::vector<std::string> args = {m_root, release};
    for (const auto& file : sorted)
      args.insert(args.end(), {on_host(file), snapshot_name(file),
                               nlohmann::json(file).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
    auto answer = call("snapshot-config", std::move(args));
    if (!answer) return answer.error();
    const auto lines = answer_lines(answer->out);
    if (lines.size() != sorted.size())
      return core::make_error(ErrorKind::runtime, m_session->describe() + ": the configuration snapshot answered " +
                                                      std::to_string(lines.size()) + " lines for " +
                                                      std::to_string(sorted.size()) + " files");
    nlohmann::json manifest = nlohmann::json::object();
    std::size_t index = 0;
    for (const auto& file : sorted) {
      const std::string& digest = lines[index++];
      manifest[file] = digest == "-" ? nlohmann::json(nullptr) : nlohmann::json(digest);
    }
    return manifest;
  }

  core::Result<std::vector<std::string>> restore_config(const std::string& release) override {
    if (auto checked = check_release(release); !checked) return checked.error();
    const std::string manifest_file = state_dir().string() + "/backups/" + release + "/config/manifest.json";
    auto text = read_file(manifest_file);
    if (!text) return text.error();
    std::vector<std::string> restored;
    if (!*text) return restored;
    const nlohmann::json manifest = nlohmann::json::parse(**text, nullptr, false);
    if (!manifest.is_object())
      return core::make_error(ErrorKind::runtime, describe() + ": the snapshot manifest " + manifest_file +
                                                      " is unreadable; restore the configuration files by hand");
    std::vector<std::string> args = {m_root, release};
    std::map<std::string, std::string> digests;
    for (const auto& [file, digest] : manifest.items()) {
      if (!digest.is_string()) continue; // absent when snapshotted: nothing to put back
      args.insert(args.end(), {on_host(file), snapshot_name(file), digest.get<std::string>()});
      digests[on_host(file)] = digest.get<std::string>();
    }
    if (digests.empty()) return restored;
    auto answer = call("restore-config", std::move(args));
    if (!answer) return answer.error();
    for (const auto& line : answer_lines(answer->out))
      if (!line.empty()) restored.push_back(line + ": restored (sha256 " + digests[line] + ")");
    return restored;
  }

  core::Result<std::optional<FileFacts>> file_facts(const std::string& path) override {
    auto answer = call("file-facts", {on_host(path)});
    if (!answer) return answer.error();
    const auto lines = answer_lines(answer->out);
    if (!lines.empty() && core::starts_with(lines[0], "file ")) {
      const std::string rest = lines[0].substr(5);
      const std::size_t space = rest.find(' ');
      if (space != std::string::npos)
        return std::optional<FileFacts>(FileFacts{std::stoull(rest.substr(0, space)), rest.substr(space + 1)});
    }
    return std::optional<FileFacts>{};
  }

  core::Status write_file(const std::string& path, const std::string& content) override {
    return done(call("write-file", {on_host(path)}, content));
  }

  core::Result<std::optional<std::string>> read_file(const std::string& path) override {
    auto answer = call("read-file", {on_host(path)});
    if (!answer) return answer.error();
    auto state = parse_file_state(*m_session, answer->out);
    if (!state) return state.error();
    return state->content;
  }

  core::Status point_link(const std::string& name, const std::string& release) override {
    if (auto checked = check_release(release); !checked) return checked;
    return done(call("point-link", {m_root, name, release}));
  }

  core::Result<std::optional<std::string>> link_target(const std::string& name) override {
    auto answer = call("read-link", {m_root, name});
    if (!answer) return answer.error();
    if (core::starts_with(answer->out, "release "))
      return std::optional<std::string>(answer_lines(answer->out).front().substr(8));
    return std::optional<std::string>{};
  }

  // Other drivers may still be busy on this host: the master stops taking
  // new operations and ends after theirs; a later operation opens a new one.
  void close() override { m_session->close(false); }

private:
  core::Result<RemoteAnswer> call_any(const RemoteCall& request) {
    if (m_problem) return *m_problem;
    return ssh::call_remote(*m_session, request);
  }
  core::Result<RemoteAnswer> call(std::string op, std::vector<std::string> args,
                                  std::optional<std::string> input = std::nullopt) {
    if (m_problem) return *m_problem;
    return ssh::call_remote_ok(*m_session, RemoteCall{std::move(op), std::move(args), std::move(input), m_timeout});
  }
  static core::Status done(const core::Result<RemoteAnswer>& answer) {
    return answer ? core::ok_status() : core::Status(answer.error());
  }
  core::Status check_release(const std::string& release) const {
    if (is_plain_name(release)) return core::ok_status();
    return core::make_error(ErrorKind::invalid_input, "\"" + release + "\" is not a release id");
  }
  // Relative paths of the plan are relative to the root, on the host.
  std::string on_host(const std::string& path) const {
    return !path.empty() && path.front() == '/' ? path : m_root + "/" + path;
  }
  io::ProcessResult run_failure(io::ProcessResult result, io::ProcessResult::Outcome outcome,
                                const std::string& error) const {
    result.outcome = outcome;
    result.error = error;
    return result;
  }

  std::shared_ptr<ssh::Session> m_session;
  std::string m_root;
  Duration m_timeout;
  fs::path m_work_dir;
  Variables m_host_variables;
  std::optional<core::Error> m_problem;
  std::mutex m_store_mutex;
  std::shared_ptr<SshStateStore> m_store;
};

io::ProcessResult SshDriver::run_command(const io::ProcessSpec& spec) {
  using Outcome = io::ProcessResult::Outcome;
  io::ProcessResult result;
  if (m_problem) return run_failure(result, Outcome::failed_to_start, m_problem->message);
  if (spec.argv.empty()) return run_failure(result, Outcome::failed_to_start, "the command is empty");
  // The environment travels on stdin, never on a command line where any
  // user of the host could read it.
  std::string input;
  for (const auto& [name, value] : spec.env_add) {
    if (!valid_env_name(name))
      return run_failure(result, Outcome::failed_to_start,
                         "\"" + core::sanitize_utf8(name) + "\" cannot be passed to " + describe() +
                             " as an environment variable name");
    input += name + "=" + printf_escaped(value) + "\n";
  }
  input += spec.input.value_or("");
  const fs::path cwd = spec.cwd;
  const fs::path below = cwd.lexically_normal().lexically_relative(state_dir());
  const bool create = !spec.cwd.empty() && !below.empty() && *below.begin() != "..";
  ssh::Session::Request request;
  request.argv = {"sh",
                  "-c",
                  ssh::remote_script(),
                  "shipgate-remote",
                  "run",
                  spec.cwd,
                  create ? "1" : "0",
                  seconds_text(spec.timeout),
                  std::to_string(spec.env_add.size())};
  request.argv.insert(request.argv.end(), spec.argv.begin(), spec.argv.end());
  request.input = std::move(input);
  request.timeout = spec.timeout + k_run_grace;
  request.max_output = spec.max_output;
  request.separate_streams = spec.separate_streams;
  request.stop_on_interrupt = spec.stop_on_interrupt;
  result = m_session->run(request);
  if (auto failed = m_session->connection_error(result, request.timeout)) {
    const Outcome outcome = result.outcome == Outcome::exited ? Outcome::failed_to_start : result.outcome;
    return run_failure(result, outcome, failed->message);
  }
  const std::string& said = spec.separate_streams ? result.error_output : result.output;
  if (result.exit_code == 126 && said.find("shipgate-remote: cannot ") != std::string::npos)
    return run_failure(result, Outcome::failed_to_start,
                       describe() + ": " + core::trim(said.substr(said.find("shipgate-remote: ") + 17)));
  if (result.exit_code == k_timeout_status && result.elapsed >= spec.timeout) {
    result.exit_code = -1;
    return run_failure(result, Outcome::timed_out,
                       "\"" + spec.argv.front() + "\" did not finish within " + std::to_string(spec.timeout.count()) +
                           " ms on " + describe() + "; it was stopped there");
  }
  return result;
}

} // namespace

std::unique_ptr<Driver> make_ssh_driver(const SshOptions& options) {
  return std::make_unique<SshDriver>(options);
}

void close_ssh_connections() {
  ssh::drop_staged_releases();
  ssh::close_all();
}

} // namespace deploy
