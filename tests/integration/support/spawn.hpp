#pragma once
// Starting helper programs from the integration tests: argv vectors through
// posix_spawnp (no shell, no fork of the test process), always reaped.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace test_support {

// A started program whose stdout is on a pipe.
struct Spawned {
  pid_t pid = -1;
  int stdout_fd = -1;
};

inline Spawned spawn(const std::vector<std::string>& argv, bool capture_stdout) {
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  int fds[2] = {-1, -1};
  if (capture_stdout && ::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Without a capture, stdout joins stderr so ctest shows what the helper said.
  posix_spawn_file_actions_adddup2(&actions, capture_stdout ? fds[1] : STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = -1;
  const int status = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) ::close(fds[1]);
  if (status != 0) {
    if (capture_stdout) ::close(fds[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(status));
  }
  return {pid, capture_stdout ? fds[0] : -1};
}

inline int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs argv to completion; returns its exit status (-1 when killed).
inline int run(const std::vector<std::string>& argv) {
  return wait_for(spawn(argv, false).pid);
}

// Reads from `fd` until a newline or `timeout`; the line without its newline.
inline std::string read_line(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd entry{fd, POLLIN, 0};
    if (::poll(&entry, 1, 50) <= 0) continue;
    if (::read(fd, &c, 1) != 1 || c == '\n') break;
    line += c;
  }
  return line;
}

// SIGTERM, SIGKILL if it is still there after `grace`; reaped either way.
inline void stop(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds(5)) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      wait_for(pid);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

} // namespace test_support
