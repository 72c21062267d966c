#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"
#include "deploy/blue_green.hpp"
#include "deploy/layout.hpp"

// The decisions of the blue-green driver, on a real local root: which
// colour gets a release, when traffic moves, what a failure leaves behind.
// The colours' stop/start commands and health checks are recorded hooks
// that fail on demand; the nginx test and reload are small shell commands
// that record what they saw.

namespace {

namespace fs = std::filesystem;
namespace layout = deploy::layout;

const std::string k_r1 = "20261120T100000Z-1.0.0";
const std::string k_r2 = "20261121T100000Z-2.0.0";
const std::string k_r3 = "20261122T100000Z-3.0.0";
const std::string k_r4 = "20261123T100000Z-4.0.0";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

struct BlueGreenTarget {
  test_support::TempDir dir;
  fs::path root = dir.path() / "app";
  fs::path upstream = dir.path() / "nginx" / "upstream.conf";
  fs::path reloads = dir.path() / "reloads.log";
  fs::path test_fails = dir.path() / "nginx-test-fails";
  std::vector<std::string> calls;     // "stop blue <release>", "start green <release>", "verify blue"
  std::multiset<std::string> failing; // calls that fail (each entry once)
  std::unique_ptr<deploy::Driver> driver;
  deploy::BlueGreenDriver* blue_green = nullptr;

  explicit BlueGreenTarget(bool nginx = true) {
    auto inner = deploy::make_local_driver(root);
    REQUIRE(inner->ensure().ok());
    fs::create_directories(upstream.parent_path());
    for (const auto& id : {k_r1, k_r2, k_r3, k_r4})
      make_release(id);
    driver = deploy::make_blue_green_driver(std::move(inner), spec(nginx), "web");
    blue_green = deploy::as_blue_green(*driver);
    REQUIRE(blue_green != nullptr);
    blue_green->set_hooks(
        {[this](const std::string& colour, const std::string& what, const std::string& release, std::string& log) {
           return hook(what + " " + colour + " " + release, log);
         },
         [this](const std::string& colour, std::string& log) { return hook("verify " + colour, log); }});
  }

  void make_release(const std::string& id) {
    fs::create_directories(layout::release_dir(root, id));
    std::ofstream(layout::release_dir(root, id) / "VERSION") << id;
  }

  deploy::BlueGreenSpec spec(bool nginx) const {
    deploy::BlueGreenSpec out;
    out.colours = {{"blue", {{"PORT", "8081"}}, "plan.yml:7"}, {"green", {{"PORT", "8082"}}, "plan.yml:8"}};
    if (nginx) {
      out.upstream_file = upstream.string();
      out.upstream = "app";
      out.server = "127.0.0.1:${PORT}";
      out.servers = {"127.0.0.1:8081", "127.0.0.1:8082"};
      out.test.shell = "if [ -e " + quoted(test_fails) +
                       " ]; then echo 'nginx: [emerg] host not found in upstream \"127.0.0.1:8082\"'; exit 1; fi; "
                       "echo 'nginx: configuration file test is successful'";
      out.reload.shell = "cat " + quoted(upstream) + " >> " + quoted(reloads);
    } else {
      for (const char* colour : {"blue", "green"}) {
        deploy::CommandSpec command;
        command.argv = {"/bin/sh", "-c", "echo \"$0 $SHIPGATE_COLOUR\" >> \"$1\"", colour, reloads.string()};
        out.switch_commands.push_back(command);
      }
    }
    return out;
  }

  core::Status hook(const std::string& call, std::string& log) {
    calls.push_back(call);
    log += "hook: " + call + "\n";
    if (auto found = failing.find(call); found != failing.end()) {
      failing.erase(found);
      return core::make_error(core::ErrorKind::runtime, call + " failed (on purpose)");
    }
    return core::ok_status();
  }

  std::string link(const std::string& name) const {
    auto target = layout::link_release(root, name);
    REQUIRE(target.ok());
    return target->value_or("-");
  }
  std::string live() const {
    const fs::path file = layout::state_dir(root) / "live-colour";
    return fs::exists(file) ? read_text(file) : "-";
  }
  std::string upstream_text() const { return fs::exists(upstream) ? read_text(upstream) : "-"; }
  std::vector<std::string> reload_lines() const {
    std::vector<std::string> lines;
    std::ifstream in(reloads);
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
    return lines;
  }

