#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/text.hpp"
#include "report/detect.hpp"
#include "report/junit_reader.hpp"
#include "../support/recording_sink.hpp"
#include "../support/temp_dir.hpp"

using report::Outcome;
using test_support::Read;
using test_support::RecordingSink;
using test_support::TempDir;
using namespace std::string_literals;

namespace {

Read read_xml(const TempDir& dir, const std::string& content, const std::string& name = "report.xml") {
  return test_support::read_with(report::read_junit, dir.write(name, content));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string suite(const std::string& cases, const std::string& attributes = "name=\"s\"") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite " + attributes + ">\n" + cases + "</testsuite>\n";
}

} // namespace

TEST_CASE("a plain report: outcomes, names, ids") {
  TempDir dir;
  const auto read = read_xml(dir, suite(R"(<testcase classname="pkg.Cls" name="ok" time="0.5"/>
<testcase classname="pkg.Cls" name="bad" file="t.py" line="12"><failure message="expected 1&#10;got 2" type="AssertionError">trace line 1
trace line 2</failure></testcase>
<testcase classname="pkg.Cls" name="crash"><error message="boom"/></testcase>
<testcase classname="pkg.Cls" name="later"><skipped message="not today"/></testcase>
<testcase name="测试 [A]"/>
)"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 5);
  CHECK(read.sink.count(Outcome::passed) == 2);
  CHECK(read.sink.count(Outcome::failed) == 1);
  CHECK(read.sink.count(Outcome::error) == 1);
  CHECK(read.sink.count(Outcome::skipped) == 1);
  const auto* bad = read.sink.find("bad");
  REQUIRE(bad);
  CHECK(bad->id() == "pkg.Cls::bad");
  CHECK(bad->suite == "s");
  CHECK(bad->file == "t.py");
  CHECK(bad->line == 12);
  CHECK(bad->message == "expected 1");
  CHECK(contains(bad->details, "trace line 2"));
  CHECK(read.sink.find("later")->message == "not today");
  CHECK(read.sink.find("ok")->seconds() == doctest::Approx(0.5));
  CHECK(read.sink.find("测试 [A]")->id() == "s::测试 [A]");
  CHECK(read.sink.suites == std::vector<std::string>{"s"});
}

TEST_CASE("a DOCTYPE with internal entities (billion laughs) is refused with file:line") {
  TempDir dir;
  const auto read = read_xml(dir, R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="s"><testcase name="&lol9;"><failure message="&lol9;"/></testcase></testsuite>
)");
  REQUIRE_FALSE(read.status.ok());
  CHECK(read.status.error().kind == core::ErrorKind::invalid_input);
  CHECK(contains(read.error(), "DOCTYPE"));
  CHECK(core::starts_with(read.status.error().location, read.path + ":2"));
  CHECK(read.sink.cases.empty());
  CHECK_FALSE(contains(read.sink.everything(), "lollol"));
}

TEST_CASE("an external entity is refused and the file it names is never read into the result") {
  TempDir dir;
  std::ifstream passwd_file("/etc/passwd");
  std::string passwd_first_line;
  std::getline(passwd_file, passwd_first_line);
  REQUIRE_FALSE(passwd_first_line.empty());
  for (const std::string& doc :
       {R"(<?xml version="1.0"?>
<!DOCTYPE testsuite [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<testsuite name="s"><testcase name="x"><failure message="&xxe;">&xxe;</failure></testcase></testsuite>
)"s,
        R"(<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "file:///etc/passwd">
<testsuite name="s"><testcase name="x"><failure>&xxe;</failure></testcase></testsuite>
)"s,
        R"(<?xml version="1.0"?>
<!DOCTYPE testsuite [ <!ENTITY % p SYSTEM "file:///etc/passwd"> %p; ]>
<testsuite name="s"><testcase name="x"/></testsuite>
)"s}) {
    CAPTURE(doc);
    const auto read = read_xml(dir, doc);
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.error(), "DOCTYPE"));
    CHECK_FALSE(contains(read.error(), passwd_first_line));
    CHECK_FALSE(contains(read.sink.everything(), passwd_first_line));
    CHECK_FALSE(contains(read.sink.everything(), "root:"));
  }
}

