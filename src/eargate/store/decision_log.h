// The decision log: an append-only, segmented file log whose records form a SHA-256 hash chain,
// with checkpoints of the chain head kept apart (doc/audit_log_format.md is the format).
//
// Every decision the gateway or the CLI makes is appended here, and every administrative
// change too. The caller produces the record payload (a JSON object: the decision, its
// findings with citations, the request facts, the policy version) and the typed index fields
// that search and export use without parsing JSON.
//
// Durability (LogOptions::durability):
//   kSync  (default) Append returns after the record is on disk. Writer threads write and
//          fdatasync whatever was appended since the last sync (group commit), so
//          throughput grows with concurrent appenders. An event loop commits on its own
//          thread instead (AppendQueue(true) and Commit): no wake-up of another thread.
//   kAsync Append returns once the record is chained in memory; the writer thread writes and
//          syncs at least every async_flush_interval. A crash may lose the newest records,
//          never corrupt older ones.
//
// Thread-safety: a DecisionLog is thread-safe; Append may be called from any number of
// threads. One process owns a log directory (an flock on <dir>/LOCK).
// Lifetime: Close() (or the destructor) drains and syncs pending records and writes a final
// checkpoint. A CheckpointSink passed in the options must outlive the log.
//
//   EG_ASSIGN_OR_RETURN(auto log, store::DecisionLog::Open("/var/lib/eargate/audit", {}));
//   EG_ASSIGN_OR_RETURN(uint64_t seq, log->Append({.decision_id = id, .person_id = p, ...}));
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eargate/core/sha256.h"
#include "eargate/core/time.h"
#include "eargate/core/types.h"

namespace eargate::store {

enum class RecordKind : uint8_t { kDecision = 0, kAdminChange = 1 };

// What a caller appends. The views need only live for the duration of Append.
struct LogEntry {
  std::string_view decision_id;  // at most 65535 bytes
  std::string_view person_id;    // at most 65535 bytes
  std::string_view item;         // at most 65535 bytes
  core::Timestamp time = 0;      // the decision time
  RecordKind kind = RecordKind::kDecision;
  std::optional<core::Outcome> outcome;  // none for an admin change
  std::string_view payload;              // a JSON object (UTF-8); at most ~16 MiB
};

// A record as read back. Views point into the reader's mapping of the segment and are valid
// only during the callback that receives them.
struct LogRecord {
  uint64_t seq = 0;
  core::Timestamp time = 0;
  RecordKind kind = RecordKind::kDecision;
  uint8_t outcome_code = 255;  // 0 allow, 1 review, 2 deny, 255 none
  core::Sha256Digest prev_hash{};
  core::Sha256Digest hash{};
  std::string_view decision_id, person_id, item, payload;
  uint64_t segment = 0;  // segment number
  uint64_t offset = 0;   // byte offset of the record in its segment file

  std::optional<core::Outcome> outcome() const {
    if (outcome_code > 2) return std::nullopt;
    return static_cast<core::Outcome>(outcome_code);
  }
};

// The earliest and latest record time of a segment (doc/audit_log_format.md §5).
struct TimeRange {
  core::Timestamp first = 0, last = 0;
  bool operator==(const TimeRange&) const = default;
  // Widens *range (none yet: the range of `other` alone) to take in `other`.
  static void Include(std::optional<TimeRange>* range, const TimeRange& other) {
    if (!*range) *range = other;
    (*range)->first = std::min((*range)->first, other.first);
    (*range)->last = std::max((*range)->last, other.last);
  }
  static void Include(std::optional<TimeRange>* range, core::Timestamp t) { Include(range, {t, t}); }
};

// A copy of the chain head after record `seq`.
struct Checkpoint {
  uint64_t seq = 0;
  core::Sha256Digest head{};
  uint64_t segment = 0;
  core::Timestamp at = 0;
  // The checkpoint a rotation takes when it closes `segment` (seq is its last record): the
  // segment's record times, by which searches skip segments outside a time window.
  std::optional<TimeRange> segment_times;
};

// Where checkpoints go besides <dir>/checkpoints.jsonl (the store: table audit_checkpoints).
// Called on its own thread once the checkpoint is in the file (so after the records it covers
// are on disk), apart from the records' path: a slow or stuck sink delays only its own copies,
// neither an append nor the file's checkpoints; beyond 4096 waiting, the oldest are dropped
// (Stats::checkpoint_sink_dropped). An error is counted (Stats::checkpoint_sink_errors), not
// fatal: the file copy was already written.
class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  virtual absl::Status RecordCheckpoint(const Checkpoint& checkpoint) = 0;
};

