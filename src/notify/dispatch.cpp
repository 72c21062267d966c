#include "notify/dispatch.hpp"

#include <algorithm>
#include <random>

#include <openssl/rand.h>

#include "core/step_result.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "notify/mail.hpp"
#include "notify/routing.hpp"
#include "notify/templates.hpp"
#include "notify/webhook.hpp"

namespace notify {

namespace fs = std::filesystem;

namespace {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    std::random_device device;
    for (auto& byte : buffer) byte = static_cast<unsigned char>(device());
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : buffer) {
    out += hex[byte >> 4];
    out += hex[byte & 15];
  }
  return out;
}

const deploy::NotifyChannelSpec* find_channel(const deploy::NotifySpec& notify, const std::string& name) {
  for (const auto& channel : notify.channels)
    if (channel.name == name) return &channel;
  return nullptr;
}

const deploy::NotifyChannelSpec* mail_channel(const deploy::NotifySpec& notify) {
  for (const auto& channel : notify.channels)
    if (channel.type == "smtp") return &channel;
  return nullptr;
}

std::string label(const OutboxEntry& entry) {
  return entry.channel + (entry.recipients.empty() ? "" : " (" + core::join(entry.recipients) + ")");
}

// Every credential the plan's channels name, masked from the start: the
// message is rendered before the first delivery reads them, and its data
// can hold anything a step saw (a command's output, a response body).
void mask_channel_secrets(const deploy::NotifySpec& notify, const ci::Environment& env, io::Output& output) {
  auto read = [&](const std::string& name) {
    const auto value = name.empty() ? std::nullopt : env.get(name);
    if (value) output.add_secret(*value);
    return value.value_or("");
  };
  for (const auto& channel : notify.channels) {
    read(channel.password_env);
    read(channel.oauth_token_env);
    WebhookSettings settings;
    settings.url = channel.url_env.empty() ? channel.url : read(channel.url_env);
    settings.secret = read(channel.secret_env);
    if (channel.type != "smtp")
      for (const auto& value : webhook_secrets(settings)) output.add_secret(value);
  }
}

} // namespace

Dispatcher::Dispatcher(const deploy::NotifySpec& notify, const ci::Environment& env, io::Output& output)
    : m_notify(notify), m_env(env), m_output(output) {
  mask_channel_secrets(notify, env, output);
}

RateLimiter* Dispatcher::budget(const std::string& name) {
  const auto* channel = find_channel(m_notify, name);
  if (!channel) return nullptr;
  auto found = m_budgets.find(name);
  if (found != m_budgets.end()) return &found->second;
  using std::chrono::milliseconds;
  // The vendors' published limits per robot.
  if (channel->type == "dingtalk" || channel->type == "wecom")
    return &m_budgets.emplace(name, RateLimiter(20, milliseconds(60000))).first->second;
  if (channel->type == "feishu") return &m_budgets.emplace(name, RateLimiter(5, milliseconds(1000))).first->second;
  if (channel->type == "slack") return &m_budgets.emplace(name, RateLimiter(1, milliseconds(1000))).first->second;
  return nullptr;
}

