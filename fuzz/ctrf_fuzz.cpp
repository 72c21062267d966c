// CTRF JSON (src/report/ctrf_reader.cpp): a SAX reader holding one test
// object at a time.
#include "report_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fuzz_report(report::Format::ctrf, "report.json", fuzz::text(data, size));
  return 0;
}
