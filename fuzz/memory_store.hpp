#pragma once
// A deploy::StateStore in memory, for the round trips of the state-file
// targets: a re-serialised record is appended here and read back through
// the same reader, with no disk and no fsync in the loop.
#include <map>

#include "deploy/state_store.hpp"

namespace fuzz {

class MemoryStore final : public deploy::StateStore {
public:
  std::string describe() const override { return "memory"; }
  core::Status ensure() override { return core::ok_status(); }
  core::Result<bool> exists() override { return true; }
  core::Status append(const std::string& name, const std::string& line) override {
    files[name] += line;
    return core::ok_status();
  }
  core::Result<std::optional<std::string>> read(const std::string& name) override {
    const auto found = files.find(name);
    if (found == files.end()) return std::optional<std::string>{};
    return std::optional<std::string>(found->second);
  }
  core::Status remove(const std::string& name) override {
    files.erase(name);
    return core::ok_status();
  }
  core::Result<Current> read_current(const std::string& name) override { return Current{*read(name), std::nullopt}; }
  core::Result<std::optional<std::string>> update(const std::string& name, const Decide& decide) override {
    auto current = read(name);
    auto change = decide(Current{*current, std::nullopt});
    if (!change) return change.error();
    if (change->kind == Change::Kind::write) files[name] = change->text;
    if (change->kind == Change::Kind::remove) files.erase(name);
    return *current;
  }

  std::map<std::string, std::string> files;
};

} // namespace fuzz
