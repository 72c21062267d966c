#pragma once
// The Prometheus text exposition format (version 0.0.4), as read by the
// Pushgateway, node-exporter's textfile collector and `promtool check
// metrics`. Metrics are plain data; render() only formats them.
//
// Escaping, per the format: in a label value `\` becomes `\\`, `"` becomes
// `\"` and a line feed `\n`; in HELP text `\` and the line feed are escaped.
// Label values are made valid UTF-8 first (the format requires it).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string suffix; // appended to the family's name: "", "_sum", "_count"
  Labels labels;
  double value = 0;
};

struct Family {
  std::string name; // [a-zA-Z_:][a-zA-Z0-9_:]*
  std::string help;
  std::string type = "gauge"; // gauge, counter, summary, untyped
  std::vector<Sample> samples;
};

std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// "1", "0.25", "+Inf", "-Inf", "NaN": integers without an exponent, others
// with enough digits to read back the same double.
std::string format_value(double value);
bool is_metric_name(std::string_view name);
bool is_label_name(std::string_view name);

// One # HELP, one # TYPE and the samples of each family, in order, each
// line ending in a line feed. A family without samples is left out (an
// empty family confuses some readers). Names are not checked here: the
// families are built by shipgate with fixed names.
std::string render(const std::vector<Family>& families);

} // namespace metrics
