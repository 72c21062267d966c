#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "../support/temp_dir.hpp"
#include "deploy/driver.hpp"
#include "io/process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path k_fake_plugin = fs::path(SHIPGATE_SOURCE_DIR) / "tests/fixtures/plugins/fake-plugin";
const fs::path k_example_plugin = fs::path(SHIPGATE_SOURCE_DIR) / "plugins/example";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void install(const fs::path& from, const fs::path& to, fs::perms perms = fs::perms(0755)) {
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, perms);
}

// A target managed by the fake plugin, in a fresh folder.
struct FakeTarget {
  test_support::TempDir dir;
  deploy::PluginOptions options;

  explicit FakeTarget(const json& extra_settings = json::object()) {
    options.plugin = k_fake_plugin.string();
    options.plan_dir = dir.path();
    options.state_dir = dir.path() / "state";
    options.environment = "staging";
    options.service = "api";
    options.settings = {{"log", dir.file("requests.jsonl")}, {"region", "eu-west"}};
    options.settings.update(extra_settings);
    options.timeout = 30s;
  }

  std::unique_ptr<deploy::Driver> driver() {
    auto made = deploy::make_plugin_driver(options);
    REQUIRE_MESSAGE(made.ok(), (made.ok() ? "" : made.error().message));
    return std::move(*made);
  }

  // Every request the fake plugin received, in order.
  std::vector<json> requests() const {
    std::vector<json> lines;
    std::ifstream in(dir.path() / "requests.jsonl");
    for (std::string line; std::getline(in, line);)
      lines.push_back(json::parse(line));
    return lines;
  }

  std::vector<std::string> operations() const {
    std::vector<std::string> names;
    for (const auto& request : requests())
      names.push_back(request.at("operation").get<std::string>());
    return names;
  }

  deploy::OpenedArtifact artifact(const std::string& name = "app.tar.gz") const {
    auto opened = deploy::OpenedArtifact::open(dir.write(name, "the verified bytes"));
    REQUIRE(opened.ok());
    return std::move(*opened);
  }
};

deploy::PrepareRequest prepare_request(const std::string& release, const deploy::OpenedArtifact& artifact) {
  deploy::PrepareRequest request;
  request.release = release;
  request.version = "1.4." + release;
  request.artifact = &artifact;
  request.shared = {"storage/logs", ".env"};
  return request;
}

void require_ok(const core::Status& status) {
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? std::string() : status.error().message));
}

std::string error_of(const core::Status& status) {
  REQUIRE_FALSE(status.ok());
  return status.error().message;
}

} // namespace

TEST_CASE("plugin driver: the handshake creates the state folder and sends the common request fields") {
  FakeTarget target;
  auto driver = target.driver();
  CHECK(driver->describe() == "plugin:" + k_fake_plugin.string());
  CHECK(driver->state_dir() == target.options.state_dir);
  CHECK(driver->root() == target.options.state_dir);

  require_ok(driver->ensure());
  CHECK(fs::is_directory(target.options.state_dir));
  const auto requests = target.requests();
  REQUIRE(requests.size() == 1);
  const json& describe = requests[0];
  CHECK(describe.at("protocol") == 1);
  CHECK(describe.at("operation") == "describe");
  CHECK(describe.at("environment") == "staging");
  CHECK(describe.at("service") == "api");
  CHECK(describe.at("settings") == target.options.settings);
  CHECK(describe.at("state_dir") == target.options.state_dir.string());
}

