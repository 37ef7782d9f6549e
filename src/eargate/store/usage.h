// What each person actually uses, read from the decision log: every decision record's person,
// item, layer and channel, counted. Impact analysis (`eargate impact --usage DIR`) decides each
// person on the items and channels they use, weighted by how often they used them.
//
// Only decision records count (admin changes do not); records without a person are skipped.
// Thread-safety: a free function without shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eargate/core/time.h"
#include "eargate/core/types.h"

namespace eargate::store {

struct UsageEntry {
  std::string item;
  core::Layer layer = core::Layer::kApplication;
  core::Channel channel = core::Channel::kApi;
  uint64_t decisions = 0;
};

struct Usage {
  std::map<std::string, std::vector<UsageEntry>> by_person;  // entries sorted by item, channel, layer
  uint64_t records = 0;                                      // decision records read
};

// Reads the log in `dir` (records with from <= time <= to when given). Errors: the log cannot
// be read (NotFound, InvalidArgument as ScanLog).
absl::StatusOr<Usage> ReadUsage(const std::string& dir, std::optional<core::Timestamp> from = std::nullopt,
                                std::optional<core::Timestamp> to = std::nullopt);

}  // namespace eargate::store
