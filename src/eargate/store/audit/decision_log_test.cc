// Tests of the decision log: append and read back, rotation and checkpoints, recovery after a
// crash (a child process killed with SIGKILL while appending in sync mode), and tamper
// detection (edit, delete, swap, a rewritten chain) with the exact place verify names.
#include "eargate/store/decision_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <numeric>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "eargate/core/csv.h"
#include "eargate/store/internal/direct_writer.h"
#include "eargate/store/internal/log_format.h"
#include "eargate/store/internal/retention.h"
#include "eargate/store/internal/segment_index.h"
#include "eargate/store/internal/segment_io.h"
#include "eargate/store/log_reader.h"
#include "eargate/store/log_watch.h"
#include "eargate/wire/decision_json.h"
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

const char* DurabilityName(Durability d) { return d == Durability::kSync ? "sync" : "async"; }
LogOptions OptionsFor(Durability d) {
  LogOptions opt;
  opt.durability = d;
  return opt;
}

// Appends records after the *n appended so far, `step` at a time, until `count` of the log's
// stats reaches `target` (or 20000 records); returns that count.
uint64_t AppendUntil(DecisionLog& log, uint64_t DecisionLog::Stats::*count, uint64_t target,
                     uint64_t* n, uint64_t step = 50) {
  while (log.stats().*count < target && *n < 20000) {
    AppendN(log, *n + 1, step);
    *n += step;
  }
  return log.stats().*count;
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

// A consumer of AppendAsync waiters for tests: Wake notes the wake-up, Wait takes what was
// delivered (blocking until something is).
class TestQueue : public AppendQueue {
 public:
  explicit TestQueue(bool commits = false) : AppendQueue(commits) {}
  std::vector<AppendWaiter*> Wait() {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&woken_));
      woken_ = false;
    }
    std::vector<AppendWaiter*> out;
    for (AppendWaiter* w = TakeAll(); w != nullptr; w = w->next) out.push_back(w);
    return out;
  }
  int wakes() {
    absl::MutexLock lock(&mu_);
    return wakes_;
  }

 protected:
  void Wake() override {
    absl::MutexLock lock(&mu_);
    woken_ = true;
    ++wakes_;
  }

 private:
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  int wakes_ ABSL_GUARDED_BY(mu_) = 0;
};

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

// Test that a newest-first scan returns the same records as a scan in log order, reversed,
// across segments, and that a decision id finds its one record.
// Test that each rotation's checkpoint carries the closed segment's record times (earliest
// and latest, also across a reopening, and with a record out of time order), that searches by
// time and by a version-7 decision id read only the segments that may hold a match and find
// exactly what a scan of every segment finds, and that verify names a range edited in the
// checkpoint file.
TEST(DecisionLogTest, SegmentTimesLetSearchesSkipSegments) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 4096;  // a few records a segment
  const core::Timestamp base = 1781352000;
  auto append = [](DecisionLog& log, uint64_t i, core::Timestamp time, const std::string& id) {
    const std::string payload = Payload(i);  // the entry views it
    LogEntry e = Entry(i, id, payload);
    e.time = time;
    ASSERT_TRUE(log.Append(e).ok());
  };
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1, 120);  // times base+1 .. base+120
    ASSERT_TRUE((*log)->Close().ok());
  }
  {
    auto log = DecisionLog::Open(dir.path(), opt);  // resumes the newest segment
    ASSERT_TRUE(log.ok()) << log.status();
    append(**log, 121, base + 121, "d-121");
    append(**log, 122, base + 5, "d-122");  // a clock stepped back
    for (uint64_t i = 123; i <= 200; ++i) append(**log, i, base + i, wire::NewDecisionId(base + i));
    append(**log, 201, base + 130, wire::NewDecisionId(base + 999));  // an id of another time
    ASSERT_TRUE((*log)->Close().ok());
  }
  // What each segment holds, read record by record.
  std::map<uint64_t, TimeRange> actual;
  std::map<uint64_t, std::set<uint64_t>> seqs_of;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                auto [it, fresh] = actual.try_emplace(r.segment, TimeRange{r.time, r.time});
                it->second.first = std::min(it->second.first, r.time);
                it->second.last = std::max(it->second.last, r.time);
                seqs_of[r.segment].insert(r.seq);
                return true;
              }).ok());
  const uint64_t newest = internal::ListSegments(dir.path()).value().back().number;
  ASSERT_GT(actual.size(), 8u);
  const auto times = internal::ReadSegmentTimes(dir.path());
  bool resumed = false, stepped_back = false;
  for (const auto& [segment, range] : actual) {
    if (segment == newest) {
      EXPECT_FALSE(times.count(segment)) << "the open segment has no range yet";
      continue;
    }
    ASSERT_TRUE(times.count(segment)) << "segment " << segment;
    EXPECT_EQ(times.at(segment), range) << "segment " << segment;
    resumed = resumed || (seqs_of[segment].count(120) && seqs_of[segment].count(121));
    stepped_back = stepped_back || seqs_of[segment].count(122);
  }
  ASSERT_TRUE(resumed) << "no closed segment holds records from before and after the reopening";
  ASSERT_TRUE(stepped_back) << "record 122 (a time stepped back) is not in a closed segment";

  // A search reads fewer segments and finds what a scan of every record finds.
  auto search = [&](const RecordFilter& f, bool newest_first, ScanStats* stats) {
    std::vector<uint64_t> out;
    auto fn = [&](const LogRecord& r) {
      out.push_back(r.seq);
      return true;
    };
    EXPECT_TRUE((newest_first ? ScanLogNewestFirst(dir.path(), f, fn, stats)
                              : ScanLog(dir.path(), f, fn, stats))
                    .ok());
    return out;
  };
  auto every = [&](const RecordFilter& f) {
    std::vector<uint64_t> out;
    EXPECT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                  if (f.Matches(r)) out.push_back(r.seq);
                  return true;
                }).ok());
    return out;
  };
  RecordFilter window;
  window.from = base + 50;
  window.to = base + 60;
  ScanStats stats;
  EXPECT_EQ(search(window, false, &stats), every(window));
  EXPECT_EQ(every(window).size(), 11u);
  EXPECT_GT(stats.segments_skipped, 0u);
  EXPECT_EQ(stats.segments_read + stats.segments_skipped, actual.size());
  const uint64_t read_for_window = stats.segments_read;
  EXPECT_LT(read_for_window, actual.size() / 2);
  std::vector<uint64_t> backwards = every(window);
  std::reverse(backwards.begin(), backwards.end());
  EXPECT_EQ(search(window, true, &stats), backwards);
  EXPECT_EQ(stats.segments_read, read_for_window);
  // The second the clock stepped back to: record 5 and record 122, segments far apart.
  RecordFilter fifth;
  fifth.from = fifth.to = base + 5;
  EXPECT_EQ(search(fifth, false, &stats), (std::vector<uint64_t>{5, 122}));
  // Only `to`: the segments before it.
  RecordFilter early;
  early.to = base + 10;
  EXPECT_EQ(search(early, false, &stats), every(early));

  // A version-7 id names its second: the segments of that second only.
  RecordFilter by_id;
  by_id.decision_id = wire::NewDecisionId(base + 150);  // not in the log: a fresh random id
  EXPECT_TRUE(search(by_id, false, &stats).empty());
  EXPECT_EQ(stats.segments_read, actual.size()) << "nothing found: every segment read";
  std::string id150;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                if (r.seq == 150) id150 = std::string(r.decision_id);
                return r.seq < 150;
              }).ok());
  by_id.decision_id = id150;
  EXPECT_EQ(search(by_id, false, &stats), std::vector<uint64_t>{150});
  EXPECT_LE(stats.segments_read, 2u);  // the newest (no range) and that of second 150
  EXPECT_EQ(search(by_id, true, &stats), std::vector<uint64_t>{150});
  EXPECT_LE(stats.segments_read, 2u);
  // An id whose time is not its record's is found all the same (every segment read).
  std::string id201;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                if (r.seq == 201) id201 = std::string(r.decision_id);
                return true;
              }).ok());
  by_id.decision_id = id201;
  EXPECT_EQ(search(by_id, false, &stats), std::vector<uint64_t>{201});
  // Ids of other forms (version 4, "d-77") name no time: every segment.
  RecordFilter old_id;
  old_id.decision_id = "d-77";
  EXPECT_EQ(search(old_id, false, &stats), std::vector<uint64_t>{77});
  EXPECT_EQ(stats.segments_read, actual.size());

  // Verify: intact; then a range edited in the checkpoint file is named.
  EXPECT_EQ(Problems(dir.path()), std::vector<std::string>{});
  const std::string cp_path = (fs::path(dir.path()) / internal::kCheckpointFile).string();
  std::string cp = ReadAll(cp_path);
  const std::string said = absl::StrCat("\"last_time\":\"", core::FormatTime(times.at(2).last), "\"");
  const size_t at = cp.find(said);
  ASSERT_NE(at, std::string::npos) << cp;
  const int line = static_cast<int>(std::count(cp.begin(), cp.begin() + static_cast<ptrdiff_t>(at), '\n')) + 1;
  cp.replace(at, said.size(), absl::StrCat("\"last_time\":\"", core::FormatTime(times.at(2).last - 3), "\""));
  WriteAll(cp_path, cp);
  EXPECT_EQ(Problems(dir.path()),
            std::vector<std::string>{absl::StrCat(
                internal::kCheckpointFile, " line ", line, ": segment 2 holds records of ",
                core::FormatTime(times.at(2).first), "..", core::FormatTime(times.at(2).last),
                ", the line says ", core::FormatTime(times.at(2).first), "..",
                core::FormatTime(times.at(2).last - 3),
                " (edited: a search by time would skip its records)")});
  // Without the checkpoint file a search reads every segment, and finds the same.
  fs::remove(cp_path);
  EXPECT_EQ(search(window, false, &stats), every(window));
  EXPECT_EQ(stats.segments_read, actual.size());
}

