// Blue-green around a target's own driver (docs/blue-green.md). The order
// of a switch is the point of this file:
//   1. the idle colour is stopped, pointed at the new release, started and
//      verified directly (its own port) while every request still goes to
//      the live colour;
//   2. only then does traffic move: the nginx upstream file is rewritten,
//      tested and reloaded (or the plan's switch command runs);
//   3. only then are `current` and <state_dir>/live-colour changed.
// A failure in 1 leaves traffic where it was and the idle colour back on
// its old release; a failure in 2 puts the upstream file back. The old
// colour is never stopped, so switching back is step 2 alone.
#include <chrono>
#include <optional>

#include "core/text.hpp"
#include "deploy/blue_green.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* k_live_colour_file = "live-colour";
constexpr std::size_t k_max_command_output = 2000;

std::string tail_of(const std::string& output) {
  std::string text = core::trim(output);
  if (text.size() > 400) text = "…" + text.substr(text.size() - 400);
  return text;
}

// "exited with status 1: <the end of its output>"
std::string why_failed(const io::ProcessResult& result) {
  std::string why = result.outcome == io::ProcessResult::Outcome::exited
                        ? "exited with status " + std::to_string(result.exit_code)
                        : result.error;
  const std::string tail = tail_of(result.output);
  return tail.empty() ? why : why + ": " + tail;
}

class BlueGreen final : public BlueGreenDriver {
public:
  BlueGreen(std::unique_ptr<Driver> inner, BlueGreenSpec spec, std::string service)
      : m_inner(std::move(inner)), m_spec(std::move(spec)), m_service(std::move(service)) {}

  // ---- what the inner driver does unchanged
  std::string describe() const override { return m_inner->describe(); }
  fs::path root() const override { return m_inner->root(); }
  fs::path state_dir() const override { return m_inner->state_dir(); }
  std::string key() const override { return m_inner->key(); }
  fs::path local_work_dir() const override { return m_inner->local_work_dir(); }
  std::shared_ptr<StateStore> state_store() override { return m_inner->state_store(); }
  core::Status ensure() override { return m_inner->ensure(); }
  core::Status prepare(const PrepareRequest& request) override { return m_inner->prepare(request); }
  core::Status check_intact(const std::string& release) override { return m_inner->check_intact(release); }
  core::Status discard(const std::string& release) override { return m_inner->discard(release); }
  io::ProcessResult run_command(const io::ProcessSpec& spec) override { return m_inner->run_command(spec); }
  core::Result<nlohmann::json> snapshot_config(const std::string& release,
                                               const std::vector<std::string>& files) override {
    return m_inner->snapshot_config(release, files);
  }
  core::Result<std::vector<std::string>> restore_config(const std::string& release) override {
    return m_inner->restore_config(release);
  }
  core::Result<std::optional<FileFacts>> file_facts(const std::string& path) override {
    return m_inner->file_facts(path);
  }
  core::Status write_file(const std::string& path, const std::string& content) override {
    return m_inner->write_file(path, content);
  }
  core::Result<std::optional<std::string>> read_file(const std::string& path) override {
    return m_inner->read_file(path);
  }
  core::Status point_link(const std::string& name, const std::string& release) override {
    return m_inner->point_link(name, release);
  }
  core::Result<std::optional<std::string>> link_target(const std::string& name) override {
    return m_inner->link_target(name);
  }
  void close() override { m_inner->close(); }

  // ---- blue-green
  void set_hooks(ColourHooks hooks) override { m_hooks = std::move(hooks); }

  core::Result<std::optional<std::string>> live_colour() override {
    auto text = m_inner->read_file(live_colour_path());
    if (!text) return text.error();
    if (!*text) return std::optional<std::string>();
    const std::string name = core::trim(**text);
    if (!index_of(name))
      return core::make_error(ErrorKind::runtime, describe() + ": " + live_colour_path() + " names colour \"" + name +
                                                      "\", which the plan does not define (" + colour_list() +
                                                      "); write the colour that receives traffic into it, or "
                                                      "remove it to start over with " +
                                                      colour_name(0));
    return std::optional<std::string>(name);
  }

