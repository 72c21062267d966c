#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "notify/signing.hpp"
#include "notify/webhook.hpp"

namespace {

using nlohmann::json;
using notify::DeliveryStatus;
using notify::WebhookKind;
using notify::WebhookResponse;
using notify::WebhookSettings;
using std::chrono::system_clock;

system_clock::time_point at_ms(long long ms) {
  return system_clock::time_point(std::chrono::milliseconds(ms));
}

notify::Message sample() {
  notify::Message message;
  message.id = "evt_7f3a";
  message.event = "deploy-failed";
  message.urgency = "P0";
  message.subject = "发布失败: shop 1.4.2";
  message.text = "部署 shop 1.4.2 到生产失败\n已回滚";
  message.data = {{"release", "shop-1.4.2"}, {"stage", "prod"}};
  message.created = at_ms(1700000000000);
  return message;
}

WebhookSettings settings(WebhookKind kind, std::string url, std::string secret = {}) {
  WebhookSettings result;
  result.kind = kind;
  result.url = std::move(url);
  result.secret = std::move(secret);
  return result;
}

notify::WebhookRequest build(const WebhookSettings& settings, const notify::Message& message, long long now_ms) {
  auto request = notify::build_webhook_request(settings, message, at_ms(now_ms));
  REQUIRE_MESSAGE(request.ok(), (request.ok() ? "" : request.error().message));
  return *request;
}

std::string header(const notify::WebhookRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers)
    if (key == name) return value;
  return "(absent)";
}

WebhookResponse answer(int status, std::string body, notify::HttpHeaders headers = {}) {
  return {status, std::move(headers), std::move(body)};
}

} // namespace

TEST_SUITE_BEGIN("notify webhook");

TEST_CASE("generic webhook: Standard Webhooks payload and headers") {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const auto request =
      build(settings(WebhookKind::generic, "https://hooks.example.com/shipgate", secret), sample(), 1700000123456);
  CHECK(request.url == "https://hooks.example.com/shipgate");
  CHECK(json::parse(request.body) == json{{"type", "release.deploy-failed"},
                                          {"timestamp", "2023-11-14T22:13:20Z"},
                                          {"data",
                                           {{"release", "shop-1.4.2"},
                                            {"stage", "prod"},
                                            {"subject", "发布失败: shop 1.4.2"},
                                            {"text", "部署 shop 1.4.2 到生产失败\n已回滚"},
                                            {"urgency", "P0"}}}});
  CHECK(request.body.find("发布失败") != std::string::npos); // UTF-8, not \u escapes
  CHECK(header(request, "Content-Type") == "application/json; charset=utf-8");
  CHECK(header(request, "webhook-id") == "evt_7f3a");
  CHECK(header(request, "webhook-timestamp") == "1700000123");
  const auto expected = notify::standard_webhook_signature(secret, "evt_7f3a", 1700000123, request.body);
  REQUIRE(expected.ok());
  CHECK(header(request, "webhook-signature") == *expected);
}

TEST_CASE("generic webhook: webhook-id stays, timestamp and signature follow the attempt") {
  const auto chosen =
      settings(WebhookKind::generic, "https://hooks.example.com/x", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const auto first = build(chosen, sample(), 1700000000000);
  const auto retry = build(chosen, sample(), 1700000300000);
  CHECK(header(first, "webhook-id") == header(retry, "webhook-id"));
  CHECK(header(first, "webhook-timestamp") == "1700000000");
  CHECK(header(retry, "webhook-timestamp") == "1700000300");
  CHECK(header(first, "webhook-signature") != header(retry, "webhook-signature"));
  CHECK(first.body == retry.body); // the event's own time, not the attempt's
}

TEST_CASE("generic webhook: unsigned without a secret; errors for a bad secret or no id") {
  const auto request = build(settings(WebhookKind::generic, "http://127.0.0.1:9/hook"), sample(), 1700000000000);
  CHECK(header(request, "webhook-signature") == "(absent)");
  CHECK(header(request, "webhook-id") == "evt_7f3a");

  const auto bad = notify::build_webhook_request(
      settings(WebhookKind::generic, "https://h.example.com/x", "whsec_short"), sample(), at_ms(0));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("whsec_short") == std::string::npos);

  notify::Message no_id = sample();
  no_id.id.clear();
  const auto unnamed =
      notify::build_webhook_request(settings(WebhookKind::generic, "https://h.example.com/x"), no_id, at_ms(0));
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.error().message.find("webhook-id") != std::string::npos);
}

TEST_CASE("a URL that is not http(s) is refused without showing its token") {
  const auto request = notify::build_webhook_request(
      settings(WebhookKind::wecom, "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=0a1b2c3d-secret"), sample(), at_ms(0));
  REQUIRE_FALSE(request.ok());
  CHECK(request.error().message.find("0a1b2c3d-secret") == std::string::npos);
  CHECK(request.error().message.find("https://") != std::string::npos);
}