enum class Durability : uint8_t { kSync, kAsync };
std::optional<Durability> ParseDurability(std::string_view s);  // "sync" | "async"

struct LogOptions {
  Durability durability = Durability::kSync;
  uint64_t max_segment_bytes = 64ull << 20;  // a segment is closed before it would exceed this
  uint64_t checkpoint_every = 1000;          // records between checkpoints; 0: only at close
  std::chrono::milliseconds async_flush_interval{50};
  // Retention: whole segments whose records are all older than this many days are deleted
  // (when the log is opened and whenever a segment is closed), after an anchor checkpoint
  // that lets `verify` prove the rest (doc/audit_log_format.md §8). 0: keep everything.
  uint32_t retention_days = 0;
  CheckpointSink* checkpoint_sink = nullptr;  // not owned; may be null
  const core::Clock* clock = nullptr;         // for checkpoint times; null: the system clock
  // sync mode: zero-filled segments are written with O_DIRECT, past the page cache, where the
  // filesystem takes it (doc/audit_log_format.md §6). false: always through the page cache.
  bool direct_io = true;
};

class AppendQueue;

// One record appended with AppendAsync, waiting for its group commit. The caller owns it (an
// event-driven server keeps one per connection) and keeps it alive, untouched, until it is
// delivered; the log links it into its own lists, so an append allocates nothing.
struct AppendWaiter {
  AppendQueue* queue = nullptr;  // where it is delivered; null: nowhere (read it after Flush)
  absl::StatusOr<uint64_t> result = uint64_t{0};  // the record's seq, or why it failed
  AppendWaiter* next = nullptr;  // the log's and the queue's link
};

// Where the waiters of durable records are delivered: one queue per consumer thread (say an
// I/O thread). The writer hands a group commit's waiters over at once and calls Wake() only
// when the queue was empty, so a consumer is woken once per commit, not once per record.
class AppendQueue {
 public:
  // `commits` true: the consumer calls DecisionLog::Commit() itself after appending (an event
  // loop, once per round of ready events), so its appends never wake the log's writer threads.
  explicit AppendQueue(bool commits = false) : commits_(commits) {}
  virtual ~AppendQueue() = default;
  bool commits() const { return commits_; }
  // Takes every delivered waiter, oldest first, as a list linked by `next` (null: none).
  AppendWaiter* TakeAll();

 protected:
  // Called on the log's writer thread when waiters arrive in an empty queue. Must be quick
  // and must not call into the log: post a call of TakeAll to the consumer's event loop.
  virtual void Wake() = 0;

 private:
  friend class DecisionLog;
  void Push(AppendWaiter* first, AppendWaiter* last);  // a chain linked by `next`

  const bool commits_;
  absl::Mutex mu_;
  AppendWaiter* head_ ABSL_GUARDED_BY(mu_) = nullptr;
  AppendWaiter* tail_ ABSL_GUARDED_BY(mu_) = nullptr;
};

