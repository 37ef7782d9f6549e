// Impact analysis (issue 6): every (person, item) pair decided under a "before" and an "after"
// policy, aggregated by transition (allow->deny, ...), by item, location, nationality, activity
// and the finding or missing fact that drives each change, weighted by people and by traffic.
//
// Pure computation over a person source; multi-threaded, constant memory apart from the list
// of changed pairs (capped by ImpactOptions::max_changed). Thread-safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eargate/rules/policy.h"
#include "eargate/wire/people_file.h"

namespace eargate::impact {

// Counts of pairs (and their traffic) by outcome before x outcome after.
struct Transitions {
  uint64_t count[3][3] = {};
  double traffic[3][3] = {};
  void Add(core::Outcome b, core::Outcome a, double t) {
    count[static_cast<int>(b)][static_cast<int>(a)] += 1;
    traffic[static_cast<int>(b)][static_cast<int>(a)] += t;
  }
  void Merge(const Transitions& o);
  uint64_t Total() const;
  uint64_t Changed() const;
};

struct ChangedPair {
  std::string person;
  std::string item;
  core::Layer layer = core::Layer::kApplication;
  core::Channel channel = core::Channel::kApi;
  core::Outcome before, after;
  std::string reason;         // why the answer is what it is now
  std::string findings_json;  // the after decision's findings (SPEC §2 form)
  std::string missing_json;   // the after decision's missing facts
  std::string restore;        // the fact or authorization that would restore access
};

struct ImpactReport {
  std::string before_version, after_version;
  core::Timestamp at = 0;
  uint64_t people = 0;
  uint64_t pairs = 0;
  Transitions total;
  // Keyed by label: item id, country code (or "unknown"), activity, driver text, channel
  // ("api", "chat", ...).
  std::map<std::string, Transitions> by_item, by_location, by_nationality, by_activity, by_driver,
      by_channel;
  // People decided on their own uses (items and channels) rather than on every item, and the
  // uses left out because they name an item the after policy does not have (or --items omits).
  uint64_t people_with_uses = 0;
  uint64_t uses_outside = 0;
  std::vector<ChangedPair> changed;  // in person order, at most max_changed
  uint64_t changed_total = 0;
};

struct ImpactOptions {
  std::vector<std::string> items;  // item ids of the after policy; empty = all of them
  // A person with `uses` is decided on those (item, channel, layer) only, weighted by each
  // use's traffic; without uses, on every item (the api channel, application layer), weighted
  // by the person's traffic. all_items: every person on every item, uses ignored.
  bool all_items = false;
  core::Timestamp at = 0;
  size_t threads = 0;              // 0 = hardware concurrency
  size_t max_changed = SIZE_MAX;   // cap on the listed changed pairs (counts are always whole)
};

// Fills *out with person i of [0, count). Called from several threads at once.
using PersonSource = std::function<void(uint64_t i, wire::PersonRecord* out)>;

// REQUIRES: both policies share the reference data. Errors: an unknown item in options.items.
absl::StatusOr<ImpactReport> ComputeImpact(const rules::PolicySnapshot& before,
                                           const rules::PolicySnapshot& after, uint64_t count,
                                           const PersonSource& people, const ImpactOptions& options);

std::string TransitionName(int before, int after);  // "allow->deny"

}  // namespace eargate::impact
