#include <doctest/doctest.h>

#include "smoke/http_transfer.hpp"

using smoke::Transport;
using smoke::transport_for;

TEST_CASE("curl results map to transport failures") {
  CHECK(transport_for(CURLE_OK) == Transport::ok);
  CHECK(transport_for(CURLE_COULDNT_CONNECT) == Transport::refused);
  CHECK(transport_for(CURLE_RECV_ERROR) == Transport::refused);
  CHECK(transport_for(CURLE_SEND_ERROR) == Transport::refused);
  CHECK(transport_for(CURLE_GOT_NOTHING) == Transport::refused);
  CHECK(transport_for(CURLE_COULDNT_RESOLVE_HOST) == Transport::dns);
  CHECK(transport_for(CURLE_OPERATION_TIMEDOUT) == Transport::timeout);
  CHECK(transport_for(CURLE_PEER_FAILED_VERIFICATION) == Transport::tls);
  CHECK(transport_for(CURLE_SSL_CONNECT_ERROR) == Transport::tls);
  CHECK(transport_for(CURLE_SSL_CACERT_BADFILE) == Transport::tls);
  CHECK(transport_for(CURLE_TOO_MANY_REDIRECTS) == Transport::error);
  CHECK(transport_for(CURLE_UNSUPPORTED_PROTOCOL) == Transport::error);
  CHECK(transport_for(CURLE_URL_MALFORMAT) == Transport::error);
}

TEST_CASE("a header with a line break is refused before anything is sent") {
  smoke::Check check;
  check.http.url = "http://127.0.0.1:1/";
  check.http.headers = {{"X-Ok", "fine"}, {"X-Bad", "a\nb"}};
  const smoke::HttpTransfer transfer(check, {});
  CHECK(transfer.handle() == nullptr);
  const auto attempt = transfer.failed_setup();
  CHECK(attempt.transport == Transport::error);
  CHECK(attempt.error.find("X-Bad") != std::string::npos);
}
