// Tests of the decision log: append and read back, rotation and checkpoints, recovery after a
// crash (a child process killed with SIGKILL while appending in sync mode), and tamper
// detection (edit, delete, swap, a rewritten chain) with the exact place verify names.
#include "eargate/store/decision_log.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "eargate/core/csv.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/segment_io.h"
#include "eargate/store/log_reader.h"
#include "gtest/gtest.h"

namespace eargate::store {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "eg_audit_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Payload(uint64_t i) {
  return absl::StrCat("{\"decision\":\"deny\",\"n\":", i,
                      ",\"findings\":[{\"source\":\"notice\",\"cite\":[\"15 CFR 744.22(b)\"]}]}");
}

LogEntry Entry(uint64_t i, const std::string& id, const std::string& payload) {
  LogEntry e;
  e.decision_id = id;
  e.person_id = i % 2 ? "cust-1" : "cust-2";
  e.item = "mythos-5";
  e.time = 1781352000 + static_cast<core::Timestamp>(i);
  e.outcome = i % 3 == 0 ? core::Outcome::kAllow : core::Outcome::kDeny;
  e.payload = payload;
  return e;
}

void AppendN(DecisionLog& log, uint64_t from, uint64_t n) {
  for (uint64_t i = from; i < from + n; ++i) {
    std::string id = absl::StrCat("d-", i), payload = Payload(i);
    auto seq = log.Append(Entry(i, id, payload));
    ASSERT_TRUE(seq.ok()) << seq.status();
  }
}

std::vector<std::string> Problems(const std::string& dir) {
  auto report = VerifyLog(dir);
  EXPECT_TRUE(report.ok()) << report.status();
  std::vector<std::string> out;
  if (report.ok())
    for (const auto& p : report->problems) out.push_back(FormatProblem(p));
  return out;
}

struct RecordPos {
  std::string file;
  uint64_t offset, size, seq;
};
std::vector<RecordPos> Positions(const std::string& dir) {
  std::vector<RecordPos> out;
  auto s = ScanLog(dir, {}, [&](const LogRecord& r) {
    out.push_back({(fs::path(dir) / internal::SegmentFileName(r.segment)).string(), r.offset,
                   internal::kRecordMin + r.decision_id.size() + r.person_id.size() +
                       r.item.size() + r.payload.size(),
                   r.seq});
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

std::string ReadAll(const std::string& path) { return core::ReadFile(path).value(); }
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Test that records come back in order with their index fields and that verify passes.
TEST(DecisionLogTest, AppendsAndReadsBack) {
  TempDir dir;
  {
    auto log = DecisionLog::Open(dir.path());
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1, 50);
    ASSERT_TRUE((*log)->Close().ok());
  }
  std::vector<uint64_t> seqs;
  RecordFilter f;
  f.person = "cust-1";
  ASSERT_TRUE(ScanLog(dir.path(), f, [&](const LogRecord& r) {
                EXPECT_EQ(r.person_id, "cust-1");
                EXPECT_EQ(r.item, "mythos-5");
                EXPECT_EQ(r.decision_id, absl::StrCat("d-", r.seq));
                EXPECT_EQ(r.payload, Payload(r.seq));
                seqs.push_back(r.seq);
                return true;
              }).ok());
  EXPECT_EQ(seqs.size(), 25u);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->records, 50u);
  EXPECT_EQ(report->last_seq, 50u);
  EXPECT_GE(report->checkpoints_checked, 1u);
}

// Test that the chain continues across reopen and segment rotation, with checkpoints.
TEST(DecisionLogTest, RotatesAndContinuesAfterReopen) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 4096;
  opt.checkpoint_every = 7;
  for (int round = 0; round < 3; ++round) {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1 + round * 40, 40);
    EXPECT_EQ((*log)->stats().last_seq, static_cast<uint64_t>(40 * (round + 1)));
  }
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->records, 120u);
  EXPECT_GT(report->segments, 5u);
  EXPECT_GT(report->checkpoints_checked, 15u);
}

// Test that a second writer on the same directory is refused.
TEST(DecisionLogTest, OneWriterPerDirectory) {
  TempDir dir;
  auto a = DecisionLog::Open(dir.path());
  ASSERT_TRUE(a.ok());
  auto b = DecisionLog::Open(dir.path());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
}

// Test that concurrent sync appenders share syncs (group commit) and lose nothing.
TEST(DecisionLogTest, GroupCommitManyThreads) {
  TempDir dir;
  auto log = DecisionLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 16, kPer = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { AppendN(**log, 1 + t * kPer, kPer); });
  for (auto& th : threads) th.join();
  auto stats = (*log)->stats();
  EXPECT_EQ(stats.appended, static_cast<uint64_t>(kThreads * kPer));
  EXPECT_LE(stats.syncs, stats.appended);
  ASSERT_TRUE((*log)->Close().ok());
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kPer));
}

