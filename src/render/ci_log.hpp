#pragma once
// CI log dialects: GitHub Actions workflow-command annotations and GitLab
// collapsible sections. Report text is escaped so it can never end the
// command early or start a command of its own.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/step_result.hpp"

namespace render {

// GitHub shows about 10 error and 10 warning annotations per step.
inline constexpr std::size_t k_max_annotations_per_level = 10;

// One "::error file=F,line=L,title=T::message" line per finding (and one
// ::warning per result warning), at most 10 per level; the rest are
// summarised in a single ::notice. Empty when there is nothing to annotate.
std::string github_annotations(const core::StepResult& result);

// Workflow-command escaping: data escapes % CR LF; properties also : and ,.
std::string github_escape_data(std::string_view text);
std::string github_escape_property(std::string_view text);

// "\e[0Ksection_start:TS:name[collapsed=true]\r\e[0Kheader\n". The name is
// reduced to [A-Za-z0-9_.-] (other characters become '_'); the header is
// sanitized to one line.
std::string gitlab_section_start(std::string_view name, std::string_view header, bool collapsed, std::int64_t unix_ts);
// "\e[0Ksection_end:TS:name\r\e[0K\n".
std::string gitlab_section_end(std::string_view name, std::int64_t unix_ts);
std::string gitlab_section_name(std::string_view name);

} // namespace render
