#include "eargate/store/log_watch.h"

#include <chrono>
#include <utility>

#include "eargate/core/thread.h"

namespace eargate::store {

std::vector<std::string> LogWatch::Run::Findings(size_t max) const {
  std::vector<std::string> out;
  for (size_t i = 0; report && i < report->problems.size() && out.size() < max; ++i)
    out.push_back(FormatProblem(report->problems[i]));
  for (size_t i = 0; copy && i < copy->differences.size() && out.size() < max; ++i)
    out.push_back("store copy " + copy->differences[i]);
  return out;
}

LogWatch::LogWatch(Options options, Listener listener)
    : options_(std::move(options)), listener_(std::move(listener)) {
  thread_ = std::thread([this] { Loop(); });
}

LogWatch::~LogWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cancel_ = true;
  cv_.notify_all();
  thread_.join();
}

bool LogWatch::RunNow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_ || asked_ || stop_) return false;
    asked_ = true;
  }
  cv_.notify_all();
  return true;
}

bool LogWatch::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_ || asked_;
}

uint64_t LogWatch::runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_;
}

std::shared_ptr<const LogWatch::Run> LogWatch::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

uint64_t LogWatch::index_passes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_passes_;
}

uint64_t LogWatch::indexes_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return indexes_written_;
}

uint64_t LogWatch::index_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_errors_;
}

bool LogWatch::Pace(absl::Time* segment_start, absl::Duration* paused) {
  const absl::Duration took = absl::Now() - *segment_start;
  if (options_.pace > 0 && took > absl::ZeroDuration()) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(took * options_.pace), [&] { return stop_; });
  }
  const absl::Time now = absl::Now();
  *paused += now - *segment_start - took;
  *segment_start = now;
  return !cancel_.load();
}

LogWatch::Run LogWatch::RunOnce() {
  Run run;
  run.started = absl::Now();
  VerifyOptions opt;
  opt.threads = 1;
  opt.write_indexes = true;  // closed segments get their search index (doc §10)
  absl::Time segment_start = absl::Now();
  opt.before_segment = [&] { return Pace(&segment_start, &run.paused); };
  opt.extra_checkpoints_name = options_.extra_checkpoints_name;
  auto verify = [&]() -> absl::StatusOr<VerifyReport> {
    absl::Status extra_status;
    if (options_.extra_checkpoints) {
      auto extra = options_.extra_checkpoints();
      if (extra.ok()) {
        opt.extra_checkpoints = std::move(*extra);
      } else {
        extra_status = extra.status();
      }
    }
    auto report = VerifyLog(options_.dir, opt);
    if (report.ok() && !extra_status.ok()) run.status = extra_status;
    return report;
  };
  auto report = verify();
  if (report.ok() && !report->intact()) {
    // Once more: what a concurrent rotation or retention pass made look wrong is gone now.
    run.status = absl::OkStatus();
    report = verify();
  }
  if (report.ok()) {
    run.report = std::move(*report);
  } else {
    run.status = report.status();
  }
  if (run.report && options_.check_copy && !cancel_) {
    auto copy = options_.check_copy();
    if (copy.ok()) {
      run.copy = std::move(*copy);
    } else {
      run.copy_status = copy.status();
    }
  }
  run.finished = absl::Now();
  return run;
}

void LogWatch::Loop() {
  core::SetThreadName("eg-verify");
  // Best effort: without it a run merely competes with serving. (Not the idle I/O class:
  // mq-deadline holds idle-class reads back up to 10 s each while other I/O is queued, so
  // under steady load a run took minutes per segment; the pauses bound its disk share.)
  (void)core::LowerThreadPriority();
  absl::Time next = options_.every == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                               : absl::Now() + options_.first_after;
  auto after = [](absl::Duration d) {
    return d == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + d;
  };
  absl::Time next_index = after(options_.index_every);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const absl::Time wake = std::min(next, next_index);
    auto due = [&] { return stop_ || asked_ || absl::Now() >= wake; };
    if (wake == absl::InfiniteFuture()) {
      cv_.wait(lock, due);
    } else {
      cv_.wait_until(lock, absl::ToChronoTime(wake), due);
    }
    if (stop_) return;
    if (!asked_ && absl::Now() < next) {
      if (absl::Now() < next_index) continue;
      // Between runs: the indexes of the segments closed since (a run writes them too).
      lock.unlock();
      IndexOptions io;
      absl::Time segment_start = absl::Now();
      absl::Duration paused;
      io.before_segment = [&] { return Pace(&segment_start, &paused); };
      auto indexed = IndexLog(options_.dir, io);
      if (cancel_) return;
      if (options_.on_index) options_.on_index(indexed);
      lock.lock();
      ++index_passes_;
      if (indexed.ok()) indexes_written_ += indexed->written;
      else ++index_errors_;
      next_index = after(options_.index_every);
      continue;
    }
    asked_ = false;
    running_ = true;
    lock.unlock();
    Run run = RunOnce();
    if (cancel_) return;
    if (listener_) listener_(run);
    lock.lock();
    running_ = false;
    ++runs_;
    last_ = std::make_shared<const Run>(std::move(run));
    if (options_.every != absl::InfiniteDuration()) next = absl::Now() + options_.every;
  }
}

}  // namespace eargate::store
