#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "../support/temp_dir.hpp"
#include "deploy/driver.hpp"
#include "deploy/journal.hpp"
#include "deploy/layout.hpp"
#include "deploy/lease.hpp"
#include "deploy/ledger.hpp"
#include "deploy/state_store.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using deploy::StateStore;
using Change = deploy::StateStore::Change;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// One increment of the number in `name`: read, add one, write back.
core::Status increment(StateStore& store, const std::string& name) {
  auto seen = store.update(name, [](const StateStore::Current& current) -> core::Result<Change> {
    const auto& text = current.content;
    int value = 0;
    if (text && std::from_chars(text->data(), text->data() + text->size(), value).ec != std::errc())
      return core::make_error(core::ErrorKind::runtime, "counter is \"" + *text + "\"");
    return Change{Change::Kind::write, std::to_string(value + 1)};
  });
  if (!seen) return seen.error();
  return core::ok_status();
}

int counter_value(StateStore& store, const std::string& name) {
  auto text = store.read(name);
  REQUIRE(text.ok());
  REQUIRE(text->has_value());
  int value = -1;
  std::from_chars((*text)->data(), (*text)->data() + (*text)->size(), value);
  return value;
}

// Runs `body` in a forked child; its exit status (-1 when it did not exit normally).
template <typename Body> pid_t start_child(Body body) {
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
  return pid;
}

int exit_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Whether somebody holds flock(2) on `file` right now.
bool flock_held(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

} // namespace

TEST_CASE("state store: append, read and remove") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path());
  CHECK(store->describe() == dir.path().string());
  CHECK(store->where("ledger.jsonl") == dir.file("ledger.jsonl"));

  auto missing = store->read("ledger.jsonl");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  REQUIRE(store->append("ledger.jsonl", "{\"a\":1}\n").ok());
  REQUIRE(store->append("ledger.jsonl", "{\"a\":2}\n").ok());
  auto text = store->read("ledger.jsonl");
  REQUIRE(text.ok());
  REQUIRE(text->has_value());
  CHECK(**text == "{\"a\":1}\n{\"a\":2}\n");
  CHECK(mode_of(dir.path() / "ledger.jsonl") == 0600);

  REQUIRE(store->remove("ledger.jsonl").ok());
  CHECK_FALSE(fs::exists(dir.path() / "ledger.jsonl"));
  CHECK(store->remove("ledger.jsonl").ok()); // absent is fine
  auto gone = store->read("ledger.jsonl");
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
}

TEST_CASE("state store: a trailing slash does not change the names in messages") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path().string() + "/");
  CHECK(store->where("lock") == dir.file("lock"));
}

TEST_CASE("state store: a torn last line is terminated before the next append") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path());
  dir.write("journal.jsonl", "{\"seq\":0}\n{\"seq\":1,\"act");
  REQUIRE(store->append("journal.jsonl", "{\"seq\":2}\n").ok());
  CHECK(read_text(dir.path() / "journal.jsonl") == "{\"seq\":0}\n{\"seq\":1,\"act\n{\"seq\":2}\n");
}

TEST_CASE("state store: appending into a missing folder fails naming the file") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path() / "missing");
  auto appended = store->append("ledger.jsonl", "{}\n");
  REQUIRE_FALSE(appended.ok());
  CHECK(appended.error().message.find(store->where("ledger.jsonl")) != std::string::npos);
  CHECK(appended.error().message.find("check free space and permissions") != std::string::npos);
}

TEST_CASE("state store: ensure creates a private folder, exists tells") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path() / "app" / ".shipgate");
  auto before = store->exists();
  REQUIRE(before.ok());
  CHECK_FALSE(*before);
  REQUIRE(store->ensure().ok());
  auto after = store->exists();
  REQUIRE(after.ok());
  CHECK(*after);
  CHECK(mode_of(dir.path() / "app" / ".shipgate") == 0700);
  CHECK(store->ensure().ok()); // twice is fine

  dir.write("plain", "not a folder");
  auto refused = deploy::make_local_state_store(dir.path() / "plain")->ensure();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("is not a folder") != std::string::npos);
}

