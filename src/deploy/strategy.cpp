// Strategies and hosts (docs/deploy.md#strategies): how many targets of a
// service switch together, and the hosts of an ssh target.
#include <algorithm>
#include <cctype>

#include "deploy/plan.hpp"

namespace deploy {

int HostCount::of(int total) const {
  if (total <= 0) return 0;
  const int count = percent ? (total * value + 99) / 100 : value;
  return std::clamp(count, 1, total);
}

std::string HostCount::display() const { return std::to_string(value) + (percent ? "%" : ""); }

std::string_view to_string(StrategySpec::Kind kind) {
  switch (kind) {
  case StrategySpec::Kind::all_at_once: return "all-at-once";
  case StrategySpec::Kind::rolling: return "rolling";
  case StrategySpec::Kind::canary: return "canary";
  case StrategySpec::Kind::blue_green: return "blue-green";
  }
  return "?";
}

std::string StrategySpec::display() const {
  std::string text(to_string(kind));
  switch (kind) {
  case Kind::rolling: text += ", batches of " + batch.display(); break;
  case Kind::canary:
    text += " " + canary.display() + ", then batches of " + batch.display();
    if (pause_until_resume) text += ", pause until `deploy-stage --resume`";
    else if (pause) text += ", pause " + std::to_string(pause->count() / 1000.0).substr(0, 5) + " s";
    break;
  case Kind::blue_green:
    if (blue_green.colours.size() == 2)
      text += " (" + blue_green.colours[0].name + "/" + blue_green.colours[1].name + ", " +
              (blue_green.upstream_file.empty() ? "switch command" : "nginx upstream " + blue_green.upstream) + ")";
    break;
  case Kind::all_at_once: break;
  }
  if (max_failures > 0) text += ", up to " + std::to_string(max_failures) + " failed host(s) per batch";
  return text;
}

std::vector<std::vector<int>> make_batches(const StrategySpec& strategy, int unit_count) {
  std::vector<std::vector<int>> out;
  int next = 0;
  auto take = [&](int count) {
    std::vector<int> batch;
    for (int i = 0; i < count && next < unit_count; ++i) batch.push_back(next++);
    if (!batch.empty()) out.push_back(std::move(batch));
  };
  switch (strategy.kind) {
  case StrategySpec::Kind::all_at_once:
  case StrategySpec::Kind::blue_green: take(unit_count); break;
  case StrategySpec::Kind::rolling:
    while (next < unit_count) take(strategy.batch.of(unit_count));
    break;
  case StrategySpec::Kind::canary:
    take(std::min(strategy.canary.of(unit_count), unit_count));
    while (next < unit_count) take(strategy.batch.of(unit_count));
    break;
  }
  return out;
}

const std::vector<std::string>& target_variable_names() {
  static const std::vector<std::string> k_names = {"TARGET_ROOT", "HOST", "HOST_ADDRESS", "COLOUR"};
  return k_names;
}

std::string parse_host_text(const std::string& text, SshHost& host) {
  std::string rest = text;
  const auto at = rest.rfind('@');
  if (at != std::string::npos) {
    host.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (host.user.empty()) return "'" + text + "' has an empty user before '@'";
  }
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return "'" + text + "': '[' without ']' (write [2001:db8::1]:22)";
    host.address = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "'" + text + "': expected ':port' after ']'";
      port = rest.substr(close + 2);
    }
  } else {
    const auto colon = rest.find(':');
    if (colon != std::string::npos && rest.find(':', colon + 1) != std::string::npos) {
      host.address = rest; // a bare IPv6 address
    } else if (colon != std::string::npos) {
      host.address = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    } else {
      host.address = rest;
    }
  }
  if (host.address.empty()) return "'" + text + "' has no host name or address";
  if (host.address.front() == '-') return "'" + text + "': a host name cannot start with '-'";
  for (unsigned char c : host.address)
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '%'))
      return "'" + text + "' is not a host name or IP address";
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return "'" + text + "': the port must be a number from 1 to 65535";
    host.port = std::stoi(port);
    if (host.port < 1 || host.port > 65535) return "'" + text + "': the port must be a number from 1 to 65535";
  }
  for (unsigned char c : host.user)
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return "'" + text + "' has an invalid user name";
  if (!host.user.empty() && host.user.front() == '-') return "'" + text + "': a user name cannot start with '-'";
  return {};
}

std::vector<SshHost> effective_hosts(const SshTargetSpec& target) {
  std::vector<SshHost> out = target.hosts;
  for (auto& host : out) {
    if (host.port == 0) host.port = target.port;
    if (host.user.empty()) host.user = target.user;
    if (host.name.empty()) host.name = host.address;
  }
  return out;
}

} // namespace deploy
