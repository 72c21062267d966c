// The deploy engine (docs/deploy.md). One Run drives every target of an
// environment through the actions of deploy/actions.hpp, journalling each
// on the targets it touches, and rolls back what it changed when an action
// fails, the deadline passes or the job is interrupted.
#include "deploy/engine.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <openssl/evp.h>
#include <unistd.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "deploy/actions.hpp"
#include "deploy/artifact.hpp"
#include "deploy/driver.hpp"
#include "deploy/history.hpp"
#include "deploy/journal.hpp"
#include "deploy/layout.hpp"
#include "deploy/lease.hpp"
#include "deploy/plan_validate.hpp"
#include "deploy/ledger.hpp"
#include "io/process.hpp"
#include "io/redactor.hpp"
#include "smoke/executor.hpp"
#include "smoke/runner.hpp"
#include "smoke/verdict.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::CheckStatus;
using core::ErrorKind;
using Milliseconds = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t k_max_transcript = 16 * 1024;

std::string quote(const std::string& text) { return "'" + text + "'"; }

std::string sha256_text(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", seconds);
  return text;
}

// The version part of a release id "<stamp>-<version>[-N]" when the ledger
// does not say.
std::string version_of_release(const std::string& release) {
  const auto dash = release.find('-');
  return dash == std::string::npos ? release : release.substr(dash + 1);
}

// ---------------------------------------------------------------- setup

struct Unit {
  std::string service;
  std::unique_ptr<Driver> driver;
  std::optional<std::string> from;    // live release before this run
  std::optional<std::string> back_to; // where a rollback takes it (from, or the rollback target)
  bool prepared = false;
  bool switched = false;
  bool went_live = false; // switched to the new release at some point (kept for forensics)
  bool stopped = false; // this unit's service was stopped by the run and not started again
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Ledger> ledger;
};

struct Environment {
  std::unique_ptr<Plan> plan;
  ResolvedPlan resolved;
  std::vector<Unit> units;
};

Variables base_variables(const EngineContext& context) {
  return Variables(context.env.all().begin(), context.env.all().end());
}

