#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "core/interrupt.hpp"
#include "deploy/lease.hpp"
#include "../support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using deploy::Heartbeat;
using deploy::Lease;
using deploy::LeaseClock;
using deploy::LeaseOwner;

namespace {

LeaseOwner owner(const std::string& user) {
  LeaseOwner value;
  value.run_id = "run-" + user;
  value.provider = "gitlab";
  value.job_url = "https://gitlab.example/acme/app/-/jobs/" + std::to_string(user.size());
  value.user = user;
  return value; // host and pid are filled in by Lease
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count());
}

// Runs `body` in a forked child and returns its exit status (-1 when it
// did not exit normally). The child never returns into doctest.
template <typename Body> int in_child(Body body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

} // namespace

TEST_CASE("lease: a second holder is blocked by a message naming the first") {
  test_support::TempDir dir;
  Lease first(dir.path(), owner("alice"), 60s);
  Lease second(dir.path(), owner("bob"), 60s);
  REQUIRE(first.acquire(0ms).ok());
  CHECK(first.held());
  CHECK(first.token().size() == 32);

  auto blocked = second.acquire(0ms);
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().kind == core::ErrorKind::blocked);
  const std::string& message = blocked.error().message;
  CHECK(contains(message, "alice (gitlab job https://gitlab.example/acme/app/-/jobs/5, pid " +
                              std::to_string(::getpid())));
  CHECK(contains(message, "acquired at "));
  CHECK(contains(message, "last renewed "));
  CHECK(contains(message, " ago by the target's clock, expires in "));
  CHECK(contains(message, "--wait-lock DUR"));
  CHECK(contains(message, "shipgate lock release --force --reason TEXT"));
  CHECK_FALSE(second.held());

  auto on_disk = Lease::read(dir.path());
  REQUIRE(on_disk.ok());
  REQUIRE(on_disk->has_value());
  CHECK((*on_disk)->token == first.token());
  CHECK((*on_disk)->owner.user == "alice");
  CHECK((*on_disk)->expires_at - (*on_disk)->acquired_at == 60s);

  REQUIRE(first.release().ok());
  CHECK_FALSE(first.held());
  REQUIRE(second.acquire(0ms).ok());
  CHECK(second.token() != first.token());
}

TEST_CASE("lease: the lock file is JSON with millisecond RFC 3339 times") {
  test_support::TempDir dir;
  Lease lease(dir.path(), owner("alice"), 1500ms);
  REQUIRE(lease.acquire(0ms).ok());
  std::ifstream in(dir.path() / "lock");
  const auto json = nlohmann::json::parse(in);
  CHECK(json["token"] == lease.token());
  CHECK(json["owner"]["pid"] == ::getpid());
  const std::string expires = json["expires_at"];
  CHECK(expires.size() == std::string("2026-11-21T21:50:00.250Z").size());
  CHECK(expires.back() == 'Z');
  CHECK(json["ttl_ms"] == 1500);
  const auto info = deploy::LeaseInfo::from_json(json);
  CHECK(info.expires_at - info.acquired_at == 1500ms);
  CHECK(info.ttl == 1500ms);
}

TEST_CASE("lease: waiting for the lock") {
  test_support::TempDir dir;
  Lease first(dir.path(), owner("alice"), 60s);
  Lease second(dir.path(), owner("bob"), 60s);
  REQUIRE(first.acquire(0ms).ok());

  SUBCASE("gives up after the wait, saying how long it waited") {
    const auto start = std::chrono::steady_clock::now();
    auto blocked = second.acquire(700ms);
    REQUIRE_FALSE(blocked.ok());
    CHECK(elapsed_ms(start) >= 700);
    CHECK(elapsed_ms(start) < 5000);
    CHECK(contains(blocked.error().message, "waited"));
  }
  SUBCASE("takes the lock once the holder lets go") {
    std::thread releaser([&] {
      std::this_thread::sleep_for(300ms);
      (void)first.release();
    });
    const auto start = std::chrono::steady_clock::now();
    auto taken = second.acquire(10s);
    releaser.join();
    REQUIRE(taken.ok());
    CHECK(elapsed_ms(start) < 5000);
  }
}

