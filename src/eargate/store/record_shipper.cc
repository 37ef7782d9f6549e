#include "eargate/store/record_shipper.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "eargate/core/csv.h"
#include "eargate/core/status.h"
#include "eargate/core/strings.h"
#include "eargate/store/internal/person_json.h"
#include "eargate/store/internal/sql_db.h"
#include "eargate/store/store.h"
#include "simdjson.h"

namespace eargate::store {
namespace {

using internal::SqlValue;

std::string_view OutcomeName(uint8_t code) {
  if (code > 2) return "none";
  return core::Name(static_cast<core::Outcome>(code));
}

std::string_view KindName(RecordKind k) {
  return k == RecordKind::kDecision ? "decision" : "admin_change";
}

int64_t ToInt(const std::optional<std::string>& v) {
  int64_t n = 0;
  if (v && absl::SimpleAtoi(*v, &n)) return n;
  return 0;
}

// A row of kColumns.
ShippedRecord FromRow(const std::vector<std::optional<std::string>>& row) {
  ShippedRecord r;
  r.node = row[0].value_or("");
  r.seq = static_cast<uint64_t>(ToInt(row[1]));
  r.hash = row[2].value_or("");
  r.time = ToInt(row[3]);
  r.kind = row[4].value_or("");
  r.decision_id = row[5].value_or("");
  r.person = row[6].value_or("");
  r.item = row[7].value_or("");
  r.outcome = row[8].value_or("");
  r.policy_version = row[9].value_or("");
  r.payload = row[10].value_or("");
  return r;
}

// The payload's "policy" (the policy version), or "".
std::string PolicyVersion(simdjson::dom::parser& parser, std::string_view payload) {
  simdjson::dom::element doc;
  std::string_view v;
  if (parser.parse(payload.data(), payload.size()).get(doc) != simdjson::SUCCESS) return "";
  if (doc["policy"].get_string().get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

// A log record as the store holds it (what ShipOnce inserts and CheckCopy compares).
ShippedRecord ToShipped(const std::string& node, const LogRecord& r, simdjson::dom::parser& parser) {
  ShippedRecord s;
  s.node = node;
  s.seq = r.seq;
  s.hash = core::HexEncode(r.hash);
  s.time = r.time;
  s.kind = std::string(KindName(r.kind));
  s.decision_id = std::string(r.decision_id);
  s.person = std::string(r.person_id);
  s.item = std::string(r.item);
  s.outcome = std::string(OutcomeName(r.outcome_code));
  s.policy_version = PolicyVersion(parser, r.payload);
  s.payload = std::string(r.payload);
  return s;
}

constexpr const char* kColumns =
    "node, seq, hash, time, kind, decision_id, person, item, outcome, policy_version, payload";
constexpr size_t kColumnCount = 11;

// Rows go to the store up to kRowsPerInsert in one INSERT statement: one round trip for them
// rather than one per row (to PostgreSQL one INSERT a row shipped ~9 k records/s, fewer than a
// busy node writes). A shorter remainder goes as statements of powers of two, so the SQLite
// backend's statement cache holds at most nine shapes. 256 x 11 parameters stays under
// SQLite's 32766 and PostgreSQL's 65535.
constexpr size_t kRowsPerInsert = 256;

// INSERT of `rows` records: ($1..$11), ($12..$22), ...
std::string InsertSql(size_t rows) {
  std::string sql = absl::StrCat("INSERT INTO decision_records (", kColumns, ") VALUES ");
  for (size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (size_t c = 1; c <= kColumnCount; ++c) {
      absl::StrAppend(&sql, c == 1 ? "$" : ", $", r * kColumnCount + c);
    }
    sql += ")";
  }
  sql += " ON CONFLICT (node, seq) DO NOTHING";
  return sql;
}

}  // namespace

void AppendShippedJson(const ShippedRecord& r, std::string* out) {
  *out += "{\"node\":";
  internal::AppendJsonString(r.node, out);
  absl::StrAppend(out, ",\"seq\":", r.seq, ",\"time\":\"", core::FormatTime(r.time),
                  "\",\"kind\":\"", r.kind, "\",\"decision_id\":");
  internal::AppendJsonString(r.decision_id, out);
  *out += ",\"person\":";
  internal::AppendJsonString(r.person, out);
  *out += ",\"item\":";
  internal::AppendJsonString(r.item, out);
  absl::StrAppend(out, ",\"outcome\":\"", r.outcome, "\",\"hash\":\"", r.hash, "\",\"record\":");
  if (r.payload.empty())
    *out += "null";
  else
    *out += r.payload;
  *out += "}\n";
}

RecordShipper::RecordShipper(std::unique_ptr<internal::SqlDb> db, std::string node)
    : db_(std::move(db)), node_(std::move(node)) {}
RecordShipper::~RecordShipper() = default;

absl::StatusOr<std::unique_ptr<RecordShipper>> RecordShipper::Open(std::string_view url,
                                                                   std::string node) {
  if (node.empty()) return absl::InvalidArgumentError("node: must not be empty");
  // Store::Open applies the migrations (decision_records is migration 003).
  EG_RETURN_IF_ERROR(Store::Open(url).status());
  std::unique_ptr<internal::SqlDb> db;
  if (url.substr(0, 9) == "sqlite://") {
    EG_ASSIGN_OR_RETURN(db, internal::OpenSqlite(std::string(url.substr(9))));
  } else {
    EG_ASSIGN_OR_RETURN(db, internal::OpenPostgres(std::string(url)));
  }
  return std::unique_ptr<RecordShipper>(new RecordShipper(std::move(db), std::move(node)));
}

absl::StatusOr<uint64_t> RecordShipper::HighestShipped() {
  EG_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT COALESCE(MAX(seq), 0) FROM decision_records "
                                            "WHERE node = $1",
                                            {node_}));
  return rows.empty() ? 0 : static_cast<uint64_t>(ToInt(rows[0][0]));
}

absl::StatusOr<RecordShipper::ShipResult> RecordShipper::ShipOnce(const std::string& dir,
                                                                  size_t batch,
                                                                  uint64_t max_records) {
  if (batch == 0) batch = 1;
  EG_ASSIGN_OR_RETURN(uint64_t highest, HighestShipped());
  ShipResult result;
  result.last_seq = highest;
  std::vector<std::vector<SqlValue>> pending;
  LogPosition pending_last;  // where the last pending record is
  absl::Status failed;
  auto flush = [&]() -> absl::Status {
    if (pending.empty()) return absl::OkStatus();
    EG_RETURN_IF_ERROR(db_->Begin());
    std::vector<SqlValue> params;
    for (size_t i = 0; i < pending.size();) {
      const size_t rows = std::min(kRowsPerInsert, std::bit_floor(pending.size() - i));
      std::string& sql = insert_sql_[static_cast<size_t>(std::countr_zero(rows))];
      if (sql.empty()) sql = InsertSql(rows);
      params.clear();
      for (size_t r = i; r < i + rows; ++r) {
        for (SqlValue& v : pending[r]) params.push_back(std::move(v));
      }
      auto n = db_->Exec(sql, params);
      if (!n.ok()) {
        (void)db_->ExecScript("ROLLBACK");
        return n.status();
      }
      result.shipped += static_cast<uint64_t>(*n);
      i += rows;
    }
    absl::Status s = db_->ExecScript("COMMIT");
    if (!s.ok()) {
      (void)db_->ExecScript("ROLLBACK");
      return s;
    }
    result.last_seq = pending_last.seq;
    shipped_ = pending_last;
    pending.clear();
    return absl::OkStatus();
  };
  simdjson::dom::parser parser;
  uint64_t taken = 0;  // records queued by this call
  // Queues a record after the store's highest for the next transaction.
  auto ship = [&](const LogRecord& r) {
    ShippedRecord s = ToShipped(node_, r, parser);
    std::vector<SqlValue> params;
    params.reserve(kColumnCount);
    params.emplace_back(std::move(s.node));
    params.emplace_back(static_cast<int64_t>(s.seq));
    params.emplace_back(std::move(s.hash));
    params.emplace_back(static_cast<int64_t>(s.time));
    params.emplace_back(std::move(s.kind));
    params.emplace_back(std::move(s.decision_id));
    params.emplace_back(std::move(s.person));
    params.emplace_back(std::move(s.item));
    params.emplace_back(std::move(s.outcome));
    if (s.policy_version.empty())
      params.emplace_back(nullptr);
    else
      params.emplace_back(std::move(s.policy_version));
    params.emplace_back(std::move(s.payload));
    pending.push_back(std::move(params));
    pending_last = LogPosition{r.seq, r.hash, r.segment, r.offset};
    ++taken;
    if (pending.size() >= batch) {
      failed = flush();
      if (!failed.ok()) return false;
    }
    if (max_records > 0 && taken >= max_records) {
      result.more = true;  // (or the log ends right here: the next call finds nothing)
      return false;
    }
    return true;
  };

  // Resuming after the record this shipper shipped (or checked) last: only the bytes after it.
  if (shipped_ && shipped_dir_ == dir && shipped_->seq == highest && highest > 0) {
    absl::Status s = ScanLogAfter(dir, *shipped_, ship);
    if (!failed.ok()) return failed;
    if (s.ok()) {
      EG_RETURN_IF_ERROR(flush());
      result.resumed = true;
      return result;
    }
    if (!absl::IsFailedPrecondition(s)) return s;
    // The record moved (a pruned or replaced segment) or a closed segment is damaged after
    // it: what was read is shipped, and the scan below reads the log around the damage.
    EG_RETURN_IF_ERROR(flush());
    highest = result.last_seq;
  }
  shipped_.reset();
  shipped_dir_ = dir;

  std::string highest_hash;
  if (highest > 0) {
    EG_ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT hash FROM decision_records WHERE node = $1 "
                                              "AND seq = $2",
                                              {node_, static_cast<int64_t>(highest)}));
    if (!rows.empty() && rows[0][0]) highest_hash = *rows[0][0];
  }
  bool checked = highest == 0;
  uint64_t log_last = 0;
  EG_RETURN_IF_ERROR(ScanLogFrom(dir, highest, {}, [&](const LogRecord& r) {
    log_last = r.seq;
    if (r.seq <= highest) {
      if (r.seq == highest) {
        if (core::HexEncode(r.hash) != highest_hash) {
          failed = absl::FailedPreconditionError(absl::StrCat(
              "the store's record seq ", highest, " of node '", node_,
              "' differs from the log's (", dir, "): another log was shipped under this node name"));
          return false;
        }
        checked = true;
        shipped_ = LogPosition{r.seq, r.hash, r.segment, r.offset};
      }
      return true;
    }
    return ship(r);
  }));
  if (!failed.ok()) return failed;
  EG_RETURN_IF_ERROR(flush());
  if (!checked && log_last < highest) {
    shipped_.reset();
    return absl::FailedPreconditionError(
        absl::StrCat("the store holds records of node '", node_, "' up to seq ", highest,
                     " but the log in ", dir, " ends at seq ", log_last,
                     ": another log was shipped under this node name"));
  }
  return result;
}

