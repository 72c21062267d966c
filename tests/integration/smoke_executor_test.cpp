// The real executor (libcurl, sockets, Boost.Process) against real servers
// on 127.0.0.1: nginx and the Python test server (support/servers.hpp).
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smoke/executor.hpp"
#include "support/servers.hpp"

namespace {

using namespace std::chrono_literals;
using smoke::Attempt;
using smoke::Check;
using smoke::Transport;
using test_support::Servers;

struct ServersFixture {
  Servers& servers = Servers::get();
};

Check http_check(const std::string& url, smoke::Duration timeout = 5s) {
  Check check;
  check.kind = Check::Kind::http;
  check.name = url;
  check.http.url = url;
  check.timeout = timeout;
  return check;
}

Check tcp_check(const std::string& host, int port, smoke::Duration timeout = 2s) {
  Check check;
  check.kind = Check::Kind::tcp;
  check.tcp = {host, port};
  check.timeout = timeout;
  return check;
}

Check command_check(std::vector<std::string> argv, smoke::Duration timeout = 5s) {
  Check check;
  check.kind = Check::Kind::command;
  check.command.argv = std::move(argv);
  check.timeout = timeout;
  return check;
}

std::vector<Attempt> run_all(const std::vector<Check>& checks, int parallel = 8, const smoke::TlsOptions& tls = {}) {
  std::vector<const Check*> pointers;
  for (const auto& check : checks)
    pointers.push_back(&check);
  return smoke::make_real_executor()->execute(pointers, parallel, tls);
}

Attempt run_one(const Check& check, const smoke::TlsOptions& tls = {}) {
  const auto attempts = run_all({check}, 4, tls);
  REQUIRE(attempts.size() == 1);
  return attempts.front();
}

std::optional<std::string> header(const Attempt& attempt, const std::string& name) {
  for (const auto& [key, value] : attempt.headers)
    if (key == name) return value;
  return std::nullopt;
}

smoke::TlsOptions with_ca(const Servers& servers) {
  return {false, servers.ca_cert()};
}

} // namespace

TEST_SUITE_BEGIN("smoke executor");

