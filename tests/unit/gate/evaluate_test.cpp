#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "gate/evaluate.hpp"
#include "gate/tally.hpp"

using core::CheckStatus;
using core::ExitCode;
using core::Verdict;
using report::Outcome;

namespace {

// A gate run built by hand: set the policy, feed test cases, evaluate.
class Scenario {
public:
  gate::Policy policy;
  std::vector<gate::ReportFile> files{{"reports/junit.xml", "junit", 0, {}}};
  std::optional<gate::Baseline> baseline;
  core::SystemTime now = *core::parse_time("2026-06-01T12:00:00Z");

  // The tally keeps a reference to the policy and sizes itself from it, so
  // it is made on first use, after the policy is set.
  gate::Tally& tally() {
    if (!m_tally) m_tally = std::make_unique<gate::Tally>(policy);
    return *m_tally;
  }

  Scenario& add(const std::string& name, Outcome outcome, const std::string& classname = "pkg.Suite") {
    report::TestCase test;
    test.suite = "suite";
    test.classname = classname;
    test.name = name;
    test.outcome = outcome;
    if (outcome != Outcome::passed) test.message = name + " went wrong";
    tally().on_case(test);
    return *this;
  }
  Scenario& add_many(int count, Outcome outcome, const std::string& prefix) {
    for (int i = 0; i < count; ++i) add(prefix + std::to_string(i), outcome);
    return *this;
  }

  const core::StepResult& run() {
    gate::GateInput input;
    input.policy = &policy;
    input.tally = &tally();
    input.files = files;
    input.baseline = baseline;
    input.now = now;
    m_result = gate::evaluate(input);
    return *m_result;
  }

  const core::Check& check(const std::string& id) const {
    for (const auto& check : m_result->checks)
      if (check.id == id) return check;
    FAIL("no check with id " << id);
    static core::Check none;
    return none;
  }
  bool has_check(const std::string& id) const {
    for (const auto& check : m_result->checks)
      if (check.id == id) return true;
    return false;
  }

private:
  std::unique_ptr<gate::Tally> m_tally;
  std::optional<core::StepResult> m_result;
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("all tests passing is a pass with exit code 0") {
  Scenario s;
  s.add_many(5, Outcome::passed, "ok_");
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::pass);
  CHECK(result.exit_code == ExitCode::success);
  CHECK(result.step == "gate-on-test-report");
  CHECK(result.checks_label == "rules");
  for (const auto& check : result.checks) {
    CAPTURE(check.id);
    CHECK(check.status == CheckStatus::pass);
  }
  CHECK(s.check("failures-A").status == CheckStatus::pass);
  CHECK(s.check("min-tests").actual == "5");
  CHECK(contains(result.headline, "PASS"));
}

TEST_CASE("one B-level failure with the default policy fails with exit code 1") {
  Scenario s;
  s.add_many(3, Outcome::passed, "ok_").add("test_refund", Outcome::failed);
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::fail);
  CHECK(result.exit_code == ExitCode::negative_verdict);
  CHECK(core::to_int(result.exit_code) == 1);
  const auto& b = s.check("failures-B");
  CHECK(b.status == CheckStatus::fail);
  CHECK(b.actual == "1");
  CHECK(b.limit == "<= 0");
  CHECK(contains(b.explanation, "pkg.Suite::test_refund"));
  CHECK(s.check("failures-A").status == CheckStatus::pass);
  CHECK(s.check("failures-C").status == CheckStatus::pass);
  CHECK(contains(result.headline, "FAIL"));
  CHECK(contains(result.headline, "failures-B"));
  REQUIRE_FALSE(result.findings.empty());
  CHECK(contains(result.findings[0].title, "[B] failed: pkg.Suite::test_refund"));
  CHECK(result.findings[0].message == "test_refund went wrong");
}

TEST_CASE("severity levels decide which limit a failure counts against") {
  Scenario s;
  s.add("[A] checkout", Outcome::failed).add("[P0] login", Outcome::error).add("ok", Outcome::passed);
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::fail);
  CHECK(s.check("failures-A").status == CheckStatus::fail);
  CHECK(s.check("failures-A").actual == "2");
  CHECK(s.check("failures-B").actual == "0");
  CHECK(result.details["by_level"]["A"] == 2);
}