TEST_CASE("state store: update keeps, writes and removes as decided") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path());
  std::vector<std::optional<std::string>> seen;
  auto answer = [&](Change change) {
    return [&seen, change](const StateStore::Current& current) -> core::Result<Change> {
      seen.push_back(current.content);
      return change;
    };
  };

  auto kept = store->update("lock", answer(Change{}));
  REQUIRE(kept.ok());
  CHECK_FALSE(kept->has_value());
  CHECK_FALSE(fs::exists(dir.path() / "lock"));

  auto written = store->update("lock", answer(Change{Change::Kind::write, "first\n"}));
  REQUIRE(written.ok());
  CHECK_FALSE(written->has_value()); // what decide saw: nothing yet
  CHECK(read_text(dir.path() / "lock") == "first\n");
  CHECK(mode_of(dir.path() / "lock") == 0600);

  auto replaced = store->update("lock", answer(Change{Change::Kind::write, "second\n"}));
  REQUIRE(replaced.ok());
  CHECK(replaced->value_or("") == "first\n");
  CHECK(read_text(dir.path() / "lock") == "second\n");

  auto unchanged = store->update("lock", answer(Change{}));
  REQUIRE(unchanged.ok());
  CHECK(read_text(dir.path() / "lock") == "second\n");

  auto removed = store->update("lock", answer(Change{Change::Kind::remove, {}}));
  REQUIRE(removed.ok());
  CHECK(removed->value_or("") == "second\n");
  CHECK_FALSE(fs::exists(dir.path() / "lock"));

  REQUIRE(seen.size() == 5);
  CHECK(seen[2] == std::optional<std::string>("first\n"));
  // The guard stays for the next update (the name every shipgate version
  // uses for the lock); no temporary file is left behind.
  CHECK(names_in(dir.path()) == std::vector<std::string>{"lock.guard"});
  CHECK(mode_of(dir.path() / "lock.guard") == 0600);
}

TEST_CASE("state store: a file's age is its modification time against this machine's clock") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path());
  auto absent = store->read_current("lock");
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->content.has_value());
  CHECK_FALSE(absent->age.has_value());

  const std::string file = dir.write("lock", "old\n");
  fs::last_write_time(file, fs::file_time_type::clock::now() - 90s);
  auto old = store->read_current("lock");
  REQUIRE(old.ok());
  CHECK(old->content == std::optional<std::string>("old\n"));
  REQUIRE(old->age.has_value());
  CHECK(*old->age >= 90s);
  CHECK(*old->age < 100s);

  std::optional<std::chrono::milliseconds> seen;
  auto written = store->update("lock", [&](const StateStore::Current& current) -> core::Result<Change> {
    seen = current.age;
    return Change{Change::Kind::write, "new\n"};
  });
  REQUIRE(written.ok());
  REQUIRE(seen.has_value());
  CHECK(*seen >= 90s);
  auto renewed = store->read_current("lock");
  REQUIRE(renewed.ok());
  REQUIRE(renewed->age.has_value());
  CHECK(*renewed->age < 10s); // replaced: its age starts again

  // A modification time ahead of the clock (the clock was set back) is an age of 0.
  fs::last_write_time(file, fs::file_time_type::clock::now() + 1h);
  auto ahead = store->read_current("lock");
  REQUIRE(ahead.ok());
  CHECK(ahead->age == std::optional<std::chrono::milliseconds>(0ms));
}

TEST_CASE("state store: an error from decide is returned as is and changes nothing") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path());
  dir.write("lock", "kept\n");
  auto refused = store->update("lock", [](const StateStore::Current&) -> core::Result<Change> {
    return core::make_error(core::ErrorKind::blocked, "held by alice");
  });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == core::ErrorKind::blocked);
  CHECK(refused.error().message == "held by alice");
  CHECK(read_text(dir.path() / "lock") == "kept\n");
}

TEST_CASE("state store: updates from several threads never overlap") {
  test_support::TempDir dir;
  constexpr int k_rounds = 200;
  auto shared = deploy::make_local_state_store(dir.path());
  auto own = deploy::make_local_state_store(dir.path());
  std::atomic<int> failures{0};
  auto worker = [&](StateStore& store) {
    for (int i = 0; i < k_rounds; ++i)
      if (!increment(store, "counter")) ++failures;
  };
  // Two threads share one store (the heartbeat and the run), a third has its own.
  std::thread first(worker, std::ref(*shared));
  std::thread second(worker, std::ref(*shared));
  std::thread third(worker, std::ref(*own));
  first.join();
  second.join();
  third.join();
  CHECK(failures.load() == 0);
  CHECK(counter_value(*shared, "counter") == 3 * k_rounds);
}

