// Store tests, each against SQLite and a real PostgreSQL: migrations, the person registry
// (all-or-nothing import, facts with sources), API keys, admin tokens, checkpoints.
#include "eargate/store/store.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "eargate/core/sha256.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/internal/sql_db.h"
#include "eargate/store/log_reader.h"
#include "eargate/store/people_io.h"
#include "eargate/store/registry_watcher.h"
#include "eargate/store/testing/store_fixture.h"
#include "gtest/gtest.h"

namespace eargate::store {
namespace {

const rules::EarData& Data() {
  static auto d = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
  return **d;
}

using testing::StoreTest;

std::string Key(std::string_view k) { return core::Sha256Hex(k); }

PersonRecord Jane() {
  auto parsed = ParsePeople(
      absl::StrCat(
          R"({"id":"cust-42","kind":"natural","name":"Jane Doe",)",
          R"("citizenships":[{"country":"DE","since":"1990-01-01","source":"onfido","verified_at":"2026-05-01T10:00:00Z"}],)",
          R"("permanent_residencies":[{"country":"US","since":"2020-05-01"}],"us_person":null,)",
          R"("end_user_categories":["government"],"end_uses":["military_intelligence"],"organization":"acme-gmbh",)",
          R"("api_key_sha256":")", Key("key-1"), R"(",)",
          R"("location":{"country":"DE","source":"ip","ip":"203.0.113.9","anonymizer":false},)",
          R"("kyc":{"source":"onfido","verified_at":"2026-05-01T10:00:00Z"}})", "\n"),
      PeopleFormat::kJsonl, "people.jsonl", Data());
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0];
  return parsed.people.at(0);
}

class RegistryTest : public StoreTest {};

// Test that the schema is migrated to the binary's version and that reopening is a no-op.
TEST_P(RegistryTest, MigratesOnOpen) {
  EXPECT_EQ(store().backend(), GetParam());
  EXPECT_EQ(store().schema_version(), Store::KnownSchemaVersion(GetParam()));
  EXPECT_GE(store().schema_version(), 1);
  auto again = Reopen();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->schema_version(), store().schema_version());
}

// Test that a database with a newer schema than the binary knows is refused.
TEST_P(RegistryTest, RefusesNewerSchema) {
  std::string path = url().substr(9);
  auto db = GetParam() == "sqlite" ? internal::OpenSqlite(path) : internal::OpenPostgres(url());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)
                  ->Exec("INSERT INTO eargate_schema_migrations (version, name, applied_at) VALUES "
                         "(999, 'future', 0)")
                  .ok());
  auto s = Store::Open(url());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.status().message(),
            absl::StrCat("database schema version 999 is newer than this eargate knows (",
                         Store::KnownSchemaVersion(GetParam()), "); upgrade eargate"));
}

// Test that statements with parameters still run when the server has lost the ones this
// connection prepared (as behind a pooler that hands out another session): the first fails
// as unavailable, and from then on they run unprepared.
TEST_P(RegistryTest, StatementsRunWhenPreparedOnesAreGone) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "PostgreSQL prepares statements by name";
  auto db = internal::OpenPostgres(url());
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string sql = "SELECT count(*) FROM eargate_schema_migrations WHERE version >= $1";
  auto rows = (*db)->Query(sql, {int64_t{1}});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_TRUE(internal::PostgresPrepares());
  ASSERT_TRUE((*db)->ExecScript("DEALLOCATE ALL").ok());  // what another session looks like
  rows = (*db)->Query(sql, {int64_t{1}});
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kUnavailable) << rows.status();
  EXPECT_FALSE(internal::PostgresPrepares());
  for (int i = 0; i < 3; ++i) {
    rows = (*db)->Query(sql, {int64_t{1}});
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ((*rows)[0][0], std::to_string(Store::KnownSchemaVersion("postgresql")));
  }
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());  // other connections: unprepared too
  internal::SetPostgresPrepares(true);  // the other tests run prepared
}

