#pragma once
// A check's `expect:` block: status, headers, body, JSON fields, response
// time and certificate for url checks; exit code and output for command
// checks. Throws ReadError (yaml_reader.hpp) with file:line and a hint.
#include "smoke/check.hpp"
#include "smoke/yaml_reader.hpp"

namespace smoke {

// Fills the expectations of `check`, whose kind and request are already read.
void parse_expect(const YamlReader& reader, const Field& expect, Check& check);

} // namespace smoke