// ---------------------------------------------------------------- clock skew
// Runners' clocks may be off by any amount; only the target's clock, which
// stamps the lock file's modification time, decides whether a lease expired.

namespace {

// The lock file as last renewed `ago` by the target's (this machine's) clock.
void renewed_ago(const fs::path& dir, std::chrono::milliseconds ago) {
  fs::last_write_time(dir / "lock", fs::file_time_type::clock::now() - ago);
}

LeaseClock skewed(std::chrono::milliseconds skew) {
  return [skew] { return std::chrono::system_clock::now() + skew; };
}

} // namespace

TEST_CASE("lease: a reader whose clock is an hour off does not take a live lease") {
  test_support::TempDir dir;
  Lease holder(dir.path(), owner("alice"), 1min);
  REQUIRE(holder.acquire(0ms).ok());
  for (const auto skew : {1h, -1h}) {
    CAPTURE(skew.count());
    Lease reader(dir.path(), owner("bob"), 1min, skewed(skew));
    auto blocked = reader.acquire(0ms);
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error().kind == core::ErrorKind::blocked);
    CHECK(contains(blocked.error().message, "held by alice"));
    CHECK(contains(blocked.error().message, " ago by the target's clock, expires in "));
  }
  // Still live after 59 s without a renewal, by the target's clock.
  renewed_ago(dir.path(), 59s);
  for (const auto skew : {1h, -1h, 0h}) {
    CAPTURE(skew.count());
    Lease reader(dir.path(), owner("bob"), 1min, skewed(skew));
    CHECK_FALSE(reader.acquire(0ms).ok());
  }
  CHECK(holder.renew().ok());
}

TEST_CASE("lease: a holder whose clock is an hour off keeps its lease") {
  test_support::TempDir dir;
  for (const auto skew : {1h, -1h}) {
    CAPTURE(skew.count());
    // Behind: its expires_at is already past by the others' clocks; ahead:
    // it is an hour away. Neither matters.
    Lease holder(dir.path(), owner("alice"), 1min, skewed(skew));
    Lease punctual(dir.path(), owner("bob"), 1min);
    REQUIRE(holder.acquire(0ms).ok());
    CHECK_FALSE(punctual.acquire(0ms).ok());
    CHECK(holder.renew().ok());
    renewed_ago(dir.path(), 61s);
    CHECK(punctual.acquire(0ms).ok()); // and not renewed for its TTL: gone
    CHECK_FALSE(holder.renew().ok());
    REQUIRE(punctual.release().ok());
  }
}

TEST_CASE("lease: a lease not renewed for its TTL by the target's clock is taken, whatever the reader's clock") {
  test_support::TempDir dir;
  for (const auto skew : {1h, -1h, 0h}) {
    CAPTURE(skew.count());
    Lease holder(dir.path(), owner("alice"), 1min);
    REQUIRE(holder.acquire(0ms).ok());
    renewed_ago(dir.path(), 61s);
    auto stale = Lease::read(dir.path());
    REQUIRE(stale.ok());
    REQUIRE(stale->has_value());
    CHECK((*stale)->expired(std::chrono::system_clock::now() - 1h));
    CHECK(contains((*stale)->describe_expiry(), "expired "));
    Lease reader(dir.path(), owner("bob"), 1min, skewed(skew));
    REQUIRE(reader.acquire(0ms).ok());
    auto renewed = holder.renew();
    REQUIRE_FALSE(renewed.ok());
    CHECK(contains(renewed.error().message, "bob"));
    REQUIRE(reader.release().ok());
  }
}