// Test that a segment index answers "maybe" for every key added (no false negatives), "no"
// for nearly all others at a segment's number of keys, and survives encoding; damaged or
// foreign bytes are no index.
TEST(SegmentIndexTest, BloomFilterAndEncoding) {
  internal::SegmentIndex index;
  index.segment = 7;
  index.size = 67108864;
  index.first_seq = 1234;
  for (int i = 0; i < 20000; ++i) {
    index.AddPerson(absl::StrCat("person-", i));
    index.AddItem(absl::StrCat("item-", i % 50));
  }
  int false_positives = 0;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(index.MayHavePerson(absl::StrCat("person-", i)));
    false_positives += index.MayHavePerson(absl::StrCat("other-", i));
  }
  EXPECT_LT(false_positives, 200);  // < 1 % (about 0.06 % expected at 20 k keys)
  EXPECT_TRUE(index.MayHaveItem("item-49"));
  EXPECT_FALSE(index.MayHaveItem("person-1") && index.MayHaveItem("person-2") &&
               index.MayHaveItem("person-3"));  // kinds apart: a person is not an item
  internal::FastSha256 sha;
  std::string bytes = index.Encode(sha);
  ASSERT_EQ(bytes.size(), internal::SegmentIndex::kEncodedSize);
  auto back = internal::SegmentIndex::Decode(bytes, sha);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->SameKeys(index));
  EXPECT_EQ(back->segment, 7u);
  EXPECT_EQ(back->size, 67108864u);
  EXPECT_EQ(back->first_seq, 1234u);
  bytes[100] ^= 1;
  EXPECT_FALSE(internal::SegmentIndex::Decode(bytes, sha).has_value());
  EXPECT_FALSE(internal::SegmentIndex::Decode(bytes.substr(1), sha).has_value());
}

// Test that verify --index writes each closed segment's index, that a search for a person or
// an item then reads only the segments that may hold them and finds what a scan of every
// record finds, that verify checks the indexes (a forged one is named; one describing another
// file is noted and not used), and that retention deletes a pruned segment's index.
TEST(DecisionLogTest, SegmentIndexesLetSearchesByPersonSkipSegments) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 4096;
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 1; i <= 300; ++i) {
      const std::string id = absl::StrCat("d-", i), payload = Payload(i);  // the entry views them
      LogEntry e = Entry(i, id, payload);
      if (i == 150) e.person_id = "rare-person";
      if (i == 151) e.item = "rare-item";
      ASSERT_TRUE((*log)->Append(e).ok());
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  const auto segments = internal::ListSegments(dir.path()).value();
  const uint64_t closed = segments.size() - 1;
  ASSERT_GT(closed, 8u);
  auto search = [&](const RecordFilter& f, ScanStats* stats) {
    std::vector<uint64_t> out;
    EXPECT_TRUE(ScanLog(dir.path(), f, [&](const LogRecord& r) {
                  out.push_back(r.seq);
                  return true;
                }, stats).ok());
    return out;
  };
  RecordFilter rare, rare_item, common;
  rare.person = "rare-person";
  rare_item.item = "rare-item";
  common.person = "cust-1";
  ScanStats stats;
  EXPECT_EQ(search(rare, &stats), std::vector<uint64_t>{150});
  EXPECT_EQ(stats.segments_read, segments.size());  // no index yet: every segment

  VerifyOptions write;
  write.write_indexes = true;
  auto report = VerifyLog(dir.path(), write);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->indexes_written, closed);  // not the newest, still open
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / internal::IndexFileName(segments.back().number)));

  EXPECT_EQ(search(rare, &stats), std::vector<uint64_t>{150});
  EXPECT_LE(stats.segments_read, 2u);  // its segment and the newest
  EXPECT_EQ(search(rare_item, &stats), std::vector<uint64_t>{151});
  EXPECT_LE(stats.segments_read, 2u);
  std::vector<uint64_t> odd;
  for (uint64_t i = 1; i <= 300; i += 2)
    odd.push_back(i);
  EXPECT_EQ(search(common, &stats), odd);  // cust-1: odd seqs (150 was even)
  EXPECT_EQ(stats.segments_read, segments.size());
  RecordFilter nobody;
  nobody.person = "nobody";
  EXPECT_TRUE(search(nobody, &stats).empty());
  EXPECT_EQ(stats.segments_read, 1u);  // the newest only

  // Checked by every verify.
  report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->indexes_checked, closed);
  EXPECT_EQ(report->indexes_written, 0u);

  // A forged index of the rare person's segment (without them, its hash recomputed): searches
  // would miss the record, and verify names it.
  uint64_t rare_segment = 0;
  ASSERT_TRUE(ScanLog(dir.path(), rare, [&](const LogRecord& r) {
                rare_segment = r.segment;
                return false;
              }).ok());
  const internal::SegmentFile& seg = segments[rare_segment - segments.front().number];
  internal::FastSha256 sha;
  internal::IndexRead genuine = internal::ReadSegmentIndex(seg, sha);
  ASSERT_EQ(genuine.state, internal::IndexRead::kValid);
  internal::SegmentIndex forged;
  forged.segment = genuine.index->segment;
  forged.size = genuine.index->size;
  forged.first_seq = genuine.index->first_seq;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                if (r.segment == rare_segment && r.person_id != "rare-person") {
                  forged.AddPerson(r.person_id);
                  forged.AddItem(r.item);
                }
                return true;
              }).ok());
  ASSERT_TRUE(internal::WriteSegmentIndex(dir.path(), forged, sha).ok());
  EXPECT_TRUE(search(rare, &stats).empty());
  EXPECT_EQ(Problems(dir.path()),
            std::vector<std::string>{absl::StrCat(
                internal::IndexFileName(rare_segment), ": its people and items differ from those of ",
                fs::path(seg.path).filename().string(),
                "'s records (edited: a search by person or item would skip them)")});

  // An index of another file (the segment's size in it changed): noted, not used.
  internal::SegmentIndex other = *genuine.index;
  other.size += 1;
  ASSERT_TRUE(internal::WriteSegmentIndex(dir.path(), other, sha).ok());
  EXPECT_EQ(search(rare, &stats), std::vector<uint64_t>{150});
  report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  bool noted = false;
  for (const auto& n : report->notes)
    noted = noted || n.find(internal::IndexFileName(rare_segment) + ": describes another segment file") == 0;
  EXPECT_TRUE(noted);

  // Retention deletes the index with its segment.
  const std::string first_index = (fs::path(dir.path()) / internal::IndexFileName(segments[0].number)).string();
  ASSERT_TRUE(fs::exists(first_index));
  auto pruned = internal::PruneSegments(dir.path(), 1781352000 + 100, segments.back().number, 1781352000 + 400);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_GT(pruned->segments, 0u);
  EXPECT_FALSE(fs::exists(first_index));
  EXPECT_FALSE(fs::exists(segments[0].path));
}

TEST(DecisionLogTest, ScansNewestFirstAndByDecisionId) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 4096;  // several segments
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1, 120);
    ASSERT_TRUE((*log)->Close().ok());
  }
  ASSERT_GT(internal::ListSegments(dir.path()).value().size(), 3u);
  // The seqs a scan delivers, up to `max`.
  using Scan = absl::Status (*)(const std::string&, const RecordFilter&,
                                const std::function<bool(const LogRecord&)>&, ScanStats*);
  auto seqs = [&](Scan scan, const RecordFilter& filter, size_t max = 1000) {
    std::vector<uint64_t> out;
    EXPECT_TRUE(scan(dir.path(), filter, [&](const LogRecord& r) {
                  out.push_back(r.seq);
                  return out.size() < max;
                }, nullptr).ok());
    return out;
  };
  RecordFilter f;
  f.person = "cust-1";
  const std::vector<uint64_t> forward = seqs(ScanLog, f);
  ASSERT_EQ(forward.size(), 60u);
  EXPECT_EQ(seqs(ScanLogNewestFirst, f), std::vector<uint64_t>(forward.rbegin(), forward.rend()));
  // Stopped after the newest three.
  EXPECT_EQ(seqs(ScanLogNewestFirst, f, 3),
            (std::vector<uint64_t>{forward[59], forward[58], forward[57]}));

  // Seq bounds (a page after another): newest first below 50, in log order from 100 on.
  RecordFilter below = f;
  below.max_seq = 50;
  const std::vector<uint64_t> older = seqs(ScanLogNewestFirst, below);
  ASSERT_EQ(older.size(), 25u);
  EXPECT_EQ(older.front(), 49u);  // cust-1: odd seqs
  EXPECT_EQ(older.back(), 1u);
  RecordFilter from = f;
  from.min_seq = 100;
  EXPECT_EQ(seqs(ScanLog, from), (std::vector<uint64_t>{101, 103, 105, 107, 109, 111, 113, 115, 117, 119}));

  RecordFilter by_id;
  by_id.decision_id = "d-77";
  EXPECT_EQ(seqs(ScanLog, by_id), std::vector<uint64_t>{77});
  EXPECT_EQ(ScanLogNewestFirst(dir.path() + "/nope", f, [](const LogRecord&) { return true; }).code(),
            absl::StatusCode::kNotFound);
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

std::string NoteText(const VerifyReport& r) {
  std::string out;
  for (const auto& n : r.notes) absl::StrAppend(&out, n, "\n");
  return out;
}

// Whether files in `dir` can be written with O_DIRECT (DirectWriter).
bool DirectIoSupported(const std::string& dir) {
  const std::string probe = dir + "/direct-probe";
  WriteAll(probe, std::string(internal::DirectWriter::kBlock, '\0'));
  const bool ok = internal::DirectWriter::Open(probe).ok();
  fs::remove(probe);
  return ok;
}

