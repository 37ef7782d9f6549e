#include "eargate/store/log_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include "eargate/core/csv.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eargate/core/status.h"
#include "eargate/core/time.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/person_json.h"
#include "eargate/store/internal/segment_index.h"
#include "eargate/store/internal/segment_io.h"

namespace eargate::store {
namespace {

using internal::FastSha256;

std::string BaseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string Range(uint64_t lo, uint64_t hi) {
  return lo == hi ? absl::StrCat("record seq ", lo) : absl::StrCat("records seq ", lo, "..", hi);
}

// How many of a stream of seqs (in any order) fall in each of a set of ranges, in memory in
// proportion to the ranges: the ranges' ends cut the seqs into intervals, each counted.
class RangeCounter {
 public:
  void AddRange(uint64_t lo, uint64_t hi) {
    cuts_.push_back(lo);
    cuts_.push_back(static_cast<unsigned __int128>(hi) + 1);
  }
  // After the last AddRange, before the first Count.
  void Seal() {
    std::sort(cuts_.begin(), cuts_.end());
    cuts_.erase(std::unique(cuts_.begin(), cuts_.end()), cuts_.end());
    counts_.assign(cuts_.size() + 1, 0);
  }
  void Count(uint64_t seq) {
    // Interval k is [cuts_[k-1], cuts_[k]); counts_[k] its seqs.
    ++counts_[std::upper_bound(cuts_.begin(), cuts_.end(), seq) - cuts_.begin()];
  }
  // After the last Count: the counts become running totals.
  void Sum() {
    for (size_t k = 1; k < counts_.size(); ++k) counts_[k] += counts_[k - 1];
  }
  // Seqs counted in [lo, hi], a range added before Seal. REQUIRES: Sum.
  uint64_t In(uint64_t lo, uint64_t hi) const {
    auto from = std::lower_bound(cuts_.begin(), cuts_.end(), lo) - cuts_.begin();
    auto to = std::lower_bound(cuts_.begin(), cuts_.end(), static_cast<unsigned __int128>(hi) + 1) -
              cuts_.begin();
    return counts_[to] - counts_[from];
  }

