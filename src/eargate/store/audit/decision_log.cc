#include "eargate/store/decision_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "eargate/core/csv.h"
#include "eargate/core/status.h"
#include "eargate/core/thread.h"
#include "eargate/store/internal/direct_writer.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/retention.h"
#include "eargate/store/internal/segment_io.h"

namespace eargate::store {
namespace {

using internal::FastSha256;

using internal::Errno;
using internal::WriteAll;

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir);
  return absl::OkStatus();
}

// One step for a writer, in append order.
struct Op {
  enum Type { kWrite, kRotate } type;
  std::string bytes;     // kWrite: records; kRotate: the new segment's header
  uint64_t segment = 0;  // kRotate: the new segment's number
};

// Writes bytes (records, a header) to the segment: to the page cache, or with O_DIRECT into
// `direct`'s buffer (written by its Flush: the sync's).
absl::Status WriteToSegment(int fd, internal::DirectWriter* direct, const std::string& bytes,
                          const std::string& path) {
  if (direct == nullptr) return WriteAll(fd, bytes.data(), bytes.size(), path);
  direct->Append(bytes);
  return absl::OkStatus();
}

// Writes a batch's records (kWrite ops only) in order.
absl::Status WriteOps(int fd, internal::DirectWriter* direct, const std::vector<Op>& batch,
                      const std::string& path) {
  for (const Op& op : batch) EG_RETURN_IF_ERROR(WriteToSegment(fd, direct, op.bytes, path));
  return absl::OkStatus();
}

}  // namespace

std::optional<Durability> ParseDurability(std::string_view s) {
  if (s == "sync") return Durability::kSync;
  if (s == "async") return Durability::kAsync;
  return std::nullopt;
}

namespace {

// Checkpoints waiting for a stuck checkpoint sink, at most (the oldest are dropped beyond).
constexpr size_t kMaxSinkBacklog = 4096;

// The checkpoint file is fdatasync'ed at most this often (and when the log closes). Its lines
// are written as soon as their records are durable; a sync per checkpoint was, at 100 k
// records/s, a hundred extra data writes, inode writes and cache flushes a second on the disk
// the records' own syncs wait for. A crash of the machine may lose the last second's
// checkpoints (missing, never ahead of their records: doc/audit_log_format.md §5).
constexpr absl::Duration kCheckpointSyncEvery = absl::Seconds(1);

// sync mode: threads that take, write and fdatasync batches. While one waits in fdatasync the
// next writes and syncs what was appended meanwhile: on a disk (or virtual disk) that serves
// several flushes at once, more records become durable per unit of time than with one sync
// after another (bench/gateway_audit_bench.sh).
constexpr int kWriters = 4;

// A sync costs the server about as much CPU as two or three requests (kernel work for the
// data and the inode, and the wake-ups around it), so a small batch waits for a sync in flight
// instead of starting one of its own: a batch overlaps a sync in flight only with at least
// this many records. Measured at 32-128 connections: records per sync double and context
// switches per request halve, throughput no lower.
constexpr size_t kMinOverlappingBatch = 16;

// Preallocation (sync mode; doc/audit_log_format.md §6): once the segment in use is a quarter
// full, the next one is zero-filled and written back in chunks of kZeroChunk, one a millisecond
// while the segment in use is less than half full (the records' syncs share the disk), then
// at full speed (it must be ready in time).
constexpr uint64_t kZeroChunk = 1u << 20;
// Each chunk is written kZeroWrite bytes at a time. The page cache sizes a folio by the write
// that creates it: 1 MiB writes made 1 MiB folios (ext4 on Linux 6.16 and later), and every
// record written over one then walked its 256 block buffers and contended with its writeback,
// doubling the cost of a record's write() under syncs. Small folios keep overwrites cheap.
constexpr size_t kZeroWrite = 16u << 10;

// AppendAsync waiters in append order, linked through AppendWaiter::next.
struct WaiterList {
  AppendWaiter* first = nullptr;
  AppendWaiter* last = nullptr;
  void Add(AppendWaiter* w) {
    w->next = nullptr;
    (last != nullptr ? last->next : first) = w;
    last = w;
  }
  void Append(const WaiterList& more) {
    if (more.first == nullptr) return;
    (last != nullptr ? last->next : first) = more.first;
    last = more.last;
  }
};

// AppendAsync waiters grouped by the queue they are delivered to (a gateway has one queue per
// I/O thread: a short list), each group in append order. Grouped as they are appended, so
// that a sync hands each queue its waiters in one push without reading them one by one (each
// was last written by its appender, on another core: a cache miss per record).
struct WaiterGroups {
  struct Group {
    AppendQueue* queue;
    WaiterList list;
  };
  absl::InlinedVector<Group, 4> groups;
  bool empty() const { return groups.empty(); }
  WaiterList& For(AppendQueue* queue) {
    for (Group& g : groups)
      if (g.queue == queue) return g.list;
    groups.push_back(Group{queue, {}});
    return groups.back().list;
  }
  void Add(AppendWaiter* w) { For(w->queue).Add(w); }
  void Append(const WaiterGroups& more) {
    for (const Group& g : more.groups) For(g.queue).Append(g.list);
  }
};

// The waiters of records written and not yet durable, by their batch's last seq, oldest
// first. A sync covers whole batches: every sync ends at some batch's last record.
struct UnsyncedWaiters {
  std::deque<std::pair<uint64_t, WaiterGroups>> batches;
  void Add(uint64_t last_seq, WaiterGroups&& waiters) {
    if (!waiters.empty()) batches.emplace_back(last_seq, std::move(waiters));
  }
  // Takes the waiters of the batches that end at `seq` or before (all of them when `all`).
  WaiterGroups TakeUpTo(uint64_t seq, bool all) {
    WaiterGroups taken;
    while (!batches.empty() && (all || batches.front().first <= seq)) {
      taken.Append(batches.front().second);
      batches.pop_front();
    }
    return taken;
  }
};

}  // namespace

struct DecisionLog::Impl {
  std::string dir;
  LogOptions options;
  const core::Clock* clock = nullptr;
  int lock_fd = -1;

