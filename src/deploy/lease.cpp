#include "deploy/lease.hpp"

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
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

// The lease in `current` (nullopt when there is none).
core::Result<std::optional<LeaseInfo>> parse_current(const std::string& file,
                                                     const std::optional<std::string>& current) {
  if (!current) return std::optional<LeaseInfo>{};
  auto info = parse_info(file, *current);
  if (!info) return info.error();
  return std::optional<LeaseInfo>(std::move(*info));
}

std::string lease_text(const LeaseInfo& info) { return info.to_json().dump() + "\n"; }

// Expired by the reader's clock, or held by a process that no longer
// exists on this very host (pids mean nothing across hosts).
bool is_stale(const LeaseInfo& info, core::SystemTime now) {
  if (info.expires_at < now) return true;
  if (info.owner.pid <= 0 || info.owner.host.empty() || info.owner.host != this_host()) return false;
  return ::kill(static_cast<pid_t>(info.owner.pid), 0) != 0 && errno == ESRCH;
}

// One attempt to take the lease as `mine`: nullopt when it is ours now,
// otherwise its live holder. The decision is made inside the update and
// only recorded in `holder`, since a remote store may decide more than once.
core::Result<std::optional<LeaseInfo>> try_take(StateStore& store, const LeaseInfo& mine) {
  const std::string file = store.where(k_lock);
  std::optional<LeaseInfo> holder;
  auto updated = store.update(k_lock, [&](const std::optional<std::string>& current) -> core::Result<Change> {
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

std::string blocked_message(const std::string& file, const LeaseInfo& holder, milliseconds waited) {
  std::string text = "the deploy lock " + file + " is held by " + holder.owner.describe() + ", acquired at " +
                     core::format_rfc3339_millis(holder.acquired_at) + ", expiring at " +
                     core::format_rfc3339_millis(holder.expires_at) + " unless renewed";
  if (waited.count() > 0) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, " (waited %.1f s)", static_cast<double>(waited.count()) / 1000.0);
    text += seconds;
  }
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
              {"expires_at", core::format_rfc3339_millis(expires_at)}};
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
      const core::SystemTime now = m_clock();
      auto taken = try_take(*m_store, LeaseInfo{m_owner, *token, now, now, now + m_ttl});
      if (!taken) return taken.error();
      if (!*taken) {
        m_token = *token;
        m_held = true;
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
  const core::SystemTime now = m_clock();
  auto updated = m_store->update(k_lock, [&](const std::optional<std::string>& current) -> core::Result<Change> {
    auto found = parse_current(file, current);
    if (!found) return found.error();
    if (!m_held || !*found || (*found)->token != m_token) return not_ours_error(file, *found);
    LeaseInfo renewed = **found;
    renewed.renewed_at = now;
    renewed.expires_at = now + m_ttl;
    return Change{Change::Kind::write, lease_text(renewed)};
  });
  if (!updated) return updated.error();
  return core::ok_status();
}

core::Status Lease::release() {
  std::lock_guard<std::mutex> members(m_members);
  if (!m_held) return core::ok_status();
  m_held = false;
  const std::string file = m_store->where(k_lock);
  auto updated = m_store->update(k_lock, [&](const std::optional<std::string>& current) -> core::Result<Change> {
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
  // The lease is only ever replaced by rename(2), so a plain read sees a
  // whole one without taking the guard.
  auto raw = store.read(k_lock);
  if (!raw) return raw.error();
  return parse_current(store.where(k_lock), *raw);
}

core::Result<std::optional<LeaseInfo>> Lease::read(const std::filesystem::path& state_dir) {
  return read(*make_local_state_store(state_dir));
}

core::Result<std::optional<LeaseInfo>> Lease::force_release(StateStore& store) {
  auto present = store.exists();
  if (!present) return present.error();
  if (!*present) return std::optional<LeaseInfo>{};
  auto removed = store.update(k_lock, [](const std::optional<std::string>& current) -> core::Result<Change> {
    return current ? Change{Change::Kind::remove, {}} : Change{};
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
    : m_lease(lease), m_interval(std::max(milliseconds(1), ttl / 3)) {
  m_thread = std::thread([this] {
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + m_interval;
      while (!m_stop.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(k_sleep_slice / 2);
      if (m_stop.load()) return;
      if (!m_lease.renew()) {
        m_lost.store(true);
        return;
      }
    }
  });
}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::stop() {
  m_stop.store(true);
  if (m_thread.joinable()) m_thread.join();
}

} // namespace deploy
