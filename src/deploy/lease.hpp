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
  core::SystemTime acquired_at{};
  core::SystemTime renewed_at{};
  core::SystemTime expires_at{};
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
  // Extends the lease by the TTL; ErrorKind::blocked when it is no longer ours.
  core::Status renew();
  // Removes the lease if it is still ours.
  core::Status release();
  bool held() const { return m_held; }
  const std::string& token() const { return m_token; }

  // The lease as it is in the store (nullopt when there is none); an
  // ErrorKind::blocked error when the lock file is unreadable.
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
};

// Renews a held lease every TTL/3 on its own thread until stopped or
// destroyed. lost() turns true when a renewal found the lease taken.
class Heartbeat {
public:
  Heartbeat(Lease& lease, std::chrono::milliseconds ttl);
  ~Heartbeat();
  void stop();
  bool lost() const { return m_lost.load(); }

private:
  Lease& m_lease;
  std::chrono::milliseconds m_interval;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_lost{false};
  std::thread m_thread;
};

} // namespace deploy
