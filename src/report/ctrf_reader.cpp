#include "report/ctrf_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace report {
namespace {

using json = nlohmann::json;

// Walks the document keeping a path of keys; builds a small json value for
// each element of results.tests and hands it over when it closes.
class CtrfSax final : public json::json_sax_t {
public:
  CtrfSax(std::string path, ReportSink& sink, const ReadLimits& limits)
      : m_path(std::move(path)), m_sink(sink), m_limits(limits) {}

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override { return value(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return value(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool string(string_t& v) override { return value(json(std::move(v))); }
  bool binary(binary_t&) override { return value(json(nullptr)); }

  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    m_key = k;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
    m_error = "invalid JSON at byte " + std::to_string(position) + ": " + error.what();
    return false;
  }

  bool saw_results() const { return m_saw_tests; }
  const std::string& error() const { return m_error; }

private:
  struct Frame {
    std::string key;   // key under which this container sits in its parent
    bool capture = false;
    json value;        // only filled while capturing a test
  };

  // Depth 0 is the document; results.tests elements are at depth 3.
  bool in_tests_array() const {
    return m_stack.size() == 3 && m_stack[1].key == "results" && m_stack[2].key == "tests";
  }

  bool open(json container) {
    if (m_stack.size() >= 64) {
      m_error = "JSON nested more than 64 levels";
      return false;
    }
    Frame frame{m_stack.empty() ? std::string() : m_key, false, json()};
    if (in_tests_array()) {
      frame.capture = true;
      frame.value = std::move(container);
    } else if (!m_stack.empty() && m_stack.back().capture) {
      frame.capture = true;
      frame.value = std::move(container);
    }
    if (m_stack.size() == 2 && frame.key == "tests" && m_stack[1].key == "results") m_saw_tests = true;
    m_stack.push_back(std::move(frame));
    return true;
  }

  bool close() {
    Frame frame = std::move(m_stack.back());
    m_stack.pop_back();
    if (!frame.capture) return true;
    if (in_tests_array()) {
      emit(frame.value);
      return true;
    }
    return attach(std::move(frame.key), std::move(frame.value));
  }

  bool value(json v) {
    if (m_stack.empty() || !m_stack.back().capture) return true;
    return attach(m_key, std::move(v));
  }

  bool attach(std::string key, json v) {
    json& parent = m_stack.back().value;
    if (parent.is_array()) parent.push_back(std::move(v));
    else parent[key] = std::move(v);
    return true;
  }

  // A whole number from 0 to INT_MAX; 0 for anything else (a fraction, a
  // string, a negative or too large number).
  static int whole_number(const json& test, const char* key) {
    const auto found = test.find(key);
    if (found == test.end() || !found->is_number_integer()) return 0;
    if (found->is_number_unsigned())
      return static_cast<int>(std::min<json::number_unsigned_t>(found->get<json::number_unsigned_t>(), INT_MAX));
    return static_cast<int>(std::clamp<json::number_integer_t>(found->get<json::number_integer_t>(), 0, INT_MAX));
  }

  static std::string text_field(const json& test, const char* key) {
    const auto found = test.find(key);
    if (found == test.end()) return {};
    if (found->is_string()) return core::sanitize_utf8(found->get<std::string>());
    if (found->is_array()) { // newer drafts allow "suite": ["outer", "inner"]
      std::string joined;
      for (const auto& part : *found)
        if (part.is_string()) joined += (joined.empty() ? "" : " / ") + core::sanitize_utf8(part.get<std::string>());
      return joined;
    }
    return {};
  }

  void emit(const json& test) {
    m_case.clear();
    m_case.name = text_field(test, "name");
    m_case.suite = text_field(test, "suite");
    m_case.file = text_field(test, "filePath");
    m_case.line = whole_number(test, "line");
    if (auto duration = test.find("duration"); duration != test.end() && duration->is_number())
      m_case.time = std::to_string(duration->get<double>() / 1000.0);
    const std::string status = text_field(test, "status");
    // Producers write these loosely ("flaky": "true", "retries": 1e9); only
    // a boolean and a whole number count, and nothing may throw.
    const auto flaky_field = test.find("flaky");
    const bool flaky = flaky_field != test.end() && flaky_field->is_boolean() && flaky_field->get<bool>();
    const int retries = whole_number(test, "retries");
    if (status == "passed") m_case.outcome = (flaky || retries > 0) ? Outcome::flaky : Outcome::passed;
    else if (status == "failed") m_case.outcome = Outcome::failed;
    else if (status == "skipped" || status == "pending" || status == "other") m_case.outcome = Outcome::skipped;
    else {
      m_sink.on_warning({"test '" + m_case.name + "' has unknown status '" + status + "'; counted as an error",
                         m_path});
      m_case.outcome = Outcome::error;
    }
    m_case.failed_attempts = retries;
    m_case.message = core::first_line(text_field(test, "message"), m_limits.message_bytes);
    m_case.details = core::truncate(text_field(test, "trace"), m_limits.details_head_bytes);
    if (auto tags = test.find("tags"); tags != test.end() && tags->is_array())
      for (const auto& tag : *tags)
        if (tag.is_string()) m_case.tags.push_back(core::sanitize_utf8(tag.get<std::string>()));
    if (auto extra = test.find("extra"); extra != test.end() && extra->is_object())
      for (const auto& [key, item] : extra->items())
        if (item.is_string() && static_cast<int>(m_case.properties.size()) < m_limits.max_properties)
          m_case.properties.emplace_back(core::sanitize_utf8(key), core::sanitize_utf8(item.get<std::string>()));
    m_sink.on_case(m_case);
  }

  std::string m_path;
  ReportSink& m_sink;
  ReadLimits m_limits;
  std::vector<Frame> m_stack;
  std::string m_key;
  std::string m_error;
  bool m_saw_tests = false;
  TestCase m_case;
};

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

} // namespace

core::Status read_ctrf(const std::string& path, ReportSink& sink, const ReadLimits& limits) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return core::make_error(core::ErrorKind::invalid_input, std::string("cannot open: ") + std::strerror(errno), path);
  CtrfSax sax(path, sink, limits);
  const bool parsed = json::sax_parse(file.get(), &sax);
  if (!parsed) return core::make_error(core::ErrorKind::invalid_input, sax.error(), path);
  if (!sax.saw_results())
    return core::make_error(core::ErrorKind::invalid_input,
                            "JSON file without results.tests: not a CTRF report", path);
  return core::ok_status();
}

} // namespace report
