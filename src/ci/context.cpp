#include "ci/context.hpp"

#include <cstring>

namespace ci {

Environment Environment::from_process(char** envp) {
  std::map<std::string, std::string> variables;
  for (char** entry = envp; entry && *entry; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (!equals) continue;
    variables.emplace(std::string(*entry, static_cast<std::size_t>(equals - *entry)), std::string(equals + 1));
  }
  return Environment(std::move(variables));
}

std::optional<std::string> Environment::get(std::string_view name) const {
  const auto found = m_variables.find(std::string(name));
  if (found == m_variables.end()) return std::nullopt;
  return found->second;
}

std::string Environment::get_or(std::string_view name, std::string_view fallback) const {
  auto value = get(name);
  return value && !value->empty() ? *value : std::string(fallback);
}

std::string_view to_string(Provider provider) {
  switch (provider) {
  case Provider::github: return "github";
  case Provider::gitlab: return "gitlab";
  case Provider::jenkins: return "jenkins";
  case Provider::none: return "none";
  }
  return "none";
}

std::optional<Provider> parse_provider(std::string_view text) {
  if (text == "github") return Provider::github;
  if (text == "gitlab") return Provider::gitlab;
  if (text == "jenkins") return Provider::jenkins;
  if (text == "none") return Provider::none;
  return std::nullopt;
}

Provider detect_provider(const Environment& env) {
  if (env.get_or("GITHUB_ACTIONS") == "true") return Provider::github;
  // gitlab-ci-local and some local runners set GITLAB_CI=false but still
  // provide the job variables.
  if (env.get_or("GITLAB_CI") == "true" || (env.has("CI_JOB_ID") && env.has("CI_SERVER_URL")))
    return Provider::gitlab;
  if (!env.get_or("JENKINS_URL").empty() && env.has("BUILD_NUMBER")) return Provider::jenkins;
  return Provider::none;
}

namespace {

void fill_github(const Environment& env, CiContext& context) {
  context.commit = env.get_or("GITHUB_SHA");
  context.branch = env.get_or("GITHUB_HEAD_REF", env.get_or("GITHUB_REF_NAME"));
  const std::string server = env.get_or("GITHUB_SERVER_URL", "https://github.com");
  const std::string repository = env.get_or("GITHUB_REPOSITORY");
  const std::string run = env.get_or("GITHUB_RUN_ID");
  if (!repository.empty() && !run.empty()) {
    context.pipeline_url = server + "/" + repository + "/actions/runs/" + run;
    context.job_url = context.pipeline_url;
  }
  context.user = env.get_or("GITHUB_ACTOR");
}

void fill_gitlab(const Environment& env, CiContext& context) {
  // For merge-request pipelines the tested commit is the source branch head.
  context.commit = env.get_or("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", env.get_or("CI_COMMIT_SHA"));
  context.branch = env.get_or("CI_COMMIT_REF_NAME");
  context.pipeline_url = env.get_or("CI_PIPELINE_URL");
  context.job_url = env.get_or("CI_JOB_URL");
  context.user = env.get_or("GITLAB_USER_LOGIN");
  context.environment = env.get_or("CI_ENVIRONMENT_NAME");
}

void fill_jenkins(const Environment& env, CiContext& context) {
  context.commit = env.get_or("GIT_COMMIT");
  context.branch = env.get_or("CHANGE_BRANCH", env.get_or("BRANCH_NAME", env.get_or("GIT_BRANCH")));
  context.pipeline_url = env.get_or("BUILD_URL");
  context.job_url = context.pipeline_url;
  context.user = env.get_or("BUILD_USER_ID", env.get_or("CHANGE_AUTHOR"));
}

void apply(const std::optional<std::string>& override_value, std::string& field) {
  if (override_value) field = *override_value;
}

} // namespace

CiContext read_context(const Environment& env, const Terminal& terminal, const Overrides& overrides) {
  CiContext context;
  context.provider = detect_provider(env);
  if (overrides.provider && *overrides.provider != "auto")
    context.provider = parse_provider(*overrides.provider).value_or(context.provider);
  switch (context.provider) {
  case Provider::github: fill_github(env, context); break;
  case Provider::gitlab: fill_gitlab(env, context); break;
  case Provider::jenkins: fill_jenkins(env, context); break;
  case Provider::none: break;
  }
  context.environment = env.get_or("SHIPGATE_ENVIRONMENT", context.environment);
  apply(overrides.commit, context.commit);
  apply(overrides.branch, context.branch);
  apply(overrides.pipeline_url, context.pipeline_url);
  apply(overrides.job_url, context.job_url);
  apply(overrides.user, context.user);
  apply(overrides.environment, context.environment);
  if (context.provider == Provider::github) {
    context.github_output = env.get_or("GITHUB_OUTPUT");
    context.github_step_summary = env.get_or("GITHUB_STEP_SUMMARY");
  }
  context.no_color = env.has("NO_COLOR");
  context.is_ci = env.get_or("CI") == "true" || context.provider != Provider::none;
  context.terminal = terminal;
  return context;
}

} // namespace ci
