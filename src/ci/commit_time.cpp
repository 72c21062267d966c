#include "ci/commit_time.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace ci {
namespace {

// A push event lists up to 20 commits with their messages; far below this.
constexpr std::size_t k_max_event_bytes = 8 * 1024 * 1024;

// RFC 3339 (with an offset or Z) or whole Unix seconds.
std::optional<core::SystemTime> parse_commit_time(const std::string& raw) {
  const std::string text = core::trim(raw);
  const bool digits = !text.empty() && text.size() <= 12 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (digits) return core::parse_time("@" + text);
  return core::parse_time(text);
}

CommitTime explicit_time(const std::string& name, const std::string& value) {
  CommitTime out;
  out.time = parse_commit_time(value);
  if (out.time)
    out.source = name;
  else
    out.problem = name + " is '" + core::first_line(value, 60) +
                  "', not a time: write RFC 3339 (git log -1 --format=%cI) or Unix seconds (--format=%ct)";
  return out;
}

CommitTime from_github_event(const std::string& path, const std::string& commit) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {};
  std::string text(k_max_event_bytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > k_max_event_bytes) return {};
  const auto event = nlohmann::json::parse(text, nullptr, false);
  if (!event.is_object() || !event.contains("head_commit") || !event["head_commit"].is_object()) return {};
  const auto& head = event["head_commit"];
  if (!head.contains("id") || !head["id"].is_string() || head["id"].get<std::string>() != commit) return {};
  if (!head.contains("timestamp") || !head["timestamp"].is_string()) return {};
  CommitTime out;
  out.time = parse_commit_time(head["timestamp"].get<std::string>());
  if (out.time) out.source = "GITHUB_EVENT_PATH";
  return out;
}

} // namespace

CommitTime commit_time(const Environment& env, const CiContext& context) {
  if (auto value = env.get("SHIPGATE_COMMIT_TIME"); value && !value->empty())
    return explicit_time("SHIPGATE_COMMIT_TIME", *value);
  if (context.commit.empty()) return {};
  if (context.provider == Provider::gitlab && env.get_or("CI_COMMIT_SHA") == context.commit) {
    if (auto value = env.get("CI_COMMIT_TIMESTAMP"); value && !value->empty())
      return explicit_time("CI_COMMIT_TIMESTAMP", *value);
  }
  if (context.provider == Provider::github) {
    if (auto path = env.get("GITHUB_EVENT_PATH"); path && !path->empty())
      return from_github_event(*path, context.commit);
  }
  return {};
}

} // namespace ci
