#include "notify/webhook.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <curl/curl.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "io/redactor.hpp"
#include "notify/signing.hpp"
#include "smoke/http_dates.hpp"

#ifndef SHIPGATE_VERSION
#define SHIPGATE_VERSION "dev"
#endif

namespace notify {
namespace {

using core::ErrorKind;
using core::make_error;
using nlohmann::json;

constexpr std::size_t k_max_answer = 64 * 1024; // a robot answers in a few hundred bytes
constexpr std::size_t k_max_excerpt = 200;
constexpr std::size_t k_slack_header = 150;   // Block Kit header text limit
constexpr std::size_t k_slack_section = 3000; // Block Kit section text limit
constexpr std::size_t k_wecom_markdown = 4096;
constexpr std::size_t k_wecom_text = 2048;

// ---------------------------------------------------------------- text

// Cuts to `max_bytes` on a UTF-8 boundary, ending in "…" when cut.
std::string cut(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes - 3; // room for "…"
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return std::string(text.substr(0, end)) + "…";
}

// Invalid UTF-8 becomes U+FFFD instead of an exception from the serialiser.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string chat_body(const Message& message) {
  return message.markdown.empty() ? message.text : message.markdown;
}

std::string title_of(const Message& message) {
  return message.subject.empty() ? core::first_line(message.text, 100) : message.subject;
}

std::string joined_mentions(const std::vector<std::string>& ids, std::string_view before, std::string_view after) {
  std::string out;
  for (const auto& id : ids)
    out.append(out.empty() ? "" : " ").append(before).append(id).append(after);
  return out;
}

std::string with_line(std::string text, const std::string& line) {
  if (line.empty()) return text;
  return text.empty() ? line : text + "\n\n" + line;
}

// ---------------------------------------------------------------- bodies

json generic_body(const Message& message, std::chrono::system_clock::time_point now) {
  json data = message.data.is_object() ? message.data : json::object();
  if (!message.data.is_null() && !message.data.is_object()) data["value"] = message.data;
  data["subject"] = message.subject;
  data["text"] = message.text;
  if (!message.urgency.empty()) data["urgency"] = message.urgency;
  const auto when = message.created == std::chrono::system_clock::time_point{} ? now : message.created;
  const std::string type = message.event.empty() ? "release" : "release." + message.event;
  return {{"type", type}, {"timestamp", core::format_rfc3339(when)}, {"data", std::move(data)}};
}

json slack_body(const WebhookSettings& settings, const Message& message) {
  std::string mentions = joined_mentions(settings.mention_user_ids, "<@", ">");
  if (settings.mention_all) mentions = with_line("<!channel>", mentions);
  const std::string body = with_line(chat_body(message), mentions);
  json blocks = json::array();
  if (!message.subject.empty())
    blocks.push_back(
        {{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", cut(message.subject, k_slack_header)}}}});
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", cut(body, k_slack_section)}}}});
  // `text` is what notifications and screen readers show.
  const std::string fallback = message.subject.empty() ? message.text : message.subject + "\n" + message.text;
  return {{"text", fallback}, {"blocks", std::move(blocks)}};
}

json teams_body(const Message& message) {
  json body = json::array();
  if (!message.subject.empty())
    body.push_back(
        {{"type", "TextBlock"}, {"text", message.subject}, {"weight", "Bolder"}, {"size", "Medium"}, {"wrap", true}});
  body.push_back({{"type", "TextBlock"}, {"text", chat_body(message)}, {"wrap", true}});
  json card = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
               {"type", "AdaptiveCard"},
               {"version", "1.4"},
               {"body", std::move(body)},
               {"msteams", {{"width", "Full"}}}};
  json attachment = {{"contentType", "application/vnd.microsoft.card.adaptive"},
                     {"contentUrl", nullptr},
                     {"content", std::move(card)}};
  return {{"type", "message"}, {"attachments", json::array({std::move(attachment)})}};
}

json dingtalk_body(const WebhookSettings& settings, const Message& message) {
  // DingTalk highlights a mention only when "@<mobile>" is also in the text.
  std::string mentions = joined_mentions(settings.mention_mobiles, "@", "");
  mentions = with_line(mentions, joined_mentions(settings.mention_user_ids, "@", ""));
  std::string text = message.subject.empty() ? std::string() : "#### " + message.subject;
  text = with_line(with_line(text, chat_body(message)), mentions);
  return {{"msgtype", "markdown"},
          {"markdown", {{"title", title_of(message)}, {"text", text}}},
          {"at",
           {{"atMobiles", settings.mention_mobiles},
            {"atUserIds", settings.mention_user_ids},
            {"isAtAll", settings.mention_all}}}};
}

std::string feishu_color(const std::string& urgency) {
  if (urgency == "P0") return "red";
  if (urgency == "P1") return "orange";
  return "blue";
}

json feishu_card(const WebhookSettings& settings, const Message& message) {
  std::string mentions = joined_mentions(settings.mention_user_ids, "<at id=", "></at>");
  if (settings.mention_all) mentions = with_line("<at id=all></at>", mentions);
  json card = {{"config", {{"wide_screen_mode", true}}},
               {"elements", json::array({{{"tag", "markdown"}, {"content", with_line(message.markdown, mentions)}}})}};
  card["header"] = {{"title", {{"tag", "plain_text"}, {"content", title_of(message)}}},
                    {"template", feishu_color(message.urgency)}};
  return {{"msg_type", "interactive"}, {"card", std::move(card)}};
}

json feishu_post(const WebhookSettings& settings, const Message& message) {
  json paragraphs = json::array();
  std::string_view rest = message.text;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    paragraphs.push_back(json::array({{{"tag", "text"}, {"text", std::string(rest.substr(0, end))}}}));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  json at = json::array();
  if (settings.mention_all) at.push_back({{"tag", "at"}, {"user_id", "all"}});
  for (const auto& id : settings.mention_user_ids)
    at.push_back({{"tag", "at"}, {"user_id", id}});
  if (!at.empty()) paragraphs.push_back(std::move(at));
  json post = {{"zh_cn", {{"title", title_of(message)}, {"content", std::move(paragraphs)}}}};
  return {{"msg_type", "post"}, {"content", {{"post", std::move(post)}}}};
}

json feishu_body(const WebhookSettings& settings, const Message& message, std::chrono::system_clock::time_point now) {
  json body = message.markdown.empty() ? feishu_post(settings, message) : feishu_card(settings, message);
  if (!settings.secret.empty()) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    body["timestamp"] = std::to_string(seconds);
    body["sign"] = feishu_signature(settings.secret, seconds);
  }
  return body;
}

json wecom_body(const WebhookSettings& settings, const Message& message) {
  const std::string heading = message.subject.empty() ? std::string() : "**" + message.subject + "**";
  // Markdown cannot mention by mobile or @all; plain text can.
  if (!settings.mention_mobiles.empty() || settings.mention_all) {
    std::vector<std::string> users = settings.mention_user_ids;
    if (settings.mention_all) users.emplace_back("@all");
    const std::string text = message.subject.empty() ? message.text : message.subject + "\n" + message.text;
    return {{"msgtype", "text"},
            {"text",
             {{"content", cut(text, k_wecom_text)},
              {"mentioned_list", users},
              {"mentioned_mobile_list", settings.mention_mobiles}}}};
  }
  const std::string mentions = joined_mentions(settings.mention_user_ids, "<@", ">");
  const std::string content = with_line(with_line(heading, chat_body(message)), mentions);
  return {{"msgtype", "markdown"}, {"markdown", {{"content", cut(content, k_wecom_markdown)}}}};
}

// ---------------------------------------------------------------- requests

bool is_http_url(std::string_view url) {
  const std::string lower = core::to_lower(url.substr(0, 8));
  const bool scheme = core::starts_with(lower, "https://") || core::starts_with(lower, "http://");
  return scheme && url.find_first_of(" \t\r\n") == std::string_view::npos;
}

std::string with_query(std::string url, const std::string& parameters) {
  const auto fragment = url.find('#');
  if (fragment != std::string::npos) url.erase(fragment);
  url += url.find('?') == std::string::npos ? '?' : '&';
  return url + parameters;
}

core::Status add_standard_webhook_headers(const WebhookSettings& settings, const Message& message,
                                          std::chrono::system_clock::time_point now, WebhookRequest& request) {
  if (message.id.empty())
    return make_error(ErrorKind::invalid_input,
                      "the message has no id, which the generic webhook sends as webhook-id so receivers can drop "
                      "duplicates; give every message an id");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  request.headers.emplace_back("webhook-id", message.id);
  request.headers.emplace_back("webhook-timestamp", std::to_string(seconds));
  if (settings.secret.empty()) return core::ok_status();
  auto signature = standard_webhook_signature(settings.secret, message.id, seconds, request.body);
  if (!signature) return signature.error();
  request.headers.emplace_back("webhook-signature", *signature);
  return core::ok_status();
}

} // namespace

std::string_view to_string(WebhookKind kind) {
  switch (kind) {
  case WebhookKind::generic:
    return "generic";
  case WebhookKind::slack:
    return "slack";
  case WebhookKind::teams:
    return "teams";
  case WebhookKind::dingtalk:
    return "dingtalk";
  case WebhookKind::feishu:
    return "feishu";
  case WebhookKind::wecom:
    return "wecom";
  }
  return "generic";
}

std::optional<WebhookKind> webhook_kind_from(std::string_view name) {
  for (const auto kind : {WebhookKind::generic, WebhookKind::slack, WebhookKind::teams, WebhookKind::dingtalk,
                          WebhookKind::feishu, WebhookKind::wecom})
    if (name == to_string(kind)) return kind;
  if (name == "lark") return WebhookKind::feishu; // same API on open.larksuite.com
  return std::nullopt;
}

core::Result<WebhookRequest> build_webhook_request(const WebhookSettings& settings, const Message& message,
                                                   std::chrono::system_clock::time_point now) {
  if (!is_http_url(settings.url))
    return make_error(
        ErrorKind::invalid_input,
        "the " + std::string(to_string(settings.kind)) + " webhook URL \"" + describe_webhook_url(settings.url) +
            "\" is not an http(s) URL: give the full URL the receiver or robot shows, starting with https://");
  WebhookRequest request;
  request.url = settings.url;
  request.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  switch (settings.kind) {
  case WebhookKind::generic: {
    request.body = dump(generic_body(message, now));
    if (auto status = add_standard_webhook_headers(settings, message, now, request); !status) return status.error();
    break;
  }
  case WebhookKind::slack:
    request.body = dump(slack_body(settings, message));
    break;
  case WebhookKind::teams:
    request.body = dump(teams_body(message));
    break;
  case WebhookKind::dingtalk:
    request.body = dump(dingtalk_body(settings, message));
    if (!settings.secret.empty()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
      const auto signature = dingtalk_signature(settings.secret, ms);
      request.url = with_query(request.url, "timestamp=" + signature.timestamp + "&sign=" + signature.url_encoded);
    }
    break;
  case WebhookKind::feishu:
    request.body = dump(feishu_body(settings, message, now));
    break;
  case WebhookKind::wecom:
    request.body = dump(wecom_body(settings, message));
    break;
  }
  return request;
}

// ---------------------------------------------------------------- answers

namespace {

std::string excerpt(std::string_view body) {
  const std::string line = core::first_line(core::sanitize_utf8(body), k_max_excerpt);
  return line.empty() ? "(empty answer)" : line;
}

std::optional<std::string> header_value(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (core::to_lower(key) == name) return value;
  return std::nullopt;
}

struct RobotFields {
  std::string vendor, code, message;
  std::vector<long long> rate_limit_codes;
};

RobotFields robot_fields(WebhookKind kind, const json& answer) {
  switch (kind) {
  case WebhookKind::dingtalk:
    return {"DingTalk", "errcode", "errmsg", {130101}};
  case WebhookKind::wecom:
    return {"WeCom", "errcode", "errmsg", {45009}};
  default:
    // Older Feishu deployments answer StatusCode/StatusMessage only.
    if (!answer.contains("code") && answer.contains("StatusCode"))
      return {"Feishu", "StatusCode", "StatusMessage", {11232}};
    return {"Feishu", "code", "msg", {11232}};
  }
}

Delivery robot_answer(WebhookKind kind, const WebhookResponse& response) {
  Delivery delivery;
  delivery.http_status = response.status;
  const json answer = json::parse(response.body, nullptr, false);
  const RobotFields fields = robot_fields(kind, answer.is_object() ? answer : json::object());
  const std::string prefix = "HTTP " + std::to_string(response.status);
  if (!answer.is_object() || !answer.contains(fields.code) || !answer[fields.code].is_number_integer()) {
    delivery.detail = prefix + " without " + fields.vendor + "'s " + fields.code + " field (" + excerpt(response.body) +
                      "): check that the URL is a " + fields.vendor + " robot webhook";
    return delivery;
  }
  const long long code = answer[fields.code].get<long long>();
  const std::string said = answer.contains(fields.message) && answer[fields.message].is_string()
                               ? excerpt(answer[fields.message].get<std::string>())
                               : std::string("no message");
  delivery.detail = prefix + ", " + fields.code + " " + std::to_string(code) + ": " + said;
  if (code == 0) {
    delivery.status = DeliveryStatus::delivered;
  } else if (std::find(fields.rate_limit_codes.begin(), fields.rate_limit_codes.end(), code) !=
             fields.rate_limit_codes.end()) {
    delivery.status = DeliveryStatus::transient;
    delivery.detail += " (the robot's rate limit: send fewer messages, they are retried later)";
  } else {
    delivery.detail += " (" + fields.vendor +
                       " refused the message; retrying cannot help: check the robot's security settings — "
                       "secret, keywords, IP allowlist — and the URL)";
  }
  return delivery;
}

Delivery success_answer(WebhookKind kind, const WebhookResponse& response) {
  if (kind == WebhookKind::dingtalk || kind == WebhookKind::feishu || kind == WebhookKind::wecom)
    return robot_answer(kind, response);
  Delivery delivery;
  delivery.status = DeliveryStatus::delivered;
  delivery.http_status = response.status;
  delivery.detail = "HTTP " + std::to_string(response.status);
  if (kind == WebhookKind::teams && response.status == 202)
    delivery.detail += ": accepted; Teams runs the workflow afterwards, so a failure there shows only in the "
                       "workflow's run history";
  else if (!response.body.empty())
    delivery.detail += ": " + excerpt(response.body);
  return delivery;
}

std::optional<std::chrono::seconds> retry_after(const WebhookResponse& response,
                                                std::chrono::system_clock::time_point now) {
  const auto value = header_value(response.headers, "retry-after");
  if (!value) return std::nullopt;
  const auto wait = smoke::parse_retry_after(*value, now);
  if (!wait) return std::nullopt;
  return std::chrono::ceil<std::chrono::seconds>(*wait);
}

} // namespace

Delivery classify_webhook_response(WebhookKind kind, const WebhookResponse& response,
                                   std::chrono::system_clock::time_point now) {
  const int status = response.status;
  if (status >= 200 && status < 300) return success_answer(kind, response);
  Delivery delivery;
  delivery.http_status = status;
  const std::string prefix = "HTTP " + std::to_string(status);
  if (status >= 300 && status < 400) {
    const auto location = header_value(response.headers, "location");
    delivery.detail = prefix + ": the webhook redirects" +
                      (location ? " to " + describe_webhook_url(*location) : std::string()) +
                      ", and redirects are not followed (a POST must not change its target): put the final URL in "
                      "the plan";
    return delivery;
  }
  if (status == 408 || status == 429 || status >= 500) {
    delivery.status = DeliveryStatus::transient;
    delivery.retry_after = retry_after(response, now);
    delivery.detail = prefix + (status == 429 ? " (rate limited)" : "") + ": " + excerpt(response.body);
    if (delivery.retry_after) delivery.detail += "; retry after " + std::to_string(delivery.retry_after->count()) + "s";
    return delivery;
  }
  if (kind == WebhookKind::generic && status == 410) {
    delivery.detail = prefix + ": the receiver says this endpoint is gone; remove it from the plan";
    return delivery;
  }
  delivery.detail = prefix + ": " + excerpt(response.body) +
                    " (the receiver refused the message; retrying cannot help: check the URL and the secret)";
  return delivery;
}

// ---------------------------------------------------------------- URLs

namespace {

struct UrlParts {
  std::string scheme_host; // "https://host:port"
  std::string userinfo;
  std::vector<std::string> segments;
  std::vector<std::string> query_values;
};

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  const auto scheme_end = url.find("://");
  const std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    parts.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  parts.scheme_host = std::string(url.substr(0, authority_start)) + std::string(authority);
  std::string_view rest = url.substr(authority_end);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto question = rest.find('?');
  std::string_view path = rest.substr(0, question);
  std::string_view query = question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
  for (std::size_t start = 0; start < path.size();) {
    const auto end = std::min(path.find('/', start), path.size());
    if (end > start) parts.segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  for (std::size_t start = 0; start < query.size();) {
    const auto end = std::min(query.find('&', start), query.size());
    const std::string_view pair = query.substr(start, end - start);
    if (const auto equals = pair.find('='); equals != std::string_view::npos)
      parts.query_values.emplace_back(pair.substr(equals + 1));
    start = end + 1;
  }
  return parts;
}

// Slack's T…/B…/…, Feishu's UUIDs, Teams' workflow ids: letters mixed
// with digits, or simply long.
bool looks_like_token(std::string_view segment) {
  const bool digit =
      std::any_of(segment.begin(), segment.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  const bool letter =
      std::any_of(segment.begin(), segment.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  return (digit && letter && segment.size() >= 8) || segment.size() >= 32;
}

std::size_t first_token(const UrlParts& parts) {
  const auto found = std::find_if(parts.segments.begin(), parts.segments.end(),
                                  [](const std::string& segment) { return looks_like_token(segment); });
  return static_cast<std::size_t>(found - parts.segments.begin());
}

} // namespace

std::string describe_webhook_url(std::string_view url) {
  const UrlParts parts = split_url(url);
  std::string out = parts.scheme_host;
  const std::size_t cut_at = first_token(parts);
  for (std::size_t i = 0; i < cut_at; ++i)
    out += "/" + parts.segments[i];
  if (cut_at < parts.segments.size()) out += "/…";
  return out;
}

std::vector<std::string> webhook_secrets(const WebhookSettings& settings) {
  UrlParts parts = split_url(settings.url);
  std::vector<std::string> secrets = std::move(parts.query_values);
  for (std::size_t i = first_token(parts); i < parts.segments.size(); ++i)
    secrets.push_back(parts.segments[i]);
  if (!parts.userinfo.empty()) secrets.push_back(parts.userinfo);
  if (!settings.secret.empty()) secrets.push_back(settings.secret);
  // DingTalk's sign and Feishu's signature are derived, not secret; the
  // URL as a whole is covered by its parts.
  return secrets;
}

// ---------------------------------------------------------------- sending

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One POST: the answer's final headers and up to k_max_answer bytes of body.
class Post {
public:
  Post() : m_curl(curl_easy_init()) {}
  ~Post() {
    if (m_curl) curl_easy_cleanup(m_curl);
    curl_slist_free_all(m_headers);
  }
  Post(const Post&) = delete;
  Post& operator=(const Post&) = delete;

  CURLcode perform(const WebhookSettings& settings, const WebhookRequest& request);
  const WebhookResponse& response() const { return m_response; }
  bool truncated() const { return m_truncated; }
  bool request_sent(std::size_t body_size) const;
  std::string error(CURLcode code) const { return m_error[0] ? std::string(m_error) : curl_easy_strerror(code); }

private:
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static size_t on_header(char* data, size_t size, size_t count, void* self);
  static int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) { return core::interrupted() ? 1 : 0; }

  CURL* m_curl = nullptr;
  curl_slist* m_headers = nullptr;
  char m_error[CURL_ERROR_SIZE] = {};
  WebhookResponse m_response;
  bool m_truncated = false;
};

CURLcode Post::perform(const WebhookSettings& settings, const WebhookRequest& request) {
  if (!m_curl) return CURLE_OUT_OF_MEMORY;
  curl_easy_setopt(m_curl, CURLOPT_ERRORBUFFER, m_error);
  curl_easy_setopt(m_curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(m_curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(m_curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(m_curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(m_curl, CURLOPT_USERAGENT, "shipgate/" SHIPGATE_VERSION);
  curl_easy_setopt(m_curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(m_curl, CURLOPT_POSTFIELDS, request.body.c_str());
  m_headers = curl_slist_append(m_headers, "Expect:"); // no 1 s wait for "100 Continue"
  for (const auto& [name, value] : request.headers)
    m_headers = curl_slist_append(m_headers, (name + ": " + value).c_str());
  curl_easy_setopt(m_curl, CURLOPT_HTTPHEADER, m_headers);
  const long timeout_ms = std::max<long>(1, static_cast<long>(settings.timeout.count()));
  curl_easy_setopt(m_curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(m_curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!settings.cacert.empty()) curl_easy_setopt(m_curl, CURLOPT_CAINFO, settings.cacert.c_str());
  curl_easy_setopt(m_curl, CURLOPT_WRITEFUNCTION, &Post::on_body);
  curl_easy_setopt(m_curl, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(m_curl, CURLOPT_HEADERFUNCTION, &Post::on_header);
  curl_easy_setopt(m_curl, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(m_curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(m_curl, CURLOPT_XFERINFOFUNCTION, &Post::on_progress);
  const CURLcode code = curl_easy_perform(m_curl);
  long status = 0;
  curl_easy_getinfo(m_curl, CURLINFO_RESPONSE_CODE, &status);
  m_response.status = static_cast<int>(status);
  return code;
}

// The server may have acted on the message once all of it went out.
bool Post::request_sent(std::size_t body_size) const {
  curl_off_t uploaded = 0;
  long header_bytes = 0;
  curl_easy_getinfo(m_curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);
  curl_easy_getinfo(m_curl, CURLINFO_REQUEST_SIZE, &header_bytes);
  return header_bytes > 0 && static_cast<std::size_t>(uploaded) >= body_size;
}

size_t Post::on_body(char* data, size_t size, size_t count, void* self) {
  auto& post = *static_cast<Post*>(self);
  const size_t bytes = size * count;
  const size_t room = k_max_answer - post.m_response.body.size();
  post.m_response.body.append(data, std::min(bytes, room));
  if (bytes <= room) return bytes;
  post.m_truncated = true; // the verdict is in the first bytes; stop reading
  return 0;
}

size_t Post::on_header(char* data, size_t size, size_t count, void* self) {
  auto& headers = static_cast<Post*>(self)->m_response.headers;
  const std::string_view line(data, size * count);
  if (core::starts_with(line, "HTTP/")) headers.clear(); // only the final response's
  const auto colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0 && headers.size() < 100)
    headers.emplace_back(core::to_lower(core::trim(line.substr(0, colon))), core::trim(line.substr(colon + 1)));
  return size * count;
}

bool is_certificate_problem(CURLcode code) {
  return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CERTPROBLEM ||
         code == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

Delivery transport_failure(const Post& post, CURLcode code, const WebhookSettings& settings, std::size_t body_size) {
  Delivery delivery;
  const std::string where = describe_webhook_url(settings.url);
  const std::string why = post.error(code);
  if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL || is_certificate_problem(code)) {
    delivery.detail = "cannot send to " + where + ": " + why +
                      (is_certificate_problem(code) ? " (check the receiver's certificate, or give its CA as cacert)"
                                                    : " (check the webhook URL)");
    return delivery;
  }
  delivery.status = DeliveryStatus::transient;
  const bool interrupted = code == CURLE_ABORTED_BY_CALLBACK;
  if (post.request_sent(body_size)) {
    delivery.detail = (interrupted ? "interrupted" : "no answer") + std::string(" from ") + where +
                      " after the message was sent (" + why +
                      "): it may have been delivered, and a retry may post it twice";
    return delivery;
  }
  delivery.detail = (interrupted ? "interrupted before sending to " : "could not send to ") + where + ": " + why +
                    " (the message was not delivered; it is retried later)";
  return delivery;
}

Delivery scrubbed(Delivery delivery, const WebhookSettings& settings) {
  io::Redactor redactor;
  for (const auto& secret : webhook_secrets(settings))
    redactor.add_secret(secret);
  delivery.detail = redactor.redact(delivery.detail);
  return delivery;
}

} // namespace

Delivery send_webhook(const WebhookSettings& settings, const Message& message,
                      std::chrono::system_clock::time_point now) {
  auto request = build_webhook_request(settings, message, now);
  if (!request) {
    Delivery failed;
    failed.detail = request.error().message;
    return scrubbed(std::move(failed), settings);
  }
  init_curl_once();
  Post post;
  const CURLcode code = post.perform(settings, *request);
  const bool stopped_by_us = code == CURLE_WRITE_ERROR && post.truncated();
  if (code != CURLE_OK && !stopped_by_us)
    return scrubbed(transport_failure(post, code, settings, request->body.size()), settings);
  return scrubbed(classify_webhook_response(settings.kind, post.response(), now), settings);
}

} // namespace notify
