#include "deploy/artifact.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"

#ifndef SHIPGATE_VERSION
#define SHIPGATE_VERSION "dev"
#endif

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;
using core::make_error;

constexpr std::size_t k_block = std::size_t{128} * 1024;
constexpr long k_max_redirects = 5;

// ---------------------------------------------------------------- files

class UniqueFd {
public:
  explicit UniqueFd(int fd = -1) : m_fd(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.m_fd, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  explicit operator bool() const { return m_fd >= 0; }
  void reset(int fd = -1) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
  }

private:
  int m_fd;
};

std::string system_error(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

core::Error io_error(const std::string& what, int err) {
  return make_error(ErrorKind::runtime, system_error(what, err));
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

bool pwrite_all(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t written = ::pwrite(fd, data, size, offset);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
    offset += written;
  }
  return true;
}

// A new directory entry is durable only once its folder is synced too.
core::Status fsync_folder(const fs::path& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return io_error("cannot sync folder " + folder.string(), errno);
  return core::ok_status();
}

core::Status sync_and_close(UniqueFd& fd, const fs::path& path) {
  if (::fsync(fd.get()) != 0) return io_error("cannot sync " + path.string(), errno);
  fd.reset();
  return fsync_folder(path.has_parent_path() ? path.parent_path() : fs::path("."));
}

// Staging files hold unverified bytes: owner-only, never through a symlink.
core::Result<UniqueFd> open_staging(const fs::path& dest, bool truncate) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0);
  UniqueFd fd(::open(dest.c_str(), flags, 0600));
  if (!fd) return io_error("cannot create " + dest.string() + " (check that its folder exists and is writable)", errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode))
    return make_error(ErrorKind::runtime, dest.string() + " exists and is not a regular file: move it away");
  ::fchmod(fd.get(), 0600);
  return fd;
}

std::string size_limit_message(const std::string& source, std::uint64_t limit) {
  return source + " is larger than the limit of " + std::to_string(limit) +
         " bytes: check that it is the right artifact, or raise artifact.max_size in the plan";
}

// ---------------------------------------------------------------- local copy

core::Status copy_stream(int in, int out, const std::string& source, std::uint64_t limit) {
  std::vector<char> buffer(k_block);
  std::uint64_t copied = 0;
  for (;;) {
    if (core::interrupted()) return make_error(ErrorKind::interrupted, "copying " + source + " was interrupted");
    const ssize_t got = ::read(in, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("cannot read " + source, errno);
    if (got == 0) return core::ok_status();
    copied += static_cast<std::uint64_t>(got);
    if (copied > limit) return make_error(ErrorKind::invalid_input, size_limit_message(source, limit));
    if (!write_all(out, buffer.data(), static_cast<std::size_t>(got)))
      return io_error("cannot write the copy of " + source, errno);
  }
}

core::Status copy_local(const std::string& source, const fs::path& dest, const FetchOptions& options) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!in && errno == ENOENT)
    return make_error(ErrorKind::invalid_input, "artifact " + source + " not found: check the --artifact path");
  if (!in) return io_error("cannot open artifact " + source, errno);
  struct stat info {};
  if (::fstat(in.get(), &info) != 0 || !S_ISREG(info.st_mode))
    return make_error(ErrorKind::invalid_input,
                      "artifact " + source + " is not a regular file: give the path of the archive");
  if (static_cast<std::uint64_t>(info.st_size) > options.max_size)
    return make_error(ErrorKind::invalid_input, size_limit_message(source, options.max_size));
  ::fcntl(in.get(), F_SETFL, 0); // O_NONBLOCK only kept a FIFO from blocking the open
  struct stat existing {};
  if (::stat(dest.c_str(), &existing) == 0 && existing.st_dev == info.st_dev && existing.st_ino == info.st_ino)
    return make_error(ErrorKind::usage,
                      "artifact " + source + " is the staging file itself: give the original artifact");
  auto out = open_staging(dest, true);
  if (!out) return out.error();
  core::Status copied = copy_stream(in.get(), out->get(), source, options.max_size);
  if (copied) copied = sync_and_close(*out, dest);
  if (!copied) {
    out->reset();
    ::unlink(dest.c_str());
  }
  return copied;
}

// ---------------------------------------------------------------- download

bool has_scheme(const std::string& source, std::string_view scheme) {
  return source.size() > scheme.size() && core::to_lower(source.substr(0, scheme.size())) == scheme;
}