std::vector<std::string> plugin_search_path(const EngineContext& context) {
  std::vector<std::string> out;
  const std::string value = context.env.get_or("SHIPGATE_PLUGIN_PATH");
  std::size_t start = 0;
  while (start <= value.size() && !value.empty()) {
    const auto colon = value.find(':', start);
    const std::string item = value.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!item.empty()) out.push_back(item);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

core::Result<std::vector<Unit>> make_units(const ResolvedPlan& resolved, const EngineContext& context) {
  std::vector<Unit> units;
  std::set<std::string> state_dirs;
  const fs::path plan_dir = fs::absolute(resolved.plan->file).parent_path();
  for (const auto& service : resolved.services) {
    auto add = [&](std::unique_ptr<Driver> driver) -> core::Status {
      const std::string dir = driver->state_dir().lexically_normal().string();
      if (!state_dirs.insert(dir).second)
        return core::make_error(ErrorKind::invalid_input,
                                "two targets share " + dir + " (service " + service.name +
                                    "): give each service and root its own folder",
                                service.target.location);
      Unit unit;
      unit.service = service.name;
      unit.journal = std::make_unique<Journal>(driver->state_dir() / "journal.jsonl");
      unit.ledger = std::make_unique<Ledger>(driver->state_dir() / "ledger.jsonl");
      unit.driver = std::move(driver);
      units.push_back(std::move(unit));
      return core::ok_status();
    };
    if (service.target.kind == TargetSpec::Kind::local) {
      for (const auto& root : service.target.roots)
        if (auto added = add(make_local_driver(root)); !added) return added.error();
    } else {
      PluginOptions options;
      options.plugin = service.target.plugin;
      options.plan_dir = plan_dir;
      options.search_path = plugin_search_path(context);
      options.settings = service.target.settings;
      options.state_dir = fs::absolute(plan_dir / service.target.state_dir);
      options.environment = resolved.environment->name;
      options.service = service.name;
      auto driver = make_plugin_driver(options);
      if (!driver) return driver.error();
      if (auto added = add(std::move(*driver)); !added) return added.error();
    }
  }
  return units;
}

core::Result<Environment> open_environment(const std::string& plan_file, const std::string& name,
                                           const Variables& vars, Variables run_values,
                                           const EngineContext& context) {
  Environment env;
  auto plan = load_plan(plan_file);
  if (!plan) return plan.error();
  env.plan = std::make_unique<Plan>(std::move(*plan));
  // Values of secret-named variables written in the plan itself are masked
  // like those from the environment (a value built from ${...} is masked
  // through its parts, which come from the environment).
  auto mask = [&](const Variables& variables) {
    for (const auto& [key, value] : variables)
      if (io::is_secret_name(key) && value.find("${") == std::string::npos) context.output.add_secret(value);
  };
  mask(env.plan->variables);
  for (const auto& environment : env.plan->environments) mask(environment.variables);
  for (const auto& [key, value] : vars) run_values[key] = value;
  auto resolved = resolve_plan(*env.plan, name, base_variables(context), run_values);
  if (!resolved) return resolved.error();
  env.resolved = std::move(*resolved);
  auto units = make_units(env.resolved, context);
  if (!units) return units.error();
  env.units = std::move(*units);
  return env;
}

Variables placeholder_run_values(const std::string& environment, const std::string& version) {
  Variables values = deploy::placeholder_run_values();
  values["ENV"] = environment;
  values["VERSION"] = version;
  return values;
}

// The run values of docs/plan.md#run-values for a real run.
Variables real_run_values(const EngineContext& context, const std::string& environment, const std::string& version,
                          const std::string& previous_version, const std::string& release, const Unit& first) {
  return {{"ENV", environment},
          {"VERSION", version},
          {"PREVIOUS_VERSION", previous_version},
          {"RELEASE", release},
          {"RELEASE_DIR", layout::release_dir(first.driver->root(), release).string()},
          {"BACKUP_DIR", (first.driver->state_dir() / "backups" / release).string()},
          {"COMMIT", context.ci.commit},
          {"BRANCH", context.ci.branch}};
}

// The history of one environment: its targets' ledgers merged.
History read_history(const std::vector<Unit>& units) {
  History history;
  for (const auto& unit : units) {
    auto read = unit.ledger->read();
    if (!read) {
      history.warnings.push_back(read.error().describe());
      continue;
    }
    history.add(read->entries);
    for (const auto& warning : read->warnings) history.warnings.push_back(warning);
  }
  return history;
}

// Every environment's history, for bad marks and promotion order. An
// environment whose plan values cannot be resolved here is skipped with a
// warning.
std::map<std::string, History> read_all_histories(const Plan& plan, const Variables& vars, const EngineContext& context,
                                                  std::vector<std::string>& warnings) {
  std::map<std::string, History> out;
  for (const auto& environment : plan.environments) {
    Variables run_values = placeholder_run_values(environment.name, "0.0.0");
    for (const auto& [key, value] : vars) run_values[key] = value;
    auto resolved = resolve_plan(plan, environment.name, base_variables(context), run_values);
    if (!resolved) {
      warnings.push_back("cannot read the ledger of " + environment.name + ": " + resolved.error().describe());
      continue;
    }
    auto units = make_units(*resolved, context);
    if (!units) {
      warnings.push_back("cannot read the ledger of " + environment.name + ": " + units.error().describe());
      continue;
    }
    out[environment.name] = read_history(*units);
  }
  return out;
}

LedgerEntry base_entry(const EngineContext& context, const std::string& run_id, const std::string& environment) {
  LedgerEntry entry;
  entry.id = run_id;
  entry.environment = environment;
  entry.commit = context.ci.commit;
  entry.branch = context.ci.branch;
  entry.user = context.ci.user;
  entry.provider = std::string(ci::to_string(context.ci.provider));
  entry.pipeline_url = context.ci.pipeline_url;
  entry.job_url = context.ci.job_url;
  entry.started_at = context.now;
  return entry;
}

LeaseOwner lease_owner(const EngineContext& context, const std::string& run_id) {
  LeaseOwner owner;
  owner.run_id = run_id;
  owner.provider = std::string(ci::to_string(context.ci.provider));
  owner.job_url = context.ci.job_url;
  owner.pipeline_url = context.ci.pipeline_url;
  owner.user = context.ci.user;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  owner.host = host;
  owner.pid = static_cast<long>(::getpid());
  return owner;
}

// ---------------------------------------------------------------- the run

enum class Mode { deploy, rollback, reconcile };
std::string mode_name(Mode mode) {
  return mode == Mode::deploy ? "deploy" : mode == Mode::rollback ? "rollback" : "reconcile";
}

class Run {
public:
  Run(const EngineContext& context, Environment& env, Mode mode, std::string step)
      : m_context(context), m_env(env), m_mode(mode) {
    m_result.step = std::move(step);
    m_result.checks_label = "actions";
    m_run_id = make_run_id(context.now);
    m_started = SteadyClock::now();
  }

  core::StepResult& result() { return m_result; }
  const std::string& run_id() const { return m_run_id; }
  Environment& env() { return m_env; }

  void progress(const std::string& text) {
    if (!m_context.quiet) m_context.output.err("shipgate: " + text + "\n");
  }

  core::Check& add_check(std::string id, std::string title, CheckStatus status, std::string explanation,
                         double seconds = -1) {
    core::Check check;
    check.id = std::move(id);
    check.title = std::move(title);
    check.status = status;
    check.explanation = std::move(explanation);
    check.seconds = seconds;
    m_result.checks.push_back(std::move(check));
    return m_result.checks.back();
  }

  // ---- locks
  core::Status lock(Milliseconds wait, Milliseconds ttl) {
    std::map<std::string, fs::path> dirs;
    for (const auto& unit : m_env.units) dirs[unit.driver->state_dir().string()] = unit.driver->state_dir();
    const auto start = SteadyClock::now();
    for (const auto& [key, dir] : dirs) {
      auto lease = std::make_unique<Lease>(dir, lease_owner(m_context, m_run_id), ttl);
      const auto waited = std::chrono::duration_cast<Milliseconds>(SteadyClock::now() - start);
      auto acquired = lease->acquire(std::max(Milliseconds(0), wait - waited));
      if (!acquired) return acquired;
      m_heartbeats.push_back(std::make_unique<Heartbeat>(*lease, ttl));
      m_leases.push_back(std::move(lease));
    }
    return core::ok_status();
  }
  bool lease_lost() const {
    return std::any_of(m_heartbeats.begin(), m_heartbeats.end(), [](const auto& beat) { return beat->lost(); });
  }
  void unlock() {
    for (auto& beat : m_heartbeats) beat->stop();
    m_heartbeats.clear();
    for (auto& lease : m_leases) (void)lease->release();
    m_leases.clear();
  }

  // ---- journal
  void journal(Unit& unit, const std::string& action, const std::string& phase, nlohmann::json data = nlohmann::json::object()) {
    JournalRecord record;
    record.run = m_run_id;
    record.seq = m_seq++;
    record.action = action;
    record.phase = phase;
    record.service = unit.service;
    record.data = std::move(data);
    if (auto written = unit.journal->write(record); !written)
      m_journal_error = written.error().describe(); // surfaced by the caller as a failure
  }
  void journal_all(const std::string& action, const std::string& phase, const nlohmann::json& data) {
    for (auto& unit : m_env.units) journal(unit, action, phase, data);
  }
  void close_journals() {
    for (auto& unit : m_env.units) (void)unit.journal->remove();
  }
  const std::string& journal_error() const { return m_journal_error; }

  // ---- deadline and interruption
  void set_deadline(Milliseconds deadline) { m_deadline = m_started + deadline; m_deadline_length = deadline; }
  Milliseconds remaining() const {
    return std::chrono::duration_cast<Milliseconds>(m_deadline - SteadyClock::now());
  }
  // Why the run must stop now, or empty.
  std::string stop_reason() const {
    if (core::interrupted()) return "interrupted (SIGINT/SIGTERM)";
    if (m_deadline_length.count() > 0 && SteadyClock::now() >= m_deadline)
      return "the planned deadline of " + format_seconds(m_deadline_length.count() / 1000.0) +
             " passed before the release was verified";
    if (lease_lost()) return "the deploy lock was taken over by someone else (shipgate lock release --force?)";
    return {};
  }

  // ---- commands
  std::map<std::string, std::string> command_env(const Unit& unit, const std::string& release) const {
    const fs::path root = unit.driver->root();
    return {{"SHIPGATE_ROOT", root.string()},
            {"SHIPGATE_CURRENT", (root / "current").string()},
            {"SHIPGATE_RELEASE", release},
            {"SHIPGATE_RELEASE_DIR", release.empty() ? std::string() : layout::release_dir(root, release).string()},
            {"SHIPGATE_PREVIOUS_RELEASE", unit.from.value_or("")},
            {"SHIPGATE_VERSION", m_version},
            {"SHIPGATE_ENV", m_env.resolved.environment->name},
            {"SHIPGATE_SERVICE", unit.service},
            {"SHIPGATE_MODE", mode_name(m_mode)},
            {"SHIPGATE_RUN_ID", m_run_id}};
  }

  core::Status run_command(const CommandSpec& command, const Unit& unit, const std::string& release,
                           bool rolling_back, std::string& transcript, const std::string& cwd = {}) {
    io::ProcessSpec spec;
    spec.argv = command.shell.empty() ? command.argv : std::vector<std::string>{"/bin/sh", "-c", command.shell};
    spec.timeout = command.timeout;
    if (!rolling_back && m_deadline_length.count() > 0)
      spec.timeout = std::max(Milliseconds(1), std::min(spec.timeout, remaining()));
    spec.env_add = command_env(unit, release);
    spec.cwd = cwd.empty() ? unit.driver->root().string() : cwd;
    spec.stop_on_interrupt = !rolling_back;
    const io::ProcessResult result = io::run_process(spec);
    transcript += "$ " + command.display() + "\n" + core::truncate(result.output, k_max_transcript);
    if (result.ok()) return core::ok_status();
    std::string why = result.outcome == io::ProcessResult::Outcome::exited
                          ? "exited with status " + std::to_string(result.exit_code)
                          : result.error;
    std::string tail = core::trim(result.output);
    if (tail.size() > 400) tail = "…" + tail.substr(tail.size() - 400);
    return core::make_error(ErrorKind::runtime, command.display() + " " + why + (tail.empty() ? "" : ": " + tail),
                            command.location);
  }

  // ---- state shared with the caller
  std::string m_version;       // the version being made live
  std::string m_release;       // its release id
  std::string m_old_version;   // live before
  std::string m_restore_from;  // release whose config snapshot is restored on rollback
  std::string m_backup_dir;    // this run's backup folder (primary target)
  std::map<std::string, std::string> m_config_sha; // per service
  nlohmann::json m_backups = nlohmann::json::array();
  const ResolvedPlan* m_old_plan = nullptr; // health checks of the old version
  std::string m_completed_rollback; // version an interrupted rollback was completed to (reconcile)

  const EngineContext& m_context;
  Environment& m_env;
  Mode m_mode;
  core::StepResult m_result;
  std::string m_run_id;
  int m_seq = 0;
  std::string m_journal_error;
  SteadyClock::time_point m_started;
  SteadyClock::time_point m_deadline{};
  Milliseconds m_deadline_length{0};
  std::vector<std::unique_ptr<Lease>> m_leases;
  std::vector<std::unique_ptr<Heartbeat>> m_heartbeats;
};

std::vector<Unit*> units_of(Environment& env, const std::string& service) {
  std::vector<Unit*> out;
  for (auto& unit : env.units)
    if (unit.service == service) out.push_back(&unit);
  return out;
}

const ServiceSpec* service_spec(const ResolvedPlan& plan, const std::string& name) {
  for (const auto& service : plan.services)
    if (service.name == name) return &service;
  return nullptr;
}

// ---------------------------------------------------------------- artifacts

// "SERVICE=VALUE" for the service, else a bare VALUE.
std::optional<std::string> pick(const std::vector<std::string>& values, const std::string& service,
                                const std::vector<std::string>& services) {
  std::optional<std::string> bare;
  for (const auto& value : values) {
    const auto equals = value.find('=');
    if (equals != std::string::npos &&
        std::find(services.begin(), services.end(), value.substr(0, equals)) != services.end()) {
      if (value.substr(0, equals) == service) return value.substr(equals + 1);
    } else {
      bare = value;
    }
  }
  return bare;
}

bool is_url(const std::string& source) {
  return core::starts_with(source, "http://") || core::starts_with(source, "https://") ||
         core::starts_with(source, "file://");
}

std::string strip_credentials(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

struct ArtifactChoice {
  std::string source;
  std::optional<std::string> sha256;    // expected, when known before fetching
  std::optional<std::string> signature; // file or URL
};

class ArtifactResolver {
public:
  ArtifactResolver(const DeployRequest& request, const ResolvedPlan& plan) : m_request(request), m_plan(plan) {
    for (const auto& service : plan.services) m_names.push_back(service.name);
  }

  core::Result<ArtifactChoice> choose(const ServiceSpec& service) const {
    ArtifactChoice choice;
    const auto flag = pick(m_request.artifacts, service.name, m_names);
    choice.source = flag ? *flag : service.artifact.source;
    if (choice.source.empty())
      return core::make_error(ErrorKind::usage, "no artifact for service " + service.name +
                                                    ": give --artifact PATH|URL (or " + service.name +
                                                    "=PATH with several services) or artifact.source in the plan");
    if (const auto digest = pick(m_request.sha256, service.name, m_names)) choice.sha256 = core::to_lower(*digest);
    else if (!service.artifact.sha256.empty()) choice.sha256 = core::to_lower(service.artifact.sha256);
    if (const auto signature = pick(m_request.signatures, service.name, m_names)) choice.signature = *signature;
    if (!is_url(choice.source)) {
      std::error_code ignored;
      if (!fs::is_regular_file(choice.source, ignored))
        return core::make_error(ErrorKind::usage, "artifact " + choice.source + " of service " + service.name +
                                                      " is not a readable file");
      if (!choice.sha256 && !fs::exists(choice.source + ".sha256", ignored))
        return core::make_error(ErrorKind::blocked,
                                "no digest to verify the artifact of " + service.name + " against: give --sha256 HEX, "
                                "artifact.sha256 in the plan, or put " + choice.source + ".sha256 next to it "
                                "(sha256sum " + choice.source + " > " + choice.source + ".sha256)");
      if (m_plan.plan->signing.required && !choice.signature && !fs::exists(choice.source + ".sig", ignored))
        return core::make_error(ErrorKind::blocked, "the plan requires signed artifacts and " + choice.source +
                                                        " has no signature: give --signature FILE or put " +
                                                        choice.source + ".sig next to it (docs/artifacts.md)");
    }
    return choice;
  }

private:
  const DeployRequest& m_request;
  const ResolvedPlan& m_plan;
  std::vector<std::string> m_names;
};

core::Result<std::string> read_small_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ErrorKind::runtime, "cannot read " + path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 64 * 1024) return core::make_error(ErrorKind::invalid_input, path.string() + " is too large");
  return text;
}

// For the digest and signature files next to an artifact.
FetchOptions small_fetch(const std::string& cacert) {
  FetchOptions options;
  options.max_size = 64 * 1024;
  options.cacert = cacert;
  return options;
}

