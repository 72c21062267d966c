#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <vector>

#include "render/outputs.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);)
    lines.push_back(line);
  return lines;
}

// Parses $GITHUB_OUTPUT the way the runner does (heredoc entries only).
std::vector<std::pair<std::string, std::string>> parse_github_output(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> entries;
  const auto lines = lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto marker = lines[i].find("<<");
    REQUIRE(marker != std::string::npos);
    const std::string name = lines[i].substr(0, marker), delimiter = lines[i].substr(marker + 2);
    std::string value;
    bool first = true;
    for (++i; i < lines.size() && lines[i] != delimiter; ++i, first = false)
      value += (first ? "" : "\n") + lines[i];
    REQUIRE(i < lines.size());
    entries.emplace_back(name, value);
  }
  return entries;
}

} // namespace

TEST_CASE("every output is a heredoc with a random ghadelimiter") {
  const std::string text = render::github_output({{"verdict", "fail"}, {"summary", "line1\nline2"}});
  const auto entries = parse_github_output(text);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0] == std::pair<std::string, std::string>{"verdict", "fail"});
  CHECK(entries[1] == std::pair<std::string, std::string>{"summary", "line1\nline2"});
  const auto first_line = lines_of(text)[0];
  CHECK(first_line.rfind("verdict<<ghadelimiter_", 0) == 0);
  CHECK(first_line.size() == std::string("verdict<<ghadelimiter_").size() + 32);
}

TEST_CASE("random delimiters differ") {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i)
    seen.insert(render::random_delimiter());
  CHECK(seen.size() == 20);
}

TEST_CASE("a value containing the delimiter gets another delimiter") {
  int calls = 0;
  const auto make = [&] { return ++calls == 1 ? std::string("ghadelimiter_1") : std::string("ghadelimiter_2"); };
  const std::string text = render::github_output({{"x", "a\nghadelimiter_1\nevil<<y"}}, make);
  CHECK(text == "x<<ghadelimiter_2\na\nghadelimiter_1\nevil<<y\nghadelimiter_2\n");
}

TEST_CASE("a hostile value cannot set a second output") {
  const auto entries = parse_github_output(render::github_output({{"a", "v\nb<<EOF\ninjected\nEOF"}}));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].second == "v\nb<<EOF\ninjected\nEOF");
}

TEST_CASE("output names are restricted and values sanitized") {
  const std::string text = render::github_output({{"bad name=x", "v\xff"}}, [] { return std::string("D"); });
  CHECK(text == "bad_name_x<<D\nv\xEF\xBF\xBD\nD\n");
}

TEST_CASE("dotenv lines follow GitLab's rules") {
  const auto file = render::dotenv({{"verdict", "fail"},
                                    {"failed-tests", "a\nb\r\nc"},
                                    {"quoted", "\"keep\" 'as is'"},
                                    {"padded", "  x  "},
                                    {"empty", ""}});
  CHECK(file.text == "SHIPGATE_VERDICT=fail\nSHIPGATE_FAILED_TESTS=a b  c\nSHIPGATE_QUOTED=\"keep\" 'as is'\n"
                     "SHIPGATE_PADDED=x\nSHIPGATE_EMPTY=\n");
  CHECK(file.dropped.empty());
  CHECK(render::dotenv_name("pipeline.url-é") == "SHIPGATE_PIPELINE_URL___");
}

TEST_CASE("dotenv stays under 5 KB and 20 variables by dropping later keys") {
  render::OutputPairs pairs = {{"first", "1"}, {"big", std::string(4990, 'x')}, {"second", "2"}};
  auto file = render::dotenv(pairs);
  CHECK(file.text == "SHIPGATE_FIRST=1\nSHIPGATE_SECOND=2\n");
  CHECK(file.dropped == std::vector<std::string>{"SHIPGATE_BIG"});

  pairs.clear();
  for (int i = 0; i < 25; ++i)
    pairs.emplace_back("k" + std::to_string(i), "v");
  file = render::dotenv(pairs);
  CHECK(lines_of(file.text).size() == 20);
  CHECK(file.dropped.size() == 5);
  CHECK(file.text.size() <= render::k_dotenv_max_bytes);
}

TEST_CASE("dotenv drops repeated names") {
  const auto file = render::dotenv({{"a-b", "1"}, {"a.b", "2"}});
  CHECK(file.text == "SHIPGATE_A_B=1\n");
  CHECK(file.dropped == std::vector<std::string>{"SHIPGATE_A_B"});
}

TEST_CASE("a dotenv never sets a variable shipgate reads as a setting") {
  // SHIPGATE_ENVIRONMENT would change the environment of every later job.
  const auto file = render::dotenv({{"verdict", "pass"}, {"environment", "prod"}, {"plan", "shop"}});
  CHECK(file.text == "SHIPGATE_VERDICT=pass\nSHIPGATE_PLAN=shop\n");
  CHECK(file.reserved == std::vector<std::string>{"SHIPGATE_ENVIRONMENT"});
  CHECK(file.dropped.empty());
}