// Test that a person's facts, their sources and keys round-trip.
TEST_P(RegistryTest, ImportAndGet) {
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());
  auto got = store().GetPerson("cust-42");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  const PersonRecord& r = **got;
  EXPECT_EQ(r.person.name, "Jane Doe");
  ASSERT_EQ(r.person.citizenships.size(), 1u);
  EXPECT_EQ(r.person.citizenships[0].country.code(), "DE");
  EXPECT_EQ(r.person.citizenships[0].since, *core::ParseTime("1990-01-01", true));
  ASSERT_EQ(r.citizenship_sources.size(), 1u);
  EXPECT_EQ(r.citizenship_sources[0].source, "onfido");
  EXPECT_EQ(r.citizenship_sources[0].verified_at, *core::ParseTime("2026-05-01T10:00:00Z"));
  ASSERT_EQ(r.person.permanent_residencies.size(), 1u);
  EXPECT_EQ(core::UsPersonStatus(r.person), core::Tristate::kYes);
  EXPECT_EQ(r.person.end_uses, core::Bit(core::Knowledge::kMilitaryIntelligence));
  EXPECT_EQ(r.person.end_user_categories, core::Bit(core::Knowledge::kGovernment));
  EXPECT_EQ(r.person.organization, "acme-gmbh");
  EXPECT_EQ(r.kyc.source, "onfido");
  ASSERT_TRUE(r.location.has_value());
  EXPECT_EQ(r.location->ip, "203.0.113.9");
  EXPECT_EQ(r.api_keys_sha256, std::vector<std::string>{Key("key-1")});
  EXPECT_EQ(r.updated_at, clock_.now);
  // Export and parse again: the same record.
  std::string line;
  AppendPersonJsonl(r, &line);
  auto parsed = ParsePeople(line, PeopleFormat::kJsonl, "export", Data());
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors[0];
  std::string again;
  AppendPersonJsonl(parsed.people[0], &again);
  EXPECT_EQ(again, line);
  EXPECT_FALSE(store().GetPerson("nobody")->has_value());
}

// Test that an import that fails on one person writes nothing at all.
TEST_P(RegistryTest, ImportIsAllOrNothing) {
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());
  PersonRecord a, b;
  a.person.id = "new-1";
  b.person.id = "new-2";
  b.api_keys_sha256 = {Key("key-1")};  // Jane's key
  auto s = store().ImportPeople({a, b});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), absl::StrCat("person new-2: api key ", Key("key-1").substr(0, 12),
                                      "... already belongs to person cust-42"));
  EXPECT_FALSE(store().GetPerson("new-1")->has_value());
  int n = 0;
  ASSERT_TRUE(store().ForEachPerson([&](const PersonRecord&) { ++n; }).ok());
  EXPECT_EQ(n, 1);
}

// Test that re-importing a person replaces their facts.
TEST_P(RegistryTest, ImportReplacesFacts) {
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());
  PersonRecord j = Jane();
  j.person.citizenships.clear();
  j.citizenship_sources.clear();
  j.person.end_uses = 0;
  ASSERT_TRUE(store().ImportPeople({j}).ok());
  auto got = store().GetPerson("cust-42");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->person.citizenships.empty());
  EXPECT_EQ((*got)->person.end_uses, 0u);
  ASSERT_TRUE(store().DeletePerson("cust-42").ok());
  EXPECT_EQ(store().DeletePerson("cust-42").code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(store().PersonForApiKey(Key("key-1"))->has_value());
}

