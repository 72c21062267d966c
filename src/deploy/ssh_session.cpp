// The ssh client's argv, one shared master connection per host, and what
// a failed connection means for the user (docs/ssh.md "Connections").
#include "deploy/ssh_session.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <system_error>

#include "core/text.hpp"

namespace deploy::ssh {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;

// A Unix socket path holds at most 107 bytes, and ssh appends a 17-byte
// suffix while it creates the socket: a long $TMPDIR is passed over.
constexpr std::size_t k_max_base_length = 60;
constexpr Duration k_control_timeout{std::chrono::seconds(5)};
constexpr int k_ssh_failed = 255; // ssh's own exit status for its failures
constexpr std::size_t k_quoted_lines = 3;

bool plain_shell_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_@%+:,./-").find(c) != std::string_view::npos;
}

long seconds_up(Duration duration) {
  return std::max<long>(1, static_cast<long>((duration.count() + 999) / 1000));
}

// A path as the value of an ssh -o option: ssh expands %-tokens and ${VAR}
// in these and splits them at spaces, so '%' is doubled and the value put in
// double quotes; what cannot be written that way is refused.
core::Result<std::string> option_path(const std::string& what, const std::string& path) {
  if (path.find_first_of("\"\n\r") != std::string::npos || path.find("${") != std::string::npos)
    return core::make_error(ErrorKind::invalid_input,
                            what + " \"" + core::sanitize_utf8(path) +
                                "\" cannot be passed to ssh (it holds a quote, a line break or \"${\"); rename it");
  std::string out = "\"";
  for (char c : path)
    out += c == '%' ? std::string("%%") : std::string(1, c);
  return out + "\"";
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Session>> sessions;
  fs::path dir; // empty until first needed, and after close_all
  int next = 0;
};

// Never destroyed: a session may still be closed while statics go away.
Registry& registry() {
  static auto* instance = new Registry;
  return *instance;
}

core::Result<fs::path> make_private_dir() {
  std::error_code error;
  fs::path base = fs::temp_directory_path(error);
  if (error || base.string().size() > k_max_base_length) base = "/tmp";
  std::string pattern = (base / "shipgate-ssh-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) // mkdtemp makes it 0700
    return core::make_error(ErrorKind::runtime, "cannot create a private folder in " + base.string() + ": " +
                                                    std::strerror(errno) + " (check that it is writable)");
  return fs::path(pattern);
}

// The host's name is part of the key only so that messages name the host
// the plan names; one name and address is one connection.
std::string registry_key(const SessionOptions& options) {
  return options.user + "@" + options.address + ":" + std::to_string(options.port) + "\n" + options.name + "\n" +
         options.identity_file + "\n" + options.known_hosts + "\n" + options.ssh_program;
}

// The lines of ssh's complaint worth quoting (its warning banner is not).
std::string ssh_complaint(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    std::string line = core::trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (!line.empty() && line.front() != '@') lines.push_back(line);
  }
  std::string out;
  const std::size_t first = lines.size() > k_quoted_lines ? lines.size() - k_quoted_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i)
    out += (out.empty() ? "" : " / ") + lines[i];
  return core::first_line(core::sanitize_utf8(out.empty() ? "no message" : out), 600);
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace

std::string quote_word(std::string_view word) {
  if (!word.empty() && std::all_of(word.begin(), word.end(), plain_shell_char)) return std::string(word);
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string quote_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv)
    out += (out.empty() ? "" : " ") + quote_word(word);
  return out;
}

std::shared_ptr<Session> Session::get(const SessionOptions& options) {
  Registry& all = registry();
  const std::lock_guard lock(all.mutex);
  auto& slot = all.sessions[registry_key(options)];
  if (!slot) slot = std::make_shared<Session>(options, ++all.next);
  return slot;
}

Session::Session(SessionOptions options, int number) : m_options(std::move(options)), m_number(number) {
  if (m_options.name.empty()) m_options.name = m_options.address;
  if (m_options.port <= 0) m_options.port = 22;
}

std::string Session::key() const {
  return (m_options.user.empty() ? "" : m_options.user + "@") + m_options.address + ":" +
         std::to_string(m_options.port);
}

std::string Session::describe() const {
  return m_options.name + " (" + key() + ")";
}

std::string Session::control_path(bool create) const {
  fs::path dir;
  if (create) {
    auto made = private_dir();
    if (made) dir = *made;
  } else {
    Registry& all = registry();
    const std::lock_guard lock(all.mutex);
    dir = all.dir;
  }
  return dir.empty() ? std::string() : (dir / ("c" + std::to_string(m_number))).string();
}

