#pragma once
// GitHub-flavoured Markdown for --markdown and $GITHUB_STEP_SUMMARY.
// All text that came from reports or the environment is treated as hostile:
// it is escaped so it cannot open HTML, links, images, emphasis, math or code
// spans, or break a table row.
#include <cstddef>
#include <string>
#include <string_view>

#include "ci/context.hpp"
#include "core/step_result.hpp"

namespace render {

// GitHub shows at most 1 MiB of step summary per step.
inline constexpr std::size_t k_markdown_max_bytes = 1000000;

// The document, never longer than max_bytes (for max_bytes >= 1024): the
// findings table is cut first, with a note saying how many rows are missing.
std::string render_markdown(const core::StepResult& result, const ci::CiContext& context,
                            std::size_t max_bytes = k_markdown_max_bytes);

// `text` sanitized, flattened to one line and escaped for use inside a
// paragraph, heading or table cell.
std::string markdown_escape(std::string_view text);

} // namespace render
