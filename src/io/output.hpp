#pragma once
// Everything the program writes goes through an Output: the terminal
// streams and artifact files. All of it is redacted.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "io/redactor.hpp"

namespace io {

// An artifact being written. New files are written to a temporary name and
// renamed into place by close(), so a crash never leaves half a report.
// Append mode (CI summary/output files) appends directly.
class FileSink {
public:
  enum class Mode { replace, append };
  static core::Result<std::unique_ptr<FileSink>> open(const std::string& path, Mode mode, const Redactor& redactor);
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  void write(std::string_view text) { m_stream.write(text); }
  core::Status close(); // reports write errors (disk full, ...)
  const std::string& path() const { return m_path; }

private:
  FileSink(std::string path, std::string temp_path, std::FILE* file, const Redactor& redactor);
  void raw_write(std::string_view text);
  std::string m_path;
  std::string m_temp_path; // empty in append mode
  std::FILE* m_file = nullptr;
  bool m_failed = false;
  RedactingStream m_stream;
};

class Output {
public:
  Output(Redactor redactor, std::FILE* out, std::FILE* err);
  ~Output();
  void out(std::string_view text);
  void err(std::string_view text);
  void flush();
  const Redactor& redactor() const { return m_redactor; }
  // A secret learnt while running (e.g. an Authorization header value):
  // masked in everything written from now on.
  void add_secret(std::string_view value) { m_redactor.add_secret(value); }
  core::Result<std::unique_ptr<FileSink>> open_file(const std::string& path,
                                                    FileSink::Mode mode = FileSink::Mode::replace) const;

private:
  Redactor m_redactor;
  std::FILE* m_out;
  std::FILE* m_err;
  std::unique_ptr<RedactingStream> m_out_stream;
  std::unique_ptr<RedactingStream> m_err_stream;
};

} // namespace io
