#include "eargate/store/store.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eargate/core/status.h"
#include "eargate/store/internal/person_json.h"
#include "eargate/store/internal/segment_io.h"
#include "eargate/store/internal/sql_db.h"

namespace eargate::store {
namespace {

using internal::SqlDb;
using internal::SqlRow;
using internal::SqlValue;

SqlValue Text(std::string_view s) { return std::string(s); }
SqlValue TextOrNull(std::string_view s) {
  if (s.empty()) return nullptr;
  return std::string(s);
}
SqlValue TimeOrNull(core::Timestamp t) {
  if (t == 0) return nullptr;
  return static_cast<int64_t>(t);
}
int64_t Int(const std::optional<std::string>& v) {
  return v ? std::strtoll(v->c_str(), nullptr, 10) : 0;
}
std::string Str(const std::optional<std::string>& v) { return v.value_or(""); }

constexpr std::string_view kRoles[] = {"viewer", "analyst", "officer", "admin"};

// Transaction guard: rolls back unless committed.
class Txn {
 public:
  explicit Txn(SqlDb& db) : db_(db) {}
  absl::Status Begin() {
    EG_RETURN_IF_ERROR(db_.Begin());
    open_ = true;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    open_ = false;
    return db_.ExecScript("COMMIT");
  }
  ~Txn() {
    if (open_) (void)db_.ExecScript("ROLLBACK");
  }

 private:
  SqlDb& db_;
  bool open_ = false;
};

// Read-snapshot guard: every query until it ends sees one consistent state of the database
// (PostgreSQL: a read-only repeatable-read transaction; SQLite: a deferred transaction, which in
// WAL mode does not block writers). Always rolled back: it only reads.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(SqlDb& db) : db_(db) {}
  absl::Status Begin() {
    EG_RETURN_IF_ERROR(db_.ExecScript(db_.backend() == "postgresql"
                                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                          : "BEGIN"));
    open_ = true;
    return absl::OkStatus();
  }
  ~ReadSnapshot() {
    if (open_) (void)db_.ExecScript("ROLLBACK");
  }

 private:
  SqlDb& db_;
  bool open_ = false;
};

class StoreCheckpointSink final : public CheckpointSink {
 public:
  StoreCheckpointSink(Store* store, std::string node) : store_(store), node_(std::move(node)) {}
  absl::Status RecordCheckpoint(const Checkpoint& c) override {
    return store_->RecordCheckpoint(node_, c);
  }

 private:
  Store* store_;
  std::string node_;
};

int KnownVersion(std::string_view backend) {
  int v = 0;
  for (size_t i = 0; i < internal::kMigrationCount; ++i)
    if (internal::kMigrations[i].backend == backend)
      v = std::max(v, internal::kMigrations[i].version);
  return v;
}

}  // namespace

