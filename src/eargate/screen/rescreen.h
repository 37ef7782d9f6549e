// Screening a registry of parties (people and organizations) against an index, and the
// difference between two such screenings: what newly loaded lists (or a changed registry) add,
// keep, change and remove. The gateway re-screens its whole registry with this whenever the
// lists or the people reload; `eargate lists rescreen` does the same offline.
//
// A hit is identified by (party id, list code, the list's entry id): a hit on the same entry
// with a different score is the same hit; one that crosses the confirmed band is kBandChanged.
//
// Thread-safety: plain functions over immutable inputs; ScreenParties may use worker threads
// (each Index::Screen call is const and thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eargate/core/country.h"
#include "eargate/core/request.h"
#include "eargate/screen/index.h"

namespace eargate::screen {

// One registered party to screen.
struct Party {
  std::string id;
  std::string name;
  EntityType type = EntityType::kUnknown;
  std::optional<core::Country> country;  // citizenship / incorporation (tie-breaker)
};

// A hit of one party on one list entry.
struct PartyHit {
  std::string party_id;
  std::string list;  // list code: us_ofac_sdn, us_bis_el, ...
  core::RestrictedList restricted_list = core::RestrictedList::kOther;
  std::string entry_id;     // the list's own identifier
  std::string listed_name;  // the listed name (primary or alias) that matched
  double score = 0;
  bool confirmed = false;  // score >= bands.confirmed; else a potential match for review
};

// "confirmed" or "potential".
std::string_view BandName(bool confirmed);

// Screens every party with a name. Hits at or above bands.potential, grouped by party in input
// order, best first within a party. `threads` > 1 splits the parties over that many threads.
std::vector<PartyHit> ScreenParties(const Index& index, const std::vector<Party>& parties,
                                    const HitBands& bands, int threads = 1);

// The form the decision engine reads.
core::ScreeningHit ToScreeningHit(const PartyHit& hit);

enum class HitChange : uint8_t { kNew, kUnchanged, kBandChanged, kRemoved };
// "new", "unchanged", "band_changed", "removed".
std::string_view Name(HitChange c);

struct HitDiff {
  HitChange change = HitChange::kNew;
  PartyHit hit;  // the current hit; for kRemoved the previous one
  std::optional<double> previous_score;  // kUnchanged / kBandChanged
  bool previous_confirmed = false;
};

// Every hit of `before` and `after`, matched by (party id, list, entry id): in the order of
// `after`, then the removed ones in the order of `before`.
std::vector<HitDiff> DiffHits(const std::vector<PartyHit>& before, const std::vector<PartyHit>& after);

// {"change": "new", "party": ..., "list": ..., "entry_id": ..., "listed_name": ..., "score": ...,
//  "band": ..., ["previous_score": ..., "previous_band": ...]}
std::string HitDiffJson(const HitDiff& d);

}  // namespace eargate::screen
