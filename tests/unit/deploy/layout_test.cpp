#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "deploy/layout.hpp"
#include "../support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace layout = deploy::layout;

namespace {

const std::string k_first = "20261120T100000Z-1.4.1";
const std::string k_second = "20261121T215000Z-1.4.2";

void make_release(const fs::path& root, const std::string& id, const std::string& marker = "app") {
  fs::create_directories(layout::release_dir(root, id));
  std::ofstream(layout::release_dir(root, id) / "VERSION") << marker;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string link_text(const fs::path& link) { return fs::read_symlink(link).string(); }

fs::path ready_root(const test_support::TempDir& dir) {
  const fs::path root = dir.path() / "app";
  REQUIRE(layout::ensure(root).ok());
  return root;
}

std::vector<std::string> trash_entries(const fs::path& root) {
  std::vector<std::string> names;
  const fs::path trash = layout::state_dir(root) / "trash";
  if (fs::exists(trash))
    for (const auto& entry : fs::directory_iterator(trash)) names.push_back(entry.path().filename().string());
  return names;
}

} // namespace

TEST_CASE("layout: ensure creates the folders and refuses a real `current` folder") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  CHECK(fs::is_directory(layout::releases_dir(root)));
  CHECK(fs::is_directory(layout::shared_dir(root)));
  struct stat info {};
  REQUIRE(::stat(layout::state_dir(root).c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  CHECK(layout::ensure(root).ok()); // idempotent

  fs::create_directory(layout::current_link(root));
  auto refused = layout::ensure(root);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("not a symlink") != std::string::npos);
  CHECK(fs::is_directory(layout::current_link(root))); // never deleted
}

TEST_CASE("layout: versions and release ids") {
  CHECK(layout::make_release_id("1.4.2", *core::parse_time("2026-11-21T21:50:00Z")) == "20261121T215000Z-1.4.2");
  for (const char* good : {"1.4.2", "v2", "1.0.0-rc.1+build.7", "release_2026"}) CHECK(layout::valid_version(good));
  for (const char* bad : {"", ".hidden", "-x", "..", "1.4/2", "a b", "1.4.2\n", "ü"}) CHECK_FALSE(layout::valid_version(bad));
  CHECK(layout::valid_version(std::string(100, 'a')));
  CHECK_FALSE(layout::valid_version(std::string(101, 'a')));

  CHECK(layout::valid_release_id("20261121T215000Z-1.4.2"));
  CHECK(layout::valid_release_id("20261121T215000Z-1.4.2-2"));
  for (const char* bad : {"", "1.4.2", "20261121T215000Z", "20261121T215000Z-", "20261121215000Z-1.4.2",
                          "2026112xT215000Z-1.4.2", "20261121T215000Z-../x", ".partial-20261121T215000Z-1.4.2"})
    CHECK_FALSE(layout::valid_release_id(bad));
}

TEST_CASE("layout: switch_current points `current` at a release with a relative link") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  auto none = layout::current_release(root);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  make_release(root, k_first, "old");
  make_release(root, k_second, "new");
  REQUIRE(layout::switch_current(root, k_first).ok());
  CHECK(link_text(layout::current_link(root)) == "releases/" + k_first);
  CHECK(read_text(layout::current_link(root) / "VERSION") == "old");
  REQUIRE(layout::switch_current(root, k_second).ok());
  CHECK(read_text(layout::current_link(root) / "VERSION") == "new");
  auto live = layout::current_release(root);
  REQUIRE(live.ok());
  CHECK(live->value() == k_second);
  for (const auto& entry : fs::directory_iterator(layout::state_dir(root)))
    CHECK(entry.path().filename().string().rfind("current.new-", 0) != 0); // no temporary link left

  SUBCASE("a missing or partial release is refused and `current` stays") {
    fs::create_directories(layout::partial_dir(root, "20261122T000000Z-1.5.0"));
    for (const std::string& bad : {std::string("20261122T000000Z-1.5.0"), std::string(".partial-20261122T000000Z-1.5.0"),
                                   std::string("../releases/") + k_first})
      CHECK_FALSE(layout::switch_current(root, bad).ok());
    CHECK(link_text(layout::current_link(root)) == "releases/" + k_second);
  }
}

TEST_CASE("layout: current_release refuses a link that points outside releases/") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  fs::create_directory_symlink("/etc", layout::current_link(root));
  auto outside = layout::current_release(root);
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().message.find("/etc") != std::string::npos);

  fs::remove(layout::current_link(root));
  fs::create_directory_symlink(fs::absolute(layout::release_dir(root, k_first)), layout::current_link(root));
  auto absolute = layout::current_release(root);
  REQUIRE(absolute.ok());
  CHECK(absolute->value() == k_first);

  fs::remove(layout::current_link(root));
  fs::create_directory_symlink("releases/" + k_first + "/sub", layout::current_link(root));
  CHECK_FALSE(layout::current_release(root).ok());
}

