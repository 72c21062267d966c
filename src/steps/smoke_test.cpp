#include "steps/smoke_test.hpp"
#include "steps/notify_flags.hpp"

#include <array>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "io/redactor.hpp"
#include "smoke/checks_file.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"
#include "smoke/verdict.hpp"

namespace steps {
namespace {

using core::ErrorKind;

struct SmokeOptions {
  std::string checks_file;
  smoke::QuickOptions quick;
  std::vector<std::string> vars;
  std::string parallel;
  bool insecure = false;
  std::string cacert;
};

constexpr std::array<std::string_view, 6> k_secret_headers = {"authorization", "proxy-authorization", "cookie",
                                                              "x-api-key", "x-auth-token", "private-token"};

class SmokeStep final : public Step {
public:
  std::string name() const override { return "smoke-test"; }
  std::string summary() const override {
    return "Verify a freshly deployed service: HTTP, TCP and command checks, with a readiness wait";
  }
  void register_options(OptionSink& sink) override;
  core::Result<core::StepResult> run(const RunContext& context) override;

private:
  core::Result<smoke::Variables> variables(const RunContext& context) const;
  core::Result<smoke::Suite> load(const smoke::Variables& variables) const;
  static void mask_secrets(const smoke::Suite& suite, io::Output& output);

  SmokeOptions m_options;
  NotifyFlags m_notify;
};

void SmokeStep::register_options(OptionSink& sink) {
  auto& o = m_options;
  sink.value("-c,--checks", o.checks_file, "Checks file (YAML, docs/smoke-test.md)");
  sink.values("-u,--url", o.quick.urls, "Quick mode: GET this URL and check the answer; repeatable");
  sink.values("--expect-status", o.quick.expect_status, "Quick mode: allowed status, e.g. 200, 2xx or 200-204; repeatable (default 2xx)");
  sink.values("--expect-body", o.quick.expect_body, "Quick mode: text the body must contain; repeatable");
  sink.value("--timeout", o.quick.timeout, "Quick mode: timeout per request, e.g. 5s or 500ms (default 10s)");
  sink.values("--var", o.vars, "Variable for ${NAME} in the checks, K=V; repeatable; overrides the environment");
  sink.value("--parallel", o.parallel, "Checks run at the same time (default: the file's `parallel`, else 8)");
  sink.flag("-k,--insecure", o.insecure, "Do not verify TLS certificates (flagged in every report)");
  sink.value("--cacert", o.cacert, "CA certificates (PEM) to verify HTTPS servers with, instead of the system's bundle");
  m_notify.register_options(sink);
}

core::Result<smoke::Variables> SmokeStep::variables(const RunContext& context) const {
  smoke::Variables variables(context.env.all().begin(), context.env.all().end());
  auto flags = parse_var_flags(m_options.vars, context.output);
  if (!flags) return flags.error();
  for (const auto& [name, value] : *flags) variables[name] = value;
  return variables;
}

core::Result<smoke::Suite> SmokeStep::load(const smoke::Variables& variables) const {
  const bool file = !m_options.checks_file.empty();
  const bool quick = !m_options.quick.urls.empty();
  if (file == quick)
    return core::make_error(ErrorKind::usage,
                            file ? "give either --checks FILE or --url URL, not both"
                                 : "nothing to check: give --checks FILE or at least one --url URL");
  const auto& q = m_options.quick;
  if (file && (!q.expect_status.empty() || !q.expect_body.empty() || !q.timeout.empty()))
    return core::make_error(ErrorKind::usage, "--expect-status, --expect-body and --timeout belong to --url quick mode; "
                                              "with --checks FILE, write them in the file's `expect:`");
  auto suite = file ? smoke::load_checks_file(m_options.checks_file, variables)
                    : smoke::quick_suite(m_options.quick, variables);
  if (!suite) return suite;
  if (!m_options.parallel.empty()) {
    const int parallel = std::atoi(m_options.parallel.c_str());
    if (parallel < 1 || parallel > 1024 || std::to_string(parallel) != m_options.parallel)
      return core::make_error(ErrorKind::usage, "--parallel expects a number from 1 to 1024, got '" +
                                                    m_options.parallel + "'");
    suite->parallel = parallel;
  }
  if (m_options.insecure) suite->tls.insecure = true;
  if (!m_options.cacert.empty()) suite->tls.cacert = m_options.cacert;
  return suite;
}

// Header values that carry credentials are masked in every output, wherever
// they came from.
void SmokeStep::mask_secrets(const smoke::Suite& suite, io::Output& output) {
  auto mask = [&](const smoke::Check& check) {
    for (const auto& [name, value] : check.http.headers) {
      const std::string lower = core::to_lower(name);
      for (const auto header : k_secret_headers) {
        if (lower != header) continue;
        output.add_secret(value);
        // "Bearer abc": mask the credential itself too, in case it is echoed alone.
        if (const auto space = value.find(' '); space != std::string::npos) output.add_secret(value.substr(space + 1));
      }
    }
  };
  for (const auto& check : suite.checks) mask(check);
  if (suite.wait) mask(suite.wait->probe);
}

core::Result<core::StepResult> SmokeStep::run(const RunContext& context) {
  auto vars = variables(context);
  if (!vars) return vars.error();
  auto suite = load(*vars);
  if (!suite) return suite.error();
  mask_secrets(*suite, context.output);
  auto executor = smoke::make_real_executor();
  auto clock = smoke::make_real_clock();
  smoke::Runner runner(*executor, *clock);
  const smoke::SmokeReport report = runner.run(*suite);
  if (core::interrupted()) return core::make_error(ErrorKind::interrupted, "interrupted while checking");
  core::StepResult result = smoke::judge(*suite, report);
  // docs/notify.md: the smoke test's verdict goes to the chain.
  if (auto sent = m_notify.send(context, result.verdict == core::Verdict::pass ? "smoke-passed" : "smoke-failed", result);
      !sent)
    return sent.error();
  return result;
}

} // namespace

std::unique_ptr<Step> make_smoke_test() { return std::make_unique<SmokeStep>(); }

} // namespace steps