bool looks_like_url(const std::string& source) {
  const auto colon = source.find("://");
  if (colon == std::string::npos || colon == 0) return false;
  return std::all_of(source.begin(), source.begin() + static_cast<long>(colon), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

// "https://user:secret@host/x" -> "https://host/x": credentials never reach a message.
std::string without_credentials(const std::string& url) {
  const auto start = url.find("://");
  if (start == std::string::npos) return url;
  const auto authority = start + 3;
  const auto end = url.find_first_of("/?#", authority);
  const auto at = url.rfind('@', end == std::string::npos ? std::string::npos : end - 1);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + url.substr(at + 1);
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One request: appends the body to the staging file after `offset` bytes
// already there, and stops the transfer as soon as something is wrong.
struct Download {
  enum class Stop { none, too_large, write_failed, range_ignored, http_error };
  CURL* curl = nullptr;
  int fd = -1;
  bool http = true;
  std::uint64_t offset = 0;
  std::uint64_t received = 0;
  std::uint64_t limit = 0;
  bool started = false;
  Stop stop = Stop::none;
  int write_errno = 0;
  std::optional<std::uint64_t> range_start; // from Content-Range of the last response

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
  static int on_progress(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) { return core::interrupted() ? 1 : 0; }
  std::size_t start();
  std::uint64_t total() const { return offset + received; }
};

std::size_t Download::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  auto& download = *static_cast<Download*>(self);
  const std::string_view line(data, size * count);
  if (core::starts_with(line, "HTTP/")) download.range_start.reset();
  const std::string lower = core::to_lower(line);
  if (core::starts_with(lower, "content-range:")) {
    const auto bytes = lower.find("bytes ");
    if (bytes != std::string::npos) download.range_start = std::strtoull(lower.c_str() + bytes + 6, nullptr, 10);
  }
  return size * count;
}

// Decided once the final response starts its body: is it an error page, a
// resumed part, or a full body after a Range request the server ignored?
std::size_t Download::start() {
  started = true;
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (http && status >= 400) return stop = Stop::http_error, 0;
  if (http && offset > 0 && (status != 206 || range_start != offset)) return stop = Stop::range_ignored, 0;
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length >= 0 && offset + static_cast<std::uint64_t>(length) > limit) return stop = Stop::too_large, 0;
  return 1;
}

std::size_t Download::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto& download = *static_cast<Download*>(self);
  const std::size_t bytes = size * count;
  if (!download.started && download.start() == 0) return 0;
  if (download.total() + bytes > download.limit) return download.stop = Stop::too_large, 0;
  if (!write_all(download.fd, data, bytes)) {
    download.write_errno = errno;
    return download.stop = Stop::write_failed, 0;
  }
  download.received += bytes;
  return bytes;
}

struct CurlHandle {
  CURL* curl = curl_easy_init();
  ~CurlHandle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

void configure(CURL* curl, const std::string& url, const FetchOptions& options, Download& download, char* error) {
  const bool https = has_scheme(url, "https://");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  // A redirect never leads to a local file, nor from HTTPS down to HTTP.
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, k_max_redirects);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "shipgate/" SHIPGATE_VERSION);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.cacert.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.cacert.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   std::max<long>(1, static_cast<long>(options.connect_timeout.count())));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  const auto slow_seconds = (options.low_speed_time.count() + 999) / 1000;
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max<long>(1, static_cast<long>(slow_seconds)));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Download::on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &download);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Download::on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &download);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Download::on_progress);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  if (download.offset > 0) curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(download.offset));
}

// What one attempt came to, and what the loop does next.
struct AttemptResult {
  enum class Next { done, retry, restart, fail };
  Next next = Next::done;
  core::Error error;
  bool discard = false; // the staging file holds bytes that must not be resumed
};

AttemptResult fail(ErrorKind kind, std::string message, bool discard = false) {
  return {AttemptResult::Next::fail, make_error(kind, std::move(message)), discard};
}

AttemptResult http_status_result(long status, const std::string& shown) {
  const std::string prefix = "HTTP " + std::to_string(status) + " for URL " + shown;
  if (status >= 500 || status == 408 || status == 429)
    return {AttemptResult::Next::retry,
            make_error(ErrorKind::runtime, prefix + ": the server failed; try again later")};
  if (status == 401 || status == 403)
    return fail(ErrorKind::invalid_input, prefix + ": check the credentials or the URL", true);
  if (status >= 400) return fail(ErrorKind::invalid_input, prefix + ": check the URL or the version", true);
  return fail(ErrorKind::runtime, prefix + ": expected 200 with the artifact", true);
}

bool transient(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return true;
  default:
    return false;
  }
}

std::string curl_message(CURLcode code, const char* error, const std::string& url, const std::string& shown) {
  std::string text = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
  // Belt and braces: curl's own text must not carry the URL's credentials either.
  for (auto at = text.find(url); !url.empty() && at != std::string::npos; at = text.find(url))
    text.replace(at, url.size(), shown);
  return text;
}