TEST_CASE("layout: a reader never finds `current` missing during 1000 switches") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  make_release(root, k_second);
  REQUIRE(layout::switch_current(root, k_first).ok());

  const std::string link = layout::current_link(root).string();
  std::atomic<bool> done{false};
  std::atomic<long> reads{0}, missing{0}, wrong{0};
  std::thread reader([&] {
    char buffer[512];
    while (!done.load()) {
      const ssize_t size = ::readlink(link.c_str(), buffer, sizeof buffer);
      if (size < 0) {
        ++missing;
        continue;
      }
      const std::string text(buffer, static_cast<std::size_t>(size));
      if (text != "releases/" + k_first && text != "releases/" + k_second) ++wrong;
      ++reads;
    }
  });
  bool all_switched = true;
  for (int i = 0; i < 1000; ++i) all_switched = layout::switch_current(root, i % 2 ? k_first : k_second).ok() && all_switched;
  done.store(true);
  reader.join();
  CHECK(all_switched);
  CHECK(reads.load() > 0);
  CHECK(missing.load() == 0);
  CHECK(wrong.load() == 0);
}

TEST_CASE("layout: a partial release becomes a release only when committed") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  const fs::path partial = layout::partial_dir(root, k_second);
  fs::create_directories(partial / "bin");
  std::ofstream(partial / "bin" / "app") << "binary";
  std::ofstream(layout::releases_dir(root) / "stray-file") << "not a release";
  auto before = layout::list_releases(root);
  REQUIRE(before.ok());
  CHECK(before->empty());

  REQUIRE(layout::commit_partial(root, k_second).ok());
  CHECK_FALSE(fs::exists(partial));
  CHECK(read_text(layout::release_dir(root, k_second) / "bin" / "app") == "binary");
  auto after = layout::list_releases(root);
  REQUIRE(after.ok());
  CHECK(*after == std::vector<std::string>{k_second});

  fs::create_directories(partial); // same id again must not replace the committed release
  CHECK_FALSE(layout::commit_partial(root, k_second).ok());
  CHECK(fs::exists(layout::release_dir(root, k_second) / "bin" / "app"));
  CHECK_FALSE(layout::commit_partial(root, "20261130T000000Z-9.9.9").ok());
}

TEST_CASE("layout: remove_partials deletes only leftovers of crashed runs") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  fs::create_directories(layout::partial_dir(root, k_second) / "deep" / "tree");
  fs::create_directories(layout::partial_dir(root, "20261122T000000Z-1.5.0"));

  auto removed = layout::remove_partials(root);
  REQUIRE(removed.ok());
  CHECK(*removed ==
        std::vector<std::string>{".partial-" + k_second, ".partial-20261122T000000Z-1.5.0"});
  CHECK_FALSE(fs::exists(layout::partial_dir(root, k_second)));
  CHECK(fs::exists(layout::release_dir(root, k_first) / "VERSION"));
  CHECK(trash_entries(root).empty());
}

TEST_CASE("layout: prune keeps the newest, the protected and the live release") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  std::vector<std::string> ids;
  for (int day = 10; day < 18; ++day) {
    ids.push_back("202611" + std::to_string(day) + "T100000Z-1." + std::to_string(day) + ".0");
    make_release(root, ids.back());
  }
  REQUIRE(layout::switch_current(root, ids[0]).ok()); // live: the oldest (after a rollback)
  fs::create_directories(layout::state_dir(root) / "trash" / "crashed-prune-x" / "half");

  auto removed = layout::prune(root, 3, {ids[1]});
  REQUIRE(removed.ok());
  CHECK(*removed == std::vector<std::string>{ids[2], ids[3], ids[4]});
  auto left = layout::list_releases(root);
  REQUIRE(left.ok());
  CHECK(*left == std::vector<std::string>{ids[0], ids[1], ids[5], ids[6], ids[7]});
  CHECK(trash_entries(root).empty()); // including the crashed prune's leftover

  auto nothing_but_protected = layout::prune(root, 0, {ids[7]});
  REQUIRE(nothing_but_protected.ok());
  left = layout::list_releases(root);
  REQUIRE(left.ok());
  CHECK(*left == std::vector<std::string>{ids[0], ids[7]});
  CHECK_FALSE(layout::prune(root, -1, {}).ok());
}

