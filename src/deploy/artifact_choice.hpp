#pragma once
// Which artifact each service of a deploy gets, and how it is verified:
// --artifact/--sha256/--signature (bare or SERVICE=VALUE), the plan's
// artifact.source/sha256, or the ".sha256"/".sig" files next to the
// artifact (docs/artifacts.md). Internal to the deploy engine.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "deploy/artifact.hpp"
#include "deploy/engine.hpp"
#include "deploy/plan.hpp"

namespace deploy {

struct ArtifactChoice {
  std::string source;
  std::optional<std::string> sha256;    // expected, when known before fetching
  std::optional<std::string> signature; // file or URL
};

// Pre-flight: a source and a way to verify it, for every service.
class ArtifactResolver {
public:
  ArtifactResolver(const DeployRequest& request, const ResolvedPlan& plan) : m_request(request), m_plan(plan) {
    for (const auto& service : plan.services) m_names.push_back(service.name);
  }

  core::Result<ArtifactChoice> choose(const ServiceSpec& service) const;

private:
  const DeployRequest& m_request;
  const ResolvedPlan& m_plan;
  std::vector<std::string> m_names;
};


// Fetches (or copies) the artifact into `incoming` and verifies it there
// (sha256, and the ed25519 signature when given or required); returns it
// opened, so that the verified bytes are the ones unpacked. `log` gets a
// line per step.
core::Result<OpenedArtifact> obtain_artifact(const ArtifactChoice& choice, const ServiceSpec& service,
                                             const std::filesystem::path& incoming, const std::string& release,
                                             const Plan& plan, const std::string& cacert, std::string& log);

} // namespace deploy
