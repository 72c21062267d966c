#include "steps/registry.hpp"

#include "steps/gate_on_test_report.hpp"
#include "steps/smoke_test.hpp"

namespace steps {

std::vector<std::unique_ptr<Step>> make_steps() {
  std::vector<std::unique_ptr<Step>> all;
  all.push_back(make_gate_on_test_report());
  all.push_back(make_smoke_test());
  return all;
}

} // namespace steps
