#include "deploy/lease.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <openssl/rand.h>
#include <unistd.h>

#include "core/interrupt.hpp"

namespace deploy {
using nlohmann::json;
using std::chrono::milliseconds;
using Change = StateStore::Change;
namespace {

constexpr milliseconds k_poll_interval{500};
constexpr milliseconds k_sleep_slice{20};
constexpr const char* k_force_hint = "shipgate lock release --force --reason TEXT";
constexpr const char* k_lock = "lock"; // its guard is "lock.guard", as in every shipgate version

// A lease lasts milliseconds in tests and seconds in real life, so its
// times keep milliseconds (core::format_rfc3339_millis).

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

core::Result<std::string> random_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes))
      return core::make_error(core::ErrorKind::runtime, "no random source for the lock token (OpenSSL and "
                                                        "/dev/urandom both failed)");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char byte : bytes) {
    token += k_hex[byte >> 4];
    token += k_hex[byte & 0xf];
  }
  return token;
}

core::Error corrupt_error(const std::string& file, const std::string& why) {
  return core::make_error(core::ErrorKind::blocked,
                          "the lock file " + file + " is unreadable (" + why +
                              "); if no deploy is running on this target, remove it with `" + k_force_hint + "`");
}

core::Result<LeaseInfo> parse_info(const std::string& file, const std::string& text) {
  const json value = json::parse(text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) return corrupt_error(file, "not a JSON object");
  LeaseInfo info = LeaseInfo::from_json(value);
  if (info.token.empty()) return corrupt_error(file, "no token");
  if (!value.contains("expires_at") || !value["expires_at"].is_string() ||
      !core::parse_time_millis(value["expires_at"].get<std::string>()))
    return corrupt_error(file, "no valid expires_at");
  return info;
}

// The lease in `current` (nullopt when there is none), with its age.
core::Result<std::optional<LeaseInfo>> parse_current(const std::string& file, const StateStore::Current& current) {
  if (!current.content) return std::optional<LeaseInfo>{};
  auto info = parse_info(file, *current.content);
  if (!info) return info.error();
  info->age = current.age;
  return std::optional<LeaseInfo>(std::move(*info));
}

std::string lease_text(const LeaseInfo& info) { return info.to_json().dump() + "\n"; }

// Expired by the target's clock, or held by a process that no longer
// exists on this very host (pids mean nothing across hosts).
bool is_stale(const LeaseInfo& info, core::SystemTime reader_now) {
  if (info.expired(reader_now)) return true;
  if (info.owner.pid <= 0 || info.owner.host.empty() || info.owner.host != this_host()) return false;
  return ::kill(static_cast<pid_t>(info.owner.pid), 0) != 0 && errno == ESRCH;
}

// One attempt to take the lease as `mine`: nullopt when it is ours now,
// otherwise its live holder. The decision is made inside the update and
// only recorded in `holder`, since a remote store may decide more than once.
core::Result<std::optional<LeaseInfo>> try_take(StateStore& store, const LeaseInfo& mine) {
  const std::string file = store.where(k_lock);
  std::optional<LeaseInfo> holder;
  auto updated = store.update(k_lock, [&](const StateStore::Current& current) -> core::Result<Change> {
    holder.reset();
    auto found = parse_current(file, current);
    if (!found) return found.error();
    if (*found && !is_stale(**found, mine.acquired_at)) {
      holder = **found;
      return Change{};
    }
    return Change{Change::Kind::write, lease_text(mine)};
  });
  if (!updated) return updated.error();
  return holder;
}

std::string seconds_text(milliseconds duration) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

std::string blocked_message(const std::string& file, const LeaseInfo& holder, milliseconds waited) {
  std::string text = "the deploy lock " + file + " is held by " + holder.owner.describe() + ", acquired at " +
                     core::format_rfc3339_millis(holder.acquired_at) + " by its clock, " + holder.describe_expiry() +
                     " unless renewed";
  if (waited.count() > 0) text += " (waited " + seconds_text(waited) + ")";
  return text + "; wait, use --wait-lock DUR, or if the holder is gone: " + k_force_hint;
}

