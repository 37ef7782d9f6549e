#include "eargate/impact/synth.h"

#include <algorithm>
#include <cmath>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"

namespace eargate::impact {

using core::Country;

namespace {

// Nationality weights (per mille), doc/synthetic_population.md. The remainder is spread over
// every destination with a Country Chart row.
struct Weight {
  const char* code;
  int per_mille;
};
constexpr Weight kNationalities[] = {
    {"US", 300}, {"IN", 90}, {"CN", 50}, {"GB", 50}, {"DE", 40}, {"BR", 40}, {"FR", 30},
    {"CA", 30},  {"JP", 30}, {"KR", 20}, {"RU", 15}, {"NG", 15}, {"ID", 15}, {"MX", 15},
    {"ES", 15},  {"IT", 15}, {"TW", 10}, {"PL", 10}, {"NL", 10}, {"AU", 10}, {"TR", 10},
    {"VN", 10},  {"PK", 10}, {"UA", 10}, {"AR", 10}, {"EG", 8},  {"ZA", 8},  {"IL", 6},
    {"AE", 5},   {"SG", 5},  {"SE", 5},  {"HK", 5},  {"IR", 4},  {"BY", 3},  {"VE", 3},
    {"CU", 1},   {"KP", 1},  {"SY", 2},  {"MO", 1},
};
constexpr const char* kTravel[] = {"US", "GB", "DE", "FR", "JP", "SG", "AE", "CA", "MX", "ES",
                                   "IT", "NL", "CN", "IN", "TH", "TR", "BR", "AU", "KR", "CH"};

// SplitMix64: a good 64-bit mix for per-person streams.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Stream {
 public:
  explicit Stream(uint64_t seed) : s_(seed) {}
  uint64_t Next() { return s_ = Mix(s_); }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return Next() % n; }
  // True with probability per_mille / 1000.
  bool Chance(int per_mille) { return static_cast<int>(Below(1000)) < per_mille; }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_;
};

core::Timestamp Date(int year, int month, int day) {
  return core::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400;
}

}  // namespace

Synthesizer::Synthesizer(const rules::EarData& data, uint64_t seed) : seed_(seed) {
  int listed = 0;
  for (const auto& w : kNationalities) {
    for (int k = 0; k < w.per_mille; ++k) nationality_table_.push_back(*Country::Parse(w.code));
    listed += w.per_mille;
  }
  // The rest: every chart destination (embargoed rows included) once per remaining share.
  std::vector<Country> rest;
  for (const auto& row : data.chart()) rest.push_back(row.country);
  for (int k = 0; k < 1000 - listed; ++k) nationality_table_.push_back(rest[k % rest.size()]);
  for (const char* c : kTravel) travel_table_.push_back(*Country::Parse(c));
}

void Synthesizer::Make(uint64_t i, wire::PersonRecord* out) const {
  Stream rng(Mix(seed_ ^ Mix(i + 1)));
  core::Person& p = out->person;
  p.clear();
  out->api_keys_sha256.clear();
  out->location.clear();
  p.id = core::StrCat("syn-", i);
  Country nat = nationality_table_[rng.Below(nationality_table_.size())];
  const bool org = rng.Chance(100);
  p.kind = org ? core::PersonKind::kOrganization : core::PersonKind::kNatural;
  const bool unknown_facts = rng.Chance(50);
  if (!unknown_facts) {
    core::Nationality n;
    n.country = nat;
    n.since = Date(1950 + static_cast<int>(rng.Below(55)), 1 + static_cast<int>(rng.Below(12)), 1 + static_cast<int>(rng.Below(28)));
    n.since_known = true;
    p.citizenships.push_back(n);
    if (!org && rng.Chance(60)) {  // a dual national: the second citizenship came later
      core::Nationality second;
      second.country = nationality_table_[rng.Below(nationality_table_.size())];
      if (second.country != nat) {
        second.since = n.since + static_cast<core::Timestamp>(1 + rng.Below(30)) * 365 * 86400;
        second.since_known = true;
        p.citizenships.push_back(second);
      }
    }
  }
  // Where they usually are.
  Country loc;
  const uint64_t where = rng.Below(1000);
  const bool us_national = nat == core::kUnitedStates;
  if (us_national) {
    loc = where < 900 ? core::kUnitedStates : where < 980 ? travel_table_[rng.Below(travel_table_.size())] : Country();
  } else if (where < 800) {
    loc = nat;
  } else if (where < 920) {
    loc = core::kUnitedStates;
    if (!org && !unknown_facts && rng.Chance(350)) {  // a green-card holder
      core::Nationality pr;
      pr.country = core::kUnitedStates;
      pr.since = Date(2000 + static_cast<int>(rng.Below(25)), 1 + static_cast<int>(rng.Below(12)), 1);
      pr.since_known = true;
      p.permanent_residencies.push_back(pr);
    }
  } else if (where < 980) {
    loc = travel_table_[rng.Below(travel_table_.size())];
  }
  if (loc.valid()) {
    out->location.country = loc;
    out->location.source = core::LocationSource::kIp;
    out->location.anonymizer = rng.Chance(30);
  }
  if (unknown_facts) p.us_person = core::Tristate::kUnknown;
  // Traffic: heavy-tailed (a few customers send most requests).
  out->traffic = std::min(10000.0, std::floor(1.0 / std::pow(std::max(rng.Unit(), 1e-9), 0.7)));
}

void AppendPersonJson(const wire::PersonRecord& r, std::string* o) {
  const core::Person& p = r.person;
  o->append("{\"id\":");
  core::AppendJsonString(p.id, o);
  core::StrAppend(o, ",\"kind\":\"", core::Name(p.kind), "\"");
  auto nats = [&](std::string_view key, const auto& list) {
    core::StrAppend(o, ",\"", key, "\":[");
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) o->push_back(',');
      core::StrAppend(o, "{\"country\":\"", list[i].country.code(), "\"");
      if (list[i].since_known) {
        char buf[32];
        core::WriteTime(list[i].since, buf);
        core::StrAppend(o, ",\"since\":\"", std::string_view(buf, 10), "\"");
      }
      o->push_back('}');
    }
    o->push_back(']');
  };
  nats("citizenships", p.citizenships);
  nats("permanent_residencies", p.permanent_residencies);
  o->append(",\"us_person\":");
  o->append(p.us_person == core::Tristate::kYes ? "true" : p.us_person == core::Tristate::kNo ? "false" : "null");
  if (r.location.known()) {
    core::StrAppend(o, ",\"location\":{\"country\":\"", r.location.country.code(), "\",\"source\":\"ip\",\"anonymizer\":",
                    r.location.anonymizer ? "true" : "false", "}");
  }
  core::StrAppend(o, ",\"traffic\":", static_cast<int64_t>(r.traffic), "}");
}

}  // namespace eargate::impact
