// The `analysis:` section of a launch plan (docs/analysis.md). Values are
// only checked for syntax here; ${VAR} is replaced by resolve_plan.
#include "deploy/plan_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "core/text.hpp"
#include "deploy/plan_text.hpp"

namespace deploy {
namespace {

using smoke::Field;
using smoke::Fields;
using smoke::YamlReader;

const std::vector<std::string> k_analysis_keys = {"prometheus",    "prometheus_env", "interval", "count",
                                                  "failure_limit", "inconclusive",   "queries"};
const std::vector<std::string> k_query_keys = {"name", "query", "below", "above", "baseline"};
const std::vector<std::string> k_baseline_keys = {"query", "max_ratio"};
const std::vector<std::string> k_inconclusive = {"fail", "pause"};

constexpr long k_max_count = 1000;

std::string describe(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (!node || node.IsNull()) return "nothing";
  return "'" + node.Scalar() + "'";
}

// A non-empty scalar whose ${VAR} placeholders are well-formed.
std::string template_text(const YamlReader& reader, const Field& field) {
  if (!field.value.IsScalar() || core::trim(field.value.Scalar()).empty())
    reader.fail(field, field.path + " must be text, found " + describe(field.value));
  const std::string problem = placeholder_problem(field.value.Scalar());
  if (!problem.empty()) reader.fail(field, field.path + ": " + problem);
  return field.value.Scalar();
}

// A finite number, such as 0.01, 250 or 1e-3.
double threshold(const YamlReader& reader, const Field& field) {
  const std::string written = field.value.IsScalar() ? core::trim(field.value.Scalar()) : std::string();
  char* end = nullptr;
  const double value = std::strtod(written.c_str(), &end);
  if (written.empty() || *end != '\0' || !std::isfinite(value))
    reader.fail(field, field.path + " must be a number, such as 0.01 or 250, found " + describe(field.value));
  return value;
}

void read_url(const YamlReader& reader, const Fields& fields, const Field& section, AnalysisSpec& spec) {
  const Field* url = fields.find("prometheus");
  const Field* env = fields.find("prometheus_env");
  if (url && env) reader.fail(env->key_node, section.path + " takes either prometheus or prometheus_env, not both");
  if (!url && !env)
    reader.fail(section, section.path + " needs prometheus: the server's URL (such as http://127.0.0.1:9090), or "
                                        "prometheus_env: the variable holding it");
  if (url) {
    spec.prometheus = template_text(reader, *url);
    const std::string problem = has_placeholder(spec.prometheus) ? "" : prometheus_url_problem(spec.prometheus);
    if (!problem.empty()) reader.fail(*url, url->path + ": " + problem);
    return;
  }
  static const std::regex k_env_name("[A-Za-z_][A-Za-z0-9_]*");
  spec.prometheus_env = env->value.IsScalar() ? core::trim(env->value.Scalar()) : std::string();
  if (!std::regex_match(spec.prometheus_env, k_env_name))
    reader.fail(*env, env->path +
                          " must name an environment variable (letters, digits and _), such as "
                          "PROMETHEUS_URL, found " +
                          describe(env->value));
}

void read_baseline(const YamlReader& reader, const Field& field, AnalysisQuerySpec& query) {
  if (!field.value.IsMap())
    reader.fail(field, field.path + " must be a mapping such as {max_ratio: 1.5}, found " + describe(field.value));
  const Fields fields = reader.fields(field.value, k_baseline_keys, field.path);
  const Field* ratio = fields.find("max_ratio");
  if (!ratio)
    reader.fail(field, field.path + " needs max_ratio: how many times the previous version's value the canary's "
                                    "may be, such as 1.5");
  query.max_ratio = threshold(reader, *ratio);
  if (query.max_ratio <= 0)
    reader.fail(*ratio, ratio->path + " must be a number more than 0, such as 1.5, found " + describe(ratio->value));
  query.has_baseline = true;
  if (const Field* text = fields.find("query")) {
    query.baseline_query = template_text(reader, *text);
    query.baseline_written = true;
  }
}

AnalysisQuerySpec read_query(const YamlReader& reader, const YAML::Node& node, const std::string& path) {
  if (!node.IsMap())
    reader.fail(node, path + " items must be mappings such as {name: error-ratio, query: \"…\", below: 0.01}");
  AnalysisQuerySpec query;
  query.location = reader.location(node);
  const Fields unnamed = reader.fields(node, k_query_keys, path);
  const Field* name = unnamed.find("name");
  if (!name) reader.fail(node, path + " item needs a name, such as error-ratio");
  query.name = name->value.IsScalar() ? name->value.Scalar() : std::string();
  if (!valid_name(query.name))
    reader.fail(*name, name->path + ": " + describe(name->value) +
                           " is not a valid query name; use lowercase letters, digits, '-' and '_'");
  // Messages name the query: "analysis.queries.error-ratio.below".
  const std::string at = path + "." + query.name;
  const Fields fields = reader.fields(node, k_query_keys, at);
  const Field* text = fields.find("query");
  if (!text) reader.fail(node, at + " needs query: the PromQL expression, such as sum(rate(http_errors_total[1m]))");
  query.query = template_text(reader, *text);
  const Field* below = fields.find("below");
  const Field* above = fields.find("above");
  if (below && above) reader.fail(above->key_node, at + " takes either below or above, not both");
  if (!below && !above)
    reader.fail(node, at + " needs a threshold: below: X (a sample passes when its value is below X) or above: X");
  if (below) query.below = threshold(reader, *below);
  if (above) query.above = threshold(reader, *above);
  if (const Field* baseline = fields.find("baseline")) read_baseline(reader, *baseline, query);
  return query;
}

std::vector<AnalysisQuerySpec> read_queries(const YamlReader& reader, const Field& field) {
  if (!field.value.IsSequence() || field.value.size() == 0)
    reader.fail(field, field.path + " must be a list of one query or more, such as\n"
                                    "  queries:\n    - {name: error-ratio, query: \"…\", below: 0.01}");
  std::vector<AnalysisQuerySpec> out;
  for (const auto& item : field.value) {
    AnalysisQuerySpec query = read_query(reader, item, field.path);
    for (const auto& other : out)
      if (other.name == query.name)
        reader.fail(item, field.path + ": two queries are named '" + query.name + "' (the other is at " +
                              other.location + ")");
    out.push_back(std::move(query));
  }
  return out;
}

} // namespace

AnalysisSpec read_analysis(const YamlReader& reader, const Field& field) {
  if (!field.value.IsMap())
    reader.fail(field, field.path + " must be a mapping with prometheus: and queries: (docs/analysis.md), found " +
                           describe(field.value));
  AnalysisSpec spec;
  spec.location = reader.location(field);
  const Fields fields = reader.fields(field.value, k_analysis_keys, field.path);
  read_url(reader, fields, field, spec);
  if (const Field* interval = fields.find("interval")) spec.interval = reader.duration(*interval);
  if (const Field* count = fields.find("count")) spec.count = static_cast<int>(reader.integer(*count, 1, k_max_count));
  if (const Field* limit = fields.find("failure_limit")) {
    spec.failure_limit = static_cast<int>(reader.integer(*limit, 0, k_max_count));
    if (spec.failure_limit >= spec.count)
      reader.fail(*limit, limit->path + " is " + std::to_string(spec.failure_limit) + " but count is " +
                              std::to_string(spec.count) + ": the analysis could never fail; make it less than count");
  }
  if (const Field* inconclusive = fields.find("inconclusive")) {
    const std::string written = inconclusive->value.IsScalar() ? core::trim(inconclusive->value.Scalar()) : "";
    if (std::find(k_inconclusive.begin(), k_inconclusive.end(), written) == k_inconclusive.end()) {
      const std::string guess = core::closest_match(written, k_inconclusive);
      reader.fail(*inconclusive, inconclusive->path + ": unknown value " + describe(inconclusive->value) +
                                     (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
                                     " Write fail (roll back) or pause (wait for deploy-stage --resume or --abort)");
    }
    spec.inconclusive_pause = written == "pause";
  }
  const Field* queries = fields.find("queries");
  if (!queries) reader.fail(field, field.path + " needs queries: a list of {name, query, below or above}");
  spec.queries = read_queries(reader, *queries);
  return spec;
}

namespace {

struct UrlParts {
  std::string scheme, userinfo, rest, query;
};

UrlParts split(const std::string& url) {
  UrlParts parts;
  const auto colon = url.find("://");
  if (colon == std::string::npos) {
    parts.rest = url;
    return parts;
  }
  parts.scheme = url.substr(0, colon);
  std::string tail = url.substr(colon + 3);
  const auto question = tail.find_first_of("?#");
  if (question != std::string::npos) {
    parts.query = tail.substr(question + 1);
    tail.erase(question);
  }
  // The userinfo ends at the last '@' before the path: a password may hold '@'.
  const auto slash = tail.find('/');
  const auto at = tail.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    parts.userinfo = tail.substr(0, at);
    tail.erase(0, at + 1);
  }
  parts.rest = tail;
  return parts;
}

} // namespace

std::string display_url(const std::string& url) {
  const UrlParts parts = split(url);
  if (parts.scheme.empty()) return "(not a URL)";
  return parts.scheme + "://" + parts.rest;
}

std::vector<std::string> url_secrets(const std::string& url) {
  const UrlParts parts = split(url);
  std::vector<std::string> out;
  if (!parts.userinfo.empty()) {
    out.push_back(parts.userinfo);
    const auto colon = parts.userinfo.find(':');
    if (colon != std::string::npos && colon + 1 < parts.userinfo.size())
      out.push_back(parts.userinfo.substr(colon + 1));
  }
  std::string_view rest = parts.query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && equals + 1 < pair.size()) out.emplace_back(pair.substr(equals + 1));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  if (!out.empty()) out.push_back(url);
  return out;
}

std::string prometheus_url_problem(const std::string& url) {
  const UrlParts parts = split(core::trim(url));
  const std::string scheme = core::to_lower(parts.scheme);
  if (scheme != "http" && scheme != "https")
    return "the Prometheus URL must start with http:// or https://, such as http://127.0.0.1:9090 (found " +
           (parts.scheme.empty() ? std::string("no scheme") : "'" + parts.scheme + "://'") + ")";
  const std::string host = parts.rest.substr(0, parts.rest.find('/'));
  if (host.empty() || host.front() == ':') return "the Prometheus URL names no host, such as http://127.0.0.1:9090";
  if (url.find_first_of(" \t\r\n") != std::string::npos) return "the Prometheus URL holds white space";
  return {};
}

} // namespace deploy
