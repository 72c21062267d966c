#include "notify/outbox.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "core/digest.hpp"
#include "core/interrupt.hpp"

namespace notify {

namespace fs = std::filesystem;
using core::ErrorKind;
using Clock = std::chrono::system_clock;

namespace {

constexpr std::size_t k_max_entry = 4 * 1024 * 1024;


long long millis(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}
// Saturates at the ends of the clock (nanoseconds in 64 bits): a damaged
// entry's time must not overflow.
Clock::time_point from_millis(long long value) {
  constexpr long long k_max = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::duration::max()).count();
  constexpr long long k_min = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::duration::min()).count();
  return Clock::time_point(std::chrono::milliseconds(std::clamp(value, k_min, k_max)));
}

// The whole number at `key`, `fallback` when absent; nullopt for anything
// else (a fraction or a string), which would not convert safely.
std::optional<long long> whole_number(const nlohmann::json& json, const char* key, long long fallback) {
  const auto found = json.find(key);
  if (found == json.end()) return fallback;
  if (!found->is_number_integer()) return std::nullopt;
  return found->get<long long>();
}

// Writes `text` to `path` so that a crash leaves the old file or the new
// one, never half of it: a temporary file, fsynced, renamed, the folder
// fsynced.
core::Status write_atomically(const fs::path& path, const std::string& text) {
  const fs::path temp = path.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return core::make_error(ErrorKind::runtime, "cannot write " + temp.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    const ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(wrote);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::error_code ignored;
    fs::remove(temp, ignored);
    return core::make_error(ErrorKind::runtime, "cannot write " + path.string() + ": " + why +
                                                    " (check free space and permissions on the outbox folder)");
  }
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return core::ok_status();
}

// An exclusive flock on `<key>.lock`, released (also by the kernel when
// the process dies) when it goes out of scope.
class EntryLock {
public:
  explicit EntryLock(const fs::path& path) {
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (m_fd >= 0 && ::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }
  ~EntryLock() {
    if (m_fd >= 0) ::close(m_fd);
  }
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;
  bool held() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

// Sleeps up to `length`, waking early when the job is interrupted.
void pause(std::chrono::milliseconds length) {
  const auto until = std::chrono::steady_clock::now() + length;
  while (!core::interrupted() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100), length));
}

std::chrono::milliseconds jittered(std::chrono::milliseconds delay) {
  static thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<long long> spread(0, std::max<long long>(1, delay.count() / 4));
  return delay + std::chrono::milliseconds(spread(random));
}

nlohmann::json entry_json(const OutboxEntry& entry) {
  return {{"schema", 1},
          {"key", entry.key},
          {"channel", entry.channel},
          {"recipients", entry.recipients},
          {"state", entry.state},
          {"attempts", entry.attempts},
          {"last_detail", entry.last_detail},
          {"queued_ms", millis(entry.queued)},
          {"last_attempt_ms", millis(entry.last_attempt)},
          {"message", to_json(entry.message)}};
}

} // namespace

nlohmann::json to_json(const Message& message) {
  nlohmann::json attachments = nlohmann::json::array();
  for (const auto& attachment : message.attachments)
    attachments.push_back({{"path", attachment.path}, {"name", attachment.name}, {"content_type", attachment.content_type}});
  return {{"id", message.id},           {"thread", message.thread},   {"thread_start", message.thread_start},
          {"event", message.event},     {"urgency", message.urgency}, {"subject", message.subject},
          {"text", message.text},       {"html", message.html},       {"markdown", message.markdown},
          {"attachments", attachments}, {"data", message.data},       {"created_ms", millis(message.created)}};
}

core::Result<Message> message_from_json(const nlohmann::json& json) {
  try {
    Message message;
    message.id = json.at("id").get<std::string>();
    message.thread = json.value("thread", std::string());
    message.thread_start = json.value("thread_start", false);
    message.event = json.value("event", std::string());
    message.urgency = json.value("urgency", std::string());
    message.subject = json.value("subject", std::string());
    message.text = json.value("text", std::string());
    message.html = json.value("html", std::string());
    message.markdown = json.value("markdown", std::string());
    for (const auto& item : json.value("attachments", nlohmann::json::array()))
      message.attachments.push_back({item.at("path").get<std::string>(), item.value("name", std::string()),
                                     item.value("content_type", std::string())});
    message.data = json.value("data", nlohmann::json::object());
    const auto created = whole_number(json, "created_ms", 0);
    if (!created) return core::make_error(ErrorKind::invalid_input, "not a message: created_ms is not a whole number");
    message.created = from_millis(*created);
    if (message.id.empty()) return core::make_error(ErrorKind::invalid_input, "a message without an id");
    return message;
  } catch (const nlohmann::json::exception& error) {
    return core::make_error(ErrorKind::invalid_input, std::string("not a message: ") + error.what());
  }
}

