#include "io/output.hpp"

#include "core/text.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

namespace io {

FileSink::FileSink(std::string path, std::string temp_path, std::FILE* file, const Redactor& redactor)
    : m_path(std::move(path)), m_temp_path(std::move(temp_path)), m_file(file),
      m_stream(redactor, [this](std::string_view text) { raw_write(text); }) {}

core::Result<std::unique_ptr<FileSink>> FileSink::open(const std::string& path, Mode mode, const Redactor& redactor) {
  std::error_code ignored;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  std::string temp_path;
  std::FILE* file = nullptr;
  if (mode == Mode::append) {
    file = std::fopen(path.c_str(), "ab");
  } else {
    temp_path = path + ".tmp." + std::to_string(::getpid());
    file = std::fopen(temp_path.c_str(), "wb");
  }
  if (!file)
    return core::make_error(core::ErrorKind::invalid_input,
                            "cannot write " + path + ": " + std::strerror(errno) +
                                " (check that the directory exists and is writable)");
  return std::unique_ptr<FileSink>(new FileSink(path, temp_path, file, redactor));
}

FileSink::~FileSink() {
  if (!m_file) return;
  std::fclose(m_file);
  if (!m_temp_path.empty()) std::remove(m_temp_path.c_str());
}

void FileSink::raw_write(std::string_view text) {
  if (!m_file || m_failed) return;
  if (std::fwrite(text.data(), 1, text.size(), m_file) != text.size()) m_failed = true;
}

core::Status FileSink::close() {
  m_stream.flush();
  const bool flushed = std::fflush(m_file) == 0 && !m_failed;
  const int saved_errno = errno;
  std::fclose(m_file);
  m_file = nullptr;
  if (!flushed) {
    if (!m_temp_path.empty()) std::remove(m_temp_path.c_str());
    return core::make_error(core::ErrorKind::runtime,
                            "writing " + m_path + " failed: " + std::strerror(saved_errno) + " (is the disk full?)");
  }
  if (!m_temp_path.empty() && std::rename(m_temp_path.c_str(), m_path.c_str()) != 0) {
    const int rename_errno = errno;
    std::remove(m_temp_path.c_str());
    return core::make_error(core::ErrorKind::runtime, "cannot move the new " + m_path + " into place: " +
                                                          std::strerror(rename_errno));
  }
  return core::ok_status();
}

namespace {
// The Output whose redactor guards core::truncate: the newest one alive.
const Output* g_cut_guard_owner = nullptr;
} // namespace

Output::Output(Redactor redactor, std::FILE* out, std::FILE* err)
    : m_redactor(std::move(redactor)), m_out(out), m_err(err) {
  m_out_stream = std::make_unique<RedactingStream>(
      m_redactor, [this](std::string_view text) { std::fwrite(text.data(), 1, text.size(), m_out); });
  m_err_stream = std::make_unique<RedactingStream>(
      m_redactor, [this](std::string_view text) { std::fwrite(text.data(), 1, text.size(), m_err); });
  // Texts are cut short (transcripts, excerpts of a response) long before
  // they are written; a cut through a secret would leave a part no
  // redactor recognises.
  g_cut_guard_owner = this;
  core::set_cut_guard([this](std::string_view text, std::size_t cut) { return m_redactor.safe_cut(text, cut); });
}

Output::~Output() {
  flush();
  if (g_cut_guard_owner == this) {
    g_cut_guard_owner = nullptr;
    core::set_cut_guard(nullptr);
  }
}

void Output::out(std::string_view text) { m_out_stream->write(text); }
void Output::err(std::string_view text) { m_err_stream->write(text); }

void Output::flush() {
  m_out_stream->flush();
  m_err_stream->flush();
  std::fflush(m_out);
  std::fflush(m_err);
}

core::Result<std::unique_ptr<FileSink>> Output::open_file(const std::string& path, FileSink::Mode mode) const {
  return FileSink::open(path, mode, m_redactor);
}

} // namespace io