 private:
  std::vector<unsigned __int128> cuts_;  // hi + 1 may pass UINT64_MAX
  std::vector<uint64_t> counts_;
};

// What the parallel pass learns of each framed record.
struct RecInfo {
  bool decoded = false;
  bool hash_ok = false;
  uint64_t seq = 0;
  core::Timestamp time = 0;
  core::Sha256Digest prev{};
  core::Sha256Digest hash{};
};

// Adds a record's person and item to a segment's index, but not the same ones as the record
// before it (most records follow one of the same person or item: their bits are set).
struct IndexKeys {
  internal::SegmentIndex index;
  std::string_view person, item;
  void Add(const LogRecord& r) {
    if (!r.person_id.empty() && r.person_id != person) index.AddPerson(person = r.person_id);
    if (!r.item.empty() && r.item != item) index.AddItem(item = r.item);
  }
};

// Decodes and hashes every framed record of a segment, in parallel; with `keys`, also adds
// the records' people and items to it.
std::vector<RecInfo> CheckRecords(const internal::MappedFile& file,
                                  const std::vector<internal::RecordRef>& records, int threads,
                                  internal::SegmentIndex* keys) {
  std::vector<RecInfo> out(records.size());
  auto work = [&](size_t begin, size_t end, IndexKeys* part) {
    FastSha256 sha;
    for (size_t i = begin; i < end; ++i) {
      const char* p = file.data() + records[i].offset;
      LogRecord r;
      RecInfo& info = out[i];
      info.decoded = internal::DecodeRecord(p, records[i].size, &r);
      if (!info.decoded) continue;
      info.hash_ok = internal::StoredHashMatches(p, records[i].size, sha);
      info.seq = r.seq;
      info.time = r.time;
      info.prev = r.prev_hash;
      info.hash = r.hash;
      if (part != nullptr) part->Add(r);
    }
  };
  size_t n = records.size();
  if (threads <= 1 || n < 512) {
    IndexKeys part;
    work(0, n, keys != nullptr ? &part : nullptr);
    if (keys != nullptr) keys->Merge(part.index);
    return out;
  }
  std::vector<std::thread> pool;
  size_t step = (n + threads - 1) / threads;
  std::vector<IndexKeys> parts(keys != nullptr ? static_cast<size_t>(threads) : 0);
  auto part = [&](int t) { return keys != nullptr ? &parts[static_cast<size_t>(t)] : nullptr; };
  for (int t = 1; t < threads; ++t) {
    size_t b = std::min(n, step * t), e = std::min(n, step * (t + 1));
    if (b < e) pool.emplace_back(work, b, e, part(t));
  }
  work(0, std::min(n, step), part(0));
  for (auto& th : pool) th.join();
  for (const IndexKeys& p : parts) keys->Merge(p.index);
  return out;
}

struct Problem {
  uint64_t segment;  // sort key; UINT64_MAX for checkpoint problems
  VerifyProblem p;
};

}  // namespace

bool RecordFilter::Matches(const LogRecord& r) const {
  if (from && r.time < *from) return false;
  if (to && r.time > *to) return false;
  if (!person.empty() && r.person_id != person) return false;
  if (!item.empty() && r.item != item) return false;
  if (!decision_id.empty() && r.decision_id != decision_id) return false;
  if (outcome && r.outcome_code != static_cast<uint8_t>(*outcome)) return false;
  if (kind && r.kind != *kind) return false;
  if (min_seq != 0 && r.seq < min_seq) return false;
  if (max_seq != 0 && r.seq > max_seq) return false;
  return true;
}

namespace {
// The first seq of a segment from its header, or 0 when unreadable.
uint64_t FirstSeqOf(const std::string& path, FastSha256& sha) {
  char buf[internal::kSegmentHeaderSize];
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  ::close(fd);
  internal::SegmentHeader h;
  if (n != static_cast<ssize_t>(sizeof buf) || !internal::DecodeSegmentHeader(buf, sha, &h)) return 0;
  return h.first_seq;
}
}  // namespace

namespace {
// The log's segments in number order; InvalidArgument when it has none.
absl::StatusOr<std::vector<internal::SegmentFile>> SegmentsToScan(const std::string& dir) {
  EG_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(dir));
  if (segments.empty())
    return absl::InvalidArgumentError(absl::StrCat(dir, ": not a decision log (no segments)"));
  return segments;
}

// Calls fn for the readable records of `seg` that match `filter`, in file order or from the
// last back. False when the scan is over: fn stopped it, or (newest first) a record is
// older than filter.min_seq, as is everything before it.
absl::StatusOr<bool> ScanSegment(const internal::SegmentFile& seg, bool newest_first,
                                 const RecordFilter& filter, FastSha256& sha,
                                 const std::function<bool(const LogRecord&)>& fn) {
  EG_ASSIGN_OR_RETURN(internal::MappedFile file, internal::MappedFile::Open(seg.path));
  const internal::SegmentFrames frames = internal::FrameSegment(file.data(), file.size(), sha);
  const size_t n = frames.records.size();
  for (size_t k = 0; k < n; ++k) {
    const internal::RecordRef& ref = frames.records[newest_first ? n - 1 - k : k];
    LogRecord r;
    if (!internal::DecodeRecord(file.data() + ref.offset, ref.size, &r)) continue;
    r.segment = seg.number;
    r.offset = ref.offset;
    if (newest_first && r.seq < filter.min_seq) return false;
    if (!filter.Matches(r)) continue;
    if (!fn(r)) return false;
  }
  return true;
}

// The second a decision id names: a UUID version 7 (wire::NewDecisionId) begins with its
// Unix time in milliseconds (RFC 9562 §5.7). None for other ids (version 4, before
// 2026-11-28).
std::optional<core::Timestamp> DecisionIdTime(std::string_view id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[14] != '7' || id[18] != '-' ||
      id[23] != '-')
    return std::nullopt;
  uint64_t ms = 0;
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12}) {
    const int v = internal::HexNibble(id[i]);
    if (v < 0) return std::nullopt;
    ms = ms * 16 + static_cast<uint64_t>(v);
  }
  return static_cast<core::Timestamp>(ms / 1000);
}

// Which segments a scan need not read (doc/audit_log_format.md §7): a closed segment's
// record times are in its rotation's checkpoint, and one whose times all fall outside the
// filter's window holds no match. A decision id that names its second narrows it further;
// that is a guess (an id can be minted elsewhere), so a scan that finds nothing reads the
// segments the guess left out after all.
struct SegmentSkip {
  std::unordered_map<uint64_t, TimeRange> times;  // read only for a window or an id's time
  std::optional<core::Timestamp> from, to, id_time;

  explicit SegmentSkip(const std::string& dir, const RecordFilter& filter)
      : from(filter.from), to(filter.to), id_time(DecisionIdTime(filter.decision_id)) {
    if (from || to || id_time) times = internal::ReadSegmentTimes(dir);
  }
  bool Outside(uint64_t segment, bool by_id) const {
    auto it = times.find(segment);
    if (it == times.end()) return false;
    const TimeRange& t = it->second;
    if (by_id) return id_time && (t.last < *id_time || t.first > *id_time);
    return (from && t.last < *from) || (to && t.first > *to);
  }
};

