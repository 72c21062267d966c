#pragma once
// One notification of the release chain (docs/notify.md, being built):
// what every channel (mail, generic webhook, chat robots) is given to
// deliver, and what a delivery attempt reports back. Channels never decide
// retries themselves: they classify each attempt, the outbox retries.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace notify {

struct Attachment {
  std::string path;         // a file on the machine running shipgate
  std::string name;         // the name recipients see; default: the path's file name
  std::string content_type; // default: guessed from the name, else application/octet-stream
};

struct Message {
  std::string id;       // idempotency key: the same for every retry and flush of this message
  std::string thread;   // one release = one thread: mail threads on "<thread@shipgate>"
  bool thread_start = false; // this message opens the thread (mail: Message-ID = the thread id)
  std::string event;    // "deploy-failed", "released", ...
  std::string urgency;  // "P0" (highest) .. "P3"
  std::string subject;  // mail subject, chat title (UTF-8, may be Chinese)
  std::string text;     // plain text (always set)
  std::string html;     // mail HTML part (optional)
  std::string markdown; // chat markdown (optional; else `text`)
  std::vector<Attachment> attachments;
  nlohmann::json data = nlohmann::json::object(); // the event's data (generic webhook payload `data`)
  std::chrono::system_clock::time_point created{}; // when the event happened
};

enum class DeliveryStatus {
  delivered,
  transient, // worth retrying: connection failed, 429, 5xx, vendor rate limit
  permanent, // retrying cannot help: bad signature, keyword missing, 4xx, rejected recipient
};

struct Delivery {
  DeliveryStatus status = DeliveryStatus::permanent;
  std::string detail;     // for the log: "HTTP 200, errcode 310000: sign not match" (never a secret)
  int http_status = 0;    // 0 when not HTTP or no answer
  std::optional<std::chrono::seconds> retry_after; // from the server, when it said
  bool ok() const { return status == DeliveryStatus::delivered; }
};

} // namespace notify
