#include <doctest/doctest.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "../support/smoke_fakes.hpp"
#include "core/time.hpp"
#include "smoke/regex_search.hpp"
#include "smoke/runner.hpp"

using smoke::AssertionResult;
using smoke::BodyExpectation;
using smoke::Check;
using smoke::HeaderExpectation;
using smoke::JsonExpectation;
using smoke::Transport;
using test_support::http_answer;
using test_support::http_check;
using test_support::no_answer;
using namespace std::chrono_literals;

namespace {

const core::SystemTime k_now = *core::parse_time("2026-06-01T12:00:00Z");

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<AssertionResult> judge(const Check& check, const smoke::Attempt& attempt) {
  return smoke::evaluate(check, attempt, k_now);
}

// The assertions after the status one, for checks whose status passes.
std::vector<AssertionResult> beyond_status(const Check& check, const smoke::Attempt& attempt) {
  auto results = judge(check, attempt);
  REQUIRE(!results.empty());
  CHECK(results.front().passed);
  results.erase(results.begin());
  return results;
}

AssertionResult only(const Check& check, const smoke::Attempt& attempt) {
  const auto results = beyond_status(check, attempt);
  REQUIRE(results.size() == 1);
  return results.front();
}

Check with_header(HeaderExpectation::Op op, std::string name, std::string value = {}) {
  Check check = http_check("headers");
  HeaderExpectation expectation;
  expectation.name = std::move(name);
  expectation.op = op;
  expectation.value = std::move(value);
  check.http.header_expectations.push_back(expectation);
  return check;
}

Check with_body(BodyExpectation::Op op, std::string value) {
  Check check = http_check("body");
  check.http.body_expectations.push_back({op, std::move(value), std::nullopt});
  return check;
}

Check with_json(std::string pointer, JsonExpectation::Op op, nlohmann::json value = nullptr) {
  Check check = http_check("json");
  check.http.json_expectations.push_back({std::move(pointer), op, std::move(value), std::nullopt});
  return check;
}

bool json_passes(const std::string& body, std::string pointer, JsonExpectation::Op op, nlohmann::json value = nullptr) {
  return only(with_json(std::move(pointer), op, std::move(value)), http_answer(200, body)).passed;
}

const std::string k_document = R"({"status": "ok", "count": 3, "ratio": 0.5, "whole": 3.0, "up": true,
  "nothing": null, "items": [1, 2], "build": {"version": "1.4.2"}, "a/b": 1, "big": 18446744073709551615})";

} // namespace

TEST_CASE("evaluate: status ranges") {
  Check check = http_check("status");
  check.http.status = {{200, 299}, {304, 304}};
  const auto results = judge(check, http_answer(304));
  REQUIRE(results.size() == 1);
  CHECK(results[0].passed);
  CHECK(results[0].what == "status in 200-299, 304");
  CHECK(results[0].expected == "200-299, 304");
  CHECK(results[0].actual == "304");
  CHECK(judge(check, http_answer(204))[0].passed);
  const auto failed = judge(check, http_answer(503));
  CHECK_FALSE(failed[0].passed);
  CHECK(failed[0].actual == "503");
  CHECK_FALSE(judge(check, http_answer(300))[0].passed);
}

TEST_CASE("evaluate: the default status is any 2xx") {
  const Check check = http_check("default");
  CHECK(judge(check, http_answer(200))[0].passed);
  CHECK(judge(check, http_answer(299))[0].passed);
  CHECK_FALSE(judge(check, http_answer(404))[0].passed);
}

TEST_CASE("evaluate: header names are case-insensitive") {
  const auto answer = http_answer(200, "", {{"content-type", "application/json; charset=utf-8"}});
  const auto equals = only(with_header(HeaderExpectation::Op::equals, "Content-Type", "application/json"), answer);
  CHECK_FALSE(equals.passed);
  CHECK(equals.what == "header Content-Type == \"application/json\"");
  CHECK(equals.actual == "\"application/json; charset=utf-8\"");
  CHECK(only(with_header(HeaderExpectation::Op::equals, "CONTENT-TYPE", "application/json; charset=utf-8"), answer)
            .passed);
  CHECK(only(with_header(HeaderExpectation::Op::contains, "Content-Type", "json"), answer).passed);
  CHECK_FALSE(only(with_header(HeaderExpectation::Op::contains, "Content-Type", "xml"), answer).passed);
  CHECK(only(with_header(HeaderExpectation::Op::exists, "Content-Type"), answer).passed);
}