TEST_CASE("layout: prune deletes nothing when `current` cannot be read") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  make_release(root, k_second);
  fs::create_directory_symlink("/tmp", layout::current_link(root));
  CHECK_FALSE(layout::prune(root, 0, {}).ok());
  CHECK(fs::exists(layout::release_dir(root, k_first)));
  CHECK(fs::exists(layout::release_dir(root, k_second)));
}

TEST_CASE("layout: remove_release never removes the live release") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  make_release(root, k_second);
  REQUIRE(layout::switch_current(root, k_second).ok());
  auto refused = layout::remove_release(root, k_second);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("live") != std::string::npos);
  CHECK(fs::exists(layout::release_dir(root, k_second)));
  CHECK(layout::remove_release(root, k_first).ok());
  CHECK_FALSE(fs::exists(layout::release_dir(root, k_first)));
  CHECK(layout::remove_release(root, k_first).ok()); // already gone
  CHECK_FALSE(layout::remove_release(root, "..").ok());
}

TEST_CASE("layout: link_shared seeds shared/ from the first release and links with relative paths") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  const fs::path first = layout::release_dir(root, k_first);
  fs::create_directories(first / "config");
  std::ofstream(first / "config" / "app.env") << "DB=first";
  fs::create_directories(first / "logs");
  std::ofstream(first / "logs" / "old.log") << "log";

  REQUIRE(layout::link_shared(root, k_first, {"config/app.env", "logs/", "storage/uploads/"}).ok());
  const fs::path shared = layout::shared_dir(root);
  CHECK(read_text(shared / "config" / "app.env") == "DB=first");
  CHECK(read_text(shared / "logs" / "old.log") == "log");
  CHECK(fs::is_directory(shared / "storage" / "uploads"));
  CHECK(link_text(first / "config" / "app.env") == "../../../shared/config/app.env");
  CHECK(link_text(first / "logs") == "../../shared/logs");
  CHECK(link_text(first / "storage" / "uploads") == "../../../shared/storage/uploads");

  REQUIRE(layout::switch_current(root, k_first).ok());
  CHECK(read_text(layout::current_link(root) / "config" / "app.env") == "DB=first");

  SUBCASE("a later release links to the existing shared copy, not its own") {
    make_release(root, k_second);
    const fs::path second = layout::release_dir(root, k_second);
    fs::create_directories(second / "config");
    std::ofstream(second / "config" / "app.env") << "DB=default";
    REQUIRE(layout::link_shared(root, k_second, {"config/app.env", "logs/"}).ok());
    CHECK(read_text(second / "config" / "app.env") == "DB=first");
    CHECK(read_text(shared / "config" / "app.env") == "DB=first");
    CHECK(fs::is_symlink(second / "logs"));
    CHECK(layout::link_shared(root, k_second, {"config/app.env"}).ok()); // again: nothing changes
    CHECK(read_text(second / "config" / "app.env") == "DB=first");
  }
  SUBCASE("moving the whole root keeps the links working") {
    const fs::path moved = dir.path() / "moved";
    fs::rename(root, moved);
    CHECK(read_text(moved / "current" / "config" / "app.env") == "DB=first");
  }
}

TEST_CASE("layout: link_shared refuses paths that leave the release") {
  test_support::TempDir dir;
  const fs::path root = ready_root(dir);
  make_release(root, k_first);
  for (const char* bad : {"../escape", "/etc/passwd", "config/../../x", "", "./"}) {
    auto refused = layout::link_shared(root, k_first, {bad});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == core::ErrorKind::invalid_input);
  }
  CHECK_FALSE(fs::exists(layout::releases_dir(root) / "escape"));
  CHECK_FALSE(fs::exists(root / "x"));

  auto missing = layout::link_shared(root, k_first, {"config/secret.env"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("shared/config/secret.env") != std::string::npos);

  // A symlink inside the release must not let the link land elsewhere.
  const fs::path outside = dir.path() / "outside";
  fs::create_directories(outside);
  std::ofstream(outside / "app.env") << "elsewhere";
  fs::create_directory_symlink(outside, layout::release_dir(root, k_first) / "etc");
  CHECK_FALSE(layout::link_shared(root, k_first, {"etc/app.env"}).ok());
  CHECK(read_text(outside / "app.env") == "elsewhere");
}

TEST_CASE("layout: fsync helpers") {
  test_support::TempDir dir;
  dir.write("tree/a/b/file", "data");
  fs::create_directory_symlink("/nonexistent", dir.path() / "tree" / "dangling");
  CHECK(layout::fsync_path(dir.file("tree/a/b/file")).ok());
  CHECK(layout::fsync_path(dir.path() / "tree").ok());
  CHECK(layout::fsync_tree(dir.path() / "tree").ok());
  auto missing = layout::fsync_path(dir.path() / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("nope") != std::string::npos);
}
