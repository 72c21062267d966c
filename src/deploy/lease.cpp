#include "deploy/lease.hpp"

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/interrupt.hpp"
#include "deploy/layout.hpp"

namespace deploy {
namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
namespace {

constexpr milliseconds k_poll_interval{500};
constexpr milliseconds k_sleep_slice{20};
constexpr const char* k_force_hint = "shipgate lock release --force --reason TEXT";

// Guards m_token and m_held against a Heartbeat thread renewing while the
// owning thread acquires or releases. Held only for one short file update.
std::mutex g_members;

fs::path lock_file(const fs::path& dir) { return dir / "lock"; }

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

core::Error io_error(const std::string& what, const fs::path& path, int error_number) {
  return core::make_error(core::ErrorKind::runtime, what + " " + path.string() + ": " + std::strerror(error_number) +
                                                        " (check permissions and free space on the target)");
}

// flock(2) on lock.guard around every read-modify-write of the lease. The
// kernel drops it when the process dies, so it can never be left behind.
class GuardLock {
public:
  explicit GuardLock(const fs::path& dir) : m_path(dir / "lock.guard") {
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m_fd < 0) {
      m_errno = errno;
      return;
    }
    while (::flock(m_fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue; // held only for one file update by anybody
      m_errno = errno;
      ::close(m_fd);
      m_fd = -1;
      return;
    }
  }
  ~GuardLock() {
    if (m_fd >= 0) ::close(m_fd);
  }
  GuardLock(const GuardLock&) = delete;
  GuardLock& operator=(const GuardLock&) = delete;
  bool ok() const { return m_fd >= 0; }
  core::Error error() const { return io_error("cannot lock", m_path, m_errno); }

private:
  fs::path m_path;
  int m_fd = -1;
  int m_errno = 0;
};

core::Error corrupt_error(const fs::path& file, const std::string& why) {
  return core::make_error(core::ErrorKind::blocked,
                          "the lock file " + file.string() + " is unreadable (" + why +
                              "); if no deploy is running on this target, remove it with `" + k_force_hint + "`");
}

// The raw lock file, nullopt when there is none.
core::Result<std::optional<std::string>> read_raw(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return io_error("cannot read", file, errno);
  }
  std::string text;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0) text.append(buffer, static_cast<std::size_t>(got));
  const int saved = errno;
  ::close(fd);
  if (got < 0) return io_error("cannot read", file, saved);
  return std::optional<std::string>(std::move(text));
}

core::Result<LeaseInfo> parse_info(const fs::path& file, const std::string& text) {
  const json value = json::parse(text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) return corrupt_error(file, "not a JSON object");
  LeaseInfo info = LeaseInfo::from_json(value);
  if (info.token.empty()) return corrupt_error(file, "no token");
  if (!value.contains("expires_at") || !value["expires_at"].is_string() ||
      !core::parse_time_millis(value["expires_at"].get<std::string>()))
    return corrupt_error(file, "no valid expires_at");
  return info;
}

core::Result<std::optional<LeaseInfo>> read_info(const fs::path& dir) {
  const fs::path file = lock_file(dir);
  auto raw = read_raw(file);
  if (!raw) return raw.error();
  if (!*raw) return std::optional<LeaseInfo>{};
  auto info = parse_info(file, **raw);
  if (!info) return info.error();
  return std::optional<LeaseInfo>(*info);
}

// Write a temporary file next to the lease and rename it over: a reader
// sees the old lease or the new one, never half of one.
core::Status write_info(const fs::path& dir, const LeaseInfo& info) {
  const fs::path temp = dir / ("lock.tmp-" + std::to_string(::getpid()));
  const std::string text = info.to_json().dump() + "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot write", temp, errno);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), lock_file(dir).c_str()) != 0) {
    const int error_number = written ? errno : saved;
    ::unlink(temp.c_str());
    return io_error("cannot replace", lock_file(dir), error_number);
  }
  return layout::fsync_path(dir);
}