  Variables variables() const override {
    Variables out = m_inner->variables();
    if (m_spec.colours.empty()) return out;
    // A colour file that cannot be read is reported by status() and
    // activate(); here the first colour is as good a guess as any.
    auto text = m_inner->read_file(live_colour_path());
    std::optional<int> live;
    if (text && *text) live = index_of(core::trim(**text));
    const ColourSpec& colour = m_spec.colours.at(static_cast<std::size_t>(live.value_or(0)));
    out["COLOUR"] = colour.name;
    for (const auto& [name, value] : colour.variables)
      out[name] = value;
    return out;
  }

  core::Result<TargetStatus> status() override {
    auto status = m_inner->status();
    if (!status) return status;
    nlohmann::json colours = nlohmann::json::object();
    for (const auto& colour : m_spec.colours) {
      auto target = m_inner->link_target(colour.name);
      if (!target) return target.error();
      colours[colour.name] = *target ? nlohmann::json(**target) : nlohmann::json(nullptr);
    }
    auto live = live_colour();
    if (!live) return live.error();
    status->details["colours"] = colours;
    status->details["live_colour"] = *live ? nlohmann::json(**live) : nlohmann::json(nullptr);
    return status;
  }

  core::Status activate(const std::string& release, bool rolling_back) override {
    if (auto usable = check_settings(); !usable) return usable;
    auto live_name = live_colour();
    if (!live_name) return live_name.error();
    const std::optional<int> live = *live_name ? index_of(**live_name) : std::nullopt;
    auto ready = ready_colour(release, live);
    if (!ready) return ready.error();
    auto sent = send_traffic(ready->colour, release, live, rolling_back);
    if (!sent && ready->fresh) {
      // Started for this switch and never reached by traffic: put the
      // standby back as it was.
      stand_down(ready->colour, release, ready->before);
    }
    return sent;
  }

  core::Status verify(const std::string& release) override {
    if (auto current = m_inner->verify(release); !current) return current;
    auto live = live_colour();
    if (!live) return live.error();
    if (!*live)
      return core::make_error(ErrorKind::runtime, describe() + ": no live colour recorded in " + live_colour_path() +
                                                      "; deploy again so one colour takes the traffic");
    auto target = m_inner->link_target(**live);
    if (!target) return target.error();
    if (!*target || **target != release)
      return core::make_error(ErrorKind::runtime, describe() + ": the live colour " + **live + " points at " +
                                                      (*target ? "releases/" + **target : std::string("nothing")) +
                                                      ", expected releases/" + release);
    return core::ok_status();
  }

  core::Result<std::vector<std::string>> prune(int keep, const std::set<std::string>& protect) override {
    // The standby colour's release is what an instant switch back needs.
    std::set<std::string> kept = protect;
    for (const auto& colour : m_spec.colours) {
      auto target = m_inner->link_target(colour.name);
      if (!target) return target.error();
      if (*target) kept.insert(**target);
    }
    return m_inner->prune(keep, kept);
  }

  std::string take_log() override {
    std::string out = m_inner->take_log() + m_log;
    m_log.clear();
    return out;
  }

private:
  // ---- colours
  std::string colour_name(int index) const { return m_spec.colours.at(static_cast<std::size_t>(index)).name; }
  std::optional<int> index_of(const std::string& name) const {
    for (std::size_t i = 0; i < m_spec.colours.size(); ++i)
      if (m_spec.colours[i].name == name) return static_cast<int>(i);
    return std::nullopt;
  }
  std::string colour_list() const {
    std::string out;
    for (const auto& colour : m_spec.colours)
      out += (out.empty() ? "" : ", ") + colour.name;
    return out;
  }
  std::string live_colour_path() const { return (m_inner->state_dir() / k_live_colour_file).string(); }
  std::string where_traffic_is(const std::optional<int>& live) const {
    return live ? "traffic still goes to " + colour_name(*live) : "nothing receives traffic yet";
  }

