#pragma once
// Questions answered from the ledger, never from directory order or
// modification times: what is live, what was live before, the last good
// release to roll back to, whether a version succeeded in an environment,
// whether a version is marked bad.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "deploy/ledger.hpp"

namespace deploy {

// The entries of one environment, read from the ledgers of all its
// targets, merged (one run writes the same entry on each target) and in
// time order.
struct History {
  std::vector<LedgerEntry> entries;
  std::vector<std::string> warnings;

  void add(const std::vector<LedgerEntry>& more);
  // Entries that made a release live: a succeeded deploy, rollback or
  // reconciliation, newest first.
  std::vector<const LedgerEntry*> live_entries() const;
  const LedgerEntry* live() const; // what the record says is live now
  // The release to roll back to: the newest release that was live before
  // the live one, with another version, not marked bad, and present
  // (`exists`) — or of `version` when given.
  const LedgerEntry* rollback_target(const std::set<std::string>& bad_versions,
                                     const std::function<bool(const std::string&)>& exists,
                                     const std::optional<std::string>& version) const;
  bool succeeded(const std::string& version) const; // deployed and verified here at least once
};

// Versions whose last mark-bad/unblock entry, across the given histories, is a mark-bad.
std::set<std::string> bad_versions(const std::vector<const History*>& histories);

// A new ledger entry's id: "<UTC yyyymmddThhmmssZ>-<8 hex>".
std::string make_run_id(core::SystemTime now);

} // namespace deploy