  absl::Mutex mu;
  absl::CondVar work_cv;  // writers wait for records
  absl::CondVar done_cv;  // blocked appenders and Flush wait for durable_seq
  absl::CondVar quiet_cv;  // a writer with a rotation or checkpoint waits for syncs in flight
  absl::CondVar write_cv;  // Commit waits for a write in progress (file order is append order)
  FastSha256 sha ABSL_GUARDED_BY(mu);
  uint64_t next_seq ABSL_GUARDED_BY(mu) = 1;
  core::Sha256Digest head ABSL_GUARDED_BY(mu){};
  uint64_t segment ABSL_GUARDED_BY(mu) = 0;        // segment records are encoded into
  uint64_t segment_bytes ABSL_GUARDED_BY(mu) = 0;  // its size including pending bytes
  std::optional<TimeRange> segment_times ABSL_GUARDED_BY(mu);  // of its records so far
  uint64_t since_checkpoint ABSL_GUARDED_BY(mu) = 0;
  uint64_t last_checkpoint_seq ABSL_GUARDED_BY(mu) = 0;
  std::vector<Op> ops ABSL_GUARDED_BY(mu);  // appended, not yet taken by a writer
  WaiterGroups waiters ABSL_GUARDED_BY(mu);     // AppendAsync waiters of the records in ops
  UnsyncedWaiters unsynced ABSL_GUARDED_BY(mu);  // waiters of records taken, not yet on disk
  size_t pending_bytes ABSL_GUARDED_BY(mu) = 0;
  size_t pending_records ABSL_GUARDED_BY(mu) = 0;
  uint64_t durable_seq ABSL_GUARDED_BY(mu) = 0;
  uint64_t written_seq ABSL_GUARDED_BY(mu) = 0;  // records up to here are in the file
  // Records in ops whose appender relies on a writer thread (not an event loop's Commit).
  size_t writer_needed ABSL_GUARDED_BY(mu) = 0;
  // Written batches' buffers, kept for the next batches' records (no growth on every batch).
  std::vector<std::string> spare_buffers ABSL_GUARDED_BY(mu);
  int flush_waiters ABSL_GUARDED_BY(mu) = 0;
  // One writer at a time takes a batch and writes it (file order is append order); the syncs
  // that follow overlap (BatchReadyLocked). A writer sleeps only when there is nothing to take,
  // and appenders wake one only then: under load writers go from batch to batch unsignalled.
  bool writing ABSL_GUARDED_BY(mu) = false;
  int idle_writers ABSL_GUARDED_BY(mu) = 0;
  bool wake_pending ABSL_GUARDED_BY(mu) = false;  // an idle writer was signalled, not yet up
  int in_flight ABSL_GUARDED_BY(mu) = 0;          // batches taken and not yet synced
  bool closing ABSL_GUARDED_BY(mu) = false;
  bool closed ABSL_GUARDED_BY(mu) = false;
  absl::Status error ABSL_GUARDED_BY(mu);  // set by writers only
  Stats stats ABSL_GUARDED_BY(mu);

  // The segment being written: changed only by Recover and by a writer applying a rotation
  // with no other batch in flight (`applying`); read under mu.
  int seg_fd = -1;
  std::string seg_path;
  // seg_fd's file written with O_DIRECT (a zero-filled segment, sync mode, LogOptions::
  // direct_io, where the filesystem takes it): records go to its buffer, and a sync writes
  // them before the fdatasync (SyncWritten). Changed like seg_fd.
  std::unique_ptr<internal::DirectWriter> direct;
  // Checkpoints wait here until their records are durable; then one writer thread at a time
  // (cp_writing) appends them to the checkpoint file and queues them for the sink, apart from
  // the records' path: neither a sync nor an event loop's Commit waits for them.
  std::vector<Checkpoint> pending_cps ABSL_GUARDED_BY(mu);
  bool cp_writing ABSL_GUARDED_BY(mu) = false;
  // Checkpoints written to the file and not yet handed to the sink (the store: the one part
  // that can hang, a database), which its own thread calls; at most kMaxSinkBacklog wait, the
  // oldest dropped first (Stats::checkpoint_sink_dropped): the file has them all.
  std::deque<Checkpoint> sink_backlog ABSL_GUARDED_BY(mu);
  bool sink_stop ABSL_GUARDED_BY(mu) = false;
  absl::CondVar sink_cv;
  std::thread sink_thread;
  void SinkLoop();
  int cp_fd = -1;  // the checkpoint file; used by the cp_writing writer (or Close) only
  // Lines written since the file's last sync, and when that was (kCheckpointSyncEvery).
  bool cp_unsynced ABSL_GUARDED_BY(mu) = false;
  absl::Time cp_synced_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  struct Counts {
    uint64_t syncs = 0, sync_micros = 0, max_sync_micros = 0, segments = 0, preallocated = 0,
             direct = 0, pruned = 0, prune_errors = 0;
    std::array<uint64_t, kSyncBucketMicros.size() + 1> sync_buckets{};
  };
  std::vector<std::thread> writers;
  // The syncer: fdatasyncs what event loops' Commits wrote, one sync after another, and
  // delivers their waiters; it sleeps only when everything written is durable.
  std::thread syncer;
  absl::CondVar sync_cv;
  bool syncer_sleeping ABSL_GUARDED_BY(mu) = false;
  // A writer applies a batch with a rotation (Apply, outside mu): it may close seg_fd, so the
  // syncer starts no sync meanwhile (it would read the fd being replaced).
  bool applying ABSL_GUARDED_BY(mu) = false;
  void SyncerLoop();

  // Preallocation (sync mode): an fdatasync of records written over blocks that are already
  // allocated, within the file's size, has no inode to write, one disk round trip fewer (§6).
  // The preparer zero-fills the next segment in kNextSegmentFile, a file of its own (its
  // dirty pages and its inode lock are none of the live segment's syncs' business), syncing
  // each chunk; its pages stay cached for the records to overwrite. A rotation renames it
  // into place (claimed under mu: next_ready -> next_claimed); the segment it closes keeps
  // its zero tail (shorter than a record), and the last one keeps its own when the log closes.
  std::thread preparer;
  absl::CondVar prep_cv;
  bool next_ready ABSL_GUARDED_BY(mu) = false;
  bool next_claimed ABSL_GUARDED_BY(mu) = false;  // by the writer about to Apply a rotation
  // Zeroing failed or the disk is nearly full: segments are plain appends until then.
  absl::Time prealloc_resume ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  bool seg_prealloc = false;  // seg_fd's file has a zero tail; changed like seg_fd
  void PreparerLoop();
  // Whether zero-filled segments (and their zeros) are written with O_DIRECT: LogOptions::
  // direct_io, and segments of whole blocks. (The filesystem may still refuse.)
  bool DirectIo() const {
    return options.direct_io && options.max_segment_bytes % internal::DirectWriter::kBlock == 0;
  }
  // Writes and syncs the next chunk of zeros of kNextSegmentFile (creating it first; closing
  // it, fd = -1, after the last); *done counts the bytes written.
  absl::Status ZeroNextChunk(int* fd, uint64_t* done, const char* zeros);