TEST_CASE("state store: updates from two processes never overlap") {
  test_support::TempDir dir;
  constexpr int k_rounds = 200;
  auto worker = [&] {
    auto store = deploy::make_local_state_store(dir.path());
    for (int i = 0; i < k_rounds; ++i)
      if (!increment(*store, "counter")) return 2;
    return 0;
  };
  const pid_t first = start_child(worker);
  const pid_t second = start_child(worker);
  CHECK(exit_status(first) == 0);
  CHECK(exit_status(second) == 0);
  auto store = deploy::make_local_state_store(dir.path());
  CHECK(counter_value(*store, "counter") == 2 * k_rounds);
}

TEST_CASE("state store: the guard is released when its holder is killed mid-update") {
  test_support::TempDir dir;
  dir.write("lock", "before\n");
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = start_child([&] {
    ::close(ready[0]);
    auto store = deploy::make_local_state_store(dir.path());
    (void)store->update("lock", [&](const StateStore::Current&) -> core::Result<Change> {
      (void)!::write(ready[1], "1", 1);
      for (;;)
        ::pause(); // killed here, with the guard held
      return Change{Change::Kind::write, "never\n"};
    });
    return 0;
  });
  ::close(ready[1]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  ::close(ready[0]);
  CHECK(flock_held(dir.path() / "lock.guard"));

  ::kill(child, SIGKILL);
  CHECK(exit_status(child) == -1);
  CHECK_FALSE(flock_held(dir.path() / "lock.guard"));
  auto store = deploy::make_local_state_store(dir.path());
  auto seen = store->update("lock", [](const StateStore::Current&) -> core::Result<Change> {
    return Change{Change::Kind::write, "after\n"};
  });
  REQUIRE(seen.ok());
  CHECK(seen->value_or("") == "before\n");
  CHECK(read_text(dir.path() / "lock") == "after\n");
}

TEST_CASE("state store: a lease held through lock.guard by another process blocks the update") {
  // Older shipgate versions guard the lock with flock on lock.guard too.
  test_support::TempDir dir;
  const fs::path guard = dir.path() / "lock.guard";
  const int fd = ::open(guard.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  std::thread holder([fd] {
    std::this_thread::sleep_for(300ms);
    ::close(fd);
  });
  const auto start = std::chrono::steady_clock::now();
  deploy::Lease lease(deploy::make_local_state_store(dir.path()), deploy::LeaseOwner{}, 1min);
  auto taken = lease.acquire(0ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  holder.join();
  CHECK(taken.ok());
  CHECK(waited >= 250ms);
}

TEST_CASE("state store: ledger, journal and lease work through a store") {
  test_support::TempDir dir;
  auto store = deploy::make_local_state_store(dir.path() / ".shipgate");
  REQUIRE(store->ensure().ok());

  const deploy::Ledger ledger(store);
  CHECK(ledger.file() == store->where("ledger.jsonl"));
  deploy::LedgerEntry entry;
  entry.id = "run-1";
  entry.version = "1.0.0";
  REQUIRE(ledger.append(entry).ok());
  REQUIRE(store->append("ledger.jsonl", "{\"version\": 7}\n").ok());
  auto entries = ledger.read();
  REQUIRE(entries.ok());
  REQUIRE(entries->entries.size() == 1);
  CHECK(entries->entries[0].version == "1.0.0");
  REQUIRE(entries->warnings.size() == 1);
  CHECK(entries->warnings[0].find(store->where("ledger.jsonl") + ":2: ") == 0);

  const deploy::Journal journal(store, "other.jsonl");
  CHECK_FALSE(journal.exists());
  deploy::JournalRecord record;
  record.run = "run-1";
  record.action = "switch";
  REQUIRE(journal.write(record).ok());
  CHECK(journal.exists());
  CHECK(fs::exists(dir.path() / ".shipgate" / "other.jsonl"));
  auto records = journal.read();
  REQUIRE(records.ok());
  REQUIRE(records->records.size() == 1);
  CHECK(records->records[0].action == "switch");
  REQUIRE(journal.remove().ok());
  CHECK_FALSE(journal.exists());

  deploy::LeaseOwner owner;
  owner.user = "alice";
  deploy::Lease lease(store, owner, 1min);
  REQUIRE(lease.acquire(0ms).ok());
  auto held = deploy::Lease::read(*store);
  REQUIRE(held.ok());
  REQUIRE(held->has_value());
  CHECK((*held)->token == lease.token());
  deploy::Lease other(store, deploy::LeaseOwner{}, 1min);
  auto blocked = other.acquire(0ms);
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().message.find("the deploy lock " + store->where("lock") + " is held by alice") == 0);
  auto removed = deploy::Lease::force_release(*store);
  REQUIRE(removed.ok());
  REQUIRE(removed->has_value());
  CHECK((*removed)->owner.user == "alice");
  CHECK_FALSE(fs::exists(dir.path() / ".shipgate" / "lock"));

  auto nowhere = deploy::make_local_state_store(dir.path() / "never");
  auto none = deploy::Lease::read(*nowhere);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK_FALSE(fs::exists(dir.path() / "never")); // reading creates nothing
}

// ---------------------------------------------------------------- Driver defaults

namespace {

const std::string k_first = "20261120T100000Z-1.4.1";
const std::string k_second = "20261121T215000Z-1.4.2";

std::unique_ptr<deploy::Driver> ready_driver(const fs::path& root) {
  auto driver = deploy::make_local_driver(root);
  REQUIRE(driver->ensure().ok());
  for (const auto& id : {k_first, k_second})
    fs::create_directories(deploy::layout::release_dir(root, id));
  return driver;
}

} // namespace

TEST_CASE("driver defaults: the state store is the local state folder") {
  test_support::TempDir dir;
  auto driver = ready_driver(dir.path() / "app");
  auto store = driver->state_store();
  CHECK(store->describe() == (dir.path() / "app" / ".shipgate").string());
  REQUIRE(store->append("ledger.jsonl", "{}\n").ok());
  CHECK(read_text(dir.path() / "app" / ".shipgate" / "ledger.jsonl") == "{}\n");
}

TEST_CASE("driver defaults: configuration snapshot and restore round trip") {
  test_support::TempDir dir;
  const fs::path root = dir.path() / "app";
  auto driver = ready_driver(root);
  dir.write("app/config/app.ini", "[app]\nworkers=4\n");
  const std::string absolute = dir.write("etc/site.conf", "listen 80;\n");

  auto manifest = driver->snapshot_config(k_first, {"config/app.ini", "config/absent.ini", absolute});
  REQUIRE(manifest.ok());
  CHECK((*manifest)["config/app.ini"].is_string());
  CHECK((*manifest)["config/app.ini"].get<std::string>().size() == 64);
  CHECK((*manifest)["config/absent.ini"].is_null());
  CHECK((*manifest)[absolute].is_string());
  const fs::path saved = root / ".shipgate" / "backups" / k_first / "config";
  CHECK(read_text(saved / "config%app.ini") == "[app]\nworkers=4\n");
  CHECK(nlohmann::json::parse(read_text(saved / "manifest.json")) == *manifest);

  // The deploy changes one file and deletes another; the third is untouched.
  dir.write("app/config/app.ini", "[app]\nworkers=8\n");
  fs::remove(absolute);
  dir.write("app/config/absent.ini", "created by the new release\n");
  auto restored = driver->restore_config(k_first);
  REQUIRE(restored.ok());
  REQUIRE(restored->size() == 2);
  std::sort(restored->begin(), restored->end()); // <dir>/app/... before <dir>/etc/...
  CHECK((*restored)[0].find((root / "config/app.ini").string() + ": restored (sha256 ") == 0);
  CHECK((*restored)[1].find(absolute + ": restored") == 0);
  CHECK(read_text(root / "config/app.ini") == "[app]\nworkers=4\n");
  CHECK(read_text(absolute) == "listen 80;\n");
  CHECK(read_text(root / "config/absent.ini") == "created by the new release\n");

  auto again = driver->restore_config(k_first);
  REQUIRE(again.ok());
  CHECK(again->empty()); // nothing differs any more

  auto none = driver->restore_config(k_second);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK_FALSE(driver->snapshot_config("../escape", {"config/app.ini"}).ok());
}

TEST_CASE("driver defaults: an unreadable snapshot manifest is an error") {
  test_support::TempDir dir;
  auto driver = ready_driver(dir.path() / "app");
  dir.write("app/.shipgate/backups/" + k_first + "/config/manifest.json", "{torn");
  auto restored = driver->restore_config(k_first);
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.error().message.find("manifest.json is unreadable") != std::string::npos);
}

TEST_CASE("driver defaults: point_link and link_target") {
  test_support::TempDir dir;
  const fs::path root = dir.path() / "app";
  auto driver = ready_driver(root);
  auto nothing = driver->link_target("blue");
  REQUIRE(nothing.ok());
  CHECK_FALSE(nothing->has_value());

  REQUIRE(driver->point_link("blue", k_first).ok());
  CHECK(fs::read_symlink(root / "blue") == fs::path("releases") / k_first);
  REQUIRE(driver->point_link("green", k_second).ok());
  REQUIRE(driver->point_link("blue", k_second).ok());
  auto blue = driver->link_target("blue");
  REQUIRE(blue.ok());
  CHECK(blue->value_or("") == k_second);
  auto green = driver->link_target("green");
  REQUIRE(green.ok());
  CHECK(green->value_or("") == k_second);
  // `current` is untouched, and no temporary link is left behind.
  CHECK_FALSE(fs::exists(fs::symlink_status(root / "current")));
  for (const auto& name : names_in(root / ".shipgate"))
    CHECK(name.find(".new-") == std::string::npos);

  auto missing = driver->point_link("blue", "20261122T000000Z-9.9.9");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("`blue` was not changed") != std::string::npos);
  CHECK(driver->link_target("blue")->value_or("") == k_second);
  CHECK_FALSE(driver->point_link("a/b", k_first).ok());

  fs::create_symlink("/etc", root / "stray");
  auto outside = driver->link_target("stray");
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().message.find("not a release under releases/") != std::string::npos);
}

