// RecordShipper tests, each against SQLite and a real PostgreSQL: records of two nodes' logs
// shipped to one store, resumed idempotently after more appends, searched across nodes; a
// different log under a node name already shipped is refused.
#include "eargate/store/record_shipper.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/sql_db.h"
#include "eargate/store/testing/store_fixture.h"
#include "gtest/gtest.h"

namespace eargate::store {
namespace {

using testing::StoreTest;

class ShipperTest : public StoreTest {
 protected:
  std::string LogDir(const std::string& name) { return temp_dir_ + "/" + name; }
  // Appends records from..from+n-1 to the log in `dir` (person cust-<i%3>, outcome by i%2).
  void Append(const std::string& dir, int from, int n) {
    LogOptions opt;
    opt.max_segment_bytes = 4096;
    auto log = DecisionLog::Open(dir, opt);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = from; i < from + n; ++i) {
      std::string id = absl::StrCat(std::filesystem::path(dir).filename().string(), "-d", i);
      std::string person = absl::StrCat("cust-", i % 3);
      std::string payload =
          absl::StrCat(R"({"decision_id":")", id, R"(","policy":"sha256:abc","n":)", i, "}");
      LogEntry e;
      e.decision_id = id;
      e.person_id = person;
      e.item = "mythos-5";
      e.time = 1781352000 + i;
      e.outcome = i % 2 ? core::Outcome::kDeny : core::Outcome::kAllow;
      e.payload = payload;
      ASSERT_TRUE((*log)->Append(e).ok());
    }
  }
  std::vector<ShippedRecord> Search(RecordShipper& s, const ShippedFilter& f) {
    std::vector<ShippedRecord> out;
    EXPECT_TRUE(s.Search(f, [&](const ShippedRecord& r) {
                   out.push_back(r);
                   return true;
                 }).ok());
    return out;
  }
};

// Test that two nodes ship to one store, that shipping resumes after the highest seq without
// duplicates, and that search finds records across nodes with the log's fields and hashes.
TEST_P(ShipperTest, ShipsResumesAndSearchesAcrossNodes) {
  Append(LogDir("node-a"), 1, 60);
  Append(LogDir("node-b"), 1, 30);
  auto a = RecordShipper::Open(url(), "node-a");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = RecordShipper::Open(url(), "node-b");
  ASSERT_TRUE(b.ok()) << b.status();

  auto r = (*a)->ShipOnce(LogDir("node-a"), 25);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shipped, 60u);
  EXPECT_EQ(r->last_seq, 60u);
  r = (*b)->ShipOnce(LogDir("node-b"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shipped, 30u);

  // Again: nothing new. Then more records: only those.
  r = (*a)->ShipOnce(LogDir("node-a"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shipped, 0u);
  Append(LogDir("node-a"), 61, 15);
  r = (*a)->ShipOnce(LogDir("node-a"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shipped, 15u);
  EXPECT_EQ(r->last_seq, 75u);
  EXPECT_EQ((*a)->HighestShipped().value(), 75u);

  // Every shipped row equals the log's record.
  std::map<std::pair<std::string, uint64_t>, std::string> log_hashes;
  for (std::string node : {"node-a", "node-b"}) {
    ASSERT_TRUE(ScanLog(LogDir(node), {}, [&](const LogRecord& rec) {
                  log_hashes[{node, rec.seq}] = core::HexEncode(rec.hash);
                  return true;
                }).ok());
  }
  std::vector<ShippedRecord> all = Search(**a, {});
  ASSERT_EQ(all.size(), 105u);
  for (const auto& s : all) EXPECT_EQ(s.hash, (log_hashes[{s.node, s.seq}])) << s.node << s.seq;

  // Search across nodes: person cust-1 and deny (i % 3 == 1 and i odd).
  ShippedFilter f;
  f.records.person = "cust-1";
  f.records.outcome = core::Outcome::kDeny;
  std::vector<ShippedRecord> found = Search(**b, f);
  size_t expect = 0;
  for (int i = 1; i <= 75; ++i) expect += i % 3 == 1 && i % 2 == 1;
  for (int i = 1; i <= 30; ++i) expect += i % 3 == 1 && i % 2 == 1;
  EXPECT_EQ(found.size(), expect);
  std::set<std::string> nodes;
  for (const auto& s : found) {
    nodes.insert(s.node);
    EXPECT_EQ(s.person, "cust-1");
    EXPECT_EQ(s.outcome, "deny");
    EXPECT_EQ(s.policy_version, "sha256:abc");
    EXPECT_EQ(s.kind, "decision");
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"node-a", "node-b"}));

  // By node, time range and decision id.
  f = {};
  f.node = "node-b";
  f.records.from = 1781352000 + 10;
  f.records.to = 1781352000 + 19;
  EXPECT_EQ(Search(**a, f).size(), 10u);
  // Newest first, the first few.
  f.newest_first = true;
  f.limit = 3;
  found = Search(**a, f);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].seq, 19u);
  EXPECT_EQ(found[1].seq, 18u);
  EXPECT_EQ(found[2].seq, 17u);
  // Paged: each page after the last record of the one before, in both orders, is the whole
  // search in pieces.
  for (bool newest : {false, true}) {
    SCOPED_TRACE(newest ? "newest first" : "oldest first");
    f = {};
    f.records.person = "cust-2";
    f.newest_first = newest;
    const std::vector<ShippedRecord> whole = Search(**a, f);
    ASSERT_GT(whole.size(), 20u);
    std::vector<ShippedRecord> paged;
    f.limit = 7;
    for (int page = 0; page < 100; ++page) {
      std::vector<ShippedRecord> got = Search(**a, f);
      paged.insert(paged.end(), got.begin(), got.end());
      if (got.size() < f.limit) break;
      f.after = ShippedKey{got.back().time, got.back().node, got.back().seq};
    }
    ASSERT_EQ(paged.size(), whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(paged[i].node, whole[i].node);
      EXPECT_EQ(paged[i].seq, whole[i].seq);
    }
  }
  f = {};
  f.records.decision_id = "node-a-d42";
  found = Search(**a, f);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].seq, 42u);
  std::string json;
  AppendShippedJson(found[0], &json);
  EXPECT_EQ(json.rfind(R"({"node":"node-a","seq":42,"time":")", 0), 0u) << json;
  EXPECT_NE(json.find(R"("record":{"decision_id":"node-a-d42","policy":"sha256:abc","n":42}})"),
            std::string::npos)
      << json;
}

