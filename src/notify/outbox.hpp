#pragma once
// The durable outbox of notifications: nothing is lost when a channel is
// down. Every message is written to the outbox before its first attempt,
// one file per (message, channel), with copies of its attachments; a flush
// delivers what is pending, each entry under its own lock (flock, so a
// killed flush leaves none held) and marked delivered before the lock is
// released, so two flushes never send the same entry twice. A crash
// between a delivery and its mark re-sends it once; the message id stays
// the same (the generic webhook's webhook-id, the mail Message-ID), so
// receivers can drop the copy.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "notify/message.hpp"

namespace notify {

struct OutboxEntry {
  std::string key;       // file name stem: hash of (message id, channel)
  std::string channel;   // the plan's channel name
  std::vector<std::string> recipients; // mail: the addresses (To); chat and webhooks: none
  Message message;       // attachment paths point into the outbox
  std::string state;     // pending | delivered | failed (permanent)
  int attempts = 0;
  std::string last_detail;
  std::chrono::system_clock::time_point queued{}, last_attempt{};
};

nlohmann::json to_json(const Message& message);
core::Result<Message> message_from_json(const nlohmann::json& json);

// At most `count` sends per `window` (a sliding window): DingTalk and WeCom
// 20 per minute, Feishu 5 per second, Slack 1 per second.
class RateLimiter {
public:
  RateLimiter(int count, std::chrono::milliseconds window) : m_count(count), m_window(window) {}
  // How long to wait before the next send may go at `now` (0: now).
  std::chrono::milliseconds wait(std::chrono::steady_clock::time_point now);
  void record(std::chrono::steady_clock::time_point now);

private:
  int m_count;
  std::chrono::milliseconds m_window;
  std::vector<std::chrono::steady_clock::time_point> m_sent;
};

struct RetryPolicy {
  int attempts = 3;                                  // per entry and flush, for transient failures
  std::chrono::milliseconds first_delay{1000};       // then doubled, with jitter
  std::chrono::milliseconds max_delay{30000};        // a server's Retry-After is honoured up to this
  std::chrono::milliseconds max_rate_wait{90000};    // longer than this behind a rate budget: left pending
};

struct FlushReport {
  std::vector<std::string> delivered, failed, pending, skipped; // keys ("channel: subject" in `lines`)
  std::vector<std::string> lines;    // one per entry tried: what happened
  std::vector<std::string> warnings; // unreadable entries
};

class Outbox {
public:
  // The folder is created (0700) when missing.
  static core::Result<Outbox> open(const std::filesystem::path& folder);

  // Queues `message` for `channel` (attachments copied in); the entry's key.
  // Queuing the same message id for the same channel again is a no-op.
  core::Result<std::string> put(const std::string& channel, const Message& message,
                                const std::vector<std::string>& recipients = {});
  // Every entry, oldest first (unreadable files are warnings).
  core::Result<std::vector<OutboxEntry>> entries(std::vector<std::string>& warnings) const;

  using Deliver = std::function<Delivery(const OutboxEntry& entry)>;
  // The rate budget of a channel, or null for none.
  using Budget = std::function<RateLimiter*(const std::string& channel)>;
  // Delivers the pending entries (only `keys` when given; with
  // `retry_failed`, the failed ones too). Sleeps are interruptible.
  FlushReport flush(const Deliver& deliver, const Budget& budget, const RetryPolicy& policy,
                    const std::vector<std::string>& keys = {}, bool retry_failed = false);

  const std::filesystem::path& folder() const { return m_folder; }

private:
  explicit Outbox(std::filesystem::path folder) : m_folder(std::move(folder)) {}
  core::Status write_entry(const OutboxEntry& entry) const;
  core::Result<OutboxEntry> read_entry(const std::string& key) const;
  std::filesystem::path m_folder;
};

} // namespace notify
