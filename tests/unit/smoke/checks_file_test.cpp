#include <doctest/doctest.h>

#include <string>

#include "../support/temp_dir.hpp"
#include "smoke/checks_file.hpp"

using smoke::Check;
using smoke::Duration;
using smoke::JsonExpectation;

namespace {

const smoke::Variables k_vars = {{"BASE_URL", "https://shop.example.com"},
                                 {"API_TOKEN", "s3cr3t-token"},
                                 {"DB_HOST", "db.internal"},
                                 {"EMPTY", ""},
                                 {"MULTILINE", "a\r\nX-Injected: 1"}};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

smoke::Suite parse_ok(const std::string& yaml, const smoke::Variables& vars = k_vars) {
  auto suite = smoke::parse_checks(yaml, "checks.yml", vars);
  REQUIRE_MESSAGE(suite.ok(), (suite.ok() ? std::string() : suite.error().describe()));
  return suite.value();
}

core::Error parse_error(const std::string& yaml, const smoke::Variables& vars = k_vars) {
  auto suite = smoke::parse_checks(yaml, "checks.yml", vars);
  REQUIRE_FALSE(suite.ok());
  CHECK(suite.error().kind == core::ErrorKind::invalid_input);
  return suite.error();
}

// The error is at `location` and its message contains `part`.
void check_error(const std::string& yaml, const std::string& location, const std::string& part) {
  const core::Error error = parse_error(yaml);
  CHECK(error.location == location);
  CHECK_MESSAGE(contains(error.message, part), error.describe());
}

const std::string k_full = R"(version: 1
parallel: 4
tls: {insecure: true, cacert: ca.pem}
defaults: {timeout: 5s, retries: 3, retry_delay: 200ms, headers: {Accept: application/json}}
wait:
  url: ${BASE_URL}/healthz
  expect_status: 200
  interval: 1s
  max_interval: 10s
  backoff: 2
  jitter: 0.2
  deadline: 2m
  successes: 3
checks:
  - name: home page
    url: ${BASE_URL}/
    method: post
    headers: {Authorization: "Bearer ${API_TOKEN}", accept: text/html}
    body_file: payload.txt
    timeout: 2s
    follow_redirects: true
    max_redirects: 3
    retries: 0
    expect:
      status: [200, "3xx", "200-204"]
      headers: {Content-Type: {contains: json}, x-version: "1.2", etag: {exists: true}, server: {regex: "^nginx"}}
      body: {contains: ok, not_contains: [error, fatal], regex: "v[0-9]+"}
      json: {"/status": "ok", "/items/0/id": {exists: true}, "/count": {gt: 3, le: 10}, "/name": {type: string}, "/v": {regex: "^1\\."}}
      max_time: 500ms
      cert_valid_days: 14
  - name: database port
    tcp: ${DB_HOST}:5432
  - name: migration state
    command: [psql, -c, "select 1"]
    timeout: 30s
    expect: {exit_code: 0, output_contains: "1 row"}
)";

} // namespace