TEST_CASE("C-level failures within max_failures C=3 pass; one more fails") {
  Scenario s;
  s.policy.max_failures[static_cast<int>(gate::Level::C)] = 3;
  s.add("ok", Outcome::passed);
  for (int i = 0; i < 3; ++i) s.add("[C] cosmetic " + std::to_string(i), Outcome::failed);
  SUBCASE("three") {
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::pass);
    CHECK(result.exit_code == ExitCode::success);
    CHECK(s.check("failures-C").status == CheckStatus::pass);
    CHECK(s.check("failures-C").actual == "3");
    CHECK(s.check("failures-C").limit == "<= 3");
  }
  SUBCASE("four") {
    s.add("[minor] cosmetic 4", Outcome::failed);
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::fail);
    CHECK(s.check("failures-C").status == CheckStatus::fail);
    CHECK(s.check("failures-C").actual == "4");
  }
}

TEST_CASE("zero tests is inconclusive with exit code 2") {
  Scenario s;
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::inconclusive);
  CHECK(result.exit_code == ExitCode::usage);
  CHECK(core::to_int(result.exit_code) == 2);
  CHECK(s.check("min-tests").status == CheckStatus::inconclusive);
  CHECK(contains(result.headline, "INCONCLUSIVE"));
}

TEST_CASE("only skipped tests still count as tests, but the pass rate cannot be judged") {
  Scenario s;
  s.policy.min_pass_rate = 90;
  s.add_many(3, Outcome::skipped, "skip_");
  s.run();
  CHECK(s.check("min-tests").status == CheckStatus::pass);
  CHECK(s.check("pass-rate").status == CheckStatus::fail);
}

TEST_CASE("no report files is inconclusive") {
  Scenario s;
  s.files.clear();
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::inconclusive);
  CHECK(result.exit_code == ExitCode::usage);
  CHECK(s.check("reports-found").status == CheckStatus::inconclusive);
  CHECK(s.check("reports-found").actual == "0");
}

TEST_CASE("an unreadable report file is inconclusive even when the others pass") {
  Scenario s;
  s.files.push_back({"reports/broken.xml", "junit", 0, "reports/broken.xml:3:1: the report ends in the middle of a tag"});
  s.add_many(10, Outcome::passed, "ok_");
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::inconclusive);
  CHECK(result.exit_code == ExitCode::usage);
  const auto& readable = s.check("reports-readable");
  CHECK(readable.status == CheckStatus::inconclusive);
  CHECK(contains(readable.explanation, "reports/broken.xml:3:1"));
  CHECK(result.details["reports"].size() == 2);
  CHECK(result.details["reports"][1]["error"] == s.files[1].error);
}

TEST_CASE("inconclusive outranks fail") {
  Scenario s;
  s.files.push_back({"bad.xml", "", 0, "bad.xml:1: binary data"});
  s.add("broken", Outcome::failed);
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::inconclusive);
  CHECK(result.exit_code == ExitCode::usage);
}

TEST_CASE("a suite error fails the gate") {
  Scenario s;
  s.add_many(4, Outcome::passed, "ok_");
  s.tally().on_suite_error({"payments", "the TAP stream bailed out: db down", {}, "r.tap:7"});
  const auto& result = s.run();
  CHECK(result.verdict == Verdict::fail);
  CHECK(result.exit_code == ExitCode::negative_verdict);
  const auto& check = s.check("suite-errors");
  CHECK(check.status == CheckStatus::fail);
  CHECK(contains(check.explanation, "r.tap:7: the TAP stream bailed out"));
  REQUIRE(result.details["suite_errors"].size() == 1);
  CHECK(result.details["suite_errors"][0]["location"] == "r.tap:7");
}