TEST_CASE("an undefined entity is an error") {
  TempDir dir;
  SUBCASE("in text") {
    const auto read = read_xml(dir, suite("<testcase name=\"x\"><failure>&foo;</failure></testcase>\n"));
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.error(), "entity"));
    CHECK(contains(read.status.error().location, read.path + ":3"));
  }
  SUBCASE("in an attribute") {
    const auto read = read_xml(dir, suite("<testcase name=\"&foo;\"/>\n"));
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.error(), "entity"));
  }
}

TEST_CASE("the five predefined entities and character references are fine") {
  TempDir dir;
  const auto read = read_xml(dir, suite("<testcase name=\"a&lt;b&gt;c&amp;d&quot;e&apos;f&#x6D4B;&#35797;\"/>\n"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 1);
  CHECK(read.sink.cases[0].name == "a<b>c&d\"e'f测试");
}

TEST_CASE("nesting 10000 levels deep is an error, not a crash") {
  TempDir dir;
  std::string doc = "<testsuites>";
  for (int i = 0; i < 10000; ++i) doc += "<testsuite name=\"n\">";
  for (int i = 0; i < 10000; ++i) doc += "</testsuite>";
  doc += "</testsuites>";
  const auto read = read_xml(dir, doc);
  REQUIRE_FALSE(read.status.ok());
  CHECK(contains(read.error(), "nested"));
  CHECK(core::starts_with(read.status.error().location, read.path + ":"));
}

TEST_CASE("an empty file is an error") {
  TempDir dir;
  const auto read = read_xml(dir, "");
  REQUIRE_FALSE(read.status.ok());
  CHECK(contains(read.error(), "empty"));
  CHECK(contains(read.error(), read.path));
  const auto format = report::detect_format(read.path);
  REQUIRE_FALSE(format.ok());
  CHECK(contains(format.error().describe(), "empty"));
}

TEST_CASE("a whitespace-only file is an error") {
  TempDir dir;
  const auto read = read_xml(dir, "  \n\n\t \r\n");
  REQUIRE_FALSE(read.status.ok());
  CHECK(contains(read.error(), "no XML element"));
  const auto format = report::detect_format(read.path);
  REQUIRE_FALSE(format.ok());
  CHECK(contains(format.error().describe(), "whitespace"));
}

TEST_CASE("a truncated document is an error that says truncated") {
  TempDir dir;
  const std::string full = suite(R"(<testcase name="first"/>
<testcase name="second"><failure message="boom">stack trace here</failure></testcase>
)");
  SUBCASE("cut between elements inside a testcase") {
    const auto read = read_xml(dir, full.substr(0, full.find("stack trace")));
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.error(), "truncated"));
  }
  SUBCASE("cut in the middle of a tag") {
    const auto read = read_xml(dir, full.substr(0, full.find("message=\"boom") + 10));
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.error(), "truncated"));
  }
  SUBCASE("cut in a CDATA section") {
    const auto read =
        read_xml(dir, "<?xml version=\"1.0\"?>\n<testsuite name=\"s\">\n<testcase name=\"x\"><system-out><![CDATA[half of");
    REQUIRE_FALSE(read.status.ok());
    CHECK(contains(read.error(), "truncated"));
  }
}

TEST_CASE("binary garbage that starts with '<' is an error") {
  TempDir dir;
  std::string garbage = "<";
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) % 256);
  const auto read = read_xml(dir, garbage);
  REQUIRE_FALSE(read.status.ok());
  CHECK(read.status.error().kind == core::ErrorKind::invalid_input);
  CHECK(core::is_clean_text(read.error()));
  CHECK(read.sink.cases.empty());
}

// The first case of a hostile document: failed, and every text it carries
// is valid UTF-8 without control characters.
static void check_failed_and_clean(const report::TestCase& test) {
  CHECK(test.outcome == Outcome::failed);
  for (const auto* text : {&test.name, &test.classname, &test.message, &test.details, &test.output}) {
    CAPTURE(*text);
    CHECK(core::is_clean_text(*text));
  }
}