TEST_CASE("a full checks file is parsed into the model") {
  test_support::TempDir dir;
  dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  dir.write("payload.txt", "hello ${not interpolated}");
  auto loaded = smoke::load_checks_file(dir.write("checks.yml", k_full), k_vars);
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? std::string() : loaded.error().describe()));
  const smoke::Suite& suite = *loaded;
  CHECK(suite.parallel == 4);
  CHECK(suite.tls.insecure);
  CHECK(suite.tls.cacert == dir.file("ca.pem"));

  REQUIRE(suite.wait.has_value());
  const smoke::WaitSpec& wait = *suite.wait;
  CHECK(wait.probe.http.url == "https://shop.example.com/healthz");
  CHECK(wait.probe.name == "GET ${BASE_URL}/healthz");
  REQUIRE(wait.probe.http.status.size() == 1);
  CHECK(wait.probe.http.status[0].low == 200);
  CHECK(wait.probe.http.status[0].high == 200);
  CHECK(wait.probe.retry.attempts == 1);
  CHECK(wait.probe.timeout == Duration(5000));
  CHECK(wait.interval == Duration(1000));
  CHECK(wait.max_interval == Duration(10000));
  CHECK(wait.backoff == doctest::Approx(2));
  CHECK(wait.jitter == doctest::Approx(0.2));
  CHECK(wait.deadline == Duration(120000));
  CHECK(wait.successes == 3);

  REQUIRE(suite.checks.size() == 3);
  const Check& home = suite.checks[0];
  CHECK(home.name == "home page");
  CHECK(home.location == dir.file("checks.yml") + ":15");
  CHECK(home.kind == Check::Kind::http);
  CHECK(home.http.method == "POST");
  CHECK(home.http.url == "https://shop.example.com/");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  CHECK(home.http.headers == Headers{{"accept", "text/html"}, {"Authorization", "Bearer s3cr3t-token"}});
  CHECK(home.http.body == "hello ${not interpolated}");
  CHECK(home.timeout == Duration(2000));
  CHECK(home.http.follow_redirects);
  CHECK(home.http.max_redirects == 3);
  CHECK(home.retry.attempts == 1);
  CHECK(home.retry.delay == Duration(200));

  const auto& status = home.http.status;
  REQUIRE(status.size() == 3);
  CHECK((status[1].low == 300 && status[1].high == 399));
  CHECK((status[2].low == 200 && status[2].high == 204));

  const auto& headers = home.http.header_expectations;
  REQUIRE(headers.size() == 4);
  CHECK(headers[0].name == "content-type");
  CHECK(headers[0].op == smoke::HeaderExpectation::Op::contains);
  CHECK(headers[0].value == "json");
  CHECK(headers[1].op == smoke::HeaderExpectation::Op::equals);
  CHECK(headers[1].value == "1.2");
  CHECK(headers[2].op == smoke::HeaderExpectation::Op::exists);
  CHECK(headers[3].op == smoke::HeaderExpectation::Op::regex);
  REQUIRE(headers[3].pattern.has_value());
  CHECK(std::regex_search("nginx/1.22", *headers[3].pattern));

  const auto& body = home.http.body_expectations;
  REQUIRE(body.size() == 4);
  CHECK(body[0].op == smoke::BodyExpectation::Op::contains);
  CHECK(body[1].op == smoke::BodyExpectation::Op::not_contains);
  CHECK(body[2].value == "fatal");
  CHECK(body[3].op == smoke::BodyExpectation::Op::regex);

  const auto& json = home.http.json_expectations;
  REQUIRE(json.size() == 6);
  CHECK(json[0].pointer == "/status");
  CHECK(json[0].op == JsonExpectation::Op::equals);
  CHECK(json[0].value == "ok");
  CHECK(json[1].op == JsonExpectation::Op::exists);
  CHECK((json[2].op == JsonExpectation::Op::gt && json[2].value == 3));
  CHECK((json[3].op == JsonExpectation::Op::le && json[3].value == 10));
  CHECK((json[4].op == JsonExpectation::Op::type && json[4].value == "string"));
  CHECK(json[5].op == JsonExpectation::Op::regex);
  REQUIRE(json[5].pattern.has_value());
  CHECK(std::regex_search("1.4.2", *json[5].pattern));
  CHECK_FALSE(std::regex_search("10.4", *json[5].pattern));
  CHECK(home.http.max_response_time == Duration(500));
  CHECK(home.http.cert_valid_days == 14);

  const Check& db = suite.checks[1];
  CHECK(db.kind == Check::Kind::tcp);
  CHECK(db.tcp.host == "db.internal");
  CHECK(db.tcp.port == 5432);
  CHECK(db.timeout == Duration(5000));
  CHECK(db.retry.attempts == 4);

  const Check& migration = suite.checks[2];
  CHECK(migration.kind == Check::Kind::command);
  CHECK(migration.command.argv == std::vector<std::string>{"psql", "-c", "select 1"});
  CHECK(migration.command.exit_code == 0);
  CHECK(migration.command.output_contains == std::vector<std::string>{"1 row"});
  CHECK(migration.timeout == Duration(30000));
}

