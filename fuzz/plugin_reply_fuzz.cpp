// What a target plugin prints (src/deploy/plugin_driver.cpp, docs/plugins.md):
// one JSON object on stdout, read by read_plugin_answer, and for "status"
// its releases by read_plugin_status. The first input byte picks the exit
// code (0 most of the time), the rest up to the first NUL is stdout and
// what follows is stderr, the plugin's log.
#include "deploy/driver.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input || size == 0) return 0;
  deploy::PluginAnswer answer;
  answer.exit_code = data[0] < 0xF0 ? 0 : data[0] - 0xF0;
  const std::string_view rest = fuzz::text(data + 1, size - 1);
  const std::size_t split = rest.find('\0');
  answer.output = std::string(rest.substr(0, split));
  if (split != std::string_view::npos) answer.log = std::string(rest.substr(split + 1));

  const std::string who = "target plugin \"fuzz\" (/plugins/fuzz)";
  const auto read = deploy::read_plugin_answer(who, "status", answer);
  if (!read) {
    const std::string& message = read.error().message;
    FUZZ_CHECK(message.rfind(who + ", operation status: ", 0) == 0);
    FUZZ_CHECK(fuzz::valid_utf8(message)); // the log and the plugin's words are sanitized
    return 0;
  }
  FUZZ_CHECK(answer.exit_code == 0);
  FUZZ_CHECK(read->is_object() && read->at("ok") == true && read->at("protocol") == 1);
  const auto status = deploy::read_plugin_status(who, *read);
  if (!status) {
    FUZZ_CHECK(status.error().message.rfind(who, 0) == 0);
    return 0;
  }
  if (status->current) FUZZ_CHECK(!status->current->empty());
  FUZZ_CHECK(status->details.is_object());
  return 0;
}
