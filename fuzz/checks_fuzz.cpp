// The smoke-test checks file (src/smoke/checks_file.cpp, check_parser.cpp,
// expect_parser.cpp, yaml_reader.cpp; docs/smoke-test.md) read from text.
// Every check that reads is then evaluated against one canned answer, as
// the runner would: a check the parser accepts must be evaluable.
#include "fuzz_support.hpp"
#include "smoke/checks_file.hpp"
#include "smoke/describe.hpp"
#include "smoke/runner.hpp"

namespace {

smoke::Attempt canned_attempt() {
  smoke::Attempt attempt;
  attempt.status = 200;
  attempt.elapsed = smoke::Duration(42);
  attempt.headers = {{"content-type", "application/json"}, {"x-version", "1.2.3"}};
  attempt.body = R"({"status":"ok","items":[1,2,{"a":null}],"version":"1.2.3","ratio":0.5,"ok":true})";
  attempt.effective_url = "http://127.0.0.1:8080/health";
  attempt.exit_code = 0;
  attempt.output = "ready\n";
  return attempt;
}

void check_suite(const smoke::Suite& suite) {
  FUZZ_CHECK(suite.parallel >= 1);
  if (suite.wait) FUZZ_CHECK(suite.wait->successes >= 1);
  static const smoke::Attempt attempt = canned_attempt();
  for (const auto& check : suite.checks) {
    FUZZ_CHECK(check.retry.attempts >= 1);
    FUZZ_CHECK(check.timeout.count() > 0);
    for (const auto& range : check.http.status) FUZZ_CHECK(range.low >= 100 && range.low <= range.high && range.high <= 599);
    if (check.kind == smoke::Check::Kind::tcp) FUZZ_CHECK(check.tcp.port >= 1 && check.tcp.port <= 65535);
    if (check.kind == smoke::Check::Kind::command) FUZZ_CHECK(!check.command.argv.empty());
    (void)smoke::describe_sent(check);
    (void)smoke::evaluate(check, attempt, core::SystemTime{});
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  // body_file and friends start in the scratch folder.
  static const std::string origin = (fuzz::scratch() / "checks.yml").string();
  // The variables the seed files use, so that they read past interpolation.
  static const smoke::Variables variables = {
      {"HOST", "127.0.0.1"},       {"PORT", "8080"},         {"HTTP_PORT", "8080"},      {"HTTPS_PORT", "8443"},
      {"TEST_SERVER_PORT", "9000"}, {"API_TOKEN", "s3cret"},  {"CREDS", "user:pass"},      {"EXPECTED_VERSION", "1.2.3"},
      {"RELEASE_VERSION", "1.2.3"}, {"BASE_URL", "http://127.0.0.1:8080"}};
  auto suite = smoke::parse_checks(fuzz::text(data, size), origin, variables);
  if (!suite) {
    FUZZ_CHECK(!suite.error().message.empty());
    return 0;
  }
  check_suite(*suite);
  return 0;
}
