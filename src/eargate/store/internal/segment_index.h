// A closed segment's search index (doc/audit_log_format.md §10): a Bloom filter of the person
// ids and items of its records, in audit-<n>.idx beside the segment, so that a search for one
// person or item skips the segments that cannot hold them. Written by verify when asked
// (VerifyOptions::write_indexes: the gateway's background verification, `eargate audit verify
// --index`), checked by every verify against the records, never required: a segment without
// a valid index is read. Private to eargate_store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/segment_io.h"

namespace eargate::store::internal {

class SegmentIndex {
 public:
  // 2^19 bits (64 KiB), 7 probes: about 1 % false positives at 50,000 distinct keys (a 64 MiB
  // segment holds ~90,000 records, mostly of far fewer people).
  static constexpr uint32_t kBitsLog2 = 19;
  static constexpr uint32_t kProbes = 7;
  static constexpr size_t kEncodedSize = 8 + 8 * 3 + 4 * 2 + (size_t{1} << kBitsLog2) / 8 + 32;

  SegmentIndex() : bits_((size_t{1} << kBitsLog2) / 64, 0) {}

  // The segment file it describes, as it was when indexed (a closed segment never changes).
  uint64_t segment = 0, size = 0, first_seq = 0;

  void AddPerson(std::string_view id) { Add('p', id); }
  void AddItem(std::string_view id) { Add('i', id); }
  bool MayHavePerson(std::string_view id) const { return MayHave('p', id); }
  bool MayHaveItem(std::string_view id) const { return MayHave('i', id); }
  void Merge(const SegmentIndex& other);  // the keys of both
  bool SameKeys(const SegmentIndex& other) const { return bits_ == other.bits_; }

  std::string Encode(FastSha256& sha) const;
  // Nullopt when the bytes are not an index (another version, damaged: its hash).
  static std::optional<SegmentIndex> Decode(std::string_view bytes, FastSha256& sha);

 private:
  void Add(char kind, std::string_view key);
  bool MayHave(char kind, std::string_view key) const;
  std::vector<uint64_t> bits_;
};

std::string IndexFileName(uint64_t segment);  // "audit-0000000000000001.idx"

// What is beside a segment: no index file, one that is not an index (damaged) or describes
// another file (the segment replaced since), or a valid index of the segment as it is now.
struct IndexRead {
  enum State { kNone, kInvalid, kValid } state = kNone;
  std::optional<SegmentIndex> index;  // kValid
  std::string why;                    // kInvalid
};
IndexRead ReadSegmentIndex(const SegmentFile& seg, FastSha256& sha);

// Writes <dir>/audit-<n>.idx (a temporary file renamed into place; not synced: a lost index
// is rebuilt by the next verify that writes them).
absl::Status WriteSegmentIndex(const std::string& dir, const SegmentIndex& index, FastSha256& sha);

}  // namespace eargate::store::internal
