// The result of one decision (DOMAIN.md §6, SPEC.md §2): the outcome, the activities the
// access amounts to, the findings of each rule source with what authorized them, and the
// facts whose absence or doubt drove the answer.
//
// A Decision refers into the PolicySnapshot it was made under (rule indices) and into the
// Request (screening hits); keep both alive while reading or writing it. Texts and citations
// are produced when the decision is written (wire/decision_json.h), not on the hot path.
#pragma once

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "eargate/core/country.h"
#include "eargate/core/time.h"
#include "eargate/core/types.h"

namespace eargate::decide {

// One export, reexport, in-country transfer, deemed export or deemed reexport.
struct ActivityEntry {
  core::Activity type;
  core::Country destination;
};

// Facts the engine needed and did not have, or had in doubt.
enum class Fact : uint8_t {
  kItem,         // the request names no item of the policy
  kUsPerson,     // US-person status unknown
  kNationality,  // a foreign person without a known citizenship / permanent residency
  kLocation,     // location unknown or doubtful
  kServedFrom,   // hosting country unknown
  kScreening,    // a potential restricted-party match awaits review
  kDestination,  // a location with no EAR destination mapping (data/ear/territories.csv)
};
inline constexpr int kFactCount = 7;
std::string_view Name(Fact f);

// Why a fact is in doubt.
enum class Doubt : uint8_t {
  kUnknown,         // the fact is absent
  kAnonymizer,      // the address is a VPN / Tor / hosting range
  kMismatch,        // declared country and IP country disagree
  kPotentialMatch,  // screening found a potential match
  kUnmapped,        // no EAR destination mapping
};
std::string_view Name(Doubt d);

struct Uncertainty {
  Fact fact;
  Doubt doubt;
  core::Outcome yields;  // what the policy's `uncertain:` setting made of it
};

struct Finding {
  core::Source source;
  core::Effect effect;
  int8_t activity = -1;         // index into Decision::activities; -1 binds on the person
  core::Country destination;    // invalid for person-bound findings without a country
  uint16_t rule = 0;            // index into the snapshot's table for `source`; for
                                // restricted_party: index of the hit in Person::screening
  uint32_t detail = 0;          // country_chart: the chart columns that bound (bitmask)
  int16_t license = -1;         // authorizing license index, or -1
  int16_t program = -1;         // authorizing program index, or -1
  bool unverified = false;      // rests on reference data marked unverified
  bool authorized() const { return license >= 0 || program >= 0; }
};

struct Decision {
  core::Outcome outcome = core::Outcome::kDeny;
  int item = -1;                  // snapshot item index; -1 when unknown
  core::Timestamp at = 0;
  core::Country served_from;
  bool is_export_reading = false;  // the access counted as transmitting the item
  absl::InlinedVector<ActivityEntry, 3> activities;
  absl::InlinedVector<Finding, 6> findings;
  absl::InlinedVector<Uncertainty, 2> uncertain;
  uint32_t missing_facts = 0;  // bitmask over Fact

  bool missing(Fact f) const { return (missing_facts >> static_cast<int>(f)) & 1; }
  void clear();
};

// The citation for an activity type (15 CFR 734.13(a)(1) for an export, ...).
std::string_view ActivityCite(core::Activity a);

}  // namespace eargate::decide