TEST_CASE("a minimal file keeps the model's defaults") {
  const auto suite = parse_ok("checks:\n  - url: http://127.0.0.1:8080/\n");
  CHECK(suite.parallel == 8);
  CHECK_FALSE(suite.tls.insecure);
  CHECK_FALSE(suite.wait.has_value());
  const Check& check = suite.checks.at(0);
  CHECK(check.name == "GET http://127.0.0.1:8080/");
  CHECK(check.location == "checks.yml:2");
  CHECK(check.http.method == "GET");
  CHECK(check.timeout == Duration(10000));
  CHECK(check.retry.attempts == 3);
  CHECK((check.http.status.size() == 1 && check.http.status[0].low == 200 && check.http.status[0].high == 299));
  CHECK_FALSE(check.http.follow_redirects);
  CHECK(check.http.headers.empty());
}

TEST_CASE("checks without a name are named after what they do, as written") {
  const auto suite = parse_ok(R"(checks:
  - url: ${BASE_URL}/login
    method: HEAD
  - tcp: ${DB_HOST}:5432
  - command: [pg_isready, -h, "${DB_HOST}"]
  - tcp: "[::1]:6379"
)");
  CHECK(suite.checks[0].name == "HEAD ${BASE_URL}/login");
  CHECK(suite.checks[1].name == "tcp ${DB_HOST}:5432");
  CHECK(suite.checks[2].name == "pg_isready -h ${DB_HOST}");
  CHECK(suite.checks[2].command.argv[2] == "db.internal");
  CHECK(suite.checks[3].tcp.host == "::1");
  CHECK(suite.checks[3].tcp.port == 6379);
}

TEST_CASE("a json body keeps YAML's types and sets Content-Type unless given") {
  const auto suite = parse_ok(R"(checks:
  - name: create
    url: https://api.example.com/orders
    method: POST
    json: {id: 7, price: 1.5, code: "007", paid: true, note: null, tags: [a, "${DB_HOST}"]}
  - name: typed
    url: https://api.example.com/orders
    method: POST
    headers: {content-type: application/vnd.api+json}
    json: [1, "2"]
)");
  const auto& create = suite.checks[0].http;
  CHECK(
      nlohmann::json::parse(create.body) ==
      nlohmann::json::parse(R"({"id":7,"price":1.5,"code":"007","paid":true,"note":null,"tags":["a","db.internal"]})"));
  CHECK(create.headers == std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}});
  const auto& typed = suite.checks[1].http;
  CHECK(typed.body == R"([1,"2"])");
  CHECK(typed.headers.size() == 1);
  CHECK(typed.headers[0].second == "application/vnd.api+json");
}

TEST_CASE("json expectations: equals keeps types, operators may be combined") {
  const auto suite = parse_ok(R"(checks:
  - url: https://api.example.com/
    expect:
      json:
        "": {type: object}
        /version: "${DB_HOST}"
        /count: 3
        /code: "3"
        /deleted: null
        /tags: [a, b]
        /meta: {equals: {x: 1}}
        /ratio: {ge: 0.5, lt: 1, not_equals: 0.75}
)");
  const auto& json = suite.checks[0].http.json_expectations;
  REQUIRE(json.size() == 10);
  CHECK((json[0].pointer.empty() && json[0].value == "object"));
  CHECK(json[1].value == "db.internal");
  CHECK(json[2].value == 3);
  CHECK(json[3].value == "3");
  CHECK(json[4].value.is_null());
  CHECK(json[5].value == nlohmann::json::array({"a", "b"}));
  CHECK(json[6].value == nlohmann::json{{"x", 1}});
  CHECK((json[7].op == JsonExpectation::Op::ge && json[7].value == 0.5));
  CHECK(json[8].op == JsonExpectation::Op::lt);
  CHECK(json[9].op == JsonExpectation::Op::ne);
}

