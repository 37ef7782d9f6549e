#include "eargate/store/internal/log_format.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, which allocates on
// every digest; they remain in libcrypto 3 and compute the same digest.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

namespace eargate::store::internal {
namespace {

void PutStr16(std::string* out, std::string_view s) {
  PutU16(out, static_cast<uint16_t>(s.size()));
  out->append(s);
}

}  // namespace

core::Sha256Digest FastSha256::Digest(const char* data, size_t n) {
  core::Sha256Digest d;
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, n) != 1 || SHA256_Final(d.data(), &ctx) != 1) {
    std::abort();  // OpenSSL without SHA-256: nothing sensible to do
  }
  return d;
}

std::string EncodeSegmentHeader(uint64_t segment, uint64_t first_seq,
                                const core::Sha256Digest& prev, FastSha256& sha) {
  std::string out;
  out.reserve(kSegmentHeaderSize);
  out.append(kSegmentMagic, 8);
  PutU64(&out, segment);
  PutU64(&out, first_seq);
  out.append(reinterpret_cast<const char*>(prev.data()), 32);
  core::Sha256Digest h = sha.Digest(out.data(), out.size());
  out.append(reinterpret_cast<const char*>(h.data()), 32);
  return out;
}

bool DecodeSegmentHeader(const char* p, FastSha256& sha, SegmentHeader* out) {
  if (std::memcmp(p, kSegmentMagic, 8) != 0) return false;
  core::Sha256Digest h = sha.Digest(p, 56);
  if (std::memcmp(h.data(), p + 56, 32) != 0) return false;
  out->segment = GetU64(p + 8);
  out->first_seq = GetU64(p + 16);
  std::memcpy(out->prev.data(), p + 24, 32);
  return true;
}

size_t EncodedSize(const LogEntry& e) {
  return kRecordMin + e.decision_id.size() + e.person_id.size() + e.item.size() + e.payload.size();
}

core::Sha256Digest EncodeRecord(const LogEntry& e, uint64_t seq, const core::Sha256Digest& prev,
                                FastSha256& sha, std::string* out) {
  size_t start = out->size();
  size_t body = EncodedSize(e) - kRecordPrefix - 32;
  out->append(kRecordMagic, 4);
  PutU32(out, static_cast<uint32_t>(body));
  PutU64(out, seq);
  PutU64(out, static_cast<uint64_t>(e.time));
  out->push_back(static_cast<char>(e.kind));
  out->push_back(static_cast<char>(e.outcome ? static_cast<uint8_t>(*e.outcome) : 255));
  PutU16(out, 0);
  out->append(reinterpret_cast<const char*>(prev.data()), 32);
  PutStr16(out, e.decision_id);
  PutStr16(out, e.person_id);
  PutStr16(out, e.item);
  PutU32(out, static_cast<uint32_t>(e.payload.size()));
  out->append(e.payload);
  core::Sha256Digest h = sha.Digest(out->data() + start, out->size() - start);
  out->append(reinterpret_cast<const char*>(h.data()), 32);
  return h;
}

size_t FrameRecord(const char* p, size_t avail) {
  if (avail < kRecordMin || std::memcmp(p, kRecordMagic, 4) != 0) return 0;
  uint32_t body = GetU32(p + 4);
  if (body < kBodyMin || body > kMaxBody) return 0;
  size_t size = kRecordPrefix + body + 32;
  return size <= avail ? size : 0;
}

bool DecodeRecord(const char* p, size_t size, LogRecord* r) {
  const char* b = p + kRecordPrefix;
  const char* end = p + size - 32;
  r->seq = GetU64(b);
  r->time = static_cast<core::Timestamp>(GetU64(b + 8));
  r->kind = static_cast<RecordKind>(static_cast<uint8_t>(b[16]));
  r->outcome_code = static_cast<uint8_t>(b[17]);
  std::memcpy(r->prev_hash.data(), b + 20, 32);
  const char* q = b + kBodyFixed;
  std::string_view* fields[3] = {&r->decision_id, &r->person_id, &r->item};
  for (std::string_view* f : fields) {
    if (end - q < 2) return false;
    uint16_t n = GetU16(q);
    q += 2;
    if (end - q < n) return false;
    *f = std::string_view(q, n);
    q += n;
  }
  if (end - q < 4) return false;
  uint32_t n = GetU32(q);
  q += 4;
  if (static_cast<size_t>(end - q) != n) return false;
  r->payload = std::string_view(q, n);
  std::memcpy(r->hash.data(), end, 32);
  return true;
}

std::string SegmentFileName(uint64_t segment) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "audit-%016llu.seg", static_cast<unsigned long long>(segment));
  return buf;
}

uint64_t ParseSegmentFileName(std::string_view name) {
  if (name.size() != 6 + 16 + 4 || name.substr(0, 6) != "audit-" || name.substr(22) != ".seg")
    return 0;
  uint64_t v = 0;
  for (char c : name.substr(6, 16)) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace eargate::store::internal
