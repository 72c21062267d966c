#pragma once
// What every fuzz target shares: the input cap, a private scratch folder
// (made once with mkdtemp, removed at exit), writing an input to a file
// there for readers that only take a path, and invariant checks that
// abort, so that libFuzzer records the input as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace fuzz {

// Larger inputs are ignored: the readers stream or cap their files, and
// 1 MiB is plenty to reach every branch.
constexpr std::size_t k_max_input = 1024 * 1024;

inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A folder only this process writes into: $TMPDIR/shipgate-fuzz-XXXXXX.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path folder = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/shipgate-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch(), ignored);
    });
    return std::filesystem::path(pattern);
  }();
  return folder;
}

// Replaces `name` in the scratch folder with the input; returns its path.
inline std::string write_input(const std::string& name, std::string_view input) {
  const std::filesystem::path path = scratch() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(input.data(), static_cast<std::streamsize>(input.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write the input to %s\n", path.c_str());
    std::abort();
  }
  return path.string();
}

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}

// True when `value` is well-formed UTF-8 (what the readers promise for
// every text they hand on).
inline bool valid_utf8(std::string_view value) {
  for (std::size_t i = 0; i < value.size();) {
    const auto byte = static_cast<unsigned char>(value[i]);
    std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > value.size()) return false;
    std::uint32_t point = length == 1 ? byte : byte & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(value[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    static constexpr std::uint32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < k_min[length] || (point >= 0xD800 && point <= 0xDFFF) || point > 0x10FFFF) return false;
    i += length;
  }
  return true;
}

} // namespace fuzz

#define FUZZ_CHECK(condition)                                                                                       \
  do {                                                                                                              \
    if (!(condition)) ::fuzz::invariant_failed(#condition, __FILE__, __LINE__);                                     \
  } while (0)