TEST_CASE("lease: the holder's TTL judges, not the reader's") {
  test_support::TempDir dir;
  SUBCASE("a short promise expires for a reader with a long TTL") {
    Lease holder(dir.path(), owner("alice"), 10s);
    REQUIRE(holder.acquire(0ms).ok());
    renewed_ago(dir.path(), 11s);
    Lease reader(dir.path(), owner("bob"), 1h);
    CHECK(reader.acquire(0ms).ok());
  }
  SUBCASE("a long promise holds against a reader with a short TTL") {
    Lease holder(dir.path(), owner("alice"), 1h);
    REQUIRE(holder.acquire(0ms).ok());
    renewed_ago(dir.path(), 11s);
    Lease reader(dir.path(), owner("bob"), 10s);
    CHECK_FALSE(reader.acquire(0ms).ok());
  }
}

TEST_CASE("lease: a lease of an older version (no ttl_ms) is judged by expires_at - renewed_at") {
  test_support::TempDir dir;
  // Written by a holder whose clock was an hour behind, with a 1 min TTL:
  // by the reader's clock it expired long ago.
  const auto then = std::chrono::system_clock::now() - 1h;
  const nlohmann::json old = {
      {"schema", 1},
      {"owner", {{"user", "dave"}, {"host", "runner-7.example.com"}, {"pid", 1}}},
      {"token", "0123456789abcdef0123456789abcdef"},
      {"acquired_at", core::format_rfc3339_millis(then - 5min)},
      {"renewed_at", core::format_rfc3339_millis(then)},
      {"expires_at", core::format_rfc3339_millis(then + 1min)}};
  dir.write("lock", old.dump() + "\n");
  auto read = Lease::read(dir.path());
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->ttl == 0ms);
  CHECK((*read)->promised_ttl() == std::optional<std::chrono::milliseconds>(1min));

  Lease reader(dir.path(), owner("bob"), 1h);
  auto blocked = reader.acquire(0ms);
  REQUIRE_FALSE(blocked.ok());
  CHECK(contains(blocked.error().message, "dave"));
  renewed_ago(dir.path(), 59s);
  CHECK_FALSE(reader.acquire(0ms).ok());
  renewed_ago(dir.path(), 61s);
  CHECK(reader.acquire(0ms).ok());
}

TEST_CASE("lease: a lease held by a killed process on this host is stale at once") {
  test_support::TempDir dir;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    Lease lease(dir.path(), owner("ghost"), 1h);
    const char outcome = lease.acquire(0ms).ok() ? '1' : '0';
    (void)!::write(ready[1], &outcome, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char outcome = 0;
  REQUIRE(::read(ready[0], &outcome, 1) == 1);
  ::close(ready[0]);
  REQUIRE(outcome == '1');

  Lease mine(dir.path(), owner("alice"), 1h);
  auto blocked = mine.acquire(0ms);
  CHECK_FALSE(blocked.ok());
  CHECK(contains(blocked.error().message, "pid " + std::to_string(child)));

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  auto taken = mine.acquire(0ms);
  CHECK(taken.ok());
  auto on_disk = Lease::read(dir.path());
  REQUIRE(on_disk.ok());
  REQUIRE(on_disk->has_value());
  CHECK((*on_disk)->owner.user == "alice");
}

TEST_CASE("lease: a dead pid on another host proves nothing") {
  test_support::TempDir dir;
  const pid_t gone = ::fork();
  REQUIRE(gone >= 0);
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);

  LeaseOwner elsewhere = owner("remote");
  elsewhere.host = "some-other-host.invalid";
  elsewhere.pid = gone;
  Lease remote(dir.path(), elsewhere, 1h);
  REQUIRE(remote.acquire(0ms).ok());
  Lease mine(dir.path(), owner("alice"), 1h);
  auto blocked = mine.acquire(0ms);
  REQUIRE_FALSE(blocked.ok());
  CHECK(contains(blocked.error().message, "on some-other-host.invalid"));
}

TEST_CASE("lease: renew fails once the lease was taken over, and release leaves the new holder alone") {
  test_support::TempDir dir;
  Lease old_holder(dir.path(), owner("alice"), 100ms);
  REQUIRE(old_holder.acquire(0ms).ok());
  std::this_thread::sleep_for(250ms);
  Lease new_holder(dir.path(), owner("bob"), 1h);
  REQUIRE(new_holder.acquire(0ms).ok());

  auto renewed = old_holder.renew();
  REQUIRE_FALSE(renewed.ok());
  CHECK(renewed.error().kind == core::ErrorKind::blocked);
  CHECK(contains(renewed.error().message, "bob"));
  CHECK(old_holder.release().ok());
  auto on_disk = Lease::read(dir.path());
  REQUIRE(on_disk.ok());
  REQUIRE(on_disk->has_value());
  CHECK((*on_disk)->token == new_holder.token());
}

