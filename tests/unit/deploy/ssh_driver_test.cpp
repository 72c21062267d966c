// The ssh target against a real OpenSSH sshd on 127.0.0.1, started by
// each test with its own host key, client key, known_hosts and config, and
// stopped when the test ends, passed or not. The "host" is this machine,
// so the test looks at the remote root directly on disk.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "../../integration/support/spawn.hpp"
#include "../support/temp_dir.hpp"
#include "deploy/driver.hpp"
#include "deploy/ssh_remote_script.hpp"
#include "io/process.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using core::ErrorKind;
using test_support::TempDir;
using Clock = std::chrono::steady_clock;

const fs::path k_sshd = "/usr/sbin/sshd";
const fs::path k_make_artifacts = fs::path(SHIPGATE_SOURCE_DIR) / "tests/fixtures/deploy/make-artifacts.sh";
const std::string k_release = "20240101T000000Z-1.0.0";
const std::string k_release_2 = "20240102T000000Z-1.1.0";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string run_ok(const std::vector<std::string>& argv) {
  io::ProcessSpec spec;
  spec.argv = argv;
  spec.timeout = 60s;
  spec.separate_streams = true;
  const io::ProcessResult result = io::run_process(spec);
  INFO(argv.front() << ": " << result.error << result.error_output);
  REQUIRE(result.ok());
  return result.output;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

std::string current_user() {
  const passwd* entry = ::getpwuid(::geteuid());
  return entry ? entry->pw_name : "root";
}

// Without sshd the test cannot run; in CI that is a failure, not a skip.
bool sshd_available() {
  if (fs::exists(k_sshd)) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true")
    FAIL("OpenSSH's sshd (" << k_sshd.string() << ") is missing; install openssh-server (scripts/install-deps.sh)");
  MESSAGE("skipped: " << k_sshd.string() << " is missing; install openssh-server to run the ssh target tests");
  return false;
}

#define REQUIRE_SSHD()                                                                                                 \
  if (!sshd_available()) return

// One sshd, its keys and the client's files. The destructor closes the
// connections shipgate opened, then stops sshd, whatever the test did.
class SshServer {
public:
  SshServer() {
    keygen(m_dir.path() / "host_key", "shipgate-test-host");
    keygen(m_dir.path() / "client_key", "shipgate-test-client");
    fs::copy_file(m_dir.path() / "client_key.pub", m_dir.path() / "authorized_keys");
    for (int attempt = 0; attempt < 3 && m_pid < 0; ++attempt)
      start();
    REQUIRE_MESSAGE(m_pid > 0, "sshd did not start: " << read_file(m_dir.path() / "sshd.log"));
    write_file(known_hosts(), "[127.0.0.1]:" + std::to_string(m_port) + " " + read_file(m_dir.path() / "host_key.pub"));
  }
  ~SshServer() {
    deploy::close_ssh_connections();
    test_support::stop(m_pid);
  }
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  const TempDir& dir() const { return m_dir; }
  int port() const { return m_port; }
  fs::path known_hosts() const { return m_dir.path() / "known_hosts"; }
  // Where the "host" keeps a target: a folder of this machine.
  fs::path root(const std::string& name = "app") const { return m_dir.path() / "host" / name; }

  deploy::SshOptions options(const fs::path& root, const std::string& name = "web01") const {
    deploy::SshOptions options;
    options.host.name = name;
    options.host.address = "127.0.0.1";
    options.host.port = m_port;
    options.host.user = current_user();
    options.root = root.string();
    options.identity_file = (m_dir.path() / "client_key").string();
    options.known_hosts = known_hosts().string();
    options.connect_timeout = 5s;
    options.operation_timeout = 60s;
    return options;
  }

  std::unique_ptr<deploy::Driver> driver(const fs::path& root, const std::string& name = "web01") const {
    return deploy::make_ssh_driver(options(root, name));
  }

  static void keygen(const fs::path& file, const std::string& comment) {
    run_ok({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file.string()});
  }

private:
  void start() {
    m_port = free_port();
    const fs::path config = m_dir.path() / "sshd_config";
    const std::string d = m_dir.path().string();
    write_file(config, "Port " + std::to_string(m_port) + "\nListenAddress 127.0.0.1\nHostKey " + d +
                           "/host_key\nPidFile " + d + "/sshd.pid\nAuthorizedKeysFile " + d +
                           "/authorized_keys\nPermitRootLogin prohibit-password\nPubkeyAuthentication yes\n"
                           "PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
                           "UseDNS no\nPrintMotd no\nMaxSessions 64\nMaxStartups 64\nLogLevel VERBOSE\n"
                           // bash reads ~/.bashrc for ssh commands unless it is a nested shell; this
                           // machine's may be slow (a developer's pyenv), a server's login files are not.
                           "SetEnv SHLVL=1\n");
    if (::geteuid() == 0) fs::create_directories("/run/sshd"); // sshd's privilege separation folder
    const pid_t pid =
        test_support::spawn({k_sshd.string(), "-D", "-f", config.string(), "-E", d + "/sshd.log"}, false).pid;
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (accepts(m_port)) {
        m_pid = pid;
        return;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return; // exited (port taken meanwhile?): next attempt
      std::this_thread::sleep_for(20ms);
    }
    test_support::stop(pid);
  }

  TempDir m_dir;
  int m_port = 0;
  pid_t m_pid = -1;
};

// tests/fixtures/deploy/make-artifacts.sh's app-VERSION.tar.gz.
fs::path make_artifact(const TempDir& dir, const std::string& version) {
  run_ok({"bash", k_make_artifacts.string(), dir.file("artifacts"), version});
  return dir.path() / "artifacts" / ("app-" + version + ".tar.gz");
}

deploy::OpenedArtifact open_artifact(const fs::path& path) {
  auto opened = deploy::OpenedArtifact::open(path);
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
  return std::move(*opened);
}

deploy::PrepareRequest request_for(const std::string& release, const deploy::OpenedArtifact& artifact,
                                   std::vector<std::string> shared = {}) {
  deploy::PrepareRequest request;
  request.release = release;
  request.version = release.substr(17);
  request.artifact = &artifact;
  request.shared = std::move(shared);
  return request;
}

void check_ok(const core::Status& status) {
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
}

template <typename T> T value_of(core::Result<T> result) {
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  return std::move(*result);
}

io::ProcessSpec command(std::vector<std::string> argv) {
  io::ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = 30s;
  return spec;
}

} // namespace

