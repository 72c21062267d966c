#include "gate/baseline.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

namespace gate {
namespace {

using json = nlohmann::json;

// Collects the strings of the top-level "failing_ids" array and checks the
// document is a shipgate gate result.
class BaselineSax final : public json::json_sax_t {
public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& value) override {
    if (m_depth == 2 && m_in_ids) ids.push_back(value);
    if (m_depth == 1 && m_key == "step") step = value;
    return true;
  }
  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override {
    if (m_depth == 1 && m_key == "failing_ids") m_in_ids = saw_ids = true;
    return open();
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& key) override {
    if (m_depth == 1) m_key = key;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
    message = "invalid JSON at byte " + std::to_string(position) + ": " + error.what();
    return false;
  }

  std::vector<std::string> ids;
  std::string step;
  std::string message;
  bool saw_ids = false;

private:
  bool open() {
    if (++m_depth > 64) {
      message = "JSON nested too deeply";
      return false;
    }
    return true;
  }
  bool close() {
    if (--m_depth == 1) m_in_ids = false;
    return true;
  }
  int m_depth = 0;
  std::string m_key;
  bool m_in_ids = false;
};

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

} // namespace

core::Result<Baseline> load_baseline(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file)
    return core::make_error(core::ErrorKind::invalid_input,
                            std::string("cannot read the baseline: ") + std::strerror(errno), path);
  BaselineSax sax;
  if (!json::sax_parse(file.get(), &sax)) return core::make_error(core::ErrorKind::invalid_input, sax.message, path);
  if (sax.step != "gate-on-test-report" || !sax.saw_ids)
    return core::make_error(core::ErrorKind::invalid_input,
                            "not a gate result: a baseline is the --json file of an earlier "
                            "`shipgate gate-on-test-report` run",
                            path);
  return Baseline{path, std::move(sax.ids)};
}

} // namespace gate
