#include "eargate/store/internal/retention.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "eargate/core/status.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/segment_index.h"
#include "eargate/store/internal/segment_io.h"

namespace eargate::store::internal {
namespace {

// The last whole record of a segment (seq, hash, time), or the header's predecessor when the
// segment holds no record.
struct SegmentEnd {
  uint64_t last_seq = 0;
  core::Sha256Digest last_hash{};
  core::Timestamp last_time = 0;
  bool has_records = false;
  SegmentHeader header;
};

absl::StatusOr<SegmentEnd> ReadSegmentEnd(const SegmentFile& seg, FastSha256& sha) {
  EG_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(seg.path));
  SegmentFrames frames = FrameSegment(file.data(), file.size(), sha);
  if (!frames.header_ok || frames.header.segment != seg.number || !frames.damaged.empty()) {
    return absl::DataLossError(absl::StrCat(
        seg.path, ": damaged; not pruned by retention (run `eargate audit verify`)"));
  }
  SegmentEnd end;
  end.header = frames.header;
  end.last_seq = frames.header.first_seq - 1;
  end.last_hash = frames.header.prev;
  if (!frames.records.empty()) {
    const RecordRef& ref = frames.records.back();
    LogRecord r;
    if (!DecodeRecord(file.data() + ref.offset, ref.size, &r) ||
        !StoredHashMatches(file.data() + ref.offset, ref.size, sha)) {
      return absl::DataLossError(absl::StrCat(
          seg.path, ": last record damaged; not pruned by retention (run `eargate audit verify`)"));
    }
    end.has_records = true;
    end.last_seq = r.seq;
    end.last_hash = r.hash;
    end.last_time = r.time;
  }
  return end;
}

}  // namespace

std::string FormatAnchorLine(const Checkpoint& c) {
  std::string line = FormatCheckpointLine(c);
  line.pop_back();  // newline
  line.pop_back();  // closing brace
  line += ",\"pruned\":true}\n";
  return line;
}

absl::StatusOr<PruneResult> PruneSegments(const std::string& dir, core::Timestamp cutoff,
                                          uint64_t newest_segment, core::Timestamp now) {
  PruneResult result;
  EG_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(dir));
  FastSha256 sha;
  // Segments already covered by an anchor (a prune cut short by a crash) go first.
  uint64_t anchored_through = 0;
  for (const auto& c : ReadCheckpointFile(dir).checkpoints)
    if (c.pruned) anchored_through = std::max(anchored_through, c.checkpoint.segment);
  std::vector<const SegmentFile*> doomed;
  std::optional<SegmentEnd> last;
  const SegmentFile* last_file = nullptr;
  size_t i = 0;
  for (; i < segments.size() && segments[i].number < newest_segment; ++i) {
    if (segments[i].number <= anchored_through) {
      doomed.push_back(&segments[i]);
      continue;
    }
    EG_ASSIGN_OR_RETURN(SegmentEnd end, ReadSegmentEnd(segments[i], sha));
    // Whole segments only: one whose newest record is within the retention period stays,
    // and so does everything after it.
    if (end.has_records && end.last_time >= cutoff) {
      result.kept_until = end.last_time;
      break;
    }
    last = end;
    last_file = &segments[i];
    doomed.push_back(&segments[i]);
  }
  if (doomed.empty()) return result;
  if (last) {
    // The anchor must be what the next segment continues from, or the chain would not verify.
    if (i >= segments.size()) return result;
    EG_ASSIGN_OR_RETURN(MappedFile next, MappedFile::Open(segments[i].path));
    SegmentHeader h;
    if (next.size() < kSegmentHeaderSize || !DecodeSegmentHeader(next.data(), sha, &h) ||
        h.first_seq != last->last_seq + 1 || h.prev != last->last_hash) {
      return absl::DataLossError(absl::StrCat(
          segments[i].path, " does not continue ", last_file->path,
          "; nothing pruned by retention (run `eargate audit verify`)"));
    }
    Checkpoint anchor;
    anchor.seq = last->last_seq;
    anchor.head = last->last_hash;
    anchor.segment = last_file->number;
    anchor.at = now;
    std::string path = dir + "/" + kCheckpointFile;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("open", path);
    std::string line = FormatAnchorLine(anchor);
    ssize_t w = ::write(fd, line.data(), line.size());
    int rc = w == static_cast<ssize_t>(line.size()) ? ::fdatasync(fd) : -1;
    int e = errno;
    ::close(fd);
    errno = e;
    if (rc != 0) return Errno("write", path);
    result.anchor = anchor;
  }
  for (const SegmentFile* s : doomed) {
    if (::unlink(s->path.c_str()) != 0 && errno != ENOENT) return Errno("unlink", s->path);
    ++result.segments;
    // Its search index (§10) goes with it; a leftover would only be ignored.
    (void)::unlink((dir + "/" + IndexFileName(s->number)).c_str());
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return result;
}

}  // namespace eargate::store::internal
