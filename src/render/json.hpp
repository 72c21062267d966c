#pragma once
// The JSON result document (schema "shipgate/step-result", version 1; field
// by field in docs/outputs.md). Every string in it is valid UTF-8, including
// those inside `details`, so dumping it never throws.
#include <nlohmann/json.hpp>

#include "ci/context.hpp"
#include "core/step_result.hpp"

namespace render {

inline constexpr int k_json_schema_version = 1;

// The document. Keys of `result.details` are merged at the top level; a
// detail key equal to a schema field ("verdict", "ci", ...) is ignored so
// the fixed fields keep their meaning.
nlohmann::json to_json(const core::StepResult& result, const ci::CiContext& context);

// `value` with every string and object key passed through sanitize_utf8.
nlohmann::json sanitized(const nlohmann::json& value);

// The document as written to --json: 2-space indent, trailing newline.
std::string dump_json(const nlohmann::json& document);

} // namespace render
