#include <doctest/doctest.h>

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../integration/support/spawn.hpp"
#include "../support/file_size_limit.hpp"
#include "../support/temp_dir.hpp"
#include "core/interrupt.hpp"
#include "deploy/artifact.hpp"

namespace {

namespace fs = std::filesystem;
using core::ErrorKind;
using deploy::FetchOptions;
using deploy::OpenedArtifact;
using test_support::TempDir;

// ---------------------------------------------------------------- helpers

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void must_run(const std::vector<std::string>& argv) {
  INFO("command: " << argv[0] << " " << (argv.size() > 1 ? argv[1] : ""));
  REQUIRE(test_support::run(argv) == 0);
}

// Runs argv and returns its standard output.
std::string capture(const std::vector<std::string>& argv) {
  const test_support::Spawned started = test_support::spawn(argv, true);
  std::string output;
  char buffer[4096];
  for (ssize_t got; (got = ::read(started.stdout_fd, buffer, sizeof buffer)) > 0;)
    output.append(buffer, static_cast<std::size_t>(got));
  ::close(started.stdout_fd);
  REQUIRE(test_support::wait_for(started.pid) == 0);
  return output;
}

std::string sha256sum(const fs::path& path) {
  return capture({"sha256sum", path.string()}).substr(0, 64);
}

// Deterministic bytes that do not compress, so resumed ranges are checked for real.
std::string noise(std::size_t size) {
  std::string data(size, '\0');
  std::uint32_t state = 2463534242u;
  for (auto& byte : data) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    byte = static_cast<char>(state & 0xff);
  }
  return data;
}

