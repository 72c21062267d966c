#include "core/step_result.hpp"

namespace core {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
  case Verdict::pass: return "pass";
  case Verdict::fail: return "fail";
  case Verdict::inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

std::string_view to_string(CheckStatus status) {
  switch (status) {
  case CheckStatus::pass: return "pass";
  case CheckStatus::fail: return "fail";
  case CheckStatus::warn: return "warn";
  case CheckStatus::skip: return "skip";
  case CheckStatus::inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

} // namespace core