Delivery Dispatcher::deliver(const OutboxEntry& entry) {
  const auto* channel = find_channel(m_notify, entry.channel);
  if (!channel)
    return {DeliveryStatus::permanent, "the plan has no channel '" + entry.channel + "' any more"};
  auto secret = [&](const std::string& name, std::string& target) -> std::optional<Delivery> {
    if (name.empty()) return std::nullopt;
    const auto value = m_env.get(name);
    if (!value || value->empty())
      return Delivery{DeliveryStatus::permanent, "the environment variable " + name + " (notify.channels." +
                                                     channel->name + ") is not set; set it and run "
                                                     "`shipgate notify --flush --retry-failed`"};
    m_output.add_secret(*value);
    target = *value;
    return std::nullopt;
  };
  if (channel->type == "smtp") {
    MailSettings settings;
    settings.url = channel->url;
    settings.username = channel->username;
    settings.auth = channel->auth;
    settings.from = channel->from;
    settings.cacert = channel->cacert;
    settings.to = entry.recipients;
    if (auto missing = secret(channel->password_env, settings.password)) return *missing;
    if (auto missing = secret(channel->oauth_token_env, settings.oauth_token)) return *missing;
    return send_mail(settings, entry.message);
  }
  WebhookSettings settings;
  settings.kind = webhook_kind_from(channel->type).value_or(WebhookKind::generic);
  settings.url = channel->url;
  settings.cacert = channel->cacert;
  if (auto missing = secret(channel->url_env, settings.url)) return *missing;
  if (auto missing = secret(channel->secret_env, settings.secret)) return *missing;
  for (const auto& value : webhook_secrets(settings)) m_output.add_secret(value);
  return send_webhook(settings, entry.message, std::chrono::system_clock::now());
}

DispatchReport Dispatcher::report_of(const FlushReport& flushed, const std::vector<std::string>& keys) {
  DispatchReport report;
  report.warnings = flushed.warnings;
  std::vector<std::string> warnings;
  auto outbox = Outbox::open(m_notify.outbox);
  nlohmann::json deliveries = nlohmann::json::array();
  if (outbox) {
    auto entries = outbox->entries(warnings);
    if (entries)
      for (const auto& entry : *entries) {
        if (!keys.empty() && std::find(keys.begin(), keys.end(), entry.key) == keys.end()) continue;
        const bool tried = std::find(flushed.delivered.begin(), flushed.delivered.end(), entry.key) != flushed.delivered.end() ||
                           std::find(flushed.failed.begin(), flushed.failed.end(), entry.key) != flushed.failed.end() ||
                           std::find(flushed.pending.begin(), flushed.pending.end(), entry.key) != flushed.pending.end();
        if (!tried) continue;
        const auto* channel = find_channel(m_notify, entry.channel);
        const std::string detail = m_output.redactor().redact(entry.last_detail);
        report.lines.push_back(label(entry) + ": " + entry.state + (detail.empty() ? "" : " (" + detail + ")"));
        deliveries.push_back({{"channel", entry.channel},
                              {"recipients", entry.recipients},
                              {"state", entry.state},
                              {"attempts", entry.attempts},
                              {"detail", detail},
                              {"outbox_key", entry.key}});
        if (entry.state != "delivered") {
          report.warnings.push_back("notification " + label(entry) + " not delivered: " + detail +
                                    (entry.state == "pending" ? " (kept in the outbox for `shipgate notify --flush`)" : ""));
          if (channel && channel->required) report.required_failed = true;
        }
      }
  }
  report.json["deliveries"] = deliveries;
  return report;
}