// Test that AppendAsync acknowledges every record once, after it is on disk, with its seq.
TEST(DecisionLogTest, AppendAsyncCallbacks) {
  TempDir dir;
  auto log = DecisionLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  std::mutex mu;
  std::set<uint64_t> acked;
  std::string id = "d", payload = Payload(0);
  for (int i = 0; i < 500; ++i) {
    (*log)->AppendAsync(Entry(1, id, payload), [&](absl::StatusOr<uint64_t> seq) {
      ASSERT_TRUE(seq.ok());
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(acked.insert(*seq).second);
    });
  }
  std::string big(70000, 'x');
  LogEntry bad;
  bad.item = big;
  bool rejected = false;
  (*log)->AppendAsync(bad, [&](absl::StatusOr<uint64_t> seq) { rejected = !seq.ok(); });
  EXPECT_TRUE(rejected);
  ASSERT_TRUE((*log)->Flush().ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(acked.size(), 500u);
    EXPECT_EQ(*acked.rbegin(), 500u);
  }
}

// Test that async mode keeps everything once flushed.
TEST(DecisionLogTest, AsyncFlush) {
  TempDir dir;
  LogOptions opt;
  opt.durability = Durability::kAsync;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  AppendN(**log, 1, 300);
  ASSERT_TRUE((*log)->Flush().ok());
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->records, 300u);
}

// Test that oversized fields are refused with InvalidArgument.
TEST(DecisionLogTest, RejectsOversizedFields) {
  TempDir dir;
  auto log = DecisionLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  std::string big(70000, 'x');
  LogEntry e;
  e.person_id = big;
  EXPECT_EQ((*log)->Append(e).status().code(), absl::StatusCode::kInvalidArgument);
}

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions opt;
    opt.checkpoint_every = 0;  // only the closing checkpoint, unless a test wants more
    auto log = DecisionLog::Open(dir_.path(), opt);
    ASSERT_TRUE(log.ok());
    AppendN(**log, 1, 10);
    ASSERT_TRUE((*log)->Close().ok());
    pos_ = Positions(dir_.path());
    ASSERT_EQ(pos_.size(), 10u);
    seg_ = pos_[0].file;
    bytes_ = ReadAll(seg_);
    fs::remove(fs::path(dir_.path()) / internal::kCheckpointFile);  // most tests: chain only
  }
  std::string Prefix(size_t i) const {
    return absl::StrCat(fs::path(seg_).filename().string(), " offset ", pos_[i].offset, " seq ",
                        pos_[i].seq, ": ");
  }
  TempDir dir_;
  std::vector<RecordPos> pos_;
  std::string seg_, bytes_;
};

// Test that an edited payload byte is named by segment, offset and seq.
TEST_F(TamperTest, Edit) {
  bytes_[pos_[4].offset + 120] ^= 1;
  WriteAll(seg_, bytes_);
  EXPECT_EQ(Problems(dir_.path()),
            std::vector<std::string>{Prefix(4) +
                                     "contents do not match the stored hash (record edited)"});
}

// Test that a deleted record is named.
TEST_F(TamperTest, Delete) {
  bytes_.erase(pos_[4].offset, pos_[4].size);
  WriteAll(seg_, bytes_);
  EXPECT_EQ(Problems(dir_.path()),
            std::vector<std::string>{
                absl::StrCat(fs::path(seg_).filename().string(), " offset ", pos_[4].offset,
                             " seq 6: record seq 5 missing before it (removed)")});
}

// Test that two swapped records are named as reordered.
TEST_F(TamperTest, Swap) {
  std::string a = bytes_.substr(pos_[4].offset, pos_[4].size);
  std::string b = bytes_.substr(pos_[5].offset, pos_[5].size);
  bytes_.replace(pos_[4].offset, a.size() + b.size(), b + a);
  WriteAll(seg_, bytes_);
  std::string file = fs::path(seg_).filename().string();
  EXPECT_EQ(
      Problems(dir_.path()),
      (std::vector<std::string>{
          absl::StrCat(file, " offset ", pos_[4].offset,
                       " seq 6: out of order: it comes before record seq 5 (records reordered)"),
          absl::StrCat(file, " offset ", pos_[4].offset + b.size(),
                       " seq 5: out of order: it comes after seq 6 (records reordered)")}));
}

