// Geo-IP lookup cost on the bundled database (the gateway does one per request).
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "eargate/geoip/geoip.h"

namespace {

void BM_LookupV4(benchmark::State& state) {
  auto db = eargate::geoip::GeoIpDb::Open(
      {.db_path = std::string(EARGATE_SOURCE_DIR) + "/third_party/geoip/geo-whois-asn-country.mmdb", .anonymizer_ranges = ""});
  if (!db.ok()) {
    state.SkipWithError("no database");
    return;
  }
  std::vector<std::string> ips;
  for (int i = 0; i < 256; ++i) ips.push_back(std::to_string(i * 7 % 223 + 1) + ".10." + std::to_string(i) + ".1");
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*db)->Lookup(ips[i++ & 255]));
  }
}
BENCHMARK(BM_LookupV4);

}  // namespace

BENCHMARK_MAIN();