// Test that a different log shipped under a node name already in the store is refused.
TEST_P(ShipperTest, RefusesAnotherChainUnderTheSameNode) {
  Append(LogDir("node-a"), 1, 20);
  Append(LogDir("other"), 1, 30);
  auto a = RecordShipper::Open(url(), "node-a");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->ShipOnce(LogDir("node-a")).ok());
  auto r = (*a)->ShipOnce(LogDir("other"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("another log was shipped under this node name"),
            std::string::npos);
  EXPECT_EQ((*a)->HighestShipped().value(), 20u);
  EXPECT_EQ(RecordShipper::Open(url(), "").status().code(), absl::StatusCode::kInvalidArgument);
}

// Test that a shipper keeps shipping from a log that is open and appending (its live segment
// zero-filled and written with O_DIRECT after the first rotations), each ship only the new
// records, and that damage in a closed segment after what it shipped is shipped around (the
// damaged record is not shipped, the ones after it are).
TEST_P(ShipperTest, ShipsFromAnOpenLogAndAroundDamage) {
  const std::string dir = LogDir("live");
  LogOptions opt;
  opt.max_segment_bytes = 64 << 10;
  auto log = DecisionLog::Open(dir, opt);
  ASSERT_TRUE(log.ok()) << log.status();
  int next = 1;
  auto append = [&](int n) {
    for (int end = next + n; next < end; ++next) {
      std::string id = absl::StrCat("live-d", next);
      LogEntry e;
      e.decision_id = id;
      e.person_id = "cust-1";
      e.item = "mythos-5";
      e.time = 1781352000 + next;
      e.outcome = core::Outcome::kAllow;
      std::string payload = absl::StrCat(R"({"decision_id":")", id, R"(","n":)", next, "}");
      e.payload = payload;
      ASSERT_TRUE((*log)->Append(e).ok());
    }
  };
  auto shipper = RecordShipper::Open(url(), "live");
  ASSERT_TRUE(shipper.ok()) << shipper.status();
  uint64_t total = 0;
  for (int round = 0; round < 4; ++round) {
    append(500);
    auto r = (*shipper)->ShipOnce(dir, 300);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->shipped, 500u);
    EXPECT_EQ(r->last_seq, static_cast<uint64_t>(next - 1));
    EXPECT_EQ(r->resumed, round > 0);  // the first ship scans the log; then only what follows
    total += r->shipped;
  }
  EXPECT_GE((*log)->stats().segments_direct, 1u);

  // Damage record 2050's framing, in a segment closed by the time it is shipped.
  append(100);  // 2001..2100
  uint64_t victim_segment = 0, victim_offset = 0, last_segment = 0;
  append(1500);  // rotations: the victim's segment is closed
  ASSERT_TRUE((*log)->Flush().ok());
  ASSERT_TRUE(ScanLog(dir, {}, [&](const LogRecord& rec) {
                if (rec.seq == 2050) victim_segment = rec.segment, victim_offset = rec.offset;
                last_segment = rec.segment;
                return true;
              }).ok());
  ASSERT_LT(victim_segment, last_segment);
  const std::string victim_path = absl::StrCat(dir, "/", internal::SegmentFileName(victim_segment));
  {
    std::fstream f(victim_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(victim_offset + 5));
    f.put(0x7f);  // its body length, now far too large
  }
  auto r = (*shipper)->ShipOnce(dir, 300);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shipped, 1599u);  // 2001..3600 but 2050
  EXPECT_EQ(r->last_seq, 3600u);
  EXPECT_FALSE(r->resumed);  // it stopped at the damage and scanned around it
  total += r->shipped;
  // And on from there.
  append(50);
  r = (*shipper)->ShipOnce(dir, 300);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shipped, 50u);
  EXPECT_TRUE(r->resumed);
  total += r->shipped;
  ShippedFilter f;
  f.node = "live";
  std::vector<ShippedRecord> rows = Search(**shipper, f);
  EXPECT_EQ(rows.size(), total);
  f.records.decision_id = "live-d2050";
  EXPECT_TRUE(Search(**shipper, f).empty());
  ASSERT_TRUE((*log)->Close().ok());
}

