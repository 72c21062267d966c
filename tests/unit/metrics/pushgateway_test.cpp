#include <doctest/doctest.h>

#include "metrics/pushgateway.hpp"

TEST_CASE("pushgateway: the grouping key is a path; '/' and empty values go in base64url") {
  CHECK(metrics::grouping_path({{"job", "shipgate"}, {"step", "deploy-stage"}, {"environment", "prod"}}) ==
        "/job/shipgate/step/deploy-stage/environment/prod");
  CHECK(metrics::grouping_path({{"step", "plan validate"}}) == "/step/plan%20validate");
  CHECK(metrics::grouping_path({{"environment", "eu/prod"}}) == "/environment@base64/ZXUvcHJvZA==");
  CHECK(metrics::grouping_path({{"environment", ""}}) == "/environment@base64/=");
  CHECK(metrics::grouping_path({{"environment", "a?b#c%"}}) == "/environment/a%3Fb%23c%25");
}

TEST_CASE("pushgateway: base64url uses - and _ and pads") {
  CHECK(metrics::base64url("") == "");
  CHECK(metrics::base64url("f") == "Zg==");
  CHECK(metrics::base64url("fo") == "Zm8=");
  CHECK(metrics::base64url("foo") == "Zm9v");
  CHECK(metrics::base64url("\xfb\xff") == "-_8=");
}

TEST_CASE("pushgateway: URLs are checked and shown without their credentials") {
  CHECK(metrics::pushgateway_url_problem("http://pushgateway:9091").empty());
  CHECK(metrics::pushgateway_url_problem("https://u:p@pgw.example/prefix").empty());
  CHECK_FALSE(metrics::pushgateway_url_problem("pushgateway:9091").empty());
  CHECK_FALSE(metrics::pushgateway_url_problem("ftp://pgw").empty());
  CHECK_FALSE(metrics::pushgateway_url_problem("http://").empty());
  CHECK(metrics::display_url("https://ci:s3cret@pgw.example:9091/x?token=abc") == "https://pgw.example:9091/x");
  const auto secrets = metrics::url_secrets("https://ci:s3cret@pgw.example:9091/x?token=abcdef");
  CHECK(secrets == std::vector<std::string>{"ci:s3cret", "s3cret", "abcdef"});
  CHECK(metrics::url_secrets("http://pgw:9091").empty());
}