// Test preallocation (sync mode): segments are zero-filled ahead and renamed into place; the
// open one's zeros are neither records nor damage (verify while open, reopen after a crash),
// they stay when the log closes and a reopened log writes on into them, and a rotation cut
// before its header reached the disk (a segment of zeros) or a torn record followed by zeros
// is recovered (the torn bytes become zeros: nothing is cut).
// With `direct`, the zero-filled segments are written with O_DIRECT where the filesystem
// takes it (the default), else through the page cache: the same files either way.
void CheckPreallocatedSegments(bool direct) {
  SCOPED_TRACE(direct ? "O_DIRECT" : "page cache");
  TempDir dir, crash;
  LogOptions opt;
  opt.max_segment_bytes = 64 << 10;
  opt.checkpoint_every = 50;
  opt.direct_io = direct;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status();
  uint64_t n = 0;
  ASSERT_GE(AppendUntil(**log, &DecisionLog::Stats::segments_preallocated, 2, &n, 100), 2u)
      << "never used a zero-filled segment";
  if (direct && DirectIoSupported(dir.path())) {
    EXPECT_EQ((*log)->stats().segments_direct, (*log)->stats().segments_preallocated);
  } else {
    EXPECT_EQ((*log)->stats().segments_direct, 0u);
  }
  std::vector<internal::SegmentFile> segs = internal::ListSegments(dir.path()).value();
  ASSERT_GE(segs.size(), 3u);
  // Closed: the first (plain) one ends with its records; zero-filled ones keep a zero tail
  // shorter than a record (the next one did not fit), read as the end of the records.
  EXPECT_LT(fs::file_size(segs[0].path), opt.max_segment_bytes);
  for (size_t i = 1; i + 1 < segs.size(); ++i) {
    const std::string bytes = ReadAll(segs[i].path);
    const size_t end = internal::EndWithoutZeros(bytes.data(), 0, bytes.size());
    EXPECT_EQ(bytes.size(), opt.max_segment_bytes) << segs[i].path;
    EXPECT_LT(bytes.size() - end, internal::kRecordMin + 200) << segs[i].path;
  }
  // Open: the zero tail is there, and verify reads it as the end of the records.
  EXPECT_EQ(fs::file_size(segs.back().path), opt.max_segment_bytes);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
  EXPECT_TRUE(report->notes.empty()) << NoteText(*report);
  EXPECT_EQ(report->records, n);
  EXPECT_LT(report->bytes, fs::file_size(segs.back().path) * segs.size());

  // A crash: the files as they are now, zero tail and all, with records after the last
  // checkpoint (a torn one among those is no tampering).
  AppendN(**log, n + 1, 7);
  n += 7;
  TempDir crash2;
  fs::copy(dir.path(), crash.path(), fs::copy_options::recursive);
  fs::copy(dir.path(), crash2.path(), fs::copy_options::recursive);
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / internal::kNextSegmentFile));
  {
    // Closed: the last segment keeps its zero tail; reopened, the records go on into it.
    const std::vector<internal::SegmentFile> closed = internal::ListSegments(dir.path()).value();
    const std::string bytes = ReadAll(closed.back().path);
    EXPECT_EQ(bytes.size(), opt.max_segment_bytes);
    const size_t room = bytes.size() - internal::EndWithoutZeros(bytes.data(), 0, bytes.size());
    log->reset();  // its lock on the directory
    auto reopened = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ((*reopened)->stats().truncated_bytes, 0u);
    EXPECT_EQ((*reopened)->stats().segments_opened, 1u);
    EXPECT_EQ((*reopened)->stats().segments_preallocated, 1u);
    EXPECT_EQ((*reopened)->stats().segments_direct, direct && DirectIoSupported(dir.path()) ? 1u : 0u);
    AppendN(**reopened, n + 1, 3);
    ASSERT_TRUE((*reopened)->Flush().ok());
    const std::vector<internal::SegmentFile> now = internal::ListSegments(dir.path()).value();
    if (room > 2048) {
      EXPECT_EQ(now.size(), closed.size()) << "a new segment instead of the zeros";
    }
    EXPECT_EQ(fs::file_size(closed.back().path), opt.max_segment_bytes);
    ASSERT_TRUE((*reopened)->Close().ok());
    auto r = VerifyLog(dir.path());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->intact()) << (r->problems.empty() ? "" : FormatProblem(r->problems[0]));
    EXPECT_TRUE(r->notes.empty()) << NoteText(*r);
    EXPECT_EQ(r->records, n + 3);
  }
  {
    // ... and a rotation cut before the header of the zero-filled segment was on disk.
    const std::string last = internal::ListSegments(crash2.path()).value().back().path;
    const uint64_t next = internal::ParseSegmentFileName(fs::path(last).filename().string()) + 1;
    WriteAll((fs::path(crash2.path()) / internal::SegmentFileName(next)).string(),
             std::string(opt.max_segment_bytes, '\0'));
    report = VerifyLog(crash2.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
    EXPECT_NE(NoteText(*report).find("only zeros"), std::string::npos) << NoteText(*report);
    EXPECT_EQ(report->notes.size(), 1u) << NoteText(*report);
    auto reopened = DecisionLog::Open(crash2.path(), opt);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ((*reopened)->stats().truncated_bytes, 0u);  // zeros are not a torn tail
    EXPECT_EQ((*reopened)->stats().last_seq, n);
    AppendN(**reopened, n + 1, 10);
    ASSERT_TRUE((*reopened)->Close().ok());
    report = VerifyLog(crash2.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
    EXPECT_EQ(report->records, n + 10);
    EXPECT_TRUE(report->notes.empty()) << NoteText(*report);
  }
  // A torn record followed by zeros.
  const std::vector<internal::SegmentFile> copied = internal::ListSegments(crash.path()).value();
  ASSERT_FALSE(copied.empty());
  const std::string newest = copied.back().path;
  std::string bytes = ReadAll(newest);
  const std::vector<RecordPos> pos = Positions(crash.path());
  ASSERT_FALSE(pos.empty());
  ASSERT_EQ(pos.back().file, newest);
  bytes.resize(pos.back().offset + 9);
  bytes.resize(opt.max_segment_bytes, '\0');
  WriteAll(newest, bytes);
  report = VerifyLog(crash.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
  EXPECT_EQ(report->notes.size(), 1u) << NoteText(*report);
  auto reopened = DecisionLog::Open(crash.path(), opt);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->stats().truncated_bytes, 9u);
  EXPECT_EQ((*reopened)->stats().last_seq, n - 1);
  // The torn bytes are zeros now, the file as long as it was.
  bytes = ReadAll(newest);
  EXPECT_EQ(bytes.size(), opt.max_segment_bytes);
  EXPECT_TRUE(internal::AllZero(bytes.data() + pos.back().offset, bytes.size() - pos.back().offset));
  AppendN(**reopened, n, 5);
  ASSERT_TRUE((*reopened)->Close().ok());
  EXPECT_EQ(fs::file_size(newest), opt.max_segment_bytes);
  report = VerifyLog(crash.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
  EXPECT_TRUE(report->notes.empty()) << NoteText(*report);
  EXPECT_EQ(report->records, n + 4);
}

TEST(DecisionLogTest, PreallocatedSegments) {
  CheckPreallocatedSegments(/*direct=*/true);
  CheckPreallocatedSegments(/*direct=*/false);
}

// Pages of `path` in the page cache (mincore), or -1.
long CachedPages(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const size_t size = fs::file_size(path), page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return -1;
  std::vector<unsigned char> in((size + page - 1) / page);
  long n = ::mincore(map, size, in.data()) == 0 ? 0 : -1;
  for (unsigned char c : in) n += n >= 0 && (c & 1);
  ::munmap(map, size);
  return n;
}

// Test that a rotation evicts the segment before the one it closes from the page cache (the
// log's records are written once and read rarely), and keeps the newest two, when segments are
// written through the page cache (async, or sync with direct_io off; sync segments written
// with O_DIRECT never enter it: DirectWriterTest). (A 64 KiB segment is 16 pages.)
TEST(DecisionLogTest, RotationEvictsOlderSegmentsFromThePageCache) {
  TempDir dir;
  struct statfs st;
  ASSERT_EQ(::statfs(dir.path().c_str(), &st), 0);
  if (st.f_type == 0x01021994) GTEST_SKIP() << "tmpfs: its pages are the files, never evicted";
  for (Durability durability : {Durability::kSync, Durability::kAsync}) {
    SCOPED_TRACE(DurabilityName(durability));
    TempDir d;
    LogOptions opt = OptionsFor(durability);
    opt.direct_io = false;
    opt.max_segment_bytes = 64 << 10;
    auto log = DecisionLog::Open(d.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1, 2000);  // about six segments
    ASSERT_TRUE((*log)->Flush().ok());
    const std::vector<internal::SegmentFile> segs = internal::ListSegments(d.path()).value();
    ASSERT_GE(segs.size(), 5u);
    for (size_t i = 0; i < segs.size(); ++i) {
      // At most its last page: cutting a zero-filled segment's tail dirtied it (not synced).
      if (i + 2 < segs.size()) EXPECT_LE(CachedPages(segs[i].path), 1) << segs[i].path;
      else EXPECT_GT(CachedPages(segs[i].path), 0) << segs[i].path;
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
}

// Test that DirectWriter writes whole blocks past the page cache: the appended bytes, then
// zeros to the end of their last block (over what the file held there), the rest of the file
// untouched; a later flush writes the partial block again with its earlier bytes unchanged,
// and no page of the file enters the page cache.
TEST(DirectWriterTest, WritesWholeBlocksPastThePageCache) {
  TempDir dir;
  if (!DirectIoSupported(dir.path())) GTEST_SKIP() << "no O_DIRECT on this filesystem";
  const std::string path = dir.path() + "/segment";
  constexpr size_t kSize = 64 << 10, kBlock = internal::DirectWriter::kBlock;
  WriteAll(path, std::string(kSize, 'z'));  // not zeros: shows what the padding covers
  {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fdatasync(fd), 0);
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    ::close(fd);
  }
  ASSERT_EQ(CachedPages(path), 0);
  auto w = internal::DirectWriter::Open(path);
  ASSERT_TRUE(w.ok()) << w.status();
  std::string expect;
  auto append = [&](const std::string& bytes) {
    (*w)->Append(bytes);
    expect += bytes;
  };
  append(std::string(100, 'a'));
  ASSERT_TRUE((*w)->Flush().ok());
  append(std::string(kBlock + 900, 'b'));  // into the second block
  append(std::string(10, 'c'));
  ASSERT_TRUE((*w)->Flush().ok());
  ASSERT_TRUE((*w)->Flush().ok());  // nothing new
  EXPECT_EQ((*w)->end(), expect.size());
  EXPECT_EQ(CachedPages(path), 0);
  w->reset();
  const std::string bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), kSize);
  EXPECT_EQ(bytes.substr(0, expect.size()), expect);
  EXPECT_EQ(bytes.substr(expect.size(), 2 * kBlock - expect.size()),
            std::string(2 * kBlock - expect.size(), '\0'));
  EXPECT_EQ(bytes.substr(2 * kBlock), std::string(kSize - 2 * kBlock, 'z'));
}

// Test DirectWriter with appends of every size, flushed at random points, from two threads
// (appends on one, flushes on the other, as an I/O thread and the syncer): after a last flush
// the file holds exactly the appended bytes, then zeros to the end of their block.
TEST(DirectWriterTest, AppendsAndFlushesFromTwoThreadsKeepEveryByte) {
  TempDir dir;
  if (!DirectIoSupported(dir.path())) GTEST_SKIP() << "no O_DIRECT on this filesystem";
  const std::string path = dir.path() + "/segment";
  constexpr size_t kSize = 8 << 20;
  WriteAll(path, std::string(kSize, '\0'));
  auto w = internal::DirectWriter::Open(path);
  ASSERT_TRUE(w.ok()) << w.status();
  std::string expect;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread flusher([&] {
    while (!done.load()) {
      if (!(*w)->Flush().ok()) ++failures;
      std::this_thread::yield();
    }
  });
  uint32_t rng = 12345;
  while (expect.size() < kSize - 3 * 65536) {
    rng = rng * 1664525u + 1013904223u;
    const size_t n = 1 + (rng >> 8) % 20000;  // from a byte to several blocks
    std::string bytes(n, static_cast<char>('a' + expect.size() % 26));
    bytes[0] = static_cast<char>('A' + (rng >> 3) % 26);
    (*w)->Append(bytes);
    expect += bytes;
  }
  done = true;
  flusher.join();
  ASSERT_TRUE((*w)->Flush().ok());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*w)->end(), expect.size());
  w->reset();
  const std::string bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), kSize);
  EXPECT_TRUE(bytes.compare(0, expect.size(), expect) == 0) << "appended bytes differ";
  EXPECT_EQ(bytes.find_first_not_of('\0', expect.size()), std::string::npos);
}