std::chrono::milliseconds RateLimiter::wait(std::chrono::steady_clock::time_point now) {
  m_sent.erase(std::remove_if(m_sent.begin(), m_sent.end(), [&](auto sent) { return now - sent >= m_window; }),
               m_sent.end());
  if (static_cast<int>(m_sent.size()) < m_count) return std::chrono::milliseconds(0);
  const auto oldest = *std::min_element(m_sent.begin(), m_sent.end());
  return std::chrono::duration_cast<std::chrono::milliseconds>(oldest + m_window - now) + std::chrono::milliseconds(1);
}

void RateLimiter::record(std::chrono::steady_clock::time_point now) { m_sent.push_back(now); }

core::Result<Outbox> Outbox::open(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error || !fs::is_directory(folder))
    return core::make_error(ErrorKind::runtime, "cannot create the outbox folder " + folder.string() + ": " +
                                                    (error ? error.message() : "not a folder"));
  fs::permissions(folder, fs::perms::owner_all, fs::perm_options::replace, error);
  return Outbox(folder);
}

core::Status Outbox::write_entry(const OutboxEntry& entry) const {
  return write_atomically(m_folder / (entry.key + ".json"), entry_json(entry).dump(2) + "\n");
}

core::Result<OutboxEntry> Outbox::read_entry(const std::string& key) const {
  const fs::path path = m_folder / (key + ".json");
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) return core::make_error(ErrorKind::runtime, "cannot read " + path.string() + ": " + error.message());
  if (size > k_max_entry) return core::make_error(ErrorKind::invalid_input, path.string() + " is too large to be an outbox entry");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return core::make_error(ErrorKind::invalid_input, path.string() + " is not a readable outbox entry (not JSON)");
  auto message = message_from_json(json.value("message", nlohmann::json()));
  if (!message) return core::make_error(ErrorKind::invalid_input, path.string() + ": " + message.error().message);
  OutboxEntry entry;
  entry.key = key;
  // A field of the wrong type (a damaged or foreign file) makes the entry
  // unreadable: a warning, never an exception out of the flush.
  const auto attempts = whole_number(json, "attempts", 0);
  const auto queued = whole_number(json, "queued_ms", 0);
  const auto last_attempt = whole_number(json, "last_attempt_ms", 0);
  if (!attempts || !queued || !last_attempt || *attempts < 0 || *attempts > std::numeric_limits<int>::max())
    return core::make_error(ErrorKind::invalid_input,
                            path.string() + " is not a readable outbox entry (attempts, queued_ms or last_attempt_ms "
                                            "is not a whole number in range)");
  try {
    entry.channel = json.value("channel", std::string());
    for (const auto& recipient : json.value("recipients", nlohmann::json::array()))
      if (recipient.is_string()) entry.recipients.push_back(recipient.get<std::string>());
    entry.state = json.value("state", std::string("pending"));
    entry.last_detail = json.value("last_detail", std::string());
  } catch (const nlohmann::json::exception& error) {
    return core::make_error(ErrorKind::invalid_input,
                            path.string() + " is not a readable outbox entry (" + error.what() + ")");
  }
  entry.attempts = static_cast<int>(*attempts);
  entry.queued = from_millis(*queued);
  entry.last_attempt = from_millis(*last_attempt);
  entry.message = std::move(*message);
  if (entry.channel.empty()) return core::make_error(ErrorKind::invalid_input, path.string() + " names no channel");
  return entry;
}