TEST_CASE("control characters in names, messages and output end up as clean text") {
  TempDir dir;
  const std::string doc = suite(
      "<testcase classname=\"ctl\x01.class\" name=\"name\x01with\x1b[31mcontrols\"><failure message=\"msg "
      "\x1b[31mred\x1b[0m end\">trace \x01\x02\x1b[0m</failure>"
      "<system-out>out \x1b[1mbold\x7f</system-out></testcase>\n"
      "<testcase name=\"fine\"/>\n");
  const auto read = read_xml(dir, doc);
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 2);
  const auto& test = read.sink.cases[0];
  check_failed_and_clean(test);
  CHECK(contains(test.name, "controls"));
  CHECK(contains(test.message, "red"));
  CHECK(contains(test.details, "trace"));
  CHECK(contains(test.output, "bold"));
}

TEST_CASE("invalid UTF-8 in names, messages and output ends up as clean text") {
  TempDir dir;
  const std::string doc = suite(
      "<testcase classname=\"bad\xff\xfe.class\" name=\"name \xc3 cut\"><failure message=\"msg \xe2\x28\xa1 "
      "end\">trace \xf0\x28\x8c\x28</failure><system-out>out \x80\x81</system-out></testcase>\n"
      "<testcase name=\"fine\"/>\n");
  const auto read = read_xml(dir, doc);
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 2);
  const auto& test = read.sink.cases[0];
  check_failed_and_clean(test);
  CHECK(contains(test.name, "cut"));
  CHECK(contains(test.message, "end"));
}

