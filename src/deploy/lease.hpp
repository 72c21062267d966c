#pragma once
// The deploy lock: a lease kept on the target ("lock" in the target's
// StateStore: <root>/.shipgate/lock) that names its holder (CI system, job
// URL, user, host, pid), has a TTL, and is renewed by a heartbeat while
// the run lasts. A lease whose holder stopped renewing expires by itself;
// a lease held by a dead process on this same host is stale at once.
// Replacing the lease is a StateStore::update, under flock(2) on
// <root>/.shipgate/lock.guard, which the kernel releases when a process
// dies, so no crash can leave the guard held (older shipgate versions use
// the same guard, so they and this one exclude each other).
//
// Expiry is judged by one clock, the target's: a lease has expired when the
// lock file was last replaced longer ago than the holder's TTL, both
// measured on the machine that holds the store (StateStore::Current::age).
// The clocks of the runners, which may differ by any amount, only write
// the times shown to people; the holder watches its own deadline on its
// steady clock (Heartbeat). docs/deploy.md "Locks".
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/time.hpp"
#include "deploy/state_store.hpp"

namespace deploy {

struct LeaseOwner {
  std::string run_id;
  std::string provider; // github, gitlab, jenkins, none
  std::string job_url;
  std::string pipeline_url;
  std::string user;
  std::string host;     // gethostname()
  long pid = 0;
  std::string describe() const; // "alice (gitlab job https://…, pid 4242 on runner-3)"
};

struct LeaseInfo {
  LeaseOwner owner;
  std::string token; // random; proves a renewal or release is by the holder
  // By the holder's clock, for people to read; expiry is judged by `age`.
  core::SystemTime acquired_at{};
  core::SystemTime renewed_at{};
  core::SystemTime expires_at{};
  // The holder's TTL ("ttl_ms"); 0 in leases of versions that did not record it.
  std::chrono::milliseconds ttl{0};
  // Not in the file: the time since its last renewal by the target's clock,
  // when the store could tell (set by Lease::read and while acquiring).
  std::optional<std::chrono::milliseconds> age;

  // The TTL the holder promised: `ttl`, or for older leases expires_at -
  // renewed_at (both by the holder's clock, so skew cancels out); nullopt
  // when neither is known.
  std::optional<std::chrono::milliseconds> promised_ttl() const;
  // Older than its promised TTL by the target's clock. Only when the age or
  // the TTL is unknown does it fall back to expires_at against `reader_now`.
  bool expired(core::SystemTime reader_now) const;
  // "last renewed 12.0 s ago by the target's clock, expires in 288.0 s", or
  // "expiring at <expires_at> by the holder's clock" without an age.
  std::string describe_expiry() const;

  nlohmann::json to_json() const;
  static LeaseInfo from_json(const nlohmann::json& json);
};

using LeaseClock = std::function<core::SystemTime()>; // injectable for clock-skew tests

class Lease {
public:
  // The lease in `store` (whose folder acquire() creates when missing).
  Lease(std::shared_ptr<StateStore> store, LeaseOwner owner, std::chrono::milliseconds ttl,
        LeaseClock clock = nullptr);
  // `state_dir` is <root>/.shipgate on this machine (a local store).
  Lease(const std::filesystem::path& state_dir, LeaseOwner owner, std::chrono::milliseconds ttl,
        LeaseClock clock = nullptr);
  ~Lease(); // releases the lease if still held
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // Takes the lease when it is free, expired, or held by a dead process on
  // this host. Otherwise polls (about every second) until `wait` has passed
  // and then fails with ErrorKind::blocked naming the holder and when the
  // lease expires. Stops early, with ErrorKind::interrupted, on
  // core::interrupted().
  core::Status acquire(std::chrono::milliseconds wait);
  // Extends the lease by the TTL; ErrorKind::blocked when it is no longer
  // ours, ErrorKind::runtime when the store could not be reached.
  core::Status renew();
  // Removes the lease if it is still ours.
  core::Status release();
  bool held() const { return m_held; }
  const std::string& token() const { return m_token; }
  // When the last successful acquire or renew began, by this machine's
  // steady clock: the target stamped the lease after that, so the lease
  // is ours for at least the TTL from then.
  std::chrono::steady_clock::time_point confirmed_at() const;

  // The lease as it is in the store (nullopt when there is none), with its
  // age; an ErrorKind::blocked error when the lock file is unreadable.
  static core::Result<std::optional<LeaseInfo>> read(StateStore& store);
  static core::Result<std::optional<LeaseInfo>> read(const std::filesystem::path& state_dir);
  // Removes whatever lease is there (an unreadable one too), under the
  // guard; returns what it removed (an empty token: it was unreadable).
  static core::Result<std::optional<LeaseInfo>> force_release(StateStore& store);
  static core::Result<std::optional<LeaseInfo>> force_release(const std::filesystem::path& state_dir);

private:
  std::shared_ptr<StateStore> m_store;
  LeaseOwner m_owner;
  std::chrono::milliseconds m_ttl;
  LeaseClock m_clock;
  // Guards m_token and m_held against the Heartbeat thread renewing while
  // the owning thread acquires or releases; held for one store update.
  // One per lease, so a slow host does not delay other hosts' renewals.
  std::mutex m_members;
  std::string m_token;
  bool m_held = false;
  std::atomic<std::chrono::steady_clock::rep> m_confirmed_at{0};
};

// Renews a held lease every TTL/3 on its own thread until stopped or
// destroyed. lost() turns true, and stays true, when a renewal found the
// lease taken, or when no renewal succeeded for a whole TTL by this
// machine's steady clock (the target unreachable, a renewal hanging):
// from then on another run may take the lease, so the run must stop
// changing the target. A renewal that fails for another reason is retried.
class Heartbeat {
public:
  Heartbeat(Lease& lease, std::chrono::milliseconds ttl);
  ~Heartbeat();
  void stop();
  bool lost() const;
  // Why lost() is true: the lease was taken, or it was not renewed in time.
  std::string lost_reason() const;

private:
  Lease& m_lease;
  std::chrono::milliseconds m_ttl;
  std::chrono::milliseconds m_interval;
  std::atomic<bool> m_stop{false};
  mutable std::atomic<bool> m_lost{false};
  std::atomic<bool> m_taken{false}; // a renewal found the lease no longer ours
  std::thread m_thread;
};

} // namespace deploy
