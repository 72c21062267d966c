#include "io/process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include "core/interrupt.hpp"

namespace io {
namespace {

namespace bp = boost::process;
using SteadyClock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

// How long one wait for output lasts, so timeouts and interruptions are noticed.
constexpr Duration k_slice{50};
// After the program exits, a background process it started may still hold
// its pipes open; its output is not waited for longer than this.
constexpr Duration k_leftover_grace{100};

// Boost.Process creates its pipes (ours and its exec-error pipe) without
// O_CLOEXEC. A program started by another thread in that window would
// inherit them and hold our pipes open, so launches take turns, and our
// pipe ends are close-on-exec before the turn ends.
std::mutex g_launch_mutex;

class Capture {
public:
  explicit Capture(std::size_t limit) : m_limit(limit) {}
  void add(const char* data, std::size_t size) {
    const std::size_t kept = std::min(size, m_limit - std::min(m_limit, m_text.size()));
    m_text.append(data, kept);
    m_dropped += size - kept;
  }
  std::string text(std::string_view stream) const {
    if (m_dropped == 0) return m_text;
    return m_text + "\n[" + std::string(stream) + ": " + std::to_string(m_dropped) + " more bytes dropped]\n";
  }

private:
  std::size_t m_limit;
  std::string m_text;
  std::size_t m_dropped = 0;
};

struct Stream {
  int fd = -1;
  bool open = true;
  Capture capture;
};

// What is left to write to the child's stdin.
struct Input {
  int fd = -1;
  std::string_view rest;
  bool open() const { return fd >= 0; }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct Launched {
  bp::pipe in;
  bp::pipe out;
  bp::pipe err;
  bp::child child;
  std::error_code error;
};

enum class Stop { finished, timed_out, interrupted };

void set_flag(int fd, int get, int set, int flag) {
  ::fcntl(fd, set, ::fcntl(fd, get) | flag);
}

bp::environment child_environment(const ProcessSpec& spec) {
  bp::environment env = boost::this_process::environment();
  // set() rather than env[name]: Boost 1.74's find() behind operator[]
  // compares "NAME=" with memcmp against every variable, reading past the
  // end of shorter ones (a heap over-read AddressSanitizer reports).
  for (const auto& [name, value] : spec.env_add) env.set(name, value);
  return env;
}

std::unique_ptr<Launched> launch(const boost::filesystem::path& program, const ProcessSpec& spec) {
  const std::lock_guard lock(g_launch_mutex);
  auto launched = std::make_unique<Launched>();
  for (bp::pipe* pipe : {&launched->in, &launched->out, &launched->err}) {
    set_flag(pipe->native_source(), F_GETFD, F_SETFD, FD_CLOEXEC);
    set_flag(pipe->native_sink(), F_GETFD, F_SETFD, FD_CLOEXEC); // the child's dup2 onto 0/1/2 clears it there
  }
  // Its own process group, so a timeout can kill what the program started
  // too; and killed with shipgate (PR_SET_PDEATHSIG), so that a job killed
  // with -9 leaves no command running on (a database script committing
  // after the next run decided it had not).
  const pid_t parent = ::getpid();
  auto own_group = [parent](auto&) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127); // shipgate died before prctl took effect
  };
  const std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());
  const boost::filesystem::path cwd = spec.cwd.empty() ? boost::filesystem::current_path() : spec.cwd;
  if (spec.input)
    launched->child = bp::child(bp::exe = program, bp::args = args, bp::std_out > launched->out,
                                bp::std_err > launched->err, bp::std_in < launched->in, child_environment(spec),
                                bp::start_dir = cwd, bp::extend::on_exec_setup = own_group, launched->error);
  else
    launched->child = bp::child(bp::exe = program, bp::args = args, bp::std_out > launched->out,
                                bp::std_err > launched->err, bp::std_in < bp::null, child_environment(spec),
                                bp::start_dir = cwd, bp::extend::on_exec_setup = own_group, launched->error);
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

void write_some(Input& input) {
  const ssize_t count = ::write(input.fd, input.rest.data(), input.rest.size());
  if (count > 0) input.rest.remove_prefix(static_cast<std::size_t>(count));
  // EPIPE: the child does not read its input; that is its business.
  if (input.rest.empty() || (count < 0 && errno != EAGAIN && errno != EINTR)) input.close();
}

// Waits up to `wait` for output (or room for input) and moves what it can.
void pump(Stream& out, Stream& err, Input& input, Duration wait) {
  pollfd entries[3];
  int kinds[3];
  nfds_t count = 0;
  if (out.open) entries[count] = {out.fd, POLLIN, 0}, kinds[count++] = 0;
  if (err.open) entries[count] = {err.fd, POLLIN, 0}, kinds[count++] = 1;
  if (input.open()) entries[count] = {input.fd, POLLOUT, 0}, kinds[count++] = 2;
  if (::poll(entries, count, static_cast<int>(std::max<Duration::rep>(0, wait.count()))) <= 0) return;
  for (nfds_t index = 0; index < count; ++index) {
    if (entries[index].revents == 0) continue;
    if (kinds[index] == 0) read_some(out);
    else if (kinds[index] == 1) read_some(err);
    else if (entries[index].revents & (POLLERR | POLLHUP)) input.close();
    else write_some(input);
  }
}

Duration until(SteadyClock::time_point when) {
  return std::chrono::duration_cast<Duration>(when - SteadyClock::now());
}

Stop supervise(bp::child& child, Stream& out, Stream& err, Input& input, SteadyClock::time_point deadline,
               bool stop_on_interrupt) {
  std::optional<SteadyClock::time_point> exited_at;
  std::error_code ignored;
  auto interrupted = [&] { return stop_on_interrupt && core::interrupted(); };
  while (out.open || err.open) {
    if (interrupted()) return Stop::interrupted;
    const SteadyClock::time_point limit = exited_at ? *exited_at + k_leftover_grace : deadline;
    if (SteadyClock::now() >= limit) {
      if (exited_at) break;
      return Stop::timed_out;
    }
    pump(out, err, input, std::min(k_slice, until(limit)));
    if (!exited_at && !child.running(ignored)) exited_at = SteadyClock::now();
  }
  input.close();
  // Output closed; the exit itself is a moment away.
  while (child.running(ignored)) {
    if (interrupted()) return Stop::interrupted;
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

void execute(const ProcessSpec& spec, SteadyClock::time_point start, ProcessResult& result) {
  std::string problem;
  const auto program = find_program(spec.argv.empty() ? std::string() : spec.argv.front(), problem);
  if (program.empty()) {
    result.outcome = ProcessResult::Outcome::failed_to_start;
    result.error = problem;
    return;
  }
  if (!spec.cwd.empty() && ::access(spec.cwd.c_str(), X_OK) != 0) {
    result.outcome = ProcessResult::Outcome::failed_to_start;
    result.error = "cannot run \"" + spec.argv.front() + "\" in " + spec.cwd + ": " + std::strerror(errno);
    return;
  }
  const auto launched = launch(program, spec);
  if (launched->error) {
    result.outcome = ProcessResult::Outcome::failed_to_start;
    result.error = "cannot start \"" + spec.argv.front() + "\": " + launched->error.message();
    return;
  }
  // The child has its own copy of stdin's read end; ours would keep its
  // input open forever.
  ::close(launched->in.native_source());
  launched->in.assign_source(-1);
  Input input;
  input.fd = launched->in.native_sink(); // ours now
  launched->in.assign_sink(-1);
  if (spec.input) {
    input.rest = *spec.input;
    set_flag(input.fd, F_GETFL, F_SETFL, O_NONBLOCK);
  }
  if (input.rest.empty()) input.close();
  Stream out{launched->out.native_source(), true, Capture(spec.max_output)};
  Stream err{launched->err.native_source(), true, Capture(spec.max_output)};
  set_flag(out.fd, F_GETFL, F_SETFL, O_NONBLOCK);
  set_flag(err.fd, F_GETFL, F_SETFL, O_NONBLOCK);
  const Stop stop = supervise(launched->child, out, err, input, start + spec.timeout, spec.stop_on_interrupt);
  input.close();
  if (spec.separate_streams) {
    result.output = out.capture.text("stdout");
    result.error_output = err.capture.text("stderr");
  } else {
    result.output = out.capture.text("stdout") + err.capture.text("stderr");
  }
  if (stop == Stop::finished) {
    result.exit_code = exit_code_of(launched->child);
    return;
  }
  kill_group(launched->child);
  const std::string& name = spec.argv.front();
  if (stop == Stop::timed_out) {
    result.outcome = ProcessResult::Outcome::timed_out;
    result.error = "\"" + name + "\" did not finish within " + std::to_string(spec.timeout.count()) + " ms; killed";
  } else {
    result.outcome = ProcessResult::Outcome::interrupted;
    result.error = "interrupted; \"" + name + "\" was killed";
  }
}

} // namespace

ProcessResult run_process(const ProcessSpec& spec) {
  const auto start = SteadyClock::now();
  ProcessResult result;
  try {
    execute(spec, start, result);
  } catch (const std::exception& failure) {
    result.outcome = ProcessResult::Outcome::failed_to_start;
    result.error = std::string("cannot run \"") + (spec.argv.empty() ? "" : spec.argv.front()) + "\": " + failure.what();
  }
  result.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
  return result;
}

} // namespace io