  ~Impl() {
    if (seg_fd >= 0) ::close(seg_fd);
    if (cp_fd >= 0) ::close(cp_fd);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  absl::Status Recover();
  // Opens the newest segment, `file`, to append after its last whole record (valid_end),
  // dropping the torn bytes up to torn_end (zeros may follow them).
  absl::Status OpenSegmentForAppend(uint64_t number, const internal::MappedFile& file,
                                    uint64_t valid_end, uint64_t torn_end);
  // Closes the current segment (synced, counted in `counts`) and opens
  // segment `number` with `header`: the zero-filled kNextSegmentFile renamed when `prepared`,
  // else a new file.
  absl::Status CreateSegment(uint64_t number, const std::string& header, bool prepared,
                             Counts* counts);
  // Evicts a closed, synced segment from the page cache. A rotation drops the one before the
  // segment it closes: records are written once and read rarely (the shipper reads the last
  // second's, which stay cached), so the log does not push other files out of memory, and the
  // pages it frees are reused at once for new records. On this project's VM the host discards
  // guest pages that stay free, and touching a fresh page cost the async writer's write() 7 %
  // of the gateway's CPU at -c256 against 1.7 % with this (perf, 2026-11-27).
  static void DropCache(const std::string& path);
  // `closes`: the rotation's checkpoint, with the segment's time range.
  void PushCheckpointLocked(bool closes = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Whether a checkpoint's records are all durable and no writer is writing checkpoints.
  bool CheckpointsReadyLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu);
  // Whether lines written earlier wait for the checkpoint file's sync, and it is time.
  bool CheckpointSyncDueLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu);
  // Writes the ready checkpoints to the file (unlocking mu meanwhile), syncs it when
  // kCheckpointSyncEvery has passed since the last sync or the log is closing, and queues
  // them for the sink.
  void WriteCheckpointsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Appends checkpoint lines, and syncs the file when `sync`.
  absl::Status WriteCheckpointLines(const std::vector<Checkpoint>& cps, bool sync);
  void WriterLoop();
  bool WaitForBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // sync mode: whether a writer may take the pending records now.
  bool BatchReadyLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu);
  void WakeWriterLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void FoldLocked(const Counts& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // `commits`: the caller commits the record itself (Commit); no writer is woken for it.
  absl::StatusOr<uint64_t> AppendLocked(const LogEntry& e, bool commits = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Keeps the written batch's record buffers for later batches, and empties the batch.
  void RecycleLocked(std::vector<Op>* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // After a batch's write (ok or not): its buffers recycled, `writing` released, its waiters
  // queued for the sync that covers them.
  void EndWriteLocked(std::vector<Op>* batch, WaiterGroups&& taken, uint64_t covered,
                      const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Hands the pending ops to the caller, who writes them next (writing = true).
  void TakeBatchLocked(std::vector<Op>* batch, WaiterGroups* taken) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // After a batch's write (and sync, when `synced`): records what is written and durable,
  // and delivers the waiters of the durable records (unlocking mu meanwhile).
  void FinishBatchLocked(uint64_t covered, const Counts& counts, const absl::Status& s)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Sets each waiter's result and hands each queue its waiters in one push (one Wake).
  static void Deliver(const WaiterGroups& done, const absl::Status& status);
  // Writes what `direct` (if any) holds and fdatasyncs the segment, timed (the disk's share of
  // an append): everything written before the call is durable when it returns OK.
  static absl::Status SyncWritten(int fd, internal::DirectWriter* direct, const std::string& path,
                                  Counts* counts);
  // Writes the ops in order and syncs: every record in them is on disk when it returns OK.
  // `use_next`: the first rotation renames the zero-filled next segment (claimed) into place.
  absl::Status Apply(std::vector<Op>& ops, Counts* counts, bool use_next);
  // Retention: deletes old segments before `newest` (writer thread, or Open before it starts).
  void Prune(uint64_t newest, uint64_t* pruned, uint64_t* errors);
  core::Timestamp prune_kept_until = 0;  // PruneResult::kept_until of the last prune; Prune only
};

void DecisionLog::Impl::Prune(uint64_t newest, uint64_t* pruned, uint64_t* errors) {
  if (options.retention_days == 0) return;
  const core::Timestamp now = clock->Now();
  const core::Timestamp cutoff = now - static_cast<core::Timestamp>(options.retention_days) * 86400;
  // The oldest segment kept last time is not due yet: nothing to read (a segment is read
  // whole to find its newest record, 64 MiB by default, and rotations come every second or
  // two under load).
  if (cutoff <= prune_kept_until) return;
  auto r = internal::PruneSegments(dir, cutoff, newest, now);
  if (!r.ok()) {
    ++*errors;
    return;
  }
  *pruned += r->segments;
  prune_kept_until = r->kept_until;
}

absl::Status DecisionLog::Impl::OpenSegmentForAppend(uint64_t number, const internal::MappedFile& file,
                                                     uint64_t valid_end, uint64_t torn_end) {
  seg_path = dir + "/" + internal::SegmentFileName(number);
  seg_fd = ::open(seg_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (seg_fd < 0) return Errno("open", seg_path);
  // A zero-filled segment (sync mode, this log's segment size, zeros after its data), as a
  // close or a crash left it: the records go on into its zeros. Nothing is cut: a reader with
  // the file mapped (a `verify` run meanwhile) never finds its end gone (SIGBUS), and the
  // records keep their syncs without an inode to write (doc/audit_log_format.md §6).
  seg_prealloc = options.durability == Durability::kSync && file.size() == options.max_segment_bytes &&
                 torn_end < file.size();
  if (seg_prealloc) {
    if (torn_end > valid_end) {  // the torn bytes become zeros, like the rest of the tail
      const std::string zeros(torn_end - valid_end, '\0');
      if (::pwrite(seg_fd, zeros.data(), zeros.size(), static_cast<off_t>(valid_end)) !=
              static_cast<ssize_t>(zeros.size()) ||
          ::fdatasync(seg_fd) != 0) {
        return Errno("zero the torn tail of", seg_path);
      }
    }
    if (DirectIo()) {
      const uint64_t block = valid_end - valid_end % internal::DirectWriter::kBlock;
      auto d = internal::DirectWriter::Open(
          seg_path, valid_end, std::string_view(file.data() + block, valid_end - block));
      if (d.ok()) {
        direct = std::move(*d);
      } else if (!absl::IsUnimplemented(d.status())) {
        return d.status();
      }
    }
  } else if (file.size() != valid_end) {
    // A plain segment (or one of another size): its torn tail, and any zeros, are cut off.
    if (::ftruncate(seg_fd, static_cast<off_t>(valid_end)) != 0 || ::fdatasync(seg_fd) != 0)
      return Errno("truncate", seg_path);
  }
  if (::lseek(seg_fd, static_cast<off_t>(valid_end), SEEK_SET) < 0) return Errno("seek", seg_path);
  // Counted like a segment a rotation opens (a new log counts its first one too).
  stats.segments_opened = 1;
  stats.segments_preallocated = seg_prealloc ? 1 : 0;
  stats.segments_direct = direct ? 1 : 0;
  return absl::OkStatus();
}

absl::Status DecisionLog::Impl::CreateSegment(uint64_t number, const std::string& header,
                                              bool prepared, Counts* counts) {
  if (seg_fd >= 0) {
    EG_RETURN_IF_ERROR(SyncWritten(seg_fd, direct.get(), seg_path, counts));
    // A zero-filled segment keeps its zero tail (less than the next record, which did not
    // fit): readers in this process (the shipper, the admin API's search) may have it mapped,
    // and cutting a mapped file makes their reads of its old end fault (SIGBUS). Readers take
    // the zeros as the end of the records (doc/audit_log_format.md §2). Nothing cuts them
    // (Close neither: the next Open writes on into the last segment's).
    direct.reset();
    ::close(seg_fd);
    seg_fd = -1;
  }
  seg_path = dir + "/" + internal::SegmentFileName(number);
  // A crash before the header is on disk leaves a newest segment of zeros: Recover drops it.
  // (Should the zero-filled file be gone, a plain new segment does.)
  const std::string next = dir + "/" + internal::kNextSegmentFile;
  prepared = prepared && ::rename(next.c_str(), seg_path.c_str()) == 0;
  if (prepared) {
    seg_fd = ::open(seg_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (seg_fd < 0) return Errno("open", seg_path);
  } else {
    seg_fd = ::open(seg_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg_fd < 0) return Errno("create", seg_path);
  }
  seg_prealloc = prepared;
  // A zero-filled segment is written with O_DIRECT where the filesystem takes it (its header
  // too: no page of it is ever cached); seg_fd serves fdatasync and the final truncation.
  if (prepared && DirectIo()) {
    auto d = internal::DirectWriter::Open(seg_path);
    if (d.ok()) {
      direct = std::move(*d);
    } else if (!absl::IsUnimplemented(d.status())) {
      return d.status();
    }
  }
  EG_RETURN_IF_ERROR(WriteToSegment(seg_fd, direct.get(), header, seg_path));
  if (direct) EG_RETURN_IF_ERROR(direct->Flush());
  if (::fdatasync(seg_fd) != 0) return Errno("fdatasync", seg_path);
  if (number > 2) DropCache(dir + "/" + internal::SegmentFileName(number - 2));
  return SyncDir(dir);
}

void DecisionLog::Impl::DropCache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // advice only (retention may have deleted it)
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Finds the chain head from the newest segment, cutting off a torn tail.
absl::Status DecisionLog::Impl::Recover() {
  absl::MutexLock lock(&mu);
  EG_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(dir));
  internal::CheckpointFile cps = internal::ReadCheckpointFile(dir);
  for (const auto& c : cps.checkpoints)
    last_checkpoint_seq = std::max(last_checkpoint_seq, c.checkpoint.seq);
  {
    std::string path = dir + "/" + internal::kCheckpointFile;
    // A checkpoint line cut by a crash (no newline) is dropped so the next one starts clean.
    auto text = core::ReadFile(path);
    if (text.ok() && !text->empty() && text->back() != '\n') {
      size_t keep = text->rfind('\n');
      keep = keep == std::string::npos ? 0 : keep + 1;
      if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) return Errno("truncate", path);
    }
  }
  // A next segment being zero-filled when the process stopped: the preparer starts over.
  if (const std::string next = dir + "/" + internal::kNextSegmentFile;
      ::unlink(next.c_str()) != 0 && errno != ENOENT) {
    return Errno("unlink", next);
  }
  // A newest segment without its header (shorter than one, or a zero-filled one renamed into
  // place whose header never reached the disk) is a rotation cut by a crash: drop it.
  while (!segments.empty()) {
    EG_ASSIGN_OR_RETURN(bool incomplete, internal::SegmentHeaderMissing(segments.back().path));
    if (!incomplete) break;
    struct stat st;
    if (::stat(segments.back().path.c_str(), &st) != 0) return Errno("stat", segments.back().path);
    if (::unlink(segments.back().path.c_str()) != 0) return Errno("unlink", segments.back().path);
    if (static_cast<size_t>(st.st_size) < internal::kSegmentHeaderSize)
      stats.truncated_bytes += static_cast<uint64_t>(st.st_size);
    segments.pop_back();
  }
  if (segments.empty()) {
    if (last_checkpoint_seq > 0) {
      return absl::DataLossError(
          absl::StrCat(dir, ": no segments but checkpoints up to seq ", last_checkpoint_seq,
                       ": records were removed; run `eargate audit verify`"));
    }
    next_seq = 1;
    head = {};
    segment = 1;
    std::string header = internal::EncodeSegmentHeader(1, 1, head, sha);
    segment_bytes = header.size();
    stats.segments_opened = 1;
    Counts none;  // no segment open: nothing to sync
    return CreateSegment(1, header, /*prepared=*/false, &none);
  }
  const auto& last = segments.back();
  EG_ASSIGN_OR_RETURN(internal::MappedFile file, internal::MappedFile::Open(last.path));
  internal::SegmentFrames frames = internal::FrameSegment(file.data(), file.size(), sha);
  if (!frames.header_ok || frames.header.segment != last.number) {
    return absl::DataLossError(
        absl::StrCat(last.path, ": segment header damaged; run `eargate audit verify`"));
  }
  uint64_t expect = frames.header.first_seq;
  core::Sha256Digest prev = frames.header.prev;
  uint64_t valid_end = internal::kSegmentHeaderSize;
  size_t bad_at = frames.records.size();
  for (size_t i = 0; i < frames.records.size(); ++i) {
    const auto& r = frames.records[i];
    LogRecord rec;
    const char* p = file.data() + r.offset;
    if (!internal::DecodeRecord(p, r.size, &rec) || !internal::StoredHashMatches(p, r.size, sha) ||
        rec.seq != expect || rec.prev_hash != prev) {
      bad_at = i;
      break;
    }
    prev = rec.hash;
    ++expect;
    valid_end = r.offset + r.size;
    TimeRange::Include(&segment_times, rec.time);
  }
  // Anything after valid_end must be a torn tail: one damaged stretch, or one bad record,
  // reaching the end of the data (then zeros, if the segment was preallocated).
  bool torn_only = true;
  if (bad_at < frames.records.size()) {
    torn_only = bad_at + 1 == frames.records.size() &&
                frames.records[bad_at].offset + frames.records[bad_at].size == frames.data_end &&
                frames.damaged.empty();
  } else if (!frames.damaged.empty()) {
    torn_only = frames.damaged.size() == 1 && frames.damaged[0].begin == valid_end &&
                frames.damaged[0].end == file.size();
  }
  if (!torn_only) {
    return absl::DataLossError(absl::StrCat(last.path, ": damaged before its end (offset ",
                                            valid_end, "); run `eargate audit verify`"));
  }
  // The torn bytes, not the zeros after them (preallocated space).
  const uint64_t torn_end = internal::EndWithoutZeros(file.data(), valid_end, frames.data_end);
  stats.truncated_bytes += torn_end - valid_end;
  next_seq = expect;
  head = prev;
  segment = last.number;
  segment_bytes = valid_end;
  if (last_checkpoint_seq >= next_seq) {
    return absl::DataLossError(absl::StrCat(dir, ": a checkpoint names seq ", last_checkpoint_seq,
                                            " but the log ends at seq ", next_seq - 1,
                                            ": records were removed; run `eargate audit verify`"));
  }
  return OpenSegmentForAppend(last.number, file, valid_end, torn_end);
}

void DecisionLog::Impl::PushCheckpointLocked(bool closes) {
  Checkpoint c;
  c.seq = next_seq - 1;
  c.head = head;
  c.segment = segment;
  c.at = clock->Now();
  if (closes) c.segment_times = std::exchange(segment_times, std::nullopt);
  since_checkpoint = 0;
  if (c.seq == 0) return;
  if (c.seq == last_checkpoint_seq) {
    // Taken already (every checkpoint_every records): the rotation's range goes with it, or
    // in a line of its own when that one is written already.
    if (!c.segment_times) return;
    if (!pending_cps.empty() && pending_cps.back().seq == c.seq) {
      pending_cps.back().segment_times = c.segment_times;
      return;
    }
  }
  last_checkpoint_seq = c.seq;
  pending_cps.push_back(c);
}

bool DecisionLog::Impl::CheckpointsReadyLocked() const {
  return !cp_writing && !pending_cps.empty() && pending_cps.front().seq <= durable_seq;
}

bool DecisionLog::Impl::CheckpointSyncDueLocked() const {
  return cp_unsynced && !cp_writing && absl::Now() >= cp_synced_at + kCheckpointSyncEvery;
}

void DecisionLog::Impl::WriteCheckpointsLocked() {
  std::vector<Checkpoint> cps;
  size_t n = 0;
  while (n < pending_cps.size() && pending_cps[n].seq <= durable_seq) ++n;
  cps.assign(pending_cps.begin(), pending_cps.begin() + static_cast<ptrdiff_t>(n));
  pending_cps.erase(pending_cps.begin(), pending_cps.begin() + static_cast<ptrdiff_t>(n));
  const absl::Time now = absl::Now();
  const bool sync = closing || now >= cp_synced_at + kCheckpointSyncEvery;
  cp_writing = true;
  mu.Unlock();
  const absl::Status s = WriteCheckpointLines(cps, sync);
  mu.Lock();
  cp_writing = false;
  if (s.ok()) {
    if (sync) {
      stats.checkpoint_syncs += cp_fd >= 0 ? 1 : 0;
      cp_unsynced = false;
      cp_synced_at = now;
    } else if (!cps.empty()) {
      cp_unsynced = true;
    }
    stats.checkpoints += cps.size();
    if (options.checkpoint_sink != nullptr) {
      sink_backlog.insert(sink_backlog.end(), cps.begin(), cps.end());
      for (; sink_backlog.size() > kMaxSinkBacklog; ++stats.checkpoint_sink_dropped)
        sink_backlog.pop_front();
      sink_cv.Signal();
    }
  } else if (error.ok()) {
    error = s;  // like a record write: the log stops
  }
  WakeWriterLocked();  // checkpoints that became ready meanwhile
}

absl::Status DecisionLog::Impl::WriteCheckpointLines(const std::vector<Checkpoint>& cps,
                                                     bool sync) {
  std::string path = dir + "/" + internal::kCheckpointFile;
  if (!cps.empty()) {
    if (cp_fd < 0) {
      cp_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (cp_fd < 0) return Errno("open", path);
    }
    std::string lines;
    for (const auto& c : cps) lines += internal::FormatCheckpointLine(c);
    EG_RETURN_IF_ERROR(WriteAll(cp_fd, lines.data(), lines.size(), path));
  }
  if (sync && cp_fd >= 0 && ::fdatasync(cp_fd) != 0) return Errno("fdatasync", path);
  return absl::OkStatus();
}

void DecisionLog::Impl::SinkLoop() {
  core::SetThreadName("eg-log-sink");
  mu.Lock();
  for (;;) {
    while (sink_backlog.empty() && !sink_stop) sink_cv.Wait(&mu);
    if (sink_backlog.empty()) break;  // stopping, and everything handed over
    // One at a time: while the sink is slow the backlog holds the rest, bounded.
    const Checkpoint c = sink_backlog.front();
    sink_backlog.pop_front();
    mu.Unlock();
    const bool ok = options.checkpoint_sink->RecordCheckpoint(c).ok();
    mu.Lock();
    if (!ok) ++stats.checkpoint_sink_errors;
  }
  mu.Unlock();
}

absl::Status DecisionLog::Impl::SyncWritten(int fd, internal::DirectWriter* direct,
                                            const std::string& path, Counts* counts) {
  const auto t0 = std::chrono::steady_clock::now();
  if (direct != nullptr) EG_RETURN_IF_ERROR(direct->Flush());
  if (::fdatasync(fd) != 0) return Errno("fdatasync", path);
  const uint64_t us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  counts->sync_micros += us;
  counts->max_sync_micros = std::max(counts->max_sync_micros, us);
  ++counts->sync_buckets[static_cast<size_t>(
      std::lower_bound(kSyncBucketMicros.begin(), kSyncBucketMicros.end(), us) -
      kSyncBucketMicros.begin())];
  ++counts->syncs;
  return absl::OkStatus();
}

absl::Status DecisionLog::Impl::Apply(std::vector<Op>& batch, Counts* counts, bool use_next) {
  bool dirty = false;  // CreateSegment syncs the old segment; else the final sync does
  uint64_t rotated_to = 0;
  for (Op& op : batch) {
    switch (op.type) {
      case Op::kWrite:
        EG_RETURN_IF_ERROR(WriteToSegment(seg_fd, direct.get(), op.bytes, seg_path));
        dirty = true;
        break;
      case Op::kRotate:
        EG_RETURN_IF_ERROR(
            CreateSegment(op.segment, op.bytes, std::exchange(use_next, false), counts));
        counts->preallocated += seg_prealloc ? 1 : 0;
        counts->direct += direct ? 1 : 0;
        ++counts->segments;
        dirty = false;
        rotated_to = op.segment;
        break;
    }
  }
  if (dirty) EG_RETURN_IF_ERROR(SyncWritten(seg_fd, direct.get(), seg_path, counts));
  if (rotated_to != 0) Prune(rotated_to, &counts->pruned, &counts->prune_errors);
  return absl::OkStatus();
}

// Waits until a batch can be taken; false when the log is closing and nothing is left.
bool DecisionLog::Impl::WaitForBatchLocked() {
  if (options.durability == Durability::kAsync) {  // one writer
    const absl::Time deadline = absl::Now() + absl::FromChrono(options.async_flush_interval);
    while (!(closing || (flush_waiters > 0 && !ops.empty()) || pending_bytes >= (4u << 20))) {
      if (work_cv.WaitWithDeadline(&mu, deadline)) break;
    }
    return !ops.empty() || !closing;
  }
  ++idle_writers;
  while (!BatchReadyLocked() && !CheckpointsReadyLocked() && !CheckpointSyncDueLocked() &&
         !(closing && ops.empty())) {
    if (cp_unsynced && !cp_writing) {
      work_cv.WaitWithDeadline(&mu, cp_synced_at + kCheckpointSyncEvery);
    } else {
      work_cv.Wait(&mu);
    }
    // The signal is spent even when a Commit took the batch first: the next ready batch
    // must be able to wake a writer again.
    wake_pending = false;
  }
  --idle_writers;
  wake_pending = false;
  return !ops.empty() || CheckpointsReadyLocked() || CheckpointSyncDueLocked();
}

bool DecisionLog::Impl::BatchReadyLocked() const {
  return !ops.empty() && !writing && (writer_needed > 0 || flush_waiters > 0 || closing) &&
         (in_flight == 0 || pending_records >= kMinOverlappingBatch || closing);
}

// sync mode: wakes one sleeping writer when a batch became ready and none is taking it.
void DecisionLog::Impl::WakeWriterLocked() {
  if (idle_writers == 0 || wake_pending || !(BatchReadyLocked() || CheckpointsReadyLocked())) return;
  wake_pending = true;
  work_cv.Signal();
}

void DecisionLog::Impl::FoldLocked(const Counts& c) {
  stats.syncs += c.syncs;
  stats.sync_micros += c.sync_micros;
  stats.max_sync_micros = std::max(stats.max_sync_micros, c.max_sync_micros);
  for (size_t i = 0; i < c.sync_buckets.size(); ++i) stats.sync_buckets[i] += c.sync_buckets[i];
  stats.segments_opened += c.segments;
  stats.segments_preallocated += c.preallocated;
  stats.segments_direct += c.direct;
  stats.pruned_segments += c.pruned;
  stats.prune_errors += c.prune_errors;
}

void DecisionLog::Impl::Deliver(const WaiterGroups& done, const absl::Status& status) {
  for (const WaiterGroups::Group& g : done.groups) {
    if (!status.ok()) {
      for (AppendWaiter* w = g.list.first; w != nullptr; w = w->next) w->result = status;
    }
    if (g.queue != nullptr) g.queue->Push(g.list.first, g.list.last);  // null: read after Flush
  }
}

// Group commit. A writer takes everything appended since the last batch and writes it; then,
// while it waits in fdatasync, the next writer can take and write the next batch. A batch with
// a rotation or a checkpoint waits for the syncs in flight and is applied alone (the old
// segment is synced before it is closed; a checkpoint is written after its records are on
// disk). A sync covers everything written before it started, so each delivers the waiters of
// every record up to its batch's end.
void DecisionLog::Impl::WriterLoop() {
  core::SetThreadName("eg-log-writer");
  const bool async = options.durability == Durability::kAsync;
  std::vector<Op> batch;
  mu.Lock();
  for (;;) {
    if (CheckpointsReadyLocked() || CheckpointSyncDueLocked()) {
      WriteCheckpointsLocked();
      continue;
    }
    if (!WaitForBatchLocked()) break;
    // async: the interval passed with nothing appended. sync: woken for checkpoints, or the
    // batch is not ready (another thread is writing: file order is append order).
    if (ops.empty() || (!async && !BatchReadyLocked())) continue;
    WaiterGroups taken;
    TakeBatchLocked(&batch, &taken);
    const uint64_t covered = next_seq - 1;
    bool plain = !async;
    for (const Op& op : batch) plain = plain && op.type == Op::kWrite;
    bool use_next = false;
    if (!plain) {
      // The syncer starts no sync (it would read the segment's fd as the rotation replaces
      // it) and an event loop's Commit leaves its records to a writer instead of waiting.
      applying = true;
      while (in_flight > 0) quiet_cv.Wait(&mu);
      next_claimed = use_next = std::exchange(next_ready, false);  // a rotation renames it
    }
    ++in_flight;
    const absl::Status failed = error;
    const int fd = seg_fd;
    internal::DirectWriter* const dw = direct.get();
    const std::string path = plain ? seg_path : std::string();
    mu.Unlock();
    Counts counts;
    absl::Status s = failed;
    if (s.ok() && plain) {
      s = WriteOps(fd, dw, batch, path);
    } else if (s.ok()) {
      s = Apply(batch, &counts, use_next);
    }
    mu.Lock();
    if (!plain) {
      applying = false;
      next_claimed = false;  // used or not (the log failed): the preparer makes the next one
      if (syncer_sleeping) sync_cv.Signal();
    }
    EndWriteLocked(&batch, std::move(taken), covered, s);
    if (plain && s.ok()) {
      mu.Unlock();
      s = SyncWritten(fd, dw, path, &counts);
      mu.Lock();
    }
    // A small batch that waited for this sync is taken by this writer when it loops.
    FinishBatchLocked(covered, counts, s);
  }
  mu.Unlock();
}

void DecisionLog::Impl::RecycleLocked(std::vector<Op>* batch) {
  for (Op& op : *batch) {
    if (op.type != Op::kWrite || spare_buffers.size() >= 4 || op.bytes.capacity() > (4u << 20))
      continue;
    op.bytes.clear();
    spare_buffers.push_back(std::move(op.bytes));
  }
  batch->clear();
}

void DecisionLog::Impl::EndWriteLocked(std::vector<Op>* batch, WaiterGroups&& taken,
                                       uint64_t covered, const absl::Status& s) {
  RecycleLocked(batch);
  writing = false;
  write_cv.SignalAll();
  unsynced.Add(covered, std::move(taken));
  if (!s.ok()) return;
  written_seq = std::max(written_seq, covered);
  WakeWriterLocked();  // records appended during the write: the next batch
}

void DecisionLog::Impl::TakeBatchLocked(std::vector<Op>* batch, WaiterGroups* taken) {
  batch->swap(ops);
  *taken = std::move(waiters);
  waiters.groups.clear();
  pending_bytes = 0;
  pending_records = 0;
  writer_needed = 0;
  writing = true;
}

void DecisionLog::Impl::FinishBatchLocked(uint64_t covered, const Counts& counts,
                                          const absl::Status& s) {
  if (--in_flight == 0) quiet_cv.SignalAll();
  FoldLocked(counts);
  if (!s.ok() && error.ok()) error = s;
  const absl::Status status = error;
  const WaiterGroups done = unsynced.TakeUpTo(covered, /*all=*/!status.ok());
  mu.Unlock();
  Deliver(done, status);  // outside the lock: appenders go on meanwhile
  mu.Lock();
  // After the delivery: a Flush that returns has seen its records' waiters delivered.
  if (status.ok()) durable_seq = std::max(durable_seq, covered);
  done_cv.SignalAll();
  WakeWriterLocked();  // a small batch that waited for a sync in flight
}

// An event loop's commit (once per round of ready events): the round's records are written
// on the caller's thread, in append order, and handed to the syncer, which makes them durable
// and delivers their waiters; the caller never waits for the disk. A batch with a rotation or
// a checkpoint is left to a writer thread (it waits for syncs in flight and may call the
// checkpoint sink, a database).
void DecisionLog::Commit() {
  Impl& d = *impl_;
  if (d.options.durability != Durability::kSync) return;
  thread_local std::vector<Op> batch;  // its capacity serves the next commit's ops
  d.mu.Lock();
  if (d.applying && !d.ops.empty()) {
    // A rotation is being applied (syncs, a new file): rather than block the event loop for
    // it, leave this round's records to a writer thread, which takes them right after.
    ++d.writer_needed;
    d.mu.Unlock();
    return;
  }
  while (d.writing) d.write_cv.Wait(&d.mu);
  if (!d.error.ok() || d.closed) {
    // The log failed: every waiter learns it now rather than never.
    const absl::Status status = d.error.ok()
                                    ? absl::FailedPreconditionError("decision log is closed")
                                    : d.error;
    WaiterGroups done = d.unsynced.TakeUpTo(0, /*all=*/true);
    done.Append(d.waiters);
    d.waiters.groups.clear();
    d.mu.Unlock();
    Impl::Deliver(done, status);
    return;
  }
  bool plain = !d.ops.empty();
  for (const Op& op : d.ops) plain = plain && op.type == Op::kWrite;
  if (!plain) {
    if (!d.ops.empty()) {
      ++d.writer_needed;
      d.WakeWriterLocked();
    }
    d.mu.Unlock();
    return;
  }
  WaiterGroups taken;
  d.TakeBatchLocked(&batch, &taken);
  const uint64_t covered = d.next_seq - 1;
  ++d.in_flight;  // a rotation waits: the segment stays open while this thread writes to it
  const int fd = d.seg_fd;
  internal::DirectWriter* const dw = d.direct.get();
  const std::string path = d.seg_path;
  d.mu.Unlock();
  const absl::Status s = WriteOps(fd, dw, batch, path);
  d.mu.Lock();
  d.EndWriteLocked(&batch, std::move(taken), covered, s);
  if (s.ok()) {
    if (--d.in_flight == 0) d.quiet_cv.SignalAll();
    if (d.syncer_sleeping) d.sync_cv.Signal();
  } else {
    d.FinishBatchLocked(covered, {}, s);  // the error reaches every waiter
  }
  d.mu.Unlock();
}

void DecisionLog::Impl::SyncerLoop() {
  core::SetThreadName("eg-log-sync");
  mu.Lock();
  for (;;) {
    if (written_seq <= durable_seq || !error.ok() || applying) {
      if (closed || closing) break;
      syncer_sleeping = true;
      sync_cv.Wait(&mu);
      syncer_sleeping = false;
      continue;
    }
    const uint64_t covered = written_seq;
    ++in_flight;
    const int fd = seg_fd;
    internal::DirectWriter* const dw = direct.get();
    const std::string path = seg_path;
    mu.Unlock();
    Counts counts;
    absl::Status s = SyncWritten(fd, dw, path, &counts);
    mu.Lock();
    FinishBatchLocked(covered, counts, s);
  }
  mu.Unlock();
}

void DecisionLog::Impl::PreparerLoop() {
  core::SetThreadName("eg-log-zero");
  // One chunk of zeros, aligned for O_DIRECT writes.
  void* zeros = nullptr;
  if (::posix_memalign(&zeros, internal::DirectWriter::kBlock, kZeroChunk) != 0) return;
  std::memset(zeros, 0, kZeroChunk);
  int fd = -1;
  uint64_t done = 0;
  mu.Lock();
  while (!closing) {
    // Not before the segment in use is a quarter full: a short-lived log (the CLI's) or an
    // idle gateway writes no zeros it will not use.
    if (next_ready || next_claimed || segment_bytes < options.max_segment_bytes / 4 ||
        absl::Now() < prealloc_resume) {
      prep_cv.WaitWithTimeout(&mu, absl::Milliseconds(10));
      continue;
    }
    mu.Unlock();
    const absl::Status s = ZeroNextChunk(&fd, &done, static_cast<const char*>(zeros));
    mu.Lock();
    if (!s.ok()) {
      prealloc_resume = absl::Now() + absl::Seconds(10);
    } else if (fd < 0) {
      next_ready = true;
    }
    if (segment_bytes < options.max_segment_bytes / 2)
      prep_cv.WaitWithTimeout(&mu, absl::Milliseconds(1));
  }
  mu.Unlock();
  if (fd >= 0) ::close(fd);
  std::free(zeros);
}

absl::Status DecisionLog::Impl::ZeroNextChunk(int* fd, uint64_t* done, const char* zeros) {
  const std::string path = dir + "/" + internal::kNextSegmentFile;
  if (*fd < 0) {
    // Zeros must not take the records' last free space: the live segment may still grow.
    struct statvfs fs;
    if (::statvfs(dir.c_str(), &fs) != 0) return Errno("statvfs", dir);
    if (static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < 4 * options.max_segment_bytes)
      return absl::ResourceExhaustedError(absl::StrCat(dir, ": under four segments free"));
    // The zeros go past the page cache too when the segment's records will (DirectIo()).
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    *fd = DirectIo() ? ::open(path.c_str(), flags | O_DIRECT, 0644) : -1;
    if (*fd < 0) *fd = ::open(path.c_str(), flags, 0644);  // no O_DIRECT here: EINVAL
    if (*fd < 0) return Errno("create", path);
    *done = 0;
  }
  const bool direct_fd = (::fcntl(*fd, F_GETFL) & O_DIRECT) != 0;
  const uint64_t size = options.max_segment_bytes;
  const size_t n = static_cast<size_t>(std::min(kZeroChunk, size - *done));
  absl::Status s;
  if (direct_fd) {
    s = WriteAll(*fd, zeros, n, path);  // aligned: kZeroChunk and size are whole blocks
  } else {
    for (size_t off = 0; s.ok() && off < n; off += kZeroWrite)
      s = WriteAll(*fd, zeros, std::min(kZeroWrite, n - off), path);
  }
  // Each chunk is written (O_DIRECT), or written back and waited for (its blocks allocated
  // and written), without the cache flush and inode write of an fdatasync: one fdatasync after
  // the last chunk makes the file, its blocks and its size durable before a rotation renames
  // it into place.
  if (s.ok()) {
    if (*done + n == size) {
      if (::fdatasync(*fd) != 0) s = Errno("fdatasync", path);
    } else if (!direct_fd &&
               ::sync_file_range(*fd, static_cast<off_t>(*done), static_cast<off_t>(n),
                                 SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                     SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
      s = Errno("sync_file_range", path);
    }
  }
  if (s.ok()) *done += n;
  if (!s.ok() || *done == size) {
    ::close(*fd);
    *fd = -1;
    if (!s.ok()) ::unlink(path.c_str());
  }
  return s;
}

void AppendQueue::Push(AppendWaiter* first, AppendWaiter* last) {
  bool was_empty;
  {
    absl::MutexLock lock(&mu_);
    was_empty = head_ == nullptr;
    (was_empty ? head_ : tail_->next) = first;
    tail_ = last;
  }
  if (was_empty) Wake();
}

AppendWaiter* AppendQueue::TakeAll() {
  absl::MutexLock lock(&mu_);
  tail_ = nullptr;
  return std::exchange(head_, nullptr);
}

DecisionLog::DecisionLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DecisionLog::~DecisionLog() { (void)Close(); }

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(const std::string& dir,
                                                               const LogOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir, ": ", ec.message()));
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;
  impl->clock = options.clock != nullptr ? options.clock : &core::Clock::System();
  std::string lock_path = dir + "/" + internal::kLockFile;
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (impl->lock_fd < 0) return Errno("open", lock_path);
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, ": the decision log is in use by another process"));
  }
  EG_RETURN_IF_ERROR(impl->Recover());
  {
    absl::MutexLock lock(&impl->mu);
    impl->Prune(impl->segment, &impl->stats.pruned_segments, &impl->stats.prune_errors);
    impl->durable_seq = impl->next_seq - 1;
    impl->written_seq = impl->durable_seq;
    impl->stats.last_seq = impl->next_seq - 1;
  }
  Impl* raw = impl.get();
  const int writers = options.durability == Durability::kSync ? kWriters : 1;
  for (int i = 0; i < writers; ++i) impl->writers.emplace_back([raw] { raw->WriterLoop(); });
  if (options.durability == Durability::kSync) {
    raw->syncer = std::thread([raw] { raw->SyncerLoop(); });
    raw->preparer = std::thread([raw] { raw->PreparerLoop(); });
  }
  if (options.checkpoint_sink != nullptr) raw->sink_thread = std::thread([raw] { raw->SinkLoop(); });
  return std::unique_ptr<DecisionLog>(new DecisionLog(std::move(impl)));
}