core::Status remove_info(const fs::path& dir) {
  if (::unlink(lock_file(dir).c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", lock_file(dir), errno);
  return layout::fsync_path(dir);
}

// Expired by the reader's clock, or held by a process that no longer
// exists on this very host (pids mean nothing across hosts).
bool is_stale(const LeaseInfo& info, core::SystemTime now) {
  if (info.expires_at < now) return true;
  if (info.owner.pid <= 0 || info.owner.host.empty() || info.owner.host != this_host()) return false;
  return ::kill(static_cast<pid_t>(info.owner.pid), 0) != 0 && errno == ESRCH;
}

std::string blocked_message(const fs::path& dir, const LeaseInfo& holder, milliseconds waited) {
  std::string text = "the deploy lock " + lock_file(dir).string() + " is held by " + holder.owner.describe() +
                     ", acquired at " + core::format_rfc3339_millis(holder.acquired_at) + ", expiring at " +
                     core::format_rfc3339_millis(holder.expires_at) + " unless renewed";
  if (waited.count() > 0) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, " (waited %.1f s)", static_cast<double>(waited.count()) / 1000.0);
    text += seconds;
  }
  return text + "; wait, use --wait-lock DUR, or if the holder is gone: " + k_force_hint;
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

Lease::Lease(fs::path state_dir, LeaseOwner owner, milliseconds ttl, LeaseClock clock)
    : m_dir(std::move(state_dir)), m_owner(std::move(owner)), m_ttl(ttl), m_clock(std::move(clock)) {
  if (!m_clock) m_clock = [] { return std::chrono::system_clock::now(); };
  // Stale-holder detection needs the real host and pid of whoever holds it.
  if (m_owner.host.empty()) m_owner.host = this_host();
  if (m_owner.pid == 0) m_owner.pid = ::getpid();
}

Lease::~Lease() {
  if (m_held) (void)release();
}

core::Status Lease::acquire(milliseconds wait) {
  if (m_held) return renew();
  std::error_code error;
  fs::create_directories(m_dir, error);
  if (error) return io_error("cannot create", m_dir, error.value());
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    if (core::interrupted())
      return core::make_error(core::ErrorKind::interrupted, "interrupted while waiting for the deploy lock");
    auto token = random_token();
    if (!token) return token.error();
    std::optional<LeaseInfo> holder;
    {
      std::lock_guard<std::mutex> members(g_members);
      GuardLock guard(m_dir);
      if (!guard.ok()) return guard.error();
      auto current = read_info(m_dir);
      if (!current) return current.error();
      const core::SystemTime now = m_clock();
      if (*current && !is_stale(**current, now)) {
        holder = **current;
      } else {
        const LeaseInfo mine{m_owner, *token, now, now, now + m_ttl};
        if (auto written = write_info(m_dir, mine); !written) return written;
        m_token = *token;
        m_held = true;
        return core::ok_status();
      }
    }
    const auto waited = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
    if (waited >= wait) return core::make_error(core::ErrorKind::blocked, blocked_message(m_dir, *holder, waited));
    if (!sleep_unless_interrupted(std::min(k_poll_interval, wait - waited)))
      return core::make_error(core::ErrorKind::interrupted, "interrupted while waiting for the deploy lock");
  }
}

core::Status Lease::renew() {
  std::lock_guard<std::mutex> members(g_members);
  GuardLock guard(m_dir);
  if (!guard.ok()) return guard.error();
  auto current = read_info(m_dir);
  if (!current) return current.error();
  if (!m_held || !*current || (*current)->token != m_token) {
    const std::string now_held = *current ? "it is now held by " + (*current)->owner.describe() : "it was removed";
    return core::make_error(core::ErrorKind::blocked, "the deploy lock " + lock_file(m_dir).string() +
                                                          " is no longer ours (" + now_held +
                                                          "); stop changing the target");
  }
  LeaseInfo renewed = **current;
  renewed.renewed_at = m_clock();
  renewed.expires_at = renewed.renewed_at + m_ttl;
  return write_info(m_dir, renewed);
}

core::Status Lease::release() {
  std::lock_guard<std::mutex> members(g_members);
  if (!m_held) return core::ok_status();
  m_held = false;
  GuardLock guard(m_dir);
  if (!guard.ok()) return guard.error();
  auto current = read_info(m_dir);
  if (!current) return current.error();
  if (!*current || (*current)->token != m_token) return core::ok_status(); // taken over: not ours to remove
  return remove_info(m_dir);
}

core::Result<std::optional<LeaseInfo>> Lease::read(const fs::path& state_dir) {
  std::error_code error;
  if (!fs::exists(state_dir, error)) return std::optional<LeaseInfo>{};
  GuardLock guard(state_dir);
  if (!guard.ok()) return guard.error();
  return read_info(state_dir);
}

core::Result<std::optional<LeaseInfo>> Lease::force_release(const fs::path& state_dir) {
  std::error_code error;
  if (!fs::exists(state_dir, error)) return std::optional<LeaseInfo>{};
  GuardLock guard(state_dir);
  if (!guard.ok()) return guard.error();
  auto raw = read_raw(lock_file(state_dir));
  if (!raw) return raw.error();
  if (!*raw) return std::optional<LeaseInfo>{};
  // A corrupt file is removed too; what it held is reported as far as it
  // could be read (an empty token means "unreadable").
  const json value = json::parse(**raw, nullptr, false);
  const LeaseInfo removed = value.is_discarded() ? LeaseInfo{} : LeaseInfo::from_json(value);
  if (auto gone = remove_info(state_dir); !gone) return gone.error();
  return std::optional<LeaseInfo>(removed);
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