TEST_CASE("ssh driver: names, ensure and status on an empty root") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  CHECK(driver->describe() == "ssh:web01 (127.0.0.1)");
  CHECK(driver->key() == "ssh:" + current_user() + "@127.0.0.1:" + std::to_string(server.port()) + ":" + root.string());
  CHECK(driver->root() == root);
  CHECK(driver->state_dir() == root / ".shipgate");
  CHECK(driver->variables() ==
        deploy::Variables{{"HOST", "web01"}, {"HOST_ADDRESS", "127.0.0.1"}, {"TARGET_ROOT", root.string()}});
  CHECK(fs::is_directory(driver->local_work_dir()));
  CHECK(driver->state_store()->describe() == "web01:" + (root / ".shipgate").string());

  const auto before = value_of(driver->status());
  CHECK_FALSE(before.current.has_value());
  CHECK(before.releases.empty());
  CHECK_FALSE(fs::exists(root));

  check_ok(driver->ensure());
  for (const char* folder : {"releases", "shared", ".shipgate"})
    CHECK(fs::is_directory(root / folder));
  CHECK((fs::status(root / ".shipgate").permissions() & fs::perms::all) == fs::perms::owner_all);
  check_ok(driver->ensure()); // again: nothing to do
  const auto after = value_of(driver->status());
  CHECK_FALSE(after.current.has_value());
  CHECK(after.releases.empty());
  CHECK(after.details["host"] == "web01");

  // A `current` that is not a link is refused, and left alone.
  fs::create_directory(root / "current");
  const auto refused = driver->ensure();
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.error().message, "web01"));
  CHECK(contains(refused.error().message, "is not a symlink"));
  CHECK(fs::is_directory(root / "current"));
}