std::string digest_of(const fs::path& path) {
  auto artifact = OpenedArtifact::open(path);
  REQUIRE(artifact.ok());
  auto digest = deploy::sha256_hex(*artifact);
  REQUIRE(digest.ok());
  return *digest;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

mode_t mode_of(const fs::path& path) {
  struct stat info {};
  REQUIRE(::lstat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

// A real HTTP server on 127.0.0.1 serving a folder, stopped by the destructor.
class HttpServer {
public:
  // python3 -m http.server: no Range support, as many plain servers.
  static HttpServer plain(const fs::path& folder) {
    const int port = free_port();
    // Its request log and tracebacks (clients hanging up on purpose) are noise here.
    const auto started = test_support::spawn(
        {"sh", "-c", "exec python3 -m http.server --bind 127.0.0.1 \"$1\" --directory \"$2\" >/dev/null 2>&1", "sh",
         std::to_string(port), folder.string()},
        false);
    HttpServer server(started.pid, port);
    for (int i = 0; i < 200 && !accepts_connections(port); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    REQUIRE(accepts_connections(port));
    return server;
  }
  // tests/integration/servers/range_server.py: Range, broken transfers, 503s, redirects.
  static HttpServer ranged(const fs::path& folder) {
    const std::string script = std::string(SHIPGATE_SOURCE_DIR) + "/tests/integration/servers/range_server.py";
    const auto started = test_support::spawn({"python3", script, folder.string()}, true);
    const std::string line = test_support::read_line(started.stdout_fd, std::chrono::seconds(10));
    ::close(started.stdout_fd);
    HttpServer server(started.pid, std::atoi(line.c_str()));
    REQUIRE(server.m_port > 0);
    return server;
  }
  HttpServer(HttpServer&& other) noexcept : m_pid(std::exchange(other.m_pid, -1)), m_port(other.m_port) {}
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer() { test_support::stop(m_pid); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(m_port) + path; }
  // The requests range_server.py saw, one JSON object a line.
  std::string log(const TempDir& dir) const {
    const fs::path file = dir.path() / "server-log.txt";
    fs::remove(file);
    REQUIRE(deploy::fetch_artifact(url("/log"), file, {}).ok());
    return read_file(file);
  }

private:
  HttpServer(pid_t pid, int port) : m_pid(pid), m_port(port) {}
  pid_t m_pid;
  int m_port;
};

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++count;
  return count;
}

FetchOptions quick_options() {
  FetchOptions options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.low_speed_time = std::chrono::milliseconds(5000);
  return options;
}

// ---------------------------------------------------------------- archives

struct Entry {
  std::string path;
  unsigned type = AE_IFREG;
  unsigned perm = 0644;
  std::string data;
  std::string symlink;
  std::string hardlink;
};

// Archives a real tool would not make: written entry by entry with libarchive.
void write_archive(const fs::path& file, const std::vector<Entry>& entries, bool zip = false) {
  archive* writer = archive_write_new();
  if (zip) {
    archive_write_set_format_zip(writer);
  } else {
    archive_write_set_format_pax_restricted(writer);
    archive_write_add_filter_gzip(writer);
  }
  REQUIRE(archive_write_open_filename(writer, file.c_str()) == ARCHIVE_OK);
  for (const auto& spec : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, spec.path.c_str());
    archive_entry_set_filetype(entry, spec.type);
    archive_entry_set_perm(entry, spec.perm);
    archive_entry_set_size(entry, static_cast<la_int64_t>(spec.data.size()));
    if (!spec.symlink.empty()) archive_entry_set_symlink(entry, spec.symlink.c_str());
    if (!spec.hardlink.empty()) archive_entry_set_hardlink(entry, spec.hardlink.c_str());
    if (spec.type == AE_IFCHR) archive_entry_set_rdev(entry, makedev(1, 3));
    REQUIRE(archive_write_header(writer, entry) == ARCHIVE_OK);
    if (!spec.data.empty()) archive_write_data(writer, spec.data.data(), spec.data.size());
    archive_entry_free(entry);
  }
  archive_write_close(writer);
  archive_write_free(writer);
}

// A small application tree: nested folders, an executable, a link, a hard link.
fs::path make_tree(const TempDir& dir) {
  fs::path tree = dir.path() / "tree";
  dir.write("tree/bin/run.sh", "#!/bin/sh\necho run\n");
  dir.write("tree/config/app.ini", "[app]\nname=demo\n");
  dir.write("tree/public/index.html", "<h1>v2</h1>\n");
  fs::permissions(tree / "bin/run.sh", fs::perms(0755));
  fs::create_symlink("../config/app.ini", tree / "bin/app.ini");
  fs::create_hard_link(tree / "public/index.html", tree / "public/home.html");
  return tree;
}

void check_tree(const fs::path& dest) {
  CHECK(read_file(dest / "bin/run.sh") == "#!/bin/sh\necho run\n");
  CHECK(mode_of(dest / "bin/run.sh") == 0755);
  CHECK(read_file(dest / "config/app.ini") == "[app]\nname=demo\n");
  CHECK(fs::is_symlink(dest / "bin/app.ini"));
  CHECK(fs::read_symlink(dest / "bin/app.ini") == "../config/app.ini");
  CHECK(read_file(dest / "bin/app.ini") == "[app]\nname=demo\n");
  CHECK(read_file(dest / "public/home.html") == "<h1>v2</h1>\n");
}

core::Result<deploy::UnpackStats> unpack(const fs::path& archive_file, const fs::path& dest,
                                         deploy::UnpackLimits limits = {}) {
  auto artifact = OpenedArtifact::open(archive_file);
  REQUIRE(artifact.ok());
  return deploy::unpack_archive(*artifact, dest, limits);
}

// Unpacks `entries` and expects a refusal that names `entry`.
void check_refused(const std::vector<Entry>& entries, const std::string& entry, const std::string& why) {
  TempDir dir;
  write_archive(dir.path() / "hostile.tar.gz", entries);
  const fs::path dest = dir.path() / "out/release";
  const auto result = unpack(dir.path() / "hostile.tar.gz", dest);
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::blocked);
  CHECK(contains(result.error().message, "\"" + entry + "\""));
  CHECK(contains(result.error().message, why));
  CHECK_FALSE(fs::exists(dest));
  CHECK_FALSE(fs::exists(dir.path() / "out/evil"));
  CHECK_FALSE(fs::exists(dir.path() / "evil"));
}

// ---------------------------------------------------------------- signing

struct KeyPair {
  fs::path private_pem;
  fs::path public_pem;
};

KeyPair make_key(const TempDir& dir, const std::string& name,
                 const std::vector<std::string>& algorithm = {"-algorithm", "ed25519"}) {
  KeyPair key{dir.path() / (name + ".pem"), dir.path() / (name + ".pub.pem")};
  std::vector<std::string> generate{"openssl", "genpkey"};
  generate.insert(generate.end(), algorithm.begin(), algorithm.end());
  generate.insert(generate.end(), {"-out", key.private_pem.string()});
  must_run(generate);
  must_run({"openssl", "pkey", "-in", key.private_pem.string(), "-pubout", "-out", key.public_pem.string()});
  return key;
}

std::string sign(const KeyPair& key, const fs::path& artifact) {
  const fs::path signature = artifact.string() + ".sig";
  must_run({"openssl", "pkeyutl", "-sign", "-inkey", key.private_pem.string(), "-rawin", "-in", artifact.string(),
            "-out", signature.string()});
  return read_file(signature);
}

core::Status verify(const fs::path& artifact_file, const KeyPair& key, const std::string& signature) {
  auto artifact = OpenedArtifact::open(artifact_file);
  REQUIRE(artifact.ok());
  return deploy::verify_ed25519(*artifact, key.public_pem, signature);
}

} // namespace

// ================================================================ fetch: local and file://

TEST_CASE("fetch_artifact copies a local file into an owner-only staging file") {
  TempDir dir;
  const std::string data = noise(300000);
  const std::string source = dir.write("app-1.2.tar.gz", data);
  const fs::path dest = dir.path() / "incoming/app.tar.gz";
  fs::create_directories(dest.parent_path());
  REQUIRE(deploy::fetch_artifact(source, dest, {}).ok());
  CHECK(read_file(dest) == data);
  CHECK(mode_of(dest) == 0600);

  SUBCASE("an existing staging file is replaced whole") {
    dir.write("incoming/app.tar.gz", std::string(500000, 'z'));
    fs::permissions(dest, fs::perms(0644));
    REQUIRE(deploy::fetch_artifact(source, dest, {}).ok());
    CHECK(read_file(dest) == data);
    CHECK(mode_of(dest) == 0600);
  }
}