// Fetches (or copies) the artifact into the run's staging folder and
// verifies it there; returns it opened.
core::Result<OpenedArtifact> obtain_artifact(const ArtifactChoice& choice, const ServiceSpec& service,
                                             const fs::path& incoming, const std::string& release,
                                             const Plan& plan, const std::string& cacert, std::string& log) {
  std::error_code ignored;
  fs::create_directories(incoming, ignored);
  const fs::path staged = incoming / (release + "-" + service.name + ".artifact");
  FetchOptions options;
  options.max_size = service.artifact.max_size;
  options.cacert = cacert;
  const std::string shown = strip_credentials(choice.source);
  if (auto fetched = fetch_artifact(choice.source, staged, options); !fetched) return fetched.error();
  log += "fetched " + shown + "\n";
  auto opened = OpenedArtifact::open(staged);
  if (!opened) return opened.error();
  // The expected digest: given, or the ".sha256" next to the source.
  std::string expected;
  if (choice.sha256) {
    expected = *choice.sha256;
  } else {
    const fs::path digest_file = incoming / (release + "-" + service.name + ".sha256");
    if (auto fetched = fetch_artifact(choice.source + ".sha256", digest_file, small_fetch(cacert)); !fetched)
      return core::make_error(ErrorKind::blocked, "no digest for " + shown + ": " + fetched.error().message +
                                                      "; give --sha256 HEX or publish " + shown + ".sha256");
    auto digest = read_digest_file(digest_file);
    if (!digest) return digest.error();
    expected = *digest;
  }
  auto actual = sha256_hex(*opened);
  if (!actual) return actual.error();
  if (*actual != core::to_lower(expected))
    return core::make_error(ErrorKind::blocked, "the artifact " + shown + " has sha256 " + *actual + ", expected " +
                                                    expected + ": it is not the artifact that was released; "
                                                    "rebuild or fix the digest");
  log += "sha256 " + *actual + " verified\n";
  const bool want_signature = plan.signing.required || choice.signature;
  if (want_signature) {
    if (plan.signing.public_key.empty())
      return core::make_error(ErrorKind::usage, "a signature was given but the plan names no signing.public_key");
    const fs::path signature_file = incoming / (release + "-" + service.name + ".sig");
    const std::string signature_source = choice.signature ? *choice.signature : choice.source + ".sig";
    if (auto fetched = fetch_artifact(signature_source, signature_file, small_fetch(cacert)); !fetched)
      return core::make_error(ErrorKind::blocked, "cannot get the signature " + strip_credentials(signature_source) +
                                                      ": " + fetched.error().message);
    auto signature = read_small_file(signature_file);
    if (!signature) return signature.error();
    const fs::path key = fs::path(plan.file).parent_path() / plan.signing.public_key;
    if (auto verified = verify_ed25519(*opened, fs::path(plan.signing.public_key).is_absolute() ? fs::path(plan.signing.public_key) : key, *signature);
        !verified)
      return verified.error();
    log += "ed25519 signature verified with " + plan.signing.public_key + "\n";
  }
  return opened;
}

// ---------------------------------------------------------------- config snapshots

fs::path config_path(const Unit& unit, const std::string& file) {
  return fs::path(file).is_absolute() ? fs::path(file) : unit.driver->root() / file;
}

std::string snapshot_name(const std::string& file) {
  std::string out;
  for (char c : file) out += c == '/' ? '%' : c;
  return out;
}

fs::path snapshot_dir(const Unit& unit, const std::string& release) {
  return unit.driver->state_dir() / "backups" / release / "config";
}

core::Result<std::string> file_sha256(const fs::path& path) {
  auto opened = OpenedArtifact::open(path);
  if (!opened) return opened.error();
  return sha256_hex(*opened);
}

core::Status copy_file_synced(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::create_directories(to.parent_path(), error);
  const fs::path temp = to.string() + ".shipgate-tmp";
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing, error);
  if (error) return core::make_error(ErrorKind::runtime, "cannot copy " + from.string() + " to " + to.string() + ": " + error.message());
  if (auto synced = layout::fsync_path(temp); !synced) return synced;
  fs::rename(temp, to, error);
  if (error) return core::make_error(ErrorKind::runtime, "cannot write " + to.string() + ": " + error.message());
  return layout::fsync_path(to.parent_path());
}

// ---------------------------------------------------------------- verification

smoke::Suite capped(const smoke::Suite& suite, Milliseconds remaining) {
  smoke::Suite out = suite;
  if (remaining.count() > 0 && out.wait) out.wait->deadline = std::min(out.wait->deadline, remaining);
  return out;
}


// ---------------------------------------------------------------- actions

class ActionRunner {
public:
  using Prepare = std::function<core::Status(const ServiceSpec& service, std::string& log)>;
  ActionRunner(Run& run, Prepare prepare) : m_run(run), m_prepare(std::move(prepare)) {}

  // Performs one action on every unit of its service; fills `check`.
  core::Status perform(const Action& action, bool rolling_back, const ResolvedPlan& plan, core::Check& check) {
    const ServiceSpec* service = service_spec(plan, action.service);
    if (!service) return core::make_error(ErrorKind::runtime, "service " + action.service + " is not in the plan");
    const auto start = SteadyClock::now();
    std::string log;
    core::Status status = dispatch(action, *service, rolling_back, plan, log, check);
    check.seconds = seconds_since(start);
    check.transcript = log;
    check.status = status ? CheckStatus::pass : CheckStatus::fail;
    if (!status) check.explanation = status.error().describe();
    else if (check.explanation.empty()) check.explanation = "done";
    return status;
  }

private:
  core::Status dispatch(const Action& action, const ServiceSpec& service, bool rolling_back, const ResolvedPlan& plan,
                        std::string& log, core::Check& check) {
    switch (action.kind) {
    case Action::Kind::prepare: return m_prepare(service, log);
    case Action::Kind::snapshot_config: return snapshot(service, log);
    case Action::Kind::backup: return backup(service, *action.backup, log);
    case Action::Kind::stop:
    case Action::Kind::start:
    case Action::Kind::reload:
    case Action::Kind::restart: return command(action, rolling_back, log);
    case Action::Kind::switch_current: return switch_units(service, rolling_back, log);
    case Action::Kind::restore_config: return restore(service, log);
    case Action::Kind::verify: return verify(service, rolling_back, plan, log, check);
    }
    return core::ok_status();
  }

  std::string target_release(const Unit& unit, bool rolling_back) const {
    return rolling_back ? unit.back_to.value_or("") : m_run.m_release;
  }

  core::Status command(const Action& action, bool rolling_back, std::string& log) {
    for (Unit* unit : units_of(m_run.env(), action.service)) {
      const std::string kind(to_string(action.kind));
      if (rolling_back && !unit->back_to && action.kind != Action::Kind::stop) {
        // A first deploy has nothing older to start: the failed release stays stopped.
        log += unit->driver->describe() + ": first deploy, no earlier release to " + kind + "; left stopped\n";
        continue;
      }
      m_run.journal(*unit, kind, "begin");
      if (action.kind == Action::Kind::stop) unit->stopped = true;
      auto done = m_run.run_command(*action.command, *unit, target_release(*unit, rolling_back), rolling_back, log);
      m_run.journal(*unit, kind, done ? "done" : "failed");
      if (!done) return core::make_error(ErrorKind::runtime, unit->driver->describe() + ": " + done.error().describe());
      if (action.kind != Action::Kind::stop) unit->stopped = false;
    }
    return core::ok_status();
  }

  core::Status switch_units(const ServiceSpec& service, bool rolling_back, std::string& log) {
    for (Unit* unit : units_of(m_run.env(), service.name)) {
      if (rolling_back && !unit->switched) {
        log += unit->driver->describe() + ": not switched, nothing to undo\n";
        continue;
      }
      const std::string target = target_release(*unit, rolling_back);
      if (target.empty()) {
        log += unit->driver->describe() + ": no earlier release to return to (first deploy); left as is\n";
        continue;
      }
      auto status = unit->driver->status();
      const std::string before = status && status->current ? *status->current : std::string();
      m_run.journal(*unit, "switch", "begin", {{"from", before}, {"to", target}});
      auto switched = unit->driver->activate(target, rolling_back);
      m_run.journal(*unit, "switch", switched ? "done" : "failed", {{"from", before}, {"to", target}});
      if (!switched) return switched;
      unit->switched = !rolling_back;
      if (!rolling_back) unit->went_live = true;
      log += unit->driver->describe() + ": current -> releases/" + target + "\n";
    }
    return core::ok_status();
  }

  core::Status snapshot(const ServiceSpec& service, std::string& log) {
    std::string combined;
    for (Unit* unit : units_of(m_run.env(), service.name)) {
      nlohmann::json manifest = nlohmann::json::object();
      const fs::path dir = snapshot_dir(*unit, m_run.m_release);
      m_run.journal(*unit, "snapshot-config", "begin");
      for (const auto& file : service.config_files) {
        const fs::path source = config_path(*unit, file);
        std::error_code ignored;
        if (!fs::exists(source, ignored)) {
          manifest[file] = nullptr;
          log += source.string() + ": absent (nothing to snapshot)\n";
          continue;
        }
        if (auto copied = copy_file_synced(source, dir / snapshot_name(file)); !copied) return copied;
        auto digest = file_sha256(source);
        if (!digest) return digest.error();
        manifest[file] = *digest;
        combined += file + " " + *digest + "\n";
        log += source.string() + ": sha256 " + *digest + "\n";
      }
      std::ofstream(dir / "manifest.json") << manifest.dump(1) << "\n";
      (void)layout::fsync_path(dir / "manifest.json");
      m_run.journal(*unit, "snapshot-config", "done");
    }
    m_run.m_config_sha[service.name] = combined;
    return core::ok_status();
  }

  core::Status restore(const ServiceSpec& service, std::string& log) {
    for (Unit* unit : units_of(m_run.env(), service.name)) {
      const fs::path dir = snapshot_dir(*unit, m_run.m_restore_from);
      std::ifstream in(dir / "manifest.json");
      if (!in) {
        log += unit->driver->describe() + ": no configuration snapshot for " + m_run.m_restore_from + "\n";
        continue;
      }
      const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
      if (!manifest.is_object()) return core::make_error(ErrorKind::runtime, "unreadable " + (dir / "manifest.json").string());
      for (const auto& [file, digest] : manifest.items()) {
        if (!digest.is_string()) continue;
        const fs::path target = config_path(*unit, file);
        auto now = file_sha256(target);
        if (now && *now == digest.get<std::string>()) continue;
        if (auto copied = copy_file_synced(dir / snapshot_name(file), target); !copied) return copied;
        log += target.string() + ": restored (sha256 " + digest.get<std::string>() + ")\n";
      }
    }
    return core::ok_status();
  }

