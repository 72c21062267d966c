// The deploy lock (src/deploy/lease.cpp): the lease file another run, a
// crash or a person left in <root>/.shipgate/lock. It is read as `shipgate
// status` reads it, then a run tries to take it over (a stale or corrupt
// lease must never be taken as live, nor a live one overwritten), and a
// forced release removes whatever is there.
#include <chrono>

#include <unistd.h>

#include "deploy/lease.hpp"
#include "fuzz_support.hpp"
#include "memory_store.hpp"

namespace {

using namespace std::chrono_literals;

std::string this_host() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? name : "";
}

// A clock at a fixed time, so that a run does not depend on today's date.
core::SystemTime fixed_now() { return core::SystemTime(std::chrono::seconds(1767225600)); } // 2026-01-01

void take_over(const std::string& current) {
  auto store = std::make_shared<fuzz::MemoryStore>();
  store->files["lock"] = current;
  const auto before = deploy::Lease::read(*store);
  deploy::LeaseOwner owner;
  owner.run_id = "fuzz";
  owner.user = "fuzz";
  owner.host = "fuzz-host"; // not this host: pids in the file are never signalled
  owner.pid = 1;
  {
    deploy::Lease lease(store, owner, 60s, fixed_now);
    const core::Status taken = lease.acquire(0ms);
    if (taken) {
      FUZZ_CHECK(lease.held());
      // A corrupt lock blocks (a person must force it), so the one taken
      // over was expired, or held by a process of this very host.
      FUZZ_CHECK(before && *before);
      FUZZ_CHECK((*before)->expires_at < fixed_now() || (*before)->owner.host == this_host());
      const auto now = deploy::Lease::read(*store);
      FUZZ_CHECK(now && *now && (*now)->token == lease.token());
      FUZZ_CHECK(static_cast<bool>(lease.renew()));
      FUZZ_CHECK(static_cast<bool>(lease.release()));
      FUZZ_CHECK(store->files.count("lock") == 0);
    } else {
      FUZZ_CHECK(!lease.held());
      FUZZ_CHECK(store->files["lock"] == current); // refused: the file is left as it was
    }
  }
  store->files["lock"] = current;
  const auto removed = deploy::Lease::force_release(*store);
  FUZZ_CHECK(removed && *removed);
  FUZZ_CHECK(store->files.count("lock") == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > fuzz::k_max_input) return 0;
  static const std::filesystem::path state_dir = [] {
    std::filesystem::create_directories(fuzz::scratch() / ".shipgate");
    return fuzz::scratch() / ".shipgate";
  }();
  const std::string current(fuzz::text(data, size));
  fuzz::write_input(".shipgate/lock", current);
  const auto read = deploy::Lease::read(state_dir);
  if (read && *read) {
    (void)(*read)->owner.describe();
    FUZZ_CHECK(!(*read)->token.empty());
  }
  if (!read) FUZZ_CHECK(read.error().kind == core::ErrorKind::blocked);
  take_over(current);
  return 0;
}
