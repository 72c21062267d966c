// status, history, release unblock, lock release, and the flags shared by
// every command on an environment's targets.
#include <algorithm>
#include <cctype>

#include "io/redactor.hpp"
#include "smoke/checks_file.hpp"
#include "deploy/signoff.hpp"
#include "steps/deploy_stage.hpp"
#include "steps/target_options.hpp"

namespace steps {

using core::ErrorKind;

void TargetFlags::register_options(OptionSink& sink, bool locking) {
  sink.value("--plan", m_plan, "Launch plan file (YAML, docs/plan.md)", true);
  sink.value("--env", m_env, "Environment of the plan, e.g. staging", true);
  sink.values("--var", m_vars, "Value for ${NAME} in the plan, NAME=VALUE; repeatable; overrides the plan and environment");
  sink.value("--jobs", m_jobs, "Targets (hosts) worked on at once, 1 to 256 (default 10)");
  if (!locking) return;
  sink.value("--wait-lock", m_wait_lock, "When another run holds the deploy lock, wait this long for it (e.g. 10m; default: do not wait)");
  sink.value("--lock-ttl", m_lock_ttl, "Lease time of the lock, renewed while the run lives (default: the plan's lock_ttl, 5m)");
}

core::Result<deploy::TargetOptions> TargetFlags::read(const RunContext& context) const {
  deploy::TargetOptions options;
  options.plan_file = m_plan;
  options.environment = m_env;
  auto vars = parse_var_flags(m_vars, context.output);
  if (!vars) return vars.error();
  options.vars = *vars;
  auto duration = [](const std::string& flag, const std::string& text) -> core::Result<std::chrono::milliseconds> {
    const auto parsed = smoke::parse_duration(text);
    if (!parsed) return core::make_error(ErrorKind::usage, flag + " expects a duration such as 30s or 10m, got '" + text + "'");
    return *parsed;
  };
  if (!m_wait_lock.empty()) {
    auto wait = duration("--wait-lock", m_wait_lock);
    if (!wait) return wait.error();
    options.wait_lock = *wait;
  }
  if (!m_jobs.empty()) {
    const bool digits = m_jobs.size() <= 3 && std::all_of(m_jobs.begin(), m_jobs.end(), [](unsigned char c) {
      return std::isdigit(c) != 0;
    });
    const int jobs = digits ? std::stoi(m_jobs) : 0;
    if (jobs < 1 || jobs > 256)
      return core::make_error(ErrorKind::usage, "--jobs expects a number from 1 to 256, got '" + m_jobs + "'");
    options.jobs = jobs;
  }
  if (!m_lock_ttl.empty()) {
    auto ttl = duration("--lock-ttl", m_lock_ttl);
    if (!ttl) return ttl.error();
    if (ttl->count() < 1000) return core::make_error(ErrorKind::usage, "--lock-ttl must be at least 1s");
    options.lock_ttl = *ttl;
  }
  return options;
}

namespace {

deploy::EngineContext engine(const RunContext& context) {
  return {context.ci, context.env, context.output, context.now, context.quiet};
}

class StatusStep final : public Step {
public:
  std::string name() const override { return "status"; }
  std::string summary() const override { return "Show what is live in an environment, what was before, locks and bad versions"; }
  void register_options(OptionSink& sink) override { m_target.register_options(sink, false); }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto target = m_target.read(context);
    if (!target) return target.error();
    return deploy::show_status(*target, engine(context));
  }

private:
  TargetFlags m_target;
};

class HistoryStep final : public Step {
public:
  std::string name() const override { return "history"; }
  std::string summary() const override { return "Show an environment's ledger: every deploy, rollback and unblock, newest first"; }
  void register_options(OptionSink& sink) override {
    m_target.register_options(sink, false);
    sink.value("--limit", m_limit, "Show at most this many entries (default 20)");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto target = m_target.read(context);
    if (!target) return target.error();
    int limit = 20;
    if (!m_limit.empty()) {
      limit = std::atoi(m_limit.c_str());
      if (limit < 1 || std::to_string(limit) != m_limit)
        return core::make_error(ErrorKind::usage, "--limit expects a positive number, got '" + m_limit + "'");
    }
    return deploy::show_history(*target, limit, engine(context));
  }

private:
  TargetFlags m_target;
  std::string m_limit;
};

class UnblockStep final : public Step {
public:
  std::string name() const override { return "release unblock"; }
  std::string summary() const override { return "Allow a version marked bad by a rollback to be deployed again"; }
  void register_options(OptionSink& sink) override {
    sink.value("--plan", m_plan, "Launch plan file (YAML, docs/plan.md)", true);
    sink.value("--version", m_version, "The version to unblock", true);
    sink.value("--reason", m_reason, "Why it is fit again (recorded in the ledger)", true);
    sink.values("--var", m_vars, "Value for ${NAME} in the plan, NAME=VALUE; repeatable");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto vars = parse_var_flags(m_vars, context.output);
    if (!vars) return vars.error();
    return deploy::unblock_release(m_plan, m_version, m_reason, *vars, engine(context));
  }

private:
  std::string m_plan, m_version, m_reason;
  std::vector<std::string> m_vars;
};

class SignoffStep final : public Step {
public:
  std::string name() const override { return "signoff"; }
  std::string summary() const override {
    return "Record a role's approval or rejection of a version for an environment (docs/signoff.md)";
  }
  void register_options(OptionSink& sink) override {
    sink.value("--plan", m_request.plan_file, "Launch plan file (YAML, docs/plan.md)", true);
    sink.value("--env", m_request.environment, "Environment the sign-off is for, e.g. prod", true);
    sink.value("--version", m_request.version, "The version signed off", true);
    sink.value("--role", m_request.role, "Role signing: developer, tech-lead, tester, business, product, ops or dba", true);
    sink.value("--by", m_request.by, "Who signs (a CI user name or an e-mail address)", true);
    sink.value("--decision", m_request.decision, "approve or reject", true);
    sink.value("--comment", m_request.comment, "Why (required with reject); recorded in the ledger");
    sink.values("--var", m_vars, "Value for ${NAME} in the plan, NAME=VALUE; repeatable");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto vars = parse_var_flags(m_vars, context.output);
    if (!vars) return vars.error();
    m_request.vars = *vars;
    return deploy::record_signoff(m_request, engine(context));
  }

private:
  deploy::SignoffRequest m_request;
  std::vector<std::string> m_vars;
};

class LockReleaseStep final : public Step {
public:
  std::string name() const override { return "lock release"; }
  std::string summary() const override {
    return "Remove a deploy lock left by a job that is gone (--force --reason TEXT; recorded in the ledger)";
  }
  void register_options(OptionSink& sink) override {
    m_target.register_options(sink, false);
    sink.flag("--force", m_force, "Required: remove the lock whoever holds it");
    sink.value("--reason", m_reason, "Why (recorded in the ledger)", true);
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    if (!m_force)
      return core::make_error(ErrorKind::usage, "lock release removes a lock someone else may hold: add --force "
                                                "(and check `shipgate status` first: the holder is named there)");
    auto target = m_target.read(context);
    if (!target) return target.error();
    return deploy::force_release_lock(*target, m_reason, engine(context));
  }

private:
  TargetFlags m_target;
  std::string m_reason;
  bool m_force = false;
};

} // namespace

std::unique_ptr<Step> make_status() { return std::make_unique<StatusStep>(); }
std::unique_ptr<Step> make_history() { return std::make_unique<HistoryStep>(); }
std::unique_ptr<Step> make_release_unblock() { return std::make_unique<UnblockStep>(); }
std::unique_ptr<Step> make_signoff() { return std::make_unique<SignoffStep>(); }
std::unique_ptr<Step> make_lock_release() { return std::make_unique<LockReleaseStep>(); }

} // namespace steps
