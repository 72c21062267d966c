// Every producer fixture under tests/fixtures/producers/<id>/ holds real
// reports and an expected.json whose totals were derived from the suite's
// design. Reading the listed files into a Tally must give those totals.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gate/policy.hpp"
#include "gate/tally.hpp"
#include "report/detect.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> producer_folders() {
  std::vector<fs::path> folders;
  const fs::path root = fs::path(SHIPGATE_SOURCE_DIR) / "tests/fixtures/producers";
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && fs::exists(entry.path() / "expected.json")) folders.push_back(entry.path());
  std::sort(folders.begin(), folders.end());
  return folders;
}

nlohmann::json load_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

} // namespace

TEST_CASE("the producer fixtures are all there") {
  CHECK(producer_folders().size() >= 25);
}

TEST_CASE("every producer's report reads to its expected totals") {
  for (const auto& folder : producer_folders()) {
    const std::string producer = folder.filename().string();
    INFO("producer: ", producer);
    const nlohmann::json expected = load_json(folder / "expected.json");
    REQUIRE(expected.contains("files"));
    REQUIRE(expected.contains("totals"));

    gate::Policy policy;
    gate::Tally tally(policy);
    for (const auto& name : expected["files"]) {
      const std::string path = (folder / name.get<std::string>()).string();
      INFO("file: ", path);
      tally.begin_file(path);
      const auto format = report::detect_format(path);
      REQUIRE_MESSAGE(format.ok(), (format.ok() ? std::string() : format.error().describe()));
      const auto status = report::read_report(path, *format, tally);
      CHECK_MESSAGE(status.ok(), (status.ok() ? std::string() : status.error().describe()));
    }

    const auto& want = expected["totals"];
    const auto& got = tally.totals();
    CHECK(got.tests == want.at("tests").get<long>());
    CHECK(got.passed == want.at("passed").get<long>());
    CHECK(got.failed == want.at("failed").get<long>());
    CHECK(got.errors == want.at("errors").get<long>());
    CHECK(got.skipped == want.at("skipped").get<long>());
    CHECK(got.flaky == want.at("flaky").get<long>());
    CHECK(got.tests == got.passed + got.failed + got.errors + got.skipped + got.flaky);
    CHECK(tally.suite_error_count() == expected.value("suite_errors", 0L));
  }
}
