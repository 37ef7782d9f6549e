// The decision engine: a pure function of (policy snapshot, request facts).
//
// No clock reads, no I/O, no locks, no allocation beyond the Decision's inline capacity in the
// common case. Thread-safe: any number of threads may call Decide() on one snapshot.
// DOMAIN.md §3-§6 and doc/decision_model.md describe what it computes.
#pragma once

#include "eargate/core/request.h"
#include "eargate/decide/decision.h"
#include "eargate/rules/policy.h"

namespace eargate::decide {

// Decides `request` under `policy` into `*out` (cleared first). REQUIRES: request.at set.
void Decide(const rules::PolicySnapshot& policy, const core::Request& request, Decision* out);

inline Decision Decide(const rules::PolicySnapshot& policy, const core::Request& request) {
  Decision d;
  Decide(policy, request, &d);
  return d;
}

}  // namespace eargate::decide
