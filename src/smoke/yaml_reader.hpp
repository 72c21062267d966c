#pragma once
// Typed, located reading of a checks file's YAML (docs/smoke-test.md), for
// the loader only. Every accessor returns a valid value or throws
// ReadError, whose message names the key, what was found and what to write
// instead, and whose location is "file:line". parse_checks catches it, so
// the exception never leaves the loader.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "smoke/check.hpp"
#include "smoke/checks_file.hpp"

namespace smoke {

struct ReadError {
  core::Error error;
};

// One key of a mapping. `path` is the key as messages name it ("expect.status").
struct Field {
  std::string key;
  std::string path;
  YAML::Node key_node;
  YAML::Node value;
};

class Fields {
public:
  explicit Fields(std::vector<Field> fields) : m_fields(std::move(fields)) {}
  const Field* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Iterable directly, so `for (auto& f : reader.fields(...))` keeps the
  // temporary alive for the whole loop.
  std::vector<Field>::const_iterator begin() const { return m_fields.begin(); }
  std::vector<Field>::const_iterator end() const { return m_fields.end(); }

private:
  std::vector<Field> m_fields;
};

// "2xx", "200-299", "204" -> a range within 100..599; nullopt otherwise.
std::optional<StatusRange> parse_status(std::string_view text);

constexpr std::size_t k_max_body_file = 1024 * 1024;

class YamlReader {
public:
  YamlReader(std::string origin, const Variables& variables);

  std::string location(const YAML::Node& node) const;
  std::string location(const Field& field) const;
  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const;
  [[noreturn]] void fail(const Field& field, const std::string& message) const;

  // The keys of a mapping, each one of `keys` (else "unknown key … did you
  // mean …"), none twice. YAML merge keys (<<: *anchor) are expanded.
  // `prefix` qualifies the keys in messages: "expect" -> "expect.status".
  Fields fields(const YAML::Node& map, const std::vector<std::string>& keys, const std::string& prefix) const;

  std::string text(const Field& field) const;         // a scalar, as written
  std::string interpolated(const Field& field) const; // ${VAR} replaced
  std::string interpolated(const YAML::Node& node, const std::string& path) const;
  // A scalar or a non-empty list of scalars, each interpolated.
  std::vector<std::string> texts(const Field& field) const;
  Duration duration(const Field& field, bool allow_zero = false) const;
  long integer(const Field& field, long low, long high) const;
  double number(const Field& field, double low, double high) const;
  bool boolean(const Field& field) const;
  std::vector<StatusRange> statuses(const Field& field) const;
  std::regex regex(const YAML::Node& node, const std::string& path, const std::string& pattern) const;
  // YAML to JSON: quoted scalars stay strings; plain ones become numbers,
  // booleans or null when they read as such. Strings are interpolated.
  nlohmann::json json(const YAML::Node& node, const std::string& path) const;
  // Fails unless `text` is valid UTF-8: text that goes into JSON (json()
  // checks its own strings), whose dump() would throw on anything else.
  void check_utf8(const YAML::Node& node, const std::string& path, const std::string& text) const;
  // A path relative to the checks file's directory.
  std::filesystem::path resolve(const std::string& path) const;
  // The file named by the field (resolved), at most k_max_body_file bytes.
  std::string read_file(const Field& field) const;

private:
  nlohmann::json scalar_json(const YAML::Node& node, const std::string& path) const;
  void add_field(std::vector<Field>& out, const YAML::Node& key, const YAML::Node& value,
                 const std::vector<std::string>& keys, const std::string& prefix, bool merged) const;

  std::string m_origin;
  std::filesystem::path m_base_dir;
  const Variables& m_variables;
};

} // namespace smoke
