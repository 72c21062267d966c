#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <memory>
#include <thread>

#include "../support/temp_dir.hpp"
#include "notify/dispatch.hpp"
#include "notify/outbox.hpp"

using namespace std::chrono_literals;
using notify::Delivery;
using notify::DeliveryStatus;
using notify::Message;

namespace {

Message message(const std::string& id, const std::string& subject = "1.4.0 is live in prod") {
  Message out;
  out.id = id;
  out.thread = "release-1.4.0";
  out.event = "deploy-succeeded";
  out.urgency = "P3";
  out.subject = subject;
  out.text = "发布 1.4.0 已上线";
  out.data = {{"version", "1.4.0"}};
  out.created = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  return out;
}

notify::RetryPolicy fast() {
  notify::RetryPolicy policy;
  policy.first_delay = 1ms;
  policy.max_delay = 5ms;
  return policy;
}

const notify::Outbox::Budget k_no_budget = [](const std::string&) -> notify::RateLimiter* { return nullptr; };

} // namespace

TEST_CASE("outbox: a message survives the round trip through its file") {
  test_support::TempDir dir;
  auto outbox = notify::Outbox::open(dir.path() / "outbox");
  REQUIRE(outbox.ok());
  auto key = outbox->put("ops-mail", message("m1"), {"ops@example.com", "dba@example.com"});
  REQUIRE(key.ok());
  std::vector<std::string> warnings;
  auto entries = outbox->entries(warnings);
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  const auto& entry = entries->front();
  CHECK(entry.key == *key);
  CHECK(entry.channel == "ops-mail");
  CHECK(entry.recipients == std::vector<std::string>{"ops@example.com", "dba@example.com"});
  CHECK(entry.state == "pending");
  CHECK(entry.message.text == "发布 1.4.0 已上线");
  CHECK(entry.message.data["version"] == "1.4.0");
  CHECK(entry.message.created == message("m1").created);
  // Queuing the same message for the same channel again adds nothing.
  CHECK(*outbox->put("ops-mail", message("m1")) == *key);
  CHECK(outbox->put("dev-chat", message("m1"))->size() == 32);
  CHECK(outbox->entries(warnings)->size() == 2);
}

TEST_CASE("outbox: a flush delivers each pending entry once; transient failures are retried, permanent ones are not") {
  test_support::TempDir dir;
  auto outbox = notify::Outbox::open(dir.path());
  REQUIRE(outbox.ok());
  REQUIRE(outbox->put("ok", message("a")).ok());
  REQUIRE(outbox->put("flaky", message("b")).ok());
  REQUIRE(outbox->put("down", message("c")).ok());
  REQUIRE(outbox->put("rejects", message("d")).ok());
  std::map<std::string, int> calls;
  auto deliver = [&](const notify::OutboxEntry& entry) -> Delivery {
    const std::string& channel = entry.channel;
    const int call = ++calls[channel];
    if (channel == "ok") return {DeliveryStatus::delivered, "HTTP 200"};
    if (channel == "flaky") return call < 2 ? Delivery{DeliveryStatus::transient, "HTTP 503"} : Delivery{DeliveryStatus::delivered, "HTTP 200"};
    if (channel == "down") return {DeliveryStatus::transient, "connection refused"};
    return {DeliveryStatus::permanent, "HTTP 200, errcode 310000: sign not match"};
  };
  auto report = outbox->flush(deliver, k_no_budget, fast());
  CHECK(report.delivered.size() == 2);
  CHECK(report.pending.size() == 1);
  CHECK(report.failed.size() == 1);
  CHECK(calls["ok"] == 1);
  CHECK(calls["flaky"] == 2);
  CHECK(calls["down"] == 3); // policy.attempts
  CHECK(calls["rejects"] == 1);

  // A second flush sends only what is still pending: the channel that was down.
  calls.clear();
  report = outbox->flush(deliver, k_no_budget, fast());
  CHECK(calls == std::map<std::string, int>{{"down", 3}});
  // The failed one again only when asked, and its detail is kept.
  std::vector<std::string> warnings;
  const auto listed = outbox->entries(warnings);
  REQUIRE(listed.ok());
  for (const auto& entry : *listed)
    if (entry.channel == "rejects") {
      CHECK(entry.state == "failed");
      CHECK(entry.last_detail == "HTTP 200, errcode 310000: sign not match");
    }
  calls.clear();
  report = outbox->flush(deliver, k_no_budget, fast(), {}, true);
  CHECK(calls["rejects"] == 1);
}

