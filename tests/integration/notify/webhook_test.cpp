// send_webhook (libcurl) against tests/fixtures/notify/webhook_receiver.py
// on 127.0.0.1, which verifies each vendor's signature from its own copy of
// the secret and answers with the vendor's own bodies.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/webhook.hpp"
#include "support/servers.hpp"
#include "support/spawn.hpp"

#ifndef SHIPGATE_SOURCE_DIR
#error "SHIPGATE_SOURCE_DIR must name the source tree (set by tests/CMakeLists.txt)"
#endif

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using notify::DeliveryStatus;
using notify::WebhookKind;
using notify::WebhookSettings;

const std::string k_ding_secret = "SEC0123456789abcdef0123456789abcdef";
const std::string k_feishu_secret = "feishu-sign-secret-42";
const std::string k_generic_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string k_wrong_generic = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// The receiver in a fresh directory; stopped and the directory removed at
// the end of each test (kept with SHIPGATE_KEEP_TEST_DIRS=1, for its
// received.jsonl).
class Receiver {
public:
  Receiver() {
    std::string pattern = (fs::temp_directory_path() / "shipgate-webhooks-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    m_dir = pattern;
    const json config = {{"dingtalk", {{"token", "ding-token-1"}, {"secret", k_ding_secret}}},
                         {"feishu", {{"token", "8a4f7c7e-feishu-token"}, {"secret", k_feishu_secret}}},
                         {"wecom", {{"key", "693a91f6-wecom-key"}}},
                         {"slack", {{"path", "/services/T0ABCDEFG/B0ABCDEFG/xyzXYZ1234567890"}}},
                         {"teams", {{"sig", "teams-sig-value"}}},
                         {"generic", {{"secret", k_generic_secret}}}};
    std::ofstream(m_dir / "config.json") << config.dump();
    const auto started = test_support::spawn(
        {"python3", std::string(SHIPGATE_SOURCE_DIR) + "/tests/fixtures/notify/webhook_receiver.py", m_dir.string()},
        true);
    m_pid = started.pid;
    const std::string line = test_support::read_line(started.stdout_fd, 10s);
    ::close(started.stdout_fd);
    m_port = std::atoi(line.c_str());
    if (m_port <= 0) {
      test_support::stop(m_pid);
      throw std::runtime_error("webhook_receiver.py printed no port (got \"" + line + "\")");
    }
  }
  ~Receiver() {
    test_support::stop(m_pid);
    const char* keep = std::getenv("SHIPGATE_KEEP_TEST_DIRS");
    if (keep && *keep && std::string_view(keep) != "0") return;
    std::error_code ignored;
    fs::remove_all(m_dir, ignored);
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(m_port) + path; }

  WebhookSettings settings(WebhookKind kind, bool right_secret = true) const {
    WebhookSettings settings;
    settings.kind = kind;
    settings.timeout = 5s;
    switch (kind) {
    case WebhookKind::dingtalk:
      settings.url = url("/dingtalk/robot/send?access_token=ding-token-1");
      settings.secret = right_secret ? k_ding_secret : "SECwrong";
      break;
    case WebhookKind::feishu:
      settings.url = url("/feishu/open-apis/bot/v2/hook/8a4f7c7e-feishu-token");
      settings.secret = right_secret ? k_feishu_secret : "wrong";
      break;
    case WebhookKind::wecom:
      settings.url = url(right_secret ? "/wecom/cgi-bin/webhook/send?key=693a91f6-wecom-key"
                                      : "/wecom/cgi-bin/webhook/send?key=0000-wrong-key");
      break;
    case WebhookKind::slack:
      settings.url = url(right_secret ? "/slack/services/T0ABCDEFG/B0ABCDEFG/xyzXYZ1234567890"
                                      : "/slack/services/T0ABCDEFG/B0ABCDEFG/wrongWRONG000000");
      break;
    case WebhookKind::teams:
      settings.url = url("/teams/workflows/0f1e2d3c4b5a69788796a5b4c3d2e1f0/triggers/manual/paths/invoke"
                         "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" +
                         std::string(right_secret ? "teams-sig-value" : "wrong-sig-value"));
      break;
    case WebhookKind::generic:
      settings.url = url("/generic/release-events");
      settings.secret = right_secret ? k_generic_secret : k_wrong_generic;
      break;
    }
    return settings;
  }

  void set_mode(const std::string& channel, const json& mode) {
    m_modes[channel] = mode;
    std::ofstream(m_dir / "modes.json") << m_modes.dump();
  }

  std::vector<json> received() const {
    std::vector<json> entries;
    std::ifstream in(m_dir / "received.jsonl");
    for (std::string line; std::getline(in, line);)
      entries.push_back(json::parse(line));
    return entries;
  }

private:
  fs::path m_dir;
  pid_t m_pid = -1;
  int m_port = 0;
  json m_modes = json::object();
};

notify::Message message(const std::string& id = "evt_release_1") {
  notify::Message message;
  message.id = id;
  message.event = "released";
  message.urgency = "P2";
  message.subject = "发布成功: shop 1.4.2 已上线";
  message.text = "生产环境验证通过 ✅\n测试: 张三";
  message.data = {{"release", "shop-1.4.2"}};
  message.created = std::chrono::system_clock::now();
  return message;
}

notify::Delivery send(const WebhookSettings& settings, const notify::Message& sent = message()) {
  return notify::send_webhook(settings, sent, std::chrono::system_clock::now());
}

const std::vector<WebhookKind> k_all_kinds = {WebhookKind::generic,  WebhookKind::slack,  WebhookKind::teams,
                                              WebhookKind::dingtalk, WebhookKind::feishu, WebhookKind::wecom};


} // namespace

