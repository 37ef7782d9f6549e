// Reading a log directory: segment listing, read-only mappings, framing of a segment's bytes
// into records, and the checkpoint file. Private to eargate_store; shared by the writer's
// crash recovery and the reader/verifier (and Errno by every file of audit/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/internal/log_format.h"

namespace eargate::store::internal {

// InternalError "<what> <path>: <strerror(errno)>", for a failed system call on a log file.
absl::Status Errno(std::string_view what, const std::string& path);
// Writes all n bytes at the file position (EINTR retried).
absl::Status WriteAll(int fd, const char* p, size_t n, const std::string& path);

// A read-only mapping of a whole file (empty files map to nothing). Move-only.
class MappedFile {
 public:
  // `populate`: read the whole file in now (a reader of all of it); else pages are read as
  // they are touched (a reader of a part, such as the records after a position).
  static absl::StatusOr<MappedFile> Open(const std::string& path, bool populate = true);
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }
  MappedFile& operator=(MappedFile&& o) noexcept;
  ~MappedFile();
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

struct SegmentFile {
  uint64_t number = 0;
  std::string path;
};
// Segment files of `dir` in number order. NotFound when dir does not exist.
absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir);

// Whether a segment file lacks its header: shorter than one, or a header of zeros (a
// zero-filled segment renamed into place by a rotation that a crash cut short).
absl::StatusOr<bool> SegmentHeaderMissing(const std::string& path);
bool SegmentHeaderMissing(const char* data, size_t size);  // the file's bytes
// Whether the n bytes at p are all zero.
bool AllZero(const char* p, size_t n);

struct RecordRef {
  uint64_t offset = 0;
  uint32_t size = 0;
};
struct ByteRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};
struct SegmentFrames {
  bool header_ok = false;
  SegmentHeader header;
  std::vector<RecordRef> records;
  std::vector<ByteRange> damaged;  // bytes that frame no record
  // Where the zero bytes that end the file begin, right after a whole record (or the header):
  // space preallocated for records not written yet (doc/audit_log_format.md §6); the file's
  // size otherwise. A record is never all zero (it starts with kRecordMagic).
  uint64_t data_end = 0;
};
// The end of data[begin, end) without its trailing zero bytes: a torn record followed by
// preallocated zeros is the bytes before them.
size_t EndWithoutZeros(const char* data, size_t begin, size_t end);

// Whether the record framed at data[pos, pos + n) of a segment's `size` bytes is whole: the
// file ends with it or the next record's magic follows it, or else its stored hash matches
// (the last record before zeros, or one being written).
bool RecordIsWhole(const char* data, size_t size, size_t pos, size_t n, FastSha256& sha);

// Splits a segment's bytes into records (no hash checks but where resynchronising after
// damaged bytes needs them). A file shorter than a header has header_ok false and no records.
// A zero tail after a whole record is neither a record nor damage (data_end).
SegmentFrames FrameSegment(const char* data, size_t size, FastSha256& sha);

// checkpoints.jsonl
struct CheckpointLine {
  int line = 0;
  Checkpoint checkpoint;
  bool pruned = false;  // a retention anchor: records up to checkpoint.seq were deleted
};
struct CheckpointFile {
  std::vector<CheckpointLine> checkpoints;
  std::vector<std::pair<int, std::string>> bad_lines;  // line, problem
  bool exists = false;
};
CheckpointFile ReadCheckpointFile(const std::string& dir);
std::string FormatCheckpointLine(const Checkpoint& c);  // with trailing newline
// The record times of closed segments, by segment number, from the rotations' checkpoints in
// the checkpoint file (doc/audit_log_format.md §5); segments without one are absent.
std::unordered_map<uint64_t, TimeRange> ReadSegmentTimes(const std::string& dir);

// The value of a lower-case hex digit; -1 for anything else.
int HexNibble(char c);
bool ParseHexDigest(std::string_view hex, core::Sha256Digest* out);

}  // namespace eargate::store::internal
