#include <doctest/doctest.h>

#include "metrics/exposition.hpp"

TEST_CASE("exposition: label values escape backslash, double quote and line feed, and nothing else") {
  CHECK(metrics::escape_label_value(R"(C:\path)") == R"(C:\\path)");
  CHECK(metrics::escape_label_value(R"(say "hi")") == R"(say \"hi\")");
  CHECK(metrics::escape_label_value("two\nlines") == R"(two\nlines)");
  CHECK(metrics::escape_label_value("prod/eu-1 {x=1}, ok") == "prod/eu-1 {x=1}, ok");
  CHECK(metrics::escape_label_value("caf\xc3\xa9") == "caf\xc3\xa9");
  // Invalid UTF-8 is replaced: the format requires UTF-8.
  CHECK(metrics::escape_label_value("bad\xff") == "bad\xef\xbf\xbd");
}

TEST_CASE("exposition: HELP escapes backslash and line feed but keeps double quotes") {
  CHECK(metrics::escape_help("a \"b\" \\ c\nd") == "a \"b\" \\\\ c\\nd");
}

TEST_CASE("exposition: values") {
  CHECK(metrics::format_value(0) == "0");
  CHECK(metrics::format_value(3) == "3");
  CHECK(metrics::format_value(1795355377) == "1795355377");
  CHECK(metrics::format_value(0.25) == "0.25");
  CHECK(metrics::format_value(1.0 / 3) == "0.33333333333333331");
  CHECK(metrics::format_value(1.0 / 0.0) == "+Inf");
  CHECK(metrics::format_value(-1.0 / 0.0) == "-Inf");
  CHECK(metrics::format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("exposition: names") {
  CHECK(metrics::is_metric_name("shipgate_step_success"));
  CHECK(metrics::is_metric_name("a:b"));
  CHECK_FALSE(metrics::is_metric_name("1abc"));
  CHECK_FALSE(metrics::is_metric_name("a-b"));
  CHECK(metrics::is_label_name("environment"));
  CHECK_FALSE(metrics::is_label_name("a:b"));
  CHECK_FALSE(metrics::is_label_name(""));
}

TEST_CASE("exposition: families render HELP, TYPE and samples in order; empty families are left out") {
  const std::vector<metrics::Family> families = {
      {"x_total", "Things\ncounted", "counter", {{"", {{"step", "a\"b"}, {"environment", "p\\q"}}, 2}}},
      {"empty", "nothing", "gauge", {}},
      {"lat_seconds", "Latency", "summary", {{"", {{"quantile", "0.5"}}, 1.5}, {"_sum", {}, 3}, {"_count", {}, 2}}},
  };
  CHECK(metrics::render(families) == "# HELP x_total Things\\ncounted\n"
                                     "# TYPE x_total counter\n"
                                     "x_total{step=\"a\\\"b\",environment=\"p\\\\q\"} 2\n"
                                     "# HELP lat_seconds Latency\n"
                                     "# TYPE lat_seconds summary\n"
                                     "lat_seconds{quantile=\"0.5\"} 1.5\n"
                                     "lat_seconds_sum 3\n"
                                     "lat_seconds_count 2\n");
}
