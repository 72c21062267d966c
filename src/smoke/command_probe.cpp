#include "smoke/command_probe.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include "core/interrupt.hpp"

namespace smoke {
namespace {

namespace bp = boost::process;
using SteadyClock = std::chrono::steady_clock;

// How long one wait for output lasts, so timeouts and interruptions are noticed.
constexpr Duration k_slice{50};
// After the command exits, a background process it started may still hold
// its pipes open; its output is not waited for longer than this.
constexpr Duration k_leftover_grace{100};

// Boost.Process creates its pipes (ours and its exec-error pipe) without
// O_CLOEXEC. A command started by another thread in that window would
// inherit them and hold our pipes open, so launches take turns, and our
// pipe ends are close-on-exec before the turn ends.
std::mutex g_launch_mutex;

class Capture {
public:
  void add(const char* data, std::size_t size) {
    const std::size_t kept = std::min(size, k_max_command_output - m_text.size());
    m_text.append(data, kept);
    m_dropped += size - kept;
  }
  std::string text(std::string_view stream) const {
    if (m_dropped == 0) return m_text;
    return m_text + "\n[" + std::string(stream) + ": " + std::to_string(m_dropped) + " more bytes dropped]\n";
  }

private:
  std::string m_text;
  std::size_t m_dropped = 0;
};

struct Stream {
  int fd = -1;
  bool open = true;
  Capture capture;
};

struct Launched {
  bp::pipe out;
  bp::pipe err;
  bp::child child;
  std::error_code error;
};

enum class Stop { finished, timed_out, interrupted };

void set_flag(int fd, int get, int set, int flag) {
  ::fcntl(fd, set, ::fcntl(fd, get) | flag);
}

std::unique_ptr<Launched> launch(const boost::filesystem::path& program, const std::vector<std::string>& argv) {
  const std::lock_guard lock(g_launch_mutex);
  auto launched = std::make_unique<Launched>();
  for (bp::pipe* pipe : {&launched->out, &launched->err}) {
    set_flag(pipe->native_source(), F_GETFD, F_SETFD, FD_CLOEXEC);
    set_flag(pipe->native_sink(), F_GETFD, F_SETFD, FD_CLOEXEC); // the child's dup2 onto 1/2 clears it there
  }
  // Its own process group, so a timeout can kill what the command started too.
  auto own_group = [](auto&) { ::setpgid(0, 0); };
  launched->child = bp::child(bp::exe = program, bp::args = std::vector<std::string>(argv.begin() + 1, argv.end()),
                              bp::std_out > launched->out, bp::std_err > launched->err, bp::std_in < bp::null,
                              bp::extend::on_exec_setup = own_group, launched->error);
  return launched;
}

// Empty, with `problem` set, when the program cannot be run.
boost::filesystem::path find_program(const std::string& name, std::string& problem) {
  if (name.empty()) {
    problem = "the command is empty";
    return {};
  }
  if (name.find('/') == std::string::npos) {
    boost::filesystem::path found = bp::search_path(name);
    if (found.empty()) problem = "program \"" + name + "\" not found on PATH";
    return found;
  }
  if (::access(name.c_str(), X_OK) != 0) {
    problem = "program \"" + name + "\" cannot be run: " + std::strerror(errno);
    return {};
  }
  return name;
}

void read_some(Stream& stream) {
  char buffer[16384];
  const ssize_t count = ::read(stream.fd, buffer, sizeof buffer);
  if (count > 0) stream.capture.add(buffer, static_cast<std::size_t>(count));
  if (count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR)) stream.open = false;
}

// Waits up to `wait` for output on the open streams and reads what came.
void read_ready(Stream& out, Stream& err, Duration wait) {
  pollfd entries[2];
  Stream* streams[2];
  nfds_t count = 0;
  for (Stream* stream : {&out, &err}) {
    if (!stream->open) continue;
    entries[count] = {stream->fd, POLLIN, 0};
    streams[count++] = stream;
  }
  if (::poll(entries, count, static_cast<int>(std::max<Duration::rep>(0, wait.count()))) <= 0) return;
  for (nfds_t index = 0; index < count; ++index)
    if (entries[index].revents != 0) read_some(*streams[index]);
}

Duration until(SteadyClock::time_point when) {
  return std::chrono::duration_cast<Duration>(when - SteadyClock::now());
}

Stop supervise(bp::child& child, Stream& out, Stream& err, SteadyClock::time_point deadline) {
  std::optional<SteadyClock::time_point> exited_at;
  std::error_code ignored;
  while (out.open || err.open) {
    if (core::interrupted()) return Stop::interrupted;
    const SteadyClock::time_point limit = exited_at ? *exited_at + k_leftover_grace : deadline;
    if (SteadyClock::now() >= limit) {
      if (exited_at) break;
      return Stop::timed_out;
    }
    read_ready(out, err, std::min(k_slice, until(limit)));
    if (!exited_at && !child.running(ignored)) exited_at = SteadyClock::now();
  }
  // Output closed; the exit itself is a moment away.
  while (child.running(ignored)) {
    if (core::interrupted()) return Stop::interrupted;
    if (SteadyClock::now() >= deadline) return Stop::timed_out;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Stop::finished;
}

void kill_group(bp::child& child) {
  ::kill(-child.id(), SIGKILL);
  std::error_code ignored;
  child.terminate(ignored); // the leader too, should setpgid have failed; and reaped
}

int exit_code_of(const bp::child& child) {
  const int status = child.native_exit_code();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void execute(const Check& check, SteadyClock::time_point start, Attempt& attempt) {
  const auto& argv = check.command.argv;
  std::string problem;
  const auto program = find_program(argv.empty() ? std::string() : argv.front(), problem);
  if (program.empty()) {
    attempt.transport = Transport::error;
    attempt.error = problem;
    return;
  }
  const auto launched = launch(program, argv);
  if (launched->error) {
    attempt.transport = Transport::error;
    attempt.error = "cannot start \"" + argv.front() + "\": " + launched->error.message();
    return;
  }
  Stream out{launched->out.native_source(), true, {}};
  Stream err{launched->err.native_source(), true, {}};
  set_flag(out.fd, F_GETFL, F_SETFL, O_NONBLOCK);
  set_flag(err.fd, F_GETFL, F_SETFL, O_NONBLOCK);
  const Stop stop = supervise(launched->child, out, err, start + check.timeout);
  attempt.output = out.capture.text("stdout") + err.capture.text("stderr");
  if (stop == Stop::finished) {
    attempt.exit_code = exit_code_of(launched->child);
    return;
  }
  kill_group(launched->child);
  attempt.transport = stop == Stop::timed_out ? Transport::timeout : Transport::error;
  attempt.error = stop == Stop::timed_out ? "\"" + argv.front() + "\" did not finish within " +
                                                std::to_string(check.timeout.count()) + " ms; killed"
                                          : "interrupted; \"" + argv.front() + "\" was killed";
}

} // namespace

Attempt run_command(const Check& check) {
  const auto start = SteadyClock::now();
  Attempt attempt;
  try {
    execute(check, start, attempt);
  } catch (const std::exception& failure) {
    attempt.transport = Transport::error;
    attempt.error = std::string("command check failed: ") + failure.what();
  }
  attempt.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  return attempt;
}

} // namespace smoke