core::Error not_ours_error(const std::string& file, const std::optional<LeaseInfo>& now_there) {
  const std::string now_held = now_there ? "it is now held by " + now_there->owner.describe() : "it was removed";
  return core::make_error(core::ErrorKind::blocked,
                          "the deploy lock " + file + " is no longer ours (" + now_held + "); stop changing the target");
}

core::Error interrupted_error() {
  return core::make_error(core::ErrorKind::interrupted, "interrupted while waiting for the deploy lock");
}

// Sleeps up to `total` in short slices; false when interrupted.
bool sleep_unless_interrupted(milliseconds total) {
  const auto until = std::chrono::steady_clock::now() + total;
  while (std::chrono::steady_clock::now() < until) {
    if (core::interrupted()) return false;
    std::this_thread::sleep_for(std::min<milliseconds>(
        k_sleep_slice, std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now())));
  }
  return !core::interrupted();
}

std::chrono::steady_clock::rep steady_now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

std::string string_at(const json& value, const char* key) {
  return value.contains(key) && value[key].is_string() ? value[key].get<std::string>() : std::string();
}

core::SystemTime time_at(const json& value, const char* key) {
  const auto time = core::parse_time_millis(string_at(value, key));
  return time ? *time : core::SystemTime{};
}

} // namespace

std::string LeaseOwner::describe() const {
  std::vector<std::string> parts;
  const std::string system = provider.empty() || provider == "none" ? "" : provider + " ";
  if (!job_url.empty()) parts.push_back(system + "job " + job_url);
  else if (!pipeline_url.empty()) parts.push_back(system + "pipeline " + pipeline_url);
  else if (!system.empty()) parts.push_back(provider);
  std::string where = pid > 0 ? "pid " + std::to_string(pid) : "";
  if (!host.empty()) where += (where.empty() ? "on " : " on ") + host;
  if (!where.empty()) parts.push_back(where);
  if (!run_id.empty()) parts.push_back("run " + run_id);
  std::string text = user.empty() ? "an unknown user" : user;
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i == 0 ? " (" : ", ") + parts[i];
  return parts.empty() ? text : text + ")";
}

std::optional<milliseconds> LeaseInfo::promised_ttl() const {
  if (ttl.count() > 0) return ttl;
  // Older leases: both times are the holder's, so their difference is right
  // whatever that clock said; a lease that never renewed has renewed_at = acquired_at.
  const core::SystemTime renewed = renewed_at != core::SystemTime{} ? renewed_at : acquired_at;
  if (renewed == core::SystemTime{}) return std::nullopt;
  // Times read from a file can sit at either end of the clock: the
  // difference is taken without overflow, and an expiry before the renewal
  // promises nothing (the lease is expired).
  std::int64_t promised = 0;
  if (__builtin_sub_overflow(expires_at.time_since_epoch().count(), renewed.time_since_epoch().count(), &promised))
    promised = expires_at > renewed ? std::numeric_limits<std::int64_t>::max() : 0;
  if (promised < 0) promised = 0;
  return std::chrono::duration_cast<milliseconds>(core::SystemTime::duration(promised));
}

bool LeaseInfo::expired(core::SystemTime reader_now) const {
  const auto promised = promised_ttl();
  if (age && promised) return *age > *promised;
  return expires_at < reader_now; // the store cannot tell: the reader's clock is all there is
}

std::string LeaseInfo::describe_expiry() const {
  const auto promised = promised_ttl();
  if (!age || !promised)
    return "expiring at " + core::format_rfc3339_millis(expires_at) + " by the holder's clock";
  const std::string renewed = "last renewed " + seconds_text(*age) + " ago by the target's clock";
  if (*age > *promised) return renewed + ", expired " + seconds_text(*age - *promised) + " ago";
  return renewed + ", expires in " + seconds_text(*promised - *age);
}

