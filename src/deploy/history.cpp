#include "deploy/history.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <random>

namespace deploy {
namespace {

bool makes_live(const LedgerEntry& entry) {
  return (entry.event == "deploy" || entry.event == "rollback" || entry.event == "reconcile") &&
         entry.outcome == "succeeded" && !entry.release.empty();
}

} // namespace

void History::add(const std::vector<LedgerEntry>& more) {
  for (const auto& entry : more) {
    const bool known = std::any_of(entries.begin(), entries.end(), [&](const LedgerEntry& seen) {
      return seen.id == entry.id && seen.event == entry.event && seen.version == entry.version &&
             seen.outcome == entry.outcome;
    });
    if (!known) entries.push_back(entry);
  }
  // Time order; the file order of one ledger breaks ties.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const LedgerEntry& a, const LedgerEntry& b) { return a.finished_at < b.finished_at; });
}

std::vector<const LedgerEntry*> History::live_entries() const {
  std::vector<const LedgerEntry*> out;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (makes_live(*it)) out.push_back(&*it);
  return out;
}

const LedgerEntry* History::live() const {
  const auto all = live_entries();
  return all.empty() ? nullptr : all.front();
}

const LedgerEntry* History::rollback_target(const std::set<std::string>& bad,
                                            const std::function<bool(const std::string&)>& exists,
                                            const std::optional<std::string>& version) const {
  const auto all = live_entries();
  if (all.empty()) return nullptr;
  const LedgerEntry* current = all.front();
  for (std::size_t i = 1; i < all.size(); ++i) {
    const LedgerEntry* candidate = all[i];
    if (candidate->release == current->release) continue;
    if (version ? candidate->version != *version : candidate->version == current->version) continue;
    if (!version && bad.count(candidate->version)) continue;
    if (!exists(candidate->release)) continue;
    return candidate;
  }
  return nullptr;
}

bool History::succeeded(const std::string& version) const {
  return std::any_of(entries.begin(), entries.end(), [&](const LedgerEntry& entry) {
    return entry.event == "deploy" && entry.outcome == "succeeded" && entry.version == version;
  });
}

std::set<std::string> bad_versions(const std::vector<const History*>& histories) {
  // The newest mark-bad/unblock entry per version decides.
  std::map<std::string, std::pair<core::SystemTime, bool>> last;
  for (const History* history : histories)
    for (const auto& entry : history->entries) {
      if (entry.event != "mark-bad" && entry.event != "unblock") continue;
      auto& slot = last[entry.version];
      if (slot.first <= entry.finished_at) slot = {entry.finished_at, entry.event == "mark-bad"};
    }
  std::set<std::string> out;
  for (const auto& [version, state] : last)
    if (state.second) out.insert(version);
  return out;
}

std::string make_run_id(core::SystemTime now) {
  std::random_device device;
  const unsigned value = device();
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", value);
  std::string stamp = core::format_rfc3339(now); // 2026-11-21T21:50:00Z
  std::string compact;
  for (char c : stamp)
    if (c != '-' && c != ':') compact += c;
  return compact + "-" + hex;
}

} // namespace deploy