TEST_CASE("fetch_artifact refuses missing, non-regular and oversized local sources") {
  TempDir dir;
  const fs::path dest = dir.path() / "staged";
  auto missing = deploy::fetch_artifact(dir.file("nope.tar.gz"), dest, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message, "nope.tar.gz not found"));

  auto folder = deploy::fetch_artifact(dir.path().string(), dest, {});
  REQUIRE_FALSE(folder.ok());
  CHECK(contains(folder.error().message, "not a regular file"));

  FetchOptions small;
  small.max_size = 1000;
  auto big = deploy::fetch_artifact(dir.write("big", std::string(1001, 'x')), dest, small);
  REQUIRE_FALSE(big.ok());
  CHECK(contains(big.error().message, "larger than the limit of 1000 bytes"));
  CHECK_FALSE(fs::exists(dest));

  const std::string kept = dir.write("staged", "the only copy");
  auto itself = deploy::fetch_artifact(kept, dest, {});
  REQUIRE_FALSE(itself.ok());
  CHECK(contains(itself.error().message, "is the staging file itself"));
  CHECK(read_file(kept) == "the only copy");

  auto empty = deploy::fetch_artifact("", dest, {});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == ErrorKind::usage);
}

TEST_CASE("fetch_artifact reads file:// URLs and refuses other schemes") {
  TempDir dir;
  const std::string data = noise(70000);
  const std::string source = dir.write("app.zip", data);
  const fs::path dest = dir.path() / "staged";
  REQUIRE(deploy::fetch_artifact("file://" + source, dest, {}).ok());
  CHECK(read_file(dest) == data);
  CHECK(mode_of(dest) == 0600);

  auto missing = deploy::fetch_artifact("file://" + dir.file("gone.zip"), dir.path() / "other", {});
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.error().message, "not found"));

  auto ftp = deploy::fetch_artifact("ftp://deployer:hunter22@example.com/app.zip", dest, {});
  REQUIRE_FALSE(ftp.ok());
  CHECK(contains(ftp.error().message, "unsupported scheme"));
  CHECK_FALSE(contains(ftp.error().message, "hunter22"));
}

// ================================================================ fetch: HTTP

TEST_CASE("fetch_artifact downloads over HTTP from a plain server") {
  TempDir dir;
  const std::string data = noise(1500000);
  dir.write("www/app-2.0.tar.gz", data);
  const HttpServer server = HttpServer::plain(dir.path() / "www");
  const fs::path dest = dir.path() / "staged";

  SUBCASE("whole") {
    REQUIRE(deploy::fetch_artifact(server.url("/app-2.0.tar.gz"), dest, quick_options()).ok());
    CHECK(read_file(dest) == data);
    CHECK(mode_of(dest) == 0600);
  }
  SUBCASE("a partial staging file is finished even when the server ignores Range") {
    dir.write("staged", data.substr(0, 400000));
    REQUIRE(deploy::fetch_artifact(server.url("/app-2.0.tar.gz"), dest, quick_options()).ok());
    CHECK(digest_of(dest) == sha256sum(dir.path() / "www/app-2.0.tar.gz"));
  }
  SUBCASE("a 404 names the status and the URL, without its credentials") {
    auto status = deploy::fetch_artifact(server.url("/app-9.9.tar.gz"), dest, quick_options());
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::invalid_input);
    CHECK(contains(status.error().message,
                   "HTTP 404 for URL " + server.url("/app-9.9.tar.gz") + ": check the URL or the version"));
    std::string with_credentials = server.url("/app-9.9.tar.gz");
    with_credentials.insert(7, "deployer:s3cr3t-pass@");
    auto hidden = deploy::fetch_artifact(with_credentials, dest, quick_options());
    REQUIRE_FALSE(hidden.ok());
    CHECK(contains(hidden.error().message, "HTTP 404"));
    CHECK_FALSE(contains(hidden.error().message, "s3cr3t-pass"));
    CHECK_FALSE(contains(hidden.error().message, "deployer"));
  }
  SUBCASE("a Content-Length over the limit is refused before the body is kept") {
    FetchOptions options = quick_options();
    options.max_size = 1000000;
    auto status = deploy::fetch_artifact(server.url("/app-2.0.tar.gz"), dest, options);
    REQUIRE_FALSE(status.ok());
    CHECK(contains(status.error().message, "larger than the limit of 1000000 bytes"));
    CHECK_FALSE(fs::exists(dest));
  }
  SUBCASE("a closed port is retried, then reported") {
    FetchOptions options = quick_options();
    options.attempts = 2;
    auto status = deploy::fetch_artifact("http://127.0.0.1:" + std::to_string(free_port()) + "/x", dest, options);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::runtime);
    CHECK(contains(status.error().message, "gave up after 2 attempts"));
  }
}