json LeaseInfo::to_json() const {
  return json{{"schema", 1},
              {"owner",
               {{"run_id", owner.run_id},
                {"provider", owner.provider},
                {"job_url", owner.job_url},
                {"pipeline_url", owner.pipeline_url},
                {"user", owner.user},
                {"host", owner.host},
                {"pid", owner.pid}}},
              {"token", token},
              {"acquired_at", core::format_rfc3339_millis(acquired_at)},
              {"renewed_at", core::format_rfc3339_millis(renewed_at)},
              {"expires_at", core::format_rfc3339_millis(expires_at)},
              {"ttl_ms", ttl.count()}};
}

LeaseInfo LeaseInfo::from_json(const json& value) {
  LeaseInfo info;
  if (!value.is_object()) return info;
  if (value.contains("owner") && value["owner"].is_object()) {
    const json& owner = value["owner"];
    info.owner.run_id = string_at(owner, "run_id");
    info.owner.provider = string_at(owner, "provider");
    info.owner.job_url = string_at(owner, "job_url");
    info.owner.pipeline_url = string_at(owner, "pipeline_url");
    info.owner.user = string_at(owner, "user");
    info.owner.host = string_at(owner, "host");
    if (owner.contains("pid") && owner["pid"].is_number_integer()) info.owner.pid = owner["pid"].get<long>();
  }
  info.token = string_at(value, "token");
  info.acquired_at = time_at(value, "acquired_at");
  info.renewed_at = time_at(value, "renewed_at");
  info.expires_at = time_at(value, "expires_at");
  if (value.contains("ttl_ms") && value["ttl_ms"].is_number_integer())
    info.ttl = milliseconds(std::max<std::int64_t>(0, value["ttl_ms"].get<std::int64_t>()));
  return info;
}

Lease::Lease(std::shared_ptr<StateStore> store, LeaseOwner owner, milliseconds ttl, LeaseClock clock)
    : m_store(std::move(store)), m_owner(std::move(owner)), m_ttl(ttl), m_clock(std::move(clock)) {
  if (!m_clock) m_clock = [] { return std::chrono::system_clock::now(); };
  // Stale-holder detection needs the real host and pid of whoever holds it.
  if (m_owner.host.empty()) m_owner.host = this_host();
  if (m_owner.pid == 0) m_owner.pid = ::getpid();
}

Lease::Lease(const std::filesystem::path& state_dir, LeaseOwner owner, milliseconds ttl, LeaseClock clock)
    : Lease(make_local_state_store(state_dir), std::move(owner), ttl, std::move(clock)) {}

Lease::~Lease() {
  if (m_held) (void)release();
}

core::Status Lease::acquire(milliseconds wait) {
  if (m_held) return renew();
  if (auto made = m_store->ensure(); !made) return made;
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    if (core::interrupted()) return interrupted_error();
    auto token = random_token();
    if (!token) return token.error();
    std::optional<LeaseInfo> holder;
    {
      std::lock_guard<std::mutex> members(m_members);
      const auto attempt = steady_now();
      const core::SystemTime now = m_clock();
      auto taken = try_take(*m_store, LeaseInfo{m_owner, *token, now, now, now + m_ttl, m_ttl, std::nullopt});
      if (!taken) return taken.error();
      if (!*taken) {
        m_token = *token;
        m_held = true;
        m_confirmed_at.store(attempt);
        return core::ok_status();
      }
      holder = std::move(*taken);
    }
    const auto waited = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    if (waited >= wait)
      return core::make_error(core::ErrorKind::blocked, blocked_message(m_store->where(k_lock), *holder, waited));
    if (!sleep_unless_interrupted(std::min(k_poll_interval, wait - waited))) return interrupted_error();
  }
}

core::Status Lease::renew() {
  std::lock_guard<std::mutex> members(m_members);
  const std::string file = m_store->where(k_lock);
  const auto attempt = steady_now();
  const core::SystemTime now = m_clock();
  auto updated = m_store->update(k_lock, [&](const StateStore::Current& current) -> core::Result<Change> {
    auto found = parse_current(file, current);
    if (!found) return found.error();
    if (!m_held || !*found || (*found)->token != m_token) return not_ours_error(file, *found);
    LeaseInfo renewed = **found;
    renewed.renewed_at = now;
    renewed.expires_at = now + m_ttl;
    renewed.ttl = m_ttl;
    return Change{Change::Kind::write, lease_text(renewed)};
  });
  if (!updated) return updated.error();
  m_confirmed_at.store(attempt);
  return core::ok_status();
}