class DecisionLog {
 public:
  // Opens (creating if needed) the log in `dir`. Recovers from a crash: a torn record at the
  // end of the newest segment (never acknowledged in sync mode) is cut off. Fails with
  // DataLoss when the log is damaged other than at its tail, or when a checkpoint names
  // records beyond the log's end (records were removed); run `eargate audit verify`.
  // Fails with FailedPrecondition when another process holds the log.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(const std::string& dir,
                                                           const LogOptions& options = {});
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Appends one record; returns its sequence number. In sync mode the record is on disk when
  // this returns OK. InvalidArgument for an oversized field; after an I/O error every
  // later call fails with that error (the log does not guess what reached the disk).
  absl::StatusOr<uint64_t> Append(const LogEntry& entry);

  // Appends without blocking the caller, for event-driven servers and batches. Returns whether
  // `waiter` was queued: then (sync mode) it is delivered to waiter->queue once the record is
  // on disk, or the log failed, with waiter->result set to the seq or the error; a waiter
  // without a queue can be read after Flush(). Returns false when the append is complete
  // already, waiter->result saying how: async mode (the record is chained in memory, like
  // Append) or an error (an invalid entry, a closed or failed log).
  bool AppendAsync(const LogEntry& entry, AppendWaiter* waiter);

  // sync mode, for an event loop whose queue commits (AppendQueue(true)): writes what was
  // appended and not yet written (of every thread) on the calling thread and hands it to the
  // log's syncer thread, which fdatasyncs and delivers the waiters; the caller does not wait
  // for the disk. The loop appends a round of records, then commits them together. A pending
  // rotation is left to a writer thread, and so is the round while a rotation is applied (the
  // loop never waits for one). No-op with nothing pending, and in async mode.
  void Commit();

  // Waits until every record appended before the call is on disk and its waiter delivered.
  absl::Status Flush();

  // Drains, syncs, writes a final checkpoint and stops the writer. Idempotent.
  absl::Status Close();

  // Upper bounds, in microseconds, of Stats::sync_buckets: a sync (the records' O_DIRECT write
  // and the fdatasync) of d microseconds counts in the first bucket whose bound is >= d; the
  // last bucket counts the syncs slower than every bound.
  static constexpr std::array<uint32_t, 13> kSyncBucketMicros = {
      25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000, 10000000};

  struct Stats {
    uint64_t appended = 0;  // records appended by this process
    uint64_t syncs = 0;     // fdatasync calls on segments (group commits)
    uint64_t sync_micros = 0;      // time spent in those syncs (the disk's share; with O_DIRECT
                                   // segments, the records' write and the fdatasync)
    uint64_t max_sync_micros = 0;  // the slowest of them
    // Those syncs by duration (kSyncBucketMicros; not cumulative): the disk's latency tail,
    // which is what sync-mode answers wait for beyond their CPU.
    std::array<uint64_t, kSyncBucketMicros.size() + 1> sync_buckets{};
    uint64_t segments_opened = 0;        // for writing: the one in use at Open, then rotations
    uint64_t segments_preallocated = 0;  // of those, opened zero-filled (doc/audit_log_format.md §6)
    uint64_t segments_direct = 0;        // of those, written with O_DIRECT (LogOptions::direct_io)
    uint64_t checkpoints = 0;
    uint64_t checkpoint_syncs = 0;  // fdatasyncs of the checkpoint file: at most one a second
    uint64_t checkpoint_sink_errors = 0;
    uint64_t checkpoint_sink_dropped = 0;  // never handed to a stuck sink (the file has them)
    uint64_t truncated_bytes = 0;  // torn tail dropped when opening (cut, or zeroed)
    uint64_t pruned_segments = 0;  // deleted by retention
    uint64_t prune_errors = 0;     // retention refused (a damaged old segment); nothing deleted
    uint64_t last_seq = 0;
  };
  Stats stats() const;
  // OK while the log takes records; else the error that stopped it (an I/O error such as a
  // full disk: every later append fails with it until the log is opened again, which cuts
  // whatever part of a record reached the disk), or FailedPrecondition once closed.
  absl::Status status() const;
  const std::string& dir() const;

 private:
  struct Impl;
  explicit DecisionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eargate::store
