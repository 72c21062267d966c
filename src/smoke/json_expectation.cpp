#include "smoke/json_expectation.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "smoke/describe.hpp"
#include "smoke/regex_search.hpp"

namespace smoke {
namespace {

using Json = nlohmann::json;
using Op = JsonExpectation::Op;

std::string regex_source(const JsonExpectation& expectation) {
  return expectation.value.is_string() ? expectation.value.get<std::string>() : expectation.value.dump();
}

// The operator and operand as a reader writes them: `== "ok"`, `is integer`.
std::string describe_op(const JsonExpectation& expectation) {
  const std::string operand = expectation.value.dump();
  switch (expectation.op) {
  case Op::equals:
    return "== " + operand;
  case Op::ne:
    return "!= " + operand;
  case Op::exists:
    return "exists";
  case Op::type:
    return "is " + (expectation.value.is_string() ? expectation.value.get<std::string>() : operand);
  case Op::regex:
    return "matches /" + regex_source(expectation) + "/";
  case Op::lt:
    return "< " + operand;
  case Op::le:
    return "<= " + operand;
  case Op::gt:
    return "> " + operand;
  case Op::ge:
    return ">= " + operand;
  }
  return {};
}

std::string type_name(const Json& value) {
  if (value.is_number_float()) return "number";
  if (value.is_number()) return "integer";
  return value.type_name(); // string, boolean, object, array, null
}

bool has_type(const Json& value, const std::string& wanted) {
  if (wanted == "number") return value.is_number();
  if (wanted != "integer") return !value.is_number() && value.type_name() == wanted;
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double number = value.get<double>(); // 3.0 is an integer in JSON's sense
  return std::isfinite(number) && std::floor(number) == number;
}

// JSON equality with numbers compared by value: nlohmann casts unsigned
// to signed here too (2^64-1 == -1). Recursion is bounded by the depth of
// the expected value, which comes from the checks file.
bool same(const Json& left, const Json& right) {
  if (left.is_number() && right.is_number()) return left.get<long double>() == right.get<long double>();
  if (left.type() != right.type()) return false;
  if (left.is_array()) return left.size() == right.size() && std::equal(left.begin(), left.end(), right.begin(), same);
  if (!left.is_object()) return left == right;
  if (left.size() != right.size()) return false;
  for (auto it = left.begin(); it != left.end(); ++it) {
    const auto other = right.find(it.key());
    if (other == right.end() || !same(*it, *other)) return false;
  }
  return true;
}

// Compact JSON text of a field, at most about `max_bytes`. nlohmann's dump()
// recurses once per nesting level, so a hostile "[[[[..." body would
// overflow the stack; this stops at k_max_depth and at the size limit.
void brief_into(const Json& value, std::string& out, std::size_t max_bytes, int depth) {
  constexpr int k_max_depth = 32;
  if (!value.is_structured()) {
    out += value.dump();
    return;
  }
  out += value.is_array() ? '[' : '{';
  if (depth >= k_max_depth && !value.empty()) out += "…";
  for (auto it = value.begin(); depth < k_max_depth && it != value.end() && out.size() <= max_bytes; ++it) {
    if (it != value.begin()) out += ',';
    if (value.is_object()) out += Json(it.key()).dump() + ':';
    brief_into(*it, out, max_bytes, depth + 1);
  }
  out += value.is_array() ? ']' : '}';
}

std::string brief(const Json& value, std::size_t max_bytes = k_max_actual) {
  std::string out;
  brief_into(value, out, max_bytes, 0);
  return out;
}

// Compared as long double, which holds every int64, uint64 and double
// exactly; nlohmann's own operators cast unsigned to signed (2^64-1 < -1).
std::optional<bool> compare(const Json& field, const JsonExpectation& expectation) {
  if (!field.is_number() || !expectation.value.is_number()) return std::nullopt;
  const auto left = field.get<long double>();
  const auto right = expectation.value.get<long double>();
  switch (expectation.op) {
  case Op::lt:
    return left < right;
  case Op::le:
    return left <= right;
  case Op::gt:
    return left > right;
  case Op::ge:
    return left >= right;
  default:
    return std::nullopt;
  }
}

AssertionResult judge_regex(AssertionResult result, const Json& field, const JsonExpectation& expectation) {
  const std::string text = field.is_string() ? field.get<std::string>() : brief(field, k_max_regex_subject);
  const RegexMatch match = regex_search_bounded(expectation.pattern, regex_source(expectation), text);
  result.passed = match.matched;
  result.actual = match.error.empty() ? in_quotes(text) : match.error;
  return result;
}

AssertionResult judge_field(AssertionResult result, const Json& field, const JsonExpectation& expectation) {
  result.actual = shorten(brief(field));
  switch (expectation.op) {
  case Op::exists:
    result.passed = true;
    break;
  case Op::equals:
    result.passed = same(field, expectation.value);
    break;
  case Op::ne:
    result.passed = !same(field, expectation.value);
    break;
  case Op::type:
    result.passed = expectation.value.is_string() && has_type(field, expectation.value.get<std::string>());
    result.actual = type_name(field) + " " + result.actual;
    break;
  case Op::regex:
    return judge_regex(std::move(result), field, expectation);
  default: {
    const auto ordered = compare(field, expectation);
    result.passed = ordered.value_or(false);
    if (!ordered) result.actual = type_name(field) + " " + result.actual + " (not comparable as numbers)";
  }
  }
  return result;
}

AssertionResult judge(const Json* document, const std::string& not_json, const JsonExpectation& expectation) {
  AssertionResult result{
      "json " + expectation.pointer + " " + describe_op(expectation), false, describe_op(expectation), {}};
  if (!document) {
    result.actual = not_json;
    return result;
  }
  try {
    const Json::json_pointer pointer(expectation.pointer);
    if (!document->contains(pointer)) {
      result.actual = "absent";
      return result;
    }
    return judge_field(std::move(result), document->at(pointer), expectation);
  } catch (const Json::exception& error) {
    result.actual = std::string("invalid JSON pointer: ") + error.what();
    return result;
  }
}

std::string not_json_reason(const Attempt& attempt) {
  if (attempt.body.empty()) return "body is not JSON (it is empty)";
  if (attempt.body_truncated)
    return "body is not JSON (it was cut at " + std::to_string(attempt.body.size()) + " bytes)";
  return "body is not JSON: " + in_quotes(attempt.body);
}

} // namespace

std::vector<AssertionResult> evaluate_json(const std::vector<JsonExpectation>& expectations, const Attempt& attempt) {
  std::vector<AssertionResult> results;
  if (expectations.empty()) return results;
  const Json document = Json::parse(attempt.body, nullptr, /*allow_exceptions=*/false);
  const bool parsed = !document.is_discarded();
  const std::string not_json = parsed ? std::string() : not_json_reason(attempt);
  for (const auto& expectation : expectations)
    results.push_back(judge(parsed ? &document : nullptr, not_json, expectation));
  return results;
}

} // namespace smoke
