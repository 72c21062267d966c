// JUnit XML in every dialect (src/report/junit_reader.cpp over the
// hardened expat stream of src/report/xml_stream.cpp): the reader
// gate-on-test-report runs on each --report file.
#include <cstring>

#include "report_fuzz.hpp"

namespace {

// A DOCTYPE (and with it every entity declaration) must stay refused: an
// XML bomb that expanded would be a denial of service on the CI runner.
void check_doctype_refused() {
  const std::string bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                           "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n"
                           "<testsuite name=\"s\" tests=\"1\"><testcase name=\"&lol2;\"/></testsuite>\n";
  const std::string path = fuzz::write_input("bomb.xml", bomb);
  const gate::Policy policy;
  gate::Tally tally(policy);
  const core::Status read = report::read_junit(path, tally);
  FUZZ_CHECK(!read);
  FUZZ_CHECK(read.error().message.find("DOCTYPE") != std::string::npos);
  FUZZ_CHECK(tally.totals().tests == 0);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  check_doctype_refused();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fuzz_report(report::Format::junit, "report.xml", fuzz::text(data, size));
  return 0;
}