AttemptResult classify(const Download& download, CURLcode code, const char* error, const std::string& url,
                       const std::string& shown) {
  long status = 0;
  curl_easy_getinfo(download.curl, CURLINFO_RESPONSE_CODE, &status);
  using Stop = Download::Stop;
  if (code == CURLE_ABORTED_BY_CALLBACK)
    return fail(ErrorKind::interrupted,
                "download of " + shown + " interrupted; the bytes received are kept for the next run");
  if (download.stop == Stop::too_large)
    return fail(ErrorKind::invalid_input, size_limit_message(shown, download.limit), true);
  if (download.stop == Stop::write_failed)
    return fail(ErrorKind::runtime, system_error("cannot write the download of " + shown, download.write_errno));
  if (download.stop == Stop::range_ignored || code == CURLE_RANGE_ERROR || code == CURLE_BAD_DOWNLOAD_RESUME ||
      status == 416)
    return {AttemptResult::Next::restart, make_error(ErrorKind::runtime, shown + " could not be resumed"), true};
  if (download.http && status >= 300 && (code == CURLE_OK || download.stop == Stop::http_error))
    return http_status_result(status, shown);
  if (code == CURLE_OK) return {};
  const std::string message = "downloading " + shown + " failed: " + curl_message(code, error, url, shown);
  if (transient(code)) return {AttemptResult::Next::retry, make_error(ErrorKind::runtime, message)};
  if (code == CURLE_TOO_MANY_REDIRECTS)
    return fail(ErrorKind::invalid_input,
                shown + " redirects more than " + std::to_string(k_max_redirects) + " times: give the final URL");
  if (code == CURLE_FILE_COULDNT_READ_FILE)
    return fail(ErrorKind::invalid_input, "artifact " + shown + " not found: check the --artifact URL");
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CONNECT_ERROR)
    return fail(ErrorKind::runtime,
                message + " (the server's certificate must verify; give its CA bundle with the cacert option)");
  return fail(ErrorKind::runtime, message);
}

AttemptResult download_once(const std::string& url, const fs::path& dest, const FetchOptions& options, bool resume) {
  auto out = open_staging(dest, !resume);
  if (!out) return fail(out.error().kind, out.error().message);
  off_t existing = ::lseek(out->get(), 0, SEEK_END);
  if (existing < 0 || static_cast<std::uint64_t>(existing) > options.max_size) {
    // A leftover larger than any acceptable artifact cannot be a prefix of one.
    if (::ftruncate(out->get(), 0) != 0 || ::lseek(out->get(), 0, SEEK_SET) != 0)
      return fail(ErrorKind::runtime, system_error("cannot empty " + dest.string(), errno));
    existing = 0;
  }
  CurlHandle handle;
  if (!handle.curl) return fail(ErrorKind::runtime, "libcurl could not create a transfer (out of memory?)");
  Download download;
  download.curl = handle.curl;
  download.fd = out->get();
  download.http = !has_scheme(url, "file://");
  download.offset = existing > 0 ? static_cast<std::uint64_t>(existing) : 0;
  download.limit = options.max_size;
  char error[CURL_ERROR_SIZE] = {0};
  const std::string shown = without_credentials(url);
  configure(handle.curl, url, options, download, error);
  const CURLcode code = curl_easy_perform(handle.curl);
  AttemptResult result = classify(download, code, error, url, shown);
  if (result.next == AttemptResult::Next::done) {
    const core::Status synced = sync_and_close(*out, dest);
    if (!synced) return fail(synced.error().kind, synced.error().message);
  }
  return result;
}