TEST_CASE("a check's headers override the defaults case-insensitively") {
  const auto suite = parse_ok(R"(defaults:
  headers: {Accept: application/json, X-Env: staging}
  follow_redirects: true
  max_redirects: 2
checks:
  - url: https://a.example.com/
    headers: {accept: text/plain}
  - url: https://b.example.com/
    follow_redirects: false
)");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  CHECK(suite.checks[0].http.headers == Headers{{"accept", "text/plain"}, {"X-Env", "staging"}});
  CHECK(suite.checks[0].http.follow_redirects);
  CHECK(suite.checks[0].http.max_redirects == 2);
  CHECK(suite.checks[1].http.headers == Headers{{"Accept", "application/json"}, {"X-Env", "staging"}});
  CHECK_FALSE(suite.checks[1].http.follow_redirects);
}

TEST_CASE("defaults may follow the checks in the file") {
  const auto suite = parse_ok("checks:\n  - tcp: localhost:22\ndefaults: {timeout: 1s}\n");
  CHECK(suite.checks[0].timeout == Duration(1000));
}

TEST_CASE("YAML anchors and merge keys share settings between checks") {
  const auto suite = parse_ok(R"(checks:
  - &api
    name: orders
    url: https://api.example.com/orders
    timeout: 3s
    expect: {status: 200}
  - <<: *api
    name: users
    url: https://api.example.com/users
)");
  CHECK(suite.checks[1].name == "users");
  CHECK(suite.checks[1].http.url == "https://api.example.com/users");
  CHECK(suite.checks[1].timeout == Duration(3000));
  CHECK(suite.checks[1].http.status[0].high == 200);
}

TEST_CASE("the wait phase takes a full check, and max_interval rises to meet a long interval") {
  const auto suite = parse_ok(R"(defaults: {retries: 5}
wait:
  check:
    command: [kubectl, rollout, status, deploy/shop]
    expect: {exit_code: 0}
  interval: 30s
checks:
  - url: https://shop.example.com/
)");
  const smoke::WaitSpec& wait = *suite.wait;
  CHECK(wait.probe.kind == Check::Kind::command);
  CHECK(wait.probe.retry.attempts == 1);
  CHECK(wait.probe.location == "checks.yml:4");
  CHECK(wait.interval == Duration(30000));
  CHECK(wait.max_interval == Duration(30000));
  CHECK(wait.successes == 1);
  CHECK(wait.deadline == Duration(120000));
}

TEST_CASE("body files are read relative to the checks file, up to 1 MiB") {
  test_support::TempDir dir;
  dir.write("bodies/order.json", R"({"id": 1})");
  const std::string checks = dir.write("conf/checks.yml", R"(checks:
  - url: https://api.example.com/
    method: POST
    body_file: ../bodies/order.json
)");
  auto suite = smoke::load_checks_file(checks, k_vars);
  REQUIRE(suite.ok());
  CHECK(suite->checks[0].http.body == R"({"id": 1})");

  dir.write("bodies/big.bin", std::string(1024 * 1024 + 1, 'x'));
  dir.write("conf/big.yml", "checks:\n  - url: https://a.example.com/\n    body_file: ../bodies/big.bin\n");
  auto big = smoke::load_checks_file(dir.file("conf/big.yml"), k_vars);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().location == dir.file("conf/big.yml") + ":3");
  CHECK(contains(big.error().message, "larger than 1 MiB"));

  dir.write("conf/missing.yml", "checks:\n  - url: https://a.example.com/\n    body_file: nope.json\n");
  auto missing = smoke::load_checks_file(dir.file("conf/missing.yml"), k_vars);
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message, "cannot read 'nope.json' (looked for " + dir.file("conf/nope.json")));
}

TEST_CASE("a checks file that cannot be read names the path") {
  auto suite = smoke::load_checks_file("/nonexistent/checks.yml", k_vars);
  REQUIRE_FALSE(suite.ok());
  CHECK(suite.error().kind == core::ErrorKind::invalid_input);
  CHECK(suite.error().location == "/nonexistent/checks.yml");
}