std::string_view Name(Role r) { return kRoles[static_cast<int>(r)]; }
std::optional<Role> ParseRole(std::string_view s) {
  for (int i = 0; i < 4; ++i)
    if (kRoles[i] == s) return static_cast<Role>(i);
  return std::nullopt;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct Store::Impl {
  std::mutex mu;
  std::unique_ptr<SqlDb> db;
  const core::Clock* clock = nullptr;
  int version = 0;
  std::vector<std::unique_ptr<StoreCheckpointSink>> sinks;

  absl::Status Migrate();
  absl::Status WritePerson(const PersonRecord& r, core::Timestamp now);
  // Journals a registry change (migration 004) inside the caller's write transaction: one row
  // per person, or one row for everyone (person_ids empty). PostgreSQL: takes advisory lock
  // 4618 until commit, so that seq = MAX + 1 is gapless and in commit order.
  absl::Status Journal(const std::vector<std::string_view>& person_ids, std::string_view what);
  absl::StatusOr<std::optional<PersonRecord>> ReadPerson(const SqlRow& row);
};

absl::Status Store::Impl::Migrate() {
  std::string_view backend = db->backend();
  const int known = KnownVersion(backend);
  Txn txn(*db);
  EG_RETURN_IF_ERROR(txn.Begin());
  if (backend == "postgresql") {
    // Nodes of a fleet starting together: one migrates, the others wait and see it done.
    EG_RETURN_IF_ERROR(db->Query("SELECT pg_advisory_xact_lock(4617)").status());
  }
  EG_RETURN_IF_ERROR(db->ExecScript(
      "CREATE TABLE IF NOT EXISTS eargate_schema_migrations (version INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at BIGINT NOT NULL)"));
  EG_ASSIGN_OR_RETURN(auto rows,
                      db->Query("SELECT COALESCE(MAX(version), 0) FROM eargate_schema_migrations"));
  int current = rows.empty() ? 0 : static_cast<int>(Int(rows[0][0]));
  if (current > known) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", current,
                                                      " is newer than this eargate knows (", known,
                                                      "); upgrade eargate"));
  }
  std::vector<const internal::Migration*> todo;
  for (size_t i = 0; i < internal::kMigrationCount; ++i) {
    const auto& m = internal::kMigrations[i];
    if (m.backend == backend && m.version > current) todo.push_back(&m);
  }
  std::sort(todo.begin(), todo.end(), [](auto* a, auto* b) { return a->version < b->version; });
  for (const auto* m : todo) {
    absl::Status s = db->ExecScript(m->sql);
    if (!s.ok()) return absl::InternalError(absl::StrCat("migration ", m->name, ": ", s.message()));
    EG_RETURN_IF_ERROR(db->Exec("INSERT INTO eargate_schema_migrations (version, name, applied_at) "
                                "VALUES ($1, $2, $3)",
                                {int64_t{m->version}, std::string(m->name), int64_t{clock->Now()}})
                           .status());
    current = m->version;
  }
  EG_RETURN_IF_ERROR(txn.Commit());
  version = current;
  return absl::OkStatus();
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(std::string_view url,
                                                   const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->clock = options.clock ? options.clock : &core::Clock::System();
  if (url.substr(0, 9) == "sqlite://") {
    std::string path(url.substr(9));
    if (path.empty()) return absl::InvalidArgumentError("store URL sqlite://: no file path");
    EG_ASSIGN_OR_RETURN(impl->db, internal::OpenSqlite(path));
  } else if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    EG_ASSIGN_OR_RETURN(impl->db, internal::OpenPostgres(std::string(url)));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "store URL '", std::string(url), "': must start with sqlite:// or postgresql://"));
  }
  EG_RETURN_IF_ERROR(impl->Migrate());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::string_view Store::backend() const { return impl_->db->backend(); }
int Store::schema_version() const { return impl_->version; }
int Store::KnownSchemaVersion(std::string_view backend) { return KnownVersion(backend); }

// --- People

absl::Status Store::Impl::WritePerson(const PersonRecord& r, core::Timestamp now) {
  const core::Person& p = r.person;
  if (p.id.empty()) return absl::InvalidArgumentError("person: id is empty");
  std::string location;
  if (r.location) internal::AppendLocationJson(*r.location, &location);
  SqlValue us = nullptr;
  if (p.us_person == core::Tristate::kYes) us = std::string("yes");
  if (p.us_person == core::Tristate::kNo) us = std::string("no");
  EG_RETURN_IF_ERROR(
      db->Exec("INSERT INTO people (id, kind, name, us_person, us_person_source, "
               "us_person_verified_at, "
               "protected_individual, organization, location_json, kyc_source, kyc_verified_at, "
               "updated_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
               "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, "
               "us_person = excluded.us_person, us_person_source = excluded.us_person_source, "
               "us_person_verified_at = excluded.us_person_verified_at, "
               "protected_individual = excluded.protected_individual, organization = "
               "excluded.organization, "
               "location_json = excluded.location_json, kyc_source = excluded.kyc_source, "
               "kyc_verified_at = excluded.kyc_verified_at, updated_at = excluded.updated_at",
               {Text(p.id), Text(core::Name(p.kind)), Text(p.name), us,
                TextOrNull(r.us_person_source.source), TimeOrNull(r.us_person_source.verified_at),
                int64_t{p.protected_individual ? 1 : 0}, TextOrNull(p.organization),
                location.empty() ? SqlValue(nullptr) : SqlValue(location), TextOrNull(r.kyc.source),
                TimeOrNull(r.kyc.verified_at), int64_t{now}})
          .status());
  EG_RETURN_IF_ERROR(
      db->Exec("DELETE FROM person_facts WHERE person_id = $1", {Text(p.id)}).status());
  auto fact = [&](std::string_view kind, int pos, std::string value,
                  std::optional<core::Timestamp> since, const FactSource& src) -> absl::Status {
    return db
        ->Exec(
            "INSERT INTO person_facts (person_id, fact, position, value, since, source, "
            "verified_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {Text(p.id), Text(kind), int64_t{pos}, std::move(value),
             since ? SqlValue(int64_t{*since}) : SqlValue(nullptr), TextOrNull(src.source),
             TimeOrNull(src.verified_at)})
        .status();
  };
  for (size_t i = 0; i < p.citizenships.size(); ++i) {
    const auto& n = p.citizenships[i];
    FactSource src = i < r.citizenship_sources.size() ? r.citizenship_sources[i] : FactSource{};
    EG_RETURN_IF_ERROR(fact("citizenship", static_cast<int>(i), n.country.code(),
                            n.since_known ? std::optional(n.since) : std::nullopt, src));
  }
  for (size_t i = 0; i < p.permanent_residencies.size(); ++i) {
    const auto& n = p.permanent_residencies[i];
    FactSource src = i < r.residency_sources.size() ? r.residency_sources[i] : FactSource{};
    EG_RETURN_IF_ERROR(fact("permanent_residency", static_cast<int>(i), n.country.code(),
                            n.since_known ? std::optional(n.since) : std::nullopt, src));
  }
  int pos = 0;
  for (int k = 0; k < core::kKnowledgeCount; ++k) {
    auto kn = static_cast<core::Knowledge>(k);
    if (p.end_user_categories & core::Bit(kn))
      EG_RETURN_IF_ERROR(fact("end_user_category", pos++, std::string(core::Name(kn)), std::nullopt,
                              r.categories_source));
  }
  pos = 0;
  for (int k = 0; k < core::kKnowledgeCount; ++k) {
    auto kn = static_cast<core::Knowledge>(k);
    if (p.end_uses & core::Bit(kn))
      EG_RETURN_IF_ERROR(
          fact("end_use", pos++, std::string(core::Name(kn)), std::nullopt, r.end_uses_source));
  }
  for (const auto& key : r.api_keys_sha256) {
    if (!IsSha256Hex(key))
      return absl::InvalidArgumentError(absl::StrCat("person ", p.id, ": api key hash '", key,
                                                     "' is not 64 lower-case hex digits"));
    EG_ASSIGN_OR_RETURN(
        auto owner, db->Query("SELECT person_id FROM api_keys WHERE key_sha256 = $1", {Text(key)}));
    if (!owner.empty()) {
      if (Str(owner[0][0]) != p.id)
        return absl::AlreadyExistsError(
            absl::StrCat("person ", p.id, ": api key ", key.substr(0, 12),
                         "... already belongs to person ", Str(owner[0][0])));
      continue;
    }
    EG_RETURN_IF_ERROR(
        db->Exec("INSERT INTO api_keys (key_sha256, person_id, created_at) VALUES ($1, $2, $3)",
                 {Text(key), Text(p.id), int64_t{now}})
            .status());
  }
  return absl::OkStatus();
}

