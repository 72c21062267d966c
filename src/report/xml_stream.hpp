#pragma once
// A hardened, streaming XML reader over expat. Reads a file in fixed-size
// chunks (memory does not grow with the file), refuses DOCTYPE and entity
// declarations (no entity expansion, no external entities), limits nesting
// depth, and accepts several documents concatenated in one file (Rust's
// libtest writes one per test binary).
#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace report {

class XmlHandler {
public:
  virtual ~XmlHandler() = default;
  // `attributes` is expat's null-terminated array of name/value pairs.
  virtual void start_element(std::string_view name, const char** attributes) = 0;
  virtual void end_element(std::string_view name) = 0;
  virtual void text(std::string_view data) = 0;
  virtual void start_document() {}
  // Set by the parser; a handler may stop the parse with an error.
  std::string stop_reason;
};

struct XmlLimits {
  int max_depth = 64;
  std::size_t chunk_bytes = 1 << 20;
};

class XmlStream {
public:
  XmlStream(XmlHandler& handler, XmlLimits limits = {});
  ~XmlStream();
  XmlStream(const XmlStream&) = delete;
  XmlStream& operator=(const XmlStream&) = delete;

  // Handlers call this to receive (or stop receiving) character data; off
  // by default, which keeps the parse fast.
  void want_text(bool wanted);
  // Bytes XML forbids (control characters, invalid UTF-8) read as '?'.
  std::size_t replaced_control_characters() const;
  // Current line, for messages from handlers.
  long line() const;
  // Parses the whole file; errors name the file, line and column.
  core::Status parse_file(const std::string& path);

  struct Impl; // defined in the .cpp (expat stays out of this header)

private:
  Impl* m_impl;
};

} // namespace report