// Waits before the next attempt, waking early for an interruption.
void back_off(int attempt) {
  const auto pause = std::chrono::milliseconds(250) * (1 << std::min(attempt, 4));
  const auto until = std::chrono::steady_clock::now() + pause;
  while (!core::interrupted() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

core::Status download(const std::string& url, const fs::path& dest, const FetchOptions& options) {
  init_curl_once();
  // Resuming a local file gains nothing; starting over is always right there.
  bool resume = !has_scheme(url, "file://");
  const int attempts = std::max(1, options.attempts);
  core::Error last;
  for (int attempt = 1; attempt <= attempts;) {
    AttemptResult result = download_once(url, dest, options, resume);
    if (result.discard) ::truncate(dest.c_str(), 0);
    if (result.next == AttemptResult::Next::done) return core::ok_status();
    if (result.next == AttemptResult::Next::fail) {
      if (result.discard) ::unlink(dest.c_str());
      return result.error;
    }
    last = result.error;
    if (result.next == AttemptResult::Next::restart && resume) {
      resume = false; // the server ignores Range: every later attempt starts at byte 0
      continue;       // not the network's fault, so not an attempt used up
    }
    if (++attempt <= attempts) back_off(attempt - 1);
    if (core::interrupted())
      return make_error(ErrorKind::interrupted, "download of " + without_credentials(url) + " interrupted");
  }
  last.message += " (gave up after " + std::to_string(attempts) + " attempts; the bytes received are kept in " +
                  dest.string() + " and the next run resumes from there)";
  return last;
}

} // namespace

core::Status fetch_artifact(const std::string& source, const fs::path& dest, const FetchOptions& options) {
  if (source.empty())
    return make_error(ErrorKind::usage,
                      "no artifact given: pass --artifact PATH|URL or set artifact.source in the plan");
  if (has_scheme(source, "http://") || has_scheme(source, "https://") || has_scheme(source, "file://"))
    return download(source, dest, options);
  if (looks_like_url(source))
    return make_error(ErrorKind::invalid_input,
                      "artifact URL " + without_credentials(source) +
                          " has an unsupported scheme: use http://, https://, file:// or a local path");
  return copy_local(source, dest, options);
}

// ---------------------------------------------------------------- opened artifact

core::Result<OpenedArtifact> OpenedArtifact::open(const fs::path& path) {
  // O_NONBLOCK keeps a FIFO planted at the path from hanging the open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return io_error("cannot open artifact " + path.string(), errno);
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return io_error("cannot inspect artifact " + path.string(), errno);
  if (!S_ISREG(info.st_mode))
    return make_error(ErrorKind::invalid_input,
                      "artifact " + path.string() + " is not a regular file: give the path of the archive");
  ::fcntl(fd.get(), F_SETFL, 0);
  return OpenedArtifact(fd.release(), static_cast<std::uint64_t>(info.st_size), path);
}

OpenedArtifact::OpenedArtifact(OpenedArtifact&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_size(other.m_size), m_path(std::move(other.m_path)) {}

OpenedArtifact& OpenedArtifact::operator=(OpenedArtifact&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = std::exchange(other.m_fd, -1);
    m_size = other.m_size;
    m_path = std::move(other.m_path);
  }
  return *this;
}

OpenedArtifact::~OpenedArtifact() {
  if (m_fd >= 0) ::close(m_fd);
}

// ---------------------------------------------------------------- digest

namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < size; ++i) {
    hex += k_digits[bytes[i] >> 4];
    hex += k_digits[bytes[i] & 0x0f];
  }
  return hex;
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// The digest on one line: "HEX  name", "HEX *name", a bare "HEX", or the
// BSD form "SHA256 (name) = HEX".
std::optional<std::string> digest_in_line(std::string_view line) {
  const std::string text = core::trim(line);
  if (core::starts_with(text, "SHA256 (")) {
    const auto equals = text.rfind(") = ");
    if (equals != std::string::npos && is_sha256_hex(text.substr(equals + 4)))
      return core::to_lower(text.substr(equals + 4));
    return std::nullopt;
  }
  std::string_view first = text;
  if (!first.empty() && first[0] == '\\') first.remove_prefix(1); // sha256sum's mark for an escaped name
  first = first.substr(0, first.find_first_of(" \t"));
  if (is_sha256_hex(first)) return core::to_lower(first);
  return std::nullopt;
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

} // namespace

core::Result<std::string> sha256_hex(const OpenedArtifact& artifact) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
    return make_error(ErrorKind::runtime, "cannot start a SHA-256 digest: " + openssl_error());
  std::vector<char> buffer(k_block);
  off_t offset = 0;
  for (;;) {
    if (core::interrupted())
      return make_error(ErrorKind::interrupted, "digest of " + artifact.path().string() + " interrupted");
    const ssize_t got = ::pread(artifact.fd(), buffer.data(), buffer.size(), offset);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("cannot read artifact " + artifact.path().string(), errno);
    if (got == 0) break;
    EVP_DigestUpdate(context.get(), buffer.data(), static_cast<std::size_t>(got));
    offset += got;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1)
    return make_error(ErrorKind::runtime, "cannot finish the SHA-256 digest: " + openssl_error());
  return to_hex(digest, length);
}

core::Result<std::string> read_digest_file(const fs::path& path) {
  constexpr std::size_t k_max_digest_file = std::size_t{1024} * 1024;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return make_error(ErrorKind::invalid_input, system_error("cannot read digest file " + path.string(), errno));
  std::string text;
  std::vector<char> buffer(4096);
  for (ssize_t got; (got = ::read(fd.get(), buffer.data(), buffer.size())) != 0 && text.size() < k_max_digest_file;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      return make_error(ErrorKind::invalid_input, system_error("cannot read digest file " + path.string(), errno));
    text.append(buffer.data(), static_cast<std::size_t>(got));
  }
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = std::min(text.find('\n', start), text.size());
    const std::string line = core::trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    if (auto digest = digest_in_line(line)) return *digest;
    return make_error(ErrorKind::invalid_input,
                      "digest file " + path.string() + " holds no SHA-256 digest (found \"" +
                          core::first_line(core::sanitize_utf8(line), 80) +
                          "\"): expected 64 hex characters, as `sha256sum ARTIFACT > ARTIFACT.sha256` writes them");
  }
  return make_error(ErrorKind::invalid_input,
                    "digest file " + path.string() + " is empty: write it with `sha256sum ARTIFACT > ARTIFACT.sha256`");
}

