#include "steps/deploy_stage.hpp"

#include "deploy/engine.hpp"
#include "io/redactor.hpp"
#include "smoke/checks_file.hpp"
#include "steps/target_options.hpp"

namespace steps {
namespace {

using core::ErrorKind;

class DeployStageStep final : public Step {
public:
  std::string name() const override { return "deploy-stage"; }
  std::string summary() const override {
    return "Deploy a version to one environment of a launch plan: verify, back up, switch, check, roll back on failure";
  }
  void register_options(OptionSink& sink) override {
    m_target.register_options(sink, true);
    sink.value("--version", m_version, "Version to deploy (letters, digits, . _ + -); required unless --resume/--abort");
    sink.flag("--resume", m_resume,
              "Tell the deploy paused after its canary batch (pause: until-resume) to go on; needs --plan and --env");
    sink.flag("--abort", m_abort, "Tell the deploy paused after its canary batch to roll back");
    sink.values("--artifact", m_artifacts,
                "Release artifact: PATH or URL (tar/zip); SERVICE=PATH|URL with several services; repeatable");
    sink.values("--sha256", m_sha256, "Expected sha256 of the artifact (or SERVICE=HEX); default: ARTIFACT.sha256");
    sink.values("--signature", m_signatures,
                "Ed25519 signature file of the artifact (or SERVICE=FILE); default: ARTIFACT.sig when the plan requires one");
    sink.value("--deadline", m_deadline, "Override the plan's deadline, e.g. 10m: past it, the deploy is rolled back");
    sink.value("--cacert", m_cacert, "CA certificates (PEM) for downloading artifacts over HTTPS");
    sink.value("--level", m_level, "Fault level P0..P3 of this release for the notifications (docs/notify.md)");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    deploy::DeployRequest request;
    auto target = m_target.read(context);
    if (!target) return target.error();
    if (m_resume && m_abort) return core::make_error(ErrorKind::usage, "--resume and --abort exclude each other");
    if (m_resume || m_abort) {
      if (!m_version.empty() || !m_artifacts.empty())
        return core::make_error(ErrorKind::usage, std::string(m_resume ? "--resume" : "--abort") +
                                                      " signals the paused run; it takes no --version or --artifact");
      return deploy::signal_paused_deploy(*target, m_resume,
                                          {context.ci, context.env, context.output, context.now, context.quiet});
    }
    if (m_version.empty())
      return core::make_error(ErrorKind::usage, "--version is required: the version to deploy, such as --version 1.4.2");
    request.target = *target;
    request.version = m_version;
    request.artifacts = m_artifacts;
    request.sha256 = m_sha256;
    request.signatures = m_signatures;
    request.cacert = m_cacert;
    if (!m_level.empty() && !(m_level.size() == 2 && m_level[0] == 'P' && m_level[1] >= '0' && m_level[1] <= '3'))
      return core::make_error(ErrorKind::usage, "--level must be P0, P1, P2 or P3, got '" + m_level + "'");
    request.level = m_level;
    if (!m_deadline.empty()) {
      const auto deadline = smoke::parse_duration(m_deadline);
      if (!deadline || deadline->count() <= 0)
        return core::make_error(ErrorKind::usage, "--deadline expects a duration such as 90s or 10m, got '" + m_deadline + "'");
      request.deadline = *deadline;
    }
    return deploy::run_deploy(request, {context.ci, context.env, context.output, context.now, context.quiet});
  }

private:
  TargetFlags m_target;
  std::string m_version, m_deadline, m_cacert, m_level;
  std::vector<std::string> m_artifacts, m_sha256, m_signatures;
  bool m_resume = false, m_abort = false;
};

class RollbackStep final : public Step {
public:
  std::string name() const override { return "rollback"; }
  std::string summary() const override {
    return "Return an environment to its recorded last good version, verify it, and mark the bad one";
  }
  void register_options(OptionSink& sink) override {
    m_target.register_options(sink, true);
    sink.value("--to", m_to, "Version to return to (default: the last good one recorded in the ledger)");
    sink.value("--reason", m_reason, "Why: recorded in the ledger with the bad mark");
    sink.value("--level", m_level, "Fault level P0..P3 of the incident for the notifications: P0 tells everyone at once");
    sink.flag("--force-past-irreversible", m_force,
              "Roll back even though a database change to revert is irreversible: the changes after the newest "
              "irreversible one are reverted, it stays applied (needs --reason; docs/database.md)");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    deploy::RollbackRequest request;
    auto target = m_target.read(context);
    if (!target) return target.error();
    request.target = *target;
    if (!m_to.empty()) request.to = m_to;
    request.reason = m_reason;
    if (!m_level.empty() && !(m_level.size() == 2 && m_level[0] == 'P' && m_level[1] >= '0' && m_level[1] <= '3'))
      return core::make_error(ErrorKind::usage, "--level must be P0, P1, P2 or P3, got '" + m_level + "'");
    request.level = m_level;
    request.force_past_irreversible = m_force;
    if (m_force && m_reason.empty())
      return core::make_error(core::ErrorKind::usage,
                              "--force-past-irreversible needs --reason TEXT: the ledger records why an irreversible "
                              "database change was left applied");
    return deploy::run_rollback(request, {context.ci, context.env, context.output, context.now, context.quiet});
  }

private:
  TargetFlags m_target;
  std::string m_to, m_reason, m_level;
  bool m_force = false;
};

} // namespace

std::unique_ptr<Step> make_deploy_stage() { return std::make_unique<DeployStageStep>(); }
std::unique_ptr<Step> make_rollback() { return std::make_unique<RollbackStep>(); }

} // namespace steps
