// `shipgate db status` and `shipgate db plan` (docs/database.md#commands).
#include "deploy/databases.hpp"
#include "steps/deploy_stage.hpp"
#include "steps/target_options.hpp"

namespace steps {

namespace {

deploy::EngineContext engine(const RunContext& context) {
  return {context.ci, context.env, context.output, context.now, context.quiet};
}

class DbStatusStep final : public Step {
public:
  std::string name() const override { return "db status"; }
  std::string summary() const override {
    return "List a database's applied and pending changes, flagging drift (docs/database.md)";
  }
  void register_options(OptionSink& sink) override { m_target.register_options(sink, false); }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto target = m_target.read(context);
    if (!target) return target.error();
    return deploy::show_db_status(*target, engine(context));
  }

private:
  TargetFlags m_target;
};

class DbPlanStep final : public Step {
public:
  std::string name() const override { return "db plan"; }
  std::string summary() const override {
    return "Print exactly what deploy-stage (or rollback) would run on the databases, changing nothing";
  }
  void register_options(OptionSink& sink) override {
    m_target.register_options(sink, false);
    sink.flag("--rollback", m_rollback, "Show what `shipgate rollback` would revert instead of what a deploy applies");
    sink.value("--to", m_to, "With --rollback: the version to return to (default: the last good one)");
    sink.flag("--force-past-irreversible", m_force, "With --rollback: as rollback --force-past-irreversible would");
  }
  core::Result<core::StepResult> run(const RunContext& context) override {
    auto target = m_target.read(context);
    if (!target) return target.error();
    if (!m_rollback && (!m_to.empty() || m_force))
      return core::make_error(core::ErrorKind::usage, "--to and --force-past-irreversible go with --rollback");
    deploy::DbPlanRequest request;
    request.rollback = m_rollback;
    if (!m_to.empty()) request.to = m_to;
    request.force_past_irreversible = m_force;
    return deploy::show_db_plan(*target, request, engine(context));
  }

private:
  TargetFlags m_target;
  bool m_rollback = false, m_force = false;
  std::string m_to;
};

} // namespace

std::unique_ptr<Step> make_db_status() { return std::make_unique<DbStatusStep>(); }
std::unique_ptr<Step> make_db_plan() { return std::make_unique<DbPlanStep>(); }

} // namespace steps