TEST_CASE("plugin driver: prepare, switch, verify, status and rollback reach the plugin in order") {
  FakeTarget target;
  auto driver = target.driver();
  require_ok(driver->ensure());
  const auto first = target.artifact("first.tar.gz");
  const auto second = target.artifact("second.tar.gz");

  require_ok(driver->prepare(prepare_request("r1", first)));
  require_ok(driver->activate("r1", false));
  require_ok(driver->verify("r1"));
  require_ok(driver->prepare(prepare_request("r2", second)));
  require_ok(driver->activate("r2", false));
  auto status = driver->status();
  REQUIRE(status.ok());
  CHECK(status->current == std::optional<std::string>("r2"));
  CHECK(status->releases == std::vector<std::string>{"r1", "r2"});
  CHECK(status->details == json{{"fake", true}});

  require_ok(driver->activate("r1", true));
  require_ok(driver->verify("r1"));
  CHECK(driver->status()->current == std::optional<std::string>("r1"));

  CHECK(target.operations() == std::vector<std::string>{"describe", "prepare", "switch", "verify", "prepare", "switch",
                                                        "status", "rollback", "verify", "status"});
  const auto requests = target.requests();
  const json& prepare = requests[1];
  CHECK(prepare.at("release") == "r1");
  CHECK(prepare.at("version") == "1.4.r1");
  CHECK(prepare.at("artifact") == target.dir.file("first.tar.gz"));
  CHECK(prepare.at("artifact_size") == std::string("the verified bytes").size());
  CHECK(prepare.at("shared") == json{"storage/logs", ".env"});
  CHECK(prepare.at("limits").at("max_entries") == deploy::UnpackLimits{}.max_entries);
  CHECK(requests[2].at("rolling_back") == false);
  const json& rollback = requests[7];
  CHECK(rollback.at("release") == "r1");
  CHECK(rollback.at("rolling_back") == true);
  for (const auto& request : requests) {
    CHECK(request.at("protocol") == 1);
    CHECK(request.at("settings").at("region") == "eu-west");
    CHECK(request.at("environment") == "staging");
  }
}

TEST_CASE("plugin driver: discard and prune are sent when the plugin offers them") {
  FakeTarget target;
  auto driver = target.driver();
  const auto artifact = target.artifact();
  for (const char* release : {"r1", "r2", "r3", "r4"})
    require_ok(driver->prepare(prepare_request(release, artifact)));
  require_ok(driver->activate("r3", false));
  require_ok(driver->discard("r4"));

  auto removed = driver->prune(1, {"r2"});
  REQUIRE(removed.ok());
  CHECK(*removed == std::vector<std::string>{"r1"});
  const json prune = target.requests().back();
  CHECK(prune.at("keep") == 1);
  CHECK(prune.at("protect") == json{"r2"});
  CHECK(driver->status()->releases == std::vector<std::string>{"r2", "r3"});
}

TEST_CASE("plugin driver: discard and prune are skipped when the plugin does not offer them") {
  FakeTarget target(json{{"operations", {"describe", "status", "prepare", "switch", "rollback", "verify"}}});
  auto driver = target.driver();
  require_ok(driver->ensure());
  CHECK(driver->discard("r1").ok());
  auto removed = driver->prune(1, {});
  REQUIRE(removed.ok());
  CHECK(removed->empty());
  CHECK(target.operations() == std::vector<std::string>{"describe"});
}

TEST_CASE("plugin driver: a plugin missing required operations is refused at the handshake") {
  FakeTarget target(json{{"operations", {"describe", "status", "prepare"}}});
  const std::string message = error_of(target.driver()->ensure());
  CHECK(contains(message, "operation describe"));
  CHECK(contains(message, "does not offer switch, rollback, verify"));
}

TEST_CASE("plugin driver: ok false fails the operation with the plugin's message") {
  FakeTarget target(json{{"fail", {{"verify", "the home page still shows 1.3.9"}}}});
  auto driver = target.driver();
  const auto artifact = target.artifact();
  require_ok(driver->prepare(prepare_request("r1", artifact)));
  require_ok(driver->activate("r1", false));
  const std::string message = error_of(driver->verify("r1"));
  CHECK(contains(message, "target plugin \"" + k_fake_plugin.string() + "\""));
  CHECK(contains(message, "operation verify: the home page still shows 1.3.9"));
}

TEST_CASE("plugin driver: a non-zero exit fails the operation and shows the end of the plugin's stderr") {
  FakeTarget target(json{{"crash", {{"switch", "No space left on device: /srv/site"}}}});
  auto driver = target.driver();
  const auto artifact = target.artifact();
  require_ok(driver->prepare(prepare_request("r1", artifact)));
  const auto status = driver->activate("r1", false);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == core::ErrorKind::runtime);
  const std::string& message = status.error().message;
  CHECK(contains(message, "operation switch: it exited with code 3"));
  CHECK(contains(message, "fake-plugin: starting switch\nNo space left on device: /srv/site"));
}

TEST_CASE("plugin driver: an answer that is not JSON fails the operation and shows what was printed") {
  FakeTarget target(json{{"garbage", "status"}});
  auto driver = target.driver();
  auto status = driver->status();
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message, "operation status: its answer is not a JSON object"));
  CHECK(contains(status.error().message, "this is not json {"));
}

