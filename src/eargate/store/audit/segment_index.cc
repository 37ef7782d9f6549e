#include "eargate/store/internal/segment_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "eargate/core/csv.h"

namespace eargate::store::internal {
namespace {

constexpr char kIndexMagic[8] = {'E', 'G', 'I', 'N', 'D', 'E', 'X', '\x01'};

// A key's probe positions come from one 64-bit hash of it (FNV-1a over the kind and the key,
// then the SplitMix64 finalizer) by double hashing. Fixed here, not std::hash: indexes are
// files that outlive the binary that wrote them.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t KeyHash(char kind, std::string_view key) {
  uint64_t h = 14695981039346656037ULL;
  auto step = [&h](unsigned char c) { h = (h ^ c) * 1099511628211ULL; };
  step(static_cast<unsigned char>(kind));
  step(0);
  for (char c : key) step(static_cast<unsigned char>(c));
  return Mix(h);
}

template <typename Fn>
void Probes(char kind, std::string_view key, Fn fn) {
  const uint64_t h1 = KeyHash(kind, key);
  const uint64_t h2 = Mix(h1 ^ 0x9e3779b97f4a7c15ULL) | 1;
  constexpr uint64_t kMask = (uint64_t{1} << SegmentIndex::kBitsLog2) - 1;
  for (uint32_t i = 0; i < SegmentIndex::kProbes; ++i) fn((h1 + i * h2) & kMask);
}

}  // namespace

void SegmentIndex::Add(char kind, std::string_view key) {
  Probes(kind, key, [this](uint64_t b) { bits_[b >> 6] |= uint64_t{1} << (b & 63); });
}

bool SegmentIndex::MayHave(char kind, std::string_view key) const {
  bool all = true;
  Probes(kind, key, [&](uint64_t b) { all = all && (bits_[b >> 6] >> (b & 63) & 1) != 0; });
  return all;
}

void SegmentIndex::Merge(const SegmentIndex& other) {
  for (size_t i = 0; i < bits_.size(); ++i) bits_[i] |= other.bits_[i];
}

std::string SegmentIndex::Encode(FastSha256& sha) const {
  std::string out;
  out.reserve(kEncodedSize);
  out.append(kIndexMagic, 8);
  PutU64(&out, segment);
  PutU64(&out, size);
  PutU64(&out, first_seq);
  PutU32(&out, kBitsLog2);
  PutU32(&out, kProbes);
  for (uint64_t w : bits_) PutU64(&out, w);
  const core::Sha256Digest h = sha.Digest(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

std::optional<SegmentIndex> SegmentIndex::Decode(std::string_view bytes, FastSha256& sha) {
  if (bytes.size() != kEncodedSize || std::memcmp(bytes.data(), kIndexMagic, 8) != 0) return std::nullopt;
  const core::Sha256Digest h = sha.Digest(bytes.data(), bytes.size() - 32);
  if (std::memcmp(h.data(), bytes.data() + bytes.size() - 32, 32) != 0) return std::nullopt;
  const char* p = bytes.data() + 8;
  SegmentIndex index;
  index.segment = GetU64(p);
  index.size = GetU64(p + 8);
  index.first_seq = GetU64(p + 16);
  if (GetU32(p + 24) != kBitsLog2 || GetU32(p + 28) != kProbes) return std::nullopt;
  p += 32;
  for (uint64_t& w : index.bits_) {
    w = GetU64(p);
    p += 8;
  }
  return index;
}

std::string IndexFileName(uint64_t segment) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "audit-%016llu.idx", static_cast<unsigned long long>(segment));
  return buf;
}

namespace {
std::string IndexPathOf(const SegmentFile& seg) {
  const size_t slash = seg.path.find_last_of('/');
  return (slash == std::string::npos ? std::string() : seg.path.substr(0, slash + 1)) +
         IndexFileName(seg.number);
}
}  // namespace

IndexRead ReadSegmentIndex(const SegmentFile& seg, FastSha256& sha) {
  IndexRead out;
  const std::string path = IndexPathOf(seg);
  auto bytes = core::ReadFile(path);
  if (!bytes.ok()) return out;  // none (or unreadable: the segment is read)
  out.state = IndexRead::kInvalid;
  auto index = SegmentIndex::Decode(*bytes, sha);
  if (!index) {
    out.why = "not an index (damaged or another version)";
    return out;
  }
  struct stat st;
  char header[kSegmentHeaderSize];
  SegmentHeader h;
  const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::fstat(fd, &st) == 0 &&
                  ::pread(fd, header, sizeof header, 0) == static_cast<ssize_t>(sizeof header) &&
                  DecodeSegmentHeader(header, sha, &h);
  if (fd >= 0) ::close(fd);
  if (!ok || index->segment != seg.number || index->size != static_cast<uint64_t>(st.st_size) ||
      index->first_seq != h.first_seq) {
    out.why = "describes another segment file (replaced since it was indexed)";
    return out;
  }
  out.state = IndexRead::kValid;
  out.index = std::move(index);
  return out;
}

absl::Status WriteSegmentIndex(const std::string& dir, const SegmentIndex& index, FastSha256& sha) {
  const std::string path = dir + "/" + IndexFileName(index.segment);
  const std::string tmp = path + ".tmp";
  const std::string bytes = index.Encode(sha);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", tmp);
  const absl::Status s = WriteAll(fd, bytes.data(), bytes.size(), tmp);
  ::close(fd);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const absl::Status r = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return r;
  }
  return absl::OkStatus();
}

}  // namespace eargate::store::internal