TEST_CASE("evaluate: header regex, compiled or from its text") {
  const auto answer = http_answer(200, "", {{"x-version", "v1.4.2"}});
  Check compiled = with_header(HeaderExpectation::Op::regex, "X-Version", "^v1\\.");
  compiled.http.header_expectations[0].pattern.emplace("^v1\\.");
  const auto result = only(compiled, answer);
  CHECK(result.passed);
  CHECK(result.what == "header X-Version matches /^v1\\./");
  CHECK(only(with_header(HeaderExpectation::Op::regex, "X-Version", "^v1\\.4"), answer).passed);
  CHECK_FALSE(only(with_header(HeaderExpectation::Op::regex, "X-Version", "^v2"), answer).passed);
  const auto invalid = only(with_header(HeaderExpectation::Op::regex, "X-Version", "(unclosed"), answer);
  CHECK_FALSE(invalid.passed);
  CHECK(contains(invalid.actual, "invalid regex"));
}

TEST_CASE("evaluate: a missing header is reported absent") {
  const auto answer = http_answer(200);
  const auto exists = only(with_header(HeaderExpectation::Op::exists, "X-Request-Id"), answer);
  CHECK_FALSE(exists.passed);
  CHECK(exists.expected == "present");
  CHECK(exists.actual == "absent");
  const auto equals = only(with_header(HeaderExpectation::Op::equals, "X-Request-Id", "1"), answer);
  CHECK_FALSE(equals.passed);
  CHECK(equals.actual == "absent");
}

TEST_CASE("evaluate: a repeated header passes when any value matches") {
  const auto answer = http_answer(200, "", {{"set-cookie", "a=1"}, {"set-cookie", "session=xyz"}});
  const auto result = only(with_header(HeaderExpectation::Op::contains, "Set-Cookie", "session="), answer);
  CHECK(result.passed);
  CHECK(result.actual == "\"a=1, session=xyz\"");
}

TEST_CASE("evaluate: body contains and not contains") {
  const auto answer = http_answer(200, "service is healthy");
  const auto found = only(with_body(BodyExpectation::Op::contains, "healthy"), answer);
  CHECK(found.passed);
  CHECK(found.what == "body contains \"healthy\"");
  CHECK(found.actual == "found at byte 11");
  const auto missing = only(with_body(BodyExpectation::Op::contains, "ready"), answer);
  CHECK_FALSE(missing.passed);
  CHECK(missing.actual == "not found in 18 bytes: \"service is healthy\"");
  CHECK(only(with_body(BodyExpectation::Op::not_contains, "error"), answer).passed);
  const auto unwanted = only(with_body(BodyExpectation::Op::not_contains, "is"), answer);
  CHECK_FALSE(unwanted.passed);
  CHECK(unwanted.what == "body does not contain \"is\"");
  CHECK(unwanted.actual == "found at byte 8");
}

TEST_CASE("evaluate: a body search notes that the body was cut") {
  auto answer = http_answer(200, "partial");
  answer.body_truncated = true;
  const auto result = only(with_body(BodyExpectation::Op::contains, "end"), answer);
  CHECK_FALSE(result.passed);
  CHECK(contains(result.actual, "the body was cut there"));
}

TEST_CASE("evaluate: body regex") {
  const auto answer = http_answer(200, "{\"version\": \"1.4.2\"}");
  const auto result = only(with_body(BodyExpectation::Op::regex, "\"version\":\\s*\"1\\.4\\.[0-9]+\""), answer);
  CHECK(result.passed);
  CHECK(result.actual == "matched");
  CHECK(contains(result.what, "body matches /"));
  const auto miss = only(with_body(BodyExpectation::Op::regex, "2\\.0"), answer);
  CHECK_FALSE(miss.passed);
  CHECK(miss.actual == "no match in 20 bytes");
  CHECK(contains(only(with_body(BodyExpectation::Op::regex, "[z-a]"), answer).actual, "invalid regex"));
}

TEST_CASE("evaluate: a regex on a large body neither crashes nor looks past its limit") {
  // Deep recursion in std::regex used to overflow the stack on bodies like this.
  const auto huge = http_answer(200, std::string(200 * 1024, 'a'));
  CHECK(only(with_body(BodyExpectation::Op::regex, "^(a|b)*$"), huge).passed);
  const auto late = http_answer(200, std::string(smoke::k_max_regex_subject + 10, 'x') + "needle");
  const auto result = only(with_body(BodyExpectation::Op::regex, "needle"), late);
  CHECK_FALSE(result.passed);
  CHECK(contains(result.actual, "no match in the first 65536 of"));
  CHECK(only(with_body(BodyExpectation::Op::contains, "needle"), late).passed);
}

