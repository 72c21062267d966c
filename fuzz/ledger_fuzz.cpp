// The ledger (src/deploy/ledger.cpp over src/deploy/jsonl.cpp): the
// JSON-lines record of every deploy on a target, read from its file as a
// deploy, rollback or `shipgate history` reads it. Every entry that reads
// is written again as the ledger writes it and must read back the same.
#include "deploy/ledger.hpp"
#include "fuzz_support.hpp"
#include "memory_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  const std::string path = fuzz::write_input("ledger.jsonl", fuzz::text(data, size));
  const auto read = deploy::Ledger(std::filesystem::path(path)).read();
  FUZZ_CHECK(static_cast<bool>(read)); // a readable file is never an error, only warnings
  for (const auto& warning : read->warnings) FUZZ_CHECK(warning.rfind(path + ":", 0) == 0);

  auto store = std::make_shared<fuzz::MemoryStore>();
  const deploy::Ledger again(store);
  for (const auto& entry : read->entries) FUZZ_CHECK(static_cast<bool>(again.append(entry)));
  const auto reread = again.read();
  FUZZ_CHECK(static_cast<bool>(reread));
  FUZZ_CHECK(reread->warnings.empty());
  FUZZ_CHECK(reread->entries.size() == read->entries.size());
  for (std::size_t i = 0; i < read->entries.size(); ++i)
    if (reread->entries[i].to_json() != read->entries[i].to_json()) {
      std::fprintf(stderr, "read:    %s\nre-read: %s\n", read->entries[i].to_json().dump().c_str(),
                   reread->entries[i].to_json().dump().c_str());
      FUZZ_CHECK(!"a re-serialised line reads back the same");
    }
  return 0;
}