TEST_CASE("ssh driver: prepare a real artifact, activate, verify, check it, see it in status") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());
  const auto artifact = open_artifact(make_artifact(server.dir(), "1.0.0"));
  write_file(root / "shared" / "public" / "uploads" / "kept.txt", "from an earlier release");

  check_ok(driver->prepare(request_for(k_release, artifact, {"public/uploads/", "config/"})));
  const fs::path release = root / "releases" / k_release;
  CHECK(read_file(release / "public" / "index.html") == "version 1.0.0\n");
  CHECK((fs::status(release / "bin" / "start").permissions() & fs::perms::owner_exec) != fs::perms::none);
  CHECK(fs::read_symlink(release / "public" / "uploads") == "../../../shared/public/uploads");
  CHECK(read_file(release / "public" / "uploads" / "kept.txt") == "from an earlier release");
  CHECK(fs::is_directory(root / "shared" / "config"));
  CHECK_FALSE(fs::exists(root / "releases" / (".partial-" + k_release)));
  CHECK_FALSE(fs::exists(root / "current")); // nothing live changed

  // Preparing the same id twice is refused; the first one is untouched.
  const auto again = driver->prepare(request_for(k_release, artifact));
  REQUIRE_FALSE(again.ok());
  CHECK(contains(again.error().message, "already exists"));

  check_ok(driver->activate(k_release, false));
  CHECK(fs::read_symlink(root / "current") == fs::path("releases") / k_release);
  check_ok(driver->verify(k_release));
  const auto wrong = driver->verify(k_release_2);
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message, "expected " + k_release_2));
  check_ok(driver->check_intact(k_release));

  const auto status = value_of(driver->status());
  REQUIRE(status.current.has_value());
  CHECK(*status.current == k_release);
  CHECK(status.releases == std::vector<std::string>{k_release});

  // The release the host runs is the one that was prepared.
  auto spec = command({"./bin/start"});
  spec.cwd = (root / "current").string();
  const auto ran = driver->run_command(spec);
  CHECK(ran.ok());
  CHECK(ran.output == "started 1.0.0\n");
}

TEST_CASE("ssh driver: a release edited on the host is no longer intact") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());
  const auto artifact = open_artifact(make_artifact(server.dir(), "1.0.0"));
  check_ok(driver->prepare(request_for(k_release, artifact)));
  check_ok(driver->check_intact(k_release));
  const fs::path release = root / "releases" / k_release;

  write_file(release / "public" / "index.html", "defaced\n");
  auto changed = driver->check_intact(k_release);
  REQUIRE_FALSE(changed.ok());
  CHECK(changed.error().kind == ErrorKind::blocked);
  CHECK(contains(changed.error().message, "ssh:web01"));
  CHECK(contains(changed.error().message, "public/index.html (changed)"));
  CHECK(contains(changed.error().message, "shared/"));

  write_file(release / "public" / "index.html", "version 1.0.0\n");
  check_ok(driver->check_intact(k_release));
  write_file(release / "public" / "added.txt", "x");
  fs::remove(release / "public" / "health");
  fs::remove(release / "bin" / "start");
  fs::create_symlink("/etc/passwd", release / "bin" / "start");
  changed = driver->check_intact(k_release);
  REQUIRE_FALSE(changed.ok());
  CHECK(contains(changed.error().message, "public/added.txt (added)"));
  CHECK(contains(changed.error().message, "public/health (missing)"));
  CHECK(contains(changed.error().message, "bin/start (changed)"));

  const auto gone = driver->check_intact(k_release_2);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::blocked);
  CHECK(contains(gone.error().message, "is gone"));
}

TEST_CASE("ssh driver: hostile file names travel intact, and discard and prune keep what they must") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path tree = server.dir().path() / "hostile";
  const std::vector<std::string> names = {"we ird/it's \"quoted\" $(touch pwned) caf\xc3\xa9.txt", "back\\slash",
                                          "-dash", " leading space", "semi;colon&amp"};
  for (const auto& name : names)
    write_file(tree / name, "content of " + name);
  fs::create_directories(tree / "empty folder");
  fs::create_symlink("we ird", tree / "link to folder");
  const fs::path archive = server.dir().path() / "hostile.tar.gz";
  run_ok({"tar", "czf", archive.string(), "-C", tree.string(), "."});
  const auto artifact = open_artifact(archive);

  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());
  const std::vector<std::string> ids = {"20240101T000000Z-1", "20240102T000000Z-2", "20240103T000000Z-3",
                                        "20240104T000000Z-4"};
  for (const auto& id : ids)
    check_ok(driver->prepare(request_for(id, artifact)));
  for (const auto& name : names)
    CHECK(read_file(root / "releases" / ids[0] / name) == "content of " + name);
  CHECK(fs::is_directory(root / "releases" / ids[0] / "empty folder"));
  CHECK(fs::read_symlink(root / "releases" / ids[0] / "link to folder") == "we ird");
  CHECK_FALSE(fs::exists(root / "releases" / ids[0] / "pwned"));
  check_ok(driver->check_intact(ids[0]));

  check_ok(driver->activate(ids[1], false));
  const auto live_discard = driver->discard(ids[1]);
  REQUIRE_FALSE(live_discard.ok());
  CHECK(contains(live_discard.error().message, "is live"));
  check_ok(driver->discard(ids[3]));
  CHECK_FALSE(fs::exists(root / "releases" / ids[3]));

  // keep 1: the newest (ids[2]) stays, so do the live one and the protected one.
  const auto removed = value_of(driver->prune(1, {ids[0]}));
  CHECK(removed.empty());
  const auto removed_now = value_of(driver->prune(0, {}));
  CHECK(removed_now == std::vector<std::string>{ids[0], ids[2]});
  CHECK(value_of(driver->status()).releases == std::vector<std::string>{ids[1]});
  CHECK_FALSE(fs::exists(root / ".shipgate" / "releases" / (ids[0] + ".sha256")));
}