constexpr char kPersonColumns[] =
    "id, kind, name, us_person, us_person_source, us_person_verified_at, protected_individual, "
    "organization, location_json, kyc_source, kyc_verified_at, updated_at";

namespace {

// The person row's own columns (kPersonColumns); facts and keys are added by the caller.
absl::StatusOr<PersonRecord> PersonFromRow(const SqlRow& row) {
  PersonRecord r;
  core::Person& p = r.person;
  p.id = Str(row[0]);
  p.kind = core::ParsePersonKind(Str(row[1])).value_or(core::PersonKind::kNatural);
  p.name = Str(row[2]);
  std::string us = Str(row[3]);
  p.us_person = us == "yes"  ? core::Tristate::kYes
                : us == "no" ? core::Tristate::kNo
                             : core::Tristate::kUnknown;
  r.us_person_source = {Str(row[4]), Int(row[5])};
  p.protected_individual = Int(row[6]) != 0;
  p.organization = Str(row[7]);
  if (row[8]) {
    core::Location loc;
    std::string err;
    if (!internal::ParseLocationJson(*row[8], &loc, &err))
      return absl::DataLossError(absl::StrCat("person ", p.id, ": stored location: ", err));
    r.location = loc;
  }
  r.kyc = {Str(row[9]), Int(row[10])};
  r.updated_at = Int(row[11]);
  return r;
}

// One person_facts row from column `c` on: fact, value, since, source, verified_at. Rows of
// a person must come in (fact, position) order.
void AddFact(const SqlRow& f, size_t c, PersonRecord* r) {
  core::Person& p = r->person;
  std::string kind = Str(f[c]), value = Str(f[c + 1]);
  FactSource src{Str(f[c + 3]), Int(f[c + 4])};
  if (kind == "citizenship" || kind == "permanent_residency") {
    core::Nationality n;
    n.country = core::Country::Parse(value).value_or(core::Country());
    n.since_known = f[c + 2].has_value();
    n.since = Int(f[c + 2]);
    if (kind == "citizenship") {
      p.citizenships.push_back(n);
      r->citizenship_sources.push_back(src);
    } else {
      p.permanent_residencies.push_back(n);
      r->residency_sources.push_back(src);
    }
  } else if (auto k = core::ParseKnowledge(value)) {
    if (kind == "end_user_category") {
      p.end_user_categories |= core::Bit(*k);
      r->categories_source = src;
    } else {
      p.end_uses |= core::Bit(*k);
      r->end_uses_source = src;
    }
  }
}

void FinishFacts(PersonRecord* r) {
  auto all_empty = [](const std::vector<FactSource>& v) {
    return std::all_of(v.begin(), v.end(), [](const FactSource& s) { return s.empty(); });
  };
  if (all_empty(r->citizenship_sources)) r->citizenship_sources.clear();
  if (all_empty(r->residency_sources)) r->residency_sources.clear();
}

}  // namespace

