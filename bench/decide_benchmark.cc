// Decision engine and batch-path benchmarks (foundation issue, item 8).
//
// Prints decisions per second for: a US person at home, a foreign person abroad with findings,
// and a mixed population; heap allocations per decision (counted by replacing operator new in
// this binary); and the in-process batch path (parse + decide + write JSON) as lines per second
// with its ratio to a parse-only baseline run in the same process.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "bench/requests.h"
#include "eargate/decide/engine.h"
#include "eargate/wire/decision_json.h"
#include "eargate/wire/request_json.h"

namespace {
std::atomic<uint64_t> g_allocs{0};
}  // namespace

void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// The replaced operator new allocates with malloc, so free is its match; GCC 12 cannot see
// that through the replacement and warns (-Wmismatched-new-delete).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace eargate {
namespace {

rules::PolicyPtr Letter() {
  static rules::PolicyPtr p = [] {
    auto data = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
    if (!data.ok()) std::abort();
    auto pol = rules::LoadPolicy(EARGATE_SOURCE_DIR "/examples/policies/letter.yaml", *data);
    if (!pol.ok()) std::abort();
    return *pol;
  }();
  return p;
}

core::Request Parse(const std::string& json) {
  wire::RequestParser parser(Letter()->data());
  core::Request r;
  if (!parser.Parse(json, 0, &r).ok()) std::abort();
  return r;
}

void RunDecide(benchmark::State& state, const core::Request& req) {
  auto policy = Letter();
  decide::Decision d;
  decide::Decide(*policy, req, &d);  // warm: the Decision's inline storage is reused
  uint64_t before = g_allocs.load();
  for (auto _ : state) {
    decide::Decide(*policy, req, &d);
    benchmark::DoNotOptimize(d);
  }
  state.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["allocs_per_decision"] =
      static_cast<double>(g_allocs.load() - before) / static_cast<double>(state.iterations());
}

void BM_Decide_UsPersonAtHome(benchmark::State& state) {
  RunDecide(state, Parse(bench::kUsAtHome));
}
BENCHMARK(BM_Decide_UsPersonAtHome);

void BM_Decide_ForeignPersonAbroadWithFindings(benchmark::State& state) {
  core::Request r = Parse(bench::kForeignAbroad);
  decide::Decision d = decide::Decide(*Letter(), r);
  if (d.findings.size() != 2) std::abort();  // export DE + deemed reexport CN, both noticed
  RunDecide(state, r);
}
BENCHMARK(BM_Decide_ForeignPersonAbroadWithFindings);

std::vector<std::string> MixedLines(size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::string> lines;
  for (size_t i = 0; i < n; ++i) lines.push_back(bench::MixedRequest(rng, i));
  return lines;
}

void BM_Decide_Mixed(benchmark::State& state) {
  auto policy = Letter();
  std::vector<core::Request> reqs;
  wire::RequestParser parser(policy->data());
  for (const auto& l : MixedLines(4096)) {
    reqs.emplace_back();
    if (!parser.Parse(l, 0, &reqs.back()).ok()) std::abort();
  }
  decide::Decision d;
  size_t i = 0;
  for (const auto& r : reqs) decide::Decide(*policy, r, &d);
  uint64_t before = g_allocs.load();
  for (auto _ : state) {
    decide::Decide(*policy, reqs[i++ & 4095], &d);
    benchmark::DoNotOptimize(d);
  }
  state.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["allocs_per_decision"] =
      static_cast<double>(g_allocs.load() - before) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Decide_Mixed);

// Baseline for the batch path: simdjson parsing alone, the floor any JSON-in path pays.
void BM_Batch_ParseOnlyBaseline(benchmark::State& state) {
  auto lines = MixedLines(4096);
  simdjson::dom::parser p;
  size_t i = 0;
  for (auto _ : state) {
    const auto& l = lines[i++ & 4095];
    auto doc = p.parse(l.data(), l.size(), true);
    benchmark::DoNotOptimize(doc);
  }
  state.counters["lines_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Batch_ParseOnlyBaseline);

// What `eargate decide --batch` does per line, in process: parse, decide, write JSON.
void BM_Batch_ParseDecideWrite(benchmark::State& state) {
  auto policy = Letter();
  auto lines = MixedLines(4096);
  wire::RequestParser parser(policy->data());
  core::Request r;
  decide::Decision d;
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    const auto& l = lines[i++ & 4095];
    if (!parser.Parse(l, 0, &r).ok()) std::abort();
    decide::Decide(*policy, r, &d);
    wire::AppendDecisionJson(*policy, r, d, wire::NewDecisionId(r.at), &out);
    if (out.size() > (1 << 20)) out.clear();
  }
  state.counters["lines_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Batch_ParseDecideWrite);

}  // namespace
}  // namespace eargate

// Prints the figures the issue asks for, with ratios, after the usual benchmark table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      for (const auto& [k, v] : r.counters) figures_[r.benchmark_name() + "/" + k] = v.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    auto get = [&](const std::string& k) { return figures_.count(k) ? figures_[k] : 0.0; };
    double home = get("BM_Decide_UsPersonAtHome/decisions_per_s");
    double abroad = get("BM_Decide_ForeignPersonAbroadWithFindings/decisions_per_s");
    double mixed = get("BM_Decide_Mixed/decisions_per_s");
    double base = get("BM_Batch_ParseOnlyBaseline/lines_per_s");
    double batch = get("BM_Batch_ParseDecideWrite/lines_per_s");
    std::printf("\nSummary (one core):\n");
    std::printf("  US person at home            %12.0f decisions/s  (%.2fx the 1,000,000/s target)\n", home, home / 1e6);
    std::printf("  foreign person abroad        %12.0f decisions/s  (%.2fx target)\n", abroad, abroad / 1e6);
    std::printf("  mixed population             %12.0f decisions/s  (%.2fx target)\n", mixed, mixed / 1e6);
    std::printf("  heap allocations per decision: home %.3f, abroad %.3f, mixed %.3f\n",
                get("BM_Decide_UsPersonAtHome/allocs_per_decision"),
                get("BM_Decide_ForeignPersonAbroadWithFindings/allocs_per_decision"),
                get("BM_Decide_Mixed/allocs_per_decision"));
    std::printf("  batch parse+decide+write     %12.0f lines/s      (%.2fx the 300,000/s target; %.2f of the parse-only baseline %.0f lines/s)\n",
                batch, batch / 3e5, base > 0 ? batch / base : 0.0, base);
  }

 private:
  std::map<std::string, double> figures_;
};

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
