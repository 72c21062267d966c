#include "report/xml_stream.hpp"

#include <cerrno>
#include <cstring>
#include <expat.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/interrupt.hpp"

namespace report {

struct XmlStream::Impl {
  XmlHandler& handler;
  XmlLimits limits;
  XML_Parser parser = nullptr;
  int depth = 0;
  bool text_wanted = false;
  bool root_seen = false;
  std::string refusal; // why we stopped the parser ourselves
  std::size_t replaced_controls = 0;

  Impl(XmlHandler& h, XmlLimits l) : handler(h), limits(l) {}
  void create();
  void install();
  void stop(std::string why) {
    if (refusal.empty()) refusal = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

namespace {

XmlStream::Impl& impl_of(void* data) { return *static_cast<XmlStream::Impl*>(data); }

void on_start(void* data, const XML_Char* name, const XML_Char** attributes) {
  auto& self = impl_of(data);
  if (++self.depth > self.limits.max_depth) {
    self.stop("elements are nested more than " + std::to_string(self.limits.max_depth) +
              " levels deep; real test reports are far shallower");
    return;
  }
  if (self.depth == 1) self.root_seen = true;
  self.handler.start_element(name, attributes);
  if (!self.handler.stop_reason.empty()) self.stop(self.handler.stop_reason);
}

void on_end(void* data, const XML_Char* name) {
  auto& self = impl_of(data);
  --self.depth;
  self.handler.end_element(name);
  if (!self.handler.stop_reason.empty()) self.stop(self.handler.stop_reason);
}

void on_text(void* data, const XML_Char* text, int length) {
  impl_of(data).handler.text(std::string_view(text, static_cast<std::size_t>(length)));
}

void on_doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  impl_of(data).stop("DOCTYPE declarations are refused (no DTD processing or entity expansion in test reports)");
}

void on_entity_decl(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                    const XML_Char*, const XML_Char*) {
  impl_of(data).stop("entity declarations are refused");
}

int on_external_entity(XML_Parser, const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
  return XML_STATUS_ERROR; // never load anything from outside the file
}

} // namespace

void XmlStream::Impl::create() {
  parser = XML_ParserCreate(nullptr);
  install();
}

void XmlStream::Impl::install() {
  XML_SetUserData(parser, this);
  XML_SetElementHandler(parser, on_start, on_end);
  XML_SetCharacterDataHandler(parser, text_wanted ? on_text : nullptr);
  XML_SetStartDoctypeDeclHandler(parser, on_doctype);
  XML_SetEntityDeclHandler(parser, on_entity_decl);
  XML_SetExternalEntityRefHandler(parser, on_external_entity);
  XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);
  depth = 0;
  root_seen = false;
}

XmlStream::XmlStream(XmlHandler& handler, XmlLimits limits) : m_impl(new Impl(handler, limits)) { m_impl->create(); }

XmlStream::~XmlStream() {
  XML_ParserFree(m_impl->parser);
  delete m_impl;
}

void XmlStream::want_text(bool wanted) {
  if (wanted == m_impl->text_wanted) return;
  m_impl->text_wanted = wanted;
  XML_SetCharacterDataHandler(m_impl->parser, wanted ? on_text : nullptr);
}

std::size_t XmlStream::replaced_control_characters() const { return m_impl->replaced_controls; }

long XmlStream::line() const { return static_cast<long>(XML_GetCurrentLineNumber(m_impl->parser)); }

namespace {

class File {
public:
  explicit File(const std::string& path) : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int fd() const { return m_fd; }

private:
  int m_fd;
};

std::string describe_expat_error(XML_Error code, bool root_seen) {
  switch (code) {
  case XML_ERROR_NO_ELEMENTS:
    return root_seen ? "the report ends before its document is complete (truncated file?)"
                     : "no XML element found (the file is empty or not a report)";
  case XML_ERROR_UNCLOSED_TOKEN:
  case XML_ERROR_UNCLOSED_CDATA_SECTION:
    return "the report ends in the middle of a tag (truncated file?)";
  case XML_ERROR_UNDEFINED_ENTITY:
    return "undefined entity reference (entities other than the five XML built-ins are refused)";
  case XML_ERROR_INVALID_TOKEN:
    return "not well-formed XML (invalid token: binary data or a bad character?)";
  default: return std::string("invalid XML: ") + XML_ErrorString(code);
  }
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// XML 1.0 forbids C0 control characters other than tab, CR and LF, yet test
// output often carries them raw (ANSI colour codes, backspaces from progress
// spinners). Rejecting the whole report for that would lose the verdict, so
// they become '?' before expat sees them. Returns how many were replaced.
std::size_t replace_control_characters(std::string& buffer) {
  // A branch-free count first (the compiler vectorizes it): almost every
  // chunk has none, and then nothing is written.
  std::size_t found = 0;
  for (const char c : buffer) {
    const auto byte = static_cast<unsigned char>(c);
    found += static_cast<std::size_t>((byte < 0x20) & (byte != '\t') & (byte != '\n') & (byte != '\r'));
  }
  if (found == 0) return 0;
  std::size_t replaced = 0;
  for (char& c : buffer) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') {
      c = '?';
      ++replaced;
    }
  }
  return replaced;
}

} // namespace

