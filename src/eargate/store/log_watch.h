// The decision log verified again and again in the background (doc/audit_log_format.md §8):
// the gateway's own watch over its history between an auditor's runs of `eargate audit verify`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/log_reader.h"
#include "eargate/store/record_shipper.h"

namespace eargate::store {

// Runs VerifyLog over a log that may be written meanwhile, on a thread of its own at the lowest
// CPU priority (SCHED_IDLE) with one hashing thread, pausing after each segment
// (Options::pace): serving decisions, and the records' syncs on the same disk, come first.
// Checkpoints
// are read before the segments, so that each names a record the scan will find; a run that
// finds problems is repeated once at once, and only problems found twice are reported (a
// retention pass deleting old segments during the first run is not tampering; an edit stays).
class LogWatch {
 public:
  struct Options {
    std::string dir;
    // The first run this long after Start, then one every `every`; every == InfiniteDuration:
    // only runs asked for with RunNow.
    absl::Duration first_after = absl::Minutes(1);
    absl::Duration every = absl::Hours(24);
    // Checkpoints kept elsewhere (the store's, for this node), read before each run; an error
    // is reported as the run's error (the log itself is still verified).
    std::function<absl::StatusOr<std::vector<Checkpoint>>()> extra_checkpoints;
    std::string extra_checkpoints_name = "store";
    // The store's copy of the log's records (RecordShipper::CheckCopy for this node), compared
    // with the log after it was verified; unset: not compared.
    std::function<absl::StatusOr<RecordShipper::CopyReport>()> check_copy;
    // After each segment, a pause `pace` times as long as the segment took: the run keeps the
    // disk and a core busy a 1 / (1 + pace) share of its time at most. 0: no pause.
    double pace = 3;
    // Between runs, this often, the search indexes of segments closed since (IndexLog, paced
    // the same way); a run writes those it finds missing as well. InfiniteDuration: only runs.
    absl::Duration index_every = absl::Hours(1);
    // Called on the watch's thread after each index pass (logging); may be unset.
    std::function<void(const absl::StatusOr<IndexReport>&)> on_index;
  };
  struct Run {
    absl::Time started, finished;
    absl::Duration paused;  // of that, the pauses after segments (Options::pace)
    // Why the log could not be verified (no log, an I/O error) or the extra checkpoints could
    // not be read; with a report when only the latter failed.
    absl::Status status;
    std::optional<VerifyReport> report;
    // The store's copy (Options::check_copy): its report, or why it could not be compared.
    std::optional<RecordShipper::CopyReport> copy;
    absl::Status copy_status;
    // Nothing edited found: the log verified without problems, and the store's copy (when
    // compared) faithful. (An error beside the report, or a copy not compared, is no finding.)
    bool intact() const { return report && report->intact() && (!copy || copy->faithful()); }
    // What it found, for people: the log's problems (FormatProblem), then the copy's
    // differences ("store copy seq 7: ..."), at most `max` of them.
    std::vector<std::string> Findings(size_t max) const;
  };
  // Called on the watch's thread after each run (logging).
  using Listener = std::function<void(const Run&)>;

  LogWatch(Options options, Listener listener);
  // Stops the thread: a run in progress stops at its next segment (and is not reported).
  ~LogWatch();
  LogWatch(const LogWatch&) = delete;
  LogWatch& operator=(const LogWatch&) = delete;

  // Starts a run now unless one is running; returns whether it started one.
  bool RunNow();
  bool running() const;
  uint64_t runs() const;  // finished
  // Index passes finished (Options::index_every), the indexes they wrote, and the passes that
  // failed (an I/O error: their segments are read whole by searches until a pass succeeds).
  uint64_t index_passes() const;
  uint64_t indexes_written() const;
  uint64_t index_errors() const;
  // The last run's result, shared (null before the first): /metrics reads it on every scrape,
  // and a report of a badly damaged log can hold many problems.
  std::shared_ptr<const Run> last() const;

 private:
  void Loop();
  Run RunOnce();
  // A pause after each segment (Options::pace), false when stopping; `paused` sums them.
  bool Pace(absl::Time* segment_start, absl::Duration* paused);

  const Options options_;
  const Listener listener_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;       // guarded by mu_
  std::atomic<bool> cancel_{false};  // stop_, for a run in progress
  bool asked_ = false;      // guarded by mu_: RunNow
  bool running_ = false;    // guarded by mu_
  uint64_t runs_ = 0;       // guarded by mu_
  uint64_t index_passes_ = 0, indexes_written_ = 0, index_errors_ = 0;  // guarded by mu_
  std::shared_ptr<const Run> last_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace eargate::store
