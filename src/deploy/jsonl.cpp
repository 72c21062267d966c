#include "deploy/jsonl.hpp"

#include <algorithm>
#include <string_view>

namespace deploy::jsonl {
namespace {

namespace fs = std::filesystem;

fs::path folder_of(const fs::path& file) { return file.has_parent_path() ? file.parent_path() : fs::path("."); }

// The store's message names the file and the fix; this says which record it is.
core::Error about(const std::string& what, const core::Error& error) {
  return core::make_error(error.kind, what + ": " + error.message, error.location);
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

} // namespace

core::Status append_line(StateStore& store, const std::string& name, const std::string& line,
                         const std::string& what) {
  auto appended = store.append(name, line);
  if (!appended) return about("cannot append to " + what, appended.error());
  return appended;
}

core::Result<Lines> read_lines(StateStore& store, const std::string& name, const std::string& what,
                               const ProblemWith& problem_with) {
  auto text = store.read(name);
  if (!text) return about("cannot read " + what, text.error());
  if (!*text) return Lines{};
  return parse_lines(**text, store.where(name), problem_with);
}

Lines parse_lines(const std::string& text, const std::string& where, const ProblemWith& problem_with) {
  Lines result;
  std::size_t start = 0;
  for (int number = 1; start < text.size(); ++number) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (blank(line)) continue;
    const std::string place = where + ":" + std::to_string(number) + ": ";
    if (line.size() > k_max_line) {
      result.warnings.push_back(place + "line longer than 1 MiB skipped");
      continue;
    }
    nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    const std::string problem = value.is_discarded() ? "not valid JSON" : problem_with(value);
    if (!problem.empty()) {
      result.warnings.push_back(place + "torn or unreadable line skipped (" + problem + ")");
      continue;
    }
    result.values.push_back(std::move(value));
  }
  return result;
}

core::Status append_line(const fs::path& file, const std::string& line, const std::string& what) {
  return append_line(*make_local_state_store(folder_of(file)), file.filename().string(), line, what);
}

core::Result<Lines> read_lines(const fs::path& file, const std::string& what, const ProblemWith& problem_with) {
  return read_lines(*make_local_state_store(folder_of(file)), file.filename().string(), what, problem_with);
}

} // namespace deploy::jsonl
