#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <map>
#include <string>
#include <vector>

#include "ci/context.hpp"
#include "core/text.hpp"
#include "io/output.hpp"
#include "io/redactor.hpp"

namespace {

io::Redactor from_env(std::map<std::string, std::string> variables, std::vector<std::string> names = {}) {
  return io::Redactor::from_environment(ci::Environment(std::move(variables)), names);
}

// Feeds `pieces` through a RedactingStream and returns what reached the sink.
std::string stream(const io::Redactor& redactor, const std::vector<std::string>& pieces) {
  std::string out;
  io::RedactingStream redacting(redactor, [&](std::string_view text) { out.append(text); });
  for (const auto& piece : pieces) redacting.write(piece);
  redacting.flush();
  return out;
}

} // namespace

TEST_CASE("variables ending in _TOKEN, _PASSWORD, _SECRET, _KEY are secrets") {
  const auto redactor = from_env({{"DEPLOY_TOKEN", "tok-123456"},
                                  {"DB_PASSWORD", "hunter2hunter2"},
                                  {"CLIENT_SECRET", "s3cr3t-value"},
                                  {"API_KEY", "key-abcdef"},
                                  {"HOME", "/root/home"},
                                  {"TOKEN_HOLDER", "not-a-secret-value"}});
  CHECK(redactor.redact("t=tok-123456 p=hunter2hunter2 s=s3cr3t-value k=key-abcdef") == "t=*** p=*** s=*** k=***");
  CHECK(redactor.redact("home is /root/home") == "home is /root/home");
  CHECK(redactor.redact("not-a-secret-value") == "not-a-secret-value");
}

TEST_CASE("explicitly named variables are secrets too") {
  const auto redactor = from_env({{"WEBHOOK_URL", "https://hooks.example/T000/B000/XXXX"}, {"OTHER", "visible"}},
                                 {"WEBHOOK_URL", "NOT_SET"});
  CHECK(redactor.redact("posting to https://hooks.example/T000/B000/XXXX now") == "posting to *** now");
  CHECK(redactor.redact("visible") == "visible");
}

TEST_CASE("short and trivial values are not treated as secrets") {
  const auto redactor = from_env({{"A_TOKEN", "abc"},
                                  {"B_TOKEN", ""},
                                  {"FEATURE_KEY", "true"},
                                  {"OTHER_KEY", "false"},
                                  {"X_SECRET", "none"},
                                  {"Y_SECRET", "null"}});
  CHECK(redactor.empty());
  const std::string text = "abc true false none null 1 0 yes no";
  CHECK(redactor.redact(text) == text);
}

TEST_CASE("no secrets: text passes unchanged") {
  const io::Redactor redactor;
  CHECK(redactor.redact("anything at all") == "anything at all");
  CHECK(stream(redactor, {"a", "b"}) == "ab");
}

TEST_CASE("every occurrence is masked") {
  io::Redactor redactor;
  redactor.add_secret("s3cr3t");
  CHECK(redactor.redact("s3cr3ts3cr3t and s3cr3t.") == "****** and ***.");
  CHECK(redactor.redact("s3cr3") == "s3cr3");
}

TEST_CASE("overlapping secrets are masked completely") {
  io::Redactor redactor;
  redactor.add_secret("abcd");
  redactor.add_secret("abcdefgh"); // contains the first
  redactor.add_secret("efghijkl"); // overlaps the second
  CHECK(redactor.redact("x abcdefgh y") == "x *** y");
  CHECK(redactor.redact("x abcd y") == "x *** y");
  CHECK(redactor.redact("<abcdefghijkl>") == "<***>");
  CHECK(redactor.redact("abcdefghijklabcd") == "******");
  const std::string masked = redactor.redact("abcdefghijkl");
  CHECK(masked.find("abcd") == std::string::npos);
  CHECK(masked.find("efgh") == std::string::npos);
  CHECK(masked.find("ijkl") == std::string::npos);
}

