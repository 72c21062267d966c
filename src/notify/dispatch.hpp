#pragma once
// Sending one event of the release chain (docs/notify.md): the message is
// rendered from the templates, queued in the outbox for every mail
// recipient group and channel its route names, then delivered; what cannot
// be delivered now stays in the outbox for `shipgate notify --flush`.
// Secrets are read from the environment at delivery time and masked in
// every output.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ci/context.hpp"
#include "deploy/plan.hpp"
#include "io/output.hpp"
#include "notify/outbox.hpp"

namespace notify {

struct EventRequest {
  std::string event;   // one of deploy::notify_events()
  std::string level;   // P0..P3 given by the user, or empty
  std::string thread;  // one release = one thread, e.g. "shop-1.4.0"
  nlohmann::json data = nlohmann::json::object(); // the template values (templates/README.md)
  std::vector<std::string> attachments;           // files to attach (mail), named in chat messages
};

struct DispatchReport {
  std::string message_id;
  std::string urgency;
  std::vector<std::string> lines;    // "mail (dev@example.com, ops@example.com): delivered"
  std::vector<std::string> warnings; // a delivery that failed, an outbox problem
  bool required_failed = false;      // a channel marked required was not delivered
  nlohmann::json json = nlohmann::json::object(); // for the step's result: deliveries
};

class Dispatcher {
public:
  Dispatcher(const deploy::NotifySpec& notify, const ci::Environment& env, io::Output& output);
  // Renders, queues and delivers `request`; never throws, never fails the
  // caller: problems are in the report.
  DispatchReport send(const EventRequest& request);
  // Delivers what the outbox holds (`retry_failed`: the failed ones too).
  DispatchReport flush(bool retry_failed);

private:
  Delivery deliver(const OutboxEntry& entry);
  RateLimiter* budget(const std::string& channel);
  DispatchReport report_of(const FlushReport& flushed, const std::vector<std::string>& keys);

  const deploy::NotifySpec& m_notify;
  const ci::Environment& m_env;
  io::Output& m_output;
  std::map<std::string, RateLimiter> m_budgets;
};

} // namespace notify
