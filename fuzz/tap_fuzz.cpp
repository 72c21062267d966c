// TAP 12, 13 and 14 streams (src/report/tap_reader.cpp): test points,
// directives, YAML diagnostic blocks, subtests, plans and bail-outs.
#include "report_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fuzz_report(report::Format::tap, "report.tap", fuzz::text(data, size));
  return 0;
}