TEST_CASE("lease: renew extends the expiry") {
  test_support::TempDir dir;
  core::SystemTime now = std::chrono::system_clock::now();
  Lease lease(dir.path(), owner("alice"), 1min, [&now] { return now; });
  REQUIRE(lease.acquire(0ms).ok());
  now += 45s;
  REQUIRE(lease.renew().ok());
  auto on_disk = Lease::read(dir.path());
  REQUIRE(on_disk.ok());
  CHECK((*on_disk)->renewed_at - (*on_disk)->acquired_at == 45s);
  CHECK((*on_disk)->expires_at - (*on_disk)->acquired_at == 105s);
}

TEST_CASE("lease: a heartbeat keeps a short lease alive well beyond its TTL") {
  test_support::TempDir dir;
  constexpr auto ttl = 600ms;
  Lease holder(dir.path(), owner("alice"), ttl);
  Lease other(dir.path(), owner("bob"), 1h);
  REQUIRE(holder.acquire(0ms).ok());
  {
    Heartbeat heartbeat(holder, ttl);
    std::this_thread::sleep_for(2s);
    CHECK_FALSE(other.acquire(0ms).ok());
    CHECK_FALSE(heartbeat.lost());
    const auto start = std::chrono::steady_clock::now();
    heartbeat.stop();
    CHECK(elapsed_ms(start) < 300);
  }
  // Without the heartbeat the lease runs out.
  CHECK(wait_until([&] { return other.acquire(0ms).ok(); }, 3s));
}

TEST_CASE("lease: a heartbeat notices that the lease was taken") {
  test_support::TempDir dir;
  Lease holder(dir.path(), owner("alice"), 600ms);
  REQUIRE(holder.acquire(0ms).ok());
  Heartbeat heartbeat(holder, 600ms);
  auto removed = Lease::force_release(dir.path());
  REQUIRE(removed.ok());
  Lease other(dir.path(), owner("bob"), 1h);
  REQUIRE(other.acquire(0ms).ok());
  CHECK(wait_until([&] { return heartbeat.lost(); }, 3s));
  CHECK(heartbeat.lost_reason().find("taken over") != std::string::npos);
}

namespace {

// A local store whose updates can be made to fail or to hang, as a target
// that stops answering does.
class FlakyStore final : public deploy::StateStore {
public:
  explicit FlakyStore(const fs::path& dir) : m_inner(deploy::make_local_state_store(dir)) {}
  std::string describe() const override { return m_inner->describe(); }
  core::Status ensure() override { return m_inner->ensure(); }
  core::Result<bool> exists() override { return m_inner->exists(); }
  core::Status append(const std::string& name, const std::string& line) override { return m_inner->append(name, line); }
  core::Result<std::optional<std::string>> read(const std::string& name) override { return m_inner->read(name); }
  core::Result<Current> read_current(const std::string& name) override { return m_inner->read_current(name); }
  core::Status remove(const std::string& name) override { return m_inner->remove(name); }
  core::Result<std::optional<std::string>> update(const std::string& name, const Decide& decide) override {
    ++updates;
    while (hanging.load())
      std::this_thread::sleep_for(5ms);
    if (failures.load() > 0) {
      --failures;
      return core::make_error(core::ErrorKind::runtime, "the target does not answer");
    }
    return m_inner->update(name, decide);
  }

  std::atomic<int> updates{0};
  std::atomic<int> failures{0};
  std::atomic<bool> hanging{false};

private:
  std::shared_ptr<deploy::StateStore> m_inner;
};

} // namespace

