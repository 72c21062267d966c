#pragma once
// Text rules of the launch plan shared by its reader (plan.cpp) and its
// resolver (plan_resolve.cpp). Internal to src/deploy/plan*.cpp.
#include <string>
#include <string_view>
#include <vector>

namespace deploy {

// Service, environment, backup and plan names: [a-z0-9][a-z0-9_-]*, at most 64.
bool valid_name(std::string_view name);

// The ${NAME} placeholders of `text`, in order. When one is malformed,
// `problem` says how (and what to write instead) and the list stops
// there. The rules are smoke::interpolate's: "$${" is a literal "${".
std::vector<std::string> placeholders(std::string_view text, std::string& problem);
std::string placeholder_problem(std::string_view text); // empty when well-formed
bool has_placeholder(std::string_view text);

// Empty when fine; texts still holding ${VAR} pass (they are checked again
// once interpolated).
std::string sha256_problem(const std::string& digest);
std::string shared_path_problem(const std::string& path);

} // namespace deploy