TEST_CASE("unknown keys are errors with file:line and a suggestion") {
  check_error("version: 1\nchecks:\n  - url: https://a.example.com/\n    timout: 5s\n", "checks.yml:4",
              "unknown key 'timout'; did you mean 'timeout'?");
  check_error("parralel: 4\nchecks:\n  - tcp: a:1\n", "checks.yml:1", "did you mean 'parallel'?");
  check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      stauts: 200\n", "checks.yml:4",
              "unknown key 'expect.stauts'; did you mean 'status'?");
  check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      body: {contain: ok}\n", "checks.yml:4",
              "unknown key 'expect.body.contain'; did you mean 'contains'?");
  check_error("wait: {url: https://a.example.com/, dedline: 1m}\nchecks:\n  - tcp: a:1\n", "checks.yml:1",
              "did you mean 'deadline'?");
  check_error("checks:\n  - url: https://a.example.com/\n    zzzzzzzzzz: 1\n", "checks.yml:3",
              "unknown key 'zzzzzzzzzz'");
}

TEST_CASE("a key given twice is an error naming both places") {
  check_error("checks:\n  - url: https://a.example.com/\n    timeout: 1s\n    timeout: 2s\n", "checks.yml:4",
              "key 'timeout' is given twice (first at checks.yml:3)");
}

TEST_CASE("invalid values name the key, what was found and what to write") {
  SUBCASE("duration") {
    check_error("checks:\n  - url: https://a.example.com/\n    timeout: 5 seconds\n", "checks.yml:3",
                "timeout must be a duration such as 500ms, 5s, 2m or 1h (more than zero), found '5 seconds'");
    check_error("checks:\n  - url: https://a.example.com/\n    timeout: 0s\n", "checks.yml:3", "more than zero");
    check_error("checks:\n  - url: https://a.example.com/\n    timeout:\n", "checks.yml:3", "found nothing");
  }
  SUBCASE("status") {
    check_error("checks:\n  - url: https://a.example.com/\n    expect: {status: [200, 2x]}\n", "checks.yml:3",
                "expect.status: '2x' is not an HTTP status; write 200, \"2xx\" or \"200-204\"");
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      status: 299-200\n", "checks.yml:4",
                "'299-200' is not an HTTP status");
    check_error("checks:\n  - url: https://a.example.com/\n    expect: {status: 600}\n", "checks.yml:3",
                "(codes 100 to 599)");
  }
  SUBCASE("regex") {
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      body: {regex: \"v[0-9\"}\n",
                "checks.yml:4", "expect.body.regex: invalid regular expression 'v[0-9'");
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      json: {/v: {regex: \"(\"}}\n",
                "checks.yml:4", "invalid regular expression '('");
  }
  SUBCASE("numbers and booleans") {
    check_error("parallel: 0\nchecks:\n  - tcp: a:1\n", "checks.yml:1",
                "parallel must be a whole number from 1 to 1024");
    check_error("checks:\n  - url: https://a.example.com/\n    retries: many\n", "checks.yml:3",
                "retries must be a whole number from 0 to 10, found 'many'");
    check_error("checks:\n  - url: https://a.example.com/\n    follow_redirects: yes\n", "checks.yml:3",
                "follow_redirects must be true or false, found 'yes'");
    check_error("wait: {url: https://a.example.com/, jitter: 2}\nchecks:\n  - tcp: a:1\n", "checks.yml:1",
                "wait.jitter must be a number from 0 to 1, found '2'");
    check_error("wait: {url: https://a.example.com/, interval: 5s, max_interval: 1s}\nchecks:\n  - tcp: a:1\n",
                "checks.yml:1", "wait.max_interval must not be shorter than wait.interval");
  }
  SUBCASE("json expectations") {
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      json: {\"$.items[0].id\": 1}\n",
                "checks.yml:4",
                "is not a JSON Pointer (RFC 6901); write it like /items/0/id; did you mean '/items/0/id'?");
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      json: {/count: {gt: lots}}\n",
                "checks.yml:4", "compares numbers");
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      json: {/n: {type: strng}}\n",
                "checks.yml:4", "did you mean 'string'?");
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      json: {/n: {exists: false}}\n",
                "checks.yml:4", "only `exists: true` can be checked");
    check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      json: {/n: {a: 1}}\n", "checks.yml:4",
                "to compare with an object write {equals: {...}}");
  }
  SUBCASE("urls and headers") {
    check_error("checks:\n  - url: example.com/\n", "checks.yml:2",
                "url 'example.com/' must start with http:// or https://");
    check_error("checks:\n  - url: ${EMPTY}/healthz\n", "checks.yml:2",
                "must start with http:// or https:// (after substitution: '/healthz')");
    check_error("checks:\n  - url: https://a.example.com/\n    headers: {X-Token: \"${MULTILINE}\"}\n", "checks.yml:3",
                "the value contains a line break");
    check_error("checks:\n  - url: http://a.example.com/\n    expect: {cert_valid_days: 14}\n", "checks.yml:3",
                "the url must start with https://");
    check_error("checks:\n  - url: https://a.example.com/\n    expect: {body: ok}\n", "checks.yml:3",
                "expect.body must be a mapping such as {contains: \"ok\"");
  }
}