  void note(const std::string& line) { m_log += line + "\n"; }

  core::Error failure(const std::string& message) const {
    return core::make_error(ErrorKind::runtime, describe() + ": " + message);
  }

  core::Status check_settings() const {
    if (m_spec.colours.size() != 2)
      return failure("blue-green needs exactly two colours, the plan gives " + std::to_string(m_spec.colours.size()) +
                     " (docs/blue-green.md)");
    if (!m_hooks.command || !m_hooks.verify)
      return failure("service " + m_service + " cannot start or check a colour (no colour hooks were set)");
    const std::size_t two = m_spec.colours.size();
    if (!m_spec.upstream_file.empty() && m_spec.servers.size() != two)
      return failure("the nginx `server` was not resolved for each colour; run `shipgate plan show` to see the plan");
    if (m_spec.upstream_file.empty() && m_spec.switch_commands.size() != two)
      return failure("service " + m_service +
                     " has no way to send traffic to a colour: give the strategy `nginx` "
                     "settings or a `switch` command (docs/blue-green.md)");
    return core::ok_status();
  }

  // ---- step 1: a colour running `release`, verified directly

  struct Ready {
    int colour = 0;
    bool fresh = false;                // started for this switch (not already running the release)
    std::optional<std::string> before; // the release it had before (fresh only)
  };

  core::Result<Ready> ready_colour(const std::string& release, const std::optional<int>& live) {
    const int idle = live ? 1 - *live : 0;
    // A colour that already runs `release`: the standby (switching back, or
    // deploying the standby's release again) or the live colour (repeating
    // a switch an interruption cut short). It needs no restart.
    std::vector<int> candidates{idle};
    if (live) candidates.push_back(*live);
    for (int colour : candidates) {
      auto target = m_inner->link_target(colour_name(colour));
      if (!target) return target.error();
      if (*target && **target == release) return reuse_colour(colour, release, live);
    }
    return start_idle(idle, release, live);
  }

  core::Result<Ready> reuse_colour(int colour, const std::string& release, const std::optional<int>& live) {
    const std::string name = colour_name(colour);
    std::string log;
    auto healthy = m_hooks.verify(name, log);
    m_log += log;
    if (healthy) {
      note("verified directly on " + name + " (already running releases/" + release + ")");
      return Ready{colour, false, std::nullopt};
    }
    note(name + " (releases/" + release + ") failed its checks: " + healthy.error().describe() + "; restarting it");
    if (auto stopped = run_hook(name, "stop", release); !stopped)
      return abandon(colour, release, {}, live, stopped.error());
    if (auto started = run_hook(name, "start", release); !started)
      return abandon(colour, release, {}, live, started.error());
    note(name + ": restarted");
    if (auto checked = verify_colour(colour); !checked) return abandon(colour, release, {}, live, checked.error());
    return Ready{colour, false, std::nullopt};
  }

  core::Result<Ready> start_idle(int idle, const std::string& release, const std::optional<int>& live) {
    const std::string name = colour_name(idle);
    auto before = m_inner->link_target(name);
    if (!before) return before.error();
    if (auto stopped = run_hook(name, "stop", before->value_or("")); !stopped)
      return failure("cannot stop the idle colour " + name + ": " + stopped.error().describe() +
                     "; traffic was never switched (" + where_traffic_is(live) + ")");
    if (auto pointed = m_inner->point_link(name, release); !pointed)
      return abandon(idle, release, *before, live, pointed.error());
    note(name + " -> releases/" + release);
    if (auto started = run_hook(name, "start", release); !started)
      return abandon(idle, release, *before, live, started.error());
    note(name + ": started");
    if (auto checked = verify_colour(idle); !checked) return abandon(idle, release, *before, live, checked.error());
    return Ready{idle, true, *before};
  }

