#include "eargate/store/internal/segment_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "eargate/core/csv.h"
#include "simdjson.h"

namespace eargate::store::internal {

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path, bool populate) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return absl::InternalError(absl::StrCat(path, ": ", std::strerror(e)));
  }
  MappedFile m;
  m.size_ = static_cast<size_t>(st.st_size);
  if (m.size_ > 0) {
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0),
                     fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat(path, ": mmap: ", std::strerror(e)));
    }
    ::madvise(p, m.size_, MADV_SEQUENTIAL);
    m.data_ = static_cast<const char*>(p);
  }
  ::close(fd);
  return m;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return absl::NotFoundError(absl::StrCat(dir, ": no such log directory"));
  std::vector<SegmentFile> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    uint64_t n = ParseSegmentFileName(entry.path().filename().string());
    if (n != 0) out.push_back({n, entry.path().string()});
  }
  if (ec) return absl::InternalError(absl::StrCat(dir, ": ", ec.message()));
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.number < b.number; });
  return out;
}

namespace {
constexpr char kZeros[4096] = {};
}  // namespace

bool AllZero(const char* p, size_t n) {
  for (; n >= sizeof kZeros; p += sizeof kZeros, n -= sizeof kZeros) {
    if (std::memcmp(p, kZeros, sizeof kZeros) != 0) return false;
  }
  return std::memcmp(p, kZeros, n) == 0;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(std::string(what), " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

size_t EndWithoutZeros(const char* data, size_t begin, size_t end) {
  while (end - begin >= sizeof kZeros && AllZero(data + end - sizeof kZeros, sizeof kZeros))
    end -= sizeof kZeros;
  while (end > begin && data[end - 1] == 0) --end;
  return end;
}

absl::StatusOr<bool> SegmentHeaderMissing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat(path, ": ", std::strerror(errno)));
  char buf[kSegmentHeaderSize];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  int e = errno;
  ::close(fd);
  if (n < 0) return absl::InternalError(absl::StrCat(path, ": ", std::strerror(e)));
  return SegmentHeaderMissing(buf, static_cast<size_t>(n));
}

bool SegmentHeaderMissing(const char* data, size_t size) {
  return size < kSegmentHeaderSize || AllZero(data, kSegmentHeaderSize);
}

bool RecordIsWhole(const char* data, size_t size, size_t pos, size_t n, FastSha256& sha) {
  const size_t next = pos + n;
  const bool next_plausible =
      next == size || (size - next >= 4 && std::memcmp(data + next, kRecordMagic, 4) == 0);
  return next_plausible || StoredHashMatches(data + pos, n, sha);
}