// Test that an edit with the record's own hash recomputed breaks the next record's link, and
// that a whole rewritten chain is caught by a checkpoint kept apart.
TEST_F(TamperTest, RewrittenRecordAndChain) {
  internal::FastSha256 sha;
  auto rehash = [&](size_t i) {
    char* p = bytes_.data() + pos_[i].offset;
    auto h = internal::ComputeRecordHash(p, pos_[i].size, sha);
    std::memcpy(p + pos_[i].size - 32, h.data(), 32);
    return h;
  };
  bytes_[pos_[4].offset + 120] ^= 1;
  auto h = rehash(4);
  WriteAll(seg_, bytes_);
  EXPECT_EQ(
      Problems(dir_.path()),
      std::vector<std::string>{Prefix(5) + "prev_hash does not match the hash of seq 5 (record 5 "
                                           "replaced or the chain rewritten)"});
  // Rewrite the rest of the chain too: only a checkpoint can tell.
  for (size_t i = 5; i < pos_.size(); ++i) {
    std::memcpy(bytes_.data() + pos_[i].offset + 8 + 20, h.data(), 32);
    h = rehash(i);
  }
  WriteAll(seg_, bytes_);
  EXPECT_TRUE(Problems(dir_.path()).empty());
  Checkpoint cp;
  cp.seq = 10;
  ASSERT_TRUE(ScanLog(dir_.path(), {}, [&](const LogRecord& r) {
                if (r.seq == 10) cp.head = r.hash;
                return true;
              }).ok());
  VerifyOptions opt;
  opt.extra_checkpoints.push_back(cp);
  opt.extra_checkpoints.back().head[0] ^= 1;  // the store's copy was taken before the rewrite
  auto report = VerifyLog(dir_.path(), opt);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(FormatProblem(report->problems[0]),
            "store: checkpoint at seq 10: the chain head differs from the record's hash (the "
            "history up to seq 10 was rewritten)");
}

// Test that removing the newest records is caught by the checkpoint file.
TEST_F(TamperTest, TruncatedTailAgainstCheckpoint) {
  WriteAll((fs::path(dir_.path()) / internal::kCheckpointFile).string(),
           internal::FormatCheckpointLine({10, {}, 1, 0}));
  bytes_.resize(pos_[8].offset);
  WriteAll(seg_, bytes_);
  auto problems = Problems(dir_.path());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "checkpoints.jsonl line 1: checkpoint at seq 10 but the log ends at seq 8: records "
            "seq 9..10 removed");
  // And the writer refuses to continue such a log.
  auto log = DecisionLog::Open(dir_.path());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
}

// Test that a damaged length field is reported as a byte range and verify resumes after it.
TEST_F(TamperTest, DamagedFraming) {
  bytes_[pos_[2].offset + 5] = 0x7f;  // body length now far too large
  WriteAll(seg_, bytes_);
  auto problems = Problems(dir_.path());
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0],
            absl::StrCat(fs::path(seg_).filename().string(), " offset ", pos_[2].offset, ": bytes ",
                         pos_[2].offset, "..", pos_[3].offset - 1,
                         " do not frame a record (damaged or edited)"));
}

// Test that a torn tail is a note for verify and is cut off when the log is opened again.
TEST_F(TamperTest, TornTailIsRecovered) {
  bytes_.resize(pos_[9].offset + 17);
  WriteAll(seg_, bytes_);
  auto report = VerifyLog(dir_.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->notes.size(), 1u);
  auto log = DecisionLog::Open(dir_.path());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->stats().truncated_bytes, 17u);
  AppendN(**log, 10, 1);
  ASSERT_TRUE((*log)->Close().ok());
  report = VerifyLog(dir_.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_TRUE(report->notes.empty());
  EXPECT_EQ(report->records, 10u);
}

// Test that a child appending in sync mode and killed with SIGKILL loses no acknowledged
// record, and that the log verifies and continues after reopening.
TEST(DecisionLogCrashTest, KillDuringSyncAppends) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    LogOptions opt;
    opt.max_segment_bytes = 64 * 1024;  // rotate often: crash at any point of it
    opt.checkpoint_every = 50;
    auto log = DecisionLog::Open(dir.path(), opt);
    if (!log.ok()) ::_exit(3);
    std::atomic<uint64_t> next{1};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (true) {
          uint64_t i = next.fetch_add(1);
          std::string id = absl::StrCat("d-", i), payload = Payload(i);
          auto seq = (*log)->Append(Entry(i, id, payload));
          if (!seq.ok()) ::_exit(4);
          uint64_t ack[2] = {i, *seq};
          if (::write(fds[1], ack, sizeof ack) != sizeof ack) ::_exit(5);
        }
      });
    }
    for (auto& th : threads) th.join();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<std::pair<uint64_t, uint64_t>> acks;
  uint64_t ack[2];
  while (acks.size() < 3000 && ::read(fds[0], ack, sizeof ack) == sizeof ack)
    acks.push_back({ack[0], ack[1]});
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  while (::read(fds[0], ack, sizeof ack) == sizeof ack) acks.push_back({ack[0], ack[1]});
  ::close(fds[0]);
  ASSERT_GE(acks.size(), 3000u);
  {
    auto log = DecisionLog::Open(dir.path());
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1000000, 3);
  }
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  std::map<uint64_t, std::string> ids;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                ids[r.seq] = std::string(r.decision_id);
                return true;
              }).ok());
  for (const auto& [i, seq] : acks) {
    ASSERT_TRUE(ids.count(seq)) << "acknowledged seq " << seq << " lost";
    EXPECT_EQ(ids[seq], absl::StrCat("d-", i));
  }
}

}  // namespace
}  // namespace eargate::store