  core::Status backup(const ServiceSpec& service, const BackupSpec& spec, std::string& log) {
    std::error_code ignored;
    fs::create_directories(m_run.m_backup_dir, ignored);
    auto units = units_of(m_run.env(), service.name);
    Unit& unit = *units.front();
    m_run.journal(unit, "backup", "begin", {{"name", spec.name}});
    auto ran = m_run.run_command(spec.command, unit, m_run.m_release, false, log, m_run.m_backup_dir);
    if (!ran) return ran;
    const fs::path output = spec.output;
    const auto size = fs::file_size(output, ignored);
    if (ignored || !fs::is_regular_file(output))
      return core::make_error(ErrorKind::runtime, "backup " + spec.name + " did not produce " + output.string(),
                              spec.location);
    if (size == 0)
      return core::make_error(ErrorKind::runtime, "backup " + spec.name + " produced an empty " + output.string(),
                              spec.location);
    auto digest = file_sha256(output);
    if (!digest) return digest.error();
    m_run.m_backups.push_back({{"service", service.name}, {"name", spec.name}, {"file", output.string()},
                               {"bytes", size}, {"sha256", *digest}});
    log += output.string() + ": " + std::to_string(size) + " bytes, sha256 " + *digest + "\n";
    m_run.journal(unit, "backup", "done", {{"name", spec.name}});
    return core::ok_status();
  }

  core::Status verify(const ServiceSpec& service, bool rolling_back, const ResolvedPlan&, std::string& log,
                      core::Check& check) {
    for (Unit* unit : units_of(m_run.env(), service.name)) {
      const std::string target = target_release(*unit, rolling_back);
      if (target.empty()) continue;
      if (auto verified = unit->driver->verify(target); !verified) return verified;
    }
    if (!service.health) {
      check.explanation = "no health checks in the plan; `current` verified";
      return core::ok_status();
    }
    auto executor = smoke::make_real_executor();
    auto clock = smoke::make_real_clock();
    smoke::Runner runner(*executor, *clock);
    const smoke::Suite suite = rolling_back ? *service.health : capped(*service.health, m_run.remaining());
    const smoke::SmokeReport report = runner.run(suite);
    core::StepResult judged = smoke::judge(suite, report);
    for (auto& sub : judged.checks) {
      log += "[" + std::string(core::to_string(sub.status)) + "] " + sub.id + ": " + sub.explanation + "\n";
      sub.id = "health/" + service.name + "/" + sub.id;
      m_health.push_back(sub);
    }
    if (judged.verdict == core::Verdict::pass) {
      check.explanation = judged.headline;
      return core::ok_status();
    }
    return core::make_error(ErrorKind::runtime, "health checks of " + service.name + " failed: " + judged.headline);
  }

public:
  std::vector<core::Check> m_health; // the smoke checks, appended to the result after the actions

private:
  Run& m_run;
  Prepare m_prepare;
};

struct Outcome {
  bool failed = false;
  std::string reason;
  ErrorKind kind = ErrorKind::runtime;
  bool after_switch = false; // a unit had been switched when it failed
  Action::Kind failed_kind = Action::Kind::prepare;
};

// The result's entry for one action ("deploy/03-switch-api"), announced
// on stderr as it starts.
core::Check& start_action(Run& run, const std::string& prefix, int index, std::size_t total, const Action& action) {
  char number[16];
  std::snprintf(number, sizeof number, "%02d", index);
  run.progress(prefix + " [" + std::to_string(index) + "/" + std::to_string(total) + "] " + action.describe());
  return run.add_check(prefix + "/" + number + "-" + std::string(to_string(action.kind)) + "-" + action.service,
                       action.describe(), CheckStatus::pass, "");
}

// Runs `actions` forward; stops at the first failure or stop reason.
Outcome run_forward(Run& run, ActionRunner& runner, const std::vector<Action>& actions, const ResolvedPlan& plan,
                    const std::string& prefix) {
  Outcome outcome;
  int index = 0;
  for (const auto& action : actions) {
    ++index;
    const std::string stop = run.stop_reason();
    if (!stop.empty()) {
      outcome = {true, stop, ErrorKind::runtime, false, action.kind};
      break;
    }
    core::Check& check = start_action(run, prefix, index, actions.size(), action);
    auto done = runner.perform(action, false, plan, check);
    if (done && !run.journal_error().empty())
      done = core::make_error(ErrorKind::runtime, "cannot write the journal: " + run.journal_error());
    if (!done) {
      outcome = {true, done.error().describe(), done.error().kind, false, action.kind};
      break;
    }
  }
  if (outcome.failed) {
    if (core::interrupted()) outcome.reason = "interrupted (SIGINT/SIGTERM) during: " + outcome.reason;
    for (const auto& unit : run.env().units)
      if (unit.switched) outcome.after_switch = true;
  }
  return outcome;
}

// Runs rollback `actions` best effort: every action is attempted; returns
// the failures.
std::vector<std::string> run_backward(Run& run, ActionRunner& runner, const std::vector<Action>& actions,
                                      const ResolvedPlan& plan, const std::string& prefix) {
  std::vector<std::string> failures;
  int index = 0;
  for (const auto& action : actions) {
    ++index;
    core::Check& check = start_action(run, prefix, index, actions.size(), action);
    auto done = runner.perform(action, true, plan, check);
    if (!done) failures.push_back(done.error().describe());
  }
  return failures;
}

std::vector<std::string> touched_services(Run& run) {
  std::vector<std::string> out;
  for (const auto& unit : run.env().units)
    if ((unit.switched || unit.stopped) && std::find(out.begin(), out.end(), unit.service) == out.end())
      out.push_back(unit.service);
  return out;
}

// The ledger is an artifact like any other: free text in it (a failing
// command's output in `reason`) goes through the redactor first.
LedgerEntry redacted(const LedgerEntry& entry, const io::Output& output) {
  LedgerEntry out = entry;
  out.reason = output.redactor().redact(entry.reason);
  return out;
}

void append_ledgers(Run& run, const LedgerEntry& entry, std::vector<std::string>& errors) {
  const LedgerEntry safe = redacted(entry, run.m_context.output);
  for (auto& unit : run.env().units)
    if (auto appended = unit.ledger->append(safe); !appended) errors.push_back(appended.error().describe());
}

void finish_result(Run& run, ActionRunner& runner) {
  for (auto& check : runner.m_health) run.result().checks.push_back(check);
  runner.m_health.clear();
}

// ---------------------------------------------------------------- reconciliation

