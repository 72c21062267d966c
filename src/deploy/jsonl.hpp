#pragma once
// JSON-lines files that must survive crashes: the ledger and the journal.
// An append is one write(2) with O_APPEND, fsynced (and the folder fsynced
// when the file is new); a torn last line left by a crash is terminated
// first, so it never swallows the new line. Reading skips lines that are
// not what the caller expects, with "file:line" warnings.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace deploy::jsonl {

constexpr std::size_t k_max_line = 1024 * 1024;

// `what` names the file in errors ("the ledger", "the journal").
core::Status append_line(const std::filesystem::path& file, const std::string& line, const std::string& what);

struct Lines {
  std::vector<nlohmann::json> values;
  std::vector<std::string> warnings;
};
// A missing file has no lines. `problem_with` says why a parsed line cannot
// be used (empty when it can).
core::Result<Lines> read_lines(const std::filesystem::path& file, const std::string& what,
                               const std::function<std::string(const nlohmann::json&)>& problem_with);

} // namespace deploy::jsonl
