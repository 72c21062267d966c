// An entry of the notification outbox (src/notify/outbox.cpp): a JSON file
// per (message, channel) that a later `shipgate notify --flush` reads back,
// possibly written by another shipgate version or damaged by a full disk.
// Entries are read as a flush lists them; every message that reads must
// survive its own serialisation (the outbox rewrites entries after each
// attempt).
#include "fuzz_support.hpp"
#include "notify/outbox.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  static const std::filesystem::path folder = fuzz::scratch() / "outbox";
  static notify::Outbox outbox = [] {
    auto opened = notify::Outbox::open(folder);
    FUZZ_CHECK(static_cast<bool>(opened));
    return std::move(*opened);
  }();
  fuzz::write_input("outbox/0123456789abcdef0123456789abcdef.json", fuzz::text(data, size));
  std::vector<std::string> warnings;
  const auto entries = outbox.entries(warnings);
  FUZZ_CHECK(static_cast<bool>(entries));
  FUZZ_CHECK(entries->size() + warnings.size() == 1);
  for (const auto& entry : *entries) {
    FUZZ_CHECK(!entry.channel.empty());
    FUZZ_CHECK(!entry.message.id.empty());
    const nlohmann::json written = notify::to_json(entry.message);
    const auto again = notify::message_from_json(written);
    FUZZ_CHECK(static_cast<bool>(again));
    FUZZ_CHECK(notify::to_json(*again) == written);
  }
  return 0;
}