TEST_CASE("plugin driver: a plugin speaking another protocol is refused with both numbers") {
  FakeTarget target(json{{"protocol", 2}});
  const std::string message = error_of(target.driver()->ensure());
  CHECK(contains(message, "operation describe: it speaks protocol 2 but this shipgate speaks protocol 1"));
}

TEST_CASE("plugin driver: an operation over the timeout is stopped and reported") {
  FakeTarget target(json{{"hang", "verify"}});
  target.options.timeout = 700ms;
  auto driver = target.driver();
  require_ok(driver->ensure());
  const auto started = std::chrono::steady_clock::now();
  const std::string message = error_of(driver->verify("r1"));
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  CHECK(contains(message, "operation verify: it did not answer within 700ms and was stopped"));
}

TEST_CASE("plugin driver: a name is looked up next to the plan, then in the search path") {
  test_support::TempDir dir;
  install(k_fake_plugin, dir.path() / "plan/plugins/fake");
  install(k_fake_plugin, dir.path() / "second/fake");
  dir.write("first/fake", "#!/bin/sh\necho 'the wrong fake'\n");
  fs::permissions(dir.path() / "first/fake", fs::perms(0755));
  deploy::PluginOptions options;
  options.plugin = "fake";
  options.state_dir = dir.path() / "state";
  options.search_path = {"", dir.file("first"), dir.file("second")};

  SUBCASE("plugins/ next to the plan comes first") {
    options.plan_dir = dir.path() / "plan";
  }
  SUBCASE("then the search path folders, in order, skipping those without it") {
    options.plan_dir = dir.path() / "elsewhere";
    options.search_path = {dir.file("empty"), dir.file("second"), dir.file("first")};
  }
  auto driver = deploy::make_plugin_driver(options);
  REQUIRE(driver.ok());
  CHECK((*driver)->describe() == "plugin:fake");
  CHECK((*driver)->ensure().ok());
}

TEST_CASE("plugin driver: a path is taken relative to the plan's folder") {
  test_support::TempDir dir;
  install(k_fake_plugin, dir.path() / "plan/tools/fake");
  deploy::PluginOptions options;
  options.plugin = "tools/fake";
  options.plan_dir = dir.path() / "plan";
  options.state_dir = dir.path() / "state";
  auto driver = deploy::make_plugin_driver(options);
  REQUIRE(driver.ok());
  CHECK((*driver)->ensure().ok());
}

TEST_CASE("plugin driver: a plugin that is not found names every place looked") {
  test_support::TempDir dir;
  deploy::PluginOptions options;
  options.plugin = "nonesuch";
  options.plan_dir = dir.path();
  options.state_dir = dir.path() / "state";
  options.search_path = {dir.file("a"), dir.file("b")};
  auto driver = deploy::make_plugin_driver(options);
  REQUIRE_FALSE(driver.ok());
  const std::string& message = driver.error().message;
  CHECK(driver.error().kind == core::ErrorKind::invalid_input);
  CHECK(contains(message, "target plugin \"nonesuch\" not found"));
  CHECK(contains(message, "\n  " + dir.file("plugins/nonesuch") + "\n"));
  CHECK(contains(message, "\n  " + dir.file("a/nonesuch") + "\n"));
  CHECK(contains(message, "\n  " + dir.file("b/nonesuch") + "\n"));
  CHECK(contains(message, "/share/shipgate/plugins/nonesuch\n"));
  CHECK(contains(message, "SHIPGATE_PLUGIN_PATH"));
}

TEST_CASE("plugin driver: a plugin file that is not executable is named with the fix") {
  test_support::TempDir dir;
  install(k_fake_plugin, dir.path() / "plugins/fake", fs::perms(0644));
  deploy::PluginOptions options;
  options.plugin = "fake";
  options.plan_dir = dir.path();
  options.state_dir = dir.path() / "state";
  auto driver = deploy::make_plugin_driver(options);
  REQUIRE_FALSE(driver.ok());
  CHECK(contains(driver.error().message, "found at " + dir.file("plugins/fake") + " but it is not executable"));
  CHECK(contains(driver.error().message, "chmod +x " + dir.file("plugins/fake")));
}

