// Reading the decision log (doc/audit_log_format.md): scanning records for search and export,
// and verifying the hash chain, record order, segments and checkpoints.
//
// These functions read files only; they may run while a DecisionLog appends to the same
// directory (they see a prefix of it; a record being written shows as a torn tail note).
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eargate/store/decision_log.h"

namespace eargate::store {

// Which records a scan delivers. Empty / absent fields match everything; times inclusive.
struct RecordFilter {
  std::optional<core::Timestamp> from, to;
  std::string person;
  std::string item;
  std::string decision_id;
  std::optional<core::Outcome> outcome;
  std::optional<RecordKind> kind;
  // Sequence numbers, inclusive; 0: no bound. Scans skip whole segments outside them.
  uint64_t min_seq = 0, max_seq = 0;
  bool Matches(const LogRecord& r) const;
};

// What a scan read: segments read, and segments left unread because the record times of
// their rotation's checkpoint are outside the filter's time window (or the second its decision
// id names, doc/audit_log_format.md §7).
struct ScanStats {
  uint64_t segments_read = 0, segments_skipped = 0;
};

// Calls fn(record) for each readable record matching `filter`, in log order; fn returns false
// to stop. Damaged bytes are skipped (verify reports them). NotFound when dir is no directory,
// InvalidArgument when it holds no segments. With a time window (from, to) or a decision id
// that names its time (a UUID version 7), closed segments whose record times all fall outside
// it are not read.
absl::Status ScanLog(const std::string& dir, const RecordFilter& filter,
                     const std::function<bool(const LogRecord&)>& fn, ScanStats* stats = nullptr);

// Like ScanLog, but newest first: segments from the newest back, each segment's records from
// its last back. Record times are not guaranteed to grow with seq (a clock stepped back), so
// a scan with `from` reads every segment whose time range (or, lacking one, whose records)
// may hold a match, unless fn stops it.
absl::Status ScanLogNewestFirst(const std::string& dir, const RecordFilter& filter,
                                const std::function<bool(const LogRecord&)>& fn,
                                ScanStats* stats = nullptr);

// Like ScanLog, but skips whole segments that hold only records before `from_seq` (read from
// the next segment's header), so a reader that resumes does not rescan the log.
absl::Status ScanLogFrom(const std::string& dir, uint64_t from_seq, const RecordFilter& filter,
                         const std::function<bool(const LogRecord&)>& fn);

// Where a record is, for a reader that resumes after it (ScanLogAfter).
struct LogPosition {
  uint64_t seq = 0;
  core::Sha256Digest hash{};  // the record's: the one found there must be the same
  uint64_t segment = 0;       // segment number
  uint64_t offset = 0;        // byte offset of the record in its segment file
};

// Calls fn(record) for the records after the one at `after` (a record a scan delivered), in
// log order, to the end of what is written; fn returns false to stop. Reads only the bytes
// after that record: not the records before it in its segment, nor the zeros preallocated
// after the last one. Each record must continue the chain (the next seq, the previous hash).
// In the newest segment the scan ends quietly at the first bytes that are not a whole record
// (one being written). FailedPrecondition when the record at `after` is not there any more
// (its segment pruned or replaced), or a closed segment is damaged after it: ScanLogFrom
// then reads around the damage.
absl::Status ScanLogAfter(const std::string& dir, const LogPosition& after,
                          const std::function<bool(const LogRecord&)>& fn);

struct VerifyProblem {
  std::string segment_file;  // base name; empty for problems not in a segment
  uint64_t offset = 0;       // byte offset in the segment file
  uint64_t seq = 0;          // the record's sequence number; 0 when none applies
  std::string message;
};
// "audit-0000000000000001.seg offset 1234 seq 57: <message>".
std::string FormatProblem(const VerifyProblem& p);

struct VerifyReport {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t checkpoints_checked = 0;
  uint64_t indexes_checked = 0;  // closed segments' search indexes compared with their records
  uint64_t indexes_written = 0;  // VerifyOptions::write_indexes
  uint64_t last_seq = 0;
  core::Sha256Digest head{};
  std::vector<VerifyProblem> problems;  // tampering or damage: each names where
  std::vector<std::string> notes;       // not tampering (a torn tail left by a crash)
  bool intact() const { return problems.empty(); }
};

struct VerifyOptions {
  // Checkpoints kept elsewhere (the store's audit_checkpoints) to check as well.
  std::vector<Checkpoint> extra_checkpoints;
  std::string extra_checkpoints_name = "store";
  int threads = 0;  // hashing threads; 0: one per core
  // Write the search index (doc/audit_log_format.md §10) of each closed segment verified
  // without a problem that has no valid one (the gateway's background verification; `eargate
  // audit verify --index`). Indexes present are checked either way.
  bool write_indexes = false;
  // Called before each segment (a background run paces itself here, src/eargate/store/
  // log_watch.h); false: VerifyLog returns Cancelled.
  std::function<bool()> before_segment;
};

// Verifies the whole log. A tampered log is an OK status with problems in the report; an
// error status means there is nothing to verify (NotFound, InvalidArgument) or I/O failed.
absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, const VerifyOptions& options = {});

// Writes the search index (doc/audit_log_format.md §10) of each closed segment that has no valid
// one, from its records as they are (not verified: VerifyLog checks indexes against verified
// records), between the daily verifications of a gateway (LogWatch::Options::index_every), so
// that segments closed since are not read whole by searches for long. A segment whose framing
// is damaged gets none (verify names the damage).
struct IndexOptions {
  std::function<bool()> before_segment;  // as VerifyOptions::before_segment
};
struct IndexReport {
  uint64_t written = 0;  // indexes written
  uint64_t present = 0;  // closed segments that had a valid one
  uint64_t damaged = 0;  // closed segments left without one (damaged framing or header)
};
absl::StatusOr<IndexReport> IndexLog(const std::string& dir, const IndexOptions& options = {});

// The export forms (doc/audit_log_format.md §7): one JSON object per line with the payload
// under "record", or CSV with the payload as one JSON field.
void AppendRecordJson(const LogRecord& r, std::string* out);  // with newline
std::string RecordCsvHeader();                                // with newline
void AppendRecordCsv(const LogRecord& r, std::string* out);   // with newline

// Checkpoints of <dir>/checkpoints.jsonl (unreadable lines skipped).
std::vector<Checkpoint> ReadCheckpoints(const std::string& dir);

}  // namespace eargate::store
