#include "eargate/cli/common.h"

#include <cstdlib>
#include <iostream>

#include "eargate/cli/command.h"

namespace eargate::cli {

std::string DefaultStore() {
  if (const char* env = std::getenv("EARGATE_STORE"); env && *env) return env;
  return kDefaultStoreUrl;
}

std::shared_ptr<const rules::EarData> LoadDataOrReport() {
  auto data = rules::EarData::Load(DataDir());
  if (!data.ok()) {
    std::cerr << "eargate: reference data in " << DataDir() << " is invalid:\n"
              << data.status().message() << "\n";
    return nullptr;
  }
  return *data;
}

rules::PolicyPtr LoadPolicyOrReport(const std::string& path) {
  auto data = LoadDataOrReport();
  if (!data) return nullptr;
  auto policy = rules::LoadPolicy(path, data);
  if (!policy.ok()) {
    std::cerr << policy.status().message() << "\n";
    return nullptr;
  }
  return *policy;
}

}  // namespace eargate::cli