  // A deploy that must succeed; returns the calls it made.
  std::vector<std::string> activate(const std::string& release, bool rolling_back = false) {
    calls.clear();
    auto done = driver->activate(release, rolling_back);
    REQUIRE_MESSAGE(done.ok(), (done.ok() ? "" : done.error().describe()));
    return calls;
  }
};

using Calls = std::vector<std::string>;

} // namespace

TEST_CASE("blue-green: the first deploy goes to the first colour, verified there before traffic moves") {
  BlueGreenTarget target;
  auto live = target.blue_green->live_colour();
  REQUIRE(live.ok());
  CHECK_FALSE(live->has_value());
  CHECK(target.driver->variables() ==
        deploy::Variables{{"COLOUR", "blue"}, {"PORT", "8081"}, {"TARGET_ROOT", target.root.string()}});

  CHECK(target.activate(k_r1) == Calls{"stop blue ", "start blue " + k_r1, "verify blue"});
  CHECK(target.link("blue") == k_r1);
  CHECK(target.link("green") == "-");
  CHECK(target.link("current") == k_r1);
  CHECK(target.live() == "blue\n");
  CHECK(target.upstream_text() == "upstream app { server 127.0.0.1:8081; }\n");
  // The reload ran after the file was written.
  CHECK(target.reload_lines() == std::vector<std::string>{"upstream app { server 127.0.0.1:8081; }"});
  CHECK(target.driver->verify(k_r1).ok());
  CHECK_FALSE(target.driver->verify(k_r2).ok());

  const std::string log = target.driver->take_log();
  CHECK(contains(log, "blue -> releases/" + k_r1));
  CHECK(contains(log, "verified directly on blue before traffic"));
  CHECK(contains(log, "nginx upstream app -> 127.0.0.1:8081"));
  CHECK(contains(log, "configuration file test is successful"));
  CHECK(contains(log, "nginx reloaded"));
  CHECK(contains(log, "current -> releases/" + k_r1 + "; live colour blue"));
  CHECK(contains(log, "hook: verify blue"));
  // The order: started, verified, then traffic.
  CHECK(log.find("hook: verify blue") < log.find("nginx upstream"));
  CHECK(target.driver->take_log().empty());

  auto status = target.driver->status();
  REQUIRE(status.ok());
  CHECK(status->current == k_r1);
  CHECK(status->details["live_colour"] == "blue");
  CHECK(status->details["colours"]["blue"] == k_r1);
  CHECK(status->details["colours"]["green"].is_null());
}

TEST_CASE("blue-green: the second deploy goes to the other colour and leaves the first one running") {
  BlueGreenTarget target;
  target.activate(k_r1);
  CHECK(target.activate(k_r2) == Calls{"stop green ", "start green " + k_r2, "verify green"});
  CHECK(target.link("blue") == k_r1);
  CHECK(target.link("green") == k_r2);
  CHECK(target.link("current") == k_r2);
  CHECK(target.live() == "green\n");
  CHECK(target.upstream_text() == "upstream app { server 127.0.0.1:8082; }\n");
  CHECK(target.driver->variables() ==
        deploy::Variables{{"COLOUR", "green"}, {"PORT", "8082"}, {"TARGET_ROOT", target.root.string()}});
  CHECK(target.driver->verify(k_r2).ok());

  // The third goes back to blue, which is stopped first with its old release.
  CHECK(target.activate(k_r3) == Calls{"stop blue " + k_r1, "start blue " + k_r3, "verify blue"});
  CHECK(target.link("blue") == k_r3);
  CHECK(target.link("green") == k_r2);
  CHECK(target.live() == "blue\n");
  CHECK(target.reload_lines().size() == 3);
}

