#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "io/glob.hpp"
#include "../support/temp_dir.hpp"

TEST_CASE("* matches within one path component") {
  CHECK(io::glob_match("*.xml", "report.xml"));
  CHECK(io::glob_match("*.xml", ".xml"));
  CHECK_FALSE(io::glob_match("*.xml", "report.json"));
  CHECK_FALSE(io::glob_match("*.xml", "dir/report.xml"));
  CHECK(io::glob_match("build/*/TEST-*.xml", "build/app/TEST-a.xml"));
  CHECK_FALSE(io::glob_match("build/*/TEST-*.xml", "build/app/sub/TEST-a.xml"));
  CHECK(io::glob_match("a*b*c", "aXXbYYc"));
  CHECK_FALSE(io::glob_match("a*b*c", "aXXbYY"));
}

TEST_CASE("? matches one character but not '/'") {
  CHECK(io::glob_match("report-?.xml", "report-1.xml"));
  CHECK_FALSE(io::glob_match("report-?.xml", "report-12.xml"));
  CHECK_FALSE(io::glob_match("report-?.xml", "report-.xml"));
  CHECK_FALSE(io::glob_match("a?b", "a/b"));
}

TEST_CASE("character classes") {
  CHECK(io::glob_match("[a-c].xml", "b.xml"));
  CHECK_FALSE(io::glob_match("[a-c].xml", "d.xml"));
  CHECK(io::glob_match("[abc]x", "cx"));
  CHECK(io::glob_match("[!a-c]x", "dx"));
  CHECK_FALSE(io::glob_match("[!a-c]x", "ax"));
  CHECK(io::glob_match("[^0-9]", "z"));
  CHECK(io::glob_match("v[0-9][0-9]", "v42"));
  CHECK_FALSE(io::glob_match("a[/]b", "a/b"));
}

TEST_CASE("**/ matches zero or more directories") {
  CHECK(io::glob_match("**/report.xml", "report.xml"));
  CHECK(io::glob_match("**/report.xml", "a/report.xml"));
  CHECK(io::glob_match("**/report.xml", "a/b/c/report.xml"));
  CHECK(io::glob_match("build/**/TEST-*.xml", "build/TEST-x.xml"));
  CHECK(io::glob_match("build/**/TEST-*.xml", "build/m1/target/TEST-x.xml"));
  CHECK_FALSE(io::glob_match("build/**/TEST-*.xml", "other/m1/TEST-x.xml"));
  CHECK_FALSE(io::glob_match("**/report.xml", "a/myreport.xml"));
  CHECK(io::glob_match("a/**", "a/b/c"));
  CHECK(io::glob_match("**/*.tap", "x/y/z.tap"));
}

TEST_CASE("literal text must match exactly") {
  CHECK(io::glob_match("report.xml", "report.xml"));
  CHECK_FALSE(io::glob_match("report.xml", "report.xmlx"));
  CHECK_FALSE(io::glob_match("report.xml", "report.xm"));
  CHECK(io::glob_match("", ""));
  CHECK_FALSE(io::glob_match("", "a"));
}

TEST_CASE("name_match lets * cross '/'") {
  CHECK(io::name_match("com.acme.payment.*", "com.acme.payment.RefundTest"));
  CHECK(io::name_match("tests/*::test_*", "tests/unit/test_pay.py::test_refund"));
  CHECK_FALSE(io::glob_match("tests/*::test_*", "tests/unit/test_pay.py::test_refund"));
  CHECK(io::name_match("a?c", "a/c"));
}

TEST_CASE("has_glob_chars") {
  CHECK(io::has_glob_chars("*.xml"));
  CHECK(io::has_glob_chars("a?"));
  CHECK(io::has_glob_chars("[ab]"));
  CHECK_FALSE(io::has_glob_chars("build/report.xml"));
}

namespace {

std::vector<std::string> relative_to(const std::filesystem::path& base, const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& path : paths) out.push_back(std::filesystem::path(path).lexically_relative(base).generic_string());
  return out;
}

} // namespace

TEST_CASE("expand_glob walks a tree and returns sorted matches") {
  test_support::TempDir dir;
  for (const char* name : {"z/TEST-b.xml", "a/TEST-c.xml", "a/deep/er/TEST-a.xml", "TEST-top.xml", "a/notes.txt",
                           "b/TEST-d.json"})
    dir.write(name, "<testsuite/>");
  const std::string base = dir.path().string();

  SUBCASE("**/ across depths") {
    const auto found = io::expand_glob(base + "/**/TEST-*.xml");
    CHECK(relative_to(dir.path(), found) ==
          std::vector<std::string>{"TEST-top.xml", "a/TEST-c.xml", "a/deep/er/TEST-a.xml", "z/TEST-b.xml"});
    CHECK(std::is_sorted(found.begin(), found.end()));
  }
  SUBCASE("* stays in its directory") {
    CHECK(relative_to(dir.path(), io::expand_glob(base + "/*/TEST-*.xml")) ==
          std::vector<std::string>{"a/TEST-c.xml", "z/TEST-b.xml"});
  }
  SUBCASE("a plain path is returned when it exists") {
    CHECK(io::expand_glob(base + "/a/notes.txt") == std::vector<std::string>{base + "/a/notes.txt"});
    CHECK(io::expand_glob(base + "/a/missing.txt").empty());
    CHECK(io::expand_glob(base + "/a").empty()); // a directory is not a report
  }
  SUBCASE("no match is an empty list") { CHECK(io::expand_glob(base + "/**/*.trx").empty()); }
  SUBCASE("a missing base directory is an empty list") {
    CHECK(io::expand_glob(base + "/nope/**/*.xml").empty());
  }
}

TEST_CASE("expand_glob does not hang on a symlink loop") {
  test_support::TempDir dir;
  dir.write("a/b/report.xml", "<testsuite/>");
  std::filesystem::create_directory_symlink(dir.path() / "a", dir.path() / "a/b/loop");
  std::filesystem::create_directory_symlink(dir.path(), dir.path() / "a/up");
  const auto found = io::expand_glob(dir.path().string() + "/**/*.xml");
  CHECK(relative_to(dir.path(), found) == std::vector<std::string>{"a/b/report.xml"});
}
