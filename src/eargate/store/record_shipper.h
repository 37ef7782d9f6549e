// Shipping a node's decision-log records to the store (table decision_records, migration 003)
// so that records of every node of a fleet can be searched in one place (PostgreSQL; SQLite
// for a single machine). The node's log directory stays the record of truth: its hash chain is
// what `eargate audit verify` proves; the shipped rows carry each record's hash.
//
// Shipping is idempotent and resumable: it continues after the highest seq the store holds for
// the node, inserts with ON CONFLICT DO NOTHING, and first checks that the store's newest row
// for the node has the hash of the log's record at that seq (a different chain shipped under
// the same node name is refused, not mixed in). A shipper then remembers where that record is
// in the log, and its next ship reads only the bytes after it (the live segment is not read
// again from its start, nor its preallocated zeros), as long as the store's highest seq is
// still the one it shipped.
//
// Thread-compatible: one RecordShipper per thread (it holds one connection).
//
//   EG_ASSIGN_OR_RETURN(auto shipper, store::RecordShipper::Open(url, "node-a"));
//   EG_ASSIGN_OR_RETURN(auto shipped, shipper->ShipOnce("/var/lib/eargate/audit"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eargate/store/log_reader.h"

namespace eargate::store {

namespace internal {
class SqlDb;
}

// A record as the store holds it.
struct ShippedRecord {
  std::string node;
  uint64_t seq = 0;
  std::string hash;  // hex
  core::Timestamp time = 0;
  std::string kind;  // decision | admin_change
  std::string decision_id, person, item;
  std::string outcome;         // allow | review | deny | none
  std::string policy_version;  // the payload's "policy"; empty when it has none
  std::string payload;         // the JSON object as logged
};
// One JSON object with newline: node, then the fields of the export form (§7).
void AppendShippedJson(const ShippedRecord& r, std::string* out);

// A shipped record's place in a search's order (time, node, seq): where a page ended.
struct ShippedKey {
  core::Timestamp time = 0;
  std::string node;
  uint64_t seq = 0;
};

// Which shipped records a search returns: the log's filter plus the node ("": every node).
// (records.min_seq/max_seq bound each node's seq.)
struct ShippedFilter {
  RecordFilter records;
  std::string node;
  size_t limit = 0;           // 0: all
  bool newest_first = false;  // order by time, node, seq descending
  // Only records after this one in the search's order (before it, newest first): the next
  // page of a search that stopped at its limit.
  std::optional<ShippedKey> after;
};

class RecordShipper {
 public:
  // Opens the store (migrating it like Store::Open) for `node` (non-empty).
  static absl::StatusOr<std::unique_ptr<RecordShipper>> Open(std::string_view url,
                                                             std::string node);
  ~RecordShipper();

  // The highest seq the store holds for this node; 0 when none.
  absl::StatusOr<uint64_t> HighestShipped();

  struct ShipResult {
    uint64_t shipped = 0;   // rows inserted
    uint64_t last_seq = 0;  // the highest seq now in the store for the node
    bool resumed = false;   // read only the log after the record shipped last (ScanLogAfter)
    bool more = false;      // stopped at max_records: the log has more to ship
  };
  // Ships every record of the log in `dir` after HighestShipped(), in transactions of
  // `batch` records. FailedPrecondition when the store's newest row for the node does not
  // match the log (another chain under this node name).
  // At most `max_records` (0: no limit) a call, so that a caller far behind can stop between
  // calls (the gateway ships 100,000 at a time: a shutdown waits for one such pass, not for
  // the whole backlog).
  absl::StatusOr<ShipResult> ShipOnce(const std::string& dir, size_t batch = 1000,
                                      uint64_t max_records = 0);

  // How the store's copy of this node's records compares with the log in `dir`: row by row,
  // every field (hash, time, kind, decision id, person, item, outcome, policy version,
  // payload) against the record with that seq. The rows are a copy anyone with write access
  // to the store could edit; the log's hash chain is what `verify` proves, and this proves the
  // copy against it.
  struct CopyReport {
    uint64_t rows_checked = 0;  // rows compared with their record
    uint64_t older = 0;         // rows before the log's first record (pruned by retention)
    uint64_t last_shipped = 0;  // the highest seq in the store for the node
    uint64_t last_in_log = 0;   // (not read when the store holds no row of the node)
    uint64_t differing = 0;     // rows (or records) that differ or are missing
    // "seq 42: person, payload differ from the log" (at most kMaxDifferences of them).
    std::vector<std::string> differences;
    static constexpr size_t kMaxDifferences = 1000;
    bool faithful() const { return differing == 0; }
  };
  // Reads the log once and the node's rows in seq order, 10,000 seqs at a time. A record after the
  // highest seq shipped is not shipped yet (no difference); one before it without a row was
  // deleted from the copy; a row without a record (after the log's first) was added to it.
  absl::StatusOr<CopyReport> CheckCopy(const std::string& dir);

  // Records of the store matching `filter`, ordered by time, node, seq (ascending, or
  // descending with newest_first); fn returns false to stop.
  absl::Status Search(const ShippedFilter& filter,
                      const std::function<bool(const ShippedRecord&)>& fn);

 private:
  RecordShipper(std::unique_ptr<internal::SqlDb> db, std::string node);
  std::unique_ptr<internal::SqlDb> db_;
  std::string node_;
  // Where the log's record at the store's highest seq is, once a ship has found or shipped
  // it: the next ship reads only what follows (ScanLogAfter), not its segment again.
  std::optional<LogPosition> shipped_;
  std::string shipped_dir_;  // the log it is in
  std::string insert_sql_[9];  // INSERTs of 1, 2, 4, ... 256 rows, made when first needed
};

}  // namespace eargate::store
