// Google Benchmark of restricted-party screening on the largest list set available (SDN 2024-05
// + 2025-12 aliases/addresses + CSL 2023-11 + DPL 2023-11 from ../shared/data/screening, else
// the bundled data/screening). Query mix: listed names, typos, reordered names, unlisted names.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "eargate/screen/index.h"
#include "eargate/screen/lists.h"

namespace {

using eargate::screen::Index;

std::shared_ptr<const Index> LoadIndex() {
  const std::string shared = std::string(EARGATE_SOURCE_DIR) + "/../shared/data/screening";
  eargate::screen::ListSetBuilder b;
  if (std::filesystem::exists(shared + "/ofac_sdn_2024-05-03/sdn.csv")) {
    for (const char* f : {"ofac_sdn_2024-05-03/sdn.csv", "ofac_sdn_aux_2025-12/alt.csv",
                          "ofac_sdn_aux_2025-12/add.csv", "ofac_sdn_aux_2025-12/sdn_comments.csv",
                          "us_csl_2023-11/csl.csv", "bis_dpl_2023-11/dpl.txt"}) {
      (void)b.AddFile(shared + "/" + f);
    }
  } else {
    (void)b.AddDirectory(std::string(EARGATE_SOURCE_DIR) + "/data/screening");
  }
  return Index::Build(std::move(b).Finish());
}

const Index& TheIndex() {
  static const std::shared_ptr<const Index> index = LoadIndex();
  return *index;
}

const std::vector<std::string>& Queries() {
  static const std::vector<std::string> q = {
      "Vladimir Putin",          "Vladmir Puttin",        "BANCO NACIONAL DE CUBA",
      "Huawei Technologies",     "Jennifer L. McClellan", "Mohammed Ali Hassan",
      "Abdul Satar Ghoura",      "Ingeborg Abrahamsen",   "Rosneft Oil Company",
      "Владимир Путин",          "Kim Jong Un",           "Acme Widgets GmbH",
      "Mahan Air",               "Islamic Revolutionary Guard Corps", "Maria Alice Nathan Leao",
      "Kathryn Barr"};
  return q;
}

void BM_Screen(benchmark::State& state) {
  const Index& index = TheIndex();
  const auto& queries = Queries();
  size_t i = 0;
  for (auto _ : state) {
    eargate::screen::ScreenQuery q;
    q.name = queries[i++ % queries.size()];
    benchmark::DoNotOptimize(index.Screen(q));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Screen)->ThreadRange(1, 2)->UseRealTime();

void BM_BuildIndex(benchmark::State& state) {
  const std::string shared = std::string(EARGATE_SOURCE_DIR) + "/../shared/data/screening";
  for (auto _ : state) {
    benchmark::DoNotOptimize(LoadIndex());
  }
}
BENCHMARK(BM_BuildIndex)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