TEST_CASE("DingTalk: markdown message, signed in the query string") {
  auto chosen = settings(WebhookKind::dingtalk, "https://oapi.dingtalk.com/robot/send?access_token=abc123",
                         "SEC0123456789abcdef");
  chosen.mention_mobiles = {"13800000000"};
  const auto request = build(chosen, sample(), 1700000000000);
  CHECK(request.url == "https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1700000000000"
                       "&sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D");
  CHECK(json::parse(request.body) ==
        json{{"msgtype", "markdown"},
             {"markdown",
              {{"title", "发布失败: shop 1.4.2"},
               {"text", "#### 发布失败: shop 1.4.2\n\n部署 shop 1.4.2 到生产失败\n已回滚\n\n@13800000000"}}},
             {"at", {{"atMobiles", {"13800000000"}}, {"atUserIds", json::array()}, {"isAtAll", false}}}});
}

TEST_CASE("DingTalk: no secret, no signature parameters; markdown preferred over text") {
  notify::Message message = sample();
  message.markdown = "**失败** [日志](https://ci.example.com/1)";
  const auto request = build(settings(WebhookKind::dingtalk, "https://oapi.dingtalk.com/robot/send?access_token=abc"),
                             message, 1700000000000);
  CHECK(request.url == "https://oapi.dingtalk.com/robot/send?access_token=abc");
  CHECK(json::parse(request.body)["markdown"]["text"] ==
        "#### 发布失败: shop 1.4.2\n\n**失败** [日志](https://ci.example.com/1)");
}

TEST_CASE("Feishu: post message with timestamp and sign in the body") {
  auto chosen = settings(WebhookKind::feishu, "https://open.feishu.cn/open-apis/bot/v2/hook/0d2e-token", "demo-secret");
  chosen.mention_user_ids = {"ou_123"};
  const auto request = build(chosen, sample(), 1700000000000);
  CHECK(request.url == "https://open.feishu.cn/open-apis/bot/v2/hook/0d2e-token");
  CHECK(json::parse(request.body) ==
        json{{"timestamp", "1700000000"},
             {"sign", "mYHw2R2SOm8Rw/sne3lQdmz4sOfntKR+1P/8RKKTwmA="},
             {"msg_type", "post"},
             {"content",
              {{"post",
                {{"zh_cn",
                  {{"title", "发布失败: shop 1.4.2"},
                   {"content", json::array({json::array({{{"tag", "text"}, {"text", "部署 shop 1.4.2 到生产失败"}}}),
                                            json::array({{{"tag", "text"}, {"text", "已回滚"}}}),
                                            json::array({{{"tag", "at"}, {"user_id", "ou_123"}}})})}}}}}}}});
}

TEST_CASE("Feishu: interactive card when the message has markdown; unsigned without a secret") {
  notify::Message message = sample();
  message.markdown = "**失败**";
  auto chosen = settings(WebhookKind::feishu, "https://open.feishu.cn/open-apis/bot/v2/hook/0d2e-token");
  chosen.mention_all = true;
  const auto body = json::parse(build(chosen, message, 1700000000000).body);
  CHECK_FALSE(body.contains("sign"));
  CHECK_FALSE(body.contains("timestamp"));
  CHECK(
      body ==
      json{{"msg_type", "interactive"},
           {"card",
            {{"config", {{"wide_screen_mode", true}}},
             {"header", {{"title", {{"tag", "plain_text"}, {"content", "发布失败: shop 1.4.2"}}}, {"template", "red"}}},
             {"elements", json::array({{{"tag", "markdown"}, {"content", "**失败**\n\n<at id=all></at>"}}})}}}});
}

