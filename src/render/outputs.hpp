#pragma once
// Key/value outputs for later pipeline steps: $GITHUB_OUTPUT entries and a
// GitLab dotenv report (artifacts:reports:dotenv).
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace render {

using OutputPairs = std::vector<std::pair<std::string, std::string>>;

// Every value as a heredoc: "name<<ghadelimiter_<32 hex>\nvalue\nDELIM\n",
// with a fresh random delimiter that occurs in neither name nor value, so a
// hostile value cannot set other outputs. Names are reduced to
// [A-Za-z0-9_-]; values are sanitized to valid UTF-8.
std::string github_output(const OutputPairs& outputs);
// The same with the delimiter source injected (tests).
std::string github_output(const OutputPairs& outputs, const std::function<std::string()>& make_delimiter);
// "ghadelimiter_" + 32 hex digits from std::random_device.
std::string random_delimiter();

// GitLab accepts at most 5 KB and (by default) 20 variables, keeps quotes
// literally and rejects blank lines and comments.
inline constexpr std::size_t k_dotenv_max_bytes = 5000;
inline constexpr std::size_t k_dotenv_max_variables = 20;

struct DotenvFile {
  std::string text;                 // "SHIPGATE_VERDICT=fail\n..."
  std::vector<std::string> dropped; // variable names left out to respect the limits
  std::vector<std::string> reserved; // left out: shipgate reads that variable as a setting
};

// One "SHIPGATE_<NAME>=value" line per output: NAME upper-cased with every
// character other than A-Z 0-9 turned into '_'; values sanitized, newlines
// and tabs turned into spaces, trimmed, never quoted. Entries that would
// break the size or count limit, and repeated names, are dropped (later
// entries first). A name shipgate itself reads as a setting
// (SHIPGATE_ENVIRONMENT) is left out: later jobs would inherit it.
DotenvFile dotenv(const OutputPairs& outputs);
std::string dotenv_name(std::string_view name);

} // namespace render
