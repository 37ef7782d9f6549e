// Advance notice (issue 6 item 4): when a notice, license, program or operator rule of the
// loaded policy (or an OFAC program's end date in the data) changes this caller's outcome at a
// future time, say when, to what and why - so clients can warn their users instead of meeting
// an outage. Pure function of (policy, request); a handful of decisions per call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eargate/core/request.h"
#include "eargate/rules/policy.h"

namespace eargate::impact {

struct UpcomingChange {
  core::Timestamp at = 0;
  core::Outcome from = core::Outcome::kAllow;
  core::Outcome to = core::Outcome::kAllow;
  std::string because;  // "notice bis-2026-07-01", "license D1234567 expires", ...
  // The header value: "deny at 2026-07-01T00:00:00Z; notice bis-2026-07-01".
  std::string HeaderValue() const;
};

// Every instant at which something in the policy (or an OFAC program date) starts or stops,
// sorted and unique. A caller can skip NextChange when none lies ahead.
std::vector<core::Timestamp> PolicyBoundaries(const rules::PolicySnapshot& policy);

// The first change of outcome after request.at (and before request.at + horizon_seconds).
std::optional<UpcomingChange> NextChange(const rules::PolicySnapshot& policy, const core::Request& request,
                                         int64_t horizon_seconds = 366LL * 86400);

}  // namespace eargate::impact
