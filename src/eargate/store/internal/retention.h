// Retention (doc/audit_log_format.md §8): deleting whole segments whose records are all older
// than the retention period, after writing an anchor checkpoint (the hash of the last deleted
// record, marked "pruned") from which `verify` proves the remaining chain. Private to
// eargate_store; run by the writer (it holds the directory's lock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "eargate/store/decision_log.h"

namespace eargate::store::internal {

struct PruneResult {
  uint64_t segments = 0;             // segment files deleted
  std::optional<Checkpoint> anchor;  // the anchor written (none when nothing new was pruned)
  // The first segment kept holds records up to this time: no call with a cutoff at or below
  // it can delete anything (0: unknown, every older segment was deleted).
  core::Timestamp kept_until = 0;
};

// Deletes, oldest first, segments numbered below `newest_segment` whose newest record is older
// than `cutoff`, stopping at the first one that is not. Before deleting, appends the anchor
// (seq and hash of the last record deleted, time `now`) to checkpoints.jsonl and syncs it; a
// prune cut short by a crash is finished by the next call. Fails with DataLoss, deleting
// nothing, when a segment to delete is damaged or the segment after it does not continue it.
absl::StatusOr<PruneResult> PruneSegments(const std::string& dir, core::Timestamp cutoff,
                                          uint64_t newest_segment, core::Timestamp now);

// A checkpoints.jsonl line for an anchor: a checkpoint with "pruned":true.
std::string FormatAnchorLine(const Checkpoint& c);

}  // namespace eargate::store::internal