TEST_CASE("blue-green: a release that fails on the idle colour never touches traffic or `current`") {
  BlueGreenTarget target;
  target.activate(k_r1);
  const std::string upstream_before = target.upstream_text();
  target.driver->take_log();

  SUBCASE("the health checks fail") {
    target.failing.insert("verify green");
    target.calls.clear();
    auto failed = target.driver->activate(k_r2, false);
    REQUIRE_FALSE(failed.ok());
    CHECK(contains(failed.error().message, "release " + k_r2 + " failed on the idle colour green"));
    CHECK(contains(failed.error().message, "verify green failed (on purpose)"));
    CHECK(contains(failed.error().message, "traffic was never switched (traffic still goes to blue)"));
    // Stopped again; it had no earlier release to go back to.
    CHECK(target.calls == Calls{"stop green ", "start green " + k_r2, "verify green", "stop green " + k_r2});
  }
  SUBCASE("the start command fails") {
    target.failing.insert("start green " + k_r2);
    target.calls.clear();
    auto failed = target.driver->activate(k_r2, false);
    REQUIRE_FALSE(failed.ok());
    CHECK(contains(failed.error().message, "traffic was never switched"));
    CHECK(target.calls == Calls{"stop green ", "start green " + k_r2, "stop green " + k_r2});
  }
  CHECK(target.link("current") == k_r1);
  CHECK(target.live() == "blue\n");
  CHECK(target.link("blue") == k_r1);
  CHECK(target.upstream_text() == upstream_before);
  CHECK(target.reload_lines().size() == 1); // only the first deploy's
  CHECK(contains(target.driver->take_log(), "green: stopped again"));
  CHECK(target.driver->verify(k_r1).ok());
}

TEST_CASE("blue-green: a failed release puts the standby colour back on its release, running") {
  BlueGreenTarget target;
  target.activate(k_r1);
  target.activate(k_r2);
  target.failing.insert("verify blue");
  target.calls.clear();
  auto failed = target.driver->activate(k_r3, false);
  REQUIRE_FALSE(failed.ok());
  CHECK(contains(failed.error().message, "traffic was never switched (traffic still goes to green)"));
  CHECK(target.calls ==
        Calls{"stop blue " + k_r1, "start blue " + k_r3, "verify blue", "stop blue " + k_r3, "start blue " + k_r1});
  CHECK(target.link("blue") == k_r1);
  CHECK(target.link("current") == k_r2);
  CHECK(target.live() == "green\n");
  CHECK(contains(target.driver->take_log(), "blue -> releases/" + k_r1 + " again; started (standby)"));

  // So switching back to r1 is still instant.
  CHECK(target.activate(k_r1, true) == Calls{"verify blue"});
  CHECK(target.live() == "blue\n");
}

TEST_CASE("blue-green: a failing nginx test puts the previous upstream file back") {
  BlueGreenTarget target;

  SUBCASE("a file was there: its content comes back") {
    target.activate(k_r1);
    const std::string before = target.upstream_text();
    std::ofstream(target.test_fails) << "x";
    target.calls.clear();
    auto failed = target.driver->activate(k_r2, false);
    REQUIRE_FALSE(failed.ok());
    CHECK(contains(failed.error().message, "rejected the upstream file"));
    CHECK(contains(failed.error().message, "host not found in upstream"));
    CHECK(contains(failed.error().message, "the previous upstream file was put back"));
    CHECK(contains(failed.error().message, "traffic still goes to blue"));
    CHECK(target.upstream_text() == before);
    CHECK(target.link("current") == k_r1);
    CHECK(target.live() == "blue\n");
    CHECK(target.reload_lines().size() == 1);
    // The colour started for the switch is stopped again.
    CHECK(target.calls == Calls{"stop green ", "start green " + k_r2, "verify green", "stop green " + k_r2});
  }
  SUBCASE("no file before: it is removed") {
    std::ofstream(target.test_fails) << "x";
    auto failed = target.driver->activate(k_r1, false);
    REQUIRE_FALSE(failed.ok());
    CHECK(contains(failed.error().message, "the new upstream file was removed"));
    CHECK(contains(failed.error().message, "nothing receives traffic yet"));
    CHECK_FALSE(fs::exists(target.upstream));
    CHECK(target.link("current") == "-");
    CHECK(target.live() == "-");
    CHECK(target.reload_lines().empty());
  }
}

TEST_CASE("blue-green: rolling back switches traffic only, when the old colour is healthy") {
  BlueGreenTarget target;
  target.activate(k_r1);
  target.activate(k_r2);
  const auto reloads = target.reload_lines().size();

  SUBCASE("healthy: no stop, no start") {
    CHECK(target.activate(k_r1, true) == Calls{"verify blue"});
    CHECK(contains(target.driver->take_log(), "verified directly on blue (already running releases/" + k_r1 + ")"));
  }
  SUBCASE("unhealthy: restarted, checked again, then switched") {
    target.failing.insert("verify blue");
    CHECK(target.activate(k_r1, true) ==
          Calls{"verify blue", "stop blue " + k_r1, "start blue " + k_r1, "verify blue"});
  }
  CHECK(target.link("current") == k_r1);
  CHECK(target.live() == "blue\n");
  CHECK(target.upstream_text() == "upstream app { server 127.0.0.1:8081; }\n");
  CHECK(target.reload_lines().size() == reloads + 1);
  CHECK(target.link("green") == k_r2); // the colour left keeps running: no "stop green"
  CHECK(target.driver->verify(k_r1).ok());
}