// A run killed with -9 left journals. Each target is brought back to a
// recorded state: a deploy is undone (its `from` release made live again),
// a rollback is completed (its target made live); a run that had already
// recorded its success is completed. Returns what was done, for the result.
core::Status reconcile(Run& run, const EngineContext& context, const TargetOptions& options,
                       std::vector<std::string>& done) {
  struct Pending {
    Unit* unit;
    JournalRecord begin;
    std::vector<JournalRecord> records;
  };
  std::vector<Pending> pending;
  for (auto& unit : run.env().units) {
    if (!unit.journal->exists()) continue;
    auto read = unit.journal->read();
    if (!read) return read.error();
    if (read->records.empty()) {
      (void)unit.journal->remove();
      continue;
    }
    Pending item{&unit, read->records.front(), read->records};
    for (const auto& record : read->records)
      if (record.action == "run" && record.phase == "begin") item.begin = record;
    pending.push_back(std::move(item));
  }
  if (pending.empty()) return core::ok_status();
  const JournalRecord& begin = pending.front().begin;
  const std::string old_run = begin.run;
  const std::string mode = begin.data.value("mode", "deploy");
  run.progress("reconcile: run " + old_run + " (" + mode + ") did not finish; bringing its targets back to a recorded state");

  // Completed runs: the ledger entry was about to be written or was written.
  bool recorded = false;
  nlohmann::json entry_json;
  for (const auto& item : pending)
    for (const auto& record : item.records)
      if (record.action == "ledger" && record.phase == "begin") {
        recorded = true;
        entry_json = record.data;
      }
  if (recorded) {
    const LedgerEntry entry = LedgerEntry::from_json(entry_json);
    History history = read_history(run.env().units);
    const bool present = std::any_of(history.entries.begin(), history.entries.end(),
                                     [&](const LedgerEntry& seen) { return seen.id == entry.id && seen.event == entry.event; });
    std::vector<std::string> errors;
    if (!present) append_ledgers(run, entry, errors);
    if (!errors.empty()) return core::make_error(ErrorKind::runtime, errors.front());
    for (auto& item : pending) (void)item.unit->journal->remove();
    done.push_back("run " + old_run + " had finished; its ledger entry was completed");
    run.add_check("reconcile/complete", "complete the interrupted run " + old_run, CheckStatus::pass, done.back());
    return core::ok_status();
  }

  // Otherwise: each touched target goes to the recorded release.
  const std::string target_field = mode == "rollback" ? "to" : "from";
  std::string target_version = begin.data.value(mode == "rollback" ? "to_version" : "old_version", "");
  for (auto& item : pending) {
    Unit& unit = *item.unit;
    unit.back_to = item.begin.data.value(target_field, "");
    if (unit.back_to && unit.back_to->empty()) unit.back_to.reset();
    for (const auto& record : item.records) {
      if (record.action == "switch" && record.phase == "begin") unit.switched = true;
      if (record.action == "stop" && record.phase == "begin") unit.stopped = true;
      if ((record.action == "start" || record.action == "restart") && record.phase == "done") unit.stopped = false;
    }
  }
  for (auto& unit : run.env().units) // targets without a journal keep what they have
    if (!unit.back_to) {
      auto status = unit.driver->status();
      if (status && status->current) unit.back_to = *status->current;
    }
  if (target_version.empty())
    for (const auto& item : pending)
      if (item.unit->back_to) target_version = version_of_release(*item.unit->back_to);
  Variables run_values = placeholder_run_values(options.environment, target_version);
  for (const auto& unit : run.env().units)
    if (unit.back_to) {
      run_values = real_run_values(context, options.environment, target_version, begin.data.value("version", ""),
                                   *unit.back_to, run.env().units.front());
      break;
    }
  for (const auto& [key, value] : options.vars) run_values[key] = value;
  auto plan = resolve_plan(*run.env().plan, options.environment, base_variables(context), run_values);
  if (!plan) return plan.error();
  const auto touched = touched_services(run);
  ActionRunner runner(run, [](const ServiceSpec&, std::string&) { return core::ok_status(); });
  run.m_restore_from = begin.data.value("release", "");
  const Mode saved_mode = run.m_mode;
  const std::string saved_version = run.m_version;
  run.m_mode = Mode::reconcile;
  run.m_version = target_version;
  const auto failures = run_backward(run, runner, rollback_actions(*plan, touched), *plan, "reconcile");
  finish_result(run, runner);
  // The never-live release of an undone deploy is removed.
  if (mode == "deploy")
    for (auto& item : pending)
      if (const std::string release = item.begin.data.value("release", ""); !release.empty()) {
        auto status = item.unit->driver->status();
        if (status && (!status->current || *status->current != release)) (void)item.unit->driver->discard(release);
      }
  LedgerEntry entry = base_entry(context, run.run_id(), options.environment);
  entry.event = "reconcile";
  entry.version = target_version;
  for (const auto& unit : run.env().units)
    if (unit.back_to) entry.release = *unit.back_to;
  entry.previous_release = begin.data.value("release", "");
  entry.previous_version = begin.data.value("version", "");
  entry.outcome = failures.empty() ? (touched.empty() ? "recorded" : "succeeded") : "failed";
  entry.reason = "run " + old_run + " (" + mode + " of " + begin.data.value("version", "?") +
                 ") stopped before it finished (killed or crashed); " +
                 (touched.empty() ? "nothing live had changed" : "targets returned to " + target_version);
  entry.finished_at = std::chrono::system_clock::now();
  std::vector<std::string> errors;
  append_ledgers(run, entry, errors);
  if (mode == "rollback" && failures.empty()) {
    // The rollback that was cut short, recorded as it would have recorded
    // itself: the version returned to is live, the one left is bad.
    LedgerEntry rollback = entry;
    rollback.event = "rollback";
    rollback.outcome = "succeeded";
    rollback.reason = "completed after run " + old_run + " was interrupted";
    append_ledgers(run, rollback, errors);
    LedgerEntry mark = base_entry(context, run.run_id(), options.environment);
    mark.event = "mark-bad";
    mark.outcome = "recorded";
    mark.version = begin.data.value("version", "");
    mark.release = begin.data.value("release", "");
    mark.reason = "rolled back (run " + old_run + ", completed after an interruption)";
    mark.finished_at = std::chrono::system_clock::now();
    if (!mark.version.empty()) append_ledgers(run, mark, errors);
    run.m_completed_rollback = target_version;
  }
  run.m_mode = saved_mode;
  run.m_version = saved_version;
  for (auto& unit : run.env().units) {
    unit.switched = false;
    unit.stopped = false;
    unit.back_to.reset();
  }
  if (!failures.empty())
    return core::make_error(ErrorKind::runtime, "could not reconcile the interrupted run " + old_run + ": " +
                                                    failures.front() + "; fix the target by hand, then run again");
  for (auto& item : pending) (void)item.unit->journal->remove();
  done.push_back(entry.reason);
  return core::ok_status();
}

// ---------------------------------------------------------------- pre-flight helpers

core::StepResult blocked(Run& run, const std::string& reason) {
  run.unlock();
  auto& result = run.result();
  result.verdict = core::Verdict::fail;
  result.exit_code = core::ExitCode::blocked;
  result.headline = "FAIL: blocked before any change: " + reason;
  result.details["outcome"] = "blocked";
  result.details["reason"] = reason;
  result.outputs = {{"verdict", "fail"}, {"outcome", "blocked"}};
  return result;
}

// Lock, layout, reconciliation: common to deploy and rollback.
std::optional<std::string> prepare_targets(Run& run, const EngineContext& context, const TargetOptions& options,
                                           std::vector<std::string>& reconciled) {
  const Plan& plan = *run.env().plan;
  const EnvironmentSpec& environment = *run.env().resolved.environment;
  if (environment.paused) {
    const std::string why = environment.name + " is paused in the plan" +
                            (environment.pause_reason.empty() ? "" : ": " + environment.pause_reason);
    run.add_check("preflight/not-paused", "the environment is not paused", CheckStatus::fail,
                  why + "; remove `paused` from the plan to deploy");
    return why;
  }
  run.add_check("preflight/not-paused", "the environment is not paused", CheckStatus::pass, environment.name + " is open");
  for (auto& unit : run.env().units)
    if (auto ensured = unit.driver->ensure(); !ensured) {
      run.add_check("preflight/targets", "every target is usable", CheckStatus::fail, ensured.error().describe());
      return ensured.error().describe();
    }
  const auto ttl = options.lock_ttl.value_or(plan.lock_ttl_duration);
  if (auto locked = run.lock(options.wait_lock, ttl); !locked) {
    run.add_check("preflight/lock", "the deploy lock is free", CheckStatus::fail, locked.error().describe());
    if (locked.error().kind == ErrorKind::interrupted) return std::string("interrupted while waiting for the lock");
    return locked.error().message;
  }
  run.add_check("preflight/lock", "the deploy lock is free", CheckStatus::pass,
                "held by this run (" + run.run_id() + ") for " + std::to_string(ttl.count() / 1000) +
                    " s, renewed while it runs");
  if (auto reconciled_ok = reconcile(run, context, options, reconciled); !reconciled_ok) {
    run.add_check("preflight/reconcile", "no interrupted run is left half-done", CheckStatus::fail,
                  reconciled_ok.error().describe());
    return reconciled_ok.error().message;
  }
  run.add_check("preflight/reconcile", "no interrupted run is left half-done", CheckStatus::pass,
                reconciled.empty() ? "no journal left by an earlier run" : reconciled.front());
  return std::nullopt;
}

std::string version_list(const std::set<std::string>& versions) {
  std::string out;
  for (const auto& version : versions) out += (out.empty() ? "" : ", ") + version;
  return out;
}

} // namespace

// ---------------------------------------------------------------- deploy-stage