// ---------------------------------------------------------------- signature

namespace {

constexpr std::size_t k_ed25519_signature = 64;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

core::Result<PkeyPtr> read_ed25519_key(const fs::path& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  if (!bio) {
    ERR_clear_error();
    return make_error(ErrorKind::invalid_input, system_error("cannot read public key " + path.string(), errno) +
                                                    " (check signing.public_key in the plan)");
  }
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();
    return make_error(ErrorKind::invalid_input,
                      path.string() + " is not a PEM public key: export it from the private key with " +
                          "`openssl pkey -in signing-key.pem -pubout -out signing-key.pub.pem`");
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    return make_error(ErrorKind::invalid_input,
                      "public key " + path.string() + " is a " + (type ? type : "non-Ed25519") +
                          " key; shipgate verifies Ed25519 signatures only: make a key with " +
                          "`openssl genpkey -algorithm ed25519 -out signing-key.pem`");
  }
  return key;
}

// The 64 raw bytes, or their base64 (line breaks and spaces allowed).
std::optional<std::string> decode_signature(const std::string& signature) {
  if (signature.size() == k_ed25519_signature) return signature;
  std::string text;
  for (const char c : signature)
    if (!std::isspace(static_cast<unsigned char>(c))) text += c;
  const bool base64 = std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
  });
  if (!base64 || text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string bytes(text.size() / 4 * 3, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (length < 0) return std::nullopt;
  // EVP_DecodeBlock counts the '=' padding as zero bytes.
  const auto padding = static_cast<std::size_t>(std::count(text.end() - 2, text.end(), '='));
  bytes.resize(static_cast<std::size_t>(length) - padding);
  if (bytes.size() != k_ed25519_signature) return std::nullopt;
  return bytes;
}

// The whole file, read-only: Ed25519 signs the message itself, not a digest
// of it, so OpenSSL needs it in one piece.
class MappedFile {
public:
  explicit MappedFile(const OpenedArtifact& artifact) : m_size(artifact.size()) {
    if (m_size == 0) return;
    void* data = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, artifact.fd(), 0);
    if (data != MAP_FAILED) m_data = static_cast<const unsigned char*>(data);
  }
  ~MappedFile() {
    if (m_data) ::munmap(const_cast<unsigned char*>(m_data), m_size);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  bool ok() const { return m_size == 0 || m_data != nullptr; }
  const unsigned char* data() const { return m_data ? m_data : reinterpret_cast<const unsigned char*>(""); }
  std::size_t size() const { return m_size; }

private:
  std::size_t m_size;
  const unsigned char* m_data = nullptr;
};

} // namespace

core::Status verify_ed25519(const OpenedArtifact& artifact, const fs::path& public_key_pem,
                            const std::string& signature) {
  auto key = read_ed25519_key(public_key_pem);
  if (!key) return key.error();
  const auto bytes = decode_signature(signature);
  if (!bytes)
    return make_error(ErrorKind::invalid_input,
                      "the signature of " + artifact.path().string() +
                          " is neither 64 raw bytes nor their base64: make it with " +
                          "`openssl pkeyutl -sign -inkey signing-key.pem -rawin -in ARTIFACT -out ARTIFACT.sig`");
  const MappedFile message(artifact);
  if (!message.ok()) return io_error("cannot map artifact " + artifact.path().string() + " to verify it", errno);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key->get()) != 1)
    return make_error(ErrorKind::runtime, "cannot start Ed25519 verification: " + openssl_error());
  const int verdict = EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(bytes->data()),
                                       bytes->size(), message.data(), message.size());
  ERR_clear_error();
  if (verdict == 1) return core::ok_status();
  return make_error(ErrorKind::blocked, "signature of " + artifact.path().string() + " does not verify against " +
                                            public_key_pem.string() +
                                            ": the artifact was altered or signed with another key");
}

// ---------------------------------------------------------------- unpacking