TEST_CASE("driver defaults: write_file and read_file") {
  test_support::TempDir dir;
  const fs::path root = dir.path() / "app";
  auto driver = ready_driver(root);
  auto missing = driver->read_file("state/colour");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  REQUIRE(driver->write_file("state/colour", "blue\n").ok());
  CHECK(read_text(root / "state/colour") == "blue\n");
  auto read = driver->read_file("state/colour");
  REQUIRE(read.ok());
  CHECK(read->value_or("") == "blue\n");

  // Replacing keeps the file's mode; no temporary file is left.
  fs::permissions(root / "state/colour", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const std::string absolute = (root / "state/colour").string();
  REQUIRE(driver->write_file(absolute, "green\n").ok());
  CHECK(read_text(root / "state/colour") == "green\n");
  CHECK(mode_of(root / "state/colour") == 0640);
  CHECK(names_in(root / "state") == std::vector<std::string>{"colour"});
}

TEST_CASE("driver defaults: file_facts") {
  test_support::TempDir dir;
  const fs::path root = dir.path() / "app";
  auto driver = ready_driver(root);
  dir.write("app/backup.sql", "hello\n");
  auto facts = driver->file_facts("backup.sql");
  REQUIRE(facts.ok());
  REQUIRE(facts->has_value());
  CHECK((*facts)->size == 6);
  CHECK((*facts)->sha256 == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  auto absent = driver->file_facts((root / "nothing.sql").string());
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());
  auto folder = driver->file_facts("releases");
  REQUIRE(folder.ok());
  CHECK_FALSE(folder->has_value());
}

TEST_CASE("driver defaults: run_command creates a missing working folder below the state folder") {
  test_support::TempDir dir;
  const fs::path root = dir.path() / "app";
  auto driver = ready_driver(root);
  io::ProcessSpec spec;
  spec.argv = {"/bin/pwd"};
  spec.cwd = (root / ".shipgate" / "backups" / k_first).string();
  const io::ProcessResult result = driver->run_command(spec);
  REQUIRE(result.ok());
  CHECK(result.output == spec.cwd + "\n");

  spec.cwd = (dir.path() / "elsewhere").string(); // not shipgate's to create
  CHECK_FALSE(driver->run_command(spec).ok());
  CHECK_FALSE(fs::exists(dir.path() / "elsewhere"));
}