// Whether a closed segment's search index (§10) shows it holds no record of the filter's
// person or item (a Bloom filter: no false "no").
bool IndexRulesOut(const internal::SegmentFile& seg, const RecordFilter& filter, FastSha256& sha) {
  if (filter.person.empty() && filter.item.empty()) return false;
  const internal::IndexRead index = internal::ReadSegmentIndex(seg, sha);
  if (index.state != internal::IndexRead::kValid) return false;
  return (!filter.person.empty() && !index.index->MayHavePerson(filter.person)) ||
         (!filter.item.empty() && !index.index->MayHaveItem(filter.item));
}

// ScanLog, ScanLogFrom and ScanLogNewestFirst.
absl::Status Scan(const std::string& dir, bool newest_first, uint64_t from_seq,
                  const RecordFilter& filter, const std::function<bool(const LogRecord&)>& fn,
                  ScanStats* stats) {
  EG_ASSIGN_OR_RETURN(auto segments, SegmentsToScan(dir));
  const SegmentSkip skip(dir, filter);
  FastSha256 sha;
  ScanStats counts;
  bool matched = false;
  const std::function<bool(const LogRecord&)> on_match = [&](const LogRecord& r) {
    matched = true;
    return fn(r);
  };
  std::vector<size_t> guessed_out;  // left out by the decision id's time only
  bool more = true;
  const size_t n = segments.size();
  for (size_t k = 0; k < n && more; ++k) {
    const size_t si = newest_first ? n - 1 - k : k;
    const internal::SegmentFile& seg = segments[si];
    if (!newest_first && from_seq > 1 && si + 1 < n) {
      uint64_t next_first = FirstSeqOf(segments[si + 1].path, sha);
      if (next_first != 0 && next_first <= from_seq) continue;  // all of it is before from_seq
    }
    // All of it after max_seq (0: an unreadable header; read it).
    if (newest_first && filter.max_seq != 0 && FirstSeqOf(seg.path, sha) > filter.max_seq) continue;
    if (skip.Outside(seg.number, false) || (si + 1 < n && IndexRulesOut(seg, filter, sha))) {
      ++counts.segments_skipped;
      continue;
    }
    if (skip.Outside(seg.number, true)) {
      guessed_out.push_back(si);
      continue;
    }
    ++counts.segments_read;
    EG_ASSIGN_OR_RETURN(more, ScanSegment(seg, newest_first, filter, sha, on_match));
  }
  if (!matched) {
    for (size_t si : guessed_out) {
      ++counts.segments_read;
      EG_ASSIGN_OR_RETURN(bool go_on, ScanSegment(segments[si], newest_first, filter, sha, on_match));
      if (!go_on) break;
    }
  } else {
    counts.segments_skipped += guessed_out.size();
  }
  if (stats != nullptr) *stats = counts;
  return absl::OkStatus();
}

}  // namespace

absl::Status ScanLog(const std::string& dir, const RecordFilter& filter,
                     const std::function<bool(const LogRecord&)>& fn, ScanStats* stats) {
  return Scan(dir, /*newest_first=*/false, filter.min_seq, filter, fn, stats);
}

absl::Status ScanLogFrom(const std::string& dir, uint64_t from_seq, const RecordFilter& filter,
                         const std::function<bool(const LogRecord&)>& fn) {
  return Scan(dir, /*newest_first=*/false, from_seq, filter, fn, nullptr);
}

absl::Status ScanLogNewestFirst(const std::string& dir, const RecordFilter& filter,
                                const std::function<bool(const LogRecord&)>& fn, ScanStats* stats) {
  return Scan(dir, /*newest_first=*/true, 0, filter, fn, stats);
}

