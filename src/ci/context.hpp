#pragma once
// The CI context, read once from the process environment at start-up.
// Nothing else in the program reads environment variables or asks whether
// a stream is a terminal: it receives an Environment or a CiContext.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ci {

// A snapshot of the environment variables (tests build their own).
class Environment {
public:
  Environment() = default;
  explicit Environment(std::map<std::string, std::string> variables) : m_variables(std::move(variables)) {}
  static Environment from_process(char** envp);

  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string_view fallback = {}) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  const std::map<std::string, std::string>& all() const { return m_variables; }

private:
  std::map<std::string, std::string> m_variables;
};

enum class Provider { none, github, gitlab, jenkins };
std::string_view to_string(Provider provider);
std::optional<Provider> parse_provider(std::string_view text); // "auto" is handled by the caller

struct Terminal {
  bool stdout_is_tty = false;
  bool stderr_is_tty = false;
};

// Per-field overrides given on the command line.
struct Overrides {
  std::optional<std::string> provider; // auto|github|gitlab|jenkins|none
  std::optional<std::string> commit, branch, pipeline_url, job_url, user, environment;
};

struct CiContext {
  Provider provider = Provider::none;
  std::string commit, branch, pipeline_url, job_url, user, environment;
  std::string github_output;       // $GITHUB_OUTPUT, empty outside GitHub Actions
  std::string github_step_summary; // $GITHUB_STEP_SUMMARY
  bool no_color = false;           // NO_COLOR set (any value)
  bool is_ci = false;              // CI=true or a provider detected
  Terminal terminal;
};

Provider detect_provider(const Environment& env);
CiContext read_context(const Environment& env, const Terminal& terminal, const Overrides& overrides);

} // namespace ci
