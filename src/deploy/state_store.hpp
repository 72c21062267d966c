#pragma once
// Where a target keeps its records: the ledger, the journal and the lease
// (docs/deploy.md "On the target"). Local targets and plugins keep them in
// a folder on this machine (<root>/.shipgate, or the plugin's state_dir);
// ssh targets keep them in <root>/.shipgate on each remote host, reached
// through ssh (deploy/ssh_driver.cpp). Ledger, Journal and Lease are
// written once against this interface, so every kind of target gets the
// same crash safety.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace deploy {

class StateStore {
public:
  virtual ~StateStore() = default;

  // The folder, for messages: "/srv/shop/api/.shipgate" or
  // "deploy@web01:/srv/shop/api/.shipgate".
  virtual std::string describe() const = 0;
  // A file of the folder, for messages.
  std::string where(const std::string& name) const { return describe() + "/" + name; }

  // Creates the folder (0700) when missing.
  virtual core::Status ensure() = 0;
  // Whether the folder exists (false: nothing was ever recorded here).
  virtual core::Result<bool> exists() = 0;

  // Appends `line` (which ends in '\n') durably: one write with O_APPEND,
  // then fsync (and the folder's fsync when the file is new). A torn last
  // line left by a crash is terminated first, so it never swallows `line`.
  virtual core::Status append(const std::string& name, const std::string& line) = 0;
  // The whole file; nullopt when it does not exist.
  virtual core::Result<std::optional<std::string>> read(const std::string& name) = 0;
  // Removes the file (absent is fine) and fsyncs the folder.
  virtual core::Status remove(const std::string& name) = 0;

  // A file as it is now, with its age: the time since it was last
  // replaced, by the clock of the machine that holds the folder (its
  // modification time against that machine's "now"). Both readings come
  // from one clock, so the age means the same whatever the clock of this
  // machine says (the lease judges expiry by it). A negative difference (the
  // clock went back) is an age of 0; nullopt when there is no file, or the
  // holding machine cannot tell.
  struct Current {
    std::optional<std::string> content; // nullopt: no such file
    std::optional<std::chrono::milliseconds> age;
  };
  // The whole file and its age. Files that update() changes are replaced
  // by rename(2), so this is a whole one, old or new.
  virtual core::Result<Current> read_current(const std::string& name) = 0;

  // Read-modify-write of a small file under an exclusive lock that the
  // operating system drops when its holder dies (flock on "<name>.guard").
  // `decide` sees the current content and its age and answers what to do;
  // the answer is applied atomically (temporary file, fsync, rename, folder
  // fsync), so a written file's age starts again from 0. A
  // store that cannot hold the lock across calls (ssh) applies the answer
  // only if the file is still what `decide` saw, and otherwise calls
  // `decide` again: it must depend on its argument only. An error from
  // `decide` is returned as is. Returns the content `decide` last saw.
  struct Change {
    enum class Kind { keep, write, remove };
    Kind kind = Kind::keep;
    std::string text; // for write
  };
  using Decide = std::function<core::Result<Change>(const Current& current)>;
  virtual core::Result<std::optional<std::string>> update(const std::string& name, const Decide& decide) = 0;
};

// The folder `dir` on this machine.
std::shared_ptr<StateStore> make_local_state_store(std::filesystem::path dir);

} // namespace deploy