TEST_CASE("kinds: one of url, tcp, command; keys of another kind are refused") {
  check_error("checks:\n  - name: nothing\n", "checks.yml:2",
              "a check needs one of url (HTTP), tcp (host:port) or command");
  check_error("checks:\n  - url: https://a.example.com/\n    tcp: a:1\n", "checks.yml:3",
              "has both 'url' and 'tcp'; split it into two checks");
  check_error("checks:\n  - tcp: db:5432\n    method: GET\n", "checks.yml:3",
              "'method' applies to url (HTTP) checks only; this is a tcp check");
  check_error("checks:\n  - url: https://a.example.com/\n    expect: {exit_code: 0}\n", "checks.yml:3",
              "'expect.exit_code' applies to command checks only");
  check_error("checks:\n  - tcp: db:5432\n    expect: {status: 200}\n", "checks.yml:3",
              "a tcp check has nothing to expect");
  check_error("wait:\n  check: {url: https://a.example.com/, retries: 2}\nchecks:\n  - tcp: a:1\n", "checks.yml:2",
              "retries has no effect in wait.check");
  check_error("wait:\n  check: {tcp: a:1}\n  expect_status: 200\nchecks:\n  - tcp: a:1\n", "checks.yml:3",
              "wait.expect_status goes with wait.url");
}

TEST_CASE("tcp needs host:port") {
  check_error("checks:\n  - tcp: db.internal\n", "checks.yml:2",
              "tcp needs host:port, such as db.internal:5432 or [::1]:5432; found 'db.internal'");
  check_error("checks:\n  - tcp: db.internal:99999\n", "checks.yml:2", "a port from 1 to 65535");
  check_error("checks:\n  - tcp: tcp://db:5432\n", "checks.yml:2", "write tcp: db:5432");
}

TEST_CASE("command must be a list, never a shell line") {
  check_error("checks:\n  - command: psql -c \"select 1\"\n", "checks.yml:2",
              "command must be a list of arguments, because it never runs through a shell; write command: [psql, -c, "
              "\"select 1\"]");
  check_error("checks:\n  - command: curl -fsS http://localhost:8080/\n", "checks.yml:2",
              "write command: [curl, -fsS, \"http://localhost:8080/\"]");
  check_error("checks:\n  - command: []\n", "checks.yml:2", "command must be a non-empty list");
}

TEST_CASE("body, body_file and json exclude each other") {
  check_error("checks:\n  - url: https://a.example.com/\n    body: x\n    json: {a: 1}\n", "checks.yml:4",
              "give only one of body, body_file and json; this check has both 'body' and 'json'");
}

TEST_CASE("check names must be unique, including generated ones") {
  check_error(
      "checks:\n  - name: home\n    url: https://a.example.com/\n  - name: home\n    url: https://b.example.com/\n",
      "checks.yml:4", "two checks are named 'home' (the other is at checks.yml:2)");
  check_error("checks:\n  - url: https://a.example.com/\n  - url: https://a.example.com/\n", "checks.yml:3",
              "two checks are named 'GET https://a.example.com/'");
}

