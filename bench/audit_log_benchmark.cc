// The decision log's speed: appends per second in sync mode (group commit, many threads) and
// async mode, and verify speed. Targets (issue 5): >= 100,000 records/s sync with group
// commit; verify >= 1,000,000 records/s. The records are ~420-byte decision payloads. And what
// a fleet node's shipper reads each second (BM_ShipRead), and a search for a person's most
// recent records (BM_SearchRecent).
//
//   build/release/bench/audit_log_benchmark [--benchmark_filter=Sync]
//
// Logs are written under $TMPDIR (the disk measured is that one's).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/log_reader.h"

namespace {

namespace fs = std::filesystem;
using eargate::store::AppendWaiter;
using eargate::store::DecisionLog;
using eargate::store::Durability;
using eargate::store::LogEntry;
using eargate::store::LogOptions;

std::string NewDir() {
  std::string tmpl = (fs::temp_directory_path() / "eg_audit_bench_XXXXXX").string();
  return ::mkdtemp(tmpl.data());
}

const std::string& Payload() {
  static const std::string p =
      R"j({"decision":"deny","item":"mythos-5","layer":"application","channel":"api",)j"
      R"j("location":{"country":"DE","source":"ip","ip":"203.0.113.9","anonymizer":false},)j"
      R"j("activities":[{"type":"export","destination":"DE","cite":"15 CFR 734.13(a)(1)"}],)j"
      R"j("findings":[{"source":"notice","rule":"bis-2026-06-12","destination":"DE","activity":"export",)j"
      R"j("cite":["15 CFR 744.22(b)"],"authorized_by":null,"text":"license required: notice )j"
      R"j(bis-2026-06-12 covers mythos-5 application access exported to DE"}],"missing_facts":[],)j"
      R"j("policy":"sha256:9f2c1e6a4b7d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"})j";
  return p;
}

// An allow decision without findings: the common case on a busy gateway.
const std::string& SmallPayload() {
  static const std::string p =
      R"j({"decision":"allow","item":"mythos-5","layer":"application","channel":"api",)j"
      R"j("location":{"country":"US","source":"ip"},"activities":[],"findings":[],"missing_facts":[],)j"
      R"j("policy":"sha256:9f2c1e6a4b7d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"})j";
  return p;
}

LogEntry Entry() {
  LogEntry e;
  e.decision_id = "6f1c2a9e-3b7d-4c1e-9a2f-0d8e7b6c5a41";
  e.person_id = "cust-42";
  e.item = "mythos-5";
  e.time = 1781352000;
  e.outcome = eargate::core::Outcome::kDeny;
  e.payload = Payload();
  return e;
}

struct Shared {
  std::string dir;
  std::unique_ptr<DecisionLog> log;
};
Shared* g_shared = nullptr;

void OpenLog(Durability durability) {
  g_shared = new Shared;
  g_shared->dir = NewDir();
  LogOptions opt;
  opt.durability = durability;
  auto log = DecisionLog::Open(g_shared->dir, opt);
  if (!log.ok()) std::abort();
  g_shared->log = std::move(*log);
}
void SetupSync(const benchmark::State&) { OpenLog(Durability::kSync); }
void SetupAsync(const benchmark::State&) { OpenLog(Durability::kAsync); }
void Teardown(const benchmark::State&) {
  auto stats = g_shared->log->stats();
  (void)g_shared->log->Close();
  fprintf(stderr,
          "  [%s] %llu records, %llu fdatasyncs (%.1f records per sync; fdatasync mean %.3f ms, "
          "max %.3f ms)\n",
          g_shared->dir.c_str(), static_cast<unsigned long long>(stats.appended),
          static_cast<unsigned long long>(stats.syncs),
          stats.syncs ? static_cast<double>(stats.appended) / stats.syncs : 0.0,
          stats.syncs ? stats.sync_micros / 1000.0 / stats.syncs : 0.0,
          stats.max_sync_micros / 1000.0);
  g_shared->log.reset();
  fs::remove_all(g_shared->dir);
  delete g_shared;
  g_shared = nullptr;
}