TEST_CASE("evaluate: json equals and ne use JSON equality") {
  CHECK(json_passes(k_document, "/status", JsonExpectation::Op::equals, "ok"));
  CHECK_FALSE(json_passes(k_document, "/status", JsonExpectation::Op::equals, "down"));
  CHECK(json_passes(k_document, "/count", JsonExpectation::Op::equals, 3.0));
  CHECK(json_passes(k_document, "/items", JsonExpectation::Op::equals, nlohmann::json::array({1, 2})));
  CHECK(json_passes(k_document, "/build", JsonExpectation::Op::equals, {{"version", "1.4.2"}}));
  CHECK_FALSE(json_passes(k_document, "/count", JsonExpectation::Op::equals, "3"));
  CHECK(json_passes(k_document, "/status", JsonExpectation::Op::ne, "down"));
  CHECK_FALSE(json_passes(k_document, "/status", JsonExpectation::Op::ne, "ok"));
  CHECK(json_passes(k_document, "/a~1b", JsonExpectation::Op::equals, 1));
  CHECK(json_passes(k_document, "/items/1", JsonExpectation::Op::equals, 2));
  CHECK_FALSE(json_passes(k_document, "/big", JsonExpectation::Op::equals, -1));
  CHECK(json_passes(k_document, "/big", JsonExpectation::Op::ne, -1));
  CHECK(json_passes("{\"a\": {\"n\": [1, 2.0]}}", "/a", JsonExpectation::Op::equals, {{"n", {1.0, 2}}}));
}

TEST_CASE("evaluate: json texts are short and readable") {
  const auto result = only(with_json("/status", JsonExpectation::Op::equals, "down"), http_answer(200, k_document));
  CHECK(result.what == "json /status == \"down\"");
  CHECK(result.expected == "== \"down\"");
  CHECK(result.actual == "\"ok\"");
}

TEST_CASE("evaluate: json exists, and a missing field fails every operator") {
  CHECK(json_passes(k_document, "/nothing", JsonExpectation::Op::exists));
  CHECK(json_passes(k_document, "/build/version", JsonExpectation::Op::exists));
  const auto missing = only(with_json("/build/commit", JsonExpectation::Op::exists), http_answer(200, k_document));
  CHECK_FALSE(missing.passed);
  CHECK(missing.actual == "absent");
  CHECK_FALSE(json_passes(k_document, "/items/5", JsonExpectation::Op::exists));
  CHECK_FALSE(json_passes(k_document, "/items/x", JsonExpectation::Op::exists));
  CHECK_FALSE(json_passes(k_document, "/missing", JsonExpectation::Op::ne, "ok"));
  CHECK_FALSE(json_passes(k_document, "/missing", JsonExpectation::Op::lt, 5));
}

TEST_CASE("evaluate: json type") {
  using Op = JsonExpectation::Op;
  CHECK(json_passes(k_document, "/status", Op::type, "string"));
  CHECK(json_passes(k_document, "/count", Op::type, "number"));
  CHECK(json_passes(k_document, "/ratio", Op::type, "number"));
  CHECK(json_passes(k_document, "/count", Op::type, "integer"));
  CHECK(json_passes(k_document, "/whole", Op::type, "integer"));
  CHECK(json_passes(k_document, "/big", Op::type, "integer"));
  CHECK_FALSE(json_passes(k_document, "/ratio", Op::type, "integer"));
  CHECK(json_passes(k_document, "/up", Op::type, "boolean"));
  CHECK(json_passes(k_document, "/build", Op::type, "object"));
  CHECK(json_passes(k_document, "/items", Op::type, "array"));
  CHECK(json_passes(k_document, "/nothing", Op::type, "null"));
  CHECK_FALSE(json_passes(k_document, "/count", Op::type, "string"));
  CHECK_FALSE(json_passes(k_document, "/up", Op::type, "number"));
  CHECK_FALSE(json_passes(k_document, "/status", Op::type, "text"));
  const auto result = only(with_json("/ratio", Op::type, "integer"), http_answer(200, k_document));
  CHECK(result.what == "json /ratio is integer");
  CHECK(result.actual == "number 0.5");
}