TEST_CASE("min pass rate") {
  Scenario s;
  s.policy.min_pass_rate = 90;
  s.policy.max_failures = {10, 10, 10};
  s.add_many(9, Outcome::passed, "ok_").add_many(2, Outcome::skipped, "skip_");
  SUBCASE("exactly at the limit") {
    s.add("bad", Outcome::failed);
    s.run();
    CHECK(s.check("pass-rate").status == CheckStatus::pass);
    CHECK(s.check("pass-rate").actual == "90.00%");
  }
  SUBCASE("below the limit") {
    s.add("bad1", Outcome::failed).add("bad2", Outcome::error);
    const auto& result = s.run();
    CHECK(s.check("pass-rate").status == CheckStatus::fail);
    CHECK(s.check("pass-rate").actual == "81.82%");
    CHECK(result.verdict == Verdict::fail);
  }
  SUBCASE("flaky tests count as passed") {
    s.add("bad", Outcome::failed).add("wobbly", Outcome::flaky);
    s.run();
    CHECK(s.check("pass-rate").status == CheckStatus::pass);
  }
}

TEST_CASE("no pass-rate check without a limit") {
  Scenario s;
  s.add("ok", Outcome::passed);
  s.run();
  CHECK_FALSE(s.has_check("pass-rate"));
  CHECK_FALSE(s.has_check("skipped-ratio"));
}

TEST_CASE("max skipped ratio") {
  Scenario s;
  s.policy.max_skipped_ratio = 10;
  s.add_many(9, Outcome::passed, "ok_").add("skip_0", Outcome::skipped);
  SUBCASE("at the limit") {
    const auto& result = s.run();
    CHECK(s.check("skipped-ratio").status == CheckStatus::pass);
    CHECK(result.verdict == Verdict::pass);
  }
  SUBCASE("above the limit") {
    s.add("skip_1", Outcome::skipped);
    const auto& result = s.run();
    CHECK(s.check("skipped-ratio").status == CheckStatus::fail);
    CHECK(result.verdict == Verdict::fail);
  }
}

TEST_CASE("flaky modes") {
  Scenario s;
  s.add_many(3, Outcome::passed, "ok_").add("wobbly", Outcome::flaky);
  SUBCASE("pass") {
    s.policy.flaky = gate::FlakyMode::pass;
    const auto& result = s.run();
    CHECK(s.check("flaky").status == CheckStatus::pass);
    CHECK(result.verdict == Verdict::pass);
  }
  SUBCASE("warn") {
    s.policy.flaky = gate::FlakyMode::warn;
    const auto& result = s.run();
    CHECK(s.check("flaky").status == CheckStatus::warn);
    CHECK(s.check("flaky").actual == "1");
    CHECK(result.verdict == Verdict::pass);
    CHECK(result.exit_code == ExitCode::success);
  }
  SUBCASE("fail") {
    s.policy.flaky = gate::FlakyMode::fail;
    const auto& result = s.run();
    CHECK(s.check("flaky").status == CheckStatus::fail);
    CHECK(result.verdict == Verdict::fail);
    CHECK(result.exit_code == ExitCode::negative_verdict);
  }
  CHECK(s.tally().totals().flaky == 1);
}

TEST_CASE("a flaky test does not count against the failure limits") {
  Scenario s;
  s.add("[A] wobbly", Outcome::flaky);
  const auto& result = s.run();
  CHECK(s.check("failures-A").actual == "0");
  CHECK(result.details["flaky"] == nlohmann::json::array({"pkg.Suite::[A] wobbly"}));
  CHECK(result.details["failing_ids"].empty());
}