namespace {

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;
using Parts = std::vector<std::string>;

std::string shown_name(const char* name) {
  return core::first_line(core::sanitize_utf8(name ? name : ""), 200);
}

std::string joined(const Parts& parts, std::size_t count) {
  std::string path;
  for (std::size_t i = 0; i < count; ++i)
    path += (i ? "/" : "") + parts[i];
  return path;
}

core::Error refused(const std::string& entry, const std::string& why) {
  return make_error(ErrorKind::blocked, "archive entry \"" + entry + "\" refused: " + why);
}

// An entry's path as components inside the release: "." and empty parts
// dropped; absolute paths and ".." refused.
core::Result<Parts> entry_parts(const char* name, const std::string& entry, const char* what) {
  const std::string_view path(name ? name : "");
  if (!path.empty() && path[0] == '/')
    return refused(entry, std::string(what) + " is absolute; archives must hold relative paths");
  Parts parts;
  for (std::size_t start = 0; start <= path.size();) {
    const auto end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return refused(entry, std::string(what) + " has a \"..\" component, which could leave the release folder");
    parts.emplace_back(part);
  }
  return parts;
}

// A symbolic link may climb with leading ".." only as far as the release
// folder, then descend. ".." after a name is refused: the name may itself
// be a link, so where it leads cannot be told from the text.
std::optional<std::string> symlink_escape(const Parts& entry, const std::string& target) {
  if (target.empty()) return "its target is empty";
  if (target[0] == '/') return "its target \"" + shown_name(target.c_str()) + "\" is absolute";
  auto depth = static_cast<long>(entry.size()) - 1; // the link's own folder
  bool descended = false;
  for (std::size_t start = 0; start <= target.size();) {
    const auto end = std::min(target.find('/', start), target.size());
    const std::string_view part = std::string_view(target).substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      descended = true;
      continue;
    }
    if (descended) return "its target \"" + shown_name(target.c_str()) + "\" has \"..\" after a name; write it without";
    if (--depth < 0) return "its target \"" + shown_name(target.c_str()) + "\" points outside the release folder";
  }
  return std::nullopt;
}

class Unpacker {
public:
  Unpacker(const fs::path& dest, const UnpackLimits& limits) : m_dest(dest), m_limits(limits) {}
  core::Result<UnpackStats> run(const OpenedArtifact& artifact);

private:
  core::Status create_root();
  core::Status open_archive(const OpenedArtifact& artifact);
  core::Status extract(archive_entry* entry);
  core::Status extract_file(archive_entry* entry, const Parts& parts, const std::string& name);
  core::Status copy_data(int fd, const std::string& name, std::uint64_t& end);
  core::Status extract_directory(archive_entry* entry, const Parts& parts, const std::string& name);
  core::Status extract_symlink(archive_entry* entry, const Parts& parts, const std::string& name);
  core::Status extract_hardlink(const char* target, const Parts& parts, const std::string& name);
  core::Result<UniqueFd> open_folder(const Parts& parts, std::size_t count, bool create, const std::string& name);
  core::Status finish_folders();
  core::Error archive_error(const std::string& what) const;

  fs::path m_dest;
  UnpackLimits m_limits;
  UnpackStats m_stats;
  ArchivePtr m_archive{nullptr, &archive_read_free};
  UniqueFd m_root;
  std::uint64_t m_entries = 0;
  std::map<std::string, mode_t> m_folders; // release-relative path -> mode from the archive
};

core::Error Unpacker::archive_error(const std::string& what) const {
  const char* text = archive_error_string(m_archive.get());
  return make_error(ErrorKind::invalid_input, what + ": " + (text ? text : "libarchive gave no reason"));
}

