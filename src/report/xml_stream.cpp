#include "report/xml_stream.hpp"

#include <cctype>
#include <cerrno>
#include <cstdint>
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

// Repairs what real producers write but XML forbids, so that one bad byte
// does not cost the whole verdict: C0 control characters other than tab, CR
// and LF (ANSI colour codes, spinner backspaces) and, in UTF-8 documents,
// invalid UTF-8 sequences (binary test output) become '?'. Documents in
// UTF-16/32 are left alone; in other 8-bit encodings only controls are fixed.
class ByteFilter {
public:
  // Decides the mode from the first bytes of the file.
  void sniff(std::string_view head) {
    if (head.size() >= 2 && ((head[0] == '\xFE' && head[1] == '\xFF') || (head[0] == '\xFF' && head[1] == '\xFE'))) {
      m_mode = Mode::off;
      return;
    }
    if (head.find('\0') != std::string_view::npos && head.find('\0') < 4) {
      m_mode = Mode::off;
      return;
    }
    const auto declaration_end = head.find("?>");
    const std::string declaration(head.substr(0, declaration_end == std::string_view::npos ? 0 : declaration_end));
    const auto encoding = declaration.find("encoding=");
    if (encoding != std::string::npos && encoding + 10 < declaration.size()) {
      std::string name = declaration.substr(encoding + 10, 12);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name.rfind("utf-8", 0) != 0 && name.rfind("utf8", 0) != 0 && name.rfind("us-ascii", 0) != 0)
        m_mode = Mode::controls_only;
    }
  }

  // Filters `chunk` in place; an incomplete UTF-8 sequence at its end is
  // held back and prepended to the next chunk.
  void apply(std::string& chunk, bool at_end) {
    if (m_mode == Mode::off) return;
    if (!m_carry.empty()) {
      chunk.insert(0, m_carry);
      m_carry.clear();
    }
    std::size_t i = 0;
    const std::size_t size = chunk.size();
    while (i < size) {
      // Fast path: 8 printable ASCII bytes at a time (no byte >= 0x80, none < 0x20).
      if (i + 8 <= size) {
        std::uint64_t word;
        std::memcpy(&word, chunk.data() + i, 8);
        constexpr std::uint64_t k_high = 0x8080808080808080ULL;
        const std::uint64_t del = word ^ 0x7F7F7F7F7F7F7F7FULL; // a zero byte where DEL was
        if ((word & k_high) == 0 && ((word - 0x2020202020202020ULL) & ~word & k_high) == 0 &&
            ((del - 0x0101010101010101ULL) & ~del & k_high) == 0) {
          i += 8;
          continue;
        }
      }
      const auto byte = static_cast<unsigned char>(chunk[i]);
      if (byte >= 0x20 && byte < 0x7F) {
        ++i;
        continue;
      }
      if (byte == 0x7F) { // DEL: allowed by XML, but a control character all the same
        replace(chunk[i]);
        ++i;
        continue;
      }
      if (byte < 0x20) {
        if (byte != '\t' && byte != '\n' && byte != '\r') replace(chunk[i]);
        ++i;
        continue;
      }
      if (m_mode == Mode::controls_only) {
        ++i;
        continue;
      }
      const std::size_t length = utf8_length(chunk, i);
      if (length == k_incomplete && !at_end) {
        m_carry.assign(chunk, i, std::string::npos);
        chunk.resize(i);
        return;
      }
      if (length == 0 || length == k_incomplete) {
        replace(chunk[i]);
        ++i;
        continue;
      }
      i += length;
    }
  }

  std::size_t replaced() const { return m_replaced; }

private:
  enum class Mode { utf8, controls_only, off };
  static constexpr std::size_t k_incomplete = static_cast<std::size_t>(-1);

  void replace(char& c) {
    c = '?';
    ++m_replaced;
  }

  // Length of the valid sequence at text[i]; 0 if invalid; k_incomplete if
  // it may continue past the end of the buffer.
  static std::size_t utf8_length(const std::string& text, std::size_t i) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
    else return 0;
    for (std::size_t k = 1; k < length; ++k) {
      if (i + k >= text.size()) return k_incomplete;
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return 0;
      if (k == 1) { // overlong forms, surrogates, beyond U+10FFFF
        if (lead == 0xE0 && next < 0xA0) return 0;
        if (lead == 0xED && next > 0x9F) return 0;
        if (lead == 0xF0 && next < 0x90) return 0;
        if (lead == 0xF4 && next > 0x8F) return 0;
      }
    }
    return length;
  }

  Mode m_mode = Mode::utf8;
  std::string m_carry;
  std::size_t m_replaced = 0;
};

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
  bool first_chunk = true;
  ByteFilter filter;
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
      if (first_chunk) filter.sniff(buffer);
      first_chunk = false;
      filter.apply(buffer, at_end);
      self.replaced_controls = filter.replaced();
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
    const auto status = XML_Parse(self.parser, data.data(), static_cast<int>(data.size()), at_end);
    if (status == XML_STATUS_OK) {
      if (at_end) return core::ok_status();
      continue;
    }
    if (!self.refusal.empty()) return fail(self.refusal);
    const XML_Error code = XML_GetErrorCode(self.parser);
    if (code == XML_ERROR_JUNK_AFTER_DOC_ELEMENT && self.root_seen) {
      // Another document follows in the same file: restart the parser there.
      int offset = 0, size = 0;
      XML_GetInputContext(self.parser, &offset, &size);
      const std::size_t position = static_cast<std::size_t>(offset);
      if (position <= data.size()) carry.assign(data.substr(position));
      between_documents = true;
      if (carry.empty() && at_end) return core::ok_status();
      continue;
    }
    return fail(describe_expat_error(code, self.root_seen));
  }
}

} // namespace report