TEST_CASE("outbox: two flushes at once never send the same entry twice") {
  test_support::TempDir dir;
  auto first = notify::Outbox::open(dir.path());
  auto second = notify::Outbox::open(dir.path());
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  for (int i = 0; i < 12; ++i) REQUIRE(first->put("hook", message("m" + std::to_string(i))).ok());
  std::mutex mutex;
  std::map<std::string, int> sent;
  auto deliver = [&](const notify::OutboxEntry& entry) -> Delivery {
    const Message& m = entry.message;
    std::this_thread::sleep_for(5ms);
    std::lock_guard<std::mutex> guard(mutex);
    ++sent[m.id];
    return {DeliveryStatus::delivered, "ok"};
  };
  std::thread a([&] { first->flush(deliver, k_no_budget, fast()); });
  std::thread b([&] { second->flush(deliver, k_no_budget, fast()); });
  a.join();
  b.join();
  CHECK(sent.size() == 12);
  for (const auto& entry : sent) CHECK_MESSAGE(entry.second == 1, entry.first);
}

TEST_CASE("outbox: attachments are kept in the outbox; a broken entry is a warning, not a stop") {
  test_support::TempDir dir;
  const auto plan = dir.path() / "launch-plan.md";
  std::ofstream(plan) << "# 上线方案\n";
  auto outbox = notify::Outbox::open(dir.path() / "outbox");
  REQUIRE(outbox.ok());
  Message with_file = message("handoff");
  with_file.attachments.push_back({plan.string(), "", ""});
  REQUIRE(outbox->put("dba-mail", with_file).ok());
  std::filesystem::remove(plan); // the job's workspace is gone by the flush
  std::ofstream(dir.path() / "outbox" / "0123.json") << "{ torn";
  std::string got;
  auto report = outbox->flush(
      [&](const notify::OutboxEntry& entry) -> Delivery {
        const Message& m = entry.message;
        std::ifstream in(m.attachments.at(0).path);
        std::getline(in, got);
        CHECK(m.attachments.at(0).name == "launch-plan.md");
        return {DeliveryStatus::delivered, ""};
      },
      k_no_budget, fast());
  CHECK(got == "# 上线方案");
  CHECK(report.delivered.size() == 1);
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings.front().find("0123.json") != std::string::npos);
}

TEST_CASE("outbox: fields of the wrong type or out of range make an entry unreadable, never stop the flush") {
  test_support::TempDir dir;
  auto outbox = notify::Outbox::open(dir.path());
  REQUIRE(outbox.ok());
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() / (name + ".json")) << text;
  };
  // A string where a number belongs used to throw out of the reader.
  write("attempts-string", R"({"channel":"c","attempts":"3","message":{"id":"a"}})");
  write("channel-number", R"({"channel":7,"message":{"id":"b"}})");
  // A number past the clock, or a fraction too large for an integer,
  // must not overflow when it is turned into a time.
  write("queued-huge", R"({"channel":"c","queued_ms":1e300,"message":{"id":"c"}})");
  write("created-fraction", R"({"channel":"c","message":{"id":"d","created_ms":1.5e19}})");
  write("attempts-huge", R"({"channel":"c","attempts":99999999999,"message":{"id":"e"}})");
  // Whole numbers past the clock's end saturate: the entry still reads.
  write("far-future", R"({"channel":"c","queued_ms":9223372036854775807,"message":{"id":"f","created_ms":-9223372036854775807}})");
  std::vector<std::string> warnings;
  const auto entries = outbox->entries(warnings);
  REQUIRE(entries.ok());
  CHECK(warnings.size() == 5);
  REQUIRE(entries->size() == 1);
  CHECK(entries->front().message.id == "f");
  CHECK(entries->front().queued == std::chrono::system_clock::time_point::max() -
                                       std::chrono::system_clock::time_point::max().time_since_epoch() % 1ms);
  CHECK(entries->front().message.created < std::chrono::system_clock::time_point{});
  auto report = outbox->flush([](const notify::OutboxEntry&) { return Delivery{DeliveryStatus::delivered, ""}; },
                              k_no_budget, fast());
  CHECK(report.delivered.size() == 1);
  CHECK(report.warnings.size() == 5);
}