TEST_CASE("ssh driver: colour links are switched and read like `current`") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());
  const auto artifact = open_artifact(make_artifact(server.dir(), "1.0.0"));
  check_ok(driver->prepare(request_for(k_release, artifact)));

  CHECK_FALSE(value_of(driver->link_target("blue")).has_value());
  check_ok(driver->point_link("blue", k_release));
  CHECK(fs::read_symlink(root / "blue") == fs::path("releases") / k_release);
  const auto blue = value_of(driver->link_target("blue"));
  REQUIRE(blue.has_value());
  CHECK(*blue == k_release);
  CHECK_FALSE(value_of(driver->link_target("current")).has_value());

  const auto missing = driver->point_link("green", k_release_2);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::invalid_input);
  CHECK(contains(missing.error().message, "was not changed"));
  CHECK_FALSE(fs::exists(fs::symlink_status(root / "green")));

  fs::create_symlink("/etc", root / "green");
  const auto elsewhere = driver->link_target("green");
  REQUIRE_FALSE(elsewhere.ok());
  CHECK(contains(elsewhere.error().message, "not a release under releases/"));
}

TEST_CASE("ssh driver: the remote state store appends, reads, removes and updates") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  auto store = driver->state_store();
  CHECK_FALSE(value_of(store->exists()));
  check_ok(store->ensure());
  CHECK(value_of(store->exists()));
  CHECK((fs::status(root / ".shipgate").permissions() & fs::perms::all) == fs::perms::owner_all);

  CHECK_FALSE(value_of(store->read("ledger.jsonl")).has_value());
  check_ok(store->append("ledger.jsonl", "{\"n\":1}\n"));
  write_file(root / ".shipgate" / "torn.jsonl", "{\"n\":1}\n{\"n\":"); // a crash mid-line
  check_ok(store->append("torn.jsonl", "{\"n\":3}\n"));
  check_ok(store->append("ledger.jsonl", "{\"n\":2, \"text\": \"it's $(x)\"}\n"));
  CHECK(value_of(store->read("ledger.jsonl")) ==
        std::optional<std::string>("{\"n\":1}\n{\"n\":2, \"text\": \"it's $(x)\"}\n"));
  CHECK(value_of(store->read("torn.jsonl")) == std::optional<std::string>("{\"n\":1}\n{\"n\":\n{\"n\":3}\n"));
  CHECK((fs::status(root / ".shipgate" / "ledger.jsonl").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  check_ok(store->remove("ledger.jsonl"));
  check_ok(store->remove("ledger.jsonl")); // absent is fine
  CHECK_FALSE(value_of(store->read("ledger.jsonl")).has_value());

  using Change = deploy::StateStore::Change;
  using Current = deploy::StateStore::Current;
  auto seen = value_of(store->update("lock", [](const Current& current) -> core::Result<Change> {
    CHECK_FALSE(current.content.has_value());
    CHECK_FALSE(current.age.has_value());
    return Change{Change::Kind::write, "held by run 1\n"};
  }));
  CHECK_FALSE(seen.has_value());
  CHECK(read_file(root / ".shipgate" / "lock") == "held by run 1\n");
  CHECK(fs::exists(root / ".shipgate" / "lock.guard"));
  seen = value_of(store->update("lock", [](const Current&) -> core::Result<Change> {
    return Change{Change::Kind::keep, ""};
  }));
  CHECK(seen == std::optional<std::string>("held by run 1\n"));
  const auto refused = store->update("lock", [](const Current&) -> core::Result<Change> {
    return core::make_error(ErrorKind::blocked, "the lock is held");
  });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "the lock is held");
  seen = value_of(store->update("lock", [](const Current&) -> core::Result<Change> {
    return Change{Change::Kind::remove, ""};
  }));
  CHECK(seen == std::optional<std::string>("held by run 1\n"));
  CHECK_FALSE(fs::exists(root / ".shipgate" / "lock"));
}

