#include <doctest/doctest.h>

#include <string>

#include "../support/smoke_fakes.hpp"
#include "smoke/describe.hpp"

using smoke::Check;
using smoke::Transport;
using test_support::http_answer;
using test_support::http_check;
using test_support::no_answer;
using namespace std::chrono_literals;

TEST_CASE("describe: durations") {
  CHECK(smoke::format_duration(0ms) == "0 ms");
  CHECK(smoke::format_duration(999ms) == "999 ms");
  CHECK(smoke::format_duration(1000ms) == "1 s");
  CHECK(smoke::format_duration(1500ms) == "1.5 s");
  CHECK(smoke::format_duration(120s) == "120 s");
}

TEST_CASE("describe: status ranges") {
  CHECK(smoke::describe_status({{200, 299}}) == "200-299");
  CHECK(smoke::describe_status({{200, 299}, {304, 304}}) == "200-299, 304");
  CHECK(smoke::status_allowed({{200, 299}, {304, 304}}, 304));
  CHECK_FALSE(smoke::status_allowed({{200, 299}, {304, 304}}, 303));
}

TEST_CASE("describe: what was sent, by kind") {
  CHECK(smoke::describe_sent(http_check("h", "https://example.test/health")) == "GET https://example.test/health");
  Check tcp;
  tcp.kind = Check::Kind::tcp;
  tcp.tcp = {"db.internal", 5432};
  CHECK(smoke::describe_sent(tcp) == "TCP connect db.internal:5432");
  Check command;
  command.kind = Check::Kind::command;
  command.command.argv = {"psql", "-tAc", "select 1", ""};
  CHECK(smoke::describe_sent(command) == "run psql -tAc \"select 1\" \"\"");
}

TEST_CASE("describe: what came back, by kind") {
  const Check http = http_check("h");
  CHECK(smoke::describe_received(http, http_answer(204)) == "HTTP 204 (12 ms)");
  CHECK(smoke::describe_received(http, no_answer(Transport::dns, "could not resolve example.test")) ==
        "dns: could not resolve example.test (3 ms)");
  Check tcp;
  tcp.kind = Check::Kind::tcp;
  smoke::Attempt connected;
  connected.elapsed = 2ms;
  CHECK(smoke::describe_received(tcp, connected) == "connected (2 ms)");
  Check command;
  command.kind = Check::Kind::command;
  smoke::Attempt ran;
  ran.exit_code = 1;
  ran.elapsed = 40ms;
  ran.output = "migration pending\n";
  CHECK(smoke::describe_received(command, ran) == "exit 1 (40 ms)\n\nmigration pending\n");
}

TEST_CASE("describe: why an attempt does not count") {
  CHECK(smoke::describe_failure(no_answer(Transport::refused, "connection refused"), {}) ==
        "refused: connection refused");
  const std::vector<smoke::AssertionResult> assertions{{"status in 200-299", true, "200-299", "200"},
                                                       {"body contains \"ok\"", false, "contains \"ok\"", "not found"}};
  CHECK(smoke::describe_failure(http_answer(200), assertions) == "body contains \"ok\": got not found");
  CHECK(smoke::describe_failure(http_answer(200), {}).empty());
  CHECK(smoke::unanswered("gone").transport == Transport::error);
}

TEST_CASE("describe: shortened texts are cut and made visible") {
  CHECK(smoke::shorten("plain") == "plain");
  CHECK(smoke::shorten("a\x02") == "a\\x02");
  const std::string cut = smoke::shorten(std::string(1000, 'z'));
  CHECK(cut.size() < 240);
  CHECK(cut.find("truncated") != std::string::npos);
  CHECK(smoke::in_quotes("x") == "\"x\"");
}
