// The `local` target: a folder on this machine (docs/plan.md "Targets").
// Releases are unpacked under <root>/releases/, `current` is switched by
// rename(2), and each release gets a manifest (.shipgate/releases/<id>.json:
// every file with its size and sha256) so a later rollback can check that
// its target is still the release that was verified.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "deploy/driver.hpp"
#include "deploy/layout.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;

constexpr std::size_t k_max_listed_differences = 5;

fs::path manifest_file(const fs::path& root, const std::string& release) {
  return layout::state_dir(root) / "releases" / (release + ".json");
}

// Every entry below `dir` (symlinks not followed): path -> description
// ("file <size> <sha256>", "link <target>", "dir").
core::Result<std::map<std::string, std::string>> describe_tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code error;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, error), end;
  for (; !error && it != end; it.increment(error)) {
    const fs::path relative = it->path().lexically_relative(dir);
    const auto status = it->symlink_status(error);
    if (error) break;
    if (fs::is_symlink(status)) {
      out[relative.string()] = "link " + fs::read_symlink(it->path(), error).string();
    } else if (fs::is_directory(status)) {
      out[relative.string()] = "dir";
    } else if (fs::is_regular_file(status)) {
      auto digest = sha256_file(it->path());
      if (!digest) return digest.error();
      out[relative.string()] = "file " + std::to_string(fs::file_size(it->path(), error)) + " " + *digest;
    } else {
      out[relative.string()] = "other";
    }
  }
  if (error)
    return core::make_error(ErrorKind::runtime, "cannot read " + dir.string() + ": " + error.message());
  return out;
}

// Every write and the close are checked: a buffered stream would report
// a full disk only when it is destroyed, after an empty file was renamed
// into place.
core::Status write_json_file(const fs::path& file, const nlohmann::json& json) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  const fs::path temp = file.string() + ".tmp";
  const std::string text = json.dump(1) + "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  bool written = fd >= 0 && layout::write_all(fd, text) && ::fsync(fd) == 0;
  int saved = errno;
  if (fd >= 0 && ::close(fd) != 0 && written) {
    written = false;
    saved = errno;
  }
  if (!written) {
    fs::remove(temp, error);
    return core::make_error(ErrorKind::runtime,
                            "cannot write " + temp.string() + ": " + std::strerror(saved) +
                                (saved == ENOSPC || saved == EDQUOT ? " (free space on the target)" : ""));
  }
  fs::rename(temp, file, error);
  if (error) return core::make_error(ErrorKind::runtime, "cannot write " + file.string() + ": " + error.message());
  return layout::fsync_path(file.parent_path());
}

class LocalDriver final : public Driver {
public:
  explicit LocalDriver(fs::path root) : m_root(std::move(root)) {}

  std::string describe() const override { return "local:" + m_root.string(); }
  fs::path root() const override { return m_root; }
  fs::path state_dir() const override { return layout::state_dir(m_root); }
  Variables variables() const override { return {{"TARGET_ROOT", m_root.string()}}; }
  core::Status ensure() override { return layout::ensure(m_root); }

  core::Result<TargetStatus> status() override {
    TargetStatus out;
    auto current = layout::current_release(m_root);
    if (!current) return current.error();
    out.current = *current;
    auto releases = layout::list_releases(m_root);
    if (!releases) return releases.error();
    out.releases = *releases;
    return out;
  }

  core::Status prepare(const PrepareRequest& request) override {
    if (fs::exists(layout::release_dir(m_root, request.release)))
      return core::make_error(ErrorKind::runtime, describe() + ": release " + request.release + " already exists");
    // Leftovers of this very id from a killed run.
    std::error_code ignored;
    fs::remove_all(layout::partial_dir(m_root, request.release), ignored);
    auto unpacked = unpack_archive(*request.artifact, layout::partial_dir(m_root, request.release), request.limits);
    if (!unpacked) return unpacked.error();
    auto finished = finish_release(request);
    // A release without its manifest can never be deployed nor rolled back
    // to; it would only hold space (often what just ran out).
    if (!finished) (void)discard(request.release);
    return finished;
  }

