// Black-box tests of `eargate audit ...` and `eargate people ...` (SPEC §3 exit codes: 0 ok /
// intact, 1 tampered, 2 bad input) on a real log and a real SQLite store.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "eargate/core/csv.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/internal/sql_db.h"
#include "gtest/gtest.h"

namespace eargate::store {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

CliRun Eargate(const std::string& args) {
  CliRun r;
  std::string cmd = absl::StrCat(EARGATE_BINARY, " ", args, " 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "eg_cli_XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    auto log = DecisionLog::Open(dir_ + "/audit");
    ASSERT_TRUE(log.ok());
    for (int i = 1; i <= 6; ++i) {
      LogEntry e;
      std::string id = absl::StrCat("d-", i), payload = absl::StrCat("{\"n\":", i, "}");
      e.decision_id = id;
      e.person_id = i % 2 ? "p-odd" : "p-even";
      e.item = "mythos-5";
      e.time = 1781352000 + i * 86400;  // 2026-06-14 ... 2026-06-19, noon
      e.outcome = i <= 3 ? core::Outcome::kAllow : core::Outcome::kDeny;
      e.payload = payload;
      ASSERT_TRUE((*log)->Append(e).ok());
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

// Test that verify exits 0 on an intact log, 1 after an edit (naming the record), 2 without one.
TEST_F(CliTest, VerifyExitCodes) {
  CliRun ok = Eargate(absl::StrCat("audit verify --dir ", dir_, "/audit"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(ok.out.substr(0, 36), "intact: 6 records in 1 segments, las");
  std::string seg = dir_ + "/audit/audit-0000000000000001.seg";
  std::string bytes = core::ReadFile(seg).value();
  bytes[bytes.size() - 36] ^= 1;  // inside the last record's payload
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;
  CliRun bad = Eargate(absl::StrCat("audit verify --dir ", dir_, "/audit"));
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("seq 6: contents do not match the stored hash (record edited)"),
            std::string::npos)
      << bad.out;
  CliRun none = Eargate(absl::StrCat("audit verify --dir ", dir_, "/nothing"));
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.out, absl::StrCat("audit verify: ", dir_, "/nothing: no such log directory\n"));
}

// Test search and export filters.
TEST_F(CliTest, SearchAndExport) {
  CliRun s =
      Eargate(absl::StrCat("audit search --dir ", dir_, "/audit --person p-odd --outcome deny"));
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 1) << s.out;  // only d-5
  EXPECT_NE(s.out.find("\"decision_id\":\"d-5\""), std::string::npos);
  CliRun e =
      Eargate(absl::StrCat("audit export --dir ", dir_,
                           "/audit --from 2026-06-15 --to 2026-06-16T23:59:59Z --format csv"));
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(std::count(e.out.begin(), e.out.end(), '\n'), 3) << e.out;  // header, d-2, d-3
  CliRun bad = Eargate(absl::StrCat("audit export --dir ", dir_, "/audit --from yesterday"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.out, "--from: must be an RFC 3339 time or a date (got 'yesterday')\n");

  // One decision by its id (as a 451 answer names it), and the newest records first.
  CliRun one = Eargate(absl::StrCat("audit search --dir ", dir_, "/audit --decision-id d-4"));
  EXPECT_EQ(one.exit_code, 0) << one.out;
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;
  EXPECT_EQ(one.out.rfind(R"({"seq":4,)", 0), 0u) << one.out;
  CliRun newest =
      Eargate(absl::StrCat("audit search --dir ", dir_, "/audit --order newest --limit 2"));
  EXPECT_EQ(newest.exit_code, 0) << newest.out;
  EXPECT_EQ(newest.out.rfind(R"({"seq":6,)", 0), 0u) << newest.out;
  EXPECT_NE(newest.out.find("\n{\"seq\":5,"), std::string::npos) << newest.out;
  EXPECT_EQ(std::count(newest.out.begin(), newest.out.end(), '\n'), 2) << newest.out;
  CliRun bad_order = Eargate(absl::StrCat("audit search --dir ", dir_, "/audit --order latest"));
  EXPECT_EQ(bad_order.exit_code, 2);
  EXPECT_EQ(bad_order.out, "--order: must be one of oldest, newest (got 'latest')\n");
}

// Test that a people file with one bad row imports nothing and says why, with exit 2.
TEST_F(CliTest, PeopleImportAllOrNothing) {
  std::string file = dir_ + "/people.jsonl";
  std::ofstream(file) << "{\"id\":\"a\",\"citizenships\":[{\"country\":\"DE\"}]}\n"
                      << "{\"id\":\"b\",\"kind\":\"robot\"}\n";
  std::string store = absl::StrCat("sqlite://", dir_, "/e.db");
  CliRun bad = Eargate(absl::StrCat("people import ", file, " --store ", store));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.out, absl::StrCat(file, ":2: kind: must be natural or organization (got 'robot')\n",
                                  "people import: 1 error; nothing imported\n"));
  CliRun empty = Eargate(absl::StrCat("people export --store ", store));
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "");
  std::ofstream(file) << "{\"id\":\"a\",\"citizenships\":[{\"country\":\"DE\"}]}\n";
  CliRun ok = Eargate(absl::StrCat("people import ", file, " --store ", store));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(ok.out, "imported 1 people\n");
}

// Test that `audit ship` copies the log to a store (idempotently) and that `audit search
// --store` finds the records across nodes, with flags checked.
TEST_F(CliTest, ShipAndSearchStore) {
  const std::string store = absl::StrCat("sqlite://", dir_, "/store.db");
  CliRun first = Eargate(absl::StrCat("audit ship --dir ", dir_, "/audit --store ", store, " --node n1"));
  EXPECT_EQ(first.exit_code, 0) << first.out;
  EXPECT_EQ(first.out, "shipped 6 records of node n1 (store has up to seq 6)\n");
  CliRun again = Eargate(absl::StrCat("audit ship --dir ", dir_, "/audit --store ", store, " --node n1"));
  EXPECT_EQ(again.out, "shipped 0 records of node n1 (store has up to seq 6)\n");
  CliRun n2 = Eargate(absl::StrCat("audit ship --dir ", dir_, "/audit --store ", store, " --node n2"));
  EXPECT_EQ(n2.exit_code, 0) << n2.out;

  CliRun found = Eargate(absl::StrCat("audit search --store ", store, " --person p-odd --outcome deny"));
  EXPECT_EQ(found.exit_code, 0) << found.out;
  // Record 5 (odd, deny) from both nodes, in time then node order.
  EXPECT_EQ(std::count(found.out.begin(), found.out.end(), '\n'), 2) << found.out;
  EXPECT_EQ(found.out.rfind(R"({"node":"n1","seq":5,"time":"2026-06-18T12:00:00Z","kind":"decision","decision_id":"d-5","person":"p-odd","item":"mythos-5","outcome":"deny","hash":")", 0), 0u) << found.out;
  EXPECT_NE(found.out.find(R"({"node":"n2","seq":5,)"), std::string::npos) << found.out;
  CliRun one = Eargate(absl::StrCat("audit search --store ", store, " --node n2 --decision-id d-3"));
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;
  EXPECT_NE(one.out.find(R"("record":{"n":3}})"), std::string::npos) << one.out;

  // The store's copy against the log: faithful, then one edited row named (exit 1).
  const std::string verify = absl::StrCat("audit verify --dir ", dir_, "/audit --store ", store, " --node n1 --shipped");
  CliRun faithful = Eargate(verify);
  EXPECT_EQ(faithful.exit_code, 0) << faithful.out;
  EXPECT_NE(faithful.out.find("\nstore copy of node n1: faithful: 6 rows compared with the log, "
                              "shipped up to seq 6 (the log's last 6)\n"),
            std::string::npos)
      << faithful.out;
  {
    auto db = internal::OpenSqlite(dir_ + "/store.db");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("UPDATE decision_records SET outcome = 'allow' WHERE node = 'n1' AND seq = 5").ok());
  }
  CliRun edited = Eargate(verify);
  EXPECT_EQ(edited.exit_code, 1) << edited.out;
  EXPECT_NE(edited.out.find("TAMPERED store copy (node n1) seq 5: outcome differs from the log\n"),
            std::string::npos)
      << edited.out;
  EXPECT_NE(edited.out.find("store copy of node n1: differs: 6 rows compared"), std::string::npos) << edited.out;
  CliRun other = Eargate(absl::StrCat("audit verify --dir ", dir_, "/audit --store ", store, " --node n9 --shipped"));
  EXPECT_EQ(other.exit_code, 0) << other.out;
  EXPECT_NE(other.out.find("store copy of node n9: the store holds no records of this node"), std::string::npos)
      << other.out;
  CliRun alone = Eargate(absl::StrCat("audit verify --dir ", dir_, "/audit --shipped"));
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_EQ(alone.out, "--shipped needs --store\n");

  CliRun no_store = Eargate(absl::StrCat("audit search --dir ", dir_, "/audit --node n1"));
  EXPECT_EQ(no_store.exit_code, 2);
  EXPECT_EQ(no_store.out, "--node needs --store\n");
  // Newest first from the store: n2 before n1 at the same time, record 6 before 5.
  CliRun newest = Eargate(absl::StrCat("audit search --store ", store, " --order newest --limit 3"));
  EXPECT_EQ(newest.exit_code, 0) << newest.out;
  EXPECT_EQ(newest.out.rfind(R"({"node":"n2","seq":6,)", 0), 0u) << newest.out;
  EXPECT_NE(newest.out.find("\n{\"node\":\"n1\",\"seq\":6,"), std::string::npos) << newest.out;
  EXPECT_NE(newest.out.find("\n{\"node\":\"n2\",\"seq\":5,"), std::string::npos) << newest.out;
  CliRun bad_url = Eargate(absl::StrCat("audit ship --dir ", dir_, "/audit --store mysql://x"));
  EXPECT_EQ(bad_url.exit_code, 2);
  EXPECT_NE(bad_url.out.find("must start with sqlite:// or postgresql://"), std::string::npos)
      << bad_url.out;
}

}  // namespace
}  // namespace eargate::store