TEST_CASE("WeCom: markdown with <@userid>, text when mobiles are mentioned") {
  auto chosen = settings(WebhookKind::wecom, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1");
  chosen.mention_user_ids = {"zhangsan"};
  CHECK(json::parse(build(chosen, sample(), 0).body) ==
        json{{"msgtype", "markdown"},
             {"markdown",
              {{"content", "**发布失败: shop 1.4.2**\n\n部署 shop 1.4.2 到生产失败\n已回滚\n\n<@zhangsan>"}}}});
  chosen.mention_mobiles = {"13800000000"};
  CHECK(json::parse(build(chosen, sample(), 0).body) ==
        json{{"msgtype", "text"},
             {"text",
              {{"content", "发布失败: shop 1.4.2\n部署 shop 1.4.2 到生产失败\n已回滚"},
               {"mentioned_list", {"zhangsan"}},
               {"mentioned_mobile_list", {"13800000000"}}}}});
}

TEST_CASE("WeCom: markdown is cut to 4096 bytes on a character boundary") {
  notify::Message message = sample();
  message.subject.clear();
  message.text = std::string(4094, 'a') + "发布";
  const auto content = json::parse(build(settings(WebhookKind::wecom, "https://q.example.com/send?key=k"), message, 0)
                                       .body)["markdown"]["content"]
                           .get<std::string>();
  CHECK(content.size() <= 4096);
  CHECK(content == std::string(4093, 'a') + "…");
}

TEST_CASE("Slack: text fallback and blocks") {
  auto chosen = settings(WebhookKind::slack, "https://hooks.slack.com/services/T000/B000/XXXX");
  chosen.mention_user_ids = {"U024BE7LH"};
  CHECK(json::parse(build(chosen, sample(), 0).body) ==
        json{{"text", "发布失败: shop 1.4.2\n部署 shop 1.4.2 到生产失败\n已回滚"},
             {"blocks",
              {{{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", "发布失败: shop 1.4.2"}}}},
               {{"type", "section"},
                {"text", {{"type", "mrkdwn"}, {"text", "部署 shop 1.4.2 到生产失败\n已回滚\n\n<@U024BE7LH>"}}}}}}});
}

TEST_CASE("Teams: Workflows envelope with an Adaptive Card") {
  const auto request =
      build(settings(WebhookKind::teams,
                     "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=S"),
            sample(), 0);
  CHECK(json::parse(request.body) ==
        json{{"type", "message"},
             {"attachments",
              {{{"contentType", "application/vnd.microsoft.card.adaptive"},
                {"contentUrl", nullptr},
                {"content",
                 {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                  {"type", "AdaptiveCard"},
                  {"version", "1.4"},
                  {"body",
                   {{{"type", "TextBlock"},
                     {"text", "发布失败: shop 1.4.2"},
                     {"weight", "Bolder"},
                     {"size", "Medium"},
                     {"wrap", true}},
                    {{"type", "TextBlock"}, {"text", "部署 shop 1.4.2 到生产失败\n已回滚"}, {"wrap", true}}}},
                  {"msteams", {{"width", "Full"}}}}}}}}});
}

TEST_CASE("webhook kinds by name") {
  CHECK(notify::webhook_kind_from("dingtalk") == WebhookKind::dingtalk);
  CHECK(notify::webhook_kind_from("lark") == WebhookKind::feishu);
  CHECK(notify::webhook_kind_from("generic") == WebhookKind::generic);
  CHECK_FALSE(notify::webhook_kind_from("msteams").has_value());
  CHECK(notify::to_string(WebhookKind::wecom) == "wecom");
}

TEST_CASE("classify: success answers per vendor") {
  const auto now = at_ms(0);
  CHECK(notify::classify_webhook_response(WebhookKind::generic, answer(204, ""), now).ok());
  CHECK(notify::classify_webhook_response(WebhookKind::slack, answer(200, "ok"), now).ok());
  const auto teams = notify::classify_webhook_response(WebhookKind::teams, answer(202, ""), now);
  CHECK(teams.ok());
  CHECK(teams.detail.find("run history") != std::string::npos);
  CHECK(notify::classify_webhook_response(WebhookKind::dingtalk, answer(200, R"({"errcode":0,"errmsg":"ok"})"), now)
            .ok());
  CHECK(notify::classify_webhook_response(WebhookKind::wecom, answer(200, R"({"errcode":0,"errmsg":"ok"})"), now).ok());
  CHECK(notify::classify_webhook_response(
            WebhookKind::feishu,
            answer(200, R"({"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"})"), now)
            .ok());
  CHECK(notify::classify_webhook_response(WebhookKind::feishu,
                                          answer(200, R"({"StatusCode":0,"StatusMessage":"success"})"), now)
            .ok());
}

TEST_CASE("classify: robots' 200 rejections are permanent with the vendor's message") {
  const auto now = at_ms(0);
  const auto ding = notify::classify_webhook_response(
      WebhookKind::dingtalk,
      answer(
          200,
          R"({"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})"),
      now);
  CHECK(ding.status == DeliveryStatus::permanent);
  CHECK(ding.http_status == 200);
  CHECK(ding.detail.find("HTTP 200, errcode 310000: sign not match") == 0);
  const auto feishu = notify::classify_webhook_response(
      WebhookKind::feishu,
      answer(
          200,
          R"({"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"})"),
      now);
  CHECK(feishu.status == DeliveryStatus::permanent);
  CHECK(feishu.detail.find("code 19021: sign match fail") != std::string::npos);
  const auto wecom = notify::classify_webhook_response(
      WebhookKind::wecom, answer(200, R"({"errcode":93000,"errmsg":"invalid webhook url"})"), now);
  CHECK(wecom.status == DeliveryStatus::permanent);
  CHECK(wecom.detail.find("errcode 93000: invalid webhook url") != std::string::npos);
  const auto not_json =
      notify::classify_webhook_response(WebhookKind::dingtalk, answer(200, "<html>portal</html>"), now);
  CHECK(not_json.status == DeliveryStatus::permanent);
  CHECK(not_json.detail.find("DingTalk robot webhook") != std::string::npos);
}

TEST_CASE("classify: robots' rate-limit codes are transient") {
  const auto now = at_ms(0);
  CHECK(notify::classify_webhook_response(
            WebhookKind::dingtalk,
            answer(200, R"({"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"})"), now)
            .status == DeliveryStatus::transient);
  CHECK(notify::classify_webhook_response(WebhookKind::feishu,
                                          answer(200, R"({"code":11232,"msg":"frequency limited"})"), now)
            .status == DeliveryStatus::transient);
  CHECK(notify::classify_webhook_response(WebhookKind::wecom,
                                          answer(200, R"({"errcode":45009,"errmsg":"api freq out of limit"})"), now)
            .status == DeliveryStatus::transient);
}

TEST_CASE("classify: 429 and 5xx are transient, Retry-After honoured") {
  const auto now = at_ms(1700000000000);
  const auto limited =
      notify::classify_webhook_response(WebhookKind::slack, answer(429, "rate_limited", {{"retry-after", "7"}}), now);
  CHECK(limited.status == DeliveryStatus::transient);
  CHECK(limited.http_status == 429);
  CHECK(limited.retry_after == std::chrono::seconds(7));
  const auto dated = notify::classify_webhook_response(
      WebhookKind::generic, answer(503, "", {{"retry-after", "Tue, 14 Nov 2023 22:14:00 GMT"}}), now);
  CHECK(dated.status == DeliveryStatus::transient);
  CHECK(dated.retry_after == std::chrono::seconds(40));
  const auto failed = notify::classify_webhook_response(WebhookKind::generic, answer(500, "boom"), now);
  CHECK(failed.status == DeliveryStatus::transient);
  CHECK_FALSE(failed.retry_after.has_value());
  CHECK(failed.detail == "HTTP 500: boom");
}

TEST_CASE("classify: 3xx and other 4xx are permanent") {
  const auto now = at_ms(0);
  const auto moved = notify::classify_webhook_response(
      WebhookKind::generic,
      answer(302, "", {{"location", "https://other.example.com/hook/abcdef0123456789?token=t0k3n"}}), now);
  CHECK(moved.status == DeliveryStatus::permanent);
  CHECK(moved.detail.find("redirect") != std::string::npos);
  CHECK(moved.detail.find("https://other.example.com/hook/…") != std::string::npos);
  CHECK(moved.detail.find("t0k3n") == std::string::npos);
  const auto slack = notify::classify_webhook_response(WebhookKind::slack, answer(403, "invalid_token"), now);
  CHECK(slack.status == DeliveryStatus::permanent);
  CHECK(slack.detail.find("HTTP 403: invalid_token") == 0);
  const auto gone = notify::classify_webhook_response(WebhookKind::generic, answer(410, ""), now);
  CHECK(gone.status == DeliveryStatus::permanent);
  CHECK(gone.detail.find("gone") != std::string::npos);
}

TEST_CASE("describe_webhook_url hides queries and path tokens") {
  CHECK(notify::describe_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=abc") ==
        "https://oapi.dingtalk.com/robot/send");
  CHECK(notify::describe_webhook_url("https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/xyzXYZ1234567890") ==
        "https://hooks.slack.com/services/…");
  CHECK(notify::describe_webhook_url(
            "https://open.feishu.cn/open-apis/bot/v2/hook/8a4f7c7e-0000-4000-8000-000000000000") ==
        "https://open.feishu.cn/open-apis/bot/v2/hook/…");
  CHECK(notify::describe_webhook_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6") ==
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send");
  CHECK(notify::describe_webhook_url("https://user:pass@hooks.example.com:8443/release/notify#frag") ==
        "https://hooks.example.com:8443/release/notify");
}

TEST_CASE("webhook_secrets lists the URL's secret parts and the secret") {
  auto chosen =
      settings(WebhookKind::slack, "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/xyzXYZ1234567890?x=1");
  chosen.secret = "s3cr3t";
  const auto secrets = notify::webhook_secrets(chosen);
  for (const std::string expected : {"T0ABCDEFG", "B0ABCDEFG", "xyzXYZ1234567890", "1", "s3cr3t"})
    CHECK(std::find(secrets.begin(), secrets.end(), expected) != secrets.end());
  CHECK(std::find(secrets.begin(), secrets.end(), "services") == secrets.end());
}

TEST_SUITE_END();