TEST_CASE("lease: a heartbeat retries a failed renewal") {
  test_support::TempDir dir;
  auto store = std::make_shared<FlakyStore>(dir.path());
  constexpr auto ttl = 3s;
  Lease holder(store, owner("alice"), ttl);
  REQUIRE(holder.acquire(0ms).ok());
  const int after_acquire = store->updates.load();
  store->failures = 1;
  Heartbeat heartbeat(holder, ttl);
  // The first renewal (after 1 s) fails, the next one (after 2 s) succeeds.
  REQUIRE(wait_until([&] { return store->updates.load() >= after_acquire + 2; }, 10s));
  CHECK(store->failures.load() == 0);
  CHECK_FALSE(heartbeat.lost());
  CHECK(std::chrono::steady_clock::now() - holder.confirmed_at() < ttl);
}

TEST_CASE("lease: a heartbeat that cannot renew for a whole TTL reports the lease lost") {
  test_support::TempDir dir;
  auto store = std::make_shared<FlakyStore>(dir.path());
  constexpr auto ttl = 600ms;
  Lease holder(store, owner("alice"), ttl);
  REQUIRE(holder.acquire(0ms).ok());
  const auto confirmed = holder.confirmed_at();
  SUBCASE("renewals fail") { store->failures = 1000; }
  SUBCASE("a renewal hangs") { store->hanging = true; }
  Heartbeat heartbeat(holder, ttl);
  // Lost exactly once the TTL has passed on this machine's steady clock:
  // by then the target's clock may let another run take the lease.
  std::chrono::steady_clock::duration lost_after{};
  REQUIRE(wait_until(
      [&] {
        if (!heartbeat.lost()) return false;
        lost_after = std::chrono::steady_clock::now() - confirmed;
        return true;
      },
      10s));
  CHECK(lost_after >= ttl);
  store->hanging = false;
  store->failures = 0;
  std::this_thread::sleep_for(300ms);
  CHECK(heartbeat.lost()); // for good, even if the target answers again
  // Not "taken over": nobody took it, it ran out.
  CHECK(heartbeat.lost_reason().find("could not be renewed") != std::string::npos);
  CHECK(heartbeat.lost_reason().find("taken over") == std::string::npos);
}

TEST_CASE("lease: times at the ends of the clock promise nothing and overflow nothing") {
  // Found by the lease fuzz target: an expires_at before 1677 saturates at
  // the clock's start, and expires_at - renewed_at overflowed (UBSan).
  deploy::LeaseInfo info;
  info.acquired_at = info.renewed_at = std::chrono::system_clock::now();
  for (const char* far : {"1013-01-01T00:05:10.000Z", "0001-01-01T00:00:00.000Z"}) {
    CAPTURE(far);
    info.expires_at = *core::parse_time_millis(far);
    CHECK(info.promised_ttl() == std::optional<std::chrono::milliseconds>(0ms));
  }
  info.expires_at = *core::parse_time_millis("9999-12-31T23:59:59.999Z");
  REQUIRE(info.promised_ttl().has_value());
  CHECK(*info.promised_ttl() > 24h * 365 * 200);
  info.renewed_at = info.acquired_at = *core::parse_time_millis("1013-01-01T00:00:00.000Z");
  REQUIRE(info.promised_ttl().has_value());
  CHECK(*info.promised_ttl() > 0ms);
}

TEST_CASE("lease: a heartbeat with a long TTL stops promptly") {
  test_support::TempDir dir;
  Lease holder(dir.path(), owner("alice"), 1h);
  REQUIRE(holder.acquire(0ms).ok());
  const auto start = std::chrono::steady_clock::now();
  {
    Heartbeat heartbeat(holder, 1h);
    std::this_thread::sleep_for(50ms);
  }
  CHECK(elapsed_ms(start) < 500);
}

