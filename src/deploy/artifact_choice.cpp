#include "deploy/artifact_choice.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/text.hpp"

namespace deploy {
namespace {

namespace fs = std::filesystem;
using core::ErrorKind;


// "SERVICE=VALUE" for the service, else a bare VALUE.
std::optional<std::string> pick(const std::vector<std::string>& values, const std::string& service,
                                const std::vector<std::string>& services) {
  std::optional<std::string> bare;
  for (const auto& value : values) {
    const auto equals = value.find('=');
    if (equals != std::string::npos &&
        std::find(services.begin(), services.end(), value.substr(0, equals)) != services.end()) {
      if (value.substr(0, equals) == service) return value.substr(equals + 1);
    } else {
      bare = value;
    }
  }
  return bare;
}

bool is_url(const std::string& source) {
  return core::starts_with(source, "http://") || core::starts_with(source, "https://") ||
         core::starts_with(source, "file://");
}


core::Result<std::string> read_small_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ErrorKind::runtime, "cannot read " + path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 64 * 1024) return core::make_error(ErrorKind::invalid_input, path.string() + " is too large");
  return text;
}

// For the digest and signature files next to an artifact.
FetchOptions small_fetch(const std::string& cacert) {
  FetchOptions options;
  options.max_size = 64 * 1024;
  options.cacert = cacert;
  return options;
}

} // namespace

namespace fs = std::filesystem;
using core::ErrorKind;

core::Result<ArtifactChoice> ArtifactResolver::choose(const ServiceSpec& service) const {
  ArtifactChoice choice;
  const auto flag = pick(m_request.artifacts, service.name, m_names);
  choice.source = flag ? *flag : service.artifact.source;
  if (choice.source.empty())
    return core::make_error(ErrorKind::usage, "no artifact for service " + service.name +
                                                  ": give --artifact PATH|URL (or " + service.name +
                                                  "=PATH with several services) or artifact.source in the plan");
  if (const auto digest = pick(m_request.sha256, service.name, m_names)) choice.sha256 = core::to_lower(*digest);
  else if (!service.artifact.sha256.empty()) choice.sha256 = core::to_lower(service.artifact.sha256);
  if (const auto signature = pick(m_request.signatures, service.name, m_names)) choice.signature = *signature;
  if (!is_url(choice.source)) {
    std::error_code ignored;
    if (!fs::is_regular_file(choice.source, ignored))
      return core::make_error(ErrorKind::usage, "artifact " + choice.source + " of service " + service.name +
                                                    " is not a readable file");
    if (!choice.sha256 && !fs::exists(choice.source + ".sha256", ignored))
      return core::make_error(ErrorKind::blocked,
                              "no digest to verify the artifact of " + service.name + " against: give --sha256 HEX, "
                              "artifact.sha256 in the plan, or put " + choice.source + ".sha256 next to it "
                              "(sha256sum " + choice.source + " > " + choice.source + ".sha256)");
    if (m_plan.plan->signing.required && !choice.signature && !fs::exists(choice.source + ".sig", ignored))
      return core::make_error(ErrorKind::blocked, "the plan requires signed artifacts and " + choice.source +
                                                      " has no signature: give --signature FILE or put " +
                                                      choice.source + ".sig next to it (docs/artifacts.md)");
  }
  return choice;
}

core::Result<OpenedArtifact> obtain_artifact(const ArtifactChoice& choice, const ServiceSpec& service,
                                             const fs::path& incoming, const std::string& release,
                                             const Plan& plan, const std::string& cacert, std::string& log) {
  std::error_code ignored;
  fs::create_directories(incoming, ignored);
  const fs::path staged = incoming / (release + "-" + service.name + ".artifact");
  FetchOptions options;
  options.max_size = service.artifact.max_size;
  options.cacert = cacert;
  const std::string shown = url_without_credentials(choice.source);
  if (auto fetched = fetch_artifact(choice.source, staged, options); !fetched) return fetched.error();
  log += "fetched " + shown + "\n";
  auto opened = OpenedArtifact::open(staged);
  if (!opened) return opened.error();
  // The expected digest: given, or the ".sha256" next to the source.
  std::string expected;
  if (choice.sha256) {
    expected = *choice.sha256;
  } else {
    const fs::path digest_file = incoming / (release + "-" + service.name + ".sha256");
    if (auto fetched = fetch_artifact(choice.source + ".sha256", digest_file, small_fetch(cacert)); !fetched) {
      // A full disk or a network failure is not a missing digest.
      if (fetched.error().kind == ErrorKind::runtime) return fetched.error();
      return core::make_error(ErrorKind::blocked, "no digest for " + shown + ": " + fetched.error().message +
                                                      "; give --sha256 HEX or publish " + shown + ".sha256");
    }
    auto digest = read_digest_file(digest_file);
    if (!digest) return digest.error();
    expected = *digest;
  }
  auto actual = sha256_hex(*opened);
  if (!actual) return actual.error();
  if (*actual != core::to_lower(expected))
    return core::make_error(ErrorKind::blocked, "the artifact " + shown + " has sha256 " + *actual + ", expected " +
                                                    expected + ": it is not the artifact that was released; "
                                                    "rebuild or fix the digest");
  log += "sha256 " + *actual + " verified\n";
  const bool want_signature = plan.signing.required || choice.signature;
  if (want_signature) {
    if (plan.signing.public_key.empty())
      return core::make_error(ErrorKind::usage, "a signature was given but the plan names no signing.public_key");
    const fs::path signature_file = incoming / (release + "-" + service.name + ".sig");
    const std::string signature_source = choice.signature ? *choice.signature : choice.source + ".sig";
    if (auto fetched = fetch_artifact(signature_source, signature_file, small_fetch(cacert)); !fetched)
      return core::make_error(ErrorKind::blocked, "cannot get the signature " + url_without_credentials(signature_source) +
                                                      ": " + fetched.error().message);
    auto signature = read_small_file(signature_file);
    if (!signature) return signature.error();
    const fs::path key = fs::path(plan.file).parent_path() / plan.signing.public_key;
    if (auto verified = verify_ed25519(*opened, fs::path(plan.signing.public_key).is_absolute() ? fs::path(plan.signing.public_key) : key, *signature);
        !verified)
      return verified.error();
    log += "ed25519 signature verified with " + plan.signing.public_key + "\n";
  }
  return opened;
}


} // namespace deploy