core::Result<core::StepResult> run_deploy(const DeployRequest& request, const EngineContext& context) {
  if (!layout::valid_version(request.version))
    return core::make_error(ErrorKind::usage, "--version " + quote(request.version) +
                                                  " is not a valid version: use letters, digits and . _ + - "
                                                  "(at most 100, starting with a letter or digit)");
  const TargetOptions& options = request.target;
  auto opened = open_environment(options.plan_file, options.environment, options.vars,
                                 placeholder_run_values(options.environment, request.version), context);
  if (!opened) return opened.error();
  Environment& env = *opened;
  Run run(context, env, Mode::deploy, "deploy-stage");
  run.m_version = request.version;
  auto& result = run.result();
  result.details["environment"] = options.environment;
  result.details["version"] = request.version;
  result.details["run_id"] = run.run_id();
  run.add_check("preflight/plan", "the launch plan is valid", CheckStatus::pass,
                options.plan_file + ": " + std::to_string(env.resolved.services.size()) + " services");

  std::vector<std::string> reconciled;
  if (auto why = prepare_targets(run, context, options, reconciled)) return blocked(run, *why);
  result.details["reconciled"] = reconciled;

  // The record: this environment's history, and every environment's bad marks.
  std::vector<std::string> warnings;
  auto histories = read_all_histories(*env.plan, options.vars, context, warnings);
  History& history = histories[options.environment];
  for (const auto& warning : history.warnings) warnings.push_back(warning);
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  const auto bad = bad_versions(all);
  if (bad.count(request.version)) {
    const std::string why = request.version + " is marked bad (rolled back); run `shipgate release unblock --plan " +
                            options.plan_file + " --version " + request.version + " --reason TEXT` once it is fixed";
    run.add_check("preflight/not-bad", "the version is not marked bad", CheckStatus::fail, why);
    return blocked(run, why);
  }
  run.add_check("preflight/not-bad", "the version is not marked bad", CheckStatus::pass,
                bad.empty() ? "no version is marked bad" : "marked bad: " + version_list(bad));

  const EnvironmentSpec* previous = env.resolved.previous_environment;
  if (previous && env.resolved.environment->requires_previous && !histories[previous->name].succeeded(request.version)) {
    const std::string why = request.version + " has not been deployed and verified in " + previous->name +
                            ", which comes before " + options.environment +
                            " in the plan's promotion order; deploy it there first";
    run.add_check("preflight/promotion-order", "the version passed the previous environment", CheckStatus::fail, why);
    return blocked(run, why);
  }
  run.add_check("preflight/promotion-order", "the version passed the previous environment", CheckStatus::pass,
                previous ? request.version + " succeeded in " + previous->name
                         : options.environment + " is the first environment");
  // Artifacts: a source and a way to verify it, for every service.
  ArtifactResolver artifacts(request, env.resolved);
  std::map<std::string, ArtifactChoice> choices;
  for (const auto& service : env.resolved.services) {
    auto choice = artifacts.choose(service);
    if (!choice) {
      if (choice.error().kind == ErrorKind::usage) return choice.error();
      run.add_check("preflight/artifacts", "every artifact can be verified", CheckStatus::fail, choice.error().message);
      return blocked(run, choice.error().message);
    }
    choices[service.name] = *choice;
  }
  run.add_check("preflight/artifacts", "every artifact can be verified", CheckStatus::pass,
                std::to_string(choices.size()) + " artifacts, each with a sha256 to check" +
                    (env.plan->signing.required ? " and an ed25519 signature" : ""));

  // What is live, and that a rollback to it is possible.
  std::set<std::string> existing;
  const LedgerEntry* live = history.live();
  for (auto& unit : env.units) {
    auto status = unit.driver->status();
    if (!status) {
      run.add_check("preflight/rollback-possible", "the live release is intact", CheckStatus::fail,
                    status.error().describe());
      return blocked(run, status.error().describe());
    }
    for (const auto& release : status->releases) existing.insert(release);
    unit.from = status->current;
    unit.back_to = status->current;
    if (!unit.from) continue;
    if (auto intact = unit.driver->check_intact(*unit.from); !intact) {
      const std::string why = "a rollback would not be exact: " + intact.error().message;
      run.add_check("preflight/rollback-possible", "the live release is intact", CheckStatus::fail, why);
      return blocked(run, why);
    }
    if (live && live->release != *unit.from)
      warnings.push_back(unit.driver->describe() + ": `current` is " + *unit.from + " but the ledger records " +
                         live->release + " as live; someone changed the target by hand");
  }
  const bool first = std::none_of(env.units.begin(), env.units.end(), [](const Unit& unit) { return unit.from.has_value(); });
  run.add_check("preflight/rollback-possible", "the live release is intact", CheckStatus::pass,
                first ? "first deploy to these targets: a failure stops the new release, there is nothing older to return to"
                      : "every target's live release matches its manifest");
  for (const auto& unit : env.units)
    if (unit.from) {
      run.m_old_version = live && live->release == *unit.from ? live->version : version_of_release(*unit.from);
      break;
    }

  // The release id, then the plan with the run's real values.
  std::string release = layout::make_release_id(request.version, context.now);
  for (int suffix = 2; existing.count(release); ++suffix)
    release = layout::make_release_id(request.version, context.now) + "-" + std::to_string(suffix);
  run.m_release = release;
  const fs::path primary_state = env.units.front().driver->state_dir();
  run.m_backup_dir = (primary_state / "backups" / release).string();
  Variables run_values =
      real_run_values(context, options.environment, request.version, run.m_old_version, release, env.units.front());
  for (const auto& [key, value] : options.vars) run_values[key] = value;
  auto resolved = resolve_plan(*env.plan, options.environment, base_variables(context), run_values);
  if (!resolved) return resolved.error();
  env.resolved = std::move(*resolved);
  Variables old_values = run_values;
  old_values["VERSION"] = run.m_old_version.empty() ? request.version : run.m_old_version;
  old_values["PREVIOUS_VERSION"] = "";
  auto old_plan = resolve_plan(*env.plan, options.environment, base_variables(context), old_values);
  if (!old_plan) return old_plan.error();
  run.m_restore_from = release;
  run.set_deadline(request.deadline.value_or(env.resolved.deadline));

  result.details["release"] = release;
  result.details["previous_version"] = run.m_old_version;
  result.details["deadline_seconds"] = std::chrono::duration<double>(request.deadline.value_or(env.resolved.deadline)).count();
  std::vector<std::string> targets;
  for (const auto& unit : env.units) targets.push_back(unit.driver->describe());
  result.details["targets"] = targets;

  // Journal the start on every target, then the actions.
  for (auto& unit : env.units)
    run.journal(unit, "run", "begin",
                {{"mode", "deploy"}, {"version", request.version}, {"release", release},
                 {"from", unit.from.value_or("")}, {"old_version", run.m_old_version}, {"user", context.ci.user}});
  std::map<std::string, std::string> digests;
  const fs::path incoming = primary_state / "incoming";
  ActionRunner runner(run, [&](const ServiceSpec& service, std::string& log) -> core::Status {
    auto artifact = obtain_artifact(choices[service.name], service, incoming, release, *env.plan, request.cacert, log);
    if (!artifact) return artifact.error();
    auto digest = sha256_hex(*artifact);
    if (digest) digests[service.name] = *digest;
    for (Unit* unit : units_of(env, service.name)) {
      run.journal(*unit, "prepare", "begin", {{"release", release}});
      PrepareRequest prepare{release, request.version, &*artifact, service.shared, {}};
      auto prepared = unit->driver->prepare(prepare);
      run.journal(*unit, "prepare", prepared ? "done" : "failed", {{"release", release}});
      if (!prepared) return prepared;
      unit->prepared = true;
      log += unit->driver->describe() + ": unpacked into releases/" + release + "\n";
    }
    std::error_code ignored;
    fs::remove(artifact->path(), ignored);
    for (const char* suffix : {".sha256", ".sig"})
      fs::remove(incoming / (release + "-" + service.name + suffix), ignored);
    return core::ok_status();
  });
  const auto started = SteadyClock::now();
  const Outcome outcome = run_forward(run, runner, deploy_actions(env.resolved), env.resolved, "deploy");
  finish_result(run, runner);
  const double elapsed = seconds_since(started);

  LedgerEntry entry = base_entry(context, run.run_id(), options.environment);
  entry.event = "deploy";
  entry.version = request.version;
  entry.release = release;
  entry.previous_version = run.m_old_version;
  for (const auto& unit : env.units)
    if (unit.from) entry.previous_release = *unit.from;
  std::string all_digests, all_config;
  for (const auto& [service, digest] : digests) all_digests += (all_digests.empty() ? "" : " ") + service + ":" + digest;
  entry.artifact_sha256 = digests.size() == 1 ? digests.begin()->second : all_digests;
  for (const auto& [service, text] : run.m_config_sha) all_config += service + "\n" + text;
  // A hash of the snapshotted files' hashes: equal when the configuration is.
  if (!all_config.empty()) entry.config_sha256 = sha256_text(all_config);
  entry.backup_dir = run.m_backup_dir;
  entry.extra["backups"] = run.m_backups;
  std::vector<std::string> ledger_errors;
  double switch_seconds = 0;
  for (const auto& check : result.checks)
    if (check.id.find("-switch-") != std::string::npos && core::starts_with(check.id, "deploy/") && check.seconds > 0)
      switch_seconds += check.seconds;
  result.details["switch_seconds"] = switch_seconds;
  result.details["backups"] = run.m_backups;
  result.details["artifact_sha256"] = digests;

  if (!outcome.failed) {
    entry.outcome = "succeeded";
    entry.finished_at = std::chrono::system_clock::now();
    for (auto& unit : env.units) run.journal(unit, "ledger", "begin", redacted(entry, context.output).to_json());
    append_ledgers(run, entry, ledger_errors);
    // Retention: never the live release nor the one a rollback would use.
    std::set<std::string> protect = {release};
    for (const auto& unit : env.units)
      if (unit.from) protect.insert(*unit.from);
    std::vector<std::string> pruned;
    for (auto& unit : env.units) {
      auto removed = unit.driver->prune(env.plan->keep_releases, protect);
      if (removed) pruned.insert(pruned.end(), removed->begin(), removed->end());
      else warnings.push_back("pruning " + unit.driver->describe() + ": " + removed.error().describe());
    }
    run.close_journals();
    run.unlock();
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = "PASS: " + request.version + " is live in " + options.environment + " (release " + release +
                      "), verified in " + format_seconds(elapsed);
    result.details["outcome"] = "succeeded";
    result.details["rolled_back"] = false;
    result.details["pruned"] = pruned;
  } else {
    const bool interrupted = core::interrupted() || outcome.reason.rfind("interrupted", 0) == 0;
    core::clear_interrupt();
    run.progress("deploy failed: " + outcome.reason + "; rolling back");
    // The rollback's commands see the version they are returning to.
    run.m_mode = Mode::rollback;
    run.m_version = run.m_old_version;
    const auto touched = touched_services(run);
    const auto failures = run_backward(run, runner, rollback_actions(*old_plan, touched), *old_plan, "rollback");
    finish_result(run, runner);
    for (auto& unit : env.units)
      if (unit.prepared && !unit.went_live) {
        auto status = unit.driver->status();
        if (status && (!status->current || *status->current != release)) (void)unit.driver->discard(release);
      }
    const bool rollback_ok = failures.empty();
    // A refused artifact (digest, signature) changed nothing: blocked, as in pre-flight.
    const bool refused = outcome.kind == ErrorKind::blocked && touched.empty() && rollback_ok && !interrupted;
    entry.outcome = !rollback_ok ? "rollback-failed"
                    : interrupted ? "interrupted"
                    : refused ? "blocked"
                    : touched.empty() ? "failed"
                                      : "rolled-back";
    entry.reason = outcome.reason + (rollback_ok ? "" : "; rollback failed: " + failures.front());
    entry.finished_at = std::chrono::system_clock::now();
    append_ledgers(run, entry, ledger_errors);
    const bool mark_bad = outcome.after_switch && !interrupted && !run.lease_lost();
    if (mark_bad) {
      LedgerEntry mark = base_entry(context, run.run_id(), options.environment);
      mark.event = "mark-bad";
      mark.outcome = "recorded";
      mark.version = request.version;
      mark.release = release;
      mark.reason = outcome.reason;
      mark.finished_at = std::chrono::system_clock::now();
      append_ledgers(run, mark, ledger_errors);
    }
    // A failed rollback keeps the journals: the next run reconciles.
    if (rollback_ok) run.close_journals();
    run.unlock();
    result.verdict = core::Verdict::fail;
    result.details["outcome"] = entry.outcome;
    result.details["rolled_back"] = rollback_ok && !touched.empty();
    result.details["marked_bad"] = mark_bad;
    result.details["reason"] = outcome.reason;
    const std::string back = run.m_old_version.empty() ? "the previous state" : run.m_old_version;
    if (!rollback_ok) {
      result.exit_code = core::ExitCode::rollback_failed;
      result.headline = "FAIL: " + request.version + " failed in " + options.environment + " (" + outcome.reason +
                        ") and the ROLLBACK FAILED: " + failures.front() + "; the environment needs a person now";
    } else {
      result.exit_code = interrupted ? core::ExitCode::interrupted
                         : refused   ? core::ExitCode::blocked
                                     : core::ExitCode::negative_verdict;
      result.headline = "FAIL: " + request.version + " was not released to " + options.environment + ": " +
                        outcome.reason + "; " + (touched.empty() ? "nothing live had changed" : "rolled back to " + back + " and verified");
    }
  }
  for (const auto& error : ledger_errors) warnings.push_back("ledger: " + error);
  result.warnings.insert(result.warnings.end(), warnings.begin(), warnings.end());
  result.details["elapsed_seconds"] = elapsed;
  result.outputs = {{"verdict", std::string(core::to_string(result.verdict))},
                    {"outcome", result.details["outcome"].get<std::string>()},
                    {"version", request.version},
                    {"release", release},
                    {"previous_version", run.m_old_version}};
  result.summary_lines.push_back("environment " + options.environment + ", version " + request.version + ", release " + release);
  if (!run.m_old_version.empty()) result.summary_lines.push_back("previously live: " + run.m_old_version);
  return result;
}