TEST_CASE("version, empty files, missing checks and broken YAML") {
  check_error("version: 2\nchecks:\n  - tcp: a:1\n", "checks.yml:1",
              "unsupported checks file version '2'; this shipgate reads version 1");
  check_error("", "checks.yml", "the checks file is empty");
  check_error("version: 1\n", "checks.yml:1", "has no checks: list");
  check_error("checks: []\n", "checks.yml:1", "checks must be a non-empty list");
  check_error("- url: https://a.example.com/\n", "checks.yml:1", "a checks file is a mapping");
  check_error("checks:\n  - url: [unclosed\n", "checks.yml:3", "invalid YAML");
}

TEST_CASE("an unknown ${VAR} names the variable and the place") {
  check_error("checks:\n  - url: ${BASE_ULR}/\n", "checks.yml:2",
              "url: unknown variable 'BASE_ULR'; set it in the environment or pass --var BASE_ULR=VALUE (did you mean "
              "'BASE_URL'?)");
  check_error("checks:\n  - url: https://a.example.com/\n    expect:\n      body: {contains: \"${VERSION}\"}\n",
              "checks.yml:4", "expect.body.contains: unknown variable 'VERSION'");
}

TEST_CASE("interpolate") {
  const smoke::Variables vars = {{"A", "1"}, {"HOST", "example.com"}, {"LOOP", "${A}"}, {"EMPTY", ""}};
  CHECK(*smoke::interpolate("https://${HOST}/v${A}", vars) == "https://example.com/v1");
  CHECK(*smoke::interpolate("${A}${A}${EMPTY}", vars) == "11");
  CHECK(*smoke::interpolate("$${A} costs $5 and ${A}", vars) == "${A} costs $5 and 1");
  CHECK(*smoke::interpolate("${LOOP}", vars) == "${A}"); // values are not interpolated again
  CHECK(*smoke::interpolate("no variables, $ { }", vars) == "no variables, $ { }");
  CHECK(*smoke::interpolate("", vars) == "");

  const auto unknown = smoke::interpolate("${HOTS}", vars);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message ==
        "unknown variable 'HOTS'; set it in the environment or pass --var HOTS=VALUE (did you mean 'HOST'?)");
  CHECK(contains(smoke::interpolate("${A", vars).error().message, "'${' is not closed by '}'"));
  CHECK(contains(smoke::interpolate("${}", vars).error().message, "'${}' is not a variable"));
  CHECK(contains(smoke::interpolate("${A-B}", vars).error().message, "'${A-B}' is not a variable"));
  CHECK(contains(smoke::interpolate("${1A}", vars).error().message, "is not a variable"));
}

TEST_CASE("parse_duration") {
  CHECK(smoke::parse_duration("500ms") == Duration(500));
  CHECK(smoke::parse_duration("5s") == Duration(5000));
  CHECK(smoke::parse_duration("2m") == Duration(120000));
  CHECK(smoke::parse_duration("1h") == Duration(3600000));
  CHECK(smoke::parse_duration("1m30s") == Duration(90000));
  CHECK(smoke::parse_duration("1.5s") == Duration(1500));
  CHECK(smoke::parse_duration("3") == Duration(3000));
  CHECK(smoke::parse_duration("0.25") == Duration(250));
  CHECK(smoke::parse_duration(" 10s ") == Duration(10000));
  CHECK(smoke::parse_duration("0s") == Duration(0));
  for (const char* bad : {"", "s", "5x", "-5s", "5 s", "1m5", "five", "1..5s", "5sec", "99999999h"})
    CHECK_MESSAGE(!smoke::parse_duration(bad).has_value(), bad);
}