TEST_CASE("rate limiter: at most N per window") {
  notify::RateLimiter limiter(2, 1000ms);
  const auto start = std::chrono::steady_clock::now();
  CHECK(limiter.wait(start) == 0ms);
  limiter.record(start);
  limiter.record(start + 100ms);
  const auto wait = limiter.wait(start + 200ms);
  CHECK(wait > 790ms);
  CHECK(wait <= 801ms);
  CHECK(limiter.wait(start + 1001ms) == 0ms);
}

TEST_CASE("outbox: a rate budget used up for longer than allowed leaves the entry pending") {
  test_support::TempDir dir;
  auto outbox = notify::Outbox::open(dir.path());
  REQUIRE(outbox.ok());
  REQUIRE(outbox->put("dingtalk", message("a")).ok());
  REQUIRE(outbox->put("dingtalk", message("b")).ok());
  notify::RateLimiter limiter(1, std::chrono::minutes(1));
  notify::RetryPolicy policy = fast();
  policy.max_rate_wait = 50ms;
  int calls = 0;
  auto report = outbox->flush([&](const notify::OutboxEntry&) -> Delivery {
    ++calls;
    return {DeliveryStatus::delivered, ""};
  }, [&](const std::string&) { return &limiter; }, policy);
  CHECK(calls == 1);
  CHECK(report.delivered.size() == 1);
  CHECK(report.pending.size() == 1);
}

TEST_CASE("dispatch: a secret in the event's data is masked in the outbox, the message and its data") {
  test_support::TempDir dir;
  deploy::NotifySpec notify;
  notify.present = true;
  notify.outbox = (dir.path() / "outbox").string();
  // A malformed signing secret fails the delivery at once (permanent), after
  // the message was queued; the robot is never routed, yet its URL is masked.
  deploy::NotifyChannelSpec hook;
  hook.name = "hook";
  hook.type = "webhook";
  hook.url = "http://127.0.0.1:9/hook";
  hook.secret_env = "HOOK_SECRET";
  deploy::NotifyChannelSpec robot_channel;
  robot_channel.name = "robot";
  robot_channel.type = "dingtalk";
  robot_channel.url_env = "ROBOT_URL";
  notify.channels = {hook, robot_channel};
  notify.roles["developer"] = {"hook"};
  const std::string token = "s3c\"ret&<v4lue>";
  const std::string robot = "http://127.0.0.1:9/robot/send?access_token=robot-0123456789";
  const ci::Environment env({{"HOOK_SECRET", "whsec_%%%"}, {"ROBOT_URL", robot}, {"API_TOKEN", token}});
  // Closed after the Output, which flushes into it when it goes.
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> sink(std::tmpfile(), &std::fclose);
  io::Output output(io::Redactor::from_environment(env, {}), sink.get(), sink.get());
  notify::Dispatcher dispatcher(notify, env, output);
  notify::EventRequest request;
  request.event = "deploy-failed";
  request.data = {{"headline", "FAIL: token " + token + " refused"},
                  {"reason", "curl " + robot},
                  {"failed", {"login [" + token + "]"}}};
  const auto report = dispatcher.send(request);
  std::vector<std::string> warnings;
  auto entries = notify::Outbox::open(notify.outbox)->entries(warnings);
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  const auto& message = entries->front().message;
  CHECK(message.data["headline"] == "FAIL: token *** refused");
  CHECK(message.data["reason"] == "curl ***");
  CHECK(message.data["failed"][0] == "login [***]");
  for (const auto& text : {message.subject, message.text, message.html, message.markdown, message.data.dump()}) {
    CHECK(text.find("s3c") == std::string::npos);
    CHECK(text.find("robot-0123456789") == std::string::npos);
  }
  for (const auto& file : std::filesystem::directory_iterator(notify.outbox)) {
    if (!file.is_regular_file()) continue;
    std::ifstream in(file.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find("s3c") == std::string::npos);
    CHECK(text.find("robot-0123456789") == std::string::npos);
  }
}
