// A synthetic customer population for impact analysis, scenarios, tests, demos and benchmarks
// (`eargate people synth`). The distribution is documented in doc/synthetic_population.md. It
// is a made-up population shaped like a global API customer base, not a legal fact and not
// anyone's real data. Deterministic for (count, seed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eargate/rules/ear_data.h"
#include "eargate/wire/people_file.h"

namespace eargate::impact {

class Synthesizer {
 public:
  Synthesizer(const rules::EarData& data, uint64_t seed);
  // Person number i (ids "syn-<i>"); the same (seed, i) always gives the same person.
  void Make(uint64_t i, wire::PersonRecord* out) const;

 private:
  std::vector<core::Country> nationality_table_;  // weighted: repeated entries
  std::vector<core::Country> travel_table_;
  uint64_t seed_;
};

// Appends one people-file line (SPEC §3 form, no newline).
void AppendPersonJson(const wire::PersonRecord& r, std::string* out);

}  // namespace eargate::impact
