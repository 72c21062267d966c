// What a Prometheus server answers to an instant query (src/deploy/
// prometheus.cpp, docs/analysis.md), read by parse_query_answer. The first
// two input bytes pick the HTTP status (200 most of the time) and whether
// the body was cut at the size limit; the rest is the body.
#include <cmath>

#include "deploy/prometheus.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input || size < 2) return 0;
  static constexpr long statuses[] = {200, 200, 200, 200, 400, 422, 500, 502, 503, 404, 301, 0};
  const long status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
  const bool truncated = (data[1] & 1) != 0;
  const std::string_view body = fuzz::text(data + 2, size - 2);
  const deploy::MetricAnswer answer = deploy::parse_query_answer(status, body, truncated);
  using Kind = deploy::MetricAnswer::Kind;
  switch (answer.kind) {
  case Kind::value:
    // A number to compare with a threshold: never NaN (that is no data),
    // and only from a whole answer with status 200.
    FUZZ_CHECK(!std::isnan(answer.value));
    FUZZ_CHECK(status == 200 && !truncated);
    break;
  case Kind::no_data:
    FUZZ_CHECK(status == 200 && !truncated);
    FUZZ_CHECK(!answer.message.empty());
    break;
  case Kind::error:
  case Kind::invalid:
    FUZZ_CHECK(!answer.message.empty()); // the analysis shows it to the user
    FUZZ_CHECK(fuzz::valid_utf8(answer.message));
    FUZZ_CHECK(answer.message.size() <= 4096); // an excerpt, not the whole body
    break;
  }
  return 0;
}