// A bulk change journals one row for everyone: the nodes rebuild instead of reloading each.
constexpr size_t kJournalMaxPeople = 1000;
constexpr core::Timestamp kJournalKeepSeconds = 7 * 86400;

absl::Status Store::Impl::Journal(const std::vector<std::string_view>& person_ids,
                                  std::string_view what) {
  if (db->backend() == "postgresql")
    EG_RETURN_IF_ERROR(db->Query("SELECT pg_advisory_xact_lock(4618)").status());
  core::Timestamp now = clock->Now();
  // The newest row is never pruned: seq keeps counting up.
  EG_RETURN_IF_ERROR(db->Exec("DELETE FROM registry_changes WHERE at < $1 AND seq < "
                              "(SELECT MAX(seq) FROM registry_changes)",
                              {int64_t{now - kJournalKeepSeconds}})
                         .status());
  constexpr char kInsert[] =
      "INSERT INTO registry_changes (seq, person_id, what, at) "
      "SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3 FROM registry_changes";
  if (person_ids.empty() || person_ids.size() > kJournalMaxPeople) {
    return db->Exec(kInsert, {nullptr, Text(what), int64_t{now}}).status();
  }
  for (std::string_view id : person_ids)
    EG_RETURN_IF_ERROR(db->Exec(kInsert, {Text(id), Text(what), int64_t{now}}).status());
  return absl::OkStatus();
}

absl::StatusOr<std::optional<PersonRecord>> Store::Impl::ReadPerson(const SqlRow& row) {
  EG_ASSIGN_OR_RETURN(PersonRecord r, PersonFromRow(row));
  EG_ASSIGN_OR_RETURN(auto facts,
                      db->Query("SELECT fact, value, since, source, verified_at FROM person_facts "
                                "WHERE person_id = $1 ORDER BY fact, position",
                                {Text(r.person.id)}));
  for (const auto& f : facts) AddFact(f, 0, &r);
  FinishFacts(&r);
  EG_ASSIGN_OR_RETURN(auto keys,
                      db->Query("SELECT key_sha256 FROM api_keys WHERE person_id = $1 AND "
                                "revoked_at IS NULL ORDER BY key_sha256",
                                {Text(r.person.id)}));
  for (const auto& k : keys) r.api_keys_sha256.push_back(Str(k[0]));
  return std::optional<PersonRecord>(std::move(r));
}

absl::Status Store::ImportPeople(const std::vector<PersonRecord>& people) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  core::Timestamp now = impl_->clock->Now();
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  for (const auto& r : people) {
    absl::Status s = impl_->WritePerson(r, now);
    if (!s.ok()) {
      if (absl::StrContains(s.message(), r.person.id)) return s;
      return absl::Status(s.code(), absl::StrCat("person ", r.person.id, ": ", s.message()));
    }
  }
  std::vector<std::string_view> ids;
  ids.reserve(people.size());
  for (const auto& r : people) ids.push_back(r.person.id);
  if (!ids.empty()) EG_RETURN_IF_ERROR(impl_->Journal(ids, "people"));
  EG_RETURN_IF_ERROR(impl_->db->Notify("people"));
  return txn.Commit();
}