void BM_AppendSync(benchmark::State& state) {
  LogEntry e = Entry();
  for (auto _ : state) {
    auto seq = g_shared->log->Append(e);
    if (!seq.ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendSync)
    ->Setup(SetupSync)
    ->Teardown(Teardown)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(16)
    ->Threads(64)
    ->Threads(256);

// A consumer thread's queue of delivered waiters, as an I/O thread would have: Wait blocks
// until the writer wakes it (once per group commit), then takes what was delivered.
class WaitQueue : public eargate::store::AppendQueue {
 public:
  AppendWaiter* Wait() {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&woken_));
      woken_ = false;
    }
    return TakeAll();
  }

 protected:
  void Wake() override {
    absl::MutexLock lock(&mu_);
    woken_ = true;
  }

 private:
  absl::Mutex mu_;
  bool woken_ = false;
};

// Sync durability with an event-driven caller: every record is acknowledged only after its
// fdatasync, but a thread keeps up to `window` records in flight (AppendAsync), as a gateway
// with that many concurrent requests would. Each iteration appends 20,000 records and waits
// for every acknowledgement.
void BM_AppendSyncInFlight(benchmark::State& state) {
  const int64_t window = state.range(0);
  constexpr int64_t kPerIteration = 20000;
  LogEntry e = Entry();
  WaitQueue queue;
  std::vector<AppendWaiter> waiters(static_cast<size_t>(window));
  for (auto _ : state) {
    std::vector<AppendWaiter*> idle;
    for (AppendWaiter& w : waiters) idle.push_back(&w);
    int64_t failed = 0, appended = 0;
    auto take = [&] {
      for (AppendWaiter* w = queue.Wait(); w != nullptr; w = w->next) {
        if (!w->result.ok()) ++failed;
        idle.push_back(w);
      }
    };
    while (appended < kPerIteration) {
      if (idle.empty()) take();
      while (!idle.empty() && appended < kPerIteration) {
        AppendWaiter* w = idle.back();
        idle.pop_back();
        w->queue = &queue;
        if (!g_shared->log->AppendAsync(e, w)) {  // not queued: failed (this is sync mode)
          ++failed;
          idle.push_back(w);
        }
        ++appended;
      }
    }
    while (idle.size() < waiters.size()) take();  // every acknowledgement is in
    if (failed != 0) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
}
BENCHMARK(BM_AppendSyncInFlight)
    ->Setup(SetupSync)
    ->Teardown(Teardown)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Threads(1)
    ->Threads(2);

void BM_AppendAsync(benchmark::State& state) {
  LogEntry e = Entry();
  for (auto _ : state) {
    auto seq = g_shared->log->Append(e);
    if (!seq.ok()) state.SkipWithError("append failed");
  }
  if (state.thread_index() == 0) (void)g_shared->log->Flush();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendAsync)
    ->Setup(SetupAsync)
    ->Teardown(Teardown)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4);

// Verify: the whole chain, hashes of every record (in parallel), order, links, checkpoints.
void BM_Verify(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool small = state.range(1) != 0;
  std::string dir = NewDir();
  {
    LogOptions opt;
    opt.durability = Durability::kAsync;
    auto log = DecisionLog::Open(dir, opt);
    if (!log.ok()) std::abort();
    LogEntry e = Entry();
    if (small) e.payload = SmallPayload();
    for (int64_t i = 0; i < n; ++i) (void)(*log)->Append(e);
    state.counters["record_bytes"] = static_cast<double>(
        102 + e.decision_id.size() + e.person_id.size() + e.item.size() + e.payload.size());
    (void)(*log)->Close();
  }
  for (auto _ : state) {
    auto report = eargate::store::VerifyLog(dir);
    if (!report.ok() || !report->intact() || report->records != static_cast<uint64_t>(n))
      state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations() * n);
  fs::remove_all(dir);
}
BENCHMARK(BM_Verify)
    ->Args({500000, 0})
    ->Args({500000, 1})
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// Appends n records to `log` from 32 threads (sync mode: group commits).
void AppendMany(DecisionLog& log, int64_t n) {
  constexpr int kThreads = 32;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, n, t] {
      const LogEntry e = Entry();
      for (int64_t i = t; i < n; i += kThreads) {
        if (!log.Append(e).ok()) std::abort();
      }
    });
  }
  for (auto& th : threads) th.join();
}

