#include <doctest/doctest.h>

#include "../support/temp_dir.hpp"
#include "ci/commit_time.hpp"

namespace {

ci::Environment env_of(std::map<std::string, std::string> variables) {
  return ci::Environment(std::move(variables));
}

ci::CiContext context(ci::Provider provider, const std::string& commit) {
  ci::CiContext out;
  out.provider = provider;
  out.commit = commit;
  return out;
}

} // namespace

TEST_CASE("commit time: SHIPGATE_COMMIT_TIME takes RFC 3339 or Unix seconds, and says when it is neither") {
  const ci::Environment rfc = env_of({{"SHIPGATE_COMMIT_TIME", "2026-11-20T10:00:00+01:00"}});
  auto found = ci::commit_time(rfc, context(ci::Provider::none, "abc"));
  REQUIRE(found.time);
  CHECK(core::format_rfc3339(*found.time) == "2026-11-20T09:00:00Z");
  CHECK(found.source == "SHIPGATE_COMMIT_TIME");
  found = ci::commit_time(env_of({{"SHIPGATE_COMMIT_TIME", "1795355377"}}), context(ci::Provider::none, ""));
  REQUIRE(found.time);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(found.time->time_since_epoch()).count() == 1795355377);
  found = ci::commit_time(env_of({{"SHIPGATE_COMMIT_TIME", "yesterday"}}), context(ci::Provider::none, "abc"));
  CHECK_FALSE(found.time);
  CHECK(found.problem.find("SHIPGATE_COMMIT_TIME is 'yesterday'") != std::string::npos);
}

TEST_CASE("commit time: GitLab's CI_COMMIT_TIMESTAMP only for the commit GitLab built") {
  const ci::Environment env = env_of({{"CI_COMMIT_SHA", "abc"}, {"CI_COMMIT_TIMESTAMP", "2026-11-20T10:00:00+00:00"}});
  auto found = ci::commit_time(env, context(ci::Provider::gitlab, "abc"));
  REQUIRE(found.time);
  CHECK(found.source == "CI_COMMIT_TIMESTAMP");
  CHECK_FALSE(ci::commit_time(env, context(ci::Provider::gitlab, "other")).time);
  CHECK_FALSE(ci::commit_time(env, context(ci::Provider::none, "abc")).time);
}

TEST_CASE("commit time: GitHub's push event gives head_commit.timestamp for its own commit only") {
  test_support::TempDir dir;
  const std::string push = dir.write(
      "event.json",
      R"({"head_commit": {"id": "abc", "timestamp": "2026-11-20T11:00:00+01:00"}, "ref": "refs/heads/main"})");
  const std::string pull = dir.write("pull.json", R"({"pull_request": {"head": {"sha": "abc"}}})");
  auto found = ci::commit_time(env_of({{"GITHUB_EVENT_PATH", push}}), context(ci::Provider::github, "abc"));
  REQUIRE(found.time);
  CHECK(core::format_rfc3339(*found.time) == "2026-11-20T10:00:00Z");
  CHECK_FALSE(ci::commit_time(env_of({{"GITHUB_EVENT_PATH", push}}), context(ci::Provider::github, "zzz")).time);
  CHECK_FALSE(ci::commit_time(env_of({{"GITHUB_EVENT_PATH", pull}}), context(ci::Provider::github, "abc")).time);
  CHECK_FALSE(ci::commit_time(env_of({{"GITHUB_EVENT_PATH", dir.path().string() + "/none.json"}}),
                              context(ci::Provider::github, "abc"))
                  .time);
}