TEST_CASE("quick_suite: one GET check per --url, the flags apply to all") {
  smoke::QuickOptions options;
  options.urls = {"https://shop.example.com/", "${BASE_URL}/healthz"};
  options.expect_status = {"200", "3xx,204-206"};
  options.expect_body = {"ok", "${DB_HOST}"};
  options.timeout = "3s";
  auto suite = smoke::quick_suite(options, k_vars);
  REQUIRE_MESSAGE(suite.ok(), (suite.ok() ? std::string() : suite.error().describe()));
  REQUIRE(suite->checks.size() == 2);
  CHECK_FALSE(suite->wait.has_value());
  const Check& second = suite->checks[1];
  CHECK(second.name == "${BASE_URL}/healthz");
  CHECK(second.http.url == "https://shop.example.com/healthz");
  CHECK(second.http.method == "GET");
  CHECK(second.timeout == Duration(3000));
  REQUIRE(second.http.status.size() == 3);
  CHECK((second.http.status[0].low == 200 && second.http.status[0].high == 200));
  CHECK((second.http.status[1].low == 300 && second.http.status[1].high == 399));
  CHECK((second.http.status[2].low == 204 && second.http.status[2].high == 206));
  REQUIRE(second.http.body_expectations.size() == 2);
  CHECK(second.http.body_expectations[1].op == smoke::BodyExpectation::Op::contains);
  CHECK(second.http.body_expectations[1].value == "db.internal");

  smoke::QuickOptions plain;
  plain.urls = {"http://127.0.0.1:8080/"};
  const auto plain_suite = smoke::quick_suite(plain, {});
  REQUIRE(plain_suite.ok());
  const Check& only = plain_suite->checks.at(0);
  CHECK(only.name == "http://127.0.0.1:8080/");
  CHECK(only.timeout == Duration(10000));
  CHECK((only.http.status[0].low == 200 && only.http.status[0].high == 299));
}

TEST_CASE("quick_suite errors are usage errors naming the flag") {
  const auto error = [](smoke::QuickOptions options) {
    auto suite = smoke::quick_suite(options, k_vars);
    REQUIRE_FALSE(suite.ok());
    CHECK(suite.error().kind == core::ErrorKind::usage);
    return suite.error().message;
  };
  CHECK(contains(error({}), "give --url URL at least once"));
  CHECK(contains(error({{"example.com"}, {}, {}, ""}), "--url 'example.com' must start with http:// or https://"));
  CHECK(contains(error({{"${NOPE}/"}, {}, {}, ""}), "--url '${NOPE}/': unknown variable 'NOPE'"));
  CHECK(contains(error({{"https://a/", "https://a/"}, {}, {}, ""}), "--url 'https://a/' is given twice"));
  CHECK(contains(error({{"https://a/"}, {"2x"}, {}, ""}), "--expect-status '2x' is not an HTTP status"));
  CHECK(contains(error({{"https://a/"}, {}, {}, "soon"}), "--timeout 'soon' is not a duration"));
  CHECK(contains(error({{"https://a/"}, {}, {"${X}"}, ""}), "--expect-body '${X}': unknown variable 'X'"));
}

TEST_CASE("JSON values that are not UTF-8 are refused at their line, not thrown at the run") {
  // Found by fuzzing: an expected value with a stray Latin-1 byte reached
  // nlohmann's dump() when the check was evaluated, which threw.
  check_error("version: 1\nchecks:\n  - url: https://a.example/\n    expect: {json: {/status: \"ok\xa7\"}}\n",
              "checks.yml:4", "not valid UTF-8");
  check_error("version: 1\nchecks:\n  - url: https://a.example/\n    method: POST\n    json: {n\xe9: 1}\n",
              "checks.yml:5", "not valid UTF-8");
  check_error("version: 1\nchecks:\n  - url: https://a.example/\n    expect: {json: {/v: {regex: \"^1\xff\"}}}\n",
              "checks.yml:4", "not valid UTF-8");
  // A variable's value is checked once interpolated.
  smoke::Variables vars = k_vars;
  vars["BAD"] = "\xff";
  const auto suite = smoke::parse_checks("version: 1\nchecks:\n  - url: https://a.example/\n    expect: {json: {/a: \"${BAD}\"}}\n",
                                         "checks.yml", vars);
  REQUIRE_FALSE(suite.ok());
  CHECK(contains(suite.error().message, "not valid UTF-8"));
  // UTF-8 text is fine.
  CHECK(parse_ok("version: 1\nchecks:\n  - url: https://a.example/\n    expect: {json: {/name: \"测试\"}}\n").checks.size() == 1);
}