namespace {
absl::Status ValidateEntry(const LogEntry& e) {
  if (e.decision_id.size() > 0xFFFF || e.person_id.size() > 0xFFFF || e.item.size() > 0xFFFF)
    return absl::InvalidArgumentError(
        "audit record: decision_id, person_id or item longer than 65535 bytes");
  if (internal::EncodedSize(e) - internal::kRecordPrefix - 32 > internal::kMaxBody)
    return absl::InvalidArgumentError("audit record: payload larger than 16 MiB");
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<uint64_t> DecisionLog::Impl::AppendLocked(const LogEntry& e, bool commits) {
  if (!error.ok()) return error;
  if (closing || closed) return absl::FailedPreconditionError("decision log is closed");
  size_t size = internal::EncodedSize(e);
  if (segment_bytes + size > options.max_segment_bytes &&
      segment_bytes > internal::kSegmentHeaderSize) {
    PushCheckpointLocked(/*closes=*/true);
    ++segment;
    Op op{Op::kRotate, internal::EncodeSegmentHeader(segment, next_seq, head, sha), segment};
    segment_bytes = op.bytes.size();
    ops.push_back(std::move(op));
  }
  if (ops.empty() || ops.back().type != Op::kWrite) {
    ops.push_back(Op{Op::kWrite, {}, 0});
    if (!spare_buffers.empty()) {
      ops.back().bytes.swap(spare_buffers.back());
      spare_buffers.pop_back();
    }
  }
  std::string& buf = ops.back().bytes;
  uint64_t seq = next_seq++;
  head = internal::EncodeRecord(e, seq, head, sha, &buf);
  TimeRange::Include(&segment_times, e.time);
  segment_bytes += size;
  pending_bytes += size;
  ++pending_records;
  ++stats.appended;
  stats.last_seq = seq;
  if (options.checkpoint_every > 0 && ++since_checkpoint >= options.checkpoint_every)
    PushCheckpointLocked();
  if (options.durability == Durability::kAsync) {
    if (pending_bytes >= (4u << 20)) work_cv.Signal();
  } else if (!commits) {
    ++writer_needed;
    WakeWriterLocked();
  }
  return seq;
}

absl::StatusOr<uint64_t> DecisionLog::Append(const LogEntry& e) {
  EG_RETURN_IF_ERROR(ValidateEntry(e));
  Impl& d = *impl_;
  absl::MutexLock lock(&d.mu);
  EG_ASSIGN_OR_RETURN(uint64_t seq, d.AppendLocked(e));
  if (d.options.durability == Durability::kAsync) return seq;
  while (d.durable_seq < seq && d.error.ok()) d.done_cv.Wait(&d.mu);
  if (d.durable_seq >= seq) return seq;
  return d.error;
}

bool DecisionLog::AppendAsync(const LogEntry& e, AppendWaiter* waiter) {
  if (absl::Status s = ValidateEntry(e); !s.ok()) {
    waiter->result = std::move(s);
    return false;
  }
  Impl& d = *impl_;
  absl::MutexLock lock(&d.mu);
  waiter->result = d.AppendLocked(e, waiter->queue != nullptr && waiter->queue->commits());
  // async: done once the record is chained, like Append (the writer writes it within
  // async_flush_interval; a crash may lose it).
  if (!waiter->result.ok() || d.options.durability == Durability::kAsync) return false;
  d.waiters.Add(waiter);
  return true;
}

absl::Status DecisionLog::Flush() {
  Impl& d = *impl_;
  absl::MutexLock lock(&d.mu);
  if (d.closed) return d.error;
  uint64_t target = d.next_seq - 1;
  ++d.flush_waiters;
  d.work_cv.Signal();
  while (d.durable_seq < target && d.error.ok()) d.done_cv.Wait(&d.mu);
  --d.flush_waiters;
  return d.error;
}

absl::Status DecisionLog::Close() {
  Impl& d = *impl_;
  {
    absl::MutexLock lock(&d.mu);
    if (d.closed || d.closing) return d.error;
    d.PushCheckpointLocked();
    d.closing = true;
    d.work_cv.SignalAll();
    d.prep_cv.Signal();
  }
  if (d.preparer.joinable()) d.preparer.join();
  for (std::thread& t : d.writers) t.join();
  d.writers.clear();
  {
    absl::MutexLock lock(&d.mu);
    d.sync_cv.Signal();
  }
  if (d.syncer.joinable()) d.syncer.join();
  absl::MutexLock lock(&d.mu);
  // Checkpoints whose records the syncer made durable after the writers stopped, and the
  // checkpoint file's last sync.
  if (d.error.ok() && (d.CheckpointsReadyLocked() || d.cp_unsynced)) d.WriteCheckpointsLocked();
  if (d.sink_thread.joinable()) {  // hands the sink what is left, then stops
    d.sink_stop = true;
    d.sink_cv.Signal();
    d.mu.Unlock();
    d.sink_thread.join();
    d.mu.Lock();
  }
  d.closed = true;
  if (d.seg_fd >= 0) {
    // Everything written is durable (or the log failed). The last segment keeps its zero
    // tail, if any: a reader may have it mapped; the next Open writes on into it.
    d.direct.reset();
    ::close(d.seg_fd);
    d.seg_fd = -1;
  }
  ::unlink((d.dir + "/" + internal::kNextSegmentFile).c_str());
  return d.error;
}

DecisionLog::Stats DecisionLog::stats() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stats;
}

absl::Status DecisionLog::status() const {
  absl::MutexLock lock(&impl_->mu);
  if (!impl_->error.ok()) return impl_->error;
  if (impl_->closing || impl_->closed) return absl::FailedPreconditionError("decision log is closed");
  return absl::OkStatus();
}

const std::string& DecisionLog::dir() const { return impl_->dir; }

}  // namespace eargate::store
