// The readings x population segments matrix (issue 6 item 2): for each policy (a reading of a
// rule) and each segment of the population, the share of people and of traffic allowed.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "eargate/impact/impact.h"

namespace eargate::impact {

enum class Segment : uint8_t {
  kUsPersonInUs,
  kUsPersonAbroad,
  kForeignPersonInUs,
  kForeignPersonAbroad,
  kDualNational,   // a foreign person with two or more citizenships
  kUnknownFacts,   // US-person status or location unknown
  kAnonymized,
};
inline constexpr int kSegmentCount = 7;
std::string_view SegmentName(Segment s);
Segment SegmentOf(const wire::PersonRecord& r);

struct ScenarioCell {
  uint64_t pairs = 0, allowed = 0, review = 0;
  double traffic = 0, traffic_allowed = 0;
};

struct ScenarioMatrix {
  std::vector<std::string> policy_paths;
  std::vector<std::string> policy_versions;
  std::vector<std::array<ScenarioCell, kSegmentCount + 1>> cells;  // [policy][segment]; last = all
  uint64_t people = 0;
  std::array<uint64_t, kSegmentCount + 1> segment_people{};
  core::Timestamp at = 0;
};

// Decides every person for `item` (an id every policy has) under each policy.
absl::StatusOr<ScenarioMatrix> ComputeScenarios(const std::vector<rules::PolicyPtr>& policies,
                                                const std::vector<std::string>& paths,
                                                const std::string& item, uint64_t count,
                                                const PersonSource& people, core::Timestamp at,
                                                size_t threads = 0);

}  // namespace eargate::impact