absl::Status ScanLogAfter(const std::string& dir, const LogPosition& after,
                          const std::function<bool(const LogRecord&)>& fn) {
  EG_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(dir));
  auto seg = std::find_if(segments.begin(), segments.end(),
                          [&](const internal::SegmentFile& f) { return f.number == after.segment; });
  auto moved = [&](const std::string& why) {
    return absl::FailedPreconditionError(absl::StrCat(dir, ": after seq ", after.seq, " (segment ",
                                                      after.segment, " offset ", after.offset,
                                                      "): ", why));
  };
  if (seg == segments.end()) return moved("the segment is gone");
  FastSha256 sha;
  uint64_t seq = after.seq;  // the chain so far: its last record's seq and hash
  core::Sha256Digest head{};
  for (; seg != segments.end(); ++seg) {
    const bool newest = seg + 1 == segments.end();
    EG_ASSIGN_OR_RETURN(internal::MappedFile file,
                        internal::MappedFile::Open(seg->path, /*populate=*/false));
    const char* data = file.data();
    const size_t size = file.size();
    size_t pos = 0;
    if (seg->number == after.segment) {
      const size_t n = after.offset < size ? internal::FrameRecord(data + after.offset,
                                                                   size - after.offset)
                                           : 0;
      LogRecord r;
      if (n == 0 || !internal::DecodeRecord(data + after.offset, n, &r) || r.seq != after.seq ||
          r.hash != after.hash)
        return moved("no such record there any more");
      head = r.hash;
      pos = after.offset + n;
    } else {
      // A segment after it: its header continues the chain (a rotation being made shows a
      // header of zeros in the newest segment: nothing to read yet).
      internal::SegmentHeader h;
      if (size < internal::kSegmentHeaderSize || !internal::DecodeSegmentHeader(data, sha, &h)) {
        if (newest) return absl::OkStatus();
        return moved(absl::StrCat("segment ", seg->number, ": no valid header"));
      }
      if (h.segment != seg->number || h.first_seq != seq + 1 || h.prev != head)
        return moved(absl::StrCat("segment ", seg->number, " does not continue the chain"));
      pos = internal::kSegmentHeaderSize;
    }
    while (pos < size) {
      const size_t n = internal::FrameRecord(data + pos, size - pos);
      LogRecord r;
      const bool whole = n > 0 && internal::DecodeRecord(data + pos, n, &r) &&
                         r.seq == seq + 1 && r.prev_hash == head &&
                         internal::RecordIsWhole(data, size, pos, n, sha);
      if (!whole) {
        if (newest || internal::AllZero(data + pos, size - pos)) break;  // the end of the records
        return moved(absl::StrCat("segment ", seg->number, " offset ", pos, ": damaged"));
      }
      r.segment = seg->number;
      r.offset = pos;
      if (!fn(r)) return absl::OkStatus();
      seq = r.seq;
      head = r.hash;
      pos += n;
    }
    if (newest) break;
  }
  return absl::OkStatus();
}

std::string FormatProblem(const VerifyProblem& p) {
  std::string out;
  if (!p.segment_file.empty()) absl::StrAppend(&out, p.segment_file, " offset ", p.offset, " ");
  if (p.seq != 0) absl::StrAppend(&out, "seq ", p.seq, " ");
  if (!out.empty()) out.back() = ':', out += ' ';
  absl::StrAppend(&out, p.message);
  return out;
}

namespace {

std::string_view OutcomeName(uint8_t code) {
  if (code > 2) return "none";
  return core::Name(static_cast<core::Outcome>(code));
}

std::string_view KindName(RecordKind k) {
  return k == RecordKind::kDecision ? "decision" : "admin_change";
}


}  // namespace

void AppendRecordJson(const LogRecord& r, std::string* out) {
  absl::StrAppend(out, "{\"seq\":", r.seq, ",\"time\":\"", core::FormatTime(r.time),
                  "\",\"kind\":\"", std::string(KindName(r.kind)), "\",\"decision_id\":");
  internal::AppendJsonString(r.decision_id, out);
  *out += ",\"person\":";
  internal::AppendJsonString(r.person_id, out);
  *out += ",\"item\":";
  internal::AppendJsonString(r.item, out);
  absl::StrAppend(out, ",\"outcome\":\"", std::string(OutcomeName(r.outcome_code)),
                  "\",\"hash\":\"", core::HexEncode(r.hash), "\",\"record\":");
  if (r.payload.empty())
    *out += "null";
  else
    out->append(r.payload.data(), r.payload.size());
  *out += "}\n";
}

std::string RecordCsvHeader() {
  return "seq,time,kind,decision_id,person,item,outcome,hash,record\n";
}

void AppendRecordCsv(const LogRecord& r, std::string* out) {
  absl::StrAppend(out, r.seq, ",", core::FormatTime(r.time), ",", std::string(KindName(r.kind)),
                  ",", core::CsvQuote(r.decision_id), ",", core::CsvQuote(r.person_id), ",", core::CsvQuote(r.item), ",",
                  std::string(OutcomeName(r.outcome_code)), ",", core::HexEncode(r.hash), ",",
                  core::CsvQuote(r.payload), "\n");
}