core::Result<std::string> Outbox::put(const std::string& channel, const Message& message,
                                      const std::vector<std::string>& recipients) {
  OutboxEntry entry;
  entry.key = core::sha256_hex(message.id + "\n" + channel).substr(0, 32);
  if (fs::exists(m_folder / (entry.key + ".json"))) return entry.key; // queued before: the same message
  entry.channel = channel;
  entry.recipients = recipients;
  entry.state = "pending";
  entry.queued = Clock::now();
  entry.message = message;
  // Attachments are copied: the job's workspace may be gone at the flush.
  if (!message.attachments.empty()) {
    const fs::path files = m_folder / (entry.key + ".files");
    std::error_code error;
    fs::create_directories(files, error);
    for (std::size_t i = 0; i < message.attachments.size(); ++i) {
      auto& attachment = entry.message.attachments[i];
      const fs::path source = attachment.path;
      if (attachment.name.empty()) attachment.name = source.filename().string();
      const fs::path copy = files / (std::to_string(i) + "-" + source.filename().string());
      fs::copy_file(source, copy, fs::copy_options::overwrite_existing, error);
      if (error)
        return core::make_error(ErrorKind::runtime, "cannot keep the attachment " + source.string() +
                                                        " in the outbox: " + error.message());
      attachment.path = copy.string();
    }
  }
  if (auto written = write_entry(entry); !written) return written.error();
  return entry.key;
}

core::Result<std::vector<OutboxEntry>> Outbox::entries(std::vector<std::string>& warnings) const {
  std::vector<OutboxEntry> out;
  std::error_code error;
  for (fs::directory_iterator it(m_folder, error), end; !error && it != end; it.increment(error)) {
    const fs::path path = it->path();
    if (path.extension() != ".json" || !it->is_regular_file()) continue;
    auto entry = read_entry(path.stem().string());
    if (!entry) {
      warnings.push_back(entry.error().message + "; left as it is");
      continue;
    }
    out.push_back(std::move(*entry));
  }
  if (error) return core::make_error(ErrorKind::runtime, "cannot list the outbox " + m_folder.string() + ": " + error.message());
  std::sort(out.begin(), out.end(), [](const OutboxEntry& a, const OutboxEntry& b) {
    return a.queued != b.queued ? a.queued < b.queued : a.key < b.key;
  });
  return out;
}

FlushReport Outbox::flush(const Deliver& deliver, const Budget& budget, const RetryPolicy& policy,
                          const std::vector<std::string>& keys, bool retry_failed) {
  FlushReport report;
  auto listed = entries(report.warnings);
  if (!listed) {
    report.warnings.push_back(listed.error().message);
    return report;
  }
  for (const auto& seen : *listed) {
    if (!keys.empty() && std::find(keys.begin(), keys.end(), seen.key) == keys.end()) continue;
    const std::string label = seen.channel + ": " + seen.message.subject;
    EntryLock lock(m_folder / (seen.key + ".lock"));
    if (!lock.held()) { // another flush is on it
      report.skipped.push_back(seen.key);
      report.lines.push_back(label + ": being sent by another flush");
      continue;
    }
    // Read again under the lock: another flush may have sent it meanwhile.
    auto current = read_entry(seen.key);
    if (!current) {
      report.warnings.push_back(current.error().message);
      continue;
    }
    OutboxEntry entry = std::move(*current);
    if (entry.state == "delivered" || (entry.state == "failed" && !retry_failed)) continue;
    Delivery result{DeliveryStatus::transient, "not tried: the job was interrupted"};
    std::chrono::milliseconds delay = policy.first_delay;
    for (int attempt = 0; attempt < std::max(1, policy.attempts); ++attempt) {
      if (core::interrupted()) break;
      if (RateLimiter* limiter = budget ? budget(entry.channel) : nullptr) {
        const auto wait = limiter->wait(std::chrono::steady_clock::now());
        if (wait > policy.max_rate_wait) {
          result = {DeliveryStatus::transient, "rate budget of " + entry.channel + " used up; left for a later flush"};
          break;
        }
        pause(wait);
        limiter->record(std::chrono::steady_clock::now());
      }
      entry.attempts += 1;
      entry.last_attempt = Clock::now();
      result = deliver(entry);
      if (result.status != DeliveryStatus::transient || attempt + 1 >= policy.attempts) break;
      const auto wait = result.retry_after
                            ? std::min<std::chrono::milliseconds>(*result.retry_after, policy.max_delay)
                            : jittered(std::min(delay, policy.max_delay));
      pause(wait);
      delay *= 2;
    }
    entry.last_detail = result.detail;
    entry.state = result.ok() ? "delivered" : result.status == DeliveryStatus::permanent ? "failed" : "pending";
    if (auto written = write_entry(entry); !written)
      report.warnings.push_back(written.error().message + (result.ok() ? "; it was delivered and may be sent again" : ""));
    (entry.state == "delivered" ? report.delivered : entry.state == "failed" ? report.failed : report.pending)
        .push_back(entry.key);
    report.lines.push_back(label + ": " + entry.state + (result.detail.empty() ? "" : " (" + result.detail + ")"));
  }
  return report;
}

} // namespace notify