TEST_CASE("ssh driver: a state update that raced another writer is decided again") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto first = server.driver(root);
  auto second = server.driver(root);
  auto store = first->state_store();
  auto other = second->state_store();
  check_ok(store->ensure());
  using Change = deploy::StateStore::Change;
  using Current = deploy::StateStore::Current;

  // The other writer gets in between this update's read and its write.
  std::vector<std::optional<std::string>> seen;
  auto last = value_of(store->update("lock", [&](const Current& current) -> core::Result<Change> {
    seen.push_back(current.content);
    if (seen.size() == 1) {
      const auto raced = other->update("lock", [](const Current&) -> core::Result<Change> {
        return Change{Change::Kind::write, "other"};
      });
      CHECK(raced.ok());
    }
    return Change{Change::Kind::write, "mine after " + current.content.value_or("nothing")};
  }));
  REQUIRE(seen.size() == 2);
  CHECK_FALSE(seen[0].has_value());
  CHECK(seen[1] == std::optional<std::string>("other"));
  CHECK(last == std::optional<std::string>("other"));
  CHECK(read_file(root / ".shipgate" / "lock") == "mine after other");

  // What this store remembers from its last update is stale now: a "keep"
  // decided on it is checked against the host first.
  write_file(root / ".shipgate" / "lock", "changed on the host");
  seen.clear();
  last = value_of(store->update("lock", [&](const Current& current) -> core::Result<Change> {
    seen.push_back(current.content);
    return Change{Change::Kind::keep, ""};
  }));
  CHECK(last == std::optional<std::string>("changed on the host"));
  CHECK(seen.back() == std::optional<std::string>("changed on the host"));

  // Two threads incrementing one counter: no update is lost.
  const auto increment = [](const Current& current) -> core::Result<Change> {
    const int value = current.content ? std::stoi(*current.content) : 0;
    return Change{Change::Kind::write, std::to_string(value + 1)};
  };
  std::atomic<int> failures{0};
  auto worker = [&](const std::shared_ptr<deploy::StateStore>& target) {
    for (int i = 0; i < 8; ++i)
      if (!target->update("counter", increment).ok()) ++failures;
  };
  std::thread a(worker, store), b(worker, other);
  a.join();
  b.join();
  CHECK(failures.load() == 0);
  CHECK(read_file(root / ".shipgate" / "counter") == "16");
}

TEST_CASE("ssh driver: the age of a state file is measured by the host's clock") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto store = server.driver(root)->state_store();
  check_ok(store->ensure());
  using Change = deploy::StateStore::Change;
  using Current = deploy::StateStore::Current;

  const fs::path lock = root / ".shipgate" / "lock";
  write_file(lock, "old\n");
  fs::last_write_time(lock, fs::file_time_type::clock::now() - 90s);
  const auto old = value_of(store->read_current("lock"));
  CHECK(old.content == std::optional<std::string>("old\n"));
  REQUIRE(old.age.has_value());
  CHECK(*old.age >= 90s);
  CHECK(*old.age < 100s);

  std::optional<std::chrono::milliseconds> seen;
  (void)value_of(store->update("lock", [&](const Current& current) -> core::Result<Change> {
    seen = current.age;
    return Change{Change::Kind::write, "new\n"};
  }));
  REQUIRE(seen.has_value());
  CHECK(*seen >= 90s);
  const auto renewed = value_of(store->read_current("lock"));
  REQUIRE(renewed.age.has_value());
  CHECK(*renewed.age < 10s); // replaced: its age starts again

  // The host's clock set back (a modification time ahead of it) gives 0.
  fs::last_write_time(lock, fs::file_time_type::clock::now() + 1h);
  CHECK(value_of(store->read_current("lock")).age == std::optional<std::chrono::milliseconds>(0ms));
  fs::remove(lock);
  CHECK_FALSE(value_of(store->read_current("lock")).age.has_value());
}