  core::Status activate(const std::string& release, bool) override {
    return layout::switch_current(m_root, release);
  }

  core::Status verify(const std::string& release) override {
    auto current = layout::current_release(m_root);
    if (!current) return current.error();
    if (!*current || **current != release)
      return core::make_error(ErrorKind::runtime, describe() + ": `current` points at " +
                                                      (*current ? **current : std::string("nothing")) +
                                                      ", expected " + release);
    return core::ok_status();
  }

  core::Status check_intact(const std::string& release) override {
    const fs::path dir = layout::release_dir(m_root, release);
    if (!fs::is_directory(dir))
      return core::make_error(ErrorKind::blocked, describe() + ": release " + release + " is gone");
    std::ifstream in(manifest_file(m_root, release), std::ios::binary);
    if (!in)
      return core::make_error(ErrorKind::blocked, describe() + ": release " + release +
                                                      " has no manifest (it was never completely prepared)");
    nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
    if (manifest.is_discarded() || !manifest.contains("files") || !manifest["files"].is_object())
      return core::make_error(ErrorKind::blocked, describe() + ": the manifest of release " + release + " is unreadable");
    auto tree = describe_tree(dir);
    if (!tree) return tree.error();
    std::vector<std::string> differences;
    for (const auto& [path, expected] : manifest["files"].items()) {
      const auto found = tree->find(path);
      if (found == tree->end()) differences.push_back(path + " (missing)");
      else if (!expected.is_string() || found->second != expected.get<std::string>())
        differences.push_back(path + " (changed)");
    }
    for (const auto& [path, actual] : *tree)
      if (!manifest["files"].contains(path)) differences.push_back(path + " (added)");
    if (differences.empty()) return core::ok_status();
    std::string list;
    for (std::size_t i = 0; i < std::min(differences.size(), k_max_listed_differences); ++i)
      list += (i ? ", " : "") + differences[i];
    if (differences.size() > k_max_listed_differences)
      list += " and " + std::to_string(differences.size() - k_max_listed_differences) + " more";
    return core::make_error(ErrorKind::blocked, describe() + ": release " + release +
                                                    " changed since it was deployed: " + list +
                                                    "; put writable files in shared/ (docs/plan.md)");
  }

  core::Status discard(const std::string& release) override {
    std::error_code ignored;
    fs::remove_all(layout::partial_dir(m_root, release), ignored);
    if (fs::exists(layout::release_dir(m_root, release), ignored)) {
      if (auto removed = layout::remove_release(m_root, release); !removed) return removed;
    }
    fs::remove(manifest_file(m_root, release), ignored);
    return core::ok_status();
  }

  core::Result<std::vector<std::string>> prune(int keep, const std::set<std::string>& protect) override {
    auto removed = layout::prune(m_root, keep, protect);
    if (!removed) return removed;
    std::error_code ignored;
    for (const auto& release : *removed) fs::remove(manifest_file(m_root, release), ignored);
    return removed;
  }

private:
  // From releases/.partial-<id> to a complete release with its manifest.
  core::Status finish_release(const PrepareRequest& request) {
    if (auto committed = layout::commit_partial(m_root, request.release); !committed) return committed;
    if (auto linked = layout::link_shared(m_root, request.release, request.shared); !linked) return linked;
    auto tree = describe_tree(layout::release_dir(m_root, request.release));
    if (!tree) return tree.error();
    nlohmann::json manifest = {{"release", request.release}, {"version", request.version}, {"files", *tree}};
    return write_json_file(manifest_file(m_root, request.release), manifest);
  }

  fs::path m_root;
};

} // namespace

std::unique_ptr<Driver> make_local_driver(const fs::path& root) { return std::make_unique<LocalDriver>(root); }

} // namespace deploy