// Test that a sync log writes its zero-filled segments with O_DIRECT: none of their pages is
// in the page cache while records are appended (the segment in use when the log was opened is
// written through it, and cached); with a segment size that is not a whole number of blocks,
// through the page cache.
TEST(DecisionLogTest, ZeroFilledSegmentsBypassThePageCache) {
  TempDir dir;
  if (!DirectIoSupported(dir.path())) GTEST_SKIP() << "no O_DIRECT on this filesystem";
  LogOptions opt;
  opt.max_segment_bytes = 64 << 10;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status();
  uint64_t n = 0;
  ASSERT_GE(AppendUntil(**log, &DecisionLog::Stats::segments_direct, 2, &n), 2u);
  // The newest segment is a direct one: appends after the second direct rotation went there.
  const std::vector<internal::SegmentFile> segs = internal::ListSegments(dir.path()).value();
  ASSERT_GE(segs.size(), 3u);
  EXPECT_GT(fs::file_size(segs.back().path), 0u);
  EXPECT_EQ(CachedPages(segs.back().path), 0) << segs.back().path;
  ASSERT_TRUE((*log)->Close().ok());
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
  EXPECT_EQ(report->records, n);

  // A segment size that is not a whole number of blocks: zero-filled segments, through the
  // page cache.
  TempDir odd;
  opt.max_segment_bytes = 50000;
  auto log2 = DecisionLog::Open(odd.path(), opt);
  ASSERT_TRUE(log2.ok()) << log2.status();
  n = 0;
  EXPECT_GE(AppendUntil(**log2, &DecisionLog::Stats::segments_preallocated, 2, &n), 2u);
  EXPECT_EQ((*log2)->stats().segments_direct, 0u);
  ASSERT_TRUE((*log2)->Close().ok());
  report = VerifyLog(odd.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
  EXPECT_EQ(report->records, n);
}

// Test that the zeros never take the records' last free space: on a filesystem with less than
// four segments free, segments are plain appends and no zero-filled file is made; with room,
// the same appends use zero-filled segments. Needs a small filesystem of its own: a tmpfs,
// mounted when the test runs as root (the test command does), else skipped.
TEST(DecisionLogTest, NoZeroFillingWhenTheDiskIsNearlyFull) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  LogOptions opt;
  opt.max_segment_bytes = 16 << 10;  // four segments: 64 KiB
  for (const uint64_t room : {uint64_t{60} << 10, uint64_t{8} << 20}) {
    SCOPED_TRACE(absl::StrCat(room >> 10, " KiB filesystem"));
    TempDir mnt;
    if (::mount("tmpfs", mnt.path().c_str(), "tmpfs", 0, absl::StrCat("size=", room).c_str()) != 0)
      GTEST_SKIP() << "mount tmpfs: " << std::strerror(errno);
    struct Unmount {  // before mnt is removed, also when an assertion returns early
      const std::string& path;
      ~Unmount() { EXPECT_EQ(::umount2(path.c_str(), MNT_DETACH), 0) << std::strerror(errno); }
    } unmount{mnt.path()};
    uint64_t n = 0;
    {
      auto log = DecisionLog::Open(mnt.path(), opt);
      ASSERT_TRUE(log.ok()) << log.status();
      auto append_until = [&](auto done) {
        while (!done()) {
          AppendN(**log, n + 1, 10);
          n += 10;
        }
      };
      // A rotation, then the new segment half full (the preparer starts at a quarter), time to
      // zero-fill the next one if it may, and the next rotation.
      append_until([&] { return (*log)->stats().segments_opened >= 2; });
      append_until([&] {
        const std::string newest = internal::ListSegments(mnt.path()).value().back().path;
        return fs::file_size(newest) >= opt.max_segment_bytes / 2;
      });
      absl::SleepFor(absl::Milliseconds(100));
      append_until([&] { return (*log)->stats().segments_opened >= 3; });
      if (room < 4 * opt.max_segment_bytes) {
        EXPECT_EQ((*log)->stats().segments_preallocated, 0u);
        EXPECT_FALSE(fs::exists(fs::path(mnt.path()) / internal::kNextSegmentFile));
      } else {
        EXPECT_GE((*log)->stats().segments_preallocated, 1u);
      }
      ASSERT_TRUE((*log)->Close().ok());
    }
    auto report = VerifyLog(mnt.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact());
    EXPECT_EQ(report->records, n);
  }
}

// Writes records 1..n to a new log in `dir` in 4096-byte segments (many rotations) and closes it.
void WriteClosedLog(const std::string& dir, int n) {
  LogOptions opt;
  opt.max_segment_bytes = 4096;
  auto log = DecisionLog::Open(dir, opt);
  ASSERT_TRUE(log.ok()) << log.status();
  AppendN(**log, 1, n);
  ASSERT_TRUE((*log)->Close().ok());
}

// 64 KiB segments, zero-filled ahead (written with O_DIRECT when `direct`).
LogOptions ZeroFilledOptions(bool direct) {
  LogOptions opt;
  opt.max_segment_bytes = 64 << 10;
  opt.direct_io = direct;
  return opt;
}

// A log in `dir` appended to until its segment in use is a zero-filled one (*n: the records
// appended); null (with a failure) if it never gets there.
std::unique_ptr<DecisionLog> OpenOnZeroFilledSegment(const std::string& dir, const LogOptions& opt,
                                                     uint64_t* n) {
  auto log = DecisionLog::Open(dir, opt);
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return nullptr;
  if (AppendUntil(**log, &DecisionLog::Stats::segments_preallocated, 1, n, 20) < 1) {
    ADD_FAILURE() << "never used a zero-filled segment";
    return nullptr;
  }
  return std::move(*log);
}

// Test that a reader's mapping of the live segment stays readable through a rotation (the
// shipper and the admin API's search read the log in the process that writes it): the
// rotation must not cut the file under the mapping, where reading its old end would fault
// (SIGBUS kills the process; so does this test, should that come back).
TEST(DecisionLogTest, RotationLeavesAMappedSegmentReadable) {
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "O_DIRECT" : "page cache");
    TempDir dir;
    const LogOptions opt = ZeroFilledOptions(direct);
    uint64_t n = 0;
    auto log = OpenOnZeroFilledSegment(dir.path(), opt, &n);
    ASSERT_NE(log, nullptr);
    const internal::SegmentFile live = internal::ListSegments(dir.path()).value().back();
    auto mapped = internal::MappedFile::Open(live.path, /*populate=*/false);
    ASSERT_TRUE(mapped.ok()) << mapped.status();
    ASSERT_EQ(mapped->size(), opt.max_segment_bytes);  // zero-filled, mapped whole
    // Small records until 5-8 KiB of the segment are left, then one of 9 KiB that does not
    // fit: the rotation leaves more than a page of zeros after the records.
    auto left = [&] {
      EXPECT_TRUE(log->Flush().ok());
      return mapped->size() - internal::EndWithoutZeros(mapped->data(), 0, mapped->size());
    };
    const uint64_t opened = log->stats().segments_opened;
    while (left() > (8u << 10)) AppendN(*log, ++n, 1);
    ASSERT_EQ(log->stats().segments_opened, opened);
    ASSERT_GT(left(), 5u << 10);
    const std::string big = absl::StrCat("{\"pad\":\"", std::string(9 << 10, 'x'), "\"}");
    ASSERT_TRUE(log->Append(Entry(n + 1, "d-big", big)).ok());
    ++n;
    ASSERT_EQ(log->stats().segments_opened, opened + 1);
    ASSERT_TRUE(log->Flush().ok());
    // Every byte of the old mapping, end included: the records, then zeros.
    const size_t end = internal::EndWithoutZeros(mapped->data(), 0, mapped->size());
    EXPECT_GT(end, internal::kSegmentHeaderSize);
    EXPECT_TRUE(internal::AllZero(mapped->data() + end, mapped->size() - end));
    EXPECT_EQ(fs::file_size(live.path), opt.max_segment_bytes);
    ASSERT_TRUE(log->Close().ok());
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact());
    EXPECT_TRUE(report->notes.empty()) << NoteText(*report);
    EXPECT_EQ(report->records, n);
  }
}

// Test that a mapping of the last segment stays readable while the log closes and opens again
// (an `audit verify` or `audit search` run by hand while a gateway stops or starts): neither
// cuts the file under it (SIGBUS kills the process; so does this test, should that come back),
// and the reopened log's records go on into the zeros, seen through the mapping.
TEST(DecisionLogTest, CloseAndReopenLeaveAMappedSegmentReadable) {
  for (bool direct : {true, false}) {
    SCOPED_TRACE(direct ? "O_DIRECT" : "page cache");
    TempDir dir;
    const LogOptions opt = ZeroFilledOptions(direct);
    uint64_t n = 0;
    auto log = OpenOnZeroFilledSegment(dir.path(), opt, &n);
    ASSERT_NE(log, nullptr);
    AppendN(*log, n + 1, 5);  // a few records into the zero-filled segment
    n += 5;
    ASSERT_TRUE(log->Flush().ok());
    const internal::SegmentFile live = internal::ListSegments(dir.path()).value().back();
    auto mapped = internal::MappedFile::Open(live.path, /*populate=*/false);
    ASSERT_TRUE(mapped.ok()) << mapped.status();
    ASSERT_EQ(mapped->size(), opt.max_segment_bytes);  // zero-filled, mapped whole
    const size_t end = internal::EndWithoutZeros(mapped->data(), 0, mapped->size());
    ASSERT_LT(end, mapped->size() / 2);
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    // Every byte of the mapping, its end included: the records, then zeros.
    EXPECT_TRUE(internal::AllZero(mapped->data() + end, mapped->size() - end));
    auto reopened = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    AppendN(**reopened, n + 1, 5);
    n += 5;
    ASSERT_TRUE((*reopened)->Flush().ok());
    const size_t end2 = internal::EndWithoutZeros(mapped->data(), 0, mapped->size());
    EXPECT_GT(end2, end);  // the new records, in the same file
    EXPECT_TRUE(internal::AllZero(mapped->data() + end2, mapped->size() - end2));
    ASSERT_TRUE((*reopened)->Close().ok());
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
    EXPECT_TRUE(report->notes.empty()) << NoteText(*report);
    EXPECT_EQ(report->records, n);
  }
}