TEST_CASE("ssh driver: plan commands run on the host with their argv, environment, folder and status") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());

  const std::vector<std::string> words = {
      "plain", "", "it's", "$(touch pwned)", "a;b|c&d", "line\nbreak", "caf\xc3\xa9", "back\\slash", "*"};
  auto spec = command({"printf", "%s\\0"});
  spec.argv.insert(spec.argv.end(), words.begin(), words.end());
  spec.cwd = root.string();
  const auto echoed = driver->run_command(spec);
  REQUIRE(echoed.ok());
  std::string expected;
  for (const auto& word : words)
    expected += word + std::string(1, '\0');
  CHECK(echoed.output == expected);
  CHECK_FALSE(fs::exists(root / "pwned"));

  const std::string value = "it's \"$(x)\" `y` \\ \n caf\xc3\xa9 %s";
  spec = command({"sh", "-c", "printf '%s|%s' \"$SHIPGATE_VALUE\" \"$SHIPGATE_ROOT\""});
  spec.env_add = {{"SHIPGATE_VALUE", value}, {"SHIPGATE_ROOT", root.string()}};
  const auto with_env = driver->run_command(spec);
  REQUIRE(with_env.ok());
  CHECK(with_env.output == value + "|" + root.string());

  // Environment values never appear on a command line on the host: not on
  // those of the command and the processes that started it (sshd's
  // session, the login shell, the remote script), nor anywhere else.
  spec = command({"sh", "-c",
                  "p=$$; while [ \"$p\" -gt 1 ]; do tr '\\000' ' ' <\"/proc/$p/cmdline\"; echo; "
                  "p=$(sed -n 's/^PPid:[[:space:]]*//p' \"/proc/$p/status\"); done; echo ---; "
                  "for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' <\"$f\"; echo; done"});
  spec.env_add = {{"SHIPGATE_TOKEN", "s3cr3t-t0ken-value"}};
  spec.max_output = std::size_t{16} * 1024 * 1024;
  const auto listing = driver->run_command(spec);
  REQUIRE(listing.ok());
  const std::string ancestors = listing.output.substr(0, listing.output.find("---\n"));
  CHECK(contains(ancestors, "/proc/$p/cmdline")); // the command's own command line
  CHECK(contains(ancestors, "sshd"));
  CHECK_FALSE(contains(listing.output, "s3cr3t-t0ken-value"));

  spec = command({"pwd"});
  spec.cwd = (root / ".shipgate" / "work" / "deep").string();
  const auto in_state = driver->run_command(spec);
  REQUIRE(in_state.ok());
  CHECK(in_state.output == spec.cwd + "\n");
  spec.cwd = (root / "missing").string();
  const auto no_folder = driver->run_command(spec);
  CHECK(no_folder.outcome == io::ProcessResult::Outcome::failed_to_start);
  CHECK(contains(no_folder.error, "cannot enter the working folder"));
  CHECK(contains(no_folder.error, "ssh:web01"));
  CHECK_FALSE(fs::exists(root / "missing"));

  spec = command({"sh", "-c", "cat; echo boom; echo err >&2; exit 7"});
  spec.input = "from stdin\n";
  const auto failing = driver->run_command(spec);
  CHECK(failing.outcome == io::ProcessResult::Outcome::exited);
  CHECK(failing.exit_code == 7);
  CHECK(contains(failing.output, "from stdin\nboom\n"));
  CHECK(contains(failing.output, "err\n"));
  spec.separate_streams = true;
  const auto separate = driver->run_command(spec);
  CHECK(separate.output == "from stdin\nboom\n");
  CHECK(separate.error_output == "err\n");

  // A remote status of 255 is the command's, not an unreachable host.
  const auto exit_255 = driver->run_command(command({"sh", "-c", "exit 255"}));
  CHECK(exit_255.outcome == io::ProcessResult::Outcome::exited);
  CHECK(exit_255.exit_code == 255);

  spec = command({"sleep", "30"});
  spec.timeout = 1s;
  const auto start = Clock::now();
  const auto slow = driver->run_command(spec);
  CHECK(slow.outcome == io::ProcessResult::Outcome::timed_out);
  CHECK(contains(slow.error, "ssh:web01"));
  CHECK(Clock::now() - start < 10s);
}