DispatchReport Dispatcher::send(const EventRequest& request) {
  DispatchReport report;
  const std::string urgency = more_urgent(request.level, default_urgency(request.event, request.data.value("verdict", std::string())));
  report.urgency = urgency;
  const Route route = notify::route(m_notify, request.event, urgency);
  Message message;
  message.id = "msg_" + random_hex(12);
  report.message_id = message.id;
  message.thread = request.thread;
  message.event = request.event;
  message.urgency = urgency;
  message.created = std::chrono::system_clock::now();
  nlohmann::json data = request.data;
  data["event"] = request.event;
  data["urgency"] = urgency;
  std::vector<std::string> names;
  for (const auto& path : request.attachments) {
    names.push_back(fs::path(path).filename().string());
    message.attachments.push_back({path, m_output.redactor().redact(fs::path(path).filename().string()), ""});
  }
  data["attachments"] = names;
  data["has_attachments"] = !names.empty();
  if (!data.contains("has_failed")) data["has_failed"] = data.contains("failed") && !data["failed"].empty();
  // Masked here, before a template escapes a secret for HTML or a channel
  // for JSON, and before the data itself goes into the outbox and the
  // generic webhook's payload.
  data = core::map_strings(data, [this](std::string_view text) { return m_output.redactor().redact(text); });
  message.data = data;
  Templates templates{m_notify.language, m_notify.templates.empty() ? std::nullopt
                                                                    : std::optional<fs::path>(m_notify.templates)};
  const auto chosen = m_notify.chain_templates.find(request.event);
  const std::string template_name = chosen != m_notify.chain_templates.end() ? chosen->second : request.event;
  // Without a headline of its own, the body opens with the subject.
  if (!data.contains("headline") || data["headline"].get<std::string>().empty()) {
    auto subject = templates.render(template_name, TemplateKind::subject, data);
    data["headline"] = subject ? *subject : request.event;
    message.data = data;
  }
  for (auto [kind, target] : {std::pair<TemplateKind, std::string*>{TemplateKind::subject, &message.subject},
                              {TemplateKind::text, &message.text},
                              {TemplateKind::html, &message.html},
                              {TemplateKind::markdown, &message.markdown}}) {
    auto rendered = templates.render(template_name, kind, data);
    if (!rendered) {
      report.warnings.push_back("notification " + request.event + " not sent: " + rendered.error().message);
      report.required_failed = std::any_of(m_notify.channels.begin(), m_notify.channels.end(),
                                           [](const auto& channel) { return channel.required; });
      return report;
    }
    *target = m_output.redactor().redact(*rendered);
  }
  auto outbox = Outbox::open(m_notify.outbox);
  if (!outbox) {
    report.warnings.push_back("notification " + request.event + " not sent: " + outbox.error().message);
    report.required_failed = true;
    return report;
  }
  std::vector<std::string> keys;
  auto queue = [&](const std::string& channel, const std::vector<std::string>& recipients) {
    auto key = outbox->put(channel, message, recipients);
    if (key) keys.push_back(*key);
    else report.warnings.push_back("notification for " + channel + " not queued: " + key.error().message);
  };
  if (!route.mail_to.empty()) {
    if (const auto* mail = mail_channel(m_notify)) queue(mail->name, route.mail_to);
  }
  for (const auto& channel : route.channels) queue(channel, {});
  if (keys.empty()) {
    report.lines.push_back(request.event + ": nobody to tell (no role of the chain has a recipient)");
    return report;
  }
  RetryPolicy policy;
  const FlushReport flushed = outbox->flush([this](const OutboxEntry& entry) { return deliver(entry); },
                                            [this](const std::string& channel) { return budget(channel); }, policy, keys);
  DispatchReport delivered = report_of(flushed, keys);
  delivered.message_id = report.message_id;
  delivered.urgency = urgency;
  delivered.warnings.insert(delivered.warnings.begin(), report.warnings.begin(), report.warnings.end());
  delivered.json["event"] = request.event;
  delivered.json["urgency"] = urgency;
  delivered.json["message_id"] = message.id;
  delivered.json["roles"] = route.roles;
  delivered.json["subject"] = message.subject;
  return delivered;
}

DispatchReport Dispatcher::flush(bool retry_failed) {
  auto outbox = Outbox::open(m_notify.outbox);
  if (!outbox) {
    DispatchReport report;
    report.warnings.push_back(outbox.error().message);
    report.required_failed = true;
    return report;
  }
  RetryPolicy policy;
  const FlushReport flushed = outbox->flush([this](const OutboxEntry& entry) { return deliver(entry); },
                                            [this](const std::string& channel) { return budget(channel); }, policy, {},
                                            retry_failed);
  std::vector<std::string> keys;
  for (const auto* list : {&flushed.delivered, &flushed.failed, &flushed.pending})
    keys.insert(keys.end(), list->begin(), list->end());
  if (keys.empty()) {
    DispatchReport report;
    report.warnings = flushed.warnings;
    report.lines.push_back("the outbox holds nothing to deliver");
    return report;
  }
  return report_of(flushed, keys);
}

} // namespace notify