std::vector<std::string> Session::ssh_argv(const std::string& remote_command, const std::string& control) const {
  const SessionOptions& o = m_options;
  // ServerAlive notices a host that died mid-operation: after about three
  // connect timeouts without an answer ssh gives up (exit 255).
  const long alive = std::min<long>(seconds_up(o.connect_timeout), 15);
  std::vector<std::string> argv = {o.ssh_program, "-T",
                                   "-o",          "BatchMode=yes",
                                   "-o",          "StrictHostKeyChecking=yes",
                                   "-o",          "UpdateHostKeys=no",
                                   "-o",          "ConnectTimeout=" + std::to_string(seconds_up(o.connect_timeout)),
                                   "-o",          "ConnectionAttempts=1",
                                   "-o",          "ServerAliveInterval=" + std::to_string(alive),
                                   "-o",          "ServerAliveCountMax=3",
                                   "-o",          "ForwardAgent=no",
                                   "-o",          "ForwardX11=no",
                                   "-o",          "ClearAllForwardings=yes",
                                   "-o",          "PermitLocalCommand=no"};
  auto control_value = option_path("the control socket", control);
  if (control.empty() || !control_value) {
    argv.insert(argv.end(), {"-o", "ControlMaster=no", "-o", "ControlPath=none"});
  } else {
    argv.insert(argv.end(), {"-o", "ControlMaster=auto", "-o", "ControlPath=" + *control_value, "-o",
                             "ControlPersist=" + std::to_string(k_control_persist.count())});
  }
  if (!o.known_hosts.empty())
    if (auto value = option_path("known_hosts", o.known_hosts))
      argv.insert(argv.end(), {"-o", "UserKnownHostsFile=" + *value});
  if (!o.identity_file.empty())
    if (auto value = option_path("identity_file", o.identity_file))
      argv.insert(argv.end(), {"-o", "IdentityFile=" + *value, "-o", "IdentitiesOnly=yes"});
  argv.insert(argv.end(), {"-p", std::to_string(o.port)});
  if (!o.user.empty()) argv.insert(argv.end(), {"-l", o.user});
  // "--": nothing after it (the address, the command) is read as an option.
  argv.insert(argv.end(), {"--", o.address, remote_command});
  return argv;
}

namespace {
// The ProcessResult::error of an operation not tried because the host was
// already found unreachable.
constexpr const char* k_not_tried_again = "shipgate: host already found unreachable in this run";
} // namespace

io::ProcessResult Session::run(const Request& request) {
  io::ProcessResult refused;
  refused.outcome = io::ProcessResult::Outcome::failed_to_start;
  {
    std::lock_guard<std::mutex> guard(m_down_mutex);
    if (m_down) {
      refused.error = k_not_tried_again;
      return refused;
    }
  }
  for (const auto& [what, path] :
       {std::pair{"known_hosts", m_options.known_hosts}, std::pair{"identity_file", m_options.identity_file}}) {
    if (path.empty()) continue;
    if (auto value = option_path(what, path); !value) {
      refused.error = value.error().message;
      return refused;
    }
  }
  io::ProcessSpec spec;
  spec.argv = ssh_argv(quote_command(request.argv), control_path(true));
  spec.input = request.input;
  spec.timeout = request.timeout;
  spec.max_output = request.max_output;
  spec.separate_streams = request.separate_streams;
  spec.stop_on_interrupt = request.stop_on_interrupt;
  // Only the first connection is made alone: two at once would both try to
  // become the master, and one would fall back to a connection of its own.
  std::unique_lock opening(m_open_mutex, std::defer_lock);
  if (!m_ready.load()) {
    opening.lock();
    if (m_ready.load()) opening.unlock();
  }
  io::ProcessResult result = io::run_process(spec);
  if (opening.owns_lock() && result.outcome == io::ProcessResult::Outcome::exited && result.exit_code != k_ssh_failed)
    m_ready.store(true);
  return result;
}

bool Session::master_alive() {
  const std::string control = control_path(false);
  std::error_code ignored;
  if (control.empty() || !fs::exists(control, ignored)) return false;
  std::vector<std::string> argv = ssh_argv("", control);
  argv.erase(argv.end() - 3, argv.end());
  argv.insert(argv.end(), {"-O", "check", "--", m_options.address});
  io::ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = k_control_timeout;
  spec.stop_on_interrupt = false;
  return io::run_process(spec).ok();
}

void Session::close(bool at_once) {
  m_ready.store(false);
  {
    std::lock_guard<std::mutex> guard(m_down_mutex);
    m_down.reset(); // the next run tries the host again
  }
  const std::string control = control_path(false);
  std::error_code ignored;
  if (control.empty() || !fs::exists(control, ignored)) return;
  std::vector<std::string> argv = ssh_argv("", control);
  argv.erase(argv.end() - 3, argv.end());
  argv.insert(argv.end(), {"-O", at_once ? "exit" : "stop", "--", m_options.address});
  io::ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = k_control_timeout;
  spec.stop_on_interrupt = false;
  io::run_process(spec); // a master that is already gone is fine
}