std::chrono::steady_clock::time_point Lease::confirmed_at() const {
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(m_confirmed_at.load()));
}

core::Status Lease::release() {
  std::lock_guard<std::mutex> members(m_members);
  if (!m_held) return core::ok_status();
  m_held = false;
  const std::string file = m_store->where(k_lock);
  auto updated = m_store->update(k_lock, [&](const StateStore::Current& current) -> core::Result<Change> {
    auto found = parse_current(file, current);
    if (!found) return found.error();
    if (!*found || (*found)->token != m_token) return Change{}; // taken over: not ours to remove
    return Change{Change::Kind::remove, {}};
  });
  if (!updated) return updated.error();
  return core::ok_status();
}

core::Result<std::optional<LeaseInfo>> Lease::read(StateStore& store) {
  auto present = store.exists();
  if (!present) return present.error();
  if (!*present) return std::optional<LeaseInfo>{};
  auto current = store.read_current(k_lock);
  if (!current) return current.error();
  return parse_current(store.where(k_lock), *current);
}

core::Result<std::optional<LeaseInfo>> Lease::read(const std::filesystem::path& state_dir) {
  return read(*make_local_state_store(state_dir));
}

core::Result<std::optional<LeaseInfo>> Lease::force_release(StateStore& store) {
  auto present = store.exists();
  if (!present) return present.error();
  if (!*present) return std::optional<LeaseInfo>{};
  auto removed = store.update(k_lock, [](const StateStore::Current& current) -> core::Result<Change> {
    return current.content ? Change{Change::Kind::remove, {}} : Change{};
  });
  if (!removed) return removed.error();
  if (!*removed) return std::optional<LeaseInfo>{};
  // A corrupt file is removed too; what it held is reported as far as it
  // could be read (an empty token means "unreadable").
  const json value = json::parse(**removed, nullptr, false);
  return std::optional<LeaseInfo>(value.is_discarded() ? LeaseInfo{} : LeaseInfo::from_json(value));
}

core::Result<std::optional<LeaseInfo>> Lease::force_release(const std::filesystem::path& state_dir) {
  return force_release(*make_local_state_store(state_dir));
}

Heartbeat::Heartbeat(Lease& lease, milliseconds ttl)
    : m_lease(lease), m_ttl(ttl), m_interval(std::max(milliseconds(1), ttl / 3)) {
  m_thread = std::thread([this] {
    for (auto next = m_lease.confirmed_at() + m_interval;; next += m_interval) {
      // Counted from when the last attempt began, so slow renewals do not
      // stretch the gaps between them.
      const auto until = std::max(next, std::chrono::steady_clock::now());
      while (!m_stop.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(k_sleep_slice / 2);
      if (m_stop.load() || lost()) return;
      next = std::chrono::steady_clock::now();
      auto renewed = m_lease.renew();
      if (!renewed && renewed.error().kind == core::ErrorKind::blocked) {
        m_taken.store(true);
        m_lost.store(true); // taken over, removed, or unreadable: not ours any more
        return;
      }
    }
  });
}

bool Heartbeat::lost() const {
  if (m_lost.load()) return true;
  // Past the TTL since the last confirmed renewal another run may take the
  // lease; a late success must not make it ours again in the run's eyes.
  if (std::chrono::steady_clock::now() - m_lease.confirmed_at() >= m_ttl) m_lost.store(true);
  return m_lost.load();
}

std::string Heartbeat::lost_reason() const {
  if (m_taken.load()) return "the deploy lock was taken over by someone else (shipgate lock release --force?)";
  return "the deploy lock could not be renewed for its whole TTL of " + seconds_text(m_ttl) +
         " (the target unreachable or too slow?); another run may take it now";
}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::stop() {
  m_stop.store(true);
  if (m_thread.joinable()) m_thread.join();
}

} // namespace deploy