absl::StatusOr<std::vector<PersonRecord>> Store::GetPeople(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ReadSnapshot snapshot(*impl_->db);  // one snapshot for all of them
  EG_RETURN_IF_ERROR(snapshot.Begin());
  std::vector<PersonRecord> out;
  for (const std::string& id : ids) {
    EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query(absl::StrCat("SELECT ", kPersonColumns,
                                                                 " FROM people WHERE id = $1"),
                                                    {Text(id)}));
    if (rows.empty()) continue;
    EG_ASSIGN_OR_RETURN(auto r, impl_->ReadPerson(rows[0]));
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

absl::StatusOr<RegistryChanges> Store::RegistryChangesSince(int64_t since, size_t max_people) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RegistryChanges out;
  EG_ASSIGN_OR_RETURN(auto bounds,
                      impl_->db->Query("SELECT MIN(seq), MAX(seq) FROM registry_changes"));
  int64_t min = bounds.empty() ? 0 : Int(bounds[0][0]);
  out.head = bounds.empty() ? 0 : Int(bounds[0][1]);
  if (out.head == since) return out;
  // Pruned past `since`, or a journal that is behind us (another database): rebuild.
  if (since > out.head || (min > since + 1)) {
    out.everyone = true;
    return out;
  }
  EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query("SELECT seq, person_id FROM registry_changes "
                                                  "WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                                                  {int64_t{since}, int64_t{out.head}}));
  absl::flat_hash_map<std::string, bool> seen;
  for (const auto& r : rows) {
    if (!r[1]) {
      out.everyone = true;
      out.person_ids.clear();
      return out;
    }
    if (seen.emplace(*r[1], true).second) out.person_ids.push_back(*r[1]);
    if (out.person_ids.size() > max_people) {
      out.everyone = true;
      out.person_ids.clear();
      return out;
    }
  }
  return out;
}

absl::StatusOr<int64_t> Store::RegistryHead() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query("SELECT COALESCE(MAX(seq), 0) FROM registry_changes"));
  return rows.empty() ? int64_t{0} : Int(rows[0][0]);
}

absl::StatusOr<std::optional<PersonRecord>> Store::GetPerson(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query(absl::StrCat("SELECT ", kPersonColumns,
                                                               " FROM people WHERE id = $1"),
                                                  {Text(id)}));
  if (rows.empty()) return std::optional<PersonRecord>();
  return impl_->ReadPerson(rows[0]);
}

absl::Status Store::ForEachPerson(const std::function<void(const PersonRecord&)>& fn) {
  // Three queries for the whole registry (not three per person): a rebuild of a large
  // registry is bounded by the transfer, not by round trips. One transaction: one snapshot.
  std::vector<PersonRecord> people;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    ReadSnapshot snapshot(*impl_->db);
    EG_RETURN_IF_ERROR(snapshot.Begin());
    EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query(absl::StrCat("SELECT ", kPersonColumns,
                                                                 " FROM people ORDER BY id")));
    people.reserve(rows.size());
    absl::flat_hash_map<std::string, size_t> index;
    index.reserve(rows.size());
    for (const auto& row : rows) {
      EG_ASSIGN_OR_RETURN(PersonRecord r, PersonFromRow(row));
      index.emplace(r.person.id, people.size());
      people.push_back(std::move(r));
    }
    rows.clear();
    EG_ASSIGN_OR_RETURN(auto facts, impl_->db->Query(
                                        "SELECT person_id, fact, value, since, source, verified_at "
                                        "FROM person_facts ORDER BY person_id, fact, position"));
    for (const auto& f : facts) {
      auto it = index.find(Str(f[0]));
      if (it != index.end()) AddFact(f, 1, &people[it->second]);
    }
    facts.clear();
    EG_ASSIGN_OR_RETURN(auto keys,
                        impl_->db->Query("SELECT person_id, key_sha256 FROM api_keys WHERE "
                                         "revoked_at IS NULL ORDER BY person_id, key_sha256"));
    for (const auto& k : keys) {
      auto it = index.find(Str(k[0]));
      if (it != index.end()) people[it->second].api_keys_sha256.push_back(Str(k[1]));
    }
  }
  for (auto& r : people) {
    FinishFacts(&r);
    fn(r);
  }
  return absl::OkStatus();
}

absl::Status Store::DeletePerson(std::string_view id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  EG_ASSIGN_OR_RETURN(int64_t n, impl_->db->Exec("DELETE FROM people WHERE id = $1", {Text(id)}));
  if (n == 0) return absl::NotFoundError(absl::StrCat("person ", std::string(id), ": not found"));
  EG_RETURN_IF_ERROR(impl_->Journal({id}, "people"));
  EG_RETURN_IF_ERROR(impl_->db->Notify("people"));
  return txn.Commit();
}

// --- API keys

absl::Status Store::AddApiKey(std::string_view person_id, std::string_view key_sha256) {
  if (!IsSha256Hex(key_sha256))
    return absl::InvalidArgumentError("api key hash: must be 64 lower-case hex digits");
  std::lock_guard<std::mutex> lock(impl_->mu);
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  auto s = impl_->db->Exec(
      "INSERT INTO api_keys (key_sha256, person_id, created_at) VALUES ($1, $2, $3)",
      {Text(key_sha256), Text(person_id), int64_t{impl_->clock->Now()}});
  if (s.status().code() == absl::StatusCode::kAlreadyExists)
    return absl::AlreadyExistsError("api key: already registered");
  if (s.status().code() == absl::StatusCode::kFailedPrecondition)
    return absl::NotFoundError(absl::StrCat("person ", std::string(person_id), ": not found"));
  EG_RETURN_IF_ERROR(s.status());
  EG_RETURN_IF_ERROR(impl_->Journal({person_id}, "api_keys"));
  EG_RETURN_IF_ERROR(impl_->db->Notify("api_keys"));
  return txn.Commit();
}

