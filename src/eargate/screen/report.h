// The JSON form of screening results (SPEC §3 `eargate screen` lines; also POST /v1/screen),
// and the validation of one query, shared by the CLI and the gateway.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eargate/screen/index.h"

namespace eargate::screen {

// Validates the country/type of one query; `where` prefixes messages ("line 3: ").
absl::StatusOr<ScreenQuery> MakeQuery(std::string name, std::string_view country, std::string_view type,
                                      const std::string& where);

// {"query": {...}, "matches": [...]} for one query, best match first.
std::string ResultLine(const ScreenQuery& q, const std::vector<Match>& matches);

// A score as the result lines print it: at most three decimals, no trailing zeros ("0.97").
std::string FormatScore(double score);

}  // namespace eargate::screen