// Test that ScanLogFrom skips whole segments before the seq and delivers everything from it.
TEST(DecisionLogTest, ScanLogFromSkipsOldSegments) {
  TempDir dir;
  WriteClosedLog(dir.path(), 120);
  std::vector<uint64_t> seqs;
  std::set<uint64_t> segments;
  ASSERT_TRUE(ScanLogFrom(dir.path(), 100, {}, [&](const LogRecord& r) {
                seqs.push_back(r.seq);
                segments.insert(r.segment);
                return true;
              }).ok());
  ASSERT_FALSE(seqs.empty());
  EXPECT_GT(seqs.front(), 60u);   // earlier segments were not read
  EXPECT_LE(seqs.front(), 100u);  // the segment holding seq 100 was
  EXPECT_EQ(seqs.back(), 120u);
  EXPECT_EQ(seqs.size(), 120 - seqs.front() + 1);
  EXPECT_LE(segments.size(), 2u);
}

// The seqs ScanLogAfter delivers after `after`, and its status.
std::pair<std::vector<uint64_t>, absl::Status> SeqsAfter(const std::string& dir,
                                                         const LogPosition& after) {
  std::vector<uint64_t> seqs;
  absl::Status s = ScanLogAfter(dir, after, [&](const LogRecord& r) {
    seqs.push_back(r.seq);
    return true;
  });
  return {seqs, s};
}
LogPosition PositionOf(const std::string& dir, uint64_t seq) {
  LogPosition p;
  EXPECT_TRUE(ScanLog(dir, {}, [&](const LogRecord& r) {
                if (r.seq != seq) return true;
                p = {r.seq, r.hash, r.segment, r.offset};
                return false;
              }).ok());
  EXPECT_EQ(p.seq, seq);
  return p;
}
std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

// Test that ScanLogAfter delivers exactly the records after a position, across rotations and
// from the live, zero-filled segment of an open log (sync and async), and the ones appended
// after that on the next scan.
TEST(DecisionLogTest, ScanLogAfterReadsOnlyWhatFollows) {
  for (Durability durability : {Durability::kSync, Durability::kAsync}) {
    SCOPED_TRACE(DurabilityName(durability));
    TempDir dir;
    LogOptions opt = OptionsFor(durability);
    opt.max_segment_bytes = 64 << 10;  // zero-filled segments come after the first (sync)
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendN(**log, 1, 400);
    ASSERT_TRUE((*log)->Flush().ok());
    const LogPosition at100 = PositionOf(dir.path(), 100);
    auto [seqs, s] = SeqsAfter(dir.path(), at100);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(seqs, Range(101, 400));
    // From the last record: nothing yet; then what was appended since.
    const LogPosition at400 = PositionOf(dir.path(), 400);
    std::tie(seqs, s) = SeqsAfter(dir.path(), at400);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_TRUE(seqs.empty());
    AppendN(**log, 401, 300);
    ASSERT_TRUE((*log)->Flush().ok());
    std::tie(seqs, s) = SeqsAfter(dir.path(), at400);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(seqs, Range(401, 700));
    // fn returning false stops the scan.
    int calls = 0;
    ASSERT_TRUE(ScanLogAfter(dir.path(), at100, [&](const LogRecord&) { return ++calls < 3; }).ok());
    EXPECT_EQ(calls, 3);
    if (durability == Durability::kSync) {
      EXPECT_GE((*log)->stats().segments_preallocated, 1u);  // the scan ended at zeros
    }
    ASSERT_TRUE((*log)->Close().ok());
    std::tie(seqs, s) = SeqsAfter(dir.path(), at100);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(seqs, Range(101, 700));
  }
}

// Test that ScanLogAfter refuses a position whose record is not there any more and damage in
// a closed segment after it (ScanLogFrom reads around that), and stops quietly at a torn
// record at the end of the newest segment.
TEST(DecisionLogTest, ScanLogAfterRefusesWhatItCannotFollow) {
  TempDir dir;
  WriteClosedLog(dir.path(), 120);
  const std::vector<RecordPos> pos = Positions(dir.path());
  ASSERT_EQ(pos.size(), 120u);
  const LogPosition at10 = PositionOf(dir.path(), 10);
  // Not a record at that offset, or another seq there: refused.
  LogPosition off = at10;
  off.offset += 1;
  EXPECT_TRUE(absl::IsFailedPrecondition(SeqsAfter(dir.path(), off).second));
  LogPosition other = at10;
  other.seq = 11;
  EXPECT_TRUE(absl::IsFailedPrecondition(SeqsAfter(dir.path(), other).second));
  LogPosition rewritten = at10;  // the same seq there, but another record (another chain)
  rewritten.hash[0] ^= 1;
  EXPECT_TRUE(absl::IsFailedPrecondition(SeqsAfter(dir.path(), rewritten).second));
  LogPosition gone = at10;
  gone.segment = 999;
  EXPECT_TRUE(absl::IsFailedPrecondition(SeqsAfter(dir.path(), gone).second));

  // A damaged record (its length) in a closed segment after the position: the records before
  // it are delivered, then FailedPrecondition.
  const RecordPos& victim = pos[59];  // seq 60
  ASSERT_NE(victim.file, pos.back().file);
  std::string bytes = ReadAll(victim.file);
  bytes[victim.offset + 5] = 0x7f;
  WriteAll(victim.file, bytes);
  auto [seqs, s] = SeqsAfter(dir.path(), at10);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(seqs, Range(11, 59));

  // A torn record at the end of the newest segment: the scan ends before it.
  const RecordPos& last = pos.back();
  bytes = ReadAll(last.file);
  bytes.resize(last.offset + last.size - 7);
  WriteAll(last.file, bytes);
  const LogPosition at100 = PositionOf(dir.path(), 100);
  std::tie(seqs, s) = SeqsAfter(dir.path(), at100);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seqs, Range(101, 119));
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
  // Every sync is in one duration bucket, and its time in their sum.
  EXPECT_GT(stats.syncs, 0u);
  EXPECT_EQ(std::accumulate(stats.sync_buckets.begin(), stats.sync_buckets.end(), uint64_t{0}),
            stats.syncs);
  uint64_t lower = 0;  // each bucket's syncs took more than the bound before
  for (size_t i = 0; i < DecisionLog::kSyncBucketMicros.size(); ++i) {
    lower += stats.sync_buckets[i + 1] * DecisionLog::kSyncBucketMicros[i];
  }
  EXPECT_GE(stats.sync_micros, lower);
  ASSERT_TRUE((*log)->Close().ok());
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kPer));
}

// Waits until all *in_flight waiters queued for `queue` are delivered; returns them.
std::vector<AppendWaiter*> DrainAll(TestQueue& queue, int* in_flight) {
  std::vector<AppendWaiter*> out;
  while (*in_flight > 0) {
    for (AppendWaiter* w : queue.Wait()) {
      out.push_back(w);
      --*in_flight;
    }
  }
  return out;
}

// A checkpoint sink (the store) that hangs in every call until released.
struct StuckSink : CheckpointSink {
  absl::Notification release;
  std::atomic<uint64_t> calls{0};
  absl::Status RecordCheckpoint(const Checkpoint&) override {
    ++calls;
    release.WaitForNotification();
    return absl::OkStatus();
  }
};

// Test that checkpoints stay off the records' path and the sink off the checkpoints' path:
// with the checkpoint sink (the store, a database) stuck, an event loop's rounds of records,
// across segment rotations, are still written, synced and delivered, and checkpoints still
// reach the file; the sink gets every one once it answers, and the log verifies against them.
// (Until 2026-11-27 a checkpoint was a step in the write stream: a stuck sink held every
// Commit.)
TEST(DecisionLogTest, SlowCheckpointSinkDoesNotHoldRecords) {
  StuckSink sink;
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 8192;
  opt.checkpoint_every = 5;
  opt.checkpoint_sink = &sink;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kRounds = 30, kPerRound = 10;
  std::atomic<int> delivered{0};
  absl::Notification done;
  std::thread loop([&] {
    TestQueue queue(/*commits=*/true);
    std::vector<AppendWaiter> round(kPerRound);
    uint64_t n = 0;
    for (int r = 0; r < kRounds; ++r) {
      int in_flight = 0;
      for (AppendWaiter& w : round) {
        ++n;
        std::string id = absl::StrCat("d-", n), payload = Payload(n);
        w.queue = &queue;
        if ((*log)->AppendAsync(Entry(n, id, payload), &w)) ++in_flight;
      }
      (*log)->Commit();
      for (AppendWaiter* w : DrainAll(queue, &in_flight))
        if (w->result.ok()) ++delivered;
    }
    done.Notify();
  });
  const bool finished = done.WaitForNotificationWithTimeout(absl::Seconds(20));
  for (int i = 0; i < 500 && sink.calls.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  const uint64_t calls_while_stuck = sink.calls.load();
  const uint64_t in_file_while_stuck = (*log)->stats().checkpoints;
  sink.release.Notify();
  loop.join();
  ASSERT_TRUE(finished) << "records waited for the checkpoint sink";
  EXPECT_EQ(delivered.load(), kRounds * kPerRound);
  EXPECT_EQ(calls_while_stuck, 1u);  // the sink was reached, and stuck, meanwhile
  EXPECT_GT(in_file_while_stuck, 10u);  // the file's checkpoints went on
  EXPECT_GT((*log)->stats().segments_opened, 5u);
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_GE((*log)->stats().checkpoints, static_cast<uint64_t>(kRounds * kPerRound / 5));
  EXPECT_EQ(sink.calls.load(), (*log)->stats().checkpoints);
  EXPECT_EQ((*log)->stats().checkpoint_sink_errors, 0u);
  EXPECT_EQ((*log)->stats().checkpoint_sink_dropped, 0u);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->records, static_cast<uint64_t>(kRounds * kPerRound));
  EXPECT_GE(report->checkpoints_checked, static_cast<uint64_t>(kRounds * kPerRound / 5));
}

// Test that a stuck sink's backlog is bounded: beyond 4096 checkpoints waiting for it, the
// oldest are dropped and counted (the file has them all), and the sink gets the rest.
TEST(DecisionLogTest, StuckSinkBacklogIsBounded) {
  StuckSink sink;
  TempDir dir;
  LogOptions opt;
  opt.checkpoint_every = 1;
  opt.checkpoint_sink = &sink;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kRecords = 4300;
  std::vector<AppendWaiter> waiters(kRecords);
  for (int i = 0; i < kRecords; ++i) {
    const uint64_t n = static_cast<uint64_t>(i) + 1;
    std::string id = absl::StrCat("d-", n), payload = Payload(n);
    ASSERT_TRUE((*log)->AppendAsync(Entry(n, id, payload), &waiters[static_cast<size_t>(i)]));
  }
  ASSERT_TRUE((*log)->Flush().ok());
  for (int i = 0; i < 1000 && (*log)->stats().checkpoints < kRecords; ++i)
    absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ((*log)->stats().checkpoints, static_cast<uint64_t>(kRecords));  // all in the file
  sink.release.Notify();
  ASSERT_TRUE((*log)->Close().ok());
  const auto stats = (*log)->stats();
  EXPECT_GT(stats.checkpoint_sink_dropped, 0u);
  EXPECT_EQ(sink.calls.load() + stats.checkpoint_sink_dropped, stats.checkpoints);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->checkpoints_checked, static_cast<uint64_t>(kRecords));
}

