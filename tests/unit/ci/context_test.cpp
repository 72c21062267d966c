#include <doctest/doctest.h>

#include <map>
#include <string>

#include "ci/context.hpp"

namespace {

ci::Environment env(std::map<std::string, std::string> variables) { return ci::Environment(std::move(variables)); }

ci::CiContext read(const ci::Environment& environment, const ci::Overrides& overrides = {}) {
  return ci::read_context(environment, ci::Terminal{}, overrides);
}

const std::map<std::string, std::string> k_github = {
    {"GITHUB_ACTIONS", "true"},       {"GITHUB_SHA", "0123abcd"},
    {"GITHUB_REF_NAME", "main"},      {"GITHUB_SERVER_URL", "https://github.example"},
    {"GITHUB_REPOSITORY", "acme/app"}, {"GITHUB_RUN_ID", "42"},
    {"GITHUB_ACTOR", "octocat"},      {"GITHUB_OUTPUT", "/tmp/out"},
    {"GITHUB_STEP_SUMMARY", "/tmp/summary"}};

const std::map<std::string, std::string> k_gitlab = {
    {"GITLAB_CI", "true"},
    {"CI_COMMIT_SHA", "feedbeef"},
    {"CI_COMMIT_REF_NAME", "release/1.2"},
    {"CI_PIPELINE_URL", "https://gitlab.example/acme/app/-/pipelines/7"},
    {"CI_JOB_URL", "https://gitlab.example/acme/app/-/jobs/99"},
    {"CI_JOB_ID", "99"},
    {"CI_SERVER_URL", "https://gitlab.example"},
    {"GITLAB_USER_LOGIN", "alice"},
    {"CI_ENVIRONMENT_NAME", "staging"}};

const std::map<std::string, std::string> k_jenkins = {
    {"JENKINS_URL", "https://jenkins.example/"}, {"BUILD_NUMBER", "12"},
    {"GIT_COMMIT", "c0ffee"},                    {"BRANCH_NAME", "develop"},
    {"BUILD_URL", "https://jenkins.example/job/app/12/"}, {"BUILD_USER_ID", "bob"}};

} // namespace

TEST_CASE("provider detection") {
  CHECK(ci::detect_provider(env(k_github)) == ci::Provider::github);
  CHECK(ci::detect_provider(env(k_gitlab)) == ci::Provider::gitlab);
  CHECK(ci::detect_provider(env(k_jenkins)) == ci::Provider::jenkins);
  CHECK(ci::detect_provider(env({})) == ci::Provider::none);
  CHECK(ci::detect_provider(env({{"CI", "true"}})) == ci::Provider::none);
}

TEST_CASE("GitHub needs GITHUB_ACTIONS=true") {
  CHECK(ci::detect_provider(env({{"GITHUB_ACTIONS", "false"}})) == ci::Provider::none);
  CHECK(ci::detect_provider(env({{"GITHUB_SHA", "abc"}})) == ci::Provider::none);
}

TEST_CASE("GitLab: GITLAB_CI=true, or GITLAB_CI=false with the job variables") {
  CHECK(ci::detect_provider(env({{"GITLAB_CI", "true"}})) == ci::Provider::gitlab);
  CHECK(ci::detect_provider(env({{"GITLAB_CI", "false"}, {"CI_JOB_ID", "1"}, {"CI_SERVER_URL", "https://g"}})) ==
        ci::Provider::gitlab);
  CHECK(ci::detect_provider(env({{"GITLAB_CI", "false"}})) == ci::Provider::none);
  CHECK(ci::detect_provider(env({{"GITLAB_CI", "false"}, {"CI_JOB_ID", "1"}})) == ci::Provider::none);
}

TEST_CASE("Jenkins needs JENKINS_URL and BUILD_NUMBER") {
  CHECK(ci::detect_provider(env({{"JENKINS_URL", "https://j/"}, {"BUILD_NUMBER", "3"}})) == ci::Provider::jenkins);
  CHECK(ci::detect_provider(env({{"JENKINS_URL", "https://j/"}})) == ci::Provider::none);
  CHECK(ci::detect_provider(env({{"BUILD_NUMBER", "3"}})) == ci::Provider::none);
  CHECK(ci::detect_provider(env({{"JENKINS_URL", ""}, {"BUILD_NUMBER", "3"}})) == ci::Provider::none);
}

TEST_CASE("GitHub fields") {
  const auto context = read(env(k_github));
  CHECK(context.provider == ci::Provider::github);
  CHECK(context.commit == "0123abcd");
  CHECK(context.branch == "main");
  CHECK(context.pipeline_url == "https://github.example/acme/app/actions/runs/42");
  CHECK(context.job_url == context.pipeline_url);
  CHECK(context.user == "octocat");
  CHECK(context.github_output == "/tmp/out");
  CHECK(context.github_step_summary == "/tmp/summary");
  CHECK(context.is_ci);
}

TEST_CASE("GitHub pull requests use the head branch; the server URL defaults to github.com") {
  auto variables = k_github;
  variables["GITHUB_HEAD_REF"] = "feature/x";
  variables["GITHUB_REF_NAME"] = "17/merge";
  variables.erase("GITHUB_SERVER_URL");
  const auto context = read(env(variables));
  CHECK(context.branch == "feature/x");
  CHECK(context.pipeline_url == "https://github.com/acme/app/actions/runs/42");
}

