#pragma once
// The real servers the smoke executor is tested against, on 127.0.0.1:
// nginx (tests/integration/servers/nginx.sh: HTTP, HTTPS with a test CA,
// an expired and a wrong-host certificate) and the Python test server
// (tests/integration/servers/test_server.py: slow, failing, flapping,
// Retry-After and echo endpoints).
//
// Started on first use, once per test process, into a fresh directory;
// stopped when the process exits, whether the tests passed or not. The
// directory (configs, certificates, logs) is removed when every test passed
// and kept, its path printed, otherwise or with SHIPGATE_KEEP_TEST_DIRS=1.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>

#include "support/spawn.hpp"

#ifndef SHIPGATE_SOURCE_DIR
#error "SHIPGATE_SOURCE_DIR must name the source tree (set by tests/CMakeLists.txt)"
#endif

namespace test_support {

// Notices any failed assertion of the run, so the servers' directory is kept.
class AnyFailure final : public doctest::IReporter {
public:
  explicit AnyFailure(const doctest::ContextOptions&) {}
  static bool& seen() {
    static bool failed = false;
    return failed;
  }
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override { seen() = true; }
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& data) override {
    if (data.m_failed) seen() = true;
  }
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

inline const int k_any_failure_registered = doctest::registerReporter<AnyFailure>("shipgate-servers", 1, false);

inline std::string servers_script(const std::string& name) {
  return std::string(SHIPGATE_SOURCE_DIR) + "/tests/integration/servers/" + name;
}

// A port nothing listens on: bound by the kernel's choice, then released.
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A fresh directory; removed at the end unless something failed.
class ServersDir {
public:
  ServersDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "shipgate-integration-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    m_path = pattern;
  }
  ~ServersDir() {
    const char* keep = std::getenv("SHIPGATE_KEEP_TEST_DIRS");
    if (AnyFailure::seen() || (keep && *keep && std::string_view(keep) != "0")) {
      std::cerr << "integration test directory kept: " << m_path.string() << "\n";
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  ServersDir(const ServersDir&) = delete;
  ServersDir& operator=(const ServersDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

class Nginx {
public:
  explicit Nginx(const std::filesystem::path& dir) : m_dir(dir.string()) {
    if (run({"bash", servers_script("nginx.sh"), "start", m_dir}) != 0) {
      AnyFailure::seen() = true; // keep its logs
      throw std::runtime_error("nginx.sh start " + m_dir + " failed (see its message above)");
    }
    m_env = read_env(dir / "env");
  }
  ~Nginx() { run({"bash", servers_script("nginx.sh"), "stop", m_dir}); }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port(const std::string& key) const { return std::stoi(value(key)); }
  std::string value(const std::string& key) const {
    const auto found = m_env.find(key);
    if (found == m_env.end()) throw std::runtime_error("nginx.sh wrote no " + key);
    return found->second;
  }

private:
  static std::map<std::string, std::string> read_env(const std::filesystem::path& file) {
    std::map<std::string, std::string> env;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
      if (const auto equals = line.find('='); equals != std::string::npos)
        env[line.substr(0, equals)] = line.substr(equals + 1);
    return env;
  }

  std::string m_dir;
  std::map<std::string, std::string> m_env;
};

class PythonServer {
public:
  PythonServer() {
    const Spawned started = spawn({"python3", servers_script("test_server.py")}, true);
    m_pid = started.pid;
    const std::string line = read_line(started.stdout_fd, std::chrono::seconds(10));
    ::close(started.stdout_fd);
    m_port = std::atoi(line.c_str());
    if (m_port <= 0) {
      stop(m_pid);
      AnyFailure::seen() = true;
      throw std::runtime_error("test_server.py printed no port (got \"" + line + "\")");
    }
  }
  ~PythonServer() { stop(m_pid); }
  PythonServer(const PythonServer&) = delete;
  PythonServer& operator=(const PythonServer&) = delete;
  int port() const { return m_port; }

private:
  pid_t m_pid = -1;
  int m_port = 0;
};

class Servers {
public:
  static Servers& get() {
    static Servers servers;
    return servers;
  }

  std::string http(const std::string& path) const { return url("http", m_nginx.port("HTTP_PORT"), path); }
  std::string https(const std::string& port_key, const std::string& path) const {
    return url("https", m_nginx.port(port_key), path);
  }
  std::string python(const std::string& path) const { return url("http", m_python.port(), path); }
  int http_port() const { return m_nginx.port("HTTP_PORT"); }
  std::string ca_cert() const { return m_nginx.value("CA_CERT"); }
  int valid_days() const { return m_nginx.port("VALID_DAYS"); }

private:
  Servers() {
    // A developer's proxy settings must not route 127.0.0.1 (or the DNS test) elsewhere.
    ::setenv("no_proxy", "*", 1);
    ::setenv("NO_PROXY", "*", 1);
  }
  static std::string url(const std::string& scheme, int port, const std::string& path) {
    return scheme + "://127.0.0.1:" + std::to_string(port) + path;
  }

  // Members stop in reverse order: the servers, then the directory.
  ServersDir m_dir;
  Nginx m_nginx{m_dir.path() / "nginx"};
  PythonServer m_python;
};

} // namespace test_support
