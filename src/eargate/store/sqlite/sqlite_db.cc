// SqlDb on SQLite 3: one connection, WAL journal, foreign keys on, a statement cache.
#include <sqlite3.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "eargate/store/internal/sql_db.h"

namespace eargate::store::internal {
namespace {

// "$12" -> "?12" outside string literals.
std::string Rewrite(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool quoted = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'') quoted = !quoted;
    if (!quoted && c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9')
      c = '?';
    out.push_back(c);
  }
  return out;
}

class SqliteDb final : public SqlDb {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  std::string_view backend() const override { return "sqlite"; }

  absl::StatusOr<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    int64_t changes = 0;
    auto s = Run(sql, params, nullptr);
    if (!s.ok()) return s;
    changes = sqlite3_changes64(db_);
    return changes;
  }

  absl::StatusOr<std::vector<SqlRow>> Query(std::string_view sql,
                                            const std::vector<SqlValue>& params) override {
    std::vector<SqlRow> rows;
    auto s = Run(sql, params, &rows);
    if (!s.ok()) return s;
    return rows;
  }

  absl::Status ExecScript(std::string_view sql) override {
    char* err = nullptr;
    std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return absl::InternalError(absl::StrCat("sqlite: ", msg));
    }
    return absl::OkStatus();
  }

  absl::Status Begin() override { return Exec("BEGIN IMMEDIATE", {}).status(); }
  // No NOTIFY in SQLite: bump the registry version, which RegistryWatcher reads when
  // PRAGMA data_version says another connection committed (so token use does not reload).
  absl::Status Notify(std::string_view) override {
    return Exec("UPDATE eargate_registry_version SET version = version + 1", {}).status();
  }

  bool IsConstraintViolation(const absl::Status& s) const override {
    return s.code() == absl::StatusCode::kAlreadyExists ||
           s.code() == absl::StatusCode::kFailedPrecondition;
  }

 private:
  absl::Status Error(int rc) const {
    std::string msg = absl::StrCat("sqlite: ", sqlite3_errmsg(db_));
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      int ext = sqlite3_extended_errcode(db_);
      if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) return absl::FailedPreconditionError(msg);
      return absl::AlreadyExistsError(msg);
    }
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
      return absl::UnavailableError(msg);
    return absl::InternalError(msg);
  }

  absl::Status Run(std::string_view sql, const std::vector<SqlValue>& params,
                   std::vector<SqlRow>* rows) {
    std::string key(sql);
    sqlite3_stmt* stmt = nullptr;
    if (auto it = cache_.find(key); it != cache_.end()) {
      stmt = it->second;
    } else {
      std::string text = Rewrite(sql);
      int rc = sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()), &stmt, nullptr);
      if (rc != SQLITE_OK) return Error(rc);
      cache_.emplace(std::move(key), stmt);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const SqlValue& v = params[i];
      if (std::holds_alternative<std::nullptr_t>(v)) {
        sqlite3_bind_null(stmt, idx);
      } else if (auto* n = std::get_if<int64_t>(&v)) {
        sqlite3_bind_int64(stmt, idx, *n);
      } else {
        const std::string& s = std::get<std::string>(v);
        sqlite3_bind_text(stmt, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
    }
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        absl::Status s = Error(rc);
        sqlite3_reset(stmt);
        return s;
      }
      if (rows == nullptr) continue;
      SqlRow row;
      int n = sqlite3_column_count(stmt);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const unsigned char* t = sqlite3_column_text(stmt, c);
          row.emplace_back(
              std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt, c)));
        }
      }
      rows->push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    return absl::OkStatus();
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("sqlite: cannot open ", path, ": ", msg));
  }
  auto out = std::make_unique<SqliteDb>(db);
  sqlite3_busy_timeout(db, 5000);
  // A 16-MiB page cache (the default is 2 MiB): shipped decision records go into five
  // indexes, one of them on random decision ids, and with the default cache most of their
  // pages were read back from the file on every transaction (ship rate +13-15 %, 2026-11-27).
  absl::Status s = out->ExecScript(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
      "PRAGMA cache_size=-16384;");
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("sqlite: ", path, ": ", s.message()));
  return std::unique_ptr<SqlDb>(std::move(out));
}

}  // namespace eargate::store::internal
