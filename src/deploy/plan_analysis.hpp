#pragma once
// Reading the `analysis:` section of a launch plan (docs/analysis.md), for
// the plan reader (plan.cpp). Internal to src/deploy/plan*.cpp.
#include <string>

#include "deploy/plan.hpp"
#include "smoke/yaml_reader.hpp"

namespace deploy {

// The section at `field` (the plan's or a service's), every key checked
// ("did you mean"), each query with exactly one of below/above, durations
// and counts in range, the URL http or https. Throws smoke::ReadError
// (file:line) like every plan reader.
AnalysisSpec read_analysis(const smoke::YamlReader& reader, const smoke::Field& field);

// The Prometheus URL as it may be shown: scheme, host, port and path, with
// any user:password@ and ?query left out ("http://127.0.0.1:9090").
std::string display_url(const std::string& url);
// The parts of `url` that must never be shown: the user:password, the
// password alone and the query string's values; empty when it has none.
std::vector<std::string> url_secrets(const std::string& url);
// Empty when `url` is an http:// or https:// URL with a host; else what is wrong.
std::string prometheus_url_problem(const std::string& url);

} // namespace deploy
