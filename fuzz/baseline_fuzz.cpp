// A gate baseline (src/gate/baseline.cpp): the --json result of an earlier
// gate run given with --baseline, streamed through a SAX parser that keeps
// only the failing test ids.
#include "fuzz_support.hpp"
#include "gate/baseline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  const std::string path = fuzz::write_input("baseline.json", fuzz::text(data, size));
  const auto baseline = gate::load_baseline(path);
  if (!baseline) {
    FUZZ_CHECK(!baseline.error().message.empty());
    FUZZ_CHECK(baseline.error().location == path);
    return 0;
  }
  FUZZ_CHECK(baseline->path == path);
  // Every id is a string that was in the input.
  std::size_t bytes = 0;
  for (const auto& id : baseline->failing_ids) bytes += id.size();
  FUZZ_CHECK(bytes <= size);
  return 0;
}