TEST_CASE("a secret split across two writes is still masked") {
  io::Redactor redactor;
  redactor.add_secret("hunter2hunter2");
  for (std::size_t cut = 1; cut < 14; ++cut) {
    CAPTURE(cut);
    const std::string text = "password=hunter2hunter2;";
    const std::size_t at = 9 + cut;
    CHECK(stream(redactor, {text.substr(0, at), text.substr(at)}) == "password=***;");
  }
  // Overlapping secrets split across writes.
  redactor.add_secret("efghijkl");
  redactor.add_secret("abcdefgh");
  CHECK(stream(redactor, {"[abcdef", "ghij", "kl]"}) == "[***]");
  // One byte at a time.
  std::vector<std::string> bytes;
  for (char c : std::string("[hunter2hunter2]")) bytes.emplace_back(1, c);
  CHECK(stream(redactor, bytes) == "[***]");
}

TEST_CASE("a secret across the 64 KiB chunk boundary is still masked") {
  io::Redactor redactor;
  const std::string secret = "ghp_0123456789abcdefghij";
  redactor.add_secret(secret);
  constexpr std::size_t k_chunk = 64 * 1024;
  for (std::size_t before : {k_chunk - 10, k_chunk - 1, k_chunk, k_chunk - secret.size(), k_chunk + 3}) {
    CAPTURE(before);
    const std::string text = std::string(before, 'x') + secret + std::string(100, 'y');
    for (std::size_t cut : {before + 5, before + 1, k_chunk, k_chunk + 7}) {
      CAPTURE(cut);
      if (cut >= text.size()) continue;
      const std::string out = stream(redactor, {text.substr(0, cut), text.substr(cut)});
      CHECK(out == std::string(before, 'x') + "***" + std::string(100, 'y'));
    }
  }
}

TEST_CASE("a large stream keeps every byte and masks every secret") {
  io::Redactor redactor;
  redactor.add_secret("TOPSECRET");
  std::string text;
  std::string expected;
  for (int i = 0; i < 30000; ++i) {
    text += "line " + std::to_string(i) + " TOPSECRET\n";
    expected += "line " + std::to_string(i) + " ***\n";
  }
  std::vector<std::string> pieces;
  for (std::size_t at = 0; at < text.size(); at += 4093) pieces.push_back(text.substr(at, 4093));
  CHECK(stream(redactor, pieces) == expected);
}

TEST_CASE("flushing emits what was held back, once") {
  io::Redactor redactor;
  redactor.add_secret("secret-value");
  std::string out;
  io::RedactingStream redacting(redactor, [&](std::string_view text) { out.append(text); });
  redacting.write("hello secret-value ");
  redacting.write("and secr");
  CHECK(out.find("secr") == std::string::npos); // may be the start of a secret: held back
  redacting.flush();
  CHECK(out == "hello *** and secr");
  redacting.write("et-value!");
  redacting.flush();
  redacting.flush();
  CHECK(out == "hello *** and secret-value!");
}

TEST_CASE("a secret is masked in the forms others encode it in") {
  io::Redactor redactor;
  const std::string secret = "p\"a\\s/s w&o<r>d+%";
  redactor.add_secret(secret);
  // JSON (as a service echoes it), HTML/XML, a URL's query, Base64.
  CHECK(redactor.redact(R"({"token": "p\"a\\s/s w&o<r>d+%"})") == R"({"token": "***"})");
  CHECK(redactor.redact(R"({"token": "p\"a\\s\/s w&o<r>d+%"})") == R"({"token": "***"})");
  CHECK(redactor.redact(R"({"body": "{\"token\": \"p\\\"a\\\\s/s w&o<r>d+%\"}"})") == R"({"body": "{\"token\": \"***\"}"})");
  CHECK(redactor.redact("<v>p&quot;a\\s/s w&amp;o&lt;r&gt;d+%</v>") == "<v>***</v>");
  CHECK(redactor.redact("<v>p\"a\\s/s w&amp;o&lt;r&gt;d+%</v>") == "<v>***</v>");
  CHECK(redactor.redact("?t=p%22a%5Cs%2Fs%20w%26o%3Cr%3Ed%2B%25&x=1") == "?t=***&x=1");
  CHECK(redactor.redact("?t=p%22a%5Cs%2Fs+w%26o%3Cr%3Ed%2B%25&x=1") == "?t=***&x=1");
  CHECK(redactor.redact("?t=p%22a%5cs%2fs%20w%26o%3cr%3ed%2b%25") == "?t=***");
}

TEST_CASE("a secret inside Base64 text is masked at every alignment") {
  io::Redactor redactor;
  const std::string secret = "hunter2-correct-horse";
  redactor.add_secret(secret);
  for (const std::string prefix : {"", "u", "us", "user:"}) {
    const std::string text = prefix + secret + "!tail";
    std::string encoded(4 * ((text.size() + 2) / 3) + 1, '\0');
    encoded.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                                             reinterpret_cast<const unsigned char*>(text.data()),
                                                             static_cast<int>(text.size()))));
    const std::string masked = redactor.redact("Authorization: Basic " + encoded);
    CAPTURE(prefix);
    CHECK(masked.find("***") != std::string::npos);
    // What is left of the Base64 text no longer decodes to the secret's
    // middle: at most one group of 4 characters on either side survives.
    CHECK(masked.size() < std::string("Authorization: Basic ").size() + encoded.size() - 16);
  }
}

