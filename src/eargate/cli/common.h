// Helpers shared by the CLI commands: loading reference data and policies with errors
// printed the way users read them.
#pragma once

#include <memory>
#include <string>

#include "eargate/rules/ear_data.h"
#include "eargate/rules/policy.h"

namespace eargate::cli {

// The store a command opens when --store is not given: $EARGATE_STORE, else kDefaultStoreUrl.
inline constexpr const char* kDefaultStoreUrl = "sqlite:///var/lib/eargate/eargate.db";
std::string DefaultStore();

// Loads the reference data from DataDir(); prints errors to stderr; nullptr on failure.
std::shared_ptr<const rules::EarData> LoadDataOrReport();
// Loads a policy; prints every error to stderr; nullptr on failure.
rules::PolicyPtr LoadPolicyOrReport(const std::string& path);

}  // namespace eargate::cli