TEST_CASE("duplicate ids: the attempts of one test count once") {
  Scenario s;
  SUBCASE("failed, then passed on a rerun: flaky") {
    s.add("t", Outcome::failed).add("t", Outcome::passed);
    const auto& totals = s.tally().totals();
    CHECK(totals.tests == 1);
    CHECK(totals.flaky == 1);
    CHECK(totals.failed == 0);
    CHECK(totals.passed == 0);
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::pass);
    CHECK(s.check("failures-B").actual == "0");
  }
  SUBCASE("failed twice: one failure") {
    s.add("t", Outcome::failed).add("t", Outcome::failed);
    const auto& totals = s.tally().totals();
    CHECK(totals.tests == 1);
    CHECK(totals.failed == 1);
    s.run();
    CHECK(s.check("failures-B").actual == "1");
  }
  SUBCASE("failed, then error: one error") {
    s.add("t", Outcome::failed).add("t", Outcome::error);
    const auto& totals = s.tally().totals();
    CHECK(totals.tests == 1);
    CHECK(totals.errors == 1);
    CHECK(totals.failed == 0);
  }
  SUBCASE("error, then failed: still one error") {
    s.add("t", Outcome::error).add("t", Outcome::failed);
    CHECK(s.tally().totals().errors == 1);
    CHECK(s.tally().totals().tests == 1);
  }
  SUBCASE("flaky, then failed on a later run: failed") {
    s.add("t", Outcome::flaky).add("t", Outcome::failed);
    CHECK(s.tally().totals().failed == 1);
    CHECK(s.tally().totals().flaky == 0);
    CHECK(s.tally().totals().tests == 1);
  }
  SUBCASE("failed three times then passed: flaky, three occurrences") {
    s.add("t", Outcome::failed).add("t", Outcome::failed).add("t", Outcome::failed).add("t", Outcome::passed);
    CHECK(s.tally().totals().flaky == 1);
    CHECK(s.tally().totals().tests == 1);
    CHECK(s.tally().duplicates() == 3);
  }
  SUBCASE("the same name in another class is another test") {
    s.add("t", Outcome::failed, "A").add("t", Outcome::passed, "B");
    CHECK(s.tally().totals().tests == 2);
    CHECK(s.tally().totals().failed == 1);
  }
}

TEST_CASE("quarantine") {
  Scenario s;
  gate::QuarantineEntry entry;
  entry.test = "pkg.Suite::test_slow*";
  entry.reason = "times out on shared runners";
  entry.ticket = "OPS-7";
  s.add("ok", Outcome::passed);

  SUBCASE("an active entry sets the failure aside") {
    entry.expires_text = "2026-12-31";
    entry.expires = core::parse_date_end(entry.expires_text);
    s.policy.quarantine.push_back(entry);
    s.add("test_slow_upload", Outcome::failed);
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::pass);
    CHECK(s.check("failures-B").actual == "0");
    CHECK(s.check("quarantine").status == CheckStatus::pass);
    CHECK(s.check("quarantine").actual == "1");
    REQUIRE(result.details["failures"].size() == 1);
    CHECK(result.details["failures"][0]["counted"] == false);
    CHECK(result.details["failures"][0]["quarantine"]["ticket"] == "OPS-7");
    CHECK(s.tally().totals().failed == 1); // still reported as failed
  }
  SUBCASE("an entry without an expiry date stays active") {
    s.policy.quarantine.push_back(entry);
    s.add("test_slow_upload", Outcome::error);
    CHECK(s.run().verdict == Verdict::pass);
  }
  SUBCASE("an expired entry counts the failure again and the quarantine check warns") {
    entry.expires_text = "2026-05-31";
    entry.expires = core::parse_date_end(entry.expires_text);
    s.policy.quarantine.push_back(entry);
    s.add("test_slow_upload", Outcome::failed);
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::fail);
    CHECK(s.check("failures-B").actual == "1");
    CHECK(s.check("quarantine").status == CheckStatus::warn);
    CHECK(contains(s.check("quarantine").explanation, "2026-05-31"));
    CHECK(result.details["failures"][0]["counted"] == true);
  }
  SUBCASE("the expiry day itself is still covered") {
    entry.expires_text = "2026-06-01";
    entry.expires = core::parse_date_end(entry.expires_text);
    s.policy.quarantine.push_back(entry);
    s.add("test_slow_upload", Outcome::failed);
    CHECK(s.run().verdict == Verdict::pass);
  }
  SUBCASE("an entry for another test does not apply") {
    s.policy.quarantine.push_back(entry);
    s.add("test_fast", Outcome::failed);
    CHECK(s.run().verdict == Verdict::fail);
  }
}

