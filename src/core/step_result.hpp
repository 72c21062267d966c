#pragma once
// One result model for every step (gate, deploy, smoke, rollback). Steps
// fill it; renderers in render/ only format it.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/exit_code.hpp"
#include "core/time.hpp"

namespace core {

enum class Verdict { pass, fail, inconclusive };
std::string_view to_string(Verdict verdict);

enum class CheckStatus { pass, fail, warn, skip, inconclusive };
std::string_view to_string(CheckStatus status);

// One rule or check that contributed to the verdict. Rendered as one JUnit
// testcase, one table row, one terminal line.
struct Check {
  std::string id;          // stable, kebab-case: "failures-A", "min-tests"
  std::string title;       // short human title
  CheckStatus status = CheckStatus::pass;
  std::string explanation; // why it passed or failed, with the numbers
  std::string actual;      // measured value, as text ("3"), may be empty
  std::string limit;       // the limit it was compared with, may be empty
  std::string transcript;  // what was sent and what came back (smoke checks), may be empty
  double seconds = -1;     // how long the check took; < 0 when not measured
};

// Something a CI system can point at: a failing test, a warning.
struct Finding {
  enum class Severity { error, warning, notice };
  Severity severity = Severity::error;
  std::string title;   // "[A] failed: tests.test_pay::test_refund"
  std::string message; // first lines of the failure
  std::string file;    // relative path when known
  int line = 0;
};

struct StepResult {
  std::string step;                 // "gate-on-test-report"
  std::string checks_label = "checks"; // JSON key for `checks` ("rules" for the gate)
  Verdict verdict = Verdict::pass;
  ExitCode exit_code = ExitCode::success;
  std::string headline;             // one line: "FAIL: 2 A-level failures (limit 0)"
  std::vector<Check> checks;
  std::vector<Finding> findings;    // most important first
  std::size_t findings_omitted = 0; // beyond the listed ones
  std::vector<std::string> warnings;
  // Key/values for $GITHUB_OUTPUT and the dotenv file, e.g. {"verdict","fail"}.
  std::vector<std::pair<std::string, std::string>> outputs;
  // Step-specific data merged into the JSON document (e.g. "totals", "failures").
  nlohmann::json details = nlohmann::json::object();
  // Extra lines for the terminal summary and Markdown (e.g. a totals line).
  std::vector<std::string> summary_lines;
  // Commands that show a document rather than a verdict (plan show,
  // status, history) set these: the terminal prints text_view instead of
  // the check list, and --markdown writes markdown_view.
  std::string text_view;
  std::string markdown_view;
  SystemTime started_at{};
  SystemTime finished_at{};
};

// A copy with `edit` applied to every text a renderer may write: strings
// and object keys of JSON, every field of a result (not its enums, numbers,
// times, output names or checks_label). The redactor runs here, on the
// model, before any format escapes a secret (`"` to `\"`, `&` to `&amp;`) or
// cuts it short, which would hide it from a redactor that only sees the
// written bytes.
using TextEdit = std::function<std::string(std::string_view)>;
nlohmann::json map_strings(const nlohmann::json& value, const TextEdit& edit);
StepResult map_strings(const StepResult& result, const TextEdit& edit);

} // namespace core
