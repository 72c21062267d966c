#pragma once
// The human summary printed to the terminal / CI log. Report-derived text is
// sanitized (no raw control characters, so a hostile test name cannot move
// the cursor or recolour the log); ANSI colour only when `color` is true.
#include <cstddef>
#include <string>

#include "core/step_result.hpp"

namespace render {

// Findings listed by render_findings before "... and N more".
inline constexpr std::size_t k_terminal_max_findings = 20;

// The full summary: headline, summary lines, checks, findings, warnings.
std::string render_terminal(const core::StepResult& result, bool color);

// The parts of render_terminal, so publish can fold the findings into a
// GitLab section. Each returns "" when it has nothing to show; every
// non-empty part ends in a newline.
std::string render_headline(const core::StepResult& result, bool color);
std::string render_overview(const core::StepResult& result, bool color); // summary lines + checks
std::string render_findings(const core::StepResult& result, bool color);
std::string render_warnings(const core::StepResult& result, bool color);

// `text` sanitized and flattened to one line (CR, LF, TAB become spaces).
std::string one_line(std::string_view text);

} // namespace render