TEST_SUITE_BEGIN("notify webhook");

TEST_CASE("a correctly signed message is accepted by every kind of receiver, Chinese intact") {
  Receiver receiver;
  for (const auto kind : k_all_kinds) {
    CAPTURE(notify::to_string(kind));
    const auto delivery = send(receiver.settings(kind));
    CHECK_MESSAGE(delivery.ok(), delivery.detail);
    CHECK(delivery.http_status >= 200);
    CHECK(delivery.http_status < 300);
  }
  const auto received = receiver.received();
  REQUIRE(received.size() == k_all_kinds.size());
  for (const auto& entry : received) {
    CAPTURE(entry.dump());
    CHECK(entry["verdict"] == "ok");
    CHECK(entry["body"].get<std::string>().find("发布成功: shop 1.4.2 已上线") != std::string::npos);
  }
  // The generic payload carries the text byte for byte.
  const json generic = json::parse(received[0]["body"].get<std::string>());
  CHECK(generic["data"]["text"] == "生产环境验证通过 ✅\n测试: 张三");
}

TEST_CASE("a wrong secret is permanent, with the vendor's message") {
  Receiver receiver;
  const std::vector<std::pair<WebhookKind, std::string>> expected = {
      {WebhookKind::dingtalk, "HTTP 200, errcode 310000: sign not match"},
      {WebhookKind::feishu, "HTTP 200, code 19021: sign match fail or timestamp is not within one hour"},
      {WebhookKind::wecom, "HTTP 200, errcode 93000: invalid webhook url"},
      {WebhookKind::slack, "HTTP 403: invalid_token"},
      {WebhookKind::teams, "HTTP 401: {\"error\": {\"code\": \"DirectApiAuthorizationRequired\""},
      {WebhookKind::generic, "HTTP 401: {\"error\": \"invalid signature\"}"},
  };
  for (const auto& entry : expected) {
    const auto kind = entry.first;
    const std::string start = entry.second;
    CAPTURE(notify::to_string(kind));
    const auto settings = receiver.settings(kind, false);
    const auto delivery = send(settings);
    CHECK(delivery.status == DeliveryStatus::permanent);
    CHECK_MESSAGE(delivery.detail.find(start) == 0, delivery.detail);
    for (const auto& secret : notify::webhook_secrets(settings))
      if (secret.size() >= 4) CHECK_MESSAGE(delivery.detail.find(secret) == std::string::npos, secret);
  }
}

TEST_CASE("Feishu and generic secrets never travel in the URL") {
  Receiver receiver;
  REQUIRE(send(receiver.settings(WebhookKind::feishu)).ok());
  REQUIRE(send(receiver.settings(WebhookKind::generic)).ok());
  const auto received = receiver.received();
  REQUIRE(received.size() == 2);
  for (const auto& entry : received) {
    const std::string url = entry["path"].get<std::string>() + "?" + entry["query"].get<std::string>();
    CHECK(url.find(k_feishu_secret) == std::string::npos);
    CHECK(url.find(k_generic_secret) == std::string::npos);
    CHECK(url.find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == std::string::npos);
    CHECK(entry["body"].get<std::string>().find(k_feishu_secret) == std::string::npos);
  }
  // DingTalk's secret is not in its URL either, only the signature derived from it.
  REQUIRE(send(receiver.settings(WebhookKind::dingtalk)).ok());
  const auto ding = receiver.received().back();
  CHECK(ding["query"].get<std::string>().find(k_ding_secret) == std::string::npos);
  CHECK(ding["query"].get<std::string>().find("&sign=") != std::string::npos);
}

