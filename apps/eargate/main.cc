// eargate: export-control decisions in front of a model API. Thin main: every subcommand
// registers itself from src/eargate/cli/*_command.cc.
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "eargate/cli/command.h"

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's lock-order (deadlock)
  // detector on: it costs ~40 ns per lock on this project's VM, a measurable share of a
  // decision record in the gateway. The tests keep it on (they link no main of ours), so a
  // lock-order inversion still fails there.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "eargate: decides, per request, whether access to a controlled AI model is an export,\n"
      "reexport or deemed export under the EAR, whether a license is required and whether one\n"
      "authorizes it; enforces, explains and records the answer.",
      "eargate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "eargate 0.1.0");
  app.add_option_function<std::string>(
         "--data-dir", [](const std::string& dir) { eargate::cli::SetDataDirOverride(dir); },
         "reference data folder (default: $EARGATE_DATA_DIR or the bundled data/)")
      ->check(CLI::ExistingDirectory);
  eargate::cli::AddAllCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // CLI11 uses 0 for --help/--version and 106/109/... for usage errors; SPEC §3 says 2.
    return rc == 0 ? 0 : eargate::cli::kExitBadInput;
  }
  return eargate::cli::ActionResult();
}
