// Encoding and decoding of the decision log's segments and records (doc/audit_log_format.md).
// Private to eargate_store. Pure functions over bytes; thread-compatible.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "eargate/core/sha256.h"
#include "eargate/store/decision_log.h"

namespace eargate::store::internal {

inline constexpr char kSegmentMagic[8] = {'E', 'G', 'A', 'U', 'D', 'I', 'T', '\x01'};
inline constexpr size_t kSegmentHeaderSize = 8 + 8 + 8 + 32 + 32;  // 88
inline constexpr char kRecordMagic[4] = {'E', 'G', 'R', '\x01'};
inline constexpr size_t kRecordPrefix = 8;                           // magic + body_length
inline constexpr size_t kBodyFixed = 8 + 8 + 1 + 1 + 2 + 32;         // up to the strings
inline constexpr size_t kBodyMin = kBodyFixed + 2 + 2 + 2 + 4;       // 62
inline constexpr size_t kRecordMin = kRecordPrefix + kBodyMin + 32;  // 102
inline constexpr uint32_t kMaxBody = 16u << 20;
inline constexpr char kCheckpointFile[] = "checkpoints.jsonl";
inline constexpr char kLockFile[] = "LOCK";
// The next segment, zero-filled ahead by the writer (sync mode); renamed into place at a
// rotation. Not a segment: readers ignore it, and opening the log deletes it.
inline constexpr char kNextSegmentFile[] = "next-segment.zero";

inline void PutU16(std::string* s, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  s->append(b, 2);
}
inline void PutU32(std::string* s, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  s->append(b, 4);
}
inline void PutU64(std::string* s, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  s->append(b, 8);
}
inline uint16_t GetU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}
inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// SHA-256 for the per-record hashing of the writer and the verifier: OpenSSL's low-level
// SHA256_* functions on a context on the stack (the same SHA-NI/AVX code as EVP), without
// the EVP layer's provider dispatch and its allocation on every digest (~10 % of a
// 700-byte record's hash). Stateless; kept as a class so that callers share one type.
class FastSha256 {
 public:
  FastSha256() = default;
  FastSha256(const FastSha256&) = delete;
  FastSha256& operator=(const FastSha256&) = delete;
  core::Sha256Digest Digest(const char* data, size_t n);
};

// The 88-byte segment header.
std::string EncodeSegmentHeader(uint64_t segment, uint64_t first_seq,
                                const core::Sha256Digest& prev, FastSha256& sha);

struct SegmentHeader {
  uint64_t segment = 0;
  uint64_t first_seq = 0;
  core::Sha256Digest prev{};
};
// False when the magic or the header hash is wrong. REQUIRES: n >= kSegmentHeaderSize.
bool DecodeSegmentHeader(const char* p, FastSha256& sha, SegmentHeader* out);

// Appends the record's bytes to *out and returns its hash. Strings longer than their length
// fields allow must be rejected by the caller (ValidateEntry).
core::Sha256Digest EncodeRecord(const LogEntry& entry, uint64_t seq, const core::Sha256Digest& prev,
                                FastSha256& sha, std::string* out);
size_t EncodedSize(const LogEntry& entry);

// How a record at an offset frames: its total size, or 0 when the bytes there cannot be a
// record (wrong magic, a length out of range, past the end). Does not check the hash.
size_t FrameRecord(const char* p, size_t avail);

// Decodes a framed record of `size` bytes (from FrameRecord). False when the body's internal
// lengths are inconsistent. Fills everything but segment/offset; views point into p.
bool DecodeRecord(const char* p, size_t size, LogRecord* out);

// SHA-256 of a framed record's bytes before its stored hash.
inline core::Sha256Digest ComputeRecordHash(const char* p, size_t size, FastSha256& sha) {
  return sha.Digest(p, size - 32);
}
inline bool StoredHashMatches(const char* p, size_t size, FastSha256& sha) {
  core::Sha256Digest d = ComputeRecordHash(p, size, sha);
  return std::memcmp(d.data(), p + size - 32, 32) == 0;
}

std::string SegmentFileName(uint64_t segment);
// Parses "audit-0000000000000001.seg"; 0 when the name is not a segment's.
uint64_t ParseSegmentFileName(std::string_view name);

}  // namespace eargate::store::internal