TEST_CASE("a 5 MB failure message and 5 MB system-out are kept bounded and still counted") {
  TempDir dir;
  const std::string huge(5 * 1024 * 1024, 'x');
  const auto read = read_xml(dir, suite("<testcase name=\"big\"><failure message=\"" + huge + "\">" + huge +
                                        "</failure><system-out>" + huge + "</system-out><system-err>" + huge +
                                        "</system-err></testcase>\n<testcase name=\"after\"/>\n"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 2);
  const auto& big = read.sink.cases[0];
  CHECK(big.outcome == Outcome::failed);
  CHECK(big.message.size() < 10 * 1024);
  CHECK(big.details.size() < 10 * 1024);
  CHECK(big.output.size() < 10 * 1024);
  CHECK(contains(big.message, "truncated"));
  CHECK(contains(big.details, "truncated"));
  CHECK(contains(big.output, "truncated"));
  CHECK(read.sink.cases[1].outcome == Outcome::passed);
}

TEST_CASE("several documents concatenated in one file are all read") {
  TempDir dir;
  const std::string a = "<testsuite name=\"a\"><testcase name=\"a1\"/><testcase name=\"a2\"><failure/></testcase></testsuite>";
  const std::string b = "<testsuites><testsuite name=\"b\"><testcase name=\"b1\"/></testsuite></testsuites>";
  const std::string c = "<testsuite name=\"c\"><testcase name=\"c1\"><skipped/></testcase></testsuite>";
  const std::string declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  std::string doc;
  SUBCASE("back to back") { doc = a + b + c; }
  SUBCASE("separated by newlines and spaces") { doc = a + "\n\n  " + b + "\r\n\t" + c + "\n"; }
  SUBCASE("each with its XML declaration, one per line (Rust libtest)") {
    doc = declaration + a + "\n" + declaration + b + "\n" + declaration + c + "\n";
  }
  SUBCASE("each with its XML declaration, back to back") { doc = declaration + a + declaration + b + declaration + c; }
  CAPTURE(doc);
  const auto read = read_xml(dir, doc);
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  CHECK(read.sink.cases.size() == 4);
  CHECK(read.sink.count(Outcome::passed) == 2);
  CHECK(read.sink.count(Outcome::failed) == 1);
  CHECK(read.sink.count(Outcome::skipped) == 1);
  REQUIRE(read.sink.find("c1"));
  CHECK(read.sink.find("c1")->suite == "c");
}

TEST_CASE("text after the last document is an error") {
  TempDir dir;
  const auto read = read_xml(dir, "<testsuite name=\"a\"><testcase name=\"x\"/></testsuite>\ngarbage");
  CHECK_FALSE(read.status.ok());
}

TEST_CASE("Surefire reruns: flakyFailure, rerunFailure") {
  TempDir dir;
  const auto read = read_xml(dir, suite(R"(
<testcase classname="C" name="flaky_once"><flakyFailure message="first try" type="AssertionError">t1</flakyFailure></testcase>
<testcase classname="C" name="flaky_twice"><flakyFailure message="a"/><flakyError message="b"/></testcase>
<testcase classname="C" name="always_fails"><failure message="final">f</failure><rerunFailure message="r1"/><rerunFailure message="r2"/></testcase>
<testcase classname="C" name="always_errors"><error message="final">e</error><rerunError message="r1"/></testcase>
<testcase classname="C" name="clean"/>
)"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 5);
  const auto* once = read.sink.find("flaky_once");
  CHECK(once->outcome == Outcome::flaky);
  CHECK(once->failed_attempts == 1);
  CHECK(once->message == "first try");
  const auto* twice = read.sink.find("flaky_twice");
  CHECK(twice->outcome == Outcome::flaky);
  CHECK(twice->failed_attempts == 2);
  const auto* fails = read.sink.find("always_fails");
  CHECK(fails->outcome == Outcome::failed);
  CHECK(fails->failed_attempts == 2);
  CHECK(fails->message == "final");
  const auto* errors = read.sink.find("always_errors");
  CHECK(errors->outcome == Outcome::error);
  CHECK(errors->failed_attempts == 1);
  CHECK(read.sink.find("clean")->outcome == Outcome::passed);
}

TEST_CASE("GoogleTest: notrun, suppressed and skipped are skipped") {
  TempDir dir;
  const auto read = read_xml(dir, R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6" failures="1" disabled="1" errors="0" name="AllTests">
  <testsuite name="Math" tests="6" failures="1" disabled="1" skipped="2" errors="0">
    <testcase name="Adds" file="m.cc" line="3" status="run" result="completed" time="0" classname="Math"/>
    <testcase name="DISABLED_Later" file="m.cc" line="9" status="notrun" result="suppressed" time="0" classname="Math"/>
    <testcase name="Suppressed" status="run" result="suppressed" time="0" classname="Math"/>
    <testcase name="Skips" status="run" result="skipped" time="0" classname="Math"><skipped message="m.cc:20&#x0A;Skipped because"/></testcase>
    <testcase name="Fails" status="run" result="completed" time="0" classname="Math"><failure message="m.cc:30&#x0A;Expected equality" type=""><![CDATA[m.cc:30
Expected equality]]></failure></testcase>
    <testcase name="Passes" status="run" result="completed" time="0" classname="Math"/>
  </testsuite>
</testsuites>
)");
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.cases.size() == 6);
  CHECK(read.sink.find("DISABLED_Later")->outcome == Outcome::skipped);
  CHECK(read.sink.find("Suppressed")->outcome == Outcome::skipped);
  CHECK(read.sink.find("Skips")->outcome == Outcome::skipped);
  CHECK(read.sink.find("Fails")->outcome == Outcome::failed);
  CHECK(read.sink.find("Fails")->message == "m.cc:30");
  CHECK(read.sink.find("Adds")->outcome == Outcome::passed);
  CHECK(read.sink.find("Adds")->line == 3);
  CHECK(read.sink.count(Outcome::skipped) == 3);
}

TEST_CASE("precedence inside one testcase") {
  TempDir dir;
  const auto read = read_xml(dir, suite(R"(
<testcase name="skip_then_fail"><skipped message="todo"/><failure message="f"/></testcase>
<testcase name="fail_then_skip"><failure message="f"/><skipped message="todo"/></testcase>
<testcase name="fail_then_error"><failure message="f"/><error message="e"/></testcase>
<testcase name="error_then_fail"><error message="e"/><failure message="f"/></testcase>
<testcase name="error_and_skip"><skipped/><error message="e"/></testcase>
)"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  CHECK(read.sink.find("skip_then_fail")->outcome == Outcome::skipped);
  CHECK(read.sink.find("fail_then_skip")->outcome == Outcome::skipped);
  CHECK(read.sink.find("fail_then_error")->outcome == Outcome::error);
  CHECK(read.sink.find("error_then_fail")->outcome == Outcome::error);
  CHECK(read.sink.find("error_and_skip")->outcome == Outcome::error);
  CHECK(read.sink.cases.size() == 5);
}

TEST_CASE("a suite-level <error> under testsuite is a suite error") {
  TempDir dir;
  const auto read = read_xml(dir, suite(R"(<testcase name="ran"/>
<error message="setUpClass failed: db down" type="RuntimeError">trace</error>
)"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.suite_errors.size() == 1);
  CHECK(read.sink.suite_errors[0].message == "setUpClass failed: db down");
  CHECK(read.sink.suite_errors[0].suite == "s");
  CHECK(read.sink.suite_errors[0].location == read.path + ":4");
  CHECK(read.sink.cases.size() == 1);
  CHECK(read.sink.count(Outcome::passed) == 1);
}

TEST_CASE("a testsuite declaring failures but holding no testcase is a suite error") {
  TempDir dir;
  const auto read = read_xml(dir, suite("", "name=\"crashed\" tests=\"2\" failures=\"2\" errors=\"0\""));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  REQUIRE(read.sink.suite_errors.size() == 1);
  CHECK(read.sink.suite_errors[0].suite == "crashed");
  CHECK(contains(read.sink.suite_errors[0].message, "2 failures"));
  CHECK(contains(read.sink.suite_errors[0].message, "no test case"));
  CHECK(core::starts_with(read.sink.suite_errors[0].location, read.path + ":"));
  CHECK(read.sink.cases.empty());
}

TEST_CASE("a declared tests count that does not match is a warning, and the cases count") {
  TempDir dir;
  const auto read = read_xml(dir, suite("<testcase name=\"a\"/><testcase name=\"b\"/>\n",
                                        "name=\"s\" tests=\"5\" failures=\"0\""));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  CHECK(read.sink.cases.size() == 2);
  CHECK(read.sink.suite_errors.empty());
  REQUIRE(read.sink.warnings.size() == 1);
  CHECK(contains(read.sink.warnings[0].message, "tests=\"5\""));
  CHECK(contains(read.sink.warnings[0].message, "contains 2"));
  CHECK(read.sink.warnings[0].location == read.path + ":2");
}

TEST_CASE("matching declared counts give no warning") {
  TempDir dir;
  const auto read = read_xml(dir, suite("<testcase name=\"a\"/><testcase name=\"b\"><failure/></testcase>\n",
                                        "name=\"s\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\""));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  CHECK(read.sink.warnings.empty());
}

TEST_CASE("a root other than testsuites/testsuite is an error naming it") {
  TempDir dir;
  const auto read = read_xml(dir, "<?xml version=\"1.0\"?>\n<project name=\"x\"><testcase name=\"a\"/></project>\n");
  REQUIRE_FALSE(read.status.ok());
  CHECK(contains(read.error(), "<project>"));
  CHECK(contains(read.error(), read.path + ":2"));
  CHECK(read.sink.cases.empty());
}

TEST_CASE("nested suites form a path and report themselves") {
  TempDir dir;
  const auto read = read_xml(dir, R"(<testsuites><testsuite name="outer"><testsuite name="inner">
<testcase name="t"/></testsuite><testcase name="u"/></testsuite></testsuites>)");
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  CHECK(read.sink.find("t")->suite == "outer / inner");
  CHECK(read.sink.find("u")->suite == "outer");
  CHECK(read.sink.suites == std::vector<std::string>{"outer / inner", "outer"});
}

TEST_CASE("testcase properties are read") {
  TempDir dir;
  const auto read = read_xml(dir, suite(R"(<testcase name="p"><properties><property name="severity" value="A"/><property name="owner" value="team-pay"/></properties><failure/></testcase>
)"));
  REQUIRE_MESSAGE(read.status.ok(), read.error());
  const auto* test = read.sink.find("p");
  REQUIRE(test);
  REQUIRE(test->properties.size() == 2);
  CHECK(test->properties[0] == std::pair<std::string, std::string>{"severity", "A"});
  CHECK(test->outcome == Outcome::failed);
}

TEST_CASE("a missing file is an error naming it") {
  TempDir dir;
  RecordingSink sink;
  const auto status = report::read_junit(dir.file("absent.xml"), sink);
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().describe(), "absent.xml"));
}