core::Status XmlStream::parse_file(const std::string& path) {
  Impl& self = *m_impl;
  File file(path);
  if (file.fd() < 0)
    return core::make_error(core::ErrorKind::invalid_input, std::string("cannot open: ") + std::strerror(errno), path);
  auto fail = [&](const std::string& message) {
    const auto line = XML_GetCurrentLineNumber(self.parser);
    const auto column = XML_GetCurrentColumnNumber(self.parser);
    return core::make_error(core::ErrorKind::invalid_input, message,
                            path + ":" + std::to_string(line) + ":" + std::to_string(column + 1));
  };
  self.handler.start_document();
  bool between_documents = false; // after a root element closed, before the next '<'
  std::string carry;              // bytes to feed to the next document
  bool any_document = false;
  for (;;) {
    if (core::interrupted())
      return core::make_error(core::ErrorKind::interrupted, "interrupted while reading", path);
    std::string buffer = std::move(carry);
    carry.clear();
    bool at_end = false;
    if (buffer.empty()) {
      buffer.resize(self.limits.chunk_bytes);
      const ssize_t got = ::read(file.fd(), buffer.data(), buffer.size());
      if (got < 0) return core::make_error(core::ErrorKind::invalid_input, std::strerror(errno), path);
      buffer.resize(static_cast<std::size_t>(got));
      at_end = got == 0;
      self.replaced_controls += replace_control_characters(buffer);
    }
    std::string_view data(buffer);
    if (between_documents) {
      while (!data.empty() && is_space(data.front())) data.remove_prefix(1);
      if (at_end) return core::ok_status();
      if (data.empty()) continue;
      if (data.front() != '<') return fail("content after the end of the XML document");
      XML_ParserReset(self.parser, nullptr);
      self.install();
      self.handler.start_document();
      between_documents = false;
    }
    any_document = true;
    const auto status = XML_Parse(self.parser, data.data(), static_cast<int>(data.size()), at_end);
    if (status == XML_STATUS_OK) {
      if (at_end) return core::ok_status();
      continue;
    }
    if (!self.refusal.empty()) return fail(self.refusal);
    const XML_Error code = XML_GetErrorCode(self.parser);
    if (code == XML_ERROR_JUNK_AFTER_DOC_ELEMENT && self.root_seen) {
      // Another document follows in the same file: restart the parser there.
      const auto consumed_total = XML_GetCurrentByteIndex(self.parser);
      int offset = 0, size = 0;
      XML_GetInputContext(self.parser, &offset, &size);
      (void)consumed_total;
      const std::size_t position = static_cast<std::size_t>(offset);
      if (position <= data.size()) carry.assign(data.substr(position));
      between_documents = true;
      if (carry.empty() && at_end) return core::ok_status();
      continue;
    }
    return fail(describe_expat_error(code, self.root_seen));
  }
  (void)any_document;
}

} // namespace report