// Test API keys: lookup, last use, revocation seen by a second connection (another node).
TEST_P(RegistryTest, ApiKeys) {
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());
  ASSERT_TRUE(store().AddApiKey("cust-42", Key("key-2")).ok());
  EXPECT_EQ(store().AddApiKey("cust-42", Key("key-2")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store().AddApiKey("nobody", Key("key-3")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store().AddApiKey("cust-42", "abc").code(), absl::StatusCode::kInvalidArgument);
  clock_.now += 60;
  auto who = store().PersonForApiKey(Key("key-2"), /*touch=*/true);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->value_or(""), "cust-42");
  auto other = Reopen();
  ASSERT_TRUE(store().RevokeApiKey(Key("key-2")).ok());
  EXPECT_EQ(store().RevokeApiKey(Key("key-2")).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(other->PersonForApiKey(Key("key-2"))->has_value());
  EXPECT_EQ(other->PersonForApiKey(Key("key-1"))->value_or(""), "cust-42");
  auto keys = store().ListApiKeys("cust-42");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  const ApiKey& k2 = (*keys)[0].key_sha256 == Key("key-2") ? (*keys)[0] : (*keys)[1];
  EXPECT_EQ(k2.last_used_at, clock_.now);
  EXPECT_EQ(k2.revoked_at, clock_.now);
  // Batched last-use records (the gateway's): newer times win, older ones and unknown keys
  // change nothing.
  const core::Timestamp t = clock_.now;
  ASSERT_TRUE(store().RecordApiKeyUses({{Key("key-1"), t + 100}, {Key("key-2"), t - 100}, {Key("nope"), t}}).ok());
  ASSERT_TRUE(store().RecordApiKeyUses({{Key("key-1"), t + 50}}).ok());
  keys = store().ListApiKeys("cust-42");
  ASSERT_TRUE(keys.ok());
  for (const ApiKey& k : *keys) EXPECT_EQ(k.last_used_at, k.key_sha256 == Key("key-1") ? t + 100 : t) << k.key_sha256;
}

// Test admin tokens: roles, expiry, revocation, unknown tokens and bad input.
TEST_P(RegistryTest, AdminTokens) {
  ASSERT_TRUE(store().CreateAdminToken(Key("t-admin"), "alice", Role::kAdmin).ok());
  ASSERT_TRUE(
      store().CreateAdminToken(Key("t-view"), "bob", Role::kViewer, clock_.now + 3600).ok());
  EXPECT_EQ(store().CreateAdminToken("not-hex", "x", Role::kAdmin).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRole("superuser"), std::nullopt);
  EXPECT_EQ(ParseRole("officer"), Role::kOfficer);
  auto t = store().AuthenticateAdminToken(Key("t-admin"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->role, Role::kAdmin);
  EXPECT_EQ(t->name, "alice");
  EXPECT_EQ(store().AuthenticateAdminToken(Key("t-view"))->role, Role::kViewer);
  clock_.now += 3600;
  EXPECT_EQ(store().AuthenticateAdminToken(Key("t-view")).status().message(),
            "admin token: expired");
  EXPECT_EQ(store().AuthenticateAdminToken(Key("nope")).status().message(), "admin token: unknown");
  ASSERT_TRUE(store().RevokeAdminToken(Key("t-admin")).ok());
  auto r = store().AuthenticateAdminToken(Key("t-admin"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "admin token: revoked");
}

// Test that the decision log's checkpoints reach the store and that verify checks them.
TEST_P(RegistryTest, LogCheckpointsInStore) {
  std::string dir = temp_dir_ + "/audit";
  LogOptions opt;
  opt.checkpoint_every = 10;
  opt.checkpoint_sink = store().CheckpointSinkFor("node-a");
  {
    auto log = DecisionLog::Open(dir, opt);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 35; ++i) {
      LogEntry e;
      std::string id = absl::StrCat("d", i);
      e.decision_id = id;
      e.payload = "{}";
      ASSERT_TRUE((*log)->Append(e).ok());
    }
    ASSERT_TRUE((*log)->Close().ok());
    EXPECT_EQ((*log)->stats().checkpoint_sink_errors, 0u);
  }
  auto cps = store().ListCheckpoints("node-a");
  ASSERT_TRUE(cps.ok()) << cps.status();
  ASSERT_EQ(cps->size(), 4u);  // 10, 20, 30 and 35 at close
  EXPECT_EQ(cps->back().seq, 35u);
  VerifyOptions vo;
  vo.extra_checkpoints = *cps;
  auto report = VerifyLog(dir, vo);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->checkpoints_checked, 8u);
}

// Test that each node's last verification is kept, one row per node, replaced by the next,
// with the copy's figure absent when it was not compared.
TEST_P(RegistryTest, LastVerificationPerNode) {
  Store::Verification a;
  a.node = "node-a";
  a.started_at = 1780000000;
  a.finished_at = 1780000060;
  a.intact = true;
  a.records = 1234;
  a.last_seq = 1234;
  ASSERT_TRUE(store().RecordVerification(a).ok());
  Store::Verification b = a;
  b.node = "node-b";
  b.intact = false;
  b.problems = 2;
  b.copy_differences = 1;
  b.error = "store checkpoints: unavailable";
  b.findings = {"audit-0000000000000001.seg offset 90 seq 1: record edited", "store copy seq 7: outcome differs"};
  ASSERT_TRUE(store().RecordVerification(b).ok());
  a.finished_at = 1780086460;  // the next day's run replaces the row
  a.records = 2000;
  ASSERT_TRUE(store().RecordVerification(a).ok());
  auto all = store().ListVerifications();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].node, "node-a");
  EXPECT_EQ((*all)[0].finished_at, 1780086460);
  EXPECT_EQ((*all)[0].records, 2000u);
  EXPECT_TRUE((*all)[0].intact);
  EXPECT_FALSE((*all)[0].copy_differences.has_value());
  EXPECT_TRUE((*all)[0].error.empty());
  EXPECT_TRUE((*all)[0].findings.empty());
  EXPECT_EQ((*all)[1].node, "node-b");
  EXPECT_FALSE((*all)[1].intact);
  EXPECT_EQ((*all)[1].problems, 2u);
  EXPECT_EQ((*all)[1].copy_differences, std::optional<uint64_t>(1));
  EXPECT_EQ((*all)[1].error, b.error);
  EXPECT_EQ((*all)[1].findings, b.findings);
}