// What a fleet node's shipper reads at each ship (every second): the records appended since
// the last one, from the live segment of an open sync log (64-MiB segments; after the first,
// zero-filled and written with O_DIRECT). Arg 0: 0 = ScanLogFrom(the last shipped seq), as the
// shipper read up to session 9 (the live segment mapped whole and framed from its start);
// 1 = ScanLogAfter(the last shipped record): only the bytes after it. Arg 1: records in the
// log first (130000: ~36 k into the second segment; 180000: ~86 k). 1000 new records a ship.
void BM_ShipRead(benchmark::State& state) {
  using eargate::store::LogPosition;
  using eargate::store::LogRecord;
  const bool after = state.range(0) != 0;
  constexpr int64_t kNew = 1000;
  const std::string dir = NewDir();
  auto log = DecisionLog::Open(dir, LogOptions{});
  if (!log.ok()) std::abort();
  AppendMany(**log, state.range(1));
  LogPosition last;
  (void)eargate::store::ScanLogFrom(dir, static_cast<uint64_t>(state.range(1)), {},
                                    [&](const LogRecord& r) {
                                      last = {r.seq, r.hash, r.segment, r.offset};
                                      return true;
                                    });
  for (auto _ : state) {
    state.PauseTiming();
    AppendMany(**log, kNew);
    state.ResumeTiming();
    int64_t n = 0;
    LogPosition next;
    auto fn = [&](const LogRecord& r) {
      if (r.seq > last.seq) ++n, next = {r.seq, r.hash, r.segment, r.offset};
      return true;
    };
    absl::Status s = after ? eargate::store::ScanLogAfter(dir, last, fn)
                           : eargate::store::ScanLogFrom(dir, last.seq, {}, fn);
    if (!s.ok() || n != kNew) {
      state.SkipWithError("the new records were not read");
      break;
    }
    last = next;
  }
  state.SetItemsProcessed(state.iterations() * kNew);
  state.counters["segment"] = static_cast<double>(last.segment);
  state.counters["direct_segments"] = static_cast<double>((*log)->stats().segments_direct);
  (void)(*log)->Close();
  fs::remove_all(dir);
}
BENCHMARK(BM_ShipRead)
    ->ArgsProduct({{0, 1}, {130000, 180000}})
    ->ArgNames({"after", "records"})
    ->UseRealTime()
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

// Decision search on a node's log (the admin API's GET /admin/v1/decisions, `eargate audit
// search`): 500,000 records of 1,000 people in 64-MiB segments; one person's 10 most recent
// records. Arg 0: 0 = in log order, keeping the last 10 matches (the whole log read, as the
// search did before it could go newest first); 1 = ScanLogNewestFirst, stopped at 10; 2 = a
// person with no records (the whole log read newest first: the worst case).
void BM_SearchRecent(benchmark::State& state) {
  using eargate::store::LogRecord;
  constexpr int64_t kRecords = 500000, kPeople = 1000, kWanted = 10;
  const int mode = static_cast<int>(state.range(0));
  const std::string dir = NewDir();
  {
    LogOptions opt;
    opt.durability = Durability::kAsync;
    auto log = DecisionLog::Open(dir, opt);
    if (!log.ok()) std::abort();
    LogEntry e = Entry();
    std::string person;
    for (int64_t i = 0; i < kRecords; ++i) {
      person = absl::StrCat("cust-", i % kPeople);
      e.person_id = person;
      e.time = 1781352000 + i / 100;
      (void)(*log)->Append(e);
    }
    (void)(*log)->Close();
  }
  eargate::store::RecordFilter filter;
  filter.person = mode == 2 ? "cust-none" : "cust-7";
  int64_t scanned_ok = 0;
  for (auto _ : state) {
    std::vector<uint64_t> found;
    absl::Status s;
    if (mode == 0) {
      s = eargate::store::ScanLog(dir, filter, [&](const LogRecord& r) {
        found.push_back(r.seq);
        if (found.size() > 2 * kWanted) found.erase(found.begin(), found.end() - kWanted);
        return true;
      });
      if (found.size() > kWanted) found.erase(found.begin(), found.end() - kWanted);
    } else {
      s = eargate::store::ScanLogNewestFirst(dir, filter, [&](const LogRecord& r) {
        found.push_back(r.seq);
        return found.size() < kWanted;
      });
    }
    const size_t want = mode == 2 ? 0 : kWanted;
    if (!s.ok() || found.size() != want) {
      state.SkipWithError("search failed");
      break;
    }
    ++scanned_ok;
  }
  state.counters["log_records"] = static_cast<double>(kRecords);
  state.counters["searches"] = static_cast<double>(scanned_ok);
  fs::remove_all(dir);
}
BENCHMARK(BM_SearchRecent)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("mode")
    ->UseRealTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