TEST_CASE("fetch_artifact resumes a partial download with a Range request") {
  TempDir dir;
  const std::string data = noise(2000000);
  dir.write("www/app.tar.gz", data);
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  const fs::path dest = dir.path() / "staged";
  dir.write("staged", data.substr(0, 1234567));
  REQUIRE(deploy::fetch_artifact(server.url("/files/app.tar.gz"), dest, quick_options()).ok());
  CHECK(read_file(dest) == data);
  const std::string log = server.log(dir);
  CHECK(contains(log, "\"range\": \"bytes=1234567-\""));
  CHECK(count_of(log, "/files/app.tar.gz") == 1);
}

TEST_CASE("fetch_artifact starts over when the server answers a Range request with 200") {
  TempDir dir;
  const std::string data = noise(600000);
  dir.write("www/app.tar.gz", data);
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  const fs::path dest = dir.path() / "staged";
  dir.write("staged", "stale bytes that are not a prefix");
  REQUIRE(deploy::fetch_artifact(server.url("/files/app.tar.gz?ignore_range=1"), dest, quick_options()).ok());
  CHECK(read_file(dest) == data);
  const std::string log = server.log(dir);
  CHECK(count_of(log, "ignore_range") == 2);
  CHECK(contains(log, "\"range\": \"bytes=33-\""));
  CHECK(contains(log, "\"range\": null"));
}

TEST_CASE("fetch_artifact resumes after the connection breaks mid-transfer") {
  TempDir dir;
  const std::string data = noise(1500000);
  dir.write("www/app.tar.gz", data);
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  const fs::path dest = dir.path() / "staged";
  REQUIRE(deploy::fetch_artifact(server.url("/files/app.tar.gz?key=broken&break_after=700000"), dest, quick_options())
              .ok());
  CHECK(digest_of(dest) == sha256sum(dir.path() / "www/app.tar.gz"));
  const std::string log = server.log(dir);
  CHECK(count_of(log, "break_after") == 2);
  CHECK(contains(log, "\"range\": \"bytes="));
}

TEST_CASE("fetch_artifact retries 5xx answers and gives up after the attempts") {
  TempDir dir;
  dir.write("www/app.tar.gz", "artifact bytes");
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  const fs::path dest = dir.path() / "staged";
  FetchOptions options = quick_options();
  options.attempts = 3;
  REQUIRE(deploy::fetch_artifact(server.url("/files/app.tar.gz?key=a&fail=2"), dest, options).ok());
  CHECK(read_file(dest) == "artifact bytes");

  options.attempts = 2;
  auto status = deploy::fetch_artifact(server.url("/files/app.tar.gz?key=b&fail=5"), dir.path() / "other", options);
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message, "HTTP 503 for URL"));
  CHECK(contains(status.error().message, "gave up after 2 attempts"));
}

TEST_CASE("fetch_artifact follows up to 5 redirects") {
  TempDir dir;
  dir.write("www/app.tar.gz", "redirected artifact");
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  REQUIRE(deploy::fetch_artifact(server.url("/redirect?hops=5&to=/files/app.tar.gz"), dir.path() / "a", quick_options())
              .ok());
  CHECK(read_file(dir.path() / "a") == "redirected artifact");
  auto status =
      deploy::fetch_artifact(server.url("/redirect?hops=7&to=/files/app.tar.gz"), dir.path() / "b", quick_options());
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message, "redirects more than 5 times"));
}

TEST_CASE("fetch_artifact stops a body without Content-Length at the size limit") {
  TempDir dir;
  fs::create_directories(dir.path() / "www");
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  FetchOptions options = quick_options();
  options.max_size = 300000;
  const fs::path dest = dir.path() / "staged";
  const auto started = std::chrono::steady_clock::now();
  auto status = deploy::fetch_artifact(server.url("/stream?bytes=0"), dest, options);
  REQUIRE_FALSE(status.ok());
  CHECK(contains(status.error().message, "larger than the limit of 300000 bytes"));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK_FALSE(fs::exists(dest));

  options.max_size = 500000;
  REQUIRE(deploy::fetch_artifact(server.url("/stream?bytes=400000"), dest, options).ok());
  CHECK(fs::file_size(dest) == 400000);
}

TEST_CASE("fetch_artifact stops on an interruption and keeps the bytes for the next run") {
  TempDir dir;
  const std::string data = noise(3000000);
  dir.write("www/app.tar.gz", data);
  const HttpServer server = HttpServer::ranged(dir.path() / "www");
  const fs::path dest = dir.path() / "staged";
  // The interrupt flag cannot be cleared, so the interrupted run is a child process.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      core::request_interrupt();
    }).detach();
    const auto status = deploy::fetch_artifact(server.url("/files/app.tar.gz?delay_ms=100"), dest, quick_options());
    ::_exit(!status.ok() && status.error().kind == ErrorKind::interrupted ? 0 : 1);
  }
  CHECK(test_support::wait_for(child) == 0);
  REQUIRE(fs::exists(dest));
  CHECK(fs::file_size(dest) > 0);
  CHECK(fs::file_size(dest) < data.size());
  // The next run resumes what the interrupted one kept.
  REQUIRE(deploy::fetch_artifact(server.url("/files/app.tar.gz"), dest, quick_options()).ok());
  CHECK(read_file(dest) == data);
  CHECK(contains(server.log(dir), "\"range\": \"bytes="));
}