TEST_CASE("evaluate: json regex on strings and on other values' text") {
  using Op = JsonExpectation::Op;
  CHECK(json_passes(k_document, "/build/version", Op::regex, "^1\\.4\\."));
  CHECK_FALSE(json_passes(k_document, "/build/version", Op::regex, "^2\\."));
  CHECK(json_passes(k_document, "/count", Op::regex, "^[0-9]+$"));
  CHECK(json_passes(k_document, "/up", Op::regex, "^true$"));
  Check compiled = with_json("/status", Op::regex, "^o");
  compiled.http.json_expectations[0].pattern.emplace("^o");
  CHECK(only(compiled, http_answer(200, k_document)).passed);
  const auto invalid = only(with_json("/status", Op::regex, "(x"), http_answer(200, k_document));
  CHECK_FALSE(invalid.passed);
  CHECK(contains(invalid.actual, "invalid regex"));
}

TEST_CASE("evaluate: json numeric comparisons") {
  using Op = JsonExpectation::Op;
  CHECK(json_passes(k_document, "/count", Op::lt, 4));
  CHECK_FALSE(json_passes(k_document, "/count", Op::lt, 3));
  CHECK(json_passes(k_document, "/count", Op::le, 3));
  CHECK(json_passes(k_document, "/count", Op::gt, 2.5));
  CHECK_FALSE(json_passes(k_document, "/count", Op::gt, 3));
  CHECK(json_passes(k_document, "/ratio", Op::ge, 0.5));
  CHECK(json_passes(k_document, "/big", Op::gt, -1));
  CHECK_FALSE(json_passes(k_document, "/status", Op::lt, 5));
  const auto result = only(with_json("/status", Op::gt, 1), http_answer(200, k_document));
  CHECK(result.what == "json /status > 1");
  CHECK(contains(result.actual, "not comparable as numbers"));
}

TEST_CASE("evaluate: a body that is not JSON fails each JSON expectation") {
  Check check = with_json("/status", JsonExpectation::Op::equals, "ok");
  check.http.json_expectations.push_back({"/count", JsonExpectation::Op::exists, nullptr, std::nullopt});
  const auto results = beyond_status(check, http_answer(200, "<html>oops</html>"));
  REQUIRE(results.size() == 2);
  for (const auto& result : results) {
    CHECK_FALSE(result.passed);
    CHECK(contains(result.actual, "body is not JSON"));
  }
  CHECK(contains(only(with_json("", JsonExpectation::Op::exists), http_answer(200, "")).actual, "it is empty"));
  auto cut = http_answer(200, "{\"a\": [1, 2");
  cut.body_truncated = true;
  CHECK(contains(only(with_json("/a", JsonExpectation::Op::exists), cut).actual, "cut at"));
}

TEST_CASE("evaluate: an invalid JSON pointer fails, it does not throw") {
  const auto result = only(with_json("status", JsonExpectation::Op::exists), http_answer(200, k_document));
  CHECK_FALSE(result.passed);
  CHECK(contains(result.actual, "invalid JSON pointer"));
  CHECK(json_passes(k_document, "", JsonExpectation::Op::type, "object"));
}

TEST_CASE("evaluate: a deeply nested body neither crashes nor floods the texts") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  using Op = JsonExpectation::Op;
  const auto root = only(with_json("", Op::exists), http_answer(200, deep));
  CHECK(root.passed);
  CHECK(root.actual.size() < 260);
  CHECK(json_passes(deep, "/0/0/0", Op::type, "array"));
  CHECK_FALSE(json_passes(deep, "", Op::equals, nlohmann::json::array()));
  CHECK_FALSE(json_passes(deep, "", Op::regex, "x"));
}

TEST_CASE("evaluate: maximum response time") {
  Check check = http_check("fast");
  check.http.max_response_time = 500ms;
  auto answer = http_answer(200);
  answer.elapsed = 120ms;
  const auto fast = only(check, answer);
  CHECK(fast.passed);
  CHECK(fast.what == "response time <= 500 ms");
  CHECK(fast.actual == "120 ms");
  answer.elapsed = 1500ms;
  const auto slow = only(check, answer);
  CHECK_FALSE(slow.passed);
  CHECK(slow.actual == "1.5 s");
  answer.elapsed = 500ms;
  CHECK(only(check, answer).passed);
}