// Test that a key revoked through one node's store reaches a watcher on another connection
// (the fleet's change propagation), and that the other node then refuses the key.
TEST_P(RegistryTest, WatcherSeesRevocation) {
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> changes;
  auto watcher = RegistryWatcher::Start(
      url(),
      [&](std::string_view what) {
        std::lock_guard<std::mutex> lock(mu);
        changes.emplace_back(what);
        cv.notify_all();
      },
      std::chrono::milliseconds(20));
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  auto node_b = Reopen();
  ASSERT_TRUE(store().RevokeApiKey(Key("key-1")).ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    // Generous bound: the test checks delivery, not speed.
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return !changes.empty(); }));
    EXPECT_EQ(changes[0], GetParam() == "sqlite" ? "registry" : "api_keys");
  }
  EXPECT_FALSE(node_b->PersonForApiKey(Key("key-1"))->has_value());
}

// Test screening dispositions: recorded with who/when/why, replaced, listed per person,
// refused for an unknown person or a malformed fingerprint, withdrawn, and gone with the person.
TEST_P(RegistryTest, ScreeningDispositions) {
  ASSERT_TRUE(store().ImportPeople({Jane()}).ok());
  ScreeningDisposition d{"cust-42", "us_ofac_sdn", "9001", Key("entry v1"), "PETROVSKY, Ivan",
                         "anna", clock_.now, "different date of birth"};
  ASSERT_TRUE(store().RecordScreeningDisposition(d).ok());
  ScreeningDisposition other = d;
  other.entry_id = "9002";
  ASSERT_TRUE(store().RecordScreeningDisposition(other).ok());
  auto list = Reopen()->ListScreeningDispositions("cust-42");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], d);
  // Cleared again (the entry changed): replaced, not added.
  d.entry_fingerprint = Key("entry v2");
  d.reason = "rechecked";
  d.decided_at = clock_.now + 60;
  ASSERT_TRUE(store().RecordScreeningDisposition(d).ok());
  list = store().ListScreeningDispositions();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], d);
  EXPECT_TRUE(store().ListScreeningDispositions("nobody")->empty());

  ScreeningDisposition bad = d;
  bad.person_id = "nobody";
  EXPECT_EQ(store().RecordScreeningDisposition(bad).code(), absl::StatusCode::kNotFound);
  bad = d;
  bad.entry_fingerprint = "abc";
  EXPECT_EQ(store().RecordScreeningDisposition(bad).message(),
            "screening disposition: entry_fingerprint: must be 64 lower-case hex digits");
  bad = d;
  bad.reason = "";
  EXPECT_EQ(store().RecordScreeningDisposition(bad).message(), "screening disposition: reason: empty");

  ASSERT_TRUE(store().DeleteScreeningDisposition("cust-42", "us_ofac_sdn", "9002").ok());
  EXPECT_EQ(store().DeleteScreeningDisposition("cust-42", "us_ofac_sdn", "9002").code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store().DeletePerson("cust-42").ok());
  EXPECT_TRUE(store().ListScreeningDispositions()->empty());
}