// nginx from tests/integration/servers/nginx.sh: HTTPS with a test CA, an expired certificate.
class Nginx {
public:
  explicit Nginx(const fs::path& folder) : m_folder(folder) {
    must_run({"bash", script(), "start", folder.string()});
    std::ifstream env(folder / "env");
    for (std::string line; std::getline(env, line);)
      if (const auto equals = line.find('='); equals != std::string::npos)
        m_env[line.substr(0, equals)] = line.substr(equals + 1);
  }
  ~Nginx() { test_support::run({"bash", script(), "stop", m_folder.string()}); }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;
  std::string value(const std::string& key) { return m_env[key]; }

private:
  static std::string script() { return std::string(SHIPGATE_SOURCE_DIR) + "/tests/integration/servers/nginx.sh"; }
  fs::path m_folder;
  std::map<std::string, std::string> m_env;
};

TEST_CASE("fetch_artifact verifies HTTPS certificates against the given CA bundle") {
  TempDir dir;
  Nginx nginx(dir.path() / "nginx");
  FetchOptions options = quick_options();
  options.attempts = 1;
  options.cacert = nginx.value("CA_CERT");
  const std::string url = "https://127.0.0.1:" + nginx.value("HTTPS_PORT") + "/large";
  REQUIRE(deploy::fetch_artifact(url, dir.path() / "large", options).ok());
  CHECK(fs::file_size(dir.path() / "large") == 2 * 1024 * 1024);

  auto unknown_ca = deploy::fetch_artifact(url, dir.path() / "a", quick_options());
  REQUIRE_FALSE(unknown_ca.ok());
  CHECK(contains(unknown_ca.error().message, "cacert"));
  auto expired =
      deploy::fetch_artifact("https://127.0.0.1:" + nginx.value("EXPIRED_PORT") + "/large", dir.path() / "b", options);
  REQUIRE_FALSE(expired.ok());
  CHECK(contains(expired.error().message, "certificate"));
}

// ================================================================ open and digest

TEST_CASE("OpenedArtifact refuses what is not a regular file") {
  TempDir dir;
  auto opened = OpenedArtifact::open(dir.write("a.tar", "12345"));
  REQUIRE(opened.ok());
  CHECK(opened->size() == 5);
  CHECK(opened->fd() >= 0);
  OpenedArtifact moved = std::move(*opened);
  CHECK(moved.size() == 5);
  CHECK(opened->fd() == -1);

  CHECK_FALSE(OpenedArtifact::open(dir.path()).ok());
  CHECK_FALSE(OpenedArtifact::open(dir.file("missing")).ok());
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  auto fifo = OpenedArtifact::open(dir.file("fifo")); // must not hang waiting for a writer
  REQUIRE_FALSE(fifo.ok());
  CHECK(contains(fifo.error().message, "not a regular file"));
}