// Test that the checkpoint file is written as its records become durable but synced at most
// once a second: a hundred checkpoints in a burst cost one or two fdatasyncs, not a hundred
// (each was a data write, an inode write and a cache flush on the records' disk). Lines
// written after the last sync are synced within a second without further appends, and when
// the log closes; every line is in the file before it is synced. Sync and async logs.
TEST(DecisionLogTest, CheckpointFileIsSyncedAtMostOnceASecond) {
  for (Durability mode : {Durability::kSync, Durability::kAsync}) {
    SCOPED_TRACE(DurabilityName(mode));
    TempDir dir;
    LogOptions opt = OptionsFor(mode);
    opt.checkpoint_every = 1;
    opt.async_flush_interval = std::chrono::milliseconds(5);
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    const absl::Time start = absl::Now();
    auto wait_for_checkpoints = [&](uint64_t n) {
      for (int i = 0; i < 500 && (*log)->stats().checkpoints < n; ++i)
        absl::SleepFor(absl::Milliseconds(2));
    };
    AppendN(**log, 1, 1);  // the first checkpoint is synced at once
    ASSERT_TRUE((*log)->Flush().ok());
    wait_for_checkpoints(1);
    AppendN(**log, 2, 99);
    ASSERT_TRUE((*log)->Flush().ok());
    wait_for_checkpoints(100);
    const DecisionLog::Stats burst = (*log)->stats();
    const bool within_a_second = absl::Now() - start < absl::Milliseconds(900);
    EXPECT_EQ(burst.checkpoints, 100u);
    // The lines are in the file at once (the page cache), synced or not.
    EXPECT_EQ(internal::ReadCheckpointFile(dir.path()).checkpoints.size(), 100u);
    // On a disk so slow that the burst took a second, a sync in it may have covered the
    // rest; the counts below assume it did not.
    uint64_t later = burst.checkpoint_syncs;
    if (within_a_second) {
      EXPECT_EQ(burst.checkpoint_syncs, 1u);  // the first one's
      // The rest are synced within a second or so without another append.
      for (int i = 0; i < 300 && later == burst.checkpoint_syncs; ++i) {
        absl::SleepFor(absl::Milliseconds(10));
        later = (*log)->stats().checkpoint_syncs;
      }
      EXPECT_EQ(later, burst.checkpoint_syncs + 1) << "unsynced checkpoints waited for an append";
    } else {
      absl::SleepFor(absl::Milliseconds(1200));
      later = (*log)->stats().checkpoint_syncs;
    }
    // Nothing left unsynced: no sync a second later.
    absl::SleepFor(absl::Milliseconds(1200));
    EXPECT_EQ((*log)->stats().checkpoint_syncs, later);
    // Closing syncs the closing checkpoint's line.
    AppendN(**log, 101, 1);
    ASSERT_TRUE((*log)->Close().ok());
    EXPECT_EQ((*log)->stats().checkpoint_syncs, later + 1);
    EXPECT_EQ(internal::ReadCheckpointFile(dir.path()).checkpoints.size(), 101u);
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
    EXPECT_EQ(report->checkpoints_checked, 101u);
  }
}

// Test group commit under rotation and checkpoints: blocking and AppendAsync appenders on many
// threads, small segments; each record is acknowledged once with its seq, and the log (with its
// checkpoints) verifies.
TEST(DecisionLogTest, GroupCommitWithRotationAndCheckpoints) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 8192;
  opt.checkpoint_every = 13;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8, kPer = 300;
  std::mutex mu;
  std::multiset<uint64_t> acked;
  std::vector<TestQueue> queues(kThreads);
  std::vector<std::vector<AppendWaiter>> waiters(kThreads);
  std::vector<int> in_flight(kThreads, 0);
  for (int t = 1; t < kThreads; t += 2) waiters[t].resize(kPer);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        uint64_t n = static_cast<uint64_t>(t * kPer + i + 1);
        std::string id = absl::StrCat("d-", n), payload = Payload(n);
        if (t % 2 == 0) {
          auto seq = (*log)->Append(Entry(n, id, payload));
          ASSERT_TRUE(seq.ok()) << seq.status();
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(*seq);
        } else {
          // Ten appends in flight at a time, as an event-driven server would have.
          if (!waiters[t].empty() && i % 10 == 0) {
            for (AppendWaiter* w : DrainAll(queues[t], &in_flight[t])) {
              ASSERT_TRUE(w->result.ok()) << w->result.status();
              std::lock_guard<std::mutex> lock(mu);
              acked.insert(*w->result);
            }
          }
          AppendWaiter& w = waiters[t][static_cast<size_t>(i)];
          w.queue = &queues[t];
          ASSERT_TRUE((*log)->AppendAsync(Entry(n, id, payload), &w));
          ++in_flight[t];
        }
      }
      for (AppendWaiter* w : DrainAll(queues[t], &in_flight[t])) {
        ASSERT_TRUE(w->result.ok()) << w->result.status();
        std::lock_guard<std::mutex> lock(mu);
        acked.insert(*w->result);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*log)->Flush().ok());
  auto stats = (*log)->stats();
  EXPECT_GT(stats.segments_opened, 10u);
  EXPECT_GT(stats.checkpoints, 50u);
  ASSERT_TRUE((*log)->Close().ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(acked.size(), static_cast<size_t>(kThreads * kPer));
    EXPECT_EQ(std::set<uint64_t>(acked.begin(), acked.end()).size(), acked.size());
    EXPECT_EQ(*acked.rbegin(), static_cast<uint64_t>(kThreads * kPer));
  }
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kPer));
  EXPECT_GT(report->checkpoints_checked, 50u);
}

// Test the event-loop path: threads whose queues commit append rounds of records and call
// Commit (never waking a writer for them) while blocking appenders share the log, with small
// segments (rotations, which Commit leaves to the writer threads) and frequent checkpoints.
// Every record is delivered once with its seq and the log verifies (durability on a crash:
// the gateway's kill -9 test, which runs this path).
TEST(DecisionLogTest, EventLoopCommitsWithRotationAndCheckpoints) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 8192;
  opt.checkpoint_every = 13;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 6, kRounds = 40, kPerRound = 10;
  std::mutex mu;
  std::multiset<uint64_t> acked;
  std::atomic<uint64_t> next{1};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      TestQueue queue(/*commits=*/true);
      std::vector<AppendWaiter> round(kPerRound);
      for (int r = 0; r < kRounds; ++r) {
        if (t == 0) {  // an admin or CLI caller: blocking appends, woken by a writer thread
          uint64_t n = next++;
          std::string id = absl::StrCat("d-", n), payload = Payload(n);
          auto seq = (*log)->Append(Entry(n, id, payload));
          ASSERT_TRUE(seq.ok()) << seq.status();
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(*seq);
          continue;
        }
        int in_flight = 0;
        for (AppendWaiter& w : round) {
          uint64_t n = next++;
          std::string id = absl::StrCat("d-", n), payload = Payload(n);
          w.queue = &queue;
          ASSERT_TRUE((*log)->AppendAsync(Entry(n, id, payload), &w));
          ++in_flight;
        }
        (*log)->Commit();
        for (AppendWaiter* w : DrainAll(queue, &in_flight)) {
          ASSERT_TRUE(w->result.ok()) << w->result.status();
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(*w->result);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  (*log)->Commit();  // nothing pending: returns at once
  auto stats = (*log)->stats();
  EXPECT_GT(stats.segments_opened, 10u);
  EXPECT_GT(stats.checkpoints, 50u);
  ASSERT_TRUE((*log)->Close().ok());
  const size_t total = kRounds + (kThreads - 1) * kRounds * kPerRound;
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(acked.size(), total);
    EXPECT_EQ(std::set<uint64_t>(acked.begin(), acked.end()).size(), total);
    EXPECT_EQ(*acked.rbegin(), total);
  }
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->records, total);
}

// Test that AppendAsync delivers every record once, after it is on disk, with its seq; that a
// queue is woken once per group commit, not once per record; and that an invalid entry is
// refused at once.
TEST(DecisionLogTest, AppendAsyncDeliversWaiters) {
  TempDir dir;
  auto log = DecisionLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  TestQueue queue;
  std::vector<AppendWaiter> waiters(500);
  std::string id = "d", payload = Payload(0);
  for (AppendWaiter& w : waiters) {
    w.queue = &queue;
    ASSERT_TRUE((*log)->AppendAsync(Entry(1, id, payload), &w));
  }
  std::set<uint64_t> acked;
  while (acked.size() < waiters.size()) {
    for (AppendWaiter* w : queue.Wait()) {
      ASSERT_TRUE(w->result.ok()) << w->result.status();
      EXPECT_TRUE(acked.insert(*w->result).second);
    }
  }
  EXPECT_EQ(*acked.rbegin(), 500u);
  EXPECT_LE(queue.wakes(), static_cast<int>((*log)->stats().syncs));
  std::string big(70000, 'x');
  LogEntry bad;
  bad.item = big;
  AppendWaiter rejected;
  rejected.queue = &queue;
  EXPECT_FALSE((*log)->AppendAsync(bad, &rejected));
  EXPECT_EQ(rejected.result.status().code(), absl::StatusCode::kInvalidArgument);
  // Without a queue the result is read after Flush.
  AppendWaiter unqueued;
  ASSERT_TRUE((*log)->AppendAsync(Entry(2, id, payload), &unqueued));
  ASSERT_TRUE((*log)->Flush().ok());
  ASSERT_TRUE(unqueued.result.ok());
  EXPECT_EQ(*unqueued.result, 501u);
}

// Test that async mode keeps everything once flushed.
TEST(DecisionLogTest, AsyncFlush) {
  TempDir dir;
  LogOptions opt;
  opt.durability = Durability::kAsync;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  AppendN(**log, 1, 300);
  // AppendAsync answers at once, like Append: the record is chained, not yet written.
  std::string id = "d-301", payload = Payload(301);
  AppendWaiter waiter;
  EXPECT_FALSE((*log)->AppendAsync(Entry(301, id, payload), &waiter));
  ASSERT_TRUE(waiter.result.ok());
  EXPECT_EQ(*waiter.result, 301u);
  ASSERT_TRUE((*log)->Flush().ok());
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->records, 301u);
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

// The process may write files up to `bytes` while it lives (RLIMIT_FSIZE): a write beyond
// fails with EFBIG, as one fails with ENOSPC on a full disk. SIGXFSZ is ignored meanwhile.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit r = saved_;
    r.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_ = SIG_DFL;
};