TEST_CASE("blue-green: a rollback to a colour that stays unhealthy leaves traffic where it is") {
  BlueGreenTarget target;
  target.activate(k_r1);
  target.activate(k_r2);
  target.failing.insert("verify blue");
  target.failing.insert("verify blue");
  target.calls.clear();
  auto failed = target.driver->activate(k_r1, true);
  REQUIRE_FALSE(failed.ok());
  CHECK(contains(failed.error().message, "traffic was never switched (traffic still goes to green)"));
  CHECK(target.calls ==
        Calls{"verify blue", "stop blue " + k_r1, "start blue " + k_r1, "verify blue", "stop blue " + k_r1});
  CHECK(target.link("current") == k_r2);
  CHECK(target.live() == "green\n");
  CHECK(target.upstream_text() == "upstream app { server 127.0.0.1:8082; }\n");
}

TEST_CASE("blue-green: switching to the live colour's release again (after an interruption) re-sends traffic") {
  BlueGreenTarget target;
  target.activate(k_r1);
  target.activate(k_r2);
  // An interrupted run left nginx on blue while the record says green.
  std::ofstream(target.upstream) << "upstream app { server 127.0.0.1:8081; }\n";

  SUBCASE("healthy: no restart, traffic back where the record says") {
    CHECK(target.activate(k_r2, true) == Calls{"verify green"});
    CHECK(target.upstream_text() == "upstream app { server 127.0.0.1:8082; }\n");
    CHECK(target.live() == "green\n");
    CHECK(target.link("blue") == k_r1); // the standby is untouched
  }
  SUBCASE("unhealthy for good: restarted once, never stopped, traffic not moved") {
    target.failing.insert("verify green");
    target.failing.insert("verify green");
    target.calls.clear();
    auto failed = target.driver->activate(k_r2, true);
    REQUIRE_FALSE(failed.ok());
    CHECK(contains(failed.error().message, "failed on the live colour green"));
    CHECK(target.calls == Calls{"verify green", "stop green " + k_r2, "start green " + k_r2, "verify green"});
    CHECK(target.upstream_text() == "upstream app { server 127.0.0.1:8081; }\n");
  }
}

TEST_CASE("blue-green: the plan's own switch command instead of nginx") {
  BlueGreenTarget target(false);
  target.activate(k_r1);
  target.activate(k_r2);
  CHECK(target.reload_lines() == std::vector<std::string>{"blue blue", "green green"});
  CHECK(target.live() == "green\n");
  CHECK(contains(target.driver->take_log(), "switched traffic to green"));
}

TEST_CASE("blue-green: prune never removes a colour's release") {
  BlueGreenTarget target;
  target.activate(k_r1); // blue: r1
  target.activate(k_r4); // green: r4, live
  auto removed = target.driver->prune(1, {});
  REQUIRE(removed.ok());
  CHECK(std::set<std::string>(removed->begin(), removed->end()) == std::set<std::string>{k_r2, k_r3});
  CHECK(fs::is_directory(layout::release_dir(target.root, k_r1)));
  CHECK(fs::is_directory(layout::release_dir(target.root, k_r4)));
  CHECK(target.activate(k_r1, true) == Calls{"verify blue"});
}

TEST_CASE("blue-green: a live-colour file naming an unknown colour is an error that says what to do") {
  BlueGreenTarget target;
  std::ofstream(layout::state_dir(target.root) / "live-colour") << "red\n";
  auto live = target.blue_green->live_colour();
  REQUIRE_FALSE(live.ok());
  CHECK(contains(live.error().message, "names colour \"red\", which the plan does not define (blue, green)"));
  CHECK_FALSE(target.driver->activate(k_r1, false).ok());
  CHECK(target.calls.empty());
  CHECK(target.link("current") == "-");
}

TEST_CASE("blue-green: as_blue_green tells the wrapper from a plain driver") {
  test_support::TempDir dir;
  auto plain = deploy::make_local_driver(dir.path());
  CHECK(deploy::as_blue_green(*plain) == nullptr);
}
