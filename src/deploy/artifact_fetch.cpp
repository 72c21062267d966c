// fetch_artifact: a local copy or a libcurl download into a staging file,
// with resume, retries and a size limit.
#include "deploy/artifact.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/artifact_internal.hpp"

#ifndef SHIPGATE_VERSION
#define SHIPGATE_VERSION "dev"
#endif

namespace deploy {
namespace {

namespace fs = std::filesystem;
using artifact_detail::fsync_folder;
using artifact_detail::io_error;
using artifact_detail::k_block;
using artifact_detail::system_error;
using artifact_detail::UniqueFd;
using core::ErrorKind;
using core::make_error;

constexpr long k_max_redirects = 5;

// ---------------------------------------------------------------- files

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
  const std::string shown = url_without_credentials(url);
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
      return make_error(ErrorKind::interrupted, "download of " + url_without_credentials(url) + " interrupted");
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
                      "artifact URL " + url_without_credentials(source) +
                          " has an unsupported scheme: use http://, https://, file:// or a local path");
  return copy_local(source, dest, options);
}

std::string url_without_credentials(const std::string& url) {
  const auto start = url.find("://");
  if (start == std::string::npos) return url;
  const auto authority = start + 3;
  const auto end = url.find_first_of("/?#", authority);
  const auto at = url.rfind('@', end == std::string::npos ? std::string::npos : end - 1);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + url.substr(at + 1);
}

} // namespace deploy