TEST_CASE("plugin driver: a plugin target without a state folder is refused") {
  deploy::PluginOptions options;
  options.plugin = k_fake_plugin.string();
  auto driver = deploy::make_plugin_driver(options);
  REQUIRE_FALSE(driver.ok());
  CHECK(contains(driver.error().message, "needs a state_dir"));
}

// ---- the example plugin, end to end ----------------------------------------

namespace {

void make_tarball(const fs::path& content, const fs::path& archive) {
  io::ProcessSpec tar;
  tar.argv = {"tar", "czf", archive.string(), "-C", content.string(), "."};
  const auto result = io::run_process(tar);
  REQUIRE_MESSAGE(result.ok(), result.output);
}

deploy::OpenedArtifact site_version(const test_support::TempDir& dir, const std::string& version) {
  dir.write("content-" + version + "/index.html", "version " + version + "\n");
  make_tarball(dir.path() / ("content-" + version), dir.path() / ("site-" + version + ".tar.gz"));
  auto opened = deploy::OpenedArtifact::open(dir.path() / ("site-" + version + ".tar.gz"));
  REQUIRE(opened.ok());
  return std::move(*opened);
}

} // namespace

TEST_CASE("plugin driver: the example plugin unpacks, switches, rolls back and prunes a static site") {
  test_support::TempDir dir;
  const fs::path site = dir.path() / "site";
  deploy::PluginOptions options;
  options.plugin = k_example_plugin.string();
  options.state_dir = dir.path() / "state";
  options.settings = {{"dir", site.string()}};
  auto made = deploy::make_plugin_driver(options);
  REQUIRE(made.ok());
  auto& driver = *made;
  require_ok(driver->ensure());

  const auto v1 = site_version(dir, "1");
  const auto v2 = site_version(dir, "2");
  const auto v3 = site_version(dir, "3");
  require_ok(driver->prepare(prepare_request("r1", v1)));
  require_ok(driver->activate("r1", false));
  require_ok(driver->verify("r1"));
  CHECK(read_file(site / "current/index.html") == "version 1\n");
  CHECK(fs::read_symlink(site / "current") == "releases/r1");
  CHECK(fs::read_symlink(site / "releases/r1/storage/logs") == site / "shared/storage/logs");

  require_ok(driver->prepare(prepare_request("r2", v2)));
  require_ok(driver->prepare(prepare_request("r3", v3)));
  require_ok(driver->activate("r3", false));
  CHECK(read_file(site / "current/index.html") == "version 3\n");
  CHECK(contains(error_of(driver->verify("r2")), "current points at r3, not at r2"));
  CHECK(contains(error_of(driver->prepare(prepare_request("r2", v2))), "release r2 already exists"));

  auto status = driver->status();
  REQUIRE(status.ok());
  CHECK(status->current == std::optional<std::string>("r3"));
  CHECK(status->releases == std::vector<std::string>{"r1", "r2", "r3"});

  auto removed = driver->prune(1, {"r2"});
  REQUIRE(removed.ok());
  CHECK(*removed == std::vector<std::string>{"r1"});
  CHECK_FALSE(fs::exists(site / "releases/r1"));

  require_ok(driver->activate("r2", true));
  require_ok(driver->verify("r2"));
  CHECK(read_file(site / "current/index.html") == "version 2\n");
  CHECK(contains(error_of(driver->discard("r2")), "release r2 is live"));
  require_ok(driver->discard("r3"));
  CHECK(driver->status()->releases == std::vector<std::string>{"r2"});
}

