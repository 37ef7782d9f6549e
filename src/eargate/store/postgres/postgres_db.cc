// SqlDb on PostgreSQL through libpq: one connection, text-format parameters and results.
#include <libpq-fe.h>

#include <atomic>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "eargate/store/internal/sql_db.h"

namespace eargate::store::internal {
namespace {

// Named prepared statements live in a server session: behind a pooler that gives each
// transaction another session (PgBouncer's transaction mode) they are not found. The first
// "prepared statement does not exist" (SQLSTATE 26000) turns preparing off for the process;
// that statement fails (Unavailable, its transaction aborted) and callers retry as after any
// lost connection.
std::atomic<bool> g_prepare{true};

class PostgresDb final : public SqlDb {
 public:
  explicit PostgresDb(PGconn* conn) : conn_(conn) {}
  ~PostgresDb() override { PQfinish(conn_); }
  std::string_view backend() const override { return "postgresql"; }

  absl::StatusOr<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    PGresult* res = nullptr;
    absl::Status s = Run(sql, params, &res);
    if (!s.ok()) return s;
    const char* n = PQcmdTuples(res);
    int64_t changes = (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
    PQclear(res);
    return changes;
  }

  absl::StatusOr<std::vector<SqlRow>> Query(std::string_view sql,
                                            const std::vector<SqlValue>& params) override {
    PGresult* res = nullptr;
    absl::Status s = Run(sql, params, &res);
    if (!s.ok()) return s;
    std::vector<SqlRow> rows;
    int nr = PQntuples(res), nc = PQnfields(res);
    rows.reserve(nr);
    for (int r = 0; r < nr; ++r) {
      SqlRow row;
      for (int c = 0; c < nc; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

  absl::Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    PGresult* res = PQexec(conn_, text.c_str());
    absl::Status s = Check(res);
    PQclear(res);
    return s;
  }

  absl::Status Begin() override { return ExecScript("BEGIN"); }
  absl::Status Notify(std::string_view what) override {
    return Exec("SELECT pg_notify('eargate_registry', $1)", {std::string(what)}).status();
  }

  bool IsConstraintViolation(const absl::Status& s) const override {
    return s.code() == absl::StatusCode::kAlreadyExists ||
           s.code() == absl::StatusCode::kFailedPrecondition;
  }

 private:
  absl::Status Check(PGresult* res) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return absl::OkStatus();
    std::string msg = absl::StrCat("postgresql: ", PQresultErrorMessage(res));
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string code = state ? state : "";
    if (code == "26000") {
      g_prepare.store(false, std::memory_order_relaxed);
      prepared_.clear();
      return absl::UnavailableError(absl::StrCat(msg, " (statements are not prepared from now on)"));
    }
    if (code == "23505") return absl::AlreadyExistsError(msg);
    if (code == "23503" || code == "23514") return absl::FailedPreconditionError(msg);
    if (PQstatus(conn_) != CONNECTION_OK) return absl::UnavailableError(msg);
    return absl::InternalError(msg);
  }

  absl::Status Run(std::string_view sql, const std::vector<SqlValue>& params, PGresult** out) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      PQreset(conn_);
      prepared_.clear();  // a new session has none
      if (PQstatus(conn_) != CONNECTION_OK)
        return absl::UnavailableError(absl::StrCat("postgresql: ", PQerrorMessage(conn_)));
    }
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        values[i] = s->c_str();
      }
    }
    std::string q(sql);
    const std::string* name = nullptr;
    if (!params.empty() && g_prepare.load(std::memory_order_relaxed)) {
      absl::StatusOr<const std::string*> prepared = Prepared(q);
      if (!prepared.ok()) return prepared.status();
      name = *prepared;
    }
    PGresult* res = name != nullptr
                        ? PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                         values.data(), nullptr, nullptr, 0)
                        : PQexecParams(conn_, q.c_str(), static_cast<int>(params.size()), nullptr,
                                       values.data(), nullptr, nullptr, 0);
    absl::Status s = Check(res);
    if (!s.ok()) {
      PQclear(res);
      return s;
    }
    *out = res;
    return absl::OkStatus();
  }

  // Statements with parameters are prepared once per session, by text, and then executed by
  // name: the shipper's 256-row INSERT is parsed and planned once rather than on every call.
  // Up to kMaxPrepared texts (searches build theirs from filters); the rest run unprepared.
  // Its name, or null when it is to run unprepared; the error of a statement that does not
  // prepare (what running it would have said).
  absl::StatusOr<const std::string*> Prepared(const std::string& sql) {
    if (auto it = prepared_.find(sql); it != prepared_.end()) return &it->second;
    if (prepared_.size() >= kMaxPrepared) return nullptr;
    std::string name = absl::StrCat("eg_", prepared_.size() + 1);
    PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    absl::Status s = Check(res);
    PQclear(res);
    if (!s.ok()) return s;
    return &prepared_.emplace(sql, std::move(name)).first->second;
  }
  static constexpr size_t kMaxPrepared = 256;

  PGconn* conn_;
  absl::flat_hash_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

void IgnoreNotice(void*, const char*) {}

}  // namespace

bool PostgresPrepares() { return g_prepare.load(std::memory_order_relaxed); }
void SetPostgresPrepares(bool on) { g_prepare.store(on, std::memory_order_relaxed); }

absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = conn ? PQerrorMessage(conn) : "out of memory";
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("postgresql: cannot connect: ", msg));
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  return std::unique_ptr<SqlDb>(std::make_unique<PostgresDb>(conn));
}

}  // namespace eargate::store::internal