// ---------------------------------------------------------------- rollback

core::Result<core::StepResult> run_rollback(const RollbackRequest& request, const EngineContext& context) {
  const TargetOptions& options = request.target;
  if (request.to && !layout::valid_version(*request.to))
    return core::make_error(ErrorKind::usage, "--to " + quote(*request.to) + " is not a valid version");
  auto opened = open_environment(options.plan_file, options.environment, options.vars,
                                 placeholder_run_values(options.environment, "0.0.0"), context);
  if (!opened) return opened.error();
  Environment& env = *opened;
  Run run(context, env, Mode::rollback, "rollback");
  auto& result = run.result();
  result.details["environment"] = options.environment;
  result.details["run_id"] = run.run_id();
  run.add_check("preflight/plan", "the launch plan is valid", CheckStatus::pass,
                options.plan_file + ": " + std::to_string(env.resolved.services.size()) + " services");
  std::vector<std::string> reconciled;
  if (auto why = prepare_targets(run, context, options, reconciled)) return blocked(run, *why);
  result.details["reconciled"] = reconciled;
  if (!run.m_completed_rollback.empty()) {
    // An interrupted rollback was just completed: that was the rollback asked for.
    run.unlock();
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = "PASS: an interrupted rollback was completed: " + options.environment + " is back on " +
                      run.m_completed_rollback + " and verified";
    result.details["outcome"] = "succeeded";
    result.details["version"] = run.m_completed_rollback;
    result.details["marked_bad"] = true;
    result.outputs = {{"verdict", "pass"}, {"outcome", "succeeded"}, {"version", run.m_completed_rollback}};
    return result;
  }

  std::vector<std::string> warnings;
  auto histories = read_all_histories(*env.plan, options.vars, context, warnings);
  History& history = histories[options.environment];
  for (const auto& warning : history.warnings) warnings.push_back(warning);
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  const auto bad = bad_versions(all);
  const LedgerEntry* live = history.live();
  if (!live) {
    const std::string why = "the ledger of " + options.environment +
                            " records no live release, so there is no recorded version to return to";
    run.add_check("preflight/rollback-target", "a recorded release to return to", CheckStatus::fail, why);
    return blocked(run, why);
  }
  for (auto& unit : env.units) {
    auto status = unit.driver->status();
    if (status && status->current) {
      unit.from = status->current;
      if (*status->current != live->release)
        warnings.push_back(unit.driver->describe() + ": `current` is " + *status->current + " but the ledger records " +
                           live->release + " as live");
    }
  }
  std::string problems;
  auto intact_everywhere = [&](const std::string& release) {
    for (auto& unit : env.units)
      if (auto intact = unit.driver->check_intact(release); !intact) {
        problems += (problems.empty() ? "" : "; ") + intact.error().message;
        return false;
      }
    return true;
  };
  const LedgerEntry* target = history.rollback_target(bad, intact_everywhere, request.to);
  if (!target) {
    const std::string why =
        request.to ? "no intact release of " + *request.to + " was ever live in " + options.environment +
                         (problems.empty() ? "" : " (" + problems + ")")
                   : "no earlier release of another version that is intact and not marked bad is recorded in " +
                         options.environment + (problems.empty() ? "" : " (" + problems + ")") +
                         "; see `shipgate history`";
    run.add_check("preflight/rollback-target", "a recorded release to return to", CheckStatus::fail, why);
    return blocked(run, why);
  }
  run.add_check("preflight/rollback-target", "a recorded release to return to", CheckStatus::pass,
                target->version + " (release " + target->release + "), live before " + live->version +
                    " according to the ledger; intact on every target");
  run.m_version = target->version;
  run.m_release = target->release;
  run.m_old_version = live->version;
  run.m_restore_from = live->release;
  for (auto& unit : env.units) {
    unit.back_to = target->release;
    unit.switched = true;
  }
  Variables run_values = real_run_values(context, options.environment, target->version, live->version,
                                         target->release, env.units.front());
  for (const auto& [key, value] : options.vars) run_values[key] = value;
  auto plan = resolve_plan(*env.plan, options.environment, base_variables(context), run_values);
  if (!plan) return plan.error();
  env.resolved = std::move(*plan);
  for (auto& unit : env.units)
    run.journal(unit, "run", "begin",
                {{"mode", "rollback"}, {"version", live->version}, {"release", live->release},
                 {"from", unit.from.value_or("")}, {"to", target->release}, {"to_version", target->version},
                 {"user", context.ci.user}});
  std::vector<std::string> names;
  for (const auto& service : env.resolved.services) names.push_back(service.name);
  ActionRunner runner(run, [](const ServiceSpec&, std::string&) { return core::ok_status(); });
  const auto started = SteadyClock::now();
  const auto failures = run_backward(run, runner, rollback_actions(env.resolved, names), env.resolved, "rollback");
  finish_result(run, runner);
  const double elapsed = seconds_since(started);
  const bool ok = failures.empty();
  std::vector<std::string> ledger_errors;
  LedgerEntry entry = base_entry(context, run.run_id(), options.environment);
  entry.event = "rollback";
  entry.outcome = ok ? "succeeded" : "rollback-failed";
  entry.version = target->version;
  entry.release = target->release;
  entry.previous_version = live->version;
  entry.previous_release = live->release;
  entry.artifact_sha256 = target->artifact_sha256;
  entry.config_sha256 = target->config_sha256;
  entry.reason = request.reason.empty() ? "rolled back by " + (context.ci.user.empty() ? std::string("shipgate rollback") : context.ci.user)
                                        : request.reason;
  if (!ok) entry.reason += "; failed: " + failures.front();
  entry.finished_at = std::chrono::system_clock::now();
  if (ok)
    for (auto& unit : env.units) run.journal(unit, "ledger", "begin", redacted(entry, context.output).to_json());
  append_ledgers(run, entry, ledger_errors);
  LedgerEntry mark = base_entry(context, run.run_id(), options.environment);
  mark.event = "mark-bad";
  mark.outcome = "recorded";
  mark.version = live->version;
  mark.release = live->release;
  mark.reason = entry.reason;
  mark.finished_at = std::chrono::system_clock::now();
  append_ledgers(run, mark, ledger_errors);
  if (ok) run.close_journals();
  run.unlock();
  result.details["version"] = target->version;
  result.details["release"] = target->release;
  result.details["previous_version"] = live->version;
  result.details["previous_release"] = live->release;
  result.details["marked_bad"] = true;
  result.details["bad_version"] = live->version;
  result.details["elapsed_seconds"] = elapsed;
  double switch_seconds = 0;
  for (const auto& check : result.checks)
    if (check.id.find("-switch-") != std::string::npos && check.seconds > 0) switch_seconds += check.seconds;
  result.details["switch_seconds"] = switch_seconds;
  result.details["outcome"] = entry.outcome;
  if (ok) {
    result.verdict = core::Verdict::pass;
    result.exit_code = core::ExitCode::success;
    result.headline = "PASS: " + options.environment + " is back on " + target->version + " (release " +
                      target->release + "), verified in " + format_seconds(elapsed) + "; " + live->version +
                      " is marked bad until `shipgate release unblock`";
  } else {
    result.verdict = core::Verdict::fail;
    result.exit_code = core::ExitCode::rollback_failed;
    result.headline = "FAIL: the ROLLBACK of " + options.environment + " to " + target->version +
                      " FAILED: " + failures.front() + "; the environment needs a person now";
  }
  for (const auto& error : ledger_errors) warnings.push_back("ledger: " + error);
  result.warnings.insert(result.warnings.end(), warnings.begin(), warnings.end());
  result.outputs = {{"verdict", std::string(core::to_string(result.verdict))},
                    {"outcome", entry.outcome},
                    {"version", target->version},
                    {"release", target->release},
                    {"previous_version", live->version}};
  return result;
}

// ---------------------------------------------------------------- status, history

namespace {

std::string time_text(core::SystemTime time) {
  return time == core::SystemTime{} ? std::string("?") : core::format_rfc3339(time);
}

std::string describe_entry(const LedgerEntry& entry) {
  std::string text = entry.version + " (release " + entry.release + ", " + time_text(entry.finished_at);
  if (!entry.user.empty()) text += ", by " + entry.user;
  if (!entry.pipeline_url.empty()) text += ", " + entry.pipeline_url;
  return text + ")";
}

core::Result<Environment> open_for_reading(const TargetOptions& options, const EngineContext& context) {
  return open_environment(options.plan_file, options.environment, options.vars,
                          placeholder_run_values(options.environment, "0.0.0"), context);
}

core::StepResult document(const std::string& step, const std::string& headline) {
  core::StepResult result;
  result.step = step;
  result.verdict = core::Verdict::pass;
  result.exit_code = core::ExitCode::success;
  result.headline = headline;
  return result;
}

std::string md_cell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

} // namespace

