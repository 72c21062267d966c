#pragma once
// One ssh host as this process reaches it (docs/ssh.md). Every program run
// on a host goes through the system OpenSSH client with host-key checking
// always on (a host missing from known_hosts is refused, never added),
// BatchMode (no password or passphrase prompt can hang a CI job), and one
// ControlMaster connection per host for the whole process, so an operation
// after the first costs one round trip and no new handshake.
//
// Sessions are shared process-wide: Session::get returns the same object
// for the same host and options, whichever Driver asks, and is safe to use
// from several threads. The first connection to a host is made by one
// thread while the others for that host wait; other hosts are not held up.
// close_all() ends every master connection (`ssh -O exit`) and removes the
// process's private folder (control sockets, staged releases); a killed
// process leaves masters that exit by themselves after ControlPersist.
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "deploy/plan.hpp"
#include "io/process.hpp"

namespace deploy::ssh {

// `word` as one word for a POSIX shell: unchanged when it holds only
// characters no shell treats specially, else in single quotes with each '
// written as '\''. The empty word is ''.
std::string quote_word(std::string_view word);
// The words quoted and joined by spaces: a command line that a POSIX shell
// splits back into exactly `argv` (what ssh hands to the remote login shell).
std::string quote_command(const std::vector<std::string>& argv);

struct SessionOptions {
  std::string name; // for messages; the address when empty
  std::string address;
  int port = 22;
  std::string user;          // empty: the ssh configuration decides
  std::string identity_file; // empty: the ssh configuration decides
  std::string known_hosts;   // empty: the user's known_hosts files
  Duration connect_timeout{std::chrono::seconds(10)};
  std::string ssh_program = "ssh";
};

// How long an idle master connection outlives its last use, and so the
// longest a killed shipgate leaves one behind.
constexpr std::chrono::seconds k_control_persist{60};

class Session {
public:
  // The session for `options`: the same object for every caller that
  // names the same host (name and address), user, port, key and known_hosts.
  static std::shared_ptr<Session> get(const SessionOptions& options);

  explicit Session(SessionOptions options, int number);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const SessionOptions& options() const { return m_options; }
  // "web01 (deploy@10.0.0.2:22)", for messages.
  std::string describe() const;
  // "deploy@10.0.0.2:22" (no user part when the ssh configuration picks it).
  std::string key() const;

  // The argv that runs `remote_command` (a command line already quoted
  // with quote_command) on the host; `control` as for the ssh option
  // ControlPath, empty for no connection sharing.
  std::vector<std::string> ssh_argv(const std::string& remote_command, const std::string& control) const;

  struct Request {
    std::vector<std::string> argv;    // run on the host, quoted word by word
    std::optional<std::string> input; // its standard input
    Duration timeout{std::chrono::minutes(2)};
    std::size_t max_output = io::k_max_process_output;
    bool separate_streams = true;
    bool stop_on_interrupt = false;
  };
  // Runs `request.argv` on the host through the master connection (made
  // now when there is none). The result is ssh's: the remote command's exit
  // status, or 255 when ssh itself failed (see connection_error).
  io::ProcessResult run(const Request& request);

  // Whether `result` (from run) means the host was not reached or ssh
  // failed, rather than the remote command answering: ssh did not start,
  // timed out, or exited 255 while no master connection is up. In that case
  // the error names the host, quotes what ssh said and tells what to check.
  std::optional<core::Error> connection_error(const io::ProcessResult& result, Duration timeout);
  // Whether the master connection is up (`ssh -O check`).
  bool master_alive();
  // Ends the master connection; the next run opens a new one. `at_once`:
  // `ssh -O exit`, which also cuts operations in flight; otherwise
  // `ssh -O stop`, after which the master takes no new operation and exits
  // when those in flight (other drivers' on this host) are done.
  void close(bool at_once);

private:
  // The control socket's path; empty when there is no private folder (and
  // `create` is false, or it cannot be made).
  std::string control_path(bool create) const;
  std::string hint() const; // what to check when the host cannot be reached

  SessionOptions m_options;
  int m_number = 0;
  std::mutex m_open_mutex;          // held while the first connection is made
  std::atomic<bool> m_ready{false}; // a master connection was made and not closed since
  // Set when the host did not answer (timed out, or could not be reached):
  // the rest of this process's operations on it fail at once with the same
  // error instead of waiting for the timeout again (a rollback of a fleet
  // with one dead host would otherwise pay it at every step).
  mutable std::mutex m_down_mutex;
  std::optional<core::Error> m_down;
};

// The process's private folder on this machine (0700, made on first use):
// control sockets and staged releases live below it.
core::Result<std::filesystem::path> private_dir();
// Ends every master connection and removes the private folder.
void close_all();

} // namespace deploy::ssh
