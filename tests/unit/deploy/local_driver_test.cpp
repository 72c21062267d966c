#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../../integration/support/spawn.hpp"
#include "../support/file_size_limit.hpp"
#include "../support/temp_dir.hpp"
#include "deploy/artifact.hpp"
#include "deploy/driver.hpp"
#include "deploy/layout.hpp"

namespace {

namespace fs = std::filesystem;
using test_support::TempDir;

const std::string k_release = "20261121T215000Z-1.4.2";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A release archive made by tar: two small files.
fs::path make_archive(const TempDir& dir) {
  dir.write("tree/public/index.html", "version 1.4.2\n");
  dir.write("tree/public/health", "ok\n");
  REQUIRE(test_support::run({"tar", "-C", dir.file("tree"), "-czf", dir.file("release.tar.gz"), "."}) == 0);
  return dir.path() / "release.tar.gz";
}

} // namespace

TEST_CASE("local prepare writes a manifest that check_intact accepts") {
  TempDir dir;
  const fs::path root = dir.path() / "root";
  auto driver = deploy::make_local_driver(root);
  REQUIRE(driver->ensure().ok());
  auto artifact = deploy::OpenedArtifact::open(make_archive(dir));
  REQUIRE(artifact.ok());
  const auto prepared = driver->prepare({k_release, "1.4.2", &*artifact, {}, {}});
  REQUIRE_MESSAGE(prepared.ok(), prepared.error().message);
  const auto manifest = nlohmann::json::parse(read_file(root / ".shipgate/releases" / (k_release + ".json")));
  CHECK(manifest["version"] == "1.4.2");
  CHECK(manifest["files"].contains("public/index.html"));
  CHECK(driver->check_intact(k_release).ok());
}

// A full disk while the manifest is written: before, a buffered stream
// reported nothing, an empty or cut manifest was renamed into place, the
// release went live, and every later deploy was refused ("the manifest of
// release … is unreadable").
TEST_CASE("local prepare fails, and leaves no release, when the manifest cannot be written") {
  TempDir dir;
  const fs::path root = dir.path() / "root";
  auto driver = deploy::make_local_driver(root);
  REQUIRE(driver->ensure().ok());
  auto artifact = deploy::OpenedArtifact::open(make_archive(dir));
  REQUIRE(artifact.ok());
  core::Status prepared = core::ok_status();
  {
    // The release's files (a few bytes each) fit; the manifest (their
    // sha256 digests) does not.
    const test_support::FileSizeLimit limit(100);
    prepared = driver->prepare({k_release, "1.4.2", &*artifact, {}, {}});
  }
  REQUIRE_FALSE(prepared.ok());
  INFO(prepared.error().message);
  CHECK(contains(prepared.error().message,
                 "cannot write " + (root / ".shipgate/releases" / k_release).string() + ".json.tmp: File too large"));
  CHECK_FALSE(fs::exists(deploy::layout::release_dir(root, k_release)));
  CHECK_FALSE(fs::exists(deploy::layout::partial_dir(root, k_release)));
  CHECK(fs::is_empty(root / ".shipgate/releases"));

  // With room again, the same release is prepared from scratch.
  const auto again = driver->prepare({k_release, "1.4.2", &*artifact, {}, {}});
  REQUIRE_MESSAGE(again.ok(), again.error().message);
  CHECK(driver->check_intact(k_release).ok());
}
