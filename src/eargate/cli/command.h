// Subcommand registration for the `eargate` binary. Each command lives in its own
// *_command.cc in this folder and registers itself:
//
//   EG_REGISTER_COMMAND(screen, [](CLI::App& app) { ... app.add_subcommand(...) ... });
//
// apps/eargate/main.cc builds the CLI11 app, calls every registered function (in name order),
// parses, and runs the chosen subcommand's callback. Callbacks return their exit code by
// throwing eargate::cli::Exit{code} or via the int returned from the action lambda that
// SetAction installs.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace eargate::cli {

// Exit codes (SPEC.md §3).
inline constexpr int kExitOk = 0;
inline constexpr int kExitTampered = 1;  // audit verify found tampering; generic failure
inline constexpr int kExitBadInput = 2;

using Registrar = std::function<void(CLI::App&)>;
bool RegisterCommand(const std::string& name, Registrar fn);
void AddAllCommands(CLI::App& app);

// Installs `action` as sub's callback; its return value becomes the process exit code.
void SetAction(CLI::App* sub, std::function<int()> action);
// The exit code chosen by the callback that ran (kExitOk when none did).
int ActionResult();

// Where bundled data lives: --data-dir, else $EARGATE_DATA_DIR, else the compiled-in default.
std::string DataDir();
void SetDataDirOverride(std::string dir);

}  // namespace eargate::cli

#define EG_REGISTER_COMMAND(name, fn) \
  static const bool eg_registered_##name = ::eargate::cli::RegisterCommand(#name, fn)
