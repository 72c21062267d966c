#pragma once
// Pushing metrics to a Prometheus Pushgateway (docs/metrics.md).
//
// One PUT of the text exposition to <url>/metrics/<grouping key>: the
// group's previous metrics are replaced. http or https only, no redirects,
// TLS verified, the whole exchange bounded by `timeout`, at most 64 KiB of
// answer read. Credentials in the URL (user:password@) are sent as HTTP
// basic authentication and never shown: messages name the server by
// display_url().
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "metrics/exposition.hpp"

namespace metrics {

// The grouping key as a path: "/job/shipgate/step/deploy-stage/environment/prod".
// A value is percent-encoded, or written "<name>@base64/<base64url>" when
// it holds a "/" or is empty (the Pushgateway cannot take those otherwise).
std::string grouping_path(const Labels& grouping);
std::string base64url(std::string_view bytes);

// Empty when `url` is an http:// or https:// URL with a host; else what is wrong.
std::string pushgateway_url_problem(const std::string& url);
// The URL as it may be shown: without user:password@ and without ?query.
std::string display_url(const std::string& url);
// The parts that must never be shown: user:password, the password, the
// query string's values. Empty when there are none.
std::vector<std::string> url_secrets(const std::string& url);

// PUT `body` to `url` + "/metrics" + grouping_path(grouping). A refused
// connection, a timeout or an answer other than 2xx is a runtime Error
// naming display_url(url) and what came back.
core::Status push(const std::string& url, const Labels& grouping, const std::string& body,
                  std::chrono::milliseconds timeout);

} // namespace metrics
