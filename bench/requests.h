// Deterministic request mixes for benchmarks: the three scenarios of the foundation issue and
// a mixed population (US persons at home and abroad, foreign persons in the US and abroad,
// dual nationals, unknown status, embargoed locations, anonymizers).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace eargate::bench {

inline const char* kUsAtHome =
    R"({"item":"mythos-5","layer":"application","channel":"api","at":"2026-06-13T12:00:00Z","person":{"id":"cust-1","kind":"natural","citizenships":[{"country":"US","since":"1985-04-02"}],"us_person":true},"location":{"country":"US","source":"ip","ip":"198.51.100.7","anonymizer":false}})";
inline const char* kForeignAbroad =
    R"({"item":"mythos-5","layer":"application","channel":"api","at":"2026-06-13T12:00:00Z","person":{"id":"cust-2","kind":"natural","citizenships":[{"country":"CN","since":"1990-01-01"}],"us_person":null},"location":{"country":"DE","source":"ip","ip":"203.0.113.9","anonymizer":false}})";

// One JSON request line of a mixed population; deterministic for (seed, i).
inline std::string MixedRequest(std::mt19937_64& rng, uint64_t i) {
  static const char* kCountries[] = {"US", "US", "US", "GB", "DE", "FR", "JP", "CN", "IN", "BR",
                                     "CA", "KR", "RU", "IR", "CU", "AE", "SG", "MX", "NG", "HK"};
  static const char* kItems[] = {"mythos-5", "fable-5", "claude-mythos-5", "haiku-open"};
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const char* nat = kCountries[pick(20)];
  const char* loc = pick(4) == 0 ? kCountries[pick(20)] : nat;
  std::string person = "{\"id\":\"p" + std::to_string(i) + "\",\"kind\":\"natural\"";
  int shape = pick(10);
  if (shape == 0) {
    person += ",\"us_person\":null";  // unknown status
  } else if (shape == 1) {
    person += std::string(",\"citizenships\":[{\"country\":\"") + nat +
              "\",\"since\":\"1980-01-01\"},{\"country\":\"" + kCountries[pick(20)] +
              "\",\"since\":\"2015-06-01\"}]";  // dual national
  } else if (shape == 2) {
    person += std::string(",\"citizenships\":[{\"country\":\"") + nat +
              "\",\"since\":\"1980-01-01\"}],\"permanent_residencies\":[{\"country\":\"US\",\"since\":\"2018-01-01\"}]";
  } else {
    person += std::string(",\"citizenships\":[{\"country\":\"") + nat + "\",\"since\":\"1980-01-01\"}]";
  }
  person += "}";
  std::string location = std::string("{\"country\":\"") + loc + "\",\"source\":\"ip\",\"anonymizer\":" +
                         (pick(50) == 0 ? "true" : "false") + "}";
  return std::string("{\"item\":\"") + kItems[pick(4)] + "\",\"layer\":\"" +
         (pick(20) == 0 ? "weights" : "application") +
         "\",\"channel\":\"api\",\"at\":\"2026-06-13T12:00:00Z\",\"person\":" + person +
         ",\"location\":" + location + "}";
}

}  // namespace eargate::bench