// Test that admin tokens are listed newest first, with their state.
TEST_P(RegistryTest, ListAdminTokens) {
  ASSERT_TRUE(store().CreateAdminToken(Key("t1"), "alice", Role::kAdmin).ok());
  clock_.now += 10;
  ASSERT_TRUE(store().CreateAdminToken(Key("t2"), "bob", Role::kAnalyst, clock_.now + 99).ok());
  ASSERT_TRUE(store().RevokeAdminToken(Key("t1")).ok());
  auto tokens = store().ListAdminTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].name, "bob");
  EXPECT_EQ((*tokens)[0].role, Role::kAnalyst);
  EXPECT_EQ((*tokens)[0].expires_at, clock_.now + 99);
  EXPECT_EQ((*tokens)[1].token_sha256, Key("t1"));
  EXPECT_EQ((*tokens)[1].revoked_at, clock_.now);
}

// Test the registry change journal: each change names its person, in commit order; a failed
// change journals nothing; a bulk import and a pruned gap ask for everyone.
TEST_P(RegistryTest, ChangeJournal) {
  auto head = store().RegistryHead();
  ASSERT_TRUE(head.ok()) << head.status();
  const int64_t start = *head;
  PersonRecord bob = Jane();
  bob.person.id = "cust-43";
  bob.api_keys_sha256 = {Key("key-b")};
  ASSERT_TRUE(store().ImportPeople({Jane(), bob}).ok());
  ASSERT_TRUE(store().AddApiKey("cust-42", Key("key-2")).ok());
  EXPECT_FALSE(store().AddApiKey("nobody", Key("key-3")).ok());  // journals nothing
  auto other = Reopen();  // another node
  auto changes = other->RegistryChangesSince(start);
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_FALSE(changes->everyone);
  EXPECT_EQ(changes->head, start + 3);
  EXPECT_EQ(changes->person_ids, (std::vector<std::string>{"cust-42", "cust-43"}));
  const int64_t seen = changes->head;
  ASSERT_TRUE(store().RevokeApiKey(Key("key-b")).ok());
  ASSERT_TRUE(store().DeletePerson("cust-42").ok());
  changes = other->RegistryChangesSince(seen);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->person_ids, (std::vector<std::string>{"cust-43", "cust-42"}));
  auto people = other->GetPeople({"cust-42", "cust-43"});
  ASSERT_TRUE(people.ok());
  ASSERT_EQ(people->size(), 1u);  // cust-42 is gone
  EXPECT_EQ((*people)[0].person.id, "cust-43");
  EXPECT_TRUE((*people)[0].api_keys_sha256.empty());  // its key revoked
  // Nothing new: nothing to do.
  changes = other->RegistryChangesSince(changes->head);
  ASSERT_TRUE(changes.ok());
  EXPECT_FALSE(changes->everyone);
  EXPECT_TRUE(changes->person_ids.empty());
  // More people than the caller reloads one by one: everyone.
  changes = other->RegistryChangesSince(start, /*max_people=*/1);
  ASSERT_TRUE(changes.ok());
  EXPECT_TRUE(changes->everyone);
  // A week later the old rows are pruned by the next change: a node still at `start` has a gap.
  clock_.now += 8 * 86400;
  ASSERT_TRUE(store().ImportPeople({bob}).ok());
  changes = other->RegistryChangesSince(start);
  ASSERT_TRUE(changes.ok());
  EXPECT_TRUE(changes->everyone);
  changes = other->RegistryChangesSince(changes->head - 1);
  ASSERT_TRUE(changes.ok());
  EXPECT_FALSE(changes->everyone);
  EXPECT_EQ(changes->person_ids, (std::vector<std::string>{"cust-43"}));
}

INSTANTIATE_STORE_TEST(RegistryTest);

// Test that URLs of unknown schemes are refused with a message that says what is allowed.
TEST(StoreUrlTest, UnknownScheme) {
  auto s = Store::Open("mysql://x");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "store URL 'mysql://x': must start with sqlite:// or postgresql://");
}

}  // namespace
}  // namespace eargate::store