absl::StatusOr<std::optional<std::string>> Store::PersonForApiKey(std::string_view key_sha256,
                                                                  bool touch) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      auto rows, impl_->db->Query(
                     "SELECT person_id FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL",
                     {Text(key_sha256)}));
  if (rows.empty()) return std::optional<std::string>();
  if (touch) {
    EG_RETURN_IF_ERROR(impl_->db
                           ->Exec("UPDATE api_keys SET last_used_at = $2 WHERE key_sha256 = $1",
                                  {Text(key_sha256), int64_t{impl_->clock->Now()}})
                           .status());
  }
  return std::optional<std::string>(Str(rows[0][0]));
}

absl::Status Store::RecordApiKeyUses(const std::vector<std::pair<std::string, core::Timestamp>>& uses) {
  if (uses.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(impl_->mu);
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  for (const auto& [hash, at] : uses) {
    EG_RETURN_IF_ERROR(impl_->db
                           ->Exec("UPDATE api_keys SET last_used_at = $2 WHERE key_sha256 = $1 AND "
                                  "(last_used_at IS NULL OR last_used_at < $2)",
                                  {Text(hash), int64_t{at}})
                           .status());
  }
  return txn.Commit();
}

absl::Status Store::RevokeApiKey(std::string_view key_sha256) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  EG_ASSIGN_OR_RETURN(
      auto rows,
      impl_->db->Query(
          "UPDATE api_keys SET revoked_at = $2 WHERE key_sha256 = $1 AND revoked_at IS NULL "
          "RETURNING person_id",
          {Text(key_sha256), int64_t{impl_->clock->Now()}}));
  if (rows.empty()) return absl::NotFoundError("api key: not found or already revoked");
  std::string person = Str(rows[0][0]);
  EG_RETURN_IF_ERROR(impl_->Journal({person}, "api_keys"));
  EG_RETURN_IF_ERROR(impl_->db->Notify("api_keys"));
  return txn.Commit();
}

absl::StatusOr<std::vector<std::string>> Store::RevokedApiKeysSince(core::Timestamp since) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query("SELECT key_sha256 FROM api_keys WHERE "
                                                  "revoked_at IS NOT NULL AND revoked_at >= $1",
                                                  {int64_t{since}}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(Str(r[0]));
  return out;
}

absl::StatusOr<std::vector<ApiKey>> Store::ListApiKeys(std::string_view person_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      auto rows,
      impl_->db->Query("SELECT key_sha256, person_id, created_at, last_used_at, revoked_at "
                       "FROM api_keys WHERE person_id = $1 ORDER BY created_at, key_sha256",
                       {Text(person_id)}));
  std::vector<ApiKey> out;
  for (const auto& r : rows) out.push_back({Str(r[0]), Str(r[1]), Int(r[2]), Int(r[3]), Int(r[4])});
  return out;
}

// --- Admin tokens

absl::Status Store::CreateAdminToken(std::string_view token_sha256, std::string_view name,
                                     Role role, core::Timestamp expires_at) {
  if (!IsSha256Hex(token_sha256))
    return absl::InvalidArgumentError("admin token hash: must be 64 lower-case hex digits");
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto s = impl_->db->Exec(
      "INSERT INTO admin_tokens (token_sha256, name, role, created_at, expires_at) VALUES ($1, $2, "
      "$3, $4, $5)",
      {Text(token_sha256), Text(name), Text(Name(role)), int64_t{impl_->clock->Now()},
       TimeOrNull(expires_at)});
  if (s.status().code() == absl::StatusCode::kAlreadyExists)
    return absl::AlreadyExistsError("admin token: already registered");
  return s.status();
}

absl::StatusOr<AdminToken> Store::AuthenticateAdminToken(std::string_view token_sha256) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      auto rows,
      impl_->db->Query(
          "SELECT token_sha256, name, role, created_at, expires_at, revoked_at, last_used_at "
          "FROM admin_tokens WHERE token_sha256 = $1",
          {Text(token_sha256)}));
  if (rows.empty()) return absl::UnauthenticatedError("admin token: unknown");
  const auto& r = rows[0];
  AdminToken t{Str(r[0]), Str(r[1]), ParseRole(Str(r[2])).value_or(Role::kViewer),
               Int(r[3]), Int(r[4]), Int(r[5]),
               Int(r[6])};
  core::Timestamp now = impl_->clock->Now();
  if (t.revoked_at != 0) return absl::UnauthenticatedError("admin token: revoked");
  if (t.expires_at != 0 && now >= t.expires_at)
    return absl::UnauthenticatedError("admin token: expired");
  EG_RETURN_IF_ERROR(impl_->db
                         ->Exec("UPDATE admin_tokens SET last_used_at = $2 WHERE token_sha256 = $1",
                                {Text(token_sha256), int64_t{now}})
                         .status());
  t.last_used_at = now;
  return t;
}

