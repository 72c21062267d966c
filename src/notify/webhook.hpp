#pragma once
// Webhook channels: our own generic webhook (Standard Webhooks signing) and
// the chat robots of Slack, Teams (Workflows), DingTalk, Feishu/Lark and
// WeCom. Three stages, the first two pure so every vendor format is pinned
// by unit tests:
//   build_webhook_request  Message -> URL, headers, JSON body (signed)
//   classify_webhook_response  status, headers, body -> Delivery
//   send_webhook           one POST with libcurl, classified
// Channels never retry (the outbox does); they say whether a retry can help.
//
// Secrets: the secret and the secret parts of vendor URLs (DingTalk's
// access_token, WeCom's key, Slack's and Feishu's path tokens, Teams' sig)
// never appear in a Delivery's detail or an error message; URLs are shown
// with describe_webhook_url.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "notify/message.hpp"

namespace notify {

enum class WebhookKind { generic, slack, teams, dingtalk, feishu, wecom };

std::string_view to_string(WebhookKind kind);
// "generic", "slack", "teams", "dingtalk", "feishu" (also "lark"), "wecom".
std::optional<WebhookKind> webhook_kind_from(std::string_view name);

struct WebhookSettings {
  WebhookKind kind = WebhookKind::generic;
  std::string url;                          // the full webhook URL, tokens included (a secret for the robots)
  std::string secret;                       // generic: "whsec_…"; dingtalk: "SEC…"; feishu: the sign secret;
                                            // empty: unsigned (slack, teams and wecom have no signing and ignore it)
  std::chrono::milliseconds timeout{15000}; // connect + send + answer
  std::string cacert;                       // extra CA bundle (PEM file) for a private receiver; empty: the system's
  // Mentions, where the vendor has them: DingTalk atMobiles/atUserIds,
  // Feishu user ids (ou_…), WeCom userids / mobiles, Slack member ids (U…).
  std::vector<std::string> mention_mobiles;
  std::vector<std::string> mention_user_ids;
  bool mention_all = false;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct WebhookRequest {
  std::string url;     // with DingTalk's timestamp and sign appended
  HttpHeaders headers; // Content-Type first
  std::string body;    // UTF-8 JSON
};

// The POST for `message` at `now` (the signing time):
// - generic: {"type": "release.<event>", "timestamp": <created, RFC 3339>,
//   "data": message.data + subject, text, urgency}; headers webhook-id
//   (= message.id, the same on every retry), webhook-timestamp (now, s),
//   webhook-signature ("v1,…", only with a secret).
// - slack: {"text", "blocks": [header, section mrkdwn]}.
// - teams: {"type": "message", "attachments": [Adaptive Card 1.4]}.
// - dingtalk: msgtype markdown {title, text} + "at"; with a secret the
//   URL gets &timestamp=<ms>&sign=<url-encoded>.
// - feishu: msg_type interactive (a card with a markdown element) when the
//   message has markdown, else post; with a secret "timestamp" (s, a
//   string) and "sign" are top-level body fields.
// - wecom: msgtype markdown {content} (≤ 4096 bytes), or text when mobiles
//   are to be mentioned (markdown cannot).
// Chat bodies use message.markdown, else message.text, under the subject.
// Fails (invalid_input) for an empty or non-http(s) URL, an empty message id
// on the generic webhook, or a malformed generic secret.
core::Result<WebhookRequest> build_webhook_request(const WebhookSettings& settings, const Message& message,
                                                   std::chrono::system_clock::time_point now);

struct WebhookResponse {
  int status = 0;
  HttpHeaders headers; // names in lower case
  std::string body;    // possibly cut at the size cap
};

// What an answer means (Standard Webhooks' rules, plus the robots' bodies):
// - 2xx: delivered; but DingTalk/WeCom with errcode != 0 and Feishu with
//   code (or StatusCode) != 0 are permanent, except their rate limits
//   (DingTalk 130101, Feishu 11232, WeCom 45009) which are transient;
//   a robot's 200 without its code field is permanent (not a robot URL?).
// - 3xx: permanent (redirects are never followed).
// - 408, 429, 5xx: transient, with Retry-After (seconds or an HTTP date).
// - 410 on the generic webhook: permanent, the receiver asks to be removed.
// - other 4xx: permanent, with the first line of the answer.
// The detail quotes the vendor's message (never the request).
Delivery classify_webhook_response(WebhookKind kind, const WebhookResponse& response,
                                   std::chrono::system_clock::time_point now);

// A URL fit for logs: scheme, host and port, and the path up to the first
// segment that looks like a token, then "…"; never user info, query or
// fragment. "https://oapi.dingtalk.com/robot/send",
// "https://hooks.slack.com/services/…".
std::string describe_webhook_url(std::string_view url);

// The parts of `settings` that must never be shown: the secret, the URL's
// query values, user info and token-like path segments.
std::vector<std::string> webhook_secrets(const WebhookSettings& settings);

// Builds, POSTs (TLS verified, no redirects, settings.timeout, answer
// capped at 64 KiB) and classifies. Transport failures: no connection,
// DNS, TLS or a timeout before the request was sent are transient; a
// timeout or a dropped connection after the request was sent is transient
// too, but the detail says it may have been delivered (robots have no
// idempotency key, so a retry may post twice). A request that cannot be
// built is permanent. SIGINT/SIGTERM (core::interrupted) aborts: transient.
Delivery send_webhook(const WebhookSettings& settings, const Message& message,
                      std::chrono::system_clock::time_point now);

} // namespace notify