// Test that a failed write (a full disk) stops the log with the error, that every later append
// and status() name it, that no record acknowledged before is lost, and that reopening the log
// cuts the part of a record that reached the disk and continues the chain.
TEST(DecisionLogTest, FailedWriteStopsTheLogUntilReopened) {
  for (Durability durability : {Durability::kSync, Durability::kAsync}) {
    SCOPED_TRACE(DurabilityName(durability));
    TempDir dir;
    LogOptions opt = OptionsFor(durability);
    uint64_t acknowledged = 0;
    absl::Status failure;
    {
      auto log = DecisionLog::Open(dir.path(), opt);
      ASSERT_TRUE(log.ok()) << log.status();
      AppendN(**log, 1, 10);
      ASSERT_TRUE((*log)->Flush().ok());
      EXPECT_TRUE((*log)->status().ok());
      const std::string segment = internal::ListSegments(dir.path()).value().back().path;
      {
        FileSizeLimit limit(fs::file_size(segment) + 5000);  // a few more records fit
        for (uint64_t i = 11; i < 1000 && failure.ok(); ++i) {
          std::string id = absl::StrCat("d-", i), payload = Payload(i);
          auto seq = (*log)->Append(Entry(i, id, payload));
          if (seq.ok() && durability == Durability::kAsync) failure = (*log)->Flush();
          if (!seq.ok()) failure = seq.status();
          if (failure.ok()) acknowledged = *seq;
        }
      }
      ASSERT_FALSE(failure.ok()) << "no write failed";
      EXPECT_NE(failure.message().find("File too large"), std::string_view::npos) << failure;
      EXPECT_GT(acknowledged, 10u);
      EXPECT_EQ((*log)->status(), failure);
      // With room again, the log stays stopped: it does not guess what reached the disk.
      std::string id = "d-after", payload = Payload(2000);
      EXPECT_EQ((*log)->Append(Entry(2000, id, payload)).status(), failure);
      (void)(*log)->Close();
    }
    auto reopened = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_TRUE((*reopened)->status().ok());
    EXPECT_GE((*reopened)->stats().last_seq, acknowledged);
    AppendN(**reopened, 3000, 5);
    ASSERT_TRUE((*reopened)->Close().ok());
    auto report = VerifyLog(dir.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->intact()) << (report->problems.empty() ? "" : FormatProblem(report->problems[0]));
    EXPECT_GE(report->records, acknowledged + 5);
  }
}

// Test the background verifier against a log being written meanwhile (rotations, checkpoints):
// every run intact while nobody edits; an edited record in a closed segment is named by the
// next run (twice found, so reported), and a watch without a period runs only when asked.
// Test that between verifications the watch writes the search indexes of segments closed since
// (IndexLog), on a log being written: each closed segment gets one, the open one none, a
// damaged segment none; a later verify finds them all right.
TEST(LogWatchTest, WritesSearchIndexesBetweenRuns) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 4096;
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status();
  AppendN(**log, 1, 100);
  ASSERT_TRUE((*log)->Flush().ok());
  auto indexed = [&] {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) n += e.path().extension() == ".idx";
    return n;
  };
  auto closed = [&] { return internal::ListSegments(dir.path()).value().size() - 1; };
  ASSERT_GT(closed(), 3u);
  LogWatch::Options wo;
  wo.dir = dir.path();
  wo.every = absl::InfiniteDuration();  // no verification runs here
  wo.index_every = absl::Milliseconds(20);
  wo.pace = 0;
  std::atomic<int> reported{0}, failed{0};
  wo.on_index = [&](const absl::StatusOr<IndexReport>& r) {
    ++reported;
    if (!r.ok()) ++failed;
  };
  LogWatch watch(wo, nullptr);
  auto wait_for = [](const std::function<bool()>& done) {
    for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  };
  ASSERT_TRUE(wait_for([&] { return indexed() == closed(); })) << indexed() << " of " << closed();
  EXPECT_EQ(watch.runs(), 0u);
  EXPECT_GE(watch.index_passes(), 1u);
  // More segments close: the next passes index them.
  const size_t before = closed();
  AppendN(**log, 101, 100);
  ASSERT_TRUE((*log)->Flush().ok());
  ASSERT_GT(closed(), before);
  ASSERT_TRUE(wait_for([&] { return indexed() == closed(); })) << indexed() << " of " << closed();
  EXPECT_TRUE(wait_for([&] { return watch.indexes_written() == closed(); })) << watch.indexes_written();
  ASSERT_TRUE((*log)->Close().ok());
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->indexes_checked, closed());

  // A segment whose framing is damaged gets no index (verify names the damage).
  const auto segments = internal::ListSegments(dir.path()).value();
  fs::remove(fs::path(dir.path()) / internal::IndexFileName(segments[1].number));
  std::string bytes = ReadAll(segments[1].path);
  bytes[internal::kSegmentHeaderSize + 1] ^= 0x55;  // the first record's magic
  WriteAll(segments[1].path, bytes);
  auto pass = IndexLog(dir.path());
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->written, 0u);
  EXPECT_EQ(pass->damaged, 1u);
  EXPECT_EQ(pass->present, closed() - 1);
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / internal::IndexFileName(segments[1].number)));
  EXPECT_GT(reported.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(watch.index_errors(), 0u);

  // An index that cannot be written (a directory where its temporary file goes): the pass
  // fails naming the file, and the watch counts and reports it.
  const fs::path index2 = fs::path(dir.path()) / internal::IndexFileName(segments[2].number);
  fs::remove(index2);
  fs::create_directory(index2.string() + ".tmp");
  auto blocked = IndexLog(dir.path());
  EXPECT_FALSE(blocked.ok());
  EXPECT_NE(blocked.status().message().find(index2.filename().string() + ".tmp"), std::string::npos)
      << blocked.status();
  EXPECT_TRUE(wait_for([&] { return watch.index_errors() > 0 && failed.load() > 0; }));
}