absl::Status RecordShipper::Search(const ShippedFilter& f,
                                   const std::function<bool(const ShippedRecord&)>& fn) {
  std::string sql = absl::StrCat("SELECT ", kColumns, " FROM decision_records WHERE 1 = 1");
  std::vector<SqlValue> params;
  auto where = [&](std::string_view cond, SqlValue v) {
    params.push_back(std::move(v));
    absl::StrAppend(&sql, " AND ", std::string(cond), " $", params.size());
  };
  if (!f.node.empty()) where("node =", f.node);
  if (!f.records.decision_id.empty()) where("decision_id =", f.records.decision_id);
  if (!f.records.person.empty()) where("person =", f.records.person);
  if (!f.records.item.empty()) where("item =", f.records.item);
  if (f.records.outcome)
    where("outcome =", std::string(core::Name(*f.records.outcome)));
  if (f.records.kind) where("kind =", std::string(KindName(*f.records.kind)));
  if (f.records.from) where("time >=", static_cast<int64_t>(*f.records.from));
  if (f.records.to) where("time <=", static_cast<int64_t>(*f.records.to));
  if (f.records.min_seq != 0) where("seq >=", static_cast<int64_t>(f.records.min_seq));
  if (f.records.max_seq != 0) where("seq <=", static_cast<int64_t>(f.records.max_seq));
  if (f.after) {
    params.push_back(static_cast<int64_t>(f.after->time));
    params.push_back(f.after->node);
    params.push_back(static_cast<int64_t>(f.after->seq));
    const size_t n = params.size();
    absl::StrAppend(&sql, " AND (time, node, seq) ", f.newest_first ? "<" : ">", " ($", n - 2,
                    ", $", n - 1, ", $", n, ")");
  }
  sql += f.newest_first ? " ORDER BY time DESC, node DESC, seq DESC" : " ORDER BY time, node, seq";
  if (f.limit > 0) absl::StrAppend(&sql, " LIMIT ", f.limit);
  EG_ASSIGN_OR_RETURN(auto rows, db_->Query(sql, params));
  for (const auto& row : rows) {
    if (!fn(FromRow(row))) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<RecordShipper::CopyReport> RecordShipper::CheckCopy(const std::string& dir) {
  CopyReport report;
  EG_ASSIGN_OR_RETURN(report.last_shipped, HighestShipped());
  if (report.last_shipped == 0) return report;  // nothing of this node in the store
  // Rows by ranges of kChunk seqs (a node's seqs are consecutive): on a table whose
  // statistics lag a bulk of shipping, PostgreSQL planned "seq > $2 ORDER BY seq LIMIT n" as a
  // sort of every row after $2 (196 ms a chunk of 10,000 at 247 k rows, against 27 ms).
  constexpr uint64_t kChunk = 10000;
  const std::string sql = absl::StrCat("SELECT ", kColumns, " FROM decision_records WHERE node = $1 "
                                       "AND seq > $2 AND seq <= $3 ORDER BY seq");
  std::vector<ShippedRecord> rows;
  size_t next = 0;
  uint64_t fetched_to = 0;  // rows up to this seq were fetched
  absl::Status failed;
  // The next row in seq order up to the highest seq at the start (rows shipped while this runs
  // are of records the scan may not have seen), or null after the last (or a failed query:
  // `failed`).
  auto row = [&]() -> ShippedRecord* {
    while (next == rows.size() && fetched_to < report.last_shipped && failed.ok()) {
      const uint64_t to = std::min(report.last_shipped, fetched_to + kChunk);
      auto got = db_->Query(sql, {node_, static_cast<int64_t>(fetched_to), static_cast<int64_t>(to)});
      rows.clear();
      next = 0;
      fetched_to = to;
      if (!got.ok()) failed = got.status();
      else for (const auto& r : *got) rows.push_back(FromRow(r));
    }
    return next < rows.size() ? &rows[next] : nullptr;
  };
  auto differ = [&](uint64_t seq, std::string what) {
    ++report.differing;
    if (report.differences.size() < CopyReport::kMaxDifferences)
      report.differences.push_back(absl::StrCat("seq ", seq, ": ", what));
  };
  simdjson::dom::parser parser;
  uint64_t log_first = 0;
  EG_RETURN_IF_ERROR(ScanLog(dir, {}, [&](const LogRecord& r) {
    if (log_first == 0) log_first = r.seq;
    report.last_in_log = r.seq;
    for (ShippedRecord* s = row(); s != nullptr && s->seq < r.seq; ++next, s = row()) {
      if (s->seq < log_first) ++report.older;
      else differ(s->seq, "in the store's copy, not in the log");
    }
    if (!failed.ok()) return false;
    ShippedRecord* s = row();
    if (s == nullptr || s->seq > r.seq) {
      if (r.seq < report.last_shipped) differ(r.seq, "in the log, missing from the store's copy");
      return true;
    }
    const ShippedRecord want = ToShipped(node_, r, parser);
    std::vector<std::string_view> fields;
    if (s->hash != want.hash) fields.push_back("hash");
    if (s->time != want.time) fields.push_back("time");
    if (s->kind != want.kind) fields.push_back("kind");
    if (s->decision_id != want.decision_id) fields.push_back("decision_id");
    if (s->person != want.person) fields.push_back("person");
    if (s->item != want.item) fields.push_back("item");
    if (s->outcome != want.outcome) fields.push_back("outcome");
    if (s->policy_version != want.policy_version) fields.push_back("policy_version");
    if (s->payload != want.payload) fields.push_back("payload");
    if (!fields.empty())
      differ(r.seq, absl::StrCat(core::StrJoin(fields, ", "),
                                 fields.size() == 1 ? " differs" : " differ", " from the log"));
    ++report.rows_checked;
    ++next;
    return true;
  }));
  for (ShippedRecord* s = row(); s != nullptr; ++next, s = row()) {
    if (report.last_in_log == 0 || s->seq < log_first) ++report.older;
    else differ(s->seq, "in the store's copy, after the log's last record");
  }
  if (!failed.ok()) return failed;
  return report;
}

}  // namespace eargate::store
