#pragma once
// JSON-lines files that must survive crashes: the ledger and the journal.
// They live in a StateStore (deploy/state_store.hpp), which appends each
// line with one write(2) with O_APPEND, fsynced (and the folder fsynced
// when the file is new), after terminating a torn last line left by a
// crash, so that line never swallows the new one. Reading skips lines that
// are not what the caller expects, with "file:line" warnings.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "deploy/state_store.hpp"

namespace deploy::jsonl {

constexpr std::size_t k_max_line = 1024 * 1024;

// Why a parsed line cannot be used (empty when it can).
using ProblemWith = std::function<std::string(const nlohmann::json&)>;

struct Lines {
  std::vector<nlohmann::json> values;
  std::vector<std::string> warnings;
};

// Appends `line` (ending in '\n') to `name` in `store`. `what` names the
// file in errors ("the ledger", "the journal").
core::Status append_line(StateStore& store, const std::string& name, const std::string& line,
                         const std::string& what);
// The lines of `name` in `store`; a missing file has no lines. Warnings
// name store.where(name) and the line number.
core::Result<Lines> read_lines(StateStore& store, const std::string& name, const std::string& what,
                               const ProblemWith& problem_with);
// The lines of `text`, as read from the file `where` (used in warnings:
// "<where>:<line>: torn or unreadable line skipped (...)"). Blank lines are
// ignored; lines longer than k_max_line are skipped with a warning.
Lines parse_lines(const std::string& text, const std::string& where, const ProblemWith& problem_with);

// The same on a path of this machine (a local store on its folder).
core::Status append_line(const std::filesystem::path& file, const std::string& line, const std::string& what);
core::Result<Lines> read_lines(const std::filesystem::path& file, const std::string& what,
                               const ProblemWith& problem_with);

} // namespace deploy::jsonl