core::Status Unpacker::create_root() {
  std::error_code ignored;
  if (m_dest.has_parent_path()) fs::create_directories(m_dest.parent_path(), ignored);
  if (::mkdir(m_dest.c_str(), 0700) != 0)
    return errno == EEXIST ? make_error(ErrorKind::invalid_input,
                                        m_dest.string() + " already exists: the archive is unpacked into a new folder")
                           : io_error("cannot create " + m_dest.string(), errno);
  m_root.reset(::open(m_dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!m_root) return io_error("cannot open " + m_dest.string(), errno);
  m_folders[""] = 0755;
  return core::ok_status();
}

core::Status Unpacker::open_archive(const OpenedArtifact& artifact) {
  m_archive.reset(archive_read_new());
  if (!m_archive) return make_error(ErrorKind::runtime, "libarchive could not start (out of memory?)");
  archive_read_support_filter_all(m_archive.get());
  archive_read_support_format_tar(m_archive.get()); // ustar and pax
  archive_read_support_format_gnutar(m_archive.get());
  archive_read_support_format_zip(m_archive.get());
  // Verification read with pread; the archive reader shares the offset.
  if (::lseek(artifact.fd(), 0, SEEK_SET) != 0) return io_error("cannot rewind " + artifact.path().string(), errno);
  if (archive_read_open_fd(m_archive.get(), artifact.fd(), std::size_t{64} * 1024) != ARCHIVE_OK)
    return archive_error(artifact.path().string() + " is not a tar or zip archive shipgate can read");
  return core::ok_status();
}

core::Result<UnpackStats> Unpacker::run(const OpenedArtifact& artifact) {
  if (auto created = create_root(); !created) return created.error();
  core::Status status = open_archive(artifact);
  for (archive_entry* entry = nullptr; status;) {
    const int next = archive_read_next_header(m_archive.get(), &entry);
    if (next == ARCHIVE_EOF) break;
    if (next < ARCHIVE_WARN) {
      status =
          archive_error(m_entries == 0 ? artifact.path().string() + " is not a tar or zip archive shipgate can read"
                                       : "cannot read " + artifact.path().string() + " after " +
                                             std::to_string(m_entries) + " entries");
      break;
    }
    status = extract(entry);
  }
  if (status) status = finish_folders();
  if (status) status = fsync_folder(m_dest.has_parent_path() ? m_dest.parent_path() : fs::path("."));
  if (!status) {
    m_root.reset();
    std::error_code ignored;
    fs::remove_all(m_dest, ignored);
    return status.error();
  }
  return m_stats;
}

core::Status Unpacker::extract(archive_entry* entry) {
  if (core::interrupted())
    return make_error(ErrorKind::interrupted, "unpacking into " + m_dest.string() + " interrupted");
  if (++m_entries > m_limits.max_entries)
    return make_error(ErrorKind::blocked, "the archive has more than " + std::to_string(m_limits.max_entries) +
                                              " entries, the limit: check the artifact, or raise the limit");
  const char* path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : archive_entry_pathname_utf8(entry);
  const std::string name = shown_name(path);
  auto parts = entry_parts(path, name, "its path");
  if (!parts) return parts.error();
  if (const char* target =
          archive_entry_hardlink(entry) ? archive_entry_hardlink(entry) : archive_entry_hardlink_utf8(entry))
    return extract_hardlink(target, *parts, name);
  const auto type = archive_entry_filetype(entry);
  if (parts->empty() && type == AE_IFDIR) return m_folders[""] = archive_entry_perm(entry) & 0777, core::ok_status();
  if (parts->empty()) return refused(name, "it has no name");
  switch (type) {
  case AE_IFREG:
    return extract_file(entry, *parts, name);
  case AE_IFDIR:
    return extract_directory(entry, *parts, name);
  case AE_IFLNK:
    return extract_symlink(entry, *parts, name);
  case AE_IFCHR:
  case AE_IFBLK:
    return refused(name, "it is a device file; a release holds files, folders and links only");
  case AE_IFIFO:
    return refused(name, "it is a FIFO; a release holds files, folders and links only");
  case AE_IFSOCK:
    return refused(name, "it is a socket; a release holds files, folders and links only");
  default:
    return refused(name, "its type is unknown; a release holds files, folders and links only");
  }
}

// Walks (and with `create`, makes) the first `count` components below the
// release folder, one openat at a time, never following a symbolic link:
// an entry can never be written through a link an earlier entry planted.
core::Result<UniqueFd> Unpacker::open_folder(const Parts& parts, std::size_t count, bool create,
                                             const std::string& name) {
  UniqueFd folder(::fcntl(m_root.get(), F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i < count && folder; ++i) {
    constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int next = ::openat(folder.get(), parts[i].c_str(), flags);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(folder.get(), parts[i].c_str(), 0700) != 0 && errno != EEXIST)
        return io_error("cannot create folder " + joined(parts, i + 1) + " for entry \"" + name + "\"", errno);
      m_folders.emplace(joined(parts, i + 1), 0755);
      next = ::openat(folder.get(), parts[i].c_str(), flags);
    }
    if (next < 0 && (errno == ELOOP || errno == ENOTDIR))
      return refused(name, "\"" + shown_name(joined(parts, i + 1).c_str()) + "\" is a link or a file, not a folder");
    if (next < 0) return io_error("cannot open folder " + joined(parts, i + 1) + " for entry \"" + name + "\"", errno);
    folder.reset(next);
  }
  if (!folder) return io_error("cannot open " + m_dest.string(), errno);
  return folder;
}

core::Status Unpacker::extract_file(archive_entry* entry, const Parts& parts, const std::string& name) {
  const std::uint64_t room = m_limits.max_total_bytes - std::min(m_limits.max_total_bytes, m_stats.bytes);
  const auto declared = archive_entry_size_is_set(entry)
                            ? static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)))
                            : 0;
  if (declared > room)
    return refused(name, "it declares " + std::to_string(declared) + " bytes, over the limit of " +
                             std::to_string(m_limits.max_total_bytes) + " bytes for the whole archive");
  auto parent = open_folder(parts, parts.size() - 1, true, name);
  if (!parent) return parent.error();
  UniqueFd fd(
      ::openat(parent->get(), parts.back().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd && errno == EEXIST) return refused(name, "the archive holds this path twice; nothing is overwritten");
  if (!fd) return io_error("cannot create " + name, errno);
  std::uint64_t end = 0;
  if (auto copied = copy_data(fd.get(), name, end); !copied) return copied;
  // A sparse file may end in a hole: its size comes from the header.
  if (declared > end && ::ftruncate(fd.get(), static_cast<off_t>(declared)) != 0)
    return io_error("cannot size " + name, errno);
  const timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(entry), 0}};
  ::futimens(fd.get(), times);
  // 0777: setuid, setgid and sticky bits never survive unpacking.
  if (::fchmod(fd.get(), archive_entry_perm(entry) & 0777) != 0)
    return io_error("cannot set the mode of " + name, errno);
  if (::fsync(fd.get()) != 0) return io_error("cannot sync " + name, errno);
  ++m_stats.files;
  return core::ok_status();
}

