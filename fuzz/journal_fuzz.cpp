// The journal (src/deploy/journal.cpp over src/deploy/jsonl.cpp): the
// crash-safe record of a run in progress, read after a kill -9 to complete
// or undo it. Every record that reads is written again as the journal
// writes it and must read back the same.
#include "deploy/journal.hpp"
#include "deploy/jsonl.hpp"
#include "fuzz_support.hpp"
#include "memory_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  const std::string path = fuzz::write_input("journal.jsonl", fuzz::text(data, size));
  const deploy::Journal journal{std::filesystem::path(path)};
  FUZZ_CHECK(journal.exists());
  const auto read = journal.read();
  FUZZ_CHECK(static_cast<bool>(read));
  for (const auto& warning : read->warnings) FUZZ_CHECK(warning.rfind(path + ":", 0) == 0);

  // The line splitter on its own: it never keeps more than it was given.
  const auto lines = deploy::jsonl::parse_lines(std::string(fuzz::text(data, size)), "j", [](const auto&) { return std::string(); });
  FUZZ_CHECK(lines.values.size() >= read->records.size());

  auto store = std::make_shared<fuzz::MemoryStore>();
  const deploy::Journal again(store);
  for (const auto& record : read->records) FUZZ_CHECK(static_cast<bool>(again.write(record)));
  const auto reread = again.read();
  FUZZ_CHECK(static_cast<bool>(reread));
  FUZZ_CHECK(reread->warnings.empty());
  FUZZ_CHECK(reread->records.size() == read->records.size());
  for (std::size_t i = 0; i < read->records.size(); ++i)
    if (reread->records[i].to_json() != read->records[i].to_json()) {
      std::fprintf(stderr, "read:    %s\nre-read: %s\n", read->records[i].to_json().dump().c_str(),
                   reread->records[i].to_json().dump().c_str());
      FUZZ_CHECK(!"a re-serialised line reads back the same");
    }
  return 0;
}