TEST_CASE("evaluate: certificate days left") {
  Check check = http_check("tls", "https://example.test/");
  check.http.cert_valid_days = 14;
  auto answer = http_answer(200);
  answer.cert_expiry = k_now + std::chrono::hours(24 * 30);
  const auto fine = only(check, answer);
  CHECK(fine.passed);
  CHECK(fine.what == "certificate valid for >= 14 days left");
  CHECK(fine.actual == "expires 2026-07-01T12:00:00Z (30 days left)");
  answer.cert_expiry = k_now + std::chrono::hours(24 * 14);
  CHECK(only(check, answer).passed);
  answer.cert_expiry = k_now + std::chrono::hours(24 * 10);
  const auto soon = only(check, answer);
  CHECK_FALSE(soon.passed);
  CHECK(contains(soon.actual, "(10 days left)"));
  answer.cert_expiry = k_now - std::chrono::hours(24 * 3);
  const auto expired = only(check, answer);
  CHECK_FALSE(expired.passed);
  CHECK(contains(expired.actual, "expired 2026-05-29T12:00:00Z (3 days ago)"));
}

TEST_CASE("evaluate: a certificate check without certificate information fails and says why") {
  Check check = http_check("tls", "HTTPS://example.test/");
  check.http.cert_valid_days = 7;
  const auto https = only(check, http_answer(200));
  CHECK_FALSE(https.passed);
  CHECK(contains(https.actual, "no certificate information"));
  check.http.url = "http://example.test/";
  const auto plain = only(check, http_answer(200));
  CHECK_FALSE(plain.passed);
  CHECK(contains(plain.actual, "not an https URL"));
}

TEST_CASE("evaluate: tcp connected") {
  Check check;
  check.name = "redis";
  check.kind = Check::Kind::tcp;
  check.tcp = {"127.0.0.1", 6379};
  smoke::Attempt attempt;
  const auto results = judge(check, attempt);
  REQUIRE(results.size() == 1);
  CHECK(results[0].passed);
  CHECK(results[0].what == "connected");
  CHECK(results[0].expected == "connect to 127.0.0.1:6379");
  const auto refused = judge(check, no_answer(Transport::refused, "connection refused"));
  REQUIRE(refused.size() == 1);
  CHECK_FALSE(refused[0].passed);
  CHECK(refused[0].actual == "refused: connection refused");
}

TEST_CASE("evaluate: command exit code and output") {
  Check check;
  check.name = "migrations";
  check.kind = Check::Kind::command;
  check.command.argv = {"/usr/bin/check-migrations"};
  check.command.exit_code = 0;
  check.command.output_contains = {"up to date", "42 applied"};
  smoke::Attempt attempt;
  attempt.exit_code = 0;
  attempt.output = "schema up to date\n";
  const auto results = judge(check, attempt);
  REQUIRE(results.size() == 3);
  CHECK(results[0].passed);
  CHECK(results[0].what == "exit code == 0");
  CHECK(results[1].passed);
  CHECK(results[1].what == "output contains \"up to date\"");
  CHECK_FALSE(results[2].passed);
  CHECK(results[2].actual == "not found in \"schema up to date\n\"");
  attempt.exit_code = 2;
  const auto failed = judge(check, attempt);
  CHECK_FALSE(failed[0].passed);
  CHECK(failed[0].actual == "2");
}

TEST_CASE("evaluate: without an answer there is one failed assertion saying why") {
  const auto results = judge(http_check("down"), no_answer(Transport::timeout, "no answer within 10 s"));
  REQUIRE(results.size() == 1);
  CHECK_FALSE(results[0].passed);
  CHECK(results[0].what == "response");
  CHECK(results[0].actual == "timeout: no answer within 10 s");
}

TEST_CASE("evaluate: actual values are cut to about 200 bytes") {
  const std::string long_value(5000, 'v');
  const auto header = only(with_header(HeaderExpectation::Op::equals, "X-Long", "short"),
                           http_answer(200, "", {{"x-long", long_value}}));
  CHECK(header.actual.size() < 260);
  CHECK(contains(header.actual, "truncated"));
  const auto body = only(with_body(BodyExpectation::Op::contains, "absent"), http_answer(200, long_value));
  CHECK(body.actual.size() < 300);
  const auto json =
      only(with_json("/v", JsonExpectation::Op::equals, "x"), http_answer(200, "{\"v\": \"" + long_value + "\"}"));
  CHECK(json.actual.size() < 260);
}

TEST_CASE("evaluate: control characters and invalid UTF-8 in actual values are made visible") {
  const auto result = only(with_body(BodyExpectation::Op::contains, "ok"), http_answer(200, "bad\x01\xff"));
  CHECK(contains(result.actual, "\\x01"));
  CHECK(contains(result.actual, "\xEF\xBF\xBD"));
}