TEST_CASE("baseline: known failures are not counted, new ones are, fixed ones are listed") {
  Scenario s;
  s.baseline = gate::Baseline{"previous.json", {"pkg.Suite::known", "pkg.Suite::fixed", "pkg.Suite::gone"}};
  s.tally().watch(s.baseline->failing_ids);
  s.add("known", Outcome::failed).add("fixed", Outcome::passed).add("other", Outcome::passed);

  SUBCASE("only known failures: pass") {
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::pass);
    CHECK(s.check("failures-B").actual == "0");
    CHECK(s.check("baseline").actual == "1");
    CHECK(result.details["fixed"] == nlohmann::json::array({"pkg.Suite::fixed"}));
    CHECK(result.details["failures"][0]["new"] == false);
    CHECK(result.details["failures"][0]["counted"] == false);
  }
  SUBCASE("a new failure counts") {
    s.add("brand_new", Outcome::failed);
    const auto& result = s.run();
    CHECK(result.verdict == Verdict::fail);
    CHECK(s.check("failures-B").actual == "1");
    CHECK(contains(s.check("failures-B").explanation, "pkg.Suite::brand_new"));
    CHECK_FALSE(contains(s.check("failures-B").explanation, "pkg.Suite::known"));
    CHECK(result.details["fixed"] == nlohmann::json::array({"pkg.Suite::fixed"}));
    bool found_new = false;
    for (const auto& failure : result.details["failures"])
      if (failure["id"] == "pkg.Suite::brand_new") {
        found_new = true;
        CHECK(failure["new"] == true);
        CHECK(failure["counted"] == true);
      }
    CHECK(found_new);
  }
  CHECK(s.tally().ran("pkg.Suite::fixed"));
  CHECK_FALSE(s.tally().ran("pkg.Suite::gone"));
}

TEST_CASE("required suites") {
  Scenario s;
  s.policy.required_suites = {"payments", "checkout*"};
  s.add("ok", Outcome::passed);
  SUBCASE("present, as a full path or its last part") {
    s.tally().on_suite("root / payments");
    s.tally().on_suite("checkout-e2e");
    const auto& result = s.run();
    CHECK(s.check("required-suites").status == CheckStatus::pass);
    CHECK(result.verdict == Verdict::pass);
  }
  SUBCASE("missing") {
    s.tally().on_suite("payments-old");
    s.tally().on_suite("checkout");
    const auto& result = s.run();
    const auto& check = s.check("required-suites");
    CHECK(check.status == CheckStatus::fail);
    CHECK(contains(check.explanation, "payments"));
    CHECK_FALSE(contains(check.explanation, "checkout*"));
    CHECK(check.actual == "1");
    CHECK(result.verdict == Verdict::fail);
  }
}

TEST_CASE("min_tests above the count fails") {
  Scenario s;
  s.policy.min_tests = 5;
  s.add_many(4, Outcome::passed, "ok_");
  const auto& result = s.run();
  CHECK(s.check("min-tests").status == CheckStatus::fail);
  CHECK(result.verdict == Verdict::fail);
}

TEST_CASE("the JSON details carry the totals and the failing ids") {
  Scenario s;
  s.policy.max_failures = {5, 5, 5};
  s.add_many(2, Outcome::passed, "ok_")
      .add("f1", Outcome::failed)
      .add("e1", Outcome::error)
      .add("s1", Outcome::skipped)
      .add("w1", Outcome::flaky);
  const auto& result = s.run();
  const auto& totals = result.details.at("totals");
  CHECK(totals == nlohmann::json{{"tests", 6}, {"passed", 2}, {"failed", 1}, {"errors", 1}, {"skipped", 1},
                                 {"flaky", 1}});
  const auto& ids = result.details.at("failing_ids");
  REQUIRE(ids.is_array());
  CHECK(ids.size() == 2);
  CHECK(std::find(ids.begin(), ids.end(), "pkg.Suite::f1") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "pkg.Suite::e1") != ids.end());
  CHECK(result.details.at("failures_total") == 2);
  CHECK(result.details.at("policy").at("max_failures").at("A") == 5);
  // The same numbers go to $GITHUB_OUTPUT.
  bool saw_failed = false;
  for (const auto& [key, value] : result.outputs)
    if (key == "failed") {
      saw_failed = true;
      CHECK(value == "1");
    }
  CHECK(saw_failed);
}

TEST_CASE("errors are listed before failures") {
  Scenario s;
  s.add("f", Outcome::failed).add("e", Outcome::error);
  const auto& result = s.run();
  REQUIRE(result.details["failures"].size() == 2);
  CHECK(result.details["failures"][0]["id"] == "pkg.Suite::e");
  CHECK(result.details["failures"][0]["status"] == "error");
}
