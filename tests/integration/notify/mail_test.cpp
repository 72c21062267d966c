// The mail channel (src/notify/mail.cpp) against a real SMTP server on
// 127.0.0.1: tests/fixtures/notify/smtp_server.py (aiosmtpd) with STARTTLS
// on a certificate made here, AUTH, refused recipients, a busy server and
// a plaintext one. Received messages are parsed by Python's email package
// (tests/fixtures/notify/smtp_inspect.py), as a mail reader would.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/mail.hpp"
#include "support/servers.hpp"

namespace {

using namespace std::chrono_literals;
using notify::DeliveryStatus;
using notify::MailSettings;
using notify::Message;
namespace fs = std::filesystem;

// Debian's python3-aiosmtpd lives with the system interpreter.
constexpr const char* k_python = "/usr/bin/python3";
constexpr const char* k_user = "release-bot";
constexpr const char* k_password = "correct-horse-battery";
constexpr const char* k_token = "ya29.test-oauth-token";

std::string fixture(const std::string& name) {
  return std::string(SHIPGATE_SOURCE_DIR) + "/tests/fixtures/notify/" + name;
}

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
    out.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// One test's directory (kept when something failed) with a self-signed
// certificate for 127.0.0.1.
struct MailDir {
  test_support::ServersDir dir;
  fs::path cert = dir.path() / "cert.pem";
  fs::path key = dir.path() / "key.pem";
  MailDir() {
    const int status =
        test_support::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-keyout", key.string(), "-out", cert.string(), "-days", "2", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
    if (status != 0) throw std::runtime_error("openssl could not make the test certificate");
  }
};

class SmtpServer {
public:
  SmtpServer(const fs::path& maildir, std::vector<std::string> options) : m_maildir(maildir) {
    std::vector<std::string> argv{k_python, fixture("smtp_server.py"), maildir.string()};
    argv.insert(argv.end(), options.begin(), options.end());
    const auto started = test_support::spawn(argv, true);
    m_pid = started.pid;
    const std::string line = test_support::read_line(started.stdout_fd, 10s);
    ::close(started.stdout_fd);
    m_port = std::atoi(line.c_str());
    if (m_port <= 0) {
      test_support::stop(m_pid);
      test_support::AnyFailure::seen() = true;
      throw std::runtime_error("smtp_server.py printed no port (got \"" + line + "\"); is python3-aiosmtpd installed?");
    }
  }
  ~SmtpServer() { test_support::stop(m_pid); }
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(m_port); }
  std::size_t received() const {
    std::size_t count = 0;
    if (fs::exists(m_maildir))
      for (const auto& entry : fs::directory_iterator(m_maildir))
        count += entry.path().extension() == ".json";
    return count;
  }
  // Message n (1-based) as smtp_inspect.py sees it, plus its envelope.
  nlohmann::json message(int n) const {
    const auto eml = m_maildir / (std::to_string(n) + ".eml");
    REQUIRE(fs::exists(eml));
    const auto spawned = test_support::spawn({k_python, fixture("smtp_inspect.py"), eml.string()}, true);
    const std::string out = read_all(spawned.stdout_fd);
    REQUIRE(test_support::wait_for(spawned.pid) == 0);
    auto parsed = nlohmann::json::parse(out);
    parsed["envelope"] = nlohmann::json::parse(slurp(m_maildir / (std::to_string(n) + ".json")));
    parsed["raw"] = slurp(eml);
    return parsed;
  }

private:
  fs::path m_maildir;
  pid_t m_pid = -1;
  int m_port = 0;
};

struct TlsServerFixture {
  MailDir files;
  SmtpServer server{files.dir.path() / "mail",
                    {"--tls", files.cert.string(), files.key.string(), "--auth", k_user, k_password, "--token", k_token,
                     "--reject", "reject"}};

  MailSettings settings() const {
    MailSettings s;
    s.url = server.url();
    s.username = k_user;
    s.password = k_password;
    s.from = "发布机器人 <release@example.com>";
    s.to = {"Ops <ops@example.com>"};
    s.cc = {"qa@example.com"};
    s.bcc = {"audit@example.org"};
    s.cacert = files.cert.string();
    s.timeout = 10s;
    return s;
  }
};

Message release_message(const std::string& id, bool start) {
  Message m;
  m.id = id;
  m.thread = "release-1.4.0";
  m.thread_start = start;
  m.subject = "发布 1.4.0 已上线";
  m.text = "发布 1.4.0 已上线。\n.\n详情: https://ci.example.com/1";
  m.html = "<p>发布 <b>1.4.0</b> 已上线</p>";
  return m;
}

std::string header(const nlohmann::json& mail, const std::string& name) {
  const auto& headers = mail["headers"];
  if (!headers.contains(name)) return "<absent>";
  REQUIRE(headers[name].size() == 1);
  return headers[name][0].get<std::string>();
}

} // namespace

TEST_SUITE_BEGIN("notify mail");