  core::Status verify_colour(int colour) {
    const std::string name = colour_name(colour);
    std::string log;
    auto healthy = m_hooks.verify(name, log);
    m_log += log;
    if (!healthy) return healthy;
    note("verified directly on " + name + " before traffic");
    return core::ok_status();
  }

  // The colour failed before the switch. The live colour is left running
  // (stopping it would not bring anything back).
  core::Error abandon(int colour, const std::string& release, const std::optional<std::string>& before,
                      const std::optional<int>& live, const core::Error& why) {
    if (live != colour) stand_down(colour, release, before);
    const std::string which = live == colour ? "the live colour " : "the idle colour ";
    return failure("release " + release + " failed on " + which + colour_name(colour) + ": " + why.describe() +
                   "; traffic was never switched (" + where_traffic_is(live) + ")");
  }

  // Stops a colour no traffic reached and puts it back on the release it
  // had, started again: the standby stays warm for an instant switch back.
  // Best effort; every step is in the log.
  void stand_down(int colour, const std::string& release, const std::optional<std::string>& before) {
    const std::string name = colour_name(colour);
    auto stopped = run_hook(name, "stop", release);
    note(stopped ? name + ": stopped again" : name + ": could not be stopped: " + stopped.error().describe());
    if (!before || *before == release) return;
    auto pointed = m_inner->point_link(name, *before);
    auto started = pointed ? run_hook(name, "start", *before) : core::Status(pointed.error());
    note(started ? name + " -> releases/" + *before + " again; started (standby)"
                 : name + ": could not be put back on releases/" + *before + ": " + started.error().describe());
  }

  core::Status run_hook(const std::string& colour, const std::string& what, const std::string& release) {
    std::string log;
    auto done = m_hooks.command(colour, what, release, log);
    m_log += log;
    return done;
  }

  // ---- step 2: traffic

  core::Status send_traffic(int colour, const std::string& release, const std::optional<int>& live, bool rolling_back) {
    const auto started = SteadyClock::now();
    if (auto switched = switch_traffic(colour, release, live, rolling_back); !switched) return switched;
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    auto recorded = record_live(colour, release);
    if (!recorded) {
      // Records that disagree with where traffic goes would make the next
      // deploy stop the colour that serves: send traffic back.
      if (live && *live != colour) {
        auto back_to = m_inner->link_target(colour_name(*live));
        (void)switch_traffic(*live, back_to && *back_to ? **back_to : std::string(), std::nullopt, true);
      }
      return failure("traffic went to " + colour_name(colour) +
                     " but it could not be recorded: " + recorded.error().describe() +
                     (live ? "; traffic was sent back to " + colour_name(*live) : std::string()));
    }
    note("current -> releases/" + release + "; live colour " + colour_name(colour) + " (traffic switched in " +
         std::to_string(took.count()) + " ms)");
    return core::ok_status();
  }

  core::Status record_live(int colour, const std::string& release) {
    if (auto pointed = m_inner->point_link("current", release); !pointed) return pointed;
    return m_inner->write_file(live_colour_path(), colour_name(colour) + "\n");
  }

  core::Status switch_traffic(int colour, const std::string& release, const std::optional<int>& live,
                              bool rolling_back) {
    if (!m_spec.upstream_file.empty()) return switch_nginx(colour, release, live, rolling_back);
    const CommandSpec& command = m_spec.switch_commands.at(static_cast<std::size_t>(colour));
    auto ran = run(command, colour, release, rolling_back);
    if (!ran.ok())
      return failure("the switch command `" + command.display() + "` for " + colour_name(colour) + " " +
                     why_failed(ran) + "; " + where_traffic_is(live));
    note("switched traffic to " + colour_name(colour) + " (" + command.display() + ")");
    return core::ok_status();
  }

  std::string upstream_path() const {
    const fs::path file = m_spec.upstream_file;
    return (file.is_absolute() ? file : m_inner->root() / file).string();
  }

