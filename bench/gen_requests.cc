// Writes N mixed request lines (bench/requests.h) to stdout, for `eargate decide --batch`.
//   gen_requests 1000000 [seed] > requests.jsonl
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/requests.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gen_requests COUNT [SEED] > requests.jsonl\n");
    return 2;
  }
  uint64_t n = std::strtoull(argv[1], nullptr, 10);
  std::mt19937_64 rng(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 42);
  std::string buf;
  for (uint64_t i = 0; i < n; ++i) {
    buf += eargate::bench::MixedRequest(rng, i);
    buf += '\n';
    if (buf.size() > (1 << 20)) {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), stdout);
  return 0;
}
