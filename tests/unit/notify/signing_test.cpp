#include <doctest/doctest.h>

#include <string>

#include "notify/signing.hpp"

TEST_SUITE_BEGIN("notify signing");

TEST_CASE("base64 encodes RFC 4648's test vectors") {
  CHECK(notify::base64_encode("") == "");
  CHECK(notify::base64_encode("f") == "Zg==");
  CHECK(notify::base64_encode("fo") == "Zm8=");
  CHECK(notify::base64_encode("foo") == "Zm9v");
  CHECK(notify::base64_encode("foob") == "Zm9vYg==");
  CHECK(notify::base64_encode("fooba") == "Zm9vYmE=");
  CHECK(notify::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(notify::base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("base64 decodes with or without padding and refuses anything else") {
  CHECK(notify::base64_decode("Zm9vYmFy") == std::optional<std::string>("foobar"));
  CHECK(notify::base64_decode("Zm9vYg==") == std::optional<std::string>("foob"));
  CHECK(notify::base64_decode("Zm9vYg") == std::optional<std::string>("foob"));
  CHECK(notify::base64_decode("//4A") == std::optional<std::string>(std::string("\xff\xfe\x00", 3)));
  CHECK(notify::base64_decode("") == std::optional<std::string>(""));
  CHECK_FALSE(notify::base64_decode("Zm9v YmFy").has_value()); // whitespace
  CHECK_FALSE(notify::base64_decode("__4A").has_value());      // URL-safe alphabet
  CHECK_FALSE(notify::base64_decode("Zm9vY").has_value());     // 6 bits cannot end a byte
  CHECK_FALSE(notify::base64_decode("Zh==").has_value());      // non-zero leftover bits
  CHECK_FALSE(notify::base64_decode("Zm=v").has_value());
}

TEST_CASE("url_encode keeps only unreserved characters") {
  CHECK(notify::url_encode("a+b/c=d") == "a%2Bb%2Fc%3Dd");
  CHECK(notify::url_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(notify::url_encode("发布 ok") == "%E5%8F%91%E5%B8%83%20ok");
}

TEST_CASE("hmac_sha256 and hex match RFC 4231 test case 2") {
  CHECK(notify::to_hex(notify::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("constant_time_equal") {
  CHECK(notify::constant_time_equal("abc", "abc"));
  CHECK(notify::constant_time_equal("", ""));
  CHECK_FALSE(notify::constant_time_equal("abc", "abd"));
  CHECK_FALSE(notify::constant_time_equal("abc", "abcd"));
}

TEST_CASE("DingTalk signature: the researched test vector") {
  const auto signature = notify::dingtalk_signature("SEC0123456789abcdef", 1700000000000);
  CHECK(signature.timestamp == "1700000000000");
  CHECK(signature.base64 == "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk=");
  CHECK(signature.url_encoded == "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D");
}

TEST_CASE("Feishu signature: the researched test vector") {
  CHECK(notify::feishu_signature("demo-secret", 1700000000) == "mYHw2R2SOm8Rw/sne3lQdmz4sOfntKR+1P/8RKKTwmA=");
  // Key and message are not interchangeable with DingTalk's recipe.
  CHECK(notify::feishu_signature("SEC0123456789abcdef", 1700000000000) !=
        notify::dingtalk_signature("SEC0123456789abcdef", 1700000000000).base64);
}

TEST_CASE("Standard Webhooks signature: the specification's test vector") {
  const auto signature = notify::standard_webhook_signature(
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  REQUIRE(signature.ok());
  CHECK(*signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("Standard Webhooks signature: the bare Base64 key is accepted like the reference libraries do") {
  const auto signature = notify::standard_webhook_signature(
      "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  REQUIRE(signature.ok());
  CHECK(*signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("Standard Webhooks signature: a malformed secret is an error that does not repeat it") {
  for (const std::string secret : {"whsec_not base64!", "whsec_!!!!", "whsec_c2hvcnQ=", "my password"}) {
    CAPTURE(secret);
    const auto signature = notify::standard_webhook_signature(secret, "msg_1", 1, "{}");
    REQUIRE_FALSE(signature.ok());
    CHECK(signature.error().kind == core::ErrorKind::invalid_input);
    CHECK(signature.error().message.find("whsec_") != std::string::npos);
    CHECK(signature.error().message.find(secret) == std::string::npos);
  }
}

TEST_CASE("GitHub signature: the published test vector") {
  CHECK(notify::github_signature("It's a Secret to Everybody", "Hello, World!") ==
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST_SUITE_END();
