#include "eargate/cli/command.h"

#include <cstdlib>
#include <map>

namespace eargate::cli {
namespace {

std::map<std::string, Registrar>& Registry() {
  static std::map<std::string, Registrar> registry;
  return registry;
}
int g_result = kExitOk;
std::string g_data_dir;

}  // namespace

bool RegisterCommand(const std::string& name, Registrar fn) {
  Registry()[name] = std::move(fn);
  return true;
}

void AddAllCommands(CLI::App& app) {
  for (auto& [name, fn] : Registry()) fn(app);
}

void SetAction(CLI::App* sub, std::function<int()> action) {
  sub->callback([action = std::move(action)]() { g_result = action(); });
}

int ActionResult() { return g_result; }

void SetDataDirOverride(std::string dir) { g_data_dir = std::move(dir); }

std::string DataDir() {
  if (!g_data_dir.empty()) return g_data_dir;
  if (const char* env = std::getenv("EARGATE_DATA_DIR"); env && *env) return env;
  return EARGATE_DEFAULT_DATA_DIR;
}

}  // namespace eargate::cli