  core::Status switch_nginx(int colour, const std::string& release, const std::optional<int>& live, bool rolling_back) {
    const std::string path = upstream_path();
    const std::string& server = m_spec.servers.at(static_cast<std::size_t>(colour));
    auto previous = m_inner->read_file(path);
    if (!previous) return previous.error();
    const std::string content = "upstream " + m_spec.upstream + " { server " + server + "; }\n";
    if (auto written = m_inner->write_file(path, content); !written) return written;
    std::string tested;
    if (!m_spec.test.empty()) {
      auto test = run(m_spec.test, colour, release, rolling_back);
      if (!test.ok()) {
        const std::string restored = put_back(path, *previous);
        return failure("the nginx test `" + m_spec.test.display() + "` rejected the upstream file " + path + " (" +
                       content.substr(0, content.size() - 1) + "): " + why_failed(test) + "; " + restored + "; " +
                       where_traffic_is(live) + ". Fix the nginx configuration, or the strategy's `nginx` settings");
      }
      tested = " (" + m_spec.test.display() + " ok)";
    }
    note("nginx upstream " + m_spec.upstream + " -> " + server + tested);
    if (m_spec.reload.empty()) return core::ok_status();
    auto reload = run(m_spec.reload, colour, release, rolling_back);
    if (!reload.ok()) {
      const std::string restored = put_back(path, *previous);
      return failure("the nginx reload `" + m_spec.reload.display() + "` " + why_failed(reload) + "; " + restored +
                     "; check that nginx runs and that the reload command reaches it");
    }
    note("nginx reloaded");
    return core::ok_status();
  }

  // Puts the upstream file back as it was; says what it did.
  std::string put_back(const std::string& path, const std::optional<std::string>& previous) {
    if (previous) {
      auto written = m_inner->write_file(path, *previous);
      return written ? "the previous upstream file was put back"
                     : "the previous upstream file could not be put back (" + written.error().describe() + ")";
    }
    io::ProcessSpec remove;
    remove.argv = {"rm", "-f", "--", path};
    auto removed = m_inner->run_command(remove);
    return removed.ok() ? "the new upstream file was removed (there was none before)"
                        : "the new upstream file could not be removed (" + why_failed(removed) + ")";
  }

  io::ProcessResult run(const CommandSpec& command, int colour, const std::string& release, bool rolling_back) {
    io::ProcessSpec spec;
    spec.argv = command.shell.empty() ? command.argv : std::vector<std::string>{"/bin/sh", "-c", command.shell};
    spec.timeout = command.timeout;
    spec.cwd = m_inner->root().string();
    spec.env_add = {{"SHIPGATE_ROOT", m_inner->root().string()},
                    {"SHIPGATE_SERVICE", m_service},
                    {"SHIPGATE_COLOUR", colour_name(colour)},
                    {"SHIPGATE_RELEASE", release}};
    // The switch back after a failure must finish even when the job is
    // being cancelled.
    spec.stop_on_interrupt = !rolling_back;
    io::ProcessResult result = m_inner->run_command(spec);
    m_log += "$ " + command.display() + "\n" + core::truncate(result.output, k_max_command_output);
    if (!result.output.empty() && result.output.back() != '\n') m_log += "\n";
    return result;
  }

  std::unique_ptr<Driver> m_inner;
  BlueGreenSpec m_spec;
  std::string m_service;
  ColourHooks m_hooks;
  std::string m_log;
};

} // namespace

std::unique_ptr<Driver> make_blue_green_driver(std::unique_ptr<Driver> inner, const BlueGreenSpec& spec,
                                               const std::string& service) {
  return std::make_unique<BlueGreen>(std::move(inner), spec, service);
}

BlueGreenDriver* as_blue_green(Driver& driver) {
  return dynamic_cast<BlueGreenDriver*>(&driver);
}

} // namespace deploy