absl::Status Store::RevokeAdminToken(std::string_view token_sha256) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      int64_t n,
      impl_->db->Exec(
          "UPDATE admin_tokens SET revoked_at = $2 WHERE token_sha256 = $1 AND revoked_at IS NULL",
          {Text(token_sha256), int64_t{impl_->clock->Now()}}));
  if (n == 0) return absl::NotFoundError("admin token: not found or already revoked");
  return impl_->db->Notify("admin_tokens");
}

absl::StatusOr<std::vector<AdminToken>> Store::ListAdminTokens() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      auto rows,
      impl_->db->Query(
          "SELECT token_sha256, name, role, created_at, expires_at, revoked_at, last_used_at "
          "FROM admin_tokens ORDER BY created_at DESC, token_sha256"));
  std::vector<AdminToken> out;
  for (const auto& r : rows) {
    out.push_back({Str(r[0]), Str(r[1]), ParseRole(Str(r[2])).value_or(Role::kViewer), Int(r[3]),
                   Int(r[4]), Int(r[5]), Int(r[6])});
  }
  return out;
}

// --- Screening dispositions

absl::Status Store::RecordScreeningDisposition(const ScreeningDisposition& d) {
  for (auto [field, value] : {std::pair<const char*, const std::string*>{"person_id", &d.person_id},
                              {"list", &d.list},
                              {"entry_id", &d.entry_id},
                              {"decided_by", &d.decided_by},
                              {"reason", &d.reason}}) {
    if (value->empty())
      return absl::InvalidArgumentError(absl::StrCat("screening disposition: ", field, ": empty"));
  }
  if (!IsSha256Hex(d.entry_fingerprint))
    return absl::InvalidArgumentError(
        "screening disposition: entry_fingerprint: must be 64 lower-case hex digits");
  std::lock_guard<std::mutex> lock(impl_->mu);
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  EG_ASSIGN_OR_RETURN(auto person, impl_->db->Query("SELECT id FROM people WHERE id = $1",
                                                    {Text(d.person_id)}));
  if (person.empty())
    return absl::NotFoundError(absl::StrCat("person ", d.person_id, ": not found"));
  EG_RETURN_IF_ERROR(
      impl_->db
          ->Exec("INSERT INTO screening_dispositions (person_id, list, entry_id, "
                 "entry_fingerprint, entry_name, decided_by, decided_at, reason) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                 "ON CONFLICT (person_id, list, entry_id) DO UPDATE SET "
                 "entry_fingerprint = excluded.entry_fingerprint, entry_name = "
                 "excluded.entry_name, decided_by = excluded.decided_by, decided_at = "
                 "excluded.decided_at, reason = excluded.reason",
                 {Text(d.person_id), Text(d.list), Text(d.entry_id), Text(d.entry_fingerprint),
                  Text(d.entry_name), Text(d.decided_by),
                  int64_t{d.decided_at ? d.decided_at : impl_->clock->Now()}, Text(d.reason)})
          .status());
  EG_RETURN_IF_ERROR(impl_->Journal({d.person_id}, "screening"));
  EG_RETURN_IF_ERROR(impl_->db->Notify("screening"));
  return txn.Commit();
}

absl::StatusOr<std::vector<ScreeningDisposition>> Store::ListScreeningDispositions(
    std::string_view person_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::string sql =
      "SELECT person_id, list, entry_id, entry_fingerprint, entry_name, decided_by, decided_at, "
      "reason FROM screening_dispositions";
  std::vector<SqlValue> params;
  if (!person_id.empty()) {
    sql += " WHERE person_id = $1";
    params.push_back(Text(person_id));
  }
  sql += " ORDER BY person_id, list, entry_id";
  EG_ASSIGN_OR_RETURN(auto rows, impl_->db->Query(sql, params));
  std::vector<ScreeningDisposition> out;
  for (const auto& r : rows) {
    out.push_back({Str(r[0]), Str(r[1]), Str(r[2]), Str(r[3]), Str(r[4]), Str(r[5]), Int(r[6]),
                   Str(r[7])});
  }
  return out;
}