TEST_CASE("ssh driver: configuration snapshots, file facts and small files on the host") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());
  write_file(root / "config" / "app.conf", "db=old\n");
  const fs::path absolute = server.dir().path() / "etc" / "site.conf";
  write_file(absolute, "site\n");

  const auto manifest =
      value_of(driver->snapshot_config(k_release, {"config/app.conf", absolute.string(), "gone.conf"}));
  const auto facts = value_of(driver->file_facts("config/app.conf"));
  REQUIRE(facts.has_value());
  CHECK(facts->size == 7);
  CHECK(manifest["config/app.conf"] == facts->sha256);
  CHECK(manifest["gone.conf"].is_null());
  CHECK(manifest[absolute.string()].is_string());
  const fs::path snapshot = root / ".shipgate" / "backups" / k_release / "config";
  CHECK(nlohmann::json::parse(read_file(snapshot / "manifest.json")) == manifest);
  CHECK(read_file(snapshot / "config%app.conf") == "db=old\n");

  write_file(root / "config" / "app.conf", "db=new\n");
  const auto restored = value_of(driver->restore_config(k_release));
  REQUIRE(restored.size() == 1);
  CHECK(contains(restored[0], (root / "config" / "app.conf").string() + ": restored (sha256 "));
  CHECK(read_file(root / "config" / "app.conf") == "db=old\n");
  CHECK(value_of(driver->restore_config(k_release)).empty());
  CHECK(value_of(driver->restore_config(k_release_2)).empty()); // no snapshot: nothing to do

  CHECK_FALSE(value_of(driver->file_facts("nothing/here")).has_value());
  check_ok(driver->write_file("nginx/upstream.conf", "upstream app { server 127.0.0.1:8081; }\n"));
  CHECK(read_file(root / "nginx" / "upstream.conf") == "upstream app { server 127.0.0.1:8081; }\n");
  CHECK(value_of(driver->read_file("nginx/upstream.conf")) ==
        std::optional<std::string>("upstream app { server 127.0.0.1:8081; }\n"));
  CHECK_FALSE(value_of(driver->read_file("nginx/none.conf")).has_value());
}

TEST_CASE("ssh driver: a host whose key does not match known_hosts is refused, naming both") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path other_key = server.dir().path() / "other_host_key";
  SshServer::keygen(other_key, "not-the-host");
  write_file(server.known_hosts(),
             "[127.0.0.1]:" + std::to_string(server.port()) + " " + read_file(other_key.string() + ".pub"));
  auto driver = server.driver(server.root());
  const auto refused = driver->ensure();
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.error().message, "web01"));
  CHECK(contains(refused.error().message, "127.0.0.1"));
  CHECK(contains(refused.error().message, server.known_hosts().string()));
  CHECK(contains(refused.error().message, "does not match"));
  CHECK_FALSE(fs::exists(server.root()));

  write_file(server.known_hosts(), "");
  auto unknown = server.driver(server.root(), "web02");
  const auto not_known = unknown->status();
  REQUIRE_FALSE(not_known.ok());
  CHECK(contains(not_known.error().message, "web02"));
  CHECK(contains(not_known.error().message, "not in " + server.known_hosts().string()));
  CHECK(read_file(server.known_hosts()).empty()); // never added
}

TEST_CASE("ssh driver: an unreachable host fails within the connect timeout") {
  REQUIRE_SSHD();
  SshServer server;
  auto options = server.options(server.root(), "db01");
  options.host.port = free_port(); // nothing listens there
  options.connect_timeout = 2s;
  auto driver = deploy::make_ssh_driver(options);
  const auto start = Clock::now();
  const auto failed = driver->ensure();
  CHECK(Clock::now() - start < 2s + 1s);
  REQUIRE_FALSE(failed.ok());
  CHECK(contains(failed.error().message, "db01"));
  CHECK(contains(failed.error().message, "127.0.0.1:" + std::to_string(options.host.port)));
  CHECK(contains(failed.error().message, "ssh -vvv"));
  const auto command_result = driver->run_command(command({"true"}));
  CHECK(command_result.outcome == io::ProcessResult::Outcome::failed_to_start);
  CHECK(contains(command_result.error, "db01"));
}

