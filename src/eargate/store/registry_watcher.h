// Tells a gateway node that the person registry changed (a person imported or deleted, a key
// added or revoked, an admin token revoked, a screening disposition recorded) by any node of the fleet, so that it
// reloads its in-memory snapshot. PostgreSQL: LISTEN on channel `eargate_registry` (Store
// sends NOTIFY after each committed change); SQLite: polls `PRAGMA data_version`, which
// moves when another connection commits, and then reports a change only when the registry
// version (table eargate_registry_version, bumped by Store with each registry change) moved,
// so writes that are no registry change (a token's last use) cause no reload.
// What changed is not in the notification: the node reads the change journal
// (Store::RegistryChangesSince) from the position its registry reflects.
//
// Latency: a notification arrives within poll_interval (default 200 ms) of the commit.
// Thread-safety: on_change runs on the watcher's own thread; it must be thread-safe with
// respect to the rest of the program. Lifetime: the destructor stops and joins the thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace eargate::store {

class RegistryWatcher {
 public:
  // `what` is the kind of change ("people", "api_keys", "admin_tokens"); SQLite, which
  // cannot tell, says "registry".
  using OnChange = std::function<void(std::string_view what)>;
  static absl::StatusOr<std::unique_ptr<RegistryWatcher>> Start(
      std::string_view url, OnChange on_change,
      std::chrono::milliseconds poll_interval = std::chrono::milliseconds(200));
  ~RegistryWatcher();
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

 private:
  struct Impl;
  explicit RegistryWatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eargate::store