core::Result<core::StepResult> show_status(const TargetOptions& options, const EngineContext& context) {
  auto opened = open_for_reading(options, context);
  if (!opened) return opened.error();
  Environment& env = *opened;
  std::vector<std::string> warnings;
  auto histories = read_all_histories(*env.plan, options.vars, context, warnings);
  const History& history = histories[options.environment];
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  const auto bad = bad_versions(all);
  const auto lives = history.live_entries();
  const LedgerEntry* live = lives.empty() ? nullptr : lives.front();
  const LedgerEntry* before = nullptr;
  for (const LedgerEntry* entry : lives)
    if (live && entry->release != live->release) {
      before = entry;
      break;
    }
  const LedgerEntry* target = history.rollback_target(
      bad, [&](const std::string& release) {
        for (auto& unit : env.units)
          if (!unit.driver->check_intact(release)) return false;
        return true;
      },
      std::nullopt);

  core::StepResult result = document("status", options.environment + ": " + (live ? live->version + " is live" : "nothing recorded as live"));
  nlohmann::json details;
  details["environment"] = options.environment;
  details["live"] = live ? live->to_json() : nlohmann::json();
  details["previous"] = before ? before->to_json() : nlohmann::json();
  details["rollback_target"] = target ? target->to_json() : nlohmann::json();
  details["bad_versions"] = bad;
  std::string text = "environment " + options.environment + " (plan " + options.plan_file + ")\n";
  text += "  live:            " + (live ? describe_entry(*live) : std::string("nothing recorded")) + "\n";
  text += "  live before:     " + (before ? describe_entry(*before) : std::string("-")) + "\n";
  text += "  rollback target: " + (target ? target->version + " (release " + target->release + ")" : std::string("none")) + "\n";
  text += "  marked bad:      " + (bad.empty() ? std::string("none") : version_list(bad)) + "\n";
  std::string markdown = "## " + md_cell(options.environment) + ": " + (live ? md_cell(live->version) + " is live" : "nothing live") + "\n\n";
  markdown += "| | |\n|---|---|\n| Live | " + (live ? md_cell(describe_entry(*live)) : "-") + " |\n| Live before | " +
              (before ? md_cell(describe_entry(*before)) : "-") + " |\n| Rollback target | " +
              (target ? md_cell(target->version + " (" + target->release + ")") : "-") + " |\n| Marked bad | " +
              md_cell(bad.empty() ? "-" : version_list(bad)) + " |\n\n";
  markdown += "| Target | Current | Releases | Lock | Journal |\n|---|---|---|---|---|\n";
  text += "  targets:\n";
  nlohmann::json targets = nlohmann::json::array();
  for (auto& unit : env.units) {
    nlohmann::json item;
    item["target"] = unit.driver->describe();
    std::string current = "-", releases = "0", lock = "free", journal = "none";
    std::error_code ignored;
    if (unit.driver->state_dir().empty() || !fs::exists(unit.driver->state_dir(), ignored)) {
      current = "not deployed";
    } else {
      auto status = unit.driver->status();
      if (status) {
        current = status->current.value_or("-");
        releases = std::to_string(status->releases.size());
        item["current"] = status->current ? nlohmann::json(*status->current) : nlohmann::json();
        item["releases"] = status->releases;
        if (live && status->current && *status->current != live->release)
          warnings.push_back(unit.driver->describe() + ": `current` is " + *status->current +
                             " but the ledger records " + live->release + " as live");
      } else {
        current = "error: " + status.error().message;
      }
      auto lease = Lease::read(unit.driver->state_dir());
      if (!lease) lock = "unreadable: " + lease.error().message;
      else if (*lease) {
        lock = "held by " + (*lease)->owner.describe() + " until " + time_text((*lease)->expires_at);
        item["lock"] = (*lease)->to_json();
      }
      if (unit.journal->exists()) {
        journal = "an interrupted run left a journal; the next deploy-stage or rollback reconciles it";
        item["journal_pending"] = true;
      }
    }
    text += "    " + unit.driver->describe() + ": current " + current + ", " + releases + " releases, lock " + lock +
            (journal == "none" ? "" : "; " + journal) + "\n";
    markdown += "| " + md_cell(unit.driver->describe()) + " | " + md_cell(current) + " | " + releases + " | " +
                md_cell(lock) + " | " + md_cell(journal) + " |\n";
    targets.push_back(item);
  }
  details["targets"] = targets;
  result.details = details;
  result.text_view = text;
  result.markdown_view = markdown;
  result.warnings = warnings;
  result.outputs = {{"live_version", live ? live->version : ""}};
  return result;
}

core::Result<core::StepResult> show_history(const TargetOptions& options, int limit, const EngineContext& context) {
  auto opened = open_for_reading(options, context);
  if (!opened) return opened.error();
  const History history = read_history(opened->units);
  core::StepResult result = document("history", options.environment + ": " + std::to_string(history.entries.size()) + " ledger entries");
  nlohmann::json entries = nlohmann::json::array();
  std::string text = "ledger of " + options.environment + " (newest first):\n";
  std::string markdown = "## Ledger of " + md_cell(options.environment) +
                         "\n\n| Finished | Event | Outcome | Version | Release | Previous | By | Reason |\n|---|---|---|---|---|---|---|---|\n";
  int shown = 0;
  for (auto it = history.entries.rbegin(); it != history.entries.rend() && shown < limit; ++it, ++shown) {
    const LedgerEntry& entry = *it;
    entries.push_back(entry.to_json());
    text += "  " + time_text(entry.finished_at) + "  " + entry.event + " " + entry.outcome + "  " + entry.version +
            (entry.release.empty() ? "" : " (" + entry.release + ")") +
            (entry.previous_version.empty() ? "" : " from " + entry.previous_version) +
            (entry.user.empty() ? "" : " by " + entry.user) + (entry.reason.empty() ? "" : ": " + entry.reason) + "\n";
    markdown += "| " + time_text(entry.finished_at) + " | " + md_cell(entry.event) + " | " + md_cell(entry.outcome) +
                " | " + md_cell(entry.version) + " | " + md_cell(entry.release) + " | " +
                md_cell(entry.previous_version) + " | " + md_cell(entry.user) + " | " + md_cell(entry.reason) + " |\n";
  }
  if (history.entries.empty()) text += "  (empty: nothing was deployed to " + options.environment + " yet)\n";
  result.details["environment"] = options.environment;
  result.details["entries"] = entries;
  result.text_view = text;
  result.markdown_view = markdown;
  result.warnings = history.warnings;
  return result;
}

core::Result<core::StepResult> unblock_release(const std::string& plan_file, const std::string& version,
                                               const std::string& reason, const Variables& vars,
                                               const EngineContext& context) {
  if (reason.empty()) return core::make_error(ErrorKind::usage, "--reason TEXT is required: say why the version is fit again");
  auto plan = load_plan(plan_file);
  if (!plan) return plan.error();
  std::vector<std::string> warnings;
  auto histories = read_all_histories(*plan, vars, context, warnings);
  std::vector<const History*> all;
  for (const auto& [name, item] : histories) all.push_back(&item);
  if (!bad_versions(all).count(version)) {
    core::StepResult result = document("release unblock", version + " is not marked bad; nothing to unblock");
    result.warnings = warnings;
    return result;
  }
  std::vector<std::string> environments, errors;
  const std::string run_id = make_run_id(context.now);
  for (const auto& environment : plan->environments) {
    const History& history = histories[environment.name];
    const bool marked = std::any_of(history.entries.begin(), history.entries.end(), [&](const LedgerEntry& entry) {
      return entry.event == "mark-bad" && entry.version == version;
    });
    if (!marked) continue;
    Variables run_values = placeholder_run_values(environment.name, version);
    for (const auto& [key, value] : vars) run_values[key] = value;
    auto resolved = resolve_plan(*plan, environment.name, base_variables(context), run_values);
    if (!resolved) return resolved.error();
    auto units = make_units(*resolved, context);
    if (!units) return units.error();
    LedgerEntry entry = base_entry(context, run_id, environment.name);
    entry.event = "unblock";
    entry.outcome = "recorded";
    entry.version = version;
    entry.reason = reason;
    entry.finished_at = std::chrono::system_clock::now();
    for (auto& unit : *units)
      if (auto appended = unit.ledger->append(redacted(entry, context.output)); !appended)
        errors.push_back(appended.error().describe());
    environments.push_back(environment.name);
  }
  if (!errors.empty()) return core::make_error(ErrorKind::runtime, "cannot record the unblock: " + errors.front());
  std::string list;
  for (const auto& name : environments) list += (list.empty() ? "" : ", ") + name;
  core::StepResult result = document("release unblock", version + " is unblocked (recorded in the ledger of " + list + ")");
  result.details["version"] = version;
  result.details["environments"] = environments;
  result.details["reason"] = reason;
  result.warnings = warnings;
  return result;
}

core::Result<core::StepResult> force_release_lock(const TargetOptions& options, const std::string& reason,
                                                  const EngineContext& context) {
  if (reason.empty())
    return core::make_error(ErrorKind::usage, "--reason TEXT is required: the forced release is recorded in the ledger");
  auto opened = open_for_reading(options, context);
  if (!opened) return opened.error();
  std::vector<std::string> released, errors;
  const std::string run_id = make_run_id(context.now);
  for (auto& unit : opened->units) {
    std::error_code ignored;
    if (!fs::exists(unit.driver->state_dir(), ignored)) continue;
    auto removed = Lease::force_release(unit.driver->state_dir());
    if (!removed) {
      errors.push_back(removed.error().describe());
      continue;
    }
    if (!*removed) continue;
    LedgerEntry entry = base_entry(context, run_id, options.environment);
    entry.event = "lock-force-release";
    entry.outcome = "recorded";
    entry.reason = reason + " (the lock was held by " + (*removed)->owner.describe() + ")";
    entry.extra["removed_lease"] = (*removed)->to_json();
    entry.finished_at = std::chrono::system_clock::now();
    if (auto appended = unit.ledger->append(redacted(entry, context.output)); !appended)
      errors.push_back(appended.error().describe());
    released.push_back(unit.driver->describe() + ": was held by " + (*removed)->owner.describe());
  }
  if (!errors.empty()) return core::make_error(ErrorKind::runtime, errors.front());
  core::StepResult result = document("lock release", released.empty()
                                                          ? "no lock was held in " + options.environment
                                                          : "released " + std::to_string(released.size()) +
                                                                " lock(s) in " + options.environment + "; recorded in the ledger");
  result.summary_lines = released;
  result.details["released"] = released;
  result.details["reason"] = reason;
  return result;
}

} // namespace deploy
