#pragma once
// Who hears of an event (docs/notify.md): the plan's chain maps events to
// roles, roles to mail addresses and channels. Urgency comes from the
// event and the fault level the user gives; P0 and rollback-failed reach
// every role on every channel at once.
#include <string>
#include <vector>

#include "deploy/plan.hpp"

namespace notify {

// The urgency an event has by itself: rollback-failed P0; deploy-failed,
// smoke-failed and rolled-back P1; a failing test-report and db-done P2;
// the rest P3.
std::string default_urgency(const std::string& event, const std::string& verdict = {});
// The more urgent of two levels ("P0" is the most urgent); an empty one loses.
std::string more_urgent(const std::string& a, const std::string& b);
bool valid_level(const std::string& level); // P0..P3

// The roles an event goes to when the plan's chain does not name it: the
// release process's own chain (../shared REQUIREMENTS §3).
const std::vector<std::string>& default_roles(const std::string& event);

struct Route {
  std::vector<std::string> roles;    // who, for the log
  std::vector<std::string> mail_to;  // addresses, in order, once each
  std::vector<std::string> channels; // chat and webhook channel names, once each
  bool everyone = false;             // P0: every role and every channel
};
Route route(const deploy::NotifySpec& notify, const std::string& event, const std::string& urgency);

} // namespace notify