std::string Session::hint() const {
  const SessionOptions& o = m_options;
  std::vector<std::string> by_hand = {"ssh", "-vvv", "-p", std::to_string(o.port)};
  if (!o.user.empty()) by_hand.insert(by_hand.end(), {"-l", o.user});
  if (!o.identity_file.empty()) by_hand.insert(by_hand.end(), {"-i", o.identity_file});
  if (!o.known_hosts.empty()) by_hand.insert(by_hand.end(), {"-o", "UserKnownHostsFile=" + o.known_hosts});
  by_hand.insert(by_hand.end(), {"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", o.address, "true"});
  const std::string known = o.known_hosts.empty() ? "your known_hosts (~/.ssh/known_hosts)" : o.known_hosts;
  const std::string key = o.identity_file.empty() ? "your ssh key" : "the key " + o.identity_file;
  return "check that the host is up and sshd listens on port " + std::to_string(o.port) + ", that " + key +
         " may log in" + (o.user.empty() ? "" : " as " + o.user) + ", and that " + known +
         " holds the host's key; to see why, run by hand: " + quote_command(by_hand);
}

std::optional<core::Error> Session::connection_error(const io::ProcessResult& result, Duration timeout) {
  using Outcome = io::ProcessResult::Outcome;
  const std::string host = describe();
  if (result.outcome == Outcome::failed_to_start && result.error == k_not_tried_again) {
    std::lock_guard<std::mutex> guard(m_down_mutex);
    core::Error error = *m_down;
    error.message = "not tried again in this run: " + error.message;
    return error;
  }
  auto down = [this](core::Error error) {
    std::lock_guard<std::mutex> guard(m_down_mutex);
    if (!m_down) m_down = error;
    return error;
  };
  if (result.outcome == Outcome::interrupted)
    return core::make_error(ErrorKind::interrupted, "interrupted while talking to " + host);
  if (result.outcome == Outcome::failed_to_start)
    return core::make_error(ErrorKind::runtime, host + ": cannot run the ssh client: " + result.error +
                                                    " (install the OpenSSH client, or point SHIPGATE_SSH at it)");
  if (result.outcome == Outcome::timed_out)
    return down(core::make_error(ErrorKind::runtime, host + " did not answer within " +
                                                         std::to_string(seconds_up(timeout)) +
                                                         " s over ssh, so it is treated as unreachable; " + hint()));
  if (result.exit_code != k_ssh_failed) return std::nullopt;
  // 255 is also what ssh reports when the remote command was killed by a
  // signal; with the connection up, the command itself ended that way.
  if (master_alive()) return std::nullopt;
  const std::string said = result.error_output.empty() ? result.output : result.error_output;
  const std::string known = m_options.known_hosts.empty() ? "~/.ssh/known_hosts" : m_options.known_hosts;
  std::string message;
  if (contains(said, "REMOTE HOST IDENTIFICATION HAS CHANGED"))
    message = host + ": the key the host presented does not match its entry in " + known +
              ", so ssh refused to connect (a reinstalled host, or someone in between): " + ssh_complaint(said) +
              ". Check the new key's fingerprint with the host's administrator before replacing the entry in " + known +
              " (ssh-keygen -R); ";
  else if (contains(said, "Host key verification failed") || contains(said, "host key is known"))
    message = host + ": its host key is not in " + known +
              " and shipgate never adds host keys itself: " + ssh_complaint(said) +
              ". Add the key after checking its fingerprint (ssh-keyscan -p " + std::to_string(m_options.port) + " " +
              m_options.address + "); ";
  else if (contains(said, "Permission denied"))
    message = host + ": the host refused the login: " + ssh_complaint(said) + "; ";
  else
    return down(core::make_error(ErrorKind::runtime, host + " cannot be reached over ssh: " + ssh_complaint(said) +
                                                         "; " + hint()));
  return core::make_error(ErrorKind::runtime, message + hint());
}

core::Result<fs::path> private_dir() {
  Registry& all = registry();
  const std::lock_guard lock(all.mutex);
  std::error_code ignored;
  if (all.dir.empty() || !fs::is_directory(all.dir, ignored)) {
    auto made = make_private_dir();
    if (!made) return made.error();
    all.dir = *made;
  }
  return all.dir;
}

void close_all() {
  Registry& all = registry();
  std::vector<std::shared_ptr<Session>> sessions;
  {
    const std::lock_guard lock(all.mutex);
    for (const auto& [key, session] : all.sessions)
      sessions.push_back(session);
  }
  for (const auto& session : sessions)
    session->close(true);
  const std::lock_guard lock(all.mutex);
  std::error_code ignored;
  if (!all.dir.empty()) fs::remove_all(all.dir, ignored);
  all.dir.clear();
}

} // namespace deploy::ssh
