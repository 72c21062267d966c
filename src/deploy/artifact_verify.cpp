// OpenedArtifact and the checks made on its descriptor: SHA-256 digest,
// digest files, Ed25519 signature.
#include "deploy/artifact.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.hpp"
#include "core/text.hpp"
#include "deploy/artifact_internal.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using artifact_detail::io_error;
using artifact_detail::k_block;
using artifact_detail::system_error;
using artifact_detail::UniqueFd;
using core::ErrorKind;
using core::make_error;

} // namespace

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

core::Result<OpenedArtifact> OpenedArtifact::reopen() const {
  const std::string self = "/proc/self/fd/" + std::to_string(m_fd);
  UniqueFd fd(::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return io_error("cannot open artifact " + m_path.string() + " again", errno);
  struct stat mine {}, again {};
  if (::fstat(m_fd, &mine) != 0 || ::fstat(fd.get(), &again) != 0 || mine.st_ino != again.st_ino ||
      mine.st_dev != again.st_dev)
    return make_error(ErrorKind::runtime, "artifact " + m_path.string() + " could not be opened again as the same file");
  ::fcntl(fd.get(), F_SETFL, 0);
  return OpenedArtifact(fd.release(), m_size, m_path);
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

core::Result<std::string> sha256_file(const fs::path& path) {
  auto opened = OpenedArtifact::open(path);
  if (!opened) return opened.error();
  return sha256_hex(*opened);
}

} // namespace deploy