absl::Status Store::DeleteScreeningDisposition(std::string_view person_id, std::string_view list,
                                               std::string_view entry_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Txn txn(*impl_->db);
  EG_RETURN_IF_ERROR(txn.Begin());
  EG_ASSIGN_OR_RETURN(int64_t n, impl_->db->Exec("DELETE FROM screening_dispositions WHERE "
                                                 "person_id = $1 AND list = $2 AND entry_id = $3",
                                                 {Text(person_id), Text(list), Text(entry_id)}));
  if (n == 0) return absl::NotFoundError("screening disposition: not found");
  EG_RETURN_IF_ERROR(impl_->Journal({person_id}, "screening"));
  EG_RETURN_IF_ERROR(impl_->db->Notify("screening"));
  return txn.Commit();
}

// --- Checkpoints

absl::Status Store::RecordCheckpoint(std::string_view node, const Checkpoint& c) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db
      ->Exec(
          "INSERT INTO audit_checkpoints (node, seq, head, segment, at) VALUES ($1, $2, $3, $4, "
          "$5) "
          "ON CONFLICT (node, seq) DO NOTHING",
          {Text(node), static_cast<int64_t>(c.seq), core::HexEncode(c.head),
           static_cast<int64_t>(c.segment), int64_t{c.at}})
      .status();
}

absl::StatusOr<std::vector<Checkpoint>> Store::ListCheckpoints(std::string_view node) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      auto rows,
      impl_->db->Query(
          "SELECT seq, head, segment, at FROM audit_checkpoints WHERE node = $1 ORDER BY seq",
          {Text(node)}));
  std::vector<Checkpoint> out;
  for (const auto& r : rows) {
    Checkpoint c;
    c.seq = static_cast<uint64_t>(Int(r[0]));
    if (!internal::ParseHexDigest(Str(r[1]), &c.head))
      return absl::DataLossError(
          absl::StrCat("audit_checkpoints: seq ", c.seq, ": head is not a SHA-256 hex digest"));
    c.segment = static_cast<uint64_t>(Int(r[2]));
    c.at = Int(r[3]);
    out.push_back(c);
  }
  return out;
}

absl::Status Store::RecordVerification(const Verification& v) {
  std::string findings;
  for (const std::string& f : v.findings) absl::StrAppend(&findings, f, "\n");
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->db
      ->Exec(
          "INSERT INTO audit_verifications (node, started_at, finished_at, intact, records, "
          "last_seq, problems, copy_differences, error, findings) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (node) DO UPDATE SET "
          "started_at = excluded.started_at, finished_at = excluded.finished_at, "
          "intact = excluded.intact, records = excluded.records, last_seq = excluded.last_seq, "
          "problems = excluded.problems, copy_differences = excluded.copy_differences, "
          "error = excluded.error, findings = excluded.findings",
          {Text(v.node), int64_t{v.started_at}, int64_t{v.finished_at}, int64_t{v.intact ? 1 : 0},
           static_cast<int64_t>(v.records), static_cast<int64_t>(v.last_seq),
           static_cast<int64_t>(v.problems),
           v.copy_differences ? SqlValue(static_cast<int64_t>(*v.copy_differences)) : SqlValue(nullptr),
           v.error.empty() ? SqlValue(nullptr) : Text(v.error), Text(findings)})
      .status();
}

absl::StatusOr<std::vector<Store::Verification>> Store::ListVerifications() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EG_ASSIGN_OR_RETURN(
      auto rows,
      impl_->db->Query("SELECT node, started_at, finished_at, intact, records, last_seq, problems, "
                       "copy_differences, error, findings FROM audit_verifications ORDER BY node"));
  std::vector<Verification> out;
  for (const auto& r : rows) {
    Verification v;
    v.node = Str(r[0]);
    v.started_at = Int(r[1]);
    v.finished_at = Int(r[2]);
    v.intact = Int(r[3]) != 0;
    v.records = static_cast<uint64_t>(Int(r[4]));
    v.last_seq = static_cast<uint64_t>(Int(r[5]));
    v.problems = static_cast<uint64_t>(Int(r[6]));
    if (r[7]) v.copy_differences = static_cast<uint64_t>(Int(r[7]));
    v.error = Str(r[8]);
    const std::string findings = Str(r[9]);
    for (size_t at = 0, end; at < findings.size(); at = end + 1) {
      end = findings.find('\n', at);
      if (end == std::string::npos) end = findings.size();
      if (end > at) v.findings.push_back(findings.substr(at, end - at));
    }
    out.push_back(std::move(v));
  }
  return out;
}

CheckpointSink* Store::CheckpointSinkFor(std::string node) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->sinks.push_back(std::make_unique<StoreCheckpointSink>(this, std::move(node)));
  return impl_->sinks.back().get();
}

}  // namespace eargate::store