// Test that a ship stops at max_records and says there is more, and the next one continues
// where it stopped (the gateway's passes, which a shutdown waits for one of).
TEST_P(ShipperTest, ShipsAtMostMaxRecordsAPass) {
  Append(LogDir("node-a"), 1, 2000);
  auto a = RecordShipper::Open(url(), "node-a");
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<std::tuple<uint64_t, uint64_t, bool>> passes;  // shipped, last_seq, more
  for (int i = 0; i < 4; ++i) {
    auto r = (*a)->ShipOnce(LogDir("node-a"), 300, 700);
    ASSERT_TRUE(r.ok()) << r.status();
    passes.emplace_back(r->shipped, r->last_seq, r->more);
  }
  using P = std::tuple<uint64_t, uint64_t, bool>;
  EXPECT_EQ(passes, (std::vector<P>{P{700, 700, true}, P{700, 1400, true}, P{600, 2000, false},
                                    P{0, 2000, false}}));
  EXPECT_EQ(Search(**a, {}).size(), 2000u);
}

// Test that the store's copy of a node's records is checked against its log field by field:
// faithful as shipped; an edited row, a deleted one and an added one are each named, and records
// not shipped yet are no difference.
TEST_P(ShipperTest, ChecksTheStoresCopyAgainstTheLog) {
  Append(LogDir("node-a"), 1, 60);
  auto a = RecordShipper::Open(url(), "node-a");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE((*a)->ShipOnce(LogDir("node-a")).ok());
  Append(LogDir("node-a"), 61, 5);  // in the log, not shipped yet
  auto report = (*a)->CheckCopy(LogDir("node-a"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->faithful()) << (report->differences.empty() ? "" : report->differences[0]);
  EXPECT_EQ(report->rows_checked, 60u);
  EXPECT_EQ(report->last_shipped, 60u);
  EXPECT_EQ(report->last_in_log, 65u);

  auto db = GetParam() == "sqlite" ? internal::OpenSqlite(url().substr(9)) : internal::OpenPostgres(url());
  ASSERT_TRUE(db.ok()) << db.status();
  for (const char* sql :
       {"UPDATE decision_records SET person = 'cust-9', payload = '{}' WHERE node = 'node-a' AND seq = 7",
        "UPDATE decision_records SET outcome = 'allow' WHERE node = 'node-a' AND seq = 11",
        "DELETE FROM decision_records WHERE node = 'node-a' AND seq = 20",
        "UPDATE decision_records SET decision_id = 'forged' WHERE node = 'node-a' AND seq = 59",
        "INSERT INTO decision_records (node, seq, hash, time, kind, decision_id, person, item, outcome, "
        "policy_version, payload) SELECT node, 70, hash, time, kind, decision_id, person, item, outcome, "
        "policy_version, payload FROM decision_records WHERE node = 'node-a' AND seq = 58"}) {
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }
  report = (*a)->CheckCopy(LogDir("node-a"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->faithful());
  EXPECT_EQ(report->differences,
            (std::vector<std::string>{"seq 7: person, payload differ from the log",
                                      "seq 11: outcome differs from the log",
                                      "seq 20: in the log, missing from the store's copy",
                                      "seq 59: decision_id differs from the log",
                                      // The forged row 70 claims that 61-65 were shipped:
                                      "seq 61: in the log, missing from the store's copy",
                                      "seq 62: in the log, missing from the store's copy",
                                      "seq 63: in the log, missing from the store's copy",
                                      "seq 64: in the log, missing from the store's copy",
                                      "seq 65: in the log, missing from the store's copy",
                                      "seq 70: in the store's copy, after the log's last record"}));
  EXPECT_EQ(report->differing, 10u);
  EXPECT_EQ(report->rows_checked, 59u);
}

INSTANTIATE_STORE_TEST(ShipperTest);

}  // namespace
}  // namespace eargate::store