TEST_CASE("webhook-id is the message id on every send, the signature is fresh") {
  Receiver receiver;
  const auto settings = receiver.settings(WebhookKind::generic);
  const auto sent = message("evt_stable_42");
  REQUIRE(send(settings, sent).ok());
  std::this_thread::sleep_for(1100ms); // a new second, so a new webhook-timestamp
  REQUIRE(send(settings, sent).ok());
  const auto received = receiver.received();
  REQUIRE(received.size() == 2);
  CHECK(received[0]["headers"]["webhook-id"] == "evt_stable_42");
  CHECK(received[1]["headers"]["webhook-id"] == "evt_stable_42");
  CHECK(received[0]["headers"]["webhook-timestamp"] != received[1]["headers"]["webhook-timestamp"]);
  CHECK(received[0]["headers"]["webhook-signature"] != received[1]["headers"]["webhook-signature"]);
}

TEST_CASE("rate limits and server errors are transient, Retry-After honoured") {
  Receiver receiver;
  receiver.set_mode("slack", {{"mode", "429"}, {"retry_after", "7"}});
  const auto limited = send(receiver.settings(WebhookKind::slack));
  CHECK(limited.status == DeliveryStatus::transient);
  CHECK(limited.http_status == 429);
  CHECK(limited.retry_after == std::chrono::seconds(7));

  receiver.set_mode("generic", {{"mode", "500"}});
  const auto failed = send(receiver.settings(WebhookKind::generic));
  CHECK(failed.status == DeliveryStatus::transient);
  CHECK(failed.http_status == 500);

  for (const auto kind : {WebhookKind::dingtalk, WebhookKind::feishu, WebhookKind::wecom}) {
    CAPTURE(notify::to_string(kind));
    receiver.set_mode(std::string(notify::to_string(kind)), {{"mode", "throttle"}});
    const auto throttled = send(receiver.settings(kind));
    CHECK(throttled.status == DeliveryStatus::transient);
    CHECK(throttled.http_status == 200);
  }
}

TEST_CASE("a robot's keyword rejection is permanent with its message") {
  Receiver receiver;
  receiver.set_mode("dingtalk", {{"mode", "reject"}});
  const auto delivery = send(receiver.settings(WebhookKind::dingtalk));
  CHECK(delivery.status == DeliveryStatus::permanent);
  CHECK(delivery.detail.find("errcode 310000: keywords not in content") != std::string::npos);
}

TEST_CASE("a redirect is not followed") {
  Receiver receiver;
  receiver.set_mode("generic", {{"mode", "redirect"}});
  const auto delivery = send(receiver.settings(WebhookKind::generic));
  CHECK(delivery.status == DeliveryStatus::permanent);
  CHECK(delivery.http_status == 302);
  CHECK(delivery.detail.find("moved-token") == std::string::npos);
  CHECK(receiver.received().size() == 1); // nothing was posted to the new place
}

TEST_CASE("a timeout after sending is transient and says it may have been delivered") {
  Receiver receiver;
  receiver.set_mode("wecom", {{"mode", "slow"}, {"delay", 3}});
  auto settings = receiver.settings(WebhookKind::wecom);
  settings.timeout = 1s;
  const auto started = std::chrono::steady_clock::now();
  const auto delivery = send(settings);
  CHECK(std::chrono::steady_clock::now() - started < 2500ms);
  CHECK(delivery.status == DeliveryStatus::transient);
  CHECK_MESSAGE(delivery.detail.find("may have been delivered") != std::string::npos, delivery.detail);
  CHECK(delivery.detail.find("693a91f6-wecom-key") == std::string::npos);
  CHECK(receiver.received().size() == 1);
}

TEST_CASE("no connection is transient and surely not delivered") {
  WebhookSettings settings;
  settings.kind = WebhookKind::dingtalk;
  settings.url = "http://127.0.0.1:" + std::to_string(test_support::closed_port()) + "/robot/send?access_token=ding-token-1";
  settings.timeout = 2s;
  const auto delivery = send(settings);
  CHECK(delivery.status == DeliveryStatus::transient);
  CHECK(delivery.http_status == 0);
  CHECK_MESSAGE(delivery.detail.find("not delivered") != std::string::npos, delivery.detail);
  CHECK(delivery.detail.find("ding-token-1") == std::string::npos);
}

TEST_SUITE_END();