TEST_CASE("sha256_hex matches sha256sum and known vectors") {
  TempDir dir;
  CHECK(digest_of(dir.write("abc", "abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_of(dir.write("empty", "")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string big = dir.write("big", noise(1000001));
  CHECK(digest_of(big) == sha256sum(big));
  // pread: the digest does not depend on (or move) the descriptor's offset.
  auto artifact = OpenedArtifact::open(big);
  REQUIRE(artifact.ok());
  ::lseek(artifact->fd(), 12345, SEEK_SET);
  CHECK(*deploy::sha256_hex(*artifact) == sha256sum(big));
  CHECK(::lseek(artifact->fd(), 0, SEEK_CUR) == 12345);
}

TEST_CASE("read_digest_file takes sha256sum output, a bare digest or the BSD form") {
  TempDir dir;
  const std::string artifact = dir.write("app.tar.gz", "release bytes");
  const std::string expected = sha256sum(artifact);
  const std::string sha256sum_output = capture({"sha256sum", artifact});
  CHECK(*deploy::read_digest_file(dir.write("a.sha256", sha256sum_output)) == expected);
  CHECK(*deploy::read_digest_file(dir.write("b.sha256", expected)) == expected);
  CHECK(*deploy::read_digest_file(dir.write("c.sha256", "\n" + expected + " *app.tar.gz\nother line\n")) == expected);
  std::string upper = expected;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(*deploy::read_digest_file(dir.write("d.sha256", upper + "\n")) == expected);
  CHECK(*deploy::read_digest_file(dir.write("e.sha256", "SHA256 (app.tar.gz) = " + expected + "\n")) == expected);

  auto wrong = deploy::read_digest_file(dir.write("f.sha256", "d41d8cd98f00b204e9800998ecf8427e  app.tar.gz\n"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message, "64 hex characters"));
  auto empty = deploy::read_digest_file(dir.write("g.sha256", "\n\n"));
  REQUIRE_FALSE(empty.ok());
  CHECK(contains(empty.error().message, "is empty"));
  CHECK_FALSE(deploy::read_digest_file(dir.file("missing.sha256")).ok());
}

// ================================================================ signatures

TEST_CASE("verify_ed25519 accepts openssl pkeyutl signatures, raw or base64") {
  TempDir dir;
  const KeyPair key = make_key(dir, "release");
  const fs::path artifact = dir.write("app.tar.gz", noise(200000));
  const std::string raw = sign(key, artifact);
  REQUIRE(raw.size() == 64);
  CHECK(verify(artifact, key, raw).ok());

  must_run({"openssl", "base64", "-in", artifact.string() + ".sig", "-out", artifact.string() + ".sig.b64"});
  const std::string wrapped = read_file(artifact.string() + ".sig.b64"); // 64-column lines
  REQUIRE(contains(wrapped, "\n"));
  CHECK(verify(artifact, key, wrapped).ok());
  CHECK(verify(artifact, key, "  " + wrapped + "\n\n").ok());

  SUBCASE("an empty artifact is verified like any other") {
    // (`openssl pkeyutl -rawin` cannot sign an empty file, so only the refusal is shown.)
    const fs::path empty = dir.write("empty.tar", "");
    CHECK(verify(empty, key, raw).error().kind == ErrorKind::blocked);
  }
}

TEST_CASE("verify_ed25519 blocks an altered artifact and another key's signature") {
  TempDir dir;
  const KeyPair key = make_key(dir, "release");
  const KeyPair other = make_key(dir, "other");
  std::string data = noise(100000);
  const fs::path artifact = dir.write("app.tar.gz", data);
  const std::string signature = sign(key, artifact);

  data[54321] = static_cast<char>(data[54321] ^ 0x01);
  const fs::path altered = dir.write("altered.tar.gz", data);
  auto changed = verify(altered, key, signature);
  REQUIRE_FALSE(changed.ok());
  CHECK(changed.error().kind == ErrorKind::blocked);
  CHECK(contains(changed.error().message, "does not verify against " + key.public_pem.string() +
                                              ": the artifact was altered or signed with another key"));

  auto foreign = verify(artifact, other, signature);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().kind == ErrorKind::blocked);

  std::string flipped = signature;
  flipped[0] = static_cast<char>(flipped[0] ^ 0x80);
  CHECK(verify(artifact, key, flipped).error().kind == ErrorKind::blocked);
}

TEST_CASE("verify_ed25519 refuses keys that are not Ed25519 and malformed signatures") {
  TempDir dir;
  const KeyPair key = make_key(dir, "release");
  const fs::path artifact = dir.write("app.tar.gz", "bytes");
  const std::string signature = sign(key, artifact);

  const KeyPair rsa = make_key(dir, "rsa", {"-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
  auto wrong_type = verify(artifact, rsa, signature);
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.error().kind == ErrorKind::invalid_input);
  CHECK(contains(wrong_type.error().message, "is a RSA key"));
  CHECK(contains(wrong_type.error().message, "openssl genpkey -algorithm ed25519"));

  const KeyPair not_pem{key.private_pem, artifact};
  auto garbage_key = verify(artifact, not_pem, signature);
  REQUIRE_FALSE(garbage_key.ok());
  CHECK(contains(garbage_key.error().message, "is not a PEM public key"));

  const KeyPair missing{key.private_pem, dir.path() / "missing.pem"};
  CHECK_FALSE(verify(artifact, missing, signature).ok());

  for (const std::string& bad : {std::string("not base64 at all!"), std::string(63, 'a'), std::string("QUJD")}) {
    auto status = verify(artifact, key, bad);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::invalid_input);
    CHECK(contains(status.error().message, "neither 64 raw bytes nor their base64"));
  }
}

// ================================================================ unpacking: real archives

TEST_CASE("unpack_archive unpacks a tar.gz made by tar") {
  TempDir dir;
  const fs::path tree = make_tree(dir);
  must_run({"tar", "-C", tree.string(), "-czf", dir.file("release.tar.gz"), "."});
  const fs::path dest = dir.path() / "releases/.partial-1";
  const auto stats = unpack(dir.path() / "release.tar.gz", dest);
  REQUIRE_MESSAGE(stats.ok(), stats.error().message);
  check_tree(dest);
  struct stat a {
  }, b{};
  ::stat((dest / "public/index.html").c_str(), &a);
  ::stat((dest / "public/home.html").c_str(), &b);
  CHECK(a.st_ino == b.st_ino);
  CHECK(stats->files == 3);
  CHECK(stats->links == 2);
  CHECK(stats->directories == 3);
  CHECK(stats->bytes == 19 + 16 + 12);
}

TEST_CASE("unpack_archive reads xz, bzip2 and zstd tarballs and zip files") {
  TempDir dir;
  const fs::path tree = make_tree(dir);
  SUBCASE("tar.xz") {
    must_run({"tar", "-C", tree.string(), "-cJf", dir.file("release.tar.xz"), "."});
    REQUIRE(unpack(dir.path() / "release.tar.xz", dir.path() / "out").ok());
  }
  SUBCASE("tar.bz2 in GNU format") {
    must_run({"tar", "--format=gnu", "-C", tree.string(), "-cjf", dir.file("release.tar.bz2"), "."});
    REQUIRE(unpack(dir.path() / "release.tar.bz2", dir.path() / "out").ok());
  }
  SUBCASE("tar.zst") {
    if (test_support::run({"sh", "-c", "command -v zstd >/dev/null"}) != 0) {
      MESSAGE("zstd is not installed: tar.zst not tested (Debian package zstd)");
      return;
    }
    must_run({"tar", "--zstd", "-C", tree.string(), "-cf", dir.file("release.tar.zst"), "."});
    REQUIRE(unpack(dir.path() / "release.tar.zst", dir.path() / "out").ok());
  }
  SUBCASE("zip") {
    if (test_support::run({"sh", "-c", "command -v zip >/dev/null"}) != 0) {
      MESSAGE("zip is not installed: zip files made by zip not tested (Debian package zip)");
      return;
    }
    // zip stores paths relative to the current folder; the shell only changes folder.
    must_run({"sh", "-c", "cd \"$1\" && zip -q -r -y \"$2\" .", "sh", tree.string(), dir.file("release.zip")});
    REQUIRE(unpack(dir.path() / "release.zip", dir.path() / "out").ok());
  }
  check_tree(dir.path() / "out");
}

TEST_CASE("unpack_archive verifies and unpacks the same descriptor") {
  TempDir dir;
  const fs::path tree = make_tree(dir);
  must_run({"tar", "-C", tree.string(), "-czf", dir.file("release.tar.gz"), "."});
  auto artifact = OpenedArtifact::open(dir.path() / "release.tar.gz");
  REQUIRE(artifact.ok());
  CHECK(*deploy::sha256_hex(*artifact) == sha256sum(dir.path() / "release.tar.gz"));
  ::lseek(artifact->fd(), 100, SEEK_SET); // wherever the descriptor was left, unpacking starts at 0
  REQUIRE(deploy::unpack_archive(*artifact, dir.path() / "one", {}).ok());
  REQUIRE(deploy::unpack_archive(*artifact, dir.path() / "two", {}).ok());
  check_tree(dir.path() / "two");
}

TEST_CASE("unpack_archive drops setuid, setgid and sticky bits and keeps folders writable") {
  TempDir dir;
  write_archive(dir.path() / "modes.tar.gz", {{"bin/", AE_IFDIR, 0555},
                                              {"bin/tool", AE_IFREG, 06755, "#!/bin/sh\n"},
                                              {"shared", AE_IFDIR, 01777},
                                              {"notes.txt", AE_IFREG, 0640, "notes"}});
  const fs::path dest = dir.path() / "out";
  REQUIRE(unpack(dir.path() / "modes.tar.gz", dest).ok());
  CHECK(mode_of(dest / "bin/tool") == 0755);
  CHECK(mode_of(dest / "bin") == 0755);
  CHECK(mode_of(dest / "shared") == 0777);
  CHECK(mode_of(dest / "notes.txt") == 0640);
}

TEST_CASE("unpack_archive allows links that stay inside the release") {
  TempDir dir;
  write_archive(dir.path() / "links.tar.gz", {{"lib/v2/libapp.so", AE_IFREG, 0644, "elf"},
                                              {"lib/libapp.so", AE_IFLNK, 0777, "", "./v2/libapp.so"},
                                              {"bin/libapp.so", AE_IFLNK, 0777, "", "../lib/libapp.so"},
                                              {"bin/copy.so", AE_IFREG, 0644, "", "", "lib/v2/libapp.so"}});
  const fs::path dest = dir.path() / "out";
  const auto stats = unpack(dir.path() / "links.tar.gz", dest);
  REQUIRE_MESSAGE(stats.ok(), stats.error().message);
  CHECK(read_file(dest / "bin/libapp.so") == "elf");
  CHECK(read_file(dest / "bin/copy.so") == "elf");
  CHECK(stats->links == 3);
}

// ================================================================ unpacking: hostile archives

TEST_CASE("unpack_archive refuses paths that leave the release") {
  check_refused({{"ok.txt", AE_IFREG, 0644, "fine"}, {"../evil", AE_IFREG, 0644, "pwned"}}, "../evil", "\"..\"");
  check_refused({{"a/../../evil", AE_IFREG, 0644, "pwned"}}, "a/../../evil", "\"..\"");
  check_refused({{"/abs", AE_IFREG, 0644, "pwned"}}, "/abs", "absolute");
}

TEST_CASE("unpack_archive refuses symbolic links that point outside") {
  check_refused({{"link", AE_IFLNK, 0777, "", "../../etc"}}, "link", "points outside the release folder");
  check_refused({{"a/b/up", AE_IFLNK, 0777, "", "../../../evil"}}, "a/b/up", "points outside the release folder");
  check_refused({{"etc", AE_IFLNK, 0777, "", "/etc"}}, "etc", "is absolute");
  check_refused({{"sub/", AE_IFDIR, 0755}, {"sub/loop", AE_IFLNK, 0777, "", "x/../../.."}}, "sub/loop", "after a name");
}

TEST_CASE("unpack_archive never writes through a link an earlier entry made") {
  check_refused({{"sub/", AE_IFDIR, 0755}, {"link", AE_IFLNK, 0777, "", "sub"}, {"link/evil", AE_IFREG, 0644, "x"}},
                "link/evil", "is a link or a file, not a folder");
  check_refused({{"app", AE_IFREG, 0644, "v1"}, {"app", AE_IFREG, 0644, "v2"}}, "app", "holds this path twice");
}

TEST_CASE("unpack_archive refuses hard links to outside") {
  check_refused({{"passwd", AE_IFREG, 0644, "", "", "/etc/passwd"}}, "passwd", "absolute");
  check_refused({{"up", AE_IFREG, 0644, "", "", "../secret"}}, "up", "\"..\"");
  check_refused({{"early", AE_IFREG, 0644, "", "", "later"}, {"later", AE_IFREG, 0644, "x"}}, "early",
                "unpacked before it");
}

TEST_CASE("unpack_archive refuses device files, FIFOs and sockets") {
  check_refused({{"dev/null", AE_IFCHR, 0666}}, "dev/null", "device file");
  check_refused({{"disk", AE_IFBLK, 0660}}, "disk", "device file");
  check_refused({{"pipe", AE_IFIFO, 0644}}, "pipe", "FIFO");
}

TEST_CASE("unpack_archive enforces the size and entry limits") {
  TempDir dir;
  // Three megabytes of zeros: a few kilobytes once compressed, like a zip bomb.
  write_archive(dir.path() / "bomb.zip",
                {{"small.txt", AE_IFREG, 0644, "ok"}, {"zeros.bin", AE_IFREG, 0644, std::string(3000000, '\0')}}, true);
  CHECK(fs::file_size(dir.path() / "bomb.zip") < 100000);
  deploy::UnpackLimits limits;
  limits.max_total_bytes = 1000000;
  auto bomb = unpack(dir.path() / "bomb.zip", dir.path() / "out", limits);
  REQUIRE_FALSE(bomb.ok());
  CHECK(contains(bomb.error().message, "\"zeros.bin\""));
  CHECK(contains(bomb.error().message, "1000000 bytes"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));

  std::vector<Entry> many;
  many.reserve(20);
  for (int i = 0; i < 20; ++i)
    many.push_back({"f" + std::to_string(i), AE_IFREG, 0644, "x"});
  write_archive(dir.path() / "many.tar.gz", many);
  limits = {};
  limits.max_entries = 10;
  auto crowded = unpack(dir.path() / "many.tar.gz", dir.path() / "out", limits);
  REQUIRE_FALSE(crowded.ok());
  CHECK(contains(crowded.error().message, "more than 10 entries"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));
  limits.max_entries = 20;
  CHECK(unpack(dir.path() / "many.tar.gz", dir.path() / "out", limits)->files == 20);
}

TEST_CASE("unpack_archive names the file in the release folder when a write fails, and removes the folder") {
  TempDir dir;
  const fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "public");
  dir.write("tree/public/index.html", "<h1>v2</h1>\n");
  dir.write("tree/public/big.bin", noise(64 * 1024));
  must_run({"tar", "-C", tree.string(), "-czf", dir.file("release.tar.gz"), "."});
  auto artifact = OpenedArtifact::open(dir.path() / "release.tar.gz");
  REQUIRE(artifact.ok());
  const fs::path dest = dir.path() / "releases/.partial-1";
  core::Result<deploy::UnpackStats> result = deploy::UnpackStats{};
  {
    const test_support::FileSizeLimit limit(16 * 1024);
    result = deploy::unpack_archive(*artifact, dest, {});
  }
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::runtime);
  CHECK(contains(result.error().message, "cannot write " + (dest / "public/big.bin").string() + ": File too large"));
  CHECK_FALSE(fs::exists(dest));
}

TEST_CASE("unpack_archive refuses what is not an archive and an existing destination") {
  TempDir dir;
  auto text = unpack(dir.write("notes.txt", "this is not an archive\n"), dir.path() / "out");
  REQUIRE_FALSE(text.ok());
  CHECK(contains(text.error().message, "not a tar or zip archive"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));

  const fs::path tree = make_tree(dir);
  must_run({"tar", "-C", tree.string(), "-czf", dir.file("release.tar.gz"), "."});
  dir.write("taken/keep.txt", "precious");
  auto taken = unpack(dir.path() / "release.tar.gz", dir.path() / "taken");
  REQUIRE_FALSE(taken.ok());
  CHECK(contains(taken.error().message, "already exists"));
  CHECK(read_file(dir.path() / "taken/keep.txt") == "precious");
}
