#pragma once
// Text helpers shared by readers and renderers.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// Replaces invalid UTF-8 with U+FFFD and control characters other than
// \n and \t with a visible "\xNN" form, so report content never reaches an
// output raw.
std::string sanitize_utf8(std::string_view text);
// True when `text` is valid UTF-8 without C0 controls except \t \n \r.
bool is_clean_text(std::string_view text);

// Cuts to at most `max_bytes` on a UTF-8 boundary, appending a note saying
// how much was dropped.
std::string truncate(std::string_view text, std::size_t max_bytes);
// Where a cut at `cut` may fall instead (at most `cut`): a cut through a
// secret would leave a part the redactor no longer recognises, so the
// process's redactor moves it to where that secret starts. Set by io::Output.
using CutGuard = std::function<std::size_t(std::string_view text, std::size_t cut)>;
void set_cut_guard(CutGuard guard);
// `text` sanitized, flattened to one line and escaped for Markdown (GitHub
// flavoured): punctuation that is markup gets a backslash, `& < > |` become
// entities. The redactor masks a secret in this form too.
std::string markdown_escape(std::string_view text);
// First line of `text`, truncated.
std::string first_line(std::string_view text, std::size_t max_bytes);

std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word`, or empty if none is close enough.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

std::string trim(std::string_view text);
std::string to_lower(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");
// Every occurrence of `from` (not empty) replaced by `to`, left to right.
std::string replace_all(std::string text, std::string_view from, std::string_view to);

} // namespace core