TEST_CASE_FIXTURE(ServersFixture, "HTTP 200 with headers and body") {
  const Attempt attempt = run_one(http_check(servers.http("/")));
  CHECK(attempt.transport == Transport::ok);
  CHECK(attempt.error.empty());
  CHECK(attempt.status == 200);
  CHECK(header(attempt, "content-type") == "text/html");
  CHECK(header(attempt, "x-shipgate-test") == "nginx");
  CHECK(attempt.body.find("<h1>It works</h1>") != std::string::npos);
  CHECK_FALSE(attempt.body_truncated);
  CHECK(attempt.effective_url == servers.http("/"));
  CHECK(attempt.elapsed < 5s);
  CHECK_FALSE(attempt.cert_expiry.has_value());
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP JSON body") {
  const Attempt attempt = run_one(http_check(servers.http("/health")));
  REQUIRE(attempt.status == 200);
  CHECK(header(attempt, "content-type") == "application/json");
  const auto json = nlohmann::json::parse(attempt.body);
  CHECK(json["status"] == "ok");
  CHECK(json["version"] == "1.2.3");
  CHECK(json["count"] == 5);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP redirects are followed only when asked") {
  Check check = http_check(servers.http("/redirect"));
  const Attempt kept = run_one(check);
  CHECK(kept.status == 302);
  CHECK(header(kept, "location") == "/");

  check.http.follow_redirects = true;
  const Attempt followed = run_one(check);
  CHECK(followed.status == 200);
  CHECK(followed.effective_url == servers.http("/"));
  CHECK(followed.body.find("It works") != std::string::npos);
  CHECK_FALSE(header(followed, "location").has_value()); // only the final response's headers
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP too many redirects is an error") {
  Check check = http_check(servers.http("/redirect"));
  check.http.follow_redirects = true;
  check.http.max_redirects = 0;
  const Attempt attempt = run_one(check);
  CHECK(attempt.transport == Transport::error);
  CHECK_FALSE(attempt.error.empty());
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP 503 and 500 are answers, not transport failures") {
  const auto attempts = run_all({http_check(servers.http("/status/503")), http_check(servers.python("/fail"))});
  CHECK(attempts[0].transport == Transport::ok);
  CHECK(attempts[0].status == 503);
  CHECK(attempts[1].transport == Transport::ok);
  CHECK(attempts[1].status == 500);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP method, headers and body are sent") {
  Check check = http_check(servers.python("/echo?x=1"));
  check.http.method = "PUT";
  check.http.headers = {{"X-Smoke", "yes"}, {"Content-Type", "application/json"}};
  check.http.body = R"({"a":1})";
  const Attempt attempt = run_one(check);
  REQUIRE(attempt.status == 200);
  const auto echo = nlohmann::json::parse(attempt.body);
  CHECK(echo["method"] == "PUT");
  CHECK(echo["path"] == "/echo?x=1");
  CHECK(echo["headers"]["x-smoke"] == "yes");
  CHECK(echo["headers"]["content-type"] == "application/json");
  CHECK(echo["body"] == R"({"a":1})");
  CHECK(echo["headers"]["user-agent"].get<std::string>().rfind("shipgate/", 0) == 0);
  CHECK_FALSE(echo["headers"].contains("expect"));
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP POST without a body and HEAD") {
  Check post = http_check(servers.python("/echo"));
  post.http.method = "POST";
  Check head = http_check(servers.http("/health"));
  head.http.method = "HEAD";
  const auto attempts = run_all({post, head});
  CHECK(nlohmann::json::parse(attempts[0].body)["method"] == "POST");
  CHECK(attempts[1].status == 200);
  CHECK(attempts[1].body.empty());
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP header with a line break is refused before sending") {
  Check check = http_check(servers.python("/echo"));
  check.http.headers = {{"X-Injected", "a\r\nX-Evil: 1"}};
  const Attempt attempt = run_one(check);
  CHECK(attempt.transport == Transport::error);
  CHECK(attempt.error.find("X-Injected") != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP body is bounded") {
  const Attempt attempt = run_one(http_check(servers.http("/large")));
  CHECK(attempt.transport == Transport::ok);
  CHECK(attempt.status == 200);
  CHECK(attempt.body_truncated);
  CHECK(attempt.body.size() == smoke::k_max_body);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP timeout") {
  const Attempt attempt = run_one(http_check(servers.python("/slow?ms=3000"), 300ms));
  CHECK(attempt.transport == Transport::timeout);
  CHECK(smoke::is_transient(attempt.transport));
  CHECK_FALSE(attempt.error.empty());
  CHECK(attempt.elapsed < 2s);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP connection refused on a closed port") {
  const int port = test_support::closed_port();
  const Attempt attempt = run_one(http_check("http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(attempt.transport == Transport::refused);
  CHECK(attempt.error.find(std::to_string(port)) != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP DNS failure") {
  const Attempt attempt = run_one(http_check("http://nonexistent.invalid/"));
  CHECK(attempt.transport == Transport::dns);
  CHECK(attempt.error.find("nonexistent.invalid") != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP other schemes are not allowed") {
  const Attempt attempt = run_one(http_check("file:///etc/passwd"));
  CHECK(attempt.transport == Transport::error);
  CHECK(attempt.body.empty());
}

TEST_CASE_FIXTURE(ServersFixture, "HTTPS with the test CA, and the certificate's expiry") {
  Check check = http_check(servers.https("HTTPS_PORT", "/health"));
  check.http.cert_valid_days = 1;
  const Attempt attempt = run_one(check, with_ca(servers));
  CHECK(attempt.error == "");
  CHECK(attempt.transport == Transport::ok);
  CHECK(attempt.status == 200);
  REQUIRE(attempt.cert_expiry.has_value());
  const auto days =
      std::chrono::duration_cast<std::chrono::hours>(*attempt.cert_expiry - std::chrono::system_clock::now()).count() /
      24.0;
  CHECK(days > servers.valid_days() - 1);
  CHECK(days <= servers.valid_days());
  CHECK(attempt.cert_subject.find("localhost") != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTPS without the test CA fails verification") {
  const Attempt attempt = run_one(http_check(servers.https("HTTPS_PORT", "/")));
  CHECK(attempt.transport == Transport::tls);
  CHECK_FALSE(smoke::is_transient(attempt.transport));
}

TEST_CASE_FIXTURE(ServersFixture, "HTTPS expired certificate") {
  const Attempt attempt = run_one(http_check(servers.https("EXPIRED_PORT", "/")), with_ca(servers));
  CHECK(attempt.transport == Transport::tls);
  CHECK(attempt.error.find("expired") != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTPS certificate for another host") {
  const Attempt attempt = run_one(http_check(servers.https("WRONG_HOST_PORT", "/")), with_ca(servers));
  CHECK(attempt.transport == Transport::tls);
  CHECK_FALSE(attempt.error.empty());
}

TEST_CASE_FIXTURE(ServersFixture, "HTTPS insecure accepts a bad certificate and still reports it") {
  Check check = http_check(servers.https("EXPIRED_PORT", "/health"));
  check.http.cert_valid_days = 30;
  const Attempt attempt = run_one(check, {true, ""});
  CHECK(attempt.transport == Transport::ok);
  CHECK(attempt.status == 200);
  REQUIRE(attempt.cert_expiry.has_value());
  CHECK(*attempt.cert_expiry < std::chrono::system_clock::now());
  CHECK(core::format_rfc3339(*attempt.cert_expiry) == "2020-01-31T00:00:00Z");
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP flapping endpoint: 503 until it recovers") {
  const Check check = http_check(servers.python("/flap?key=executor&fail=2"));
  CHECK(run_one(check).status == 503);
  CHECK(run_one(check).status == 503);
  CHECK(run_one(check).status == 200);
}

TEST_CASE_FIXTURE(ServersFixture, "HTTP Retry-After is read") {
  const Check check = http_check(servers.python("/retry-after?key=executor&seconds=3"));
  const Attempt first = run_one(check);
  CHECK(first.status == 503);
  CHECK(first.retry_after == smoke::Duration(3000));
  const Attempt second = run_one(check);
  CHECK(second.status == 200);
  CHECK_FALSE(second.retry_after.has_value());
}

TEST_CASE_FIXTURE(ServersFixture, "40 parallel requests return in input order") {
  std::vector<Check> checks;
  for (int index = 0; index < 40; ++index) // the first ones take longest, so they finish last
    checks.push_back(
        http_check(servers.python("/slow?ms=" + std::to_string((40 - index) * 10) + "&i=" + std::to_string(index))));
  const auto start = std::chrono::steady_clock::now();
  const auto attempts = run_all(checks, 40);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(attempts.size() == 40);
  for (int index = 0; index < 40; ++index) {
    CAPTURE(index);
    CHECK(attempts[index].status == 200);
    CHECK(attempts[index].body.find("&i=" + std::to_string(index) + "\"") != std::string::npos);
  }
  CHECK(elapsed < 4s); // one after the other would take 8.2 s
}

TEST_CASE_FIXTURE(ServersFixture, "at most `parallel` requests are in flight") {
  const std::vector<Check> checks(6, http_check(servers.python("/slow?ms=300")));
  const auto start = std::chrono::steady_clock::now();
  const auto attempts = run_all(checks, 2);
  CHECK(std::chrono::steady_clock::now() - start >= 850ms); // three rounds of 300 ms
  for (const auto& attempt : attempts)
    CHECK(attempt.status == 200);
}

TEST_CASE_FIXTURE(ServersFixture, "TCP connect to open and closed ports") {
  const int closed = test_support::closed_port();
  const auto attempts =
      run_all({tcp_check("127.0.0.1", servers.http_port()), tcp_check("localhost", servers.http_port()),
               tcp_check("127.0.0.1", closed), tcp_check("nonexistent.invalid", 80), tcp_check("127.0.0.1", 0)});
  CHECK(attempts[0].transport == Transport::ok);
  CHECK(attempts[1].transport == Transport::ok);
  CHECK(attempts[2].transport == Transport::refused);
  CHECK(attempts[2].error.find("Connection refused") != std::string::npos);
  CHECK(attempts[3].transport == Transport::dns);
  CHECK(attempts[4].transport == Transport::error);
}

TEST_CASE_FIXTURE(ServersFixture, "command exit codes and output") {
  const auto attempts = run_all({command_check({"true"}), command_check({"false"}), command_check({"echo", "hello"}),
                                 command_check({"/bin/echo", "a b"}), command_check({"ls", "/nonexistent-shipgate"})});
  for (const auto& attempt : attempts)
    CHECK(attempt.transport == Transport::ok);
  CHECK(attempts[0].exit_code == 0);
  CHECK(attempts[1].exit_code == 1);
  CHECK(attempts[2].exit_code == 0);
  CHECK(attempts[2].output == "hello\n");
  CHECK(attempts[3].output == "a b\n"); // one argument, no shell splitting
  CHECK(attempts[4].exit_code == 2);
  CHECK(attempts[4].output.find("No such file") != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "command timeout kills the command") {
  const Attempt attempt = run_one(command_check({"sleep", "5"}, 200ms));
  CHECK(attempt.transport == Transport::timeout);
  CHECK(attempt.error.find("200 ms") != std::string::npos);
  CHECK(attempt.elapsed < 2s);
}

TEST_CASE_FIXTURE(ServersFixture, "command not found") {
  const auto attempts =
      run_all({command_check({"shipgate-no-such-program", "x"}), command_check({"./no/such/file"}), command_check({})});
  CHECK(attempts[0].transport == Transport::error);
  CHECK(attempts[0].error.find("\"shipgate-no-such-program\" not found on PATH") != std::string::npos);
  CHECK(attempts[1].transport == Transport::error);
  CHECK(attempts[1].error.find("No such file") != std::string::npos);
  CHECK(attempts[2].transport == Transport::error);
}

TEST_CASE_FIXTURE(ServersFixture, "command output is bounded") {
  const Attempt attempt = run_one(command_check({"head", "-c", "200000", "/dev/zero"}));
  CHECK(attempt.exit_code == 0);
  CHECK(attempt.output.size() < 70 * 1024);
  CHECK(attempt.output.find("[stdout: 134464 more bytes dropped]") != std::string::npos);
}

TEST_CASE_FIXTURE(ServersFixture, "command that leaves a background process is not waited for") {
  const Attempt attempt = run_one(command_check(
      {"python3", "-c", "import subprocess; subprocess.Popen(['sleep', '3']); print('started', flush=True)"}, 4s));
  CHECK(attempt.transport == Transport::ok);
  CHECK(attempt.exit_code == 0);
  CHECK(attempt.output == "started\n");
  CHECK(attempt.elapsed < 2s);
}

TEST_CASE_FIXTURE(ServersFixture, "a mixed batch keeps its order, whatever the budget") {
  const int closed = test_support::closed_port();
  const std::vector<Check> checks = {http_check(servers.http("/health")), tcp_check("127.0.0.1", servers.http_port()),
                                     command_check({"echo", "mixed"}),    http_check(servers.http("/status/503")),
                                     tcp_check("127.0.0.1", closed),      command_check({"false"})};
  for (const int parallel : {1, 2, 4, 16}) {
    CAPTURE(parallel);
    const auto attempts = run_all(checks, parallel);
    REQUIRE(attempts.size() == checks.size());
    CHECK(attempts[0].status == 200);
    CHECK(attempts[1].transport == Transport::ok);
    CHECK(attempts[2].output == "mixed\n");
    CHECK(attempts[3].status == 503);
    CHECK(attempts[4].transport == Transport::refused);
    CHECK(attempts[5].exit_code == 1);
  }
}

TEST_SUITE_END();