TEST_CASE("plugin driver: the example plugin refuses archives that would write outside the release") {
  test_support::TempDir dir;
  const fs::path site = dir.path() / "site";
  fs::create_directories(dir.path() / "link-out");
  fs::create_symlink("/etc", dir.path() / "link-out/config");
  make_tarball(dir.path() / "link-out", dir.path() / "link-out.tar.gz");
  dir.write("dot-dot/escaped.txt", "outside\n");
  fs::create_directories(dir.path() / "dot-dot/sub");
  io::ProcessSpec tar; // -P keeps the leading "../" that tar would otherwise strip
  tar.argv = {"tar", "czPf", dir.file("dot-dot.tar.gz"), "-C", dir.file("dot-dot/sub"), "../escaped.txt"};
  REQUIRE(io::run_process(tar).ok());

  deploy::PluginOptions options;
  options.plugin = k_example_plugin.string();
  options.state_dir = dir.path() / "state";
  options.settings = {{"dir", site.string()}};
  // Pythons without tarfile's filter="data" take the plugin's own checks.
  SUBCASE("with the python3 on PATH") {}
  SUBCASE("with the system python3") {
    if (!fs::exists("/usr/bin/python3")) return;
    dir.write("example-system-python", "#!/bin/sh\nexec /usr/bin/python3 " + k_example_plugin.string() + "\n");
    fs::permissions(dir.path() / "example-system-python", fs::perms(0755));
    options.plugin = dir.file("example-system-python");
  }
  auto made = deploy::make_plugin_driver(options);
  REQUIRE(made.ok());
  auto& driver = *made;
  for (const auto& pair : {std::pair{"link-out.tar.gz", "config"}, {"dot-dot.tar.gz", "../escaped.txt"}}) {
    const std::string archive = pair.first, entry = pair.second;
    CAPTURE(archive);
    auto artifact = deploy::OpenedArtifact::open(dir.path() / archive);
    REQUIRE(artifact.ok());
    const std::string message = error_of(driver->prepare(prepare_request("r1", *artifact)));
    CHECK(contains(message, "operation prepare: cannot unpack " + dir.file(archive)));
    CHECK(contains(message, entry));
    CHECK(fs::is_empty(site / "releases"));
    CHECK_FALSE(fs::exists(site / "escaped.txt"));
    CHECK_FALSE(fs::exists(site / "releases/escaped.txt"));
    CHECK(driver->status()->releases.empty());
  }
}

TEST_CASE("plugin driver: the example plugin rejects settings without an absolute dir at the handshake") {
  test_support::TempDir dir;
  deploy::PluginOptions options;
  options.plugin = k_example_plugin.string();
  options.state_dir = dir.path() / "state";
  options.settings = {{"dir", "relative/site"}};
  auto made = deploy::make_plugin_driver(options);
  REQUIRE(made.ok());
  CHECK(contains(error_of((*made)->ensure()), "settings.dir must be an absolute folder"));
}

TEST_CASE("plugin answers are read apart from running the plugin") {
  const std::string who = "target plugin \"x\" (/p/x)";
  const auto read = [&](const std::string& output, int exit_code = 0, const std::string& log = {}) {
    return deploy::read_plugin_answer(who, "status", {output, exit_code, log});
  };
  const auto good = read(R"({"protocol":1,"ok":true,"releases":["r1","r2"],"current":"r2","details":{"n":1}})");
  REQUIRE(good.ok());
  const auto status = deploy::read_plugin_status(who, *good);
  REQUIRE(status.ok());
  CHECK(status->releases == std::vector<std::string>{"r1", "r2"});
  CHECK(status->current == std::optional<std::string>("r2"));
  CHECK(status->details == json{{"n", 1}});

  const auto error_of_answer = [&](const core::Result<json>& result) {
    REQUIRE_FALSE(result.ok());
    return result.error().message;
  };
  CHECK(error_of_answer(read("{\"protocol\":1,\"ok\":false,\"message\":\"disk full\"}", 0, "trace\nOSError\n")) ==
        who + ", operation status: disk full\nplugin log (last lines of its stderr):\ntrace\nOSError");
  CHECK(error_of_answer(read("{\"message\":\"bad settings\"}", 2)) ==
        who + ", operation status: it exited with code 2: bad settings");
  CHECK(error_of_answer(read("hello \xff")).find("is not a JSON object (it printed \"hello \xEF\xBF\xBD\")") !=
        std::string::npos);
  CHECK(error_of_answer(read(R"({"protocol":2,"ok":true})")).find("it speaks protocol 2") != std::string::npos);
  CHECK(error_of_answer(read(R"({"protocol":1})")).find("no \"ok\"") != std::string::npos);

  const auto bad_status = deploy::read_plugin_status(who, json{{"releases", "r1"}});
  REQUIRE_FALSE(bad_status.ok());
  CHECK(bad_status.error().message.find("\"releases\" must be a list of strings") != std::string::npos);
  const auto bad_current = deploy::read_plugin_status(who, json{{"current", 5}});
  REQUIRE_FALSE(bad_current.ok());
  CHECK(bad_current.error().message.find("\"current\" must be a release id or null") != std::string::npos);
}