TEST(LogWatchTest, VerifiesAWrittenLogAndNamesAnEdit) {
  TempDir dir;
  LogOptions opt;
  opt.max_segment_bytes = 32 << 10;  // a rotation every ~80 records
  opt.checkpoint_every = 10;
  opt.direct_io = false;  // the page cache keeps the runs quick
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok()) << log.status();
  AppendN(**log, 1, 200);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> written{200};
  std::thread writer([&] {
    while (!stop) {
      AppendN(**log, written + 1, 5);
      written += 5;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  struct Joined {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joined() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joined{stop, writer};
  std::vector<LogWatch::Run> runs;
  std::mutex mu;
  LogWatch::Options wo;
  wo.dir = dir.path();
  wo.first_after = absl::ZeroDuration();
  wo.every = absl::Milliseconds(20);
  wo.pace = 0;  // here: as many runs as can be
  wo.extra_checkpoints = [] { return absl::StatusOr<std::vector<Checkpoint>>(std::vector<Checkpoint>{}); };
  wo.check_copy = [] {
    RecordShipper::CopyReport copy;
    copy.rows_checked = 42;
    return absl::StatusOr<RecordShipper::CopyReport>(copy);
  };
  auto watch = std::make_unique<LogWatch>(wo, [&](const LogWatch::Run& r) {
    std::lock_guard<std::mutex> lock(mu);
    runs.push_back(r);
  });
  auto wait_runs = [&](uint64_t n) {
    for (int i = 0; i < 1000 && watch->runs() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return watch->runs() >= n;
  };
  ASSERT_TRUE(wait_runs(5));
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& r : runs) {
      ASSERT_TRUE(r.intact()) << r.status << " "
                              << (r.report && !r.report->problems.empty() ? FormatProblem(r.report->problems[0]) : "");
      EXPECT_GE(r.report->records, 200u);
      EXPECT_GT(r.report->checkpoints_checked, 0u);
      ASSERT_TRUE(r.copy.has_value());
      EXPECT_EQ(r.copy->rows_checked, 42u);
    }
  }
  // An edit in the first (closed) segment while the log is written: named by seq.
  const std::vector<RecordPos> pos = Positions(dir.path());
  ASSERT_GT(pos.size(), 10u);
  ASSERT_NE(pos[3].file, internal::ListSegments(dir.path()).value().back().path);
  std::string bytes = ReadAll(pos[3].file);
  bytes[pos[3].offset + 120] ^= 1;
  WriteAll(pos[3].file, bytes);
  const uint64_t before = watch->runs();
  ASSERT_TRUE(wait_runs(before + 2));  // one may have read the segment before the edit
  auto last = watch->last();
  ASSERT_TRUE(last && last->status.ok() && last->report) << (last ? last->status.ToString() : "");
  EXPECT_FALSE(last->intact());
  ASSERT_EQ(last->report->problems.size(), 1u);
  EXPECT_EQ(last->report->problems[0].seq, pos[3].seq);
  EXPECT_NE(last->report->problems[0].message.find("record edited"), std::string::npos);
  stop = true;
  writer.join();
  watch.reset();
  AppendN(**log, written + 1, 2000);  // more segments for the paced run below
  ASSERT_TRUE((*log)->Flush().ok());
  ASSERT_GT(internal::ListSegments(dir.path()).value().size(), 10u);

  // No period: nothing runs until asked; a store's checkpoints that cannot be read are the
  // run's error, and the log is verified all the same. Paced: after each segment a pause of
  // three times as long as it took.
  wo.every = absl::InfiniteDuration();
  wo.pace = 3;
  wo.extra_checkpoints = [] { return absl::StatusOr<std::vector<Checkpoint>>(absl::UnavailableError("store down")); };
  wo.check_copy = [] {
    return absl::StatusOr<RecordShipper::CopyReport>(absl::UnavailableError("store still down"));
  };
  LogWatch asked(wo, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(asked.runs(), 0u);
  EXPECT_FALSE(asked.running());
  ASSERT_TRUE(asked.RunNow());
  for (int i = 0; i < 1000 && asked.runs() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(asked.runs(), 1u);
  last = asked.last();
  ASSERT_NE(last, nullptr);
  EXPECT_GT(last->paused, absl::ZeroDuration());  // after each of its segments but the last
  EXPECT_LT(last->paused, last->finished - last->started);
  EXPECT_TRUE(absl::IsUnavailable(last->status)) << last->status;
  ASSERT_TRUE(last->report.has_value());
  EXPECT_EQ(last->report->problems.size(), 1u);  // the edit, still there
  EXPECT_FALSE(last->intact());
  EXPECT_FALSE(last->copy.has_value());
  EXPECT_TRUE(absl::IsUnavailable(last->copy_status)) << last->copy_status;
  ASSERT_TRUE((*log)->Close().ok());
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

// Test that a copy of a record inserted later in the log is named as a duplicate, and only it.
TEST_F(TamperTest, Duplicate) {
  std::string copy = bytes_.substr(pos_[4].offset, pos_[4].size);  // seq 5
  bytes_.insert(pos_[6].offset, copy);                              // after seq 6
  WriteAll(seg_, bytes_);
  EXPECT_EQ(Problems(dir_.path()),
            std::vector<std::string>{
                absl::StrCat(fs::path(seg_).filename().string(), " offset ", pos_[6].offset,
                             " seq 5: appears more than once (duplicated or inserted)")});
}

// Test that a record moved ahead past a deleted one is named with both: of the records it
// jumped, which are missing and which come later.
TEST_F(TamperTest, MovedAheadPastADeletedRecord) {
  std::string eighth = bytes_.substr(pos_[7].offset, pos_[7].size);
  std::string moved = bytes_.substr(0, pos_[4].offset) + eighth +     // 1..4, 8
                      bytes_.substr(pos_[4].offset, pos_[4].size) +  // 5
                      bytes_.substr(pos_[6].offset, pos_[6].size) +  // 7 (6 deleted)
                      bytes_.substr(pos_[8].offset);                 // 9, 10
  WriteAll(seg_, moved);
  const std::string file = fs::path(seg_).filename().string();
  const uint64_t at5 = pos_[4].offset + eighth.size();
  EXPECT_EQ(Problems(dir_.path()),
            (std::vector<std::string>{
                absl::StrCat(file, " offset ", pos_[4].offset,
                             " seq 8: out of order: of records seq 5..7 before it, 1 are missing "
                             "(removed) and the rest come later (reordered)"),
                absl::StrCat(file, " offset ", at5,
                             " seq 5: out of order: it comes after seq 8 (records reordered)"),
                absl::StrCat(file, " offset ", at5 + pos_[4].size,
                             " seq 7: out of order: it comes after seq 8 (records reordered)")}));
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
           internal::FormatCheckpointLine({10, {}, 1, 0, std::nullopt}));
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

// A clock the retention tests move by hand.
class ManualClock : public core::Clock {
 public:
  explicit ManualClock(core::Timestamp now) : now_(now) {}
  core::Timestamp Now() const override { return now_; }
  void Set(core::Timestamp t) { now_ = t; }

 private:
  core::Timestamp now_;
};

constexpr core::Timestamp kDay = 86400;
constexpr core::Timestamp kT0 = 1781352000;

// Appends n records with decision time `time`, numbered from `from`.
void AppendAt(DecisionLog& log, uint64_t from, uint64_t n, core::Timestamp time) {
  for (uint64_t i = from; i < from + n; ++i) {
    std::string id = absl::StrCat("d-", i), payload = Payload(i);
    LogEntry e = Entry(i, id, payload);
    e.time = time;
    auto seq = log.Append(e);
    ASSERT_TRUE(seq.ok()) << seq.status();
  }
}

std::vector<uint64_t> SegmentNumbers(const std::string& dir) {
  std::vector<uint64_t> out;
  auto segments = internal::ListSegments(dir);
  EXPECT_TRUE(segments.ok()) << segments.status();
  if (segments.ok())
    for (const auto& s : *segments) out.push_back(s.number);
  return out;
}

// Small segments (many rotations, so many prunes) on a test clock.
LogOptions RetentionTestOptions(const core::Clock* clock, uint64_t checkpoint_every,
                                uint32_t retention_days) {
  LogOptions opt;
  opt.max_segment_bytes = 4096;
  opt.checkpoint_every = checkpoint_every;
  opt.retention_days = retention_days;
  opt.clock = clock;
  return opt;
}

// Test that retention deletes whole old segments (on open and when a segment is closed), keeps
// every record within the period, leaves an anchor from which verify proves the rest, and that
// tampering after a prune is still found.
TEST(DecisionLogRetentionTest, PrunesOldSegmentsAndVerifyStillProves) {
  TempDir dir;
  ManualClock clock(kT0);
  LogOptions opt = RetentionTestOptions(&clock, /*checkpoint_every=*/7, /*retention_days=*/365);
  {  // 60 records at kT0 and 40 at kT0 + 200 days; nothing is old yet.
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendAt(**log, 1, 60, kT0);
    clock.Set(kT0 + 200 * kDay);
    AppendAt(**log, 61, 40, kT0 + 200 * kDay);
    EXPECT_EQ((*log)->stats().pruned_segments, 0u);
  }
  const size_t segments_before = SegmentNumbers(dir.path()).size();
  ASSERT_GT(segments_before, 4u);

  // 400 days on: the segments holding only kT0 records go when the log is opened.
  clock.Set(kT0 + 400 * kDay);
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_GT((*log)->stats().pruned_segments, 0u);
    EXPECT_EQ((*log)->stats().prune_errors, 0u);
    AppendAt(**log, 101, 30, kT0 + 400 * kDay);
  }
  std::vector<uint64_t> left = SegmentNumbers(dir.path());
  ASSERT_GT(left.front(), 1u);
  std::vector<std::pair<uint64_t, core::Timestamp>> records;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                records.push_back({r.seq, r.time});
                return true;
              }).ok());
  ASSERT_FALSE(records.empty());
  const uint64_t first = records.front().first;
  EXPECT_GT(first, 1u);
  EXPECT_LE(first, 61u);  // every record of the last 365 days is kept
  EXPECT_EQ(records.back().first, 130u);
  EXPECT_EQ(records.size(), 130 - first + 1);
  auto report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->last_seq, 130u);
  EXPECT_NE(NoteText(*report).find(absl::StrCat("records seq 1..", first - 1, " (segments 1..",
                                                left.front() - 1, ") deleted by retention")),
            std::string::npos)
      << NoteText(*report);

  // The writer prunes when it closes a segment: time passes while the log is open.
  clock.Set(kT0 + 500 * kDay);
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    const uint64_t on_open = (*log)->stats().pruned_segments;
    clock.Set(kT0 + 800 * kDay);
    AppendAt(**log, 131, 60, kT0 + 800 * kDay);
    EXPECT_GT((*log)->stats().pruned_segments, on_open);  // the kT0+200d segments
  }
  report = VerifyLog(dir.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact()) << FormatProblem(report->problems[0]);
  EXPECT_EQ(report->last_seq, 190u);
  records.clear();
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const LogRecord& r) {
                records.push_back({r.seq, r.time});
                return true;
              }).ok());
  EXPECT_GT(records.front().first, first);
  EXPECT_EQ(records.back().first, 190u);
  EXPECT_EQ(records.size(), 190 - records.front().first + 1);

  // Tampering after a prune: removing the oldest remaining segment is found.
  left = SegmentNumbers(dir.path());
  ASSERT_GT(left.size(), 2u);
  const std::string oldest = (fs::path(dir.path()) / internal::SegmentFileName(left.front())).string();
  const std::string saved = ReadAll(oldest);
  fs::remove(oldest);
  std::vector<std::string> problems = Problems(dir.path());
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find(absl::StrCat("segments ", left.front(), "..", left.front(),
                                          " missing (removed)")),
            std::string::npos)
      << problems[0];
  WriteAll(oldest, saved);
  EXPECT_TRUE(Problems(dir.path()).empty());

  // A forged anchor (another head) breaks the link to the first remaining record.
  const std::string cp_path = (fs::path(dir.path()) / internal::kCheckpointFile).string();
  std::string cps = ReadAll(cp_path);
  size_t at = cps.rfind("\"pruned\":true");
  ASSERT_NE(at, std::string::npos);
  size_t head = cps.rfind("\"head\":\"", at) + 8;
  cps[head] = cps[head] == 'a' ? 'b' : 'a';
  WriteAll(cp_path, cps);
  problems = Problems(dir.path());
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("prev_hash"), std::string::npos) << problems[0];
}

// Test that the writer reads the oldest segment (to find its newest record) only once it may
// be due: a segment kept at the last prune is not read again at every rotation until the
// retention period has passed its newest record. Seen through damage: a damaged old segment
// makes a prune that reads it fail (prune_errors), so it counts the reads.
TEST(DecisionLogRetentionTest, ReadsTheOldestSegmentOnlyWhenDue) {
  TempDir dir;
  ManualClock clock(kT0);
  LogOptions opt = RetentionTestOptions(&clock, /*checkpoint_every=*/0, /*retention_days=*/365);
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok()) << log.status();
    AppendAt(**log, 1, 30, kT0);
  }
  clock.Set(kT0 + 100 * kDay);
  auto log = DecisionLog::Open(dir.path(), opt);  // reads segment 1: kept until kT0 + 365 days
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->stats().prune_errors, 0u);
  // Damage the last record of segment 1 (its stored hash), which a prune checks: any later
  // read of the segment fails.
  const std::string first = (fs::path(dir.path()) / internal::SegmentFileName(1)).string();
  std::string bytes = ReadAll(first);
  ASSERT_GT(bytes.size(), 300u);
  bytes[bytes.size() - 10] ^= 0x5a;
  WriteAll(first, bytes);
  const size_t segments = SegmentNumbers(dir.path()).size();
  AppendAt(**log, 31, 60, kT0 + 100 * kDay);  // several rotations, segment 1 not due
  ASSERT_GT(SegmentNumbers(dir.path()).size(), segments + 2);
  EXPECT_EQ((*log)->stats().prune_errors, 0u);
  EXPECT_EQ((*log)->stats().pruned_segments, 0u);
  // Past its records' period it is read again, found damaged and kept (nothing deleted).
  clock.Set(kT0 + 400 * kDay);
  AppendAt(**log, 91, 30, kT0 + 400 * kDay);
  EXPECT_GT((*log)->stats().prune_errors, 0u);
  EXPECT_EQ((*log)->stats().pruned_segments, 0u);
  EXPECT_EQ(SegmentNumbers(dir.path()).front(), 1u);
}

// Test that a log without a retention period keeps everything however old.
TEST(DecisionLogRetentionTest, ZeroKeepsEverything) {
  TempDir dir;
  ManualClock clock(kT0);
  LogOptions opt = RetentionTestOptions(&clock, /*checkpoint_every=*/1000, /*retention_days=*/0);
  {
    auto log = DecisionLog::Open(dir.path(), opt);
    ASSERT_TRUE(log.ok());
    AppendAt(**log, 1, 40, kT0);
  }
  clock.Set(kT0 + 5000 * kDay);
  auto log = DecisionLog::Open(dir.path(), opt);
  ASSERT_TRUE(log.ok());
  AppendAt(**log, 41, 40, kT0 + 5000 * kDay);
  EXPECT_EQ((*log)->stats().pruned_segments, 0u);
  EXPECT_EQ(SegmentNumbers(dir.path()).front(), 1u);
}

}  // namespace
}  // namespace eargate::store