TEST_CASE_FIXTURE(TlsServerFixture, "STARTTLS and AUTH: a thread of two messages arrives intact") {
  // Binary attachment bytes, including CRLF, a lone "." line and NULs.
  std::string bytes = "line\r\n.\r\n..\r\nend";
  for (int i = 0; i < 3000; ++i)
    bytes += static_cast<char>((i * 7) % 256);
  const fs::path attachment = files.dir.path() / "report.bin";
  std::ofstream(attachment, std::ios::binary) << bytes;

  Message first = release_message("release-1.4.0.started", true);
  first.attachments.push_back({attachment.string(), "发布报告 1.4.0.pdf", ""});
  const auto sent_first = notify::send_mail(settings(), first);
  INFO(sent_first.detail);
  REQUIRE(sent_first.status == DeliveryStatus::delivered);
  CHECK(sent_first.detail.find("250") != std::string::npos);
  const auto sent_second = notify::send_mail(settings(), release_message("release-1.4.0.done", false));
  REQUIRE(sent_second.ok());
  REQUIRE(server.received() == 2);

  const auto one = server.message(1);
  const auto two = server.message(2);
  CHECK(one["defects"].empty());
  CHECK(two["defects"].empty());
  CHECK(header(one, "Subject") == "发布 1.4.0 已上线");
  CHECK(header(one, "From") == "发布机器人 <release@example.com>");
  CHECK(header(one, "To") == "Ops <ops@example.com>");
  CHECK(header(one, "Cc") == "qa@example.com");
  CHECK(header(one, "Bcc") == "<absent>");
  CHECK(one["raw"].get<std::string>().find("audit@example.org") == std::string::npos);
  CHECK(header(one, "MIME-Version") == "1.0");
  CHECK(!header(one, "Date").empty());
  // Threading: the second answers the first.
  CHECK(header(one, "Message-ID") == "<release-1.4.0@example.com>");
  CHECK(header(one, "In-Reply-To") == "<absent>");
  CHECK(header(two, "Message-ID") == "<release-1.4.0.done@example.com>");
  CHECK(header(two, "In-Reply-To") == header(one, "Message-ID"));
  CHECK(header(two, "References") == header(one, "Message-ID"));
  // Envelope: Bcc got it too, over TLS, after AUTH.
  CHECK(one["envelope"]["mail_from"] == "release@example.com");
  CHECK(one["envelope"]["rcpt_tos"] ==
        nlohmann::json::array({"ops@example.com", "qa@example.com", "audit@example.org"}));
  CHECK(one["envelope"]["tls"] == true);
  CHECK(one["envelope"]["auth_login"] == k_user);
  // Parts: text and HTML alternatives, then the attachment, byte for byte.
  CHECK(one["structure"] == nlohmann::json::array({"multipart/mixed", "  multipart/alternative", "    text/plain",
                                                   "    text/html", "  application/pdf"}));
  const auto& parts = one["parts"];
  REQUIRE(parts.size() == 3);
  CHECK(parts[0]["charset"] == "utf-8");
  CHECK(parts[0]["text"] == "发布 1.4.0 已上线。\r\n.\r\n详情: https://ci.example.com/1");
  CHECK(parts[1]["text"] == "<p>发布 <b>1.4.0</b> 已上线</p>");
  CHECK(parts[2]["disposition"] == "attachment");
  CHECK(parts[2]["filename"] == "发布报告 1.4.0.pdf");
  CHECK(parts[2]["size"] == bytes.size());
  // sha256 of the file, by the same Python.
  const auto spawned = test_support::spawn(
      {k_python, "-c", "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
       attachment.string()},
      true);
  const std::string digest = read_all(spawned.stdout_fd);
  test_support::wait_for(spawned.pid);
  CHECK(parts[2]["sha256"].get<std::string>() + "\n" == digest);
  CHECK(two["structure"] ==
        nlohmann::json::array({"multipart/mixed", "  multipart/alternative", "    text/plain", "    text/html"}));
}

TEST_CASE_FIXTURE(TlsServerFixture, "the AUTH mechanism can be chosen: LOGIN, PLAIN, XOAUTH2") {
  MailSettings s = settings();
  s.auth = "LOGIN";
  REQUIRE(notify::send_mail(s, release_message("m1", false)).ok());
  s.auth = "plain";
  REQUIRE(notify::send_mail(s, release_message("m2", false)).ok());
  s.auth = "XOAUTH2";
  s.password.clear();
  s.oauth_token = k_token;
  const auto oauth = notify::send_mail(s, release_message("m3", false));
  INFO(oauth.detail);
  REQUIRE(oauth.ok());
  CHECK(server.message(1)["envelope"]["auth_mechanism"] == "LOGIN");
  CHECK(server.message(2)["envelope"]["auth_mechanism"] == "PLAIN");
  CHECK(server.message(3)["envelope"]["auth_mechanism"] == "XOAUTH2");
}