TEST_CASE("lease: force_release removes the lease and returns its holder") {
  test_support::TempDir dir;
  Lease holder(dir.path(), owner("alice"), 1h);
  REQUIRE(holder.acquire(0ms).ok());
  auto removed = Lease::force_release(dir.path());
  REQUIRE(removed.ok());
  REQUIRE(removed->has_value());
  CHECK((*removed)->owner.user == "alice");
  CHECK((*removed)->owner.job_url == "https://gitlab.example/acme/app/-/jobs/5");
  CHECK((*removed)->token == holder.token());
  auto after = Lease::read(dir.path());
  REQUIRE(after.ok());
  CHECK_FALSE(after->has_value());
  CHECK_FALSE(holder.renew().ok());

  auto nothing = Lease::force_release(dir.path());
  REQUIRE(nothing.ok());
  CHECK_FALSE(nothing->has_value());
}

TEST_CASE("lease: a corrupt lock file blocks with a fix, and force_release clears it") {
  test_support::TempDir dir;
  const std::string file = dir.write("lock", "{\"owner\": {\"user\": \"alice\"");
  Lease lease(dir.path(), owner("bob"), 1h);
  auto refused = lease.acquire(0ms);
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.error().message, file));
  CHECK(contains(refused.error().message, "shipgate lock release --force"));
  CHECK_FALSE(Lease::read(dir.path()).ok());

  auto removed = Lease::force_release(dir.path());
  REQUIRE(removed.ok());
  REQUIRE(removed->has_value());
  CHECK((*removed)->token.empty());
  CHECK_FALSE(fs::exists(file));
  CHECK(lease.acquire(0ms).ok());
}

TEST_CASE("lease: waiting stops when the run is interrupted") {
  test_support::TempDir dir;
  Lease holder(dir.path(), owner("alice"), 1h);
  REQUIRE(holder.acquire(0ms).ok());
  // The interrupt flag cannot be cleared, so it is raised in a child only.
  const int status = in_child([&] {
    Lease waiter(dir.path(), owner("bob"), 1h);
    std::thread interrupter([] {
      std::this_thread::sleep_for(200ms);
      core::request_interrupt();
    });
    const auto start = std::chrono::steady_clock::now();
    auto result = waiter.acquire(30s);
    interrupter.join();
    if (result.ok()) return 1;
    if (result.error().kind != core::ErrorKind::interrupted) return 2;
    return elapsed_ms(start) < 5000 ? 0 : 3;
  });
  CHECK(status == 0);
}

TEST_CASE("lease: ten processes racing for the lock never overlap") {
  test_support::TempDir dir;
  constexpr int k_processes = 10;
  constexpr int k_rounds = 15;
  const fs::path counter = dir.path() / "counter";
  const fs::path inside = dir.path() / "inside";
  std::ofstream(counter) << 0;

  // Exit codes: 0 fine, 1 two holders at once, 2 lock error, 3 too slow.
  auto worker = [&] {
    Lease lease(dir.path(), owner("worker"), 30s);
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    for (int done = 0; done < k_rounds;) {
      if (std::chrono::steady_clock::now() > give_up) return 3;
      auto taken = lease.acquire(0ms);
      if (!taken.ok()) {
        if (taken.error().kind != core::ErrorKind::blocked) return 2;
        ::usleep(static_cast<useconds_t>(500 + ::getpid() % 7 * 300));
        continue;
      }
      const int marker = ::open(inside.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
      if (marker < 0) return 1;
      ::close(marker);
      int value = 0;
      std::ifstream(counter) >> value;
      std::ofstream(counter, std::ios::trunc) << value + 1;
      ::unlink(inside.c_str());
      if (!lease.release().ok()) return 2;
      ++done;
    }
    return 0;
  };

  std::vector<pid_t> children;
  for (int i = 0; i < k_processes; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 99;
      try {
        code = worker();
      } catch (...) {
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  std::string codes; // one digit per process; '9' when one did not exit normally
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes += WIFEXITED(status) ? static_cast<char>('0' + WEXITSTATUS(status) % 10) : '9';
  }
  CHECK(codes == std::string(k_processes, '0'));
  int value = -1;
  std::ifstream(counter) >> value;
  CHECK(value == k_processes * k_rounds);
  auto left = Lease::read(dir.path());
  REQUIRE(left.ok());
  CHECK_FALSE(left->has_value());
}