TEST_CASE("ssh driver: a staged tree changed after its manifest was made is refused by the host") {
  REQUIRE_SSHD();
  SshServer server;
  const fs::path root = server.root();
  auto driver = server.driver(root);
  check_ok(driver->ensure());
  const auto artifact = open_artifact(make_artifact(server.dir(), "1.0.0"));
  auto staged = value_of(deploy::ssh::stage_release(artifact, deploy::UnpackLimits{}));
  CHECK(contains(staged->sums, "  ./public/index.html\n"));
  CHECK(contains(staged->listing, "f ./bin/start\n"));
  write_file(staged->tree / "public" / "index.html", "tampered after verification\n");

  const auto refused = driver->prepare(request_for(k_release, artifact));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::blocked);
  CHECK(contains(refused.error().message, "web01"));
  CHECK(contains(refused.error().message, "not the verified ones"));
  CHECK(contains(refused.error().message, "public/index.html"));
  CHECK_FALSE(fs::exists(root / "releases" / k_release));
  CHECK_FALSE(fs::exists(root / "releases" / (".partial-" + k_release)));
}

TEST_CASE("ssh driver: one connection per host serves every operation and is closed at the end") {
  REQUIRE_SSHD();
  SshServer server;
  auto first = server.driver(server.root("a"));
  auto second = server.driver(server.root("b"));
  check_ok(first->ensure());
  auto dir = deploy::ssh::private_dir();
  REQUIRE(dir.ok());
  int sockets = 0;
  for (const auto& entry : fs::directory_iterator(*dir))
    sockets += fs::is_socket(entry.status()) ? 1 : 0;
  CHECK(sockets == 1);

  // Several threads, one host: all served by the same master.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto& driver = i % 2 ? first : second;
      if (!driver->ensure().ok() || !driver->status().ok()) ++failures;
    });
  for (auto& thread : threads)
    thread.join();
  CHECK(failures.load() == 0);
  sockets = 0;
  for (const auto& entry : fs::directory_iterator(*dir))
    sockets += fs::is_socket(entry.status()) ? 1 : 0;
  CHECK(sockets == 1);

  const auto start = Clock::now();
  const auto warm_status = first->status();
  const auto warm = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  CHECK(warm_status.ok());
  CHECK(warm < 5s);

  // One driver's close() lets another driver's operation on the host finish.
  io::ProcessResult busy_result;
  const fs::path started = server.dir().path() / "busy-started";
  std::thread busy([&] {
    busy_result = second->run_command(command({"sh", "-c", "touch \"$0\"; sleep 1; echo done", started.string()}));
  });
  const auto deadline = Clock::now() + 20s;
  while (!fs::exists(started) && Clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  first->close();
  busy.join();
  CHECK(busy_result.ok());
  CHECK(busy_result.output == "done\n");
  check_ok(first->ensure()); // a new connection

  deploy::close_ssh_connections();
  CHECK_FALSE(fs::exists(*dir));
  check_ok(first->ensure()); // a later operation connects again
}

TEST_CASE("ssh driver: a host that does not answer holds up no other host") {
  REQUIRE_SSHD();
  SshServer server;
  // A port that takes connections and never says a word.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(silent, 8) == 0);
  REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length) == 0);

  auto options = server.options(server.root("stuck"), "stuck01");
  options.host.port = ntohs(address.sin_port);
  options.connect_timeout = 3s;
  auto stuck = deploy::make_ssh_driver(options);
  auto healthy = server.driver(server.root());

  const auto start = Clock::now();
  core::Status stuck_result = core::ok_status();
  Clock::time_point stuck_done;
  std::thread waiting([&] {
    stuck_result = stuck->ensure();
    stuck_done = Clock::now();
  });
  std::this_thread::sleep_for(200ms);
  const auto healthy_ensured = healthy->ensure();
  const auto healthy_status = healthy->status();
  const auto healthy_done = Clock::now();
  waiting.join();
  ::close(silent);

  CHECK(healthy_ensured.ok());
  CHECK(healthy_status.ok());
  CHECK(healthy_done < stuck_done); // served while the other host was still being waited for
  REQUIRE_FALSE(stuck_result.ok());
  CHECK(contains(stuck_result.error().message, "stuck01"));
  CHECK(stuck_done - start >= 2500ms);
  CHECK(stuck_done - start < 15s);
}
