#pragma once
// Blue-green for one target (docs/deploy.md "Blue-green"): two colours,
// each a link <root>/<colour> -> releases/<id> with its own values (a
// port, a socket). A deploy starts the new release on the idle colour,
// verifies it there directly before any traffic reaches it, then sends
// traffic to it (an nginx upstream file switched by a validated reload, or
// the plan's own command) and points `current` at it; the old colour keeps
// running, so switching back is instant.
//
// BlueGreenDriver wraps the target's own driver (local or ssh), which
// keeps the release layout, the manifests and the records.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "deploy/driver.hpp"

namespace deploy {

// What the engine does for the blue-green driver: the service's commands
// and health checks resolved with one colour's values.
struct ColourHooks {
  // Runs the service's `what` command ("stop" or "start") for `colour`,
  // whose link points at `release`. A service without that command: ok.
  std::function<core::Status(const std::string& colour, const std::string& what, const std::string& release,
                             std::string& log)>
      command;
  // Runs the service's health checks against `colour` directly.
  std::function<core::Status(const std::string& colour, std::string& log)> verify;
};

class BlueGreenDriver : public Driver {
public:
  virtual void set_hooks(ColourHooks hooks) = 0;
  // The colour traffic goes to (nullopt before the first deploy).
  virtual core::Result<std::optional<std::string>> live_colour() = 0;
};

std::unique_ptr<Driver> make_blue_green_driver(std::unique_ptr<Driver> inner, const BlueGreenSpec& spec,
                                               const std::string& service);
// The blue-green driver `driver` is, or nullptr.
BlueGreenDriver* as_blue_green(Driver& driver);

} // namespace deploy