SegmentFrames FrameSegment(const char* data, size_t size, FastSha256& sha) {
  SegmentFrames f;
  if (size < kSegmentHeaderSize) {
    if (size > 0) f.damaged.push_back({0, size});
    return f;
  }
  f.header_ok = DecodeSegmentHeader(data, sha, &f.header);
  size_t pos = kSegmentHeaderSize;
  f.data_end = size;
  while (pos < size) {
    if (data[pos] == 0 && AllZero(data + pos, size - pos)) {
      f.data_end = pos;
      break;
    }
    size_t n = FrameRecord(data + pos, size - pos);
    if (n > 0) {
      size_t next = pos + n;
      if (RecordIsWhole(data, size, pos, n, sha)) {
        f.records.push_back({pos, static_cast<uint32_t>(n)});
        pos = next;
        continue;
      }
    }
    // Damaged: resume at the next offset where a whole, self-consistent record starts.
    size_t resume = size;
    for (size_t q = pos + 1; q + kRecordMin <= size; ++q) {
      const void* hit = std::memchr(data + q, kRecordMagic[0], size - q);
      if (hit == nullptr) break;
      q = static_cast<const char*>(hit) - data;
      if (q + kRecordMin > size) break;
      if (std::memcmp(data + q, kRecordMagic, 4) != 0) continue;
      size_t m = FrameRecord(data + q, size - q);
      if (m > 0 && StoredHashMatches(data + q, m, sha)) {
        resume = q;
        break;
      }
    }
    f.damaged.push_back({pos, resume});
    pos = resume;
  }
  return f;
}

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool ParseHexDigest(std::string_view hex, core::Sha256Digest* out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int hi = HexNibble(hex[2 * i]), lo = HexNibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

std::string FormatCheckpointLine(const Checkpoint& c) {
  std::string line = absl::StrCat("{\"seq\":", c.seq, ",\"head\":\"", core::HexEncode(c.head),
                                  "\",\"segment\":", c.segment, ",\"at\":\"", core::FormatTime(c.at), "\"");
  if (c.segment_times) {
    absl::StrAppend(&line, ",\"first_time\":\"", core::FormatTime(c.segment_times->first),
                    "\",\"last_time\":\"", core::FormatTime(c.segment_times->last), "\"");
  }
  line += "}\n";
  return line;
}

namespace {

// Parses one line of the checkpoint file; an error message when it is not a checkpoint.
std::optional<std::string> ParseCheckpointLine(std::string_view line, simdjson::dom::parser& parser,
                                               Checkpoint* c, bool* pruned) {
  simdjson::dom::element el;
  std::string_view head, at;
  int64_t seq = 0, segment = 0;
  if (parser.parse(line.data(), line.size()).get(el) != simdjson::SUCCESS ||
      el["seq"].get_int64().get(seq) != simdjson::SUCCESS ||
      el["head"].get_string().get(head) != simdjson::SUCCESS ||
      el["segment"].get_int64().get(segment) != simdjson::SUCCESS ||
      el["at"].get_string().get(at) != simdjson::SUCCESS || seq <= 0 ||
      !ParseHexDigest(head, &c->head)) {
    return "unreadable checkpoint";
  }
  c->seq = static_cast<uint64_t>(seq);
  c->segment = static_cast<uint64_t>(segment);
  c->at = core::ParseTime(at).value_or(0);
  // A rotation's checkpoint: the closed segment's record times (both or neither).
  std::string_view first, last;
  const bool has_first = el["first_time"].get_string().get(first) == simdjson::SUCCESS;
  const bool has_last = el["last_time"].get_string().get(last) == simdjson::SUCCESS;
  if (has_first || has_last) {
    if (!has_first || !has_last) return "unreadable segment time range";
    const std::optional<core::Timestamp> f = core::ParseTime(first), l = core::ParseTime(last);
    if (!f || !l || *f > *l) return "unreadable segment time range";
    c->segment_times = TimeRange{*f, *l};
  }
  if (el["pruned"].get_bool().get(*pruned) != simdjson::SUCCESS) *pruned = false;
  return std::nullopt;
}

// Calls fn(line number, line) for each complete line of the checkpoint file (a line without
// its newline is a write cut by a crash); false when there is no file.
template <typename Fn>
bool ForEachCheckpointLine(const std::string& dir, Fn fn) {
  auto text = core::ReadFile(dir + "/" + kCheckpointFile);
  if (!text.ok()) return false;
  int line_no = 0;
  size_t start = 0;
  const std::string& t = *text;
  while (start < t.size()) {
    size_t nl = t.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(t.data() + start, nl - start);
    ++line_no;
    start = nl + 1;
    if (!line.empty()) fn(line_no, line);
  }
  return true;
}

}  // namespace

CheckpointFile ReadCheckpointFile(const std::string& dir) {
  CheckpointFile out;
  simdjson::dom::parser parser;
  out.exists = ForEachCheckpointLine(dir, [&](int line_no, std::string_view line) {
    Checkpoint c;
    bool pruned = false;
    if (auto bad = ParseCheckpointLine(line, parser, &c, &pruned)) {
      out.bad_lines.push_back({line_no, std::move(*bad)});
    } else {
      out.checkpoints.push_back({line_no, c, pruned});
    }
  });
  return out;
}

std::unordered_map<uint64_t, TimeRange> ReadSegmentTimes(const std::string& dir) {
  std::unordered_map<uint64_t, TimeRange> out;
  simdjson::dom::parser parser;
  ForEachCheckpointLine(dir, [&](int, std::string_view line) {
    if (line.find("\"first_time\"") == std::string_view::npos) return;  // most lines: no parse
    Checkpoint c;
    bool pruned = false;
    if (ParseCheckpointLine(line, parser, &c, &pruned) || !c.segment_times) return;
    // Two lines for one segment (not written so, but readers are lenient): their union.
    std::optional<TimeRange> range;
    if (auto it = out.find(c.segment); it != out.end()) range = it->second;
    TimeRange::Include(&range, *c.segment_times);
    out[c.segment] = *range;
  });
  return out;
}

}  // namespace eargate::store::internal