TEST_CASE("encoded forms do not mask ordinary text: an alphanumeric secret has only itself and its Base64") {
  io::Redactor redactor;
  redactor.add_secret("abcd");
  CHECK(redactor.redact("abcd YWJj abc%64") == "*** YWJj abc%64");
}

TEST_CASE("the password of a URL in any variable is a secret, as written and decoded") {
  const auto redactor = from_env({{"ORDERS_DATABASE_URL", "postgres://app:p%40ss%2Fw0rd@127.0.0.1:5432/orders"},
                                  {"CACHE_URL", "redis://127.0.0.1:6379/0"},
                                  {"MIRROR", "https://user@mirror.example/x:y@z"}});
  CHECK(redactor.redact("url=postgres://app:p%40ss%2Fw0rd@127.0.0.1/orders") == "url=postgres://app:***@127.0.0.1/orders");
  CHECK(redactor.redact("password p@ss/w0rd refused") == "password *** refused");
  // No password in the URL: nothing of it is a secret.
  CHECK(redactor.redact("redis://127.0.0.1:6379/0 https://user@mirror.example/x:y@z") ==
        "redis://127.0.0.1:6379/0 https://user@mirror.example/x:y@z");
}

TEST_CASE("a secret is masked in its Markdown-escaped form") {
  io::Redactor redactor;
  redactor.add_secret("a*b_c|d\\e");
  CHECK(redactor.redact("key a\\*b\\_c&#124;d\\\\e shown") == "key *** shown");
}

TEST_CASE("a cut never splits a secret: it moves to where the secret starts") {
  io::Redactor redactor;
  redactor.add_secret("0123456789");
  const std::string text = "head 0123456789 tail";
  CHECK(redactor.safe_cut(text, 9) == 5);   // inside the secret
  CHECK(redactor.safe_cut(text, 5) == 5);   // before it
  CHECK(redactor.safe_cut(text, 15) == 15); // just after it
  CHECK(redactor.safe_cut(text, 99) == text.size());
}

TEST_CASE("while an Output is alive, core::truncate drops a secret it would cut whole") {
  const std::string secret = "sk-live-0123456789abcdef";
  const std::string body = "{\"authorization\": \"Bearer " + secret + "\", \"more\": \"...\"}";
  const std::size_t inside = body.find(secret) + 6;
  CHECK(core::truncate(body, inside).find("sk-liv") != std::string::npos); // no Output: a plain cut
  std::FILE* sink = std::tmpfile();
  {
    io::Output output(io::Redactor::from_environment(ci::Environment({{"API_TOKEN", secret}}), {}), sink, sink);
    const std::string cut = core::truncate(body, inside);
    CHECK(cut.find("sk-") == std::string::npos);
    CHECK(cut.rfind("{\"authorization\": \"Bearer … [truncated", 0) == 0);
  }
  std::fclose(sink);
  CHECK(core::truncate(body, inside).find("sk-liv") != std::string::npos); // the guard ends with it
}
