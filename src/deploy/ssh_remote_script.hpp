#pragma once
// What shipgate sends to an ssh host (docs/ssh.md "The remote script"): a
// script in POSIX sh, run with every operation as
//   sh -c '<script>' shipgate-remote OP ARG...
// so nothing of shipgate has to be installed there; and the release
// stream, a tar of an artifact unpacked and checked on this machine with a
// manifest that the host checks before the release is renamed into place.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "deploy/artifact.hpp"
#include "deploy/plan.hpp"
#include "deploy/ssh_session.hpp"

namespace deploy::ssh {

// The remote script's exit statuses.
namespace remote_status {
constexpr int ok = 0;
constexpr int failed = 1;       // an I/O failure; the message says what to check
constexpr int bad_request = 2;  // this shipgate and the remote script disagree
constexpr int changed = 3;      // update-cas: the file changed since it was read
constexpr int refused = 4;      // the layout on the host is not as expected
constexpr int differs = 5;      // files differ from their manifest
constexpr int missing_tool = 6; // a program the remote script needs is not installed
constexpr int not_found = 7;    // the release (or its manifest) is not there
} // namespace remote_status

const std::string& remote_script();

// The largest answer read back (a ledger, a file): 256 MiB.
constexpr std::size_t k_max_answer = std::size_t{256} * 1024 * 1024;

struct RemoteCall {
  std::string op;
  std::vector<std::string> args;
  std::optional<std::string> input;
  Duration timeout{std::chrono::minutes(2)};
};
struct RemoteAnswer {
  int status = 0;
  std::string out; // the remote script's standard output
  std::string err; // its messages
};
// Runs one operation of the remote script on the session's host. An error only
// when the host was not reached (the message names it and what to check),
// the remote script was killed, or its answer was too large; any exit status of
// the remote script is an answer.
core::Result<RemoteAnswer> call_remote(Session& session, const RemoteCall& call);
// The error for an answer the caller did not expect: the remote script's message
// with the host named; the kind follows the status (refused and not found:
// invalid_input, differs: blocked, else runtime).
core::Error remote_failure(const Session& session, const RemoteCall& call, const RemoteAnswer& answer);
// call_remote, and remote_failure unless the remote script answered 0.
core::Result<RemoteAnswer> call_remote_ok(Session& session, const RemoteCall& call);

// An artifact unpacked (with unpack_archive's safety rules) on this
// machine, and its manifest: `sums` in sha256sum format for every regular
// file, `listing` every entry as the remote script's list_tree prints it.
struct StagedRelease {
  std::filesystem::path tree;
  std::string sums;
  std::string listing;
  std::mutex stream_mutex;
  std::shared_ptr<const std::string> stream; // built on first use
};
// The staged copy of `artifact`: unpacked once per process for the same
// content (sha256, taken once per open file), whichever host asks. The
// folders are below private_dir(); drop_staged_releases() removes them.
core::Result<std::shared_ptr<StagedRelease>> stage_release(const OpenedArtifact& artifact, const UnpackLimits& limits);
// The release stream for prepare: a tar of manifest/sha256, manifest/tree
// and tree/ (the staged files as they are now). Built once and shared.
core::Result<std::shared_ptr<const std::string>> release_stream(StagedRelease& staged);
void drop_staged_releases();

} // namespace deploy::ssh