// Counts what is really written, whatever the header said.
core::Status Unpacker::copy_data(int fd, const std::string& name, std::uint64_t& end) {
  for (;;) {
    if (core::interrupted())
      return make_error(ErrorKind::interrupted, "unpacking into " + m_dest.string() + " interrupted");
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    const int read = archive_read_data_block(m_archive.get(), &block, &size, &offset);
    if (read == ARCHIVE_EOF) return core::ok_status();
    if (read < ARCHIVE_WARN) return archive_error("cannot read the data of entry \"" + name + "\"");
    m_stats.bytes += size;
    if (m_stats.bytes > m_limits.max_total_bytes)
      return refused(name, "the archive unpacks to more than " + std::to_string(m_limits.max_total_bytes) +
                               " bytes, the limit");
    if (!pwrite_all(fd, static_cast<const char*>(block), size, static_cast<off_t>(offset)))
      return io_error("cannot write " + name, errno);
    end = std::max(end, static_cast<std::uint64_t>(offset) + size);
  }
}

core::Status Unpacker::extract_directory(archive_entry* entry, const Parts& parts, const std::string& name) {
  auto folder = open_folder(parts, parts.size(), true, name);
  if (!folder) return folder.error();
  m_folders[joined(parts, parts.size())] = archive_entry_perm(entry) & 0777;
  return core::ok_status();
}

core::Status Unpacker::extract_symlink(archive_entry* entry, const Parts& parts, const std::string& name) {
  const char* raw = archive_entry_symlink(entry) ? archive_entry_symlink(entry) : archive_entry_symlink_utf8(entry);
  const std::string target = raw ? raw : "";
  if (auto escape = symlink_escape(parts, target)) return refused(name, "it is a symbolic link and " + *escape);
  auto parent = open_folder(parts, parts.size() - 1, true, name);
  if (!parent) return parent.error();
  if (::symlinkat(target.c_str(), parent->get(), parts.back().c_str()) != 0)
    return errno == EEXIST ? refused(name, "the archive holds this path twice; nothing is overwritten")
                           : io_error("cannot create the symbolic link " + name, errno);
  ++m_stats.links;
  return core::ok_status();
}

core::Status Unpacker::extract_hardlink(const char* target, const Parts& parts, const std::string& name) {
  auto target_parts = entry_parts(target, name, "its hard link target");
  if (!target_parts) return target_parts.error();
  if (target_parts->empty() || parts.empty()) return refused(name, "it is a hard link to the release folder itself");
  auto target_folder = open_folder(*target_parts, target_parts->size() - 1, false, name);
  if (!target_folder)
    return refused(name, "its hard link target \"" + shown_name(target) + "\" was not unpacked before it");
  struct stat info {};
  if (::fstatat(target_folder->get(), target_parts->back().c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(info.st_mode))
    return refused(name, "its hard link target \"" + shown_name(target) + "\" is not a file unpacked before it");
  auto parent = open_folder(parts, parts.size() - 1, true, name);
  if (!parent) return parent.error();
  if (::linkat(target_folder->get(), target_parts->back().c_str(), parent->get(), parts.back().c_str(), 0) != 0)
    return errno == EEXIST ? refused(name, "the archive holds this path twice; nothing is overwritten")
                           : io_error("cannot create the hard link " + name, errno);
  ++m_stats.links;
  return core::ok_status();
}

// Folder modes are applied last (a read-only folder would stop its own
// entries), deepest first, each kept writable by its owner so that old
// releases can be pruned; then every folder is synced.
core::Status Unpacker::finish_folders() {
  std::vector<std::pair<Parts, mode_t>> folders;
  for (const auto& [path, mode] : m_folders) {
    auto parts = entry_parts(path.c_str(), path, "its path");
    if (parts) folders.emplace_back(std::move(*parts), mode);
  }
  std::stable_sort(folders.begin(), folders.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [parts, mode] : folders) {
    const std::string name = parts.empty() ? m_dest.string() : joined(parts, parts.size());
    auto folder = open_folder(parts, parts.size(), false, name);
    if (!folder) return folder.error();
    if (::fchmod(folder->get(), mode | 0700) != 0) return io_error("cannot set the mode of " + name, errno);
    if (::fsync(folder->get()) != 0) return io_error("cannot sync " + name, errno);
  }
  m_stats.directories = m_folders.size() - 1; // the release folder itself is not counted
  return core::ok_status();
}

} // namespace

core::Result<UnpackStats> unpack_archive(const OpenedArtifact& artifact, const fs::path& dest,
                                         const UnpackLimits& limits) {
  return Unpacker(dest, limits).run(artifact);
}

} // namespace deploy
