#pragma once
// Getting a release artifact onto the target safely: fetched (URL, with
// resume and a size limit) or copied (path) into a staging file that
// shipgate owns; verified there (sha256, optional ed25519 signature) from
// an open descriptor; unpacked from that same descriptor, so the bytes that
// were verified are the bytes that are used.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace deploy {

struct FetchOptions {
  std::uint64_t max_size = 2ull * 1024 * 1024 * 1024; // bytes; larger is an error, checked while downloading
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds low_speed_time{30000}; // abort when under 1 KiB/s this long
  int attempts = 3;                                // resumed with a Range request after a broken transfer
  std::string cacert;                              // extra CA bundle for HTTPS
};

// Copies a local file or downloads an http(s):// or file:// URL to `dest`
// (created 0600; an existing partial `dest` is resumed for URLs). Errors
// name the source and what to do (HTTP status, size limit, not found).
// Honours core::interrupted().
core::Status fetch_artifact(const std::string& source, const std::filesystem::path& dest, const FetchOptions& options);

// "https://user:secret@host/x" -> "https://host/x", for messages: URL
// credentials never reach an output.
std::string url_without_credentials(const std::string& url);

// A file opened read-only; verification and unpacking use the descriptor.
class OpenedArtifact {
public:
  static core::Result<OpenedArtifact> open(const std::filesystem::path& path);
  OpenedArtifact(OpenedArtifact&& other) noexcept;
  OpenedArtifact& operator=(OpenedArtifact&& other) noexcept;
  OpenedArtifact(const OpenedArtifact&) = delete;
  OpenedArtifact& operator=(const OpenedArtifact&) = delete;
  ~OpenedArtifact();
  int fd() const { return m_fd; }
  std::uint64_t size() const { return m_size; }
  // The same file (the same inode, not whatever is at the path now) with
  // its own read offset, so that several targets can unpack it at once.
  core::Result<OpenedArtifact> reopen() const;
  const std::filesystem::path& path() const { return m_path; }

private:
  OpenedArtifact(int fd, std::uint64_t size, std::filesystem::path path) : m_fd(fd), m_size(size), m_path(std::move(path)) {}
  int m_fd = -1;
  std::uint64_t m_size = 0;
  std::filesystem::path m_path;
};

// Lower-case hex SHA-256 of the whole file (reads from offset 0 with pread).
core::Result<std::string> sha256_hex(const OpenedArtifact& artifact);
// The same for a file by path (configuration snapshots, backups, manifests).
core::Result<std::string> sha256_file(const std::filesystem::path& path);
// "sha256sum" file format ("HEX  name") or a bare hex digest; the first digest.
core::Result<std::string> read_digest_file(const std::filesystem::path& path);
// Ed25519 signature over the artifact's bytes (as `openssl pkeyutl -sign
// -rawin` makes it). `signature` is the 64 raw bytes or their base64.
// `public_key_pem` is a PEM public key file. ErrorKind::blocked when the
// signature does not verify.
core::Status verify_ed25519(const OpenedArtifact& artifact, const std::filesystem::path& public_key_pem,
                            const std::string& signature);

struct UnpackLimits {
  std::uint64_t max_total_bytes = 8ull * 1024 * 1024 * 1024;
  std::uint64_t max_entries = 1000000;
};
struct UnpackStats {
  std::uint64_t files = 0;
  std::uint64_t directories = 0;
  std::uint64_t links = 0;
  std::uint64_t bytes = 0;
};
// Unpacks a tar (plain, gz, xz, bz2, zstd) or zip archive into `dest`,
// which must not exist yet (it is created). Refused, with the entry named:
// absolute paths, ".." components, device files, FIFOs and sockets,
// symbolic links whose target leaves `dest`, hard links to outside, and
// archives over the limits. setuid/setgid bits are dropped; ownership is
// not restored. Everything written is fsynced before returning. On error
// `dest` is removed.
core::Result<UnpackStats> unpack_archive(const OpenedArtifact& artifact, const std::filesystem::path& dest,
                                         const UnpackLimits& limits);

} // namespace deploy