TEST_CASE_FIXTURE(TlsServerFixture, "a wrong password is permanent and the detail never shows it") {
  MailSettings s = settings();
  s.password = "wrong-password-42";
  const auto delivery = notify::send_mail(s, release_message("m", false));
  INFO(delivery.detail);
  CHECK(delivery.status == DeliveryStatus::permanent);
  CHECK(delivery.detail.find("535") != std::string::npos);
  CHECK(delivery.detail.find("wrong-password-42") == std::string::npos);
  CHECK(delivery.detail.find("password") != std::string::npos); // says what to check
  CHECK(server.received() == 0);

  s.auth = "XOAUTH2";
  s.oauth_token = "wrong-token-4242";
  const auto oauth = notify::send_mail(s, release_message("m", false));
  CHECK(oauth.status == DeliveryStatus::permanent);
  CHECK(oauth.detail.find("wrong-token-4242") == std::string::npos);
}

TEST_CASE_FIXTURE(TlsServerFixture, "a refused recipient is reported, the others still get the message") {
  MailSettings s = settings();
  s.to = {"reject-me@example.com", "ops@example.com"};
  s.cc.clear();
  s.bcc.clear();
  const auto delivery = notify::send_mail(s, release_message("m", false));
  INFO(delivery.detail);
  CHECK(delivery.status == DeliveryStatus::delivered);
  CHECK(delivery.detail.find("reject-me@example.com") != std::string::npos);
  CHECK(delivery.detail.find("550") != std::string::npos);
  REQUIRE(server.received() == 1);
  CHECK(server.message(1)["envelope"]["rcpt_tos"] == nlohmann::json::array({"ops@example.com"}));

  s.to = {"reject-me@example.com"};
  const auto none = notify::send_mail(s, release_message("m2", false));
  INFO(none.detail);
  CHECK(none.status == DeliveryStatus::permanent);
  CHECK(none.detail.find("550") != std::string::npos);
  CHECK(server.received() == 1);
}

TEST_CASE_FIXTURE(TlsServerFixture, "a certificate nobody vouches for is permanent") {
  MailSettings s = settings();
  s.cacert.clear();
  const auto delivery = notify::send_mail(s, release_message("m", false));
  INFO(delivery.detail);
  CHECK(delivery.status == DeliveryStatus::permanent);
  CHECK(delivery.detail.find("certificate") != std::string::npos);
  CHECK(server.received() == 0);
}

TEST_CASE("a plaintext server is refused when TLS is required, used when it is not") {
  test_support::ServersDir dir;
  SmtpServer server(dir.path() / "mail", {});
  MailSettings s;
  s.url = server.url();
  s.from = "release@example.com";
  s.to = {"ops@example.com"};
  s.username = k_user;
  s.password = k_password;
  s.timeout = 10s;
  const auto refused = notify::send_mail(s, release_message("m", false));
  INFO(refused.detail);
  CHECK(refused.status == DeliveryStatus::permanent);
  CHECK(refused.detail.find("STARTTLS") != std::string::npos);
  CHECK(refused.detail.find("plaintext") != std::string::npos);
  CHECK(server.received() == 0);

  // A local relay on 127.0.0.1 may go without TLS when the settings say so.
  s.require_tls = false;
  s.username.clear();
  s.password.clear();
  const auto relayed = notify::send_mail(s, release_message("m", false));
  INFO(relayed.detail);
  CHECK(relayed.ok());
  REQUIRE(server.received() == 1);
  CHECK(server.message(1)["envelope"]["tls"] == false);
}

TEST_CASE("a busy server (421) is transient") {
  test_support::ServersDir dir;
  SmtpServer server(dir.path() / "mail", {"--busy"});
  MailSettings s;
  s.url = server.url();
  s.from = "release@example.com";
  s.to = {"ops@example.com"};
  s.timeout = 10s;
  const auto delivery = notify::send_mail(s, release_message("m", false));
  INFO(delivery.detail);
  CHECK(delivery.status == DeliveryStatus::transient);
  CHECK(delivery.detail.find("421") != std::string::npos);
}

TEST_CASE("a server that is down is transient") {
  MailSettings s;
  s.url = "smtp://127.0.0.1:" + std::to_string(test_support::closed_port());
  s.from = "release@example.com";
  s.to = {"ops@example.com"};
  s.password = "secret-never-shown";
  const auto delivery = notify::send_mail(s, release_message("m", false));
  INFO(delivery.detail);
  CHECK(delivery.status == DeliveryStatus::transient);
  CHECK(delivery.detail.find("secret-never-shown") == std::string::npos);
}

TEST_CASE("a server that never greets times out, transient") {
  // Listening without accepting: the kernel completes the handshake, nobody speaks.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  MailSettings s;
  s.url = "smtp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  s.from = "release@example.com";
  s.to = {"ops@example.com"};
  s.timeout = 1s;
  const auto started = std::chrono::steady_clock::now();
  const auto delivery = notify::send_mail(s, release_message("m", false));
  ::close(fd);
  INFO(delivery.detail);
  CHECK(delivery.status == DeliveryStatus::transient);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}
