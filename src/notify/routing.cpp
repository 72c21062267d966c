#include "notify/routing.hpp"

#include <algorithm>
#include <map>

namespace notify {

namespace {

void add_once(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

} // namespace

bool valid_level(const std::string& level) {
  return level.size() == 2 && level[0] == 'P' && level[1] >= '0' && level[1] <= '3';
}

std::string default_urgency(const std::string& event, const std::string& verdict) {
  if (event == "rollback-failed") return "P0";
  if (event == "deploy-failed" || event == "smoke-failed" || event == "rolled-back") return "P1";
  if ((event == "test-report" && verdict != "pass") || event == "db-done") return "P2";
  return "P3";
}

std::string more_urgent(const std::string& a, const std::string& b) {
  if (!valid_level(a)) return b;
  if (!valid_level(b)) return a;
  return a < b ? a : b;
}

const std::vector<std::string>& default_roles(const std::string& event) {
  static const std::map<std::string, std::vector<std::string>> k_chain = {
      {"plan-submitted", {"tech-lead"}},
      {"plan-approved", {"developer", "tester"}},
      {"test-report", {"developer", "tech-lead"}},
      {"staging-ready", {"developer", "product"}},
      {"deploy-meeting", {"developer", "tech-lead", "tester", "ops", "dba"}},
      {"handoff-to-ops", {"ops", "dba"}},
      {"db-done", {"ops", "tester"}},
      {"deploy-started", {"ops"}},
      {"deploy-succeeded", {"developer", "tester", "business"}},
      {"deploy-failed", {"developer", "tech-lead", "ops"}},
      {"rolled-back", {"developer", "tech-lead", "tester", "ops"}},
      {"rollback-failed", {"developer", "tech-lead", "tester", "business", "product", "ops", "dba"}},
      {"smoke-passed", {"tester", "business"}},
      {"smoke-failed", {"developer", "tester", "ops"}},
      {"released", {"developer", "tech-lead", "tester", "business", "product", "ops", "dba"}},
  };
  static const std::vector<std::string> k_none;
  const auto found = k_chain.find(event);
  return found == k_chain.end() ? k_none : found->second;
}

Route route(const deploy::NotifySpec& notify, const std::string& event, const std::string& urgency) {
  Route out;
  out.everyone = urgency == "P0" || event == "rollback-failed";
  if (out.everyone) {
    out.roles = deploy::known_roles();
  } else {
    const auto chain = notify.chain.find(event);
    out.roles = chain != notify.chain.end() ? chain->second : default_roles(event);
  }
  for (const auto& role : out.roles) {
    const auto recipients = notify.roles.find(role);
    if (recipients == notify.roles.end()) continue;
    for (const auto& recipient : recipients->second)
      add_once(recipient.find('@') != std::string::npos ? out.mail_to : out.channels, recipient);
  }
  // At P0 every chat and webhook channel hears it, named by a role or not.
  if (out.everyone)
    for (const auto& channel : notify.channels)
      if (channel.type != "smtp") add_once(out.channels, channel.name);
  return out;
}

} // namespace notify