std::vector<Checkpoint> ReadCheckpoints(const std::string& dir) {
  std::vector<Checkpoint> out;
  for (const auto& c : internal::ReadCheckpointFile(dir).checkpoints) out.push_back(c.checkpoint);
  return out;
}

absl::StatusOr<IndexReport> IndexLog(const std::string& dir, const IndexOptions& options) {
  EG_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(dir));
  IndexReport report;
  FastSha256 sha;
  for (size_t si = 0; si + 1 < segments.size(); ++si) {  // not the newest: it may still grow
    const internal::SegmentFile& seg = segments[si];
    if (internal::ReadSegmentIndex(seg, sha).state == internal::IndexRead::kValid) {
      ++report.present;
      continue;
    }
    if (options.before_segment && !options.before_segment())
      return absl::CancelledError(absl::StrCat(dir, ": indexing cancelled"));
    auto file = internal::MappedFile::Open(seg.path);
    if (!file.ok()) {
      if (absl::IsNotFound(file.status())) continue;  // pruned meanwhile
      return file.status();
    }
    const internal::SegmentFrames frames = internal::FrameSegment(file->data(), file->size(), sha);
    if (!frames.header_ok || frames.header.segment != seg.number || !frames.damaged.empty() ||
        frames.records.empty()) {
      ++report.damaged;
      continue;
    }
    internal::SegmentIndex index;
    index.segment = seg.number;
    index.size = file->size();
    index.first_seq = frames.header.first_seq;
    IndexKeys keys;
    for (const internal::RecordRef& ref : frames.records) {
      LogRecord r;
      if (internal::DecodeRecord(file->data() + ref.offset, ref.size, &r)) keys.Add(r);
    }
    index.Merge(keys.index);
    EG_RETURN_IF_ERROR(internal::WriteSegmentIndex(dir, index, sha));
    ++report.written;
  }
  return report;
}

absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, const VerifyOptions& options) {
  // Checkpoints first: a log being written may gain checkpoints (and the segments of their
  // records) meanwhile, and each checkpoint read then names a record the listing holds.
  internal::CheckpointFile cpfile = internal::ReadCheckpointFile(dir);
  EG_ASSIGN_OR_RETURN(auto segments, internal::ListSegments(dir));
  if (segments.empty() && !cpfile.exists)
    return absl::InvalidArgumentError(absl::StrCat(dir, ": not a decision log (no segments)"));
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  VerifyReport report;
  std::vector<Problem> problems;
  auto add = [&](uint64_t segment, const std::string& file, uint64_t offset, uint64_t seq,
                 std::string msg) {
    problems.push_back({segment, {file, offset, seq, std::move(msg)}});
  };

  // Hashes the checkpoints need, found during the pass.
  std::unordered_map<uint64_t, core::Sha256Digest> wanted;
  for (const auto& c : cpfile.checkpoints) wanted.emplace(c.checkpoint.seq, core::Sha256Digest{});
  for (const auto& c : options.extra_checkpoints) wanted.emplace(c.seq, core::Sha256Digest{});
  std::unordered_set<uint64_t> wanted_found;

  struct Anomaly {
    uint64_t segment;
    std::string file;
    uint64_t offset, seq, max_before;
  };
  struct DeferredLink {
    uint64_t segment;
    std::string file;
    uint64_t offset, seq;
    core::Sha256Digest prev;
  };
  std::vector<Anomaly> anomalies;
  std::vector<DeferredLink> deferred;
  // Segments whose records the pass does not verify (older than the retention anchor).
  std::unordered_set<uint64_t> unverified_segments;
  // The record times of each segment read, for the rotations' checkpoints (§5).
  std::unordered_map<uint64_t, TimeRange> segment_times;
  bool have_prev = false;
  uint64_t prev_seq = 0, max_seen = 0;
  core::Sha256Digest prev_hash{}, head{};
  const core::Sha256Digest zero{};
  uint64_t expected_segment = 1;
  FastSha256 sha;

  // Retention (doc §8): the newest anchor says records up to its seq were deleted on purpose;
  // the chain is proved from its hash on, like from the zero hash of an unpruned log.
  std::optional<internal::CheckpointLine> anchor;
  for (const auto& c : cpfile.checkpoints)
    if (c.pruned && (!anchor || c.checkpoint.seq > anchor->checkpoint.seq)) anchor = c;
  if (anchor) {
    expected_segment = anchor->checkpoint.segment + 1;
    have_prev = true;
    prev_seq = max_seen = anchor->checkpoint.seq;
    prev_hash = head = anchor->checkpoint.head;
    report.notes.push_back(absl::StrCat(
        Range(1, anchor->checkpoint.seq), " (segments 1..", anchor->checkpoint.segment,
        ") deleted by retention (", internal::kCheckpointFile, " line ", anchor->line,
        "); the chain is verified from that anchor on"));
  }

  for (size_t si = 0; si < segments.size(); ++si) {
    if (options.before_segment && !options.before_segment())
      return absl::CancelledError(absl::StrCat(dir, ": verify cancelled"));
    const auto& seg = segments[si];
    const bool newest = si + 1 == segments.size();
    std::string name = BaseName(seg.path);
    if (anchor && seg.number <= anchor->checkpoint.segment && !newest) {
      report.notes.push_back(absl::StrCat(name, ": older than the retention anchor (a prune cut "
                                          "short; opening the log finishes it); not verified"));
      unverified_segments.insert(seg.number);
      continue;
    }
    const size_t problems_before = problems.size();  // an index is written only without any
    std::optional<TimeRange> times;                   // of the segment's records
    if (seg.number != expected_segment) {
      add(seg.number, name, 0, 0,
          seg.number > expected_segment ? absl::StrCat("segments ", expected_segment, "..",
                                                       seg.number - 1, " missing (removed)")
                                        : absl::StrCat("unexpected segment number"));
    }
    expected_segment = seg.number + 1;
    EG_ASSIGN_OR_RETURN(internal::MappedFile file, internal::MappedFile::Open(seg.path));
    ++report.segments;
    if (internal::SegmentHeaderMissing(file.data(), file.size())) {
      const bool zeros = file.size() >= internal::kSegmentHeaderSize;
      report.bytes += zeros ? 0 : file.size();
      if (newest) {
        report.notes.push_back(
            zeros ? absl::StrCat(name, ": no segment header, only zeros (a rotation cut by a crash)")
                  : absl::StrCat(name, ": incomplete segment header (", file.size(),
                                 " bytes; a rotation cut by a crash)"));
      } else {
        add(seg.number, name, 0, 0,
            zeros ? "segment header erased (zeros)" : "shorter than a segment header (truncated)");
      }
      continue;
    }
    internal::SegmentFrames frames = internal::FrameSegment(file.data(), file.size(), sha);
    report.bytes += frames.data_end;  // not the zeros preallocated for records to come
    if (!frames.header_ok) {
      add(seg.number, name, 0, 0, "segment header damaged (edited)");
    } else if (frames.header.segment != seg.number) {
      add(seg.number, name, 0, 0,
          absl::StrCat("header names segment ", frames.header.segment, " (renamed or replaced)"));
    }
    for (size_t k = 0; k < frames.damaged.size(); ++k) {
      const auto& d = frames.damaged[k];
      if (newest && k + 1 == frames.damaged.size() && d.end == file.size()) {
        report.notes.push_back(absl::StrCat(name, " offset ", d.begin, ": ", d.end - d.begin,
                                            " bytes of an incomplete record at the end (a write "
                                            "cut by a crash; opening the log removes them)"));
      } else {
        add(seg.number, name, d.begin, 0,
            absl::StrCat("bytes ", d.begin, "..", d.end - 1,
                         " do not frame a record (damaged or edited)"));
      }
    }
    // A closed segment's search index (§10): checked against its records, written when asked.
    const bool closed = !newest && frames.header_ok;
    internal::IndexRead index;
    if (closed) index = internal::ReadSegmentIndex(seg, sha);
    std::optional<internal::SegmentIndex> built;
    if (closed && (index.state == internal::IndexRead::kValid || options.write_indexes)) {
      built.emplace();
      built->segment = seg.number;
      built->size = file.size();
      built->first_seq = frames.header.first_seq;
    }
    std::vector<RecInfo> infos = CheckRecords(file, frames.records, threads, built ? &*built : nullptr);
    for (size_t j = 0; j < frames.records.size(); ++j) {
      const auto& ref = frames.records[j];
      const RecInfo& r = infos[j];
      if (!r.decoded) {
        add(seg.number, name, ref.offset, 0, "record lengths inconsistent (edited)");
        continue;
      }
      ++report.records;
      TimeRange::Include(&times, r.time);
      if (!r.hash_ok) {
        add(seg.number, name, ref.offset, r.seq,
            "contents do not match the stored hash (record edited)");
      }
      if (j == 0 && frames.header_ok) {
        if (r.seq != frames.header.first_seq) {
          add(seg.number, name, ref.offset, r.seq,
              absl::StrCat("segment header says the first record is seq ", frames.header.first_seq,
                           " (records removed or reordered)"));
        } else if (r.prev != frames.header.prev) {
          add(seg.number, name, ref.offset, r.seq,
              "prev_hash differs from the segment header's (record replaced)");
        }
      }
      if (auto it = wanted.find(r.seq); it != wanted.end() && wanted_found.insert(r.seq).second)
        it->second = r.hash;
      if (r.seq == max_seen + 1) {
        if (r.seq == 1) {
          if (r.prev != zero)
            add(seg.number, name, ref.offset, r.seq,
                "the first record's prev_hash is not zero (record replaced)");
        } else if (have_prev && prev_seq + 1 == r.seq) {
          if (r.prev != prev_hash) {
            add(seg.number, name, ref.offset, r.seq,
                absl::StrCat("prev_hash does not match the hash of seq ", r.seq - 1, " (record ",
                             r.seq - 1, " replaced or the chain rewritten)"));
          }
        } else {
          deferred.push_back({seg.number, name, ref.offset, r.seq, r.prev});
        }
        max_seen = r.seq;
        head = r.hash;
      } else {
        anomalies.push_back({seg.number, name, ref.offset, r.seq, max_seen});
        deferred.push_back({seg.number, name, ref.offset, r.seq, r.prev});
        if (r.seq > max_seen) {
          max_seen = r.seq;
          head = r.hash;
        }
      }
      have_prev = true;
      prev_seq = r.seq;
      prev_hash = r.hash;
    }
    if (times) segment_times[seg.number] = *times;
    const std::string index_name = internal::IndexFileName(seg.number);
    if (index.state == internal::IndexRead::kInvalid)
      report.notes.push_back(absl::StrCat(index_name, ": ", index.why, "; searches do not use it"));
    if (built && index.state == internal::IndexRead::kValid) {
      ++report.indexes_checked;
      if (!index.index->SameKeys(*built))
        add(seg.number, "", 0, 0,
            absl::StrCat(index_name, ": its people and items differ from those of ", name,
                         "'s records (edited: a search by person or item would skip them)"));
    } else if (built && problems.size() == problems_before && !infos.empty()) {
      if (absl::Status w = internal::WriteSegmentIndex(dir, *built, sha); w.ok()) {
        ++report.indexes_written;
      } else {
        report.notes.push_back(absl::StrCat(index_name, ": not written: ", w.message()));
      }
    }
  }
  report.last_seq = max_seen;
  report.head = head;

  // A log that is in order (every record the one after the one before it) is proved by the
  // pass above, in memory that does not grow with its records (its checkpoints aside, one per
  // LogOptions::checkpoint_every records). Anything else (an anomaly, or a
  // record whose predecessor is not the record before it) takes a second pass over every
  // record, which counts the records in the ranges the anomalies need and finds the hashes
  // of the predecessors the deferred links need: memory in proportion to the problems, not
  // to the records (a daily verify of five years of records runs in the gateway).
  std::unordered_map<uint64_t, core::Sha256Digest> need;
  std::unordered_set<uint64_t> got;
  RangeCounter counter;
  if (!anomalies.empty() || !deferred.empty()) {
    for (const auto& a : anomalies) {
      if (a.seq > a.max_before + 1) counter.AddRange(a.max_before + 1, a.seq - 1);
      else counter.AddRange(a.seq, a.seq);
    }
    counter.Seal();
    for (const auto& d : deferred)
      if (d.seq > 1) need.emplace(d.seq - 1, core::Sha256Digest{});
    RecordFilter all;
    EG_RETURN_IF_ERROR(ScanLog(dir, all, [&](const LogRecord& r) {
      // Only the records the pass above read (not those of segments older than the anchor,
      // nor records appended to a live log since: their seqs are past every range).
      if (!unverified_segments.count(r.segment)) counter.Count(r.seq);
      if (auto it = need.find(r.seq); it != need.end() && got.insert(r.seq).second)
        it->second = r.hash;
      return true;
    }));
    counter.Sum();
  }

  // Order: name each removal, reordering and duplicate.
  for (const auto& a : anomalies) {
    if (a.seq > a.max_before + 1) {
      uint64_t lo = a.max_before + 1, hi = a.seq - 1;
      uint64_t present = counter.In(lo, hi);
      if (present == 0) {
        add(a.segment, a.file, a.offset, a.seq,
            absl::StrCat(Range(lo, hi), " missing before it (removed)"));
      } else if (present >= hi - lo + 1) {
        add(a.segment, a.file, a.offset, a.seq,
            absl::StrCat("out of order: it comes before ", Range(lo, hi), " (records reordered)"));
      } else {
        add(a.segment, a.file, a.offset, a.seq,
            absl::StrCat("out of order: of ", Range(lo, hi), " before it, ", hi - lo + 1 - present,
                         " are missing (removed) and the rest come later (reordered)"));
      }
    } else if (counter.In(a.seq, a.seq) > 1) {
      add(a.segment, a.file, a.offset, a.seq, "appears more than once (duplicated or inserted)");
    } else {
      add(a.segment, a.file, a.offset, a.seq,
          absl::StrCat("out of order: it comes after seq ", a.max_before, " (records reordered)"));
    }
  }
  // Links of records whose predecessor is not the record before them in the file.
  if (!deferred.empty()) {
    for (const auto& d : deferred) {
      if (d.seq == 1) {
        if (d.prev != zero)
          add(d.segment, d.file, d.offset, d.seq,
              "the first record's prev_hash is not zero (record replaced)");
        continue;
      }
      core::Sha256Digest want;
      if (anchor && d.seq - 1 == anchor->checkpoint.seq) {
        want = anchor->checkpoint.head;
      } else if (!got.count(d.seq - 1)) {
        continue;  // reported as missing
      } else {
        want = need[d.seq - 1];
      }
      if (want != d.prev) {
        add(d.segment, d.file, d.offset, d.seq,
            absl::StrCat("prev_hash does not match the hash of seq ", d.seq - 1, " (record ",
                         d.seq - 1, " replaced or the chain rewritten)"));
      }
    }
  }
  // Checkpoints.
  auto check = [&](const Checkpoint& c, const std::string& where) {
    if (anchor && c.seq <= anchor->checkpoint.seq) {
      // Its record was deleted by retention; only the anchor's own seq can still be compared.
      if (c.seq == anchor->checkpoint.seq) {
        ++report.checkpoints_checked;
        if (c.head != anchor->checkpoint.head)
          add(UINT64_MAX, "", 0, 0,
              absl::StrCat(where, ": checkpoint at seq ", c.seq,
                           ": the chain head differs from the retention anchor's"));
      }
      return;
    }
    ++report.checkpoints_checked;
    if (c.seq > max_seen) {
      add(UINT64_MAX, "", 0, 0,
          absl::StrCat(where, ": checkpoint at seq ", c.seq, " but the log ends at seq ", max_seen,
                       ": ", Range(max_seen + 1, c.seq), " removed"));
    } else if (!wanted_found.count(c.seq)) {
      add(UINT64_MAX, "", 0, 0,
          absl::StrCat(where, ": checkpoint at seq ", c.seq, ": that record is missing"));
    } else if (wanted[c.seq] != c.head) {
      add(UINT64_MAX, "", 0, 0,
          absl::StrCat(where, ": checkpoint at seq ", c.seq,
                       ": the chain head differs from the record's hash (the history up to seq ",
                       c.seq, " was rewritten)"));
    }
  };
  for (const auto& c : cpfile.checkpoints) {
    check(c.checkpoint, absl::StrCat(internal::kCheckpointFile, " line ", c.line));
    // A rotation's time range must be its segment's: searches skip segments by it.
    if (!c.checkpoint.segment_times) continue;
    auto it = segment_times.find(c.checkpoint.segment);
    if (it == segment_times.end()) continue;  // a segment not read (missing, pruned: reported)
    const TimeRange& said = *c.checkpoint.segment_times;
    if (said != it->second) {
      add(UINT64_MAX, "", 0, 0,
          absl::StrCat(internal::kCheckpointFile, " line ", c.line, ": segment ",
                       c.checkpoint.segment, " holds records of ", core::FormatTime(it->second.first),
                       "..", core::FormatTime(it->second.last), ", the line says ",
                       core::FormatTime(said.first), "..", core::FormatTime(said.last),
                       " (edited: a search by time would skip its records)"));
    }
  }
  for (const auto& [line, msg] : cpfile.bad_lines)
    add(UINT64_MAX, "", 0, 0, absl::StrCat(internal::kCheckpointFile, " line ", line, ": ", msg));
  for (const auto& c : options.extra_checkpoints) check(c, options.extra_checkpoints_name);
  if (segments.empty()) add(0, "", 0, 0, "every segment is missing (removed)");

  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    if (a.segment != b.segment) return a.segment < b.segment;
    return a.p.offset < b.p.offset;
  });
  for (auto& p : problems) report.problems.push_back(std::move(p.p));
  return report;
}

}  // namespace eargate::store
