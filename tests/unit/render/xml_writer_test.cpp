#include <doctest/doctest.h>

#include "render/xml_writer.hpp"

TEST_CASE("xml_text escapes markup and keeps newlines") {
  CHECK(render::xml_text("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d");
  CHECK(render::xml_text("line1\nline2\t\"q\"") == "line1\nline2\t\"q\"");
  CHECK(render::xml_text("]]>") == "]]&gt;");
}

TEST_CASE("xml_attr escapes quotes and whitespace that attribute normalisation would lose") {
  CHECK(render::xml_attr("say \"hi\"") == "say &quot;hi&quot;");
  CHECK(render::xml_attr("a\nb\tc\rd") == "a&#10;b&#9;c&#13;d");
}

TEST_CASE("characters XML 1.0 forbids never reach the output") {
  const std::string text = render::xml_text(std::string("bell\x07 esc\x1b nul") + '\0' + " bad\xff");
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\0') == std::string::npos);
  CHECK(text.find('\xff') == std::string::npos);
  CHECK(text.find("\\x1B") != std::string::npos);
  CHECK(text.find("\xEF\xBF\xBD") != std::string::npos); // U+FFFD for the invalid byte
}

TEST_CASE("valid non-ASCII text is kept") {
  CHECK(render::xml_text("测试 ✔") == "测试 ✔");
}