TEST_CASE("GitLab fields") {
  const auto context = read(env(k_gitlab));
  CHECK(context.provider == ci::Provider::gitlab);
  CHECK(context.commit == "feedbeef");
  CHECK(context.branch == "release/1.2");
  CHECK(context.pipeline_url == "https://gitlab.example/acme/app/-/pipelines/7");
  CHECK(context.job_url == "https://gitlab.example/acme/app/-/jobs/99");
  CHECK(context.user == "alice");
  CHECK(context.environment == "staging");
  CHECK(context.github_output.empty());
}

TEST_CASE("GitLab merge-request pipelines report the source branch head") {
  auto variables = k_gitlab;
  variables["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] = "mrhead";
  CHECK(read(env(variables)).commit == "mrhead");
}

TEST_CASE("Jenkins fields") {
  const auto context = read(env(k_jenkins));
  CHECK(context.provider == ci::Provider::jenkins);
  CHECK(context.commit == "c0ffee");
  CHECK(context.branch == "develop");
  CHECK(context.pipeline_url == "https://jenkins.example/job/app/12/");
  CHECK(context.job_url == context.pipeline_url);
  CHECK(context.user == "bob");
}

TEST_CASE("Jenkins change requests use CHANGE_BRANCH and CHANGE_AUTHOR") {
  auto variables = k_jenkins;
  variables["CHANGE_BRANCH"] = "pr-branch";
  variables.erase("BUILD_USER_ID");
  variables["CHANGE_AUTHOR"] = "carol";
  const auto context = read(env(variables));
  CHECK(context.branch == "pr-branch");
  CHECK(context.user == "carol");
}

TEST_CASE("no provider: fields stay empty") {
  const auto context = read(env({{"GITHUB_SHA", "ignored"}, {"GITHUB_OUTPUT", "/tmp/x"}}));
  CHECK(context.provider == ci::Provider::none);
  CHECK(context.commit.empty());
  CHECK(context.github_output.empty());
  CHECK_FALSE(context.is_ci);
  CHECK(read(env({{"CI", "true"}})).is_ci);
}

TEST_CASE("command-line overrides win over the environment") {
  ci::Overrides overrides;
  overrides.commit = "override-sha";
  overrides.branch = "override-branch";
  overrides.pipeline_url = "https://ci/p";
  overrides.job_url = "https://ci/j";
  overrides.user = "override-user";
  overrides.environment = "prod";
  const auto context = read(env(k_gitlab), overrides);
  CHECK(context.provider == ci::Provider::gitlab);
  CHECK(context.commit == "override-sha");
  CHECK(context.branch == "override-branch");
  CHECK(context.pipeline_url == "https://ci/p");
  CHECK(context.job_url == "https://ci/j");
  CHECK(context.user == "override-user");
  CHECK(context.environment == "prod");
}

TEST_CASE("a provider override replaces detection; auto keeps it") {
  ci::Overrides overrides;
  overrides.provider = "jenkins";
  auto context = read(env(k_jenkins), ci::Overrides{});
  CHECK(context.provider == ci::Provider::jenkins);
  context = read(env(k_github), overrides);
  CHECK(context.provider == ci::Provider::jenkins);
  CHECK(context.github_output.empty());
  overrides.provider = "none";
  CHECK(read(env(k_github), overrides).provider == ci::Provider::none);
  CHECK(read(env(k_github), overrides).commit.empty());
  overrides.provider = "auto";
  CHECK(read(env(k_github), overrides).provider == ci::Provider::github);
}

TEST_CASE("SHIPGATE_ENVIRONMENT sets the environment") {
  auto variables = k_gitlab;
  variables["SHIPGATE_ENVIRONMENT"] = "canary";
  CHECK(read(env(variables)).environment == "canary");
}

TEST_CASE("NO_COLOR: set with any value, even empty") {
  CHECK_FALSE(read(env({})).no_color);
  CHECK(read(env({{"NO_COLOR", "1"}})).no_color);
  CHECK(read(env({{"NO_COLOR", ""}})).no_color);
}

TEST_CASE("the terminal flags are passed through") {
  const auto context = ci::read_context(env({}), ci::Terminal{true, false}, {});
  CHECK(context.terminal.stdout_is_tty);
  CHECK_FALSE(context.terminal.stderr_is_tty);
}

TEST_CASE("Environment::from_process splits at the first '='") {
  std::string a = "A=1", b = "B=x=y", c = "EMPTY=", d = "NOEQUALS";
  char* envp[] = {a.data(), b.data(), c.data(), d.data(), nullptr};
  const auto environment = ci::Environment::from_process(envp);
  CHECK(environment.get_or("A") == "1");
  CHECK(environment.get_or("B") == "x=y");
  CHECK(environment.has("EMPTY"));
  CHECK(environment.get_or("EMPTY", "fallback") == "fallback");
  CHECK_FALSE(environment.has("NOEQUALS"));
}

TEST_CASE("provider names") {
  for (auto provider : {ci::Provider::github, ci::Provider::gitlab, ci::Provider::jenkins, ci::Provider::none})
    CHECK(ci::parse_provider(ci::to_string(provider)) == provider);
  CHECK_FALSE(ci::parse_provider("travis").has_value());
}
