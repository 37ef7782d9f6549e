#include "eargate/server/gateway.h"

#include "eargate/impact/upcoming.h"
#include "eargate/screen/report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include <simdjson.h>
#include <filesystem>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"
#include "eargate/core/thread.h"
#include "eargate/decide/engine.h"
#include "eargate/server/admin_api.h"
#include "eargate/server/log.h"
#include "eargate/store/people_io.h"
#include "eargate/store/record_shipper.h"
#include "eargate/wire/decision_json.h"
#include "eargate/wire/request_json.h"

namespace eargate::server {

using core::StrAppend;
using core::StrCat;

namespace {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One request parser per thread, rebuilt when the serving state changes (it refers to the
// state's people registry). Holding the StatePtr keeps that registry alive.
wire::RequestParser& ThreadParser(const StatePtr& state) {
  thread_local StatePtr parser_state;
  thread_local std::unique_ptr<wire::RequestParser> parser;
  if (!parser || parser_state != state) {
    parser.reset();
    parser_state = state;
    parser = std::make_unique<wire::RequestParser>(state->policy->data(), state->people.get());
  }
  return *parser;
}


}  // namespace

void AppendError(std::string_view type, std::string_view code, std::string_view message,
                 std::string* out) {
  out->append("{\"error\":{\"type\":");
  core::AppendJsonString(type, out);
  out->append(",\"code\":");
  core::AppendJsonString(code, out);
  out->append(",\"message\":");
  core::AppendJsonString(message, out);
  out->append("}}");
}

std::string_view BearerToken(std::string_view authorization) {
  authorization = core::StripWhitespace(authorization);
  if (authorization.size() < 7) return {};
  std::string_view scheme = authorization.substr(0, 7);
  static constexpr std::string_view kBearer = "bearer ";
  for (size_t i = 0; i < 7; ++i) {
    char c = scheme[i];
    if (c >= 'A' && c <= 'Z') c += 32;
    if (c != kBearer[i]) return {};
  }
  return core::StripWhitespace(authorization.substr(7));
}

namespace {
std::atomic<uint64_t> g_next_instance{1};
}  // namespace

Gateway::Gateway(const Config& config, Metrics* metrics, const core::Clock* clock)
    : config_(config), metrics_(metrics), clock_(clock), instance_(g_next_instance.fetch_add(1)) {}

const StatePtr& Gateway::state() const {
  thread_local uint64_t cached_instance = 0;
  thread_local uint64_t cached_generation = 0;
  thread_local StatePtr cached;
  uint64_t gen = generation_.load(std::memory_order_acquire);
  if (cached_instance != instance_ || cached_generation != gen || !cached) {
    cached = state_.load(std::memory_order_acquire);
    cached_instance = instance_;
    cached_generation = gen;
  }
  return cached;
}

Gateway::~Gateway() {
  registry_watcher_.reset();  // its thread calls RequestRegistryReload
  StopWatcher();
  StopShipping();
}

void Gateway::StopShipping() {
  {
    std::lock_guard<std::mutex> lock(ship_mu_);
    ship_stop_ = true;
  }
  ship_cv_.notify_one();
  if (shipper_.joinable()) shipper_.join();
}

// Copies the log's new records to the store every audit.ship_interval_ms (and once more when
// stopping). A failure is logged and counted and retried next time: the log keeps the records,
// and the shipper resumes after the highest seq the store holds. The thread is a background one
// (SCHED_IDLE): serving decisions comes first, and a saturated node's shipping lags (the store's
// copy is for search; /metrics shows the lag) and catches up when load falls.
void Gateway::ShipLoop(std::string node) {
  core::SetThreadName("eg-ship");
  if (!core::LowerThreadPriority()) {
    Log(LogLevel::kWarn, "audit: cannot lower the shipping thread's priority; it competes with serving");
  }
  std::unique_ptr<store::RecordShipper> shipper;
  bool failing = false;
  bool more = false;  // the last pass stopped at its limit: the next one starts at once
  for (bool last = false; !last;) {
    {
      std::unique_lock<std::mutex> lock(ship_mu_);
      if (!more) {
        ship_cv_.wait_for(lock, std::chrono::milliseconds(config_.audit.ship_interval_ms),
                          [&] { return ship_stop_; });
      }
      last = ship_stop_;
    }
    more = false;
    absl::Status st;
    if (!shipper) {
      auto opened = store::RecordShipper::Open(config_.store.url, node);
      if (opened.ok()) shipper = std::move(*opened);
      else st = opened.status();
    }
    if (shipper) {
      // A pass ships at most kShipPass records, so that stopping (the last pass) waits for
      // one pass, not for a backlog this idle-priority thread built up under load.
      constexpr uint64_t kShipPass = 100000;
      auto shipped = shipper->ShipOnce(config_.audit.dir, 1000, kShipPass);
      if (shipped.ok()) {
        shipped_seq_.store(shipped->last_seq, std::memory_order_relaxed);
        shipped_records_.fetch_add(shipped->shipped, std::memory_order_relaxed);
        more = shipped->more;
      } else {
        st = shipped.status();
      }
    }
    if (!st.ok()) {
      metrics_->CountFailure(Failure::kAuditShip);
      if (!failing) Log(LogLevel::kError, StrCat("audit: shipping records to the store failed (retrying): ", std::string(st.message())));
      failing = true;
      if (st.code() != absl::StatusCode::kFailedPrecondition) shipper.reset();  // reconnect next time
    } else if (failing) {
      Log(LogLevel::kInfo, "audit: shipping records to the store works again");
      failing = false;
    }
  }
}

namespace {

// A run's findings named one by one, in the operator's log and in the store's summary.
constexpr size_t kNamedFindings = 20;

// What a background verification of the decision log found, for the operator's log.
void LogVerifyRun(const store::LogWatch::Run& run) {
  if (!run.report) {
    Log(LogLevel::kError, StrCat("audit: the background verification could not read the log: ",
                                 std::string(run.status.message())));
    return;
  }
  const store::VerifyReport& r = *run.report;
  for (const std::string& finding : run.Findings(kNamedFindings))
    Log(LogLevel::kError, StrCat("audit: TAMPERED ", finding));
  if (run.copy) {
    Log(run.copy->faithful() ? LogLevel::kInfo : LogLevel::kError,
        StrCat("audit: the store's copy of this node's records: ",
               run.copy->faithful() ? "faithful: " : "differs: ", run.copy->rows_checked,
               " rows compared with the log, shipped up to seq ", run.copy->last_shipped,
               run.copy->faithful() ? "" : StrCat(", ", run.copy->differing, " differences")));
  } else if (!run.copy_status.ok()) {
    Log(LogLevel::kWarn, StrCat("audit: the store's copy of this node's records could not be compared: ",
                                std::string(run.copy_status.message())));
  }
  const std::string what =
      StrCat(r.records, " records in ", r.segments, " segments, last seq ", r.last_seq, ", ",
             r.checkpoints_checked, " checkpoints checked, ", r.indexes_checked,
             " segment indexes checked, ", r.indexes_written, " written, ",
             absl::FormatDuration(absl::Trunc(run.finished - run.started, absl::Milliseconds(1))),
             " (paused ", absl::FormatDuration(absl::Trunc(run.paused, absl::Milliseconds(1))), ")");
  if (r.intact()) {
    Log(LogLevel::kInfo, StrCat("audit: background verification: intact: ", what));
  } else {
    Log(LogLevel::kError, StrCat("audit: background verification: TAMPERED: ", r.problems.size(),
                                 " problems", r.problems.size() > kNamedFindings ? " (the first 20 named above)" : "",
                                 "; ", what, "; run `eargate audit verify` for the whole report"));
  }
  if (!run.status.ok())
    Log(LogLevel::kWarn, StrCat("audit: background verification: ", std::string(run.status.message())));
}

// The run's summary in the store (audit_verifications), for the fleet's view of it.
void RecordVerification(store::Store* st, const std::string& node, const store::LogWatch::Run& run) {
  store::Store::Verification v;
  v.node = node;
  v.started_at = absl::ToUnixSeconds(run.started);
  v.finished_at = absl::ToUnixSeconds(run.finished);
  v.intact = run.intact();
  if (run.report) {
    v.records = run.report->records;
    v.last_seq = run.report->last_seq;
    v.problems = run.report->problems.size();
  }
  v.findings = run.Findings(kNamedFindings);
  if (run.copy) v.copy_differences = run.copy->differing;
  if (!run.status.ok()) v.error = std::string(run.status.message());
  if (!run.copy_status.ok())
    v.error = StrCat(v.error, v.error.empty() ? "" : "; ", "store copy: ", std::string(run.copy_status.message()));
  if (absl::Status s = st->RecordVerification(v); !s.ok())
    Log(LogLevel::kWarn, StrCat("audit: the verification's summary could not be stored: ", std::string(s.message())));
}

// A connection to the store (store.url); an error names the setting.
absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const Config& config, const core::Clock* clock) {
  store::StoreOptions options;
  options.clock = clock;
  auto st = store::Store::Open(config.store.url, options);
  if (!st.ok()) return absl::Status(st.status().code(), StrCat("store.url: ", std::string(st.status().message())));
  return st;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const Config& config, Metrics* metrics,
                                                         const core::Clock* clock) {
  std::unique_ptr<Gateway> gw(new Gateway(config, metrics, clock));
  gw->started_at_ = clock->Now();
  auto trusted = geoip::CidrSet::Parse(config.trusted_proxies);
  if (!trusted.ok()) return trusted.status();
  gw->trusted_ = std::move(*trusted);
  auto data = rules::EarData::Load(config.data_dir);
  if (!data.ok()) return data.status();
  gw->data_ = std::move(*data);
  if (!config.geoip.db.empty()) {
    auto geo = geoip::GeoIpDb::Open(
        {.db_path = config.geoip.db, .anonymizer_ranges = config.geoip.anonymizer_ranges});
    if (!geo.ok()) return geo.status();
    gw->geo_ = std::move(*geo);
    Log(LogLevel::kInfo, StrCat("geo-IP database ", config.geoip.db, ": ", gw->geo_->description(),
                                ", ", gw->geo_->anonymizer_ranges(), " anonymizer ranges"));
  } else {
    Log(LogLevel::kWarn,
        "no geo-IP database configured: every client location is unknown (the policy's "
        "uncertain.location_unknown decides)");
  }
  if (!config.screening.lists.empty()) {
    gw->lists_signature_ = gw->ListsSignature();
    auto index = gw->LoadLists();
    if (!index.ok()) return index.status();
    gw->screen_index_ = std::move(*index);
  } else {
    Log(LogLevel::kWarn, "no screening lists configured: people are not screened (screening.lists)");
  }
  gw->node_ = config.audit.node;
  if (gw->node_.empty() && !config.audit.dir.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    gw->node_ = StrCat(host, ":", std::filesystem::absolute(config.audit.dir).lexically_normal().string());
  }
  if (!config.audit.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.audit.dir, ec);
    store::LogOptions opts;
    opts.durability = *store::ParseDurability(config.audit.durability);
    opts.retention_days = config.audit.retention_days;
    opts.max_segment_bytes = uint64_t{config.audit.segment_mib} << 20;
    opts.direct_io = config.audit.direct_io;
    opts.clock = clock;
    if (!config.store.url.empty()) {
      // Every checkpoint of the chain head goes to the store too, apart from the log's own
      // file (doc/audit_log_format.md §5): `eargate audit verify --store` and the background
      // verifier check the log against it.
      auto cps = OpenStore(config, clock);
      if (!cps.ok()) return cps.status();
      gw->checkpoint_store_ = std::move(*cps);
      opts.checkpoint_sink = gw->checkpoint_store_->CheckpointSinkFor(gw->node_);
    }
    auto log = store::DecisionLog::Open(config.audit.dir, opts);
    if (!log.ok()) return log.status();
    gw->audit_ = std::move(*log);
    Log(LogLevel::kInfo, StrCat("decision log ", config.audit.dir, " (", config.audit.durability, ")",
                                gw->checkpoint_store_ ? StrCat("; checkpoints also to the store as node '", gw->node_, "'") : ""));
    store::LogWatch::Options watch;
    watch.dir = config.audit.dir;
    watch.every = config.audit.verify_interval_minutes == 0
                      ? absl::InfiniteDuration()
                      : absl::Minutes(config.audit.verify_interval_minutes);
    if (store::Store* cs = gw->checkpoint_store_.get()) {
      watch.extra_checkpoints = [cs, node = gw->node_] { return cs->ListCheckpoints(node); };
      watch.extra_checkpoints_name = StrCat("store checkpoints (node ", gw->node_, ")");
      // The records this node shipped, which fleet search reads: compared with the log.
      watch.check_copy = [url = config.store.url, node = gw->node_,
                          dir = config.audit.dir]() -> absl::StatusOr<store::RecordShipper::CopyReport> {
        auto shipper = store::RecordShipper::Open(url, node);
        if (!shipper.ok()) return shipper.status();
        return (*shipper)->CheckCopy(dir);
      };
    }
    watch.on_index = [](const absl::StatusOr<store::IndexReport>& r) {
      if (!r.ok()) {
        Log(LogLevel::kWarn, StrCat("audit: indexing closed segments for search failed: ",
                                    std::string(r.status().message())));
      } else if (r->written > 0) {
        Log(LogLevel::kInfo, StrCat("audit: indexed ", r->written, " closed segments for search"));
      }
    };
    store::Store* cs = gw->checkpoint_store_.get();
    gw->log_watch_ = std::make_unique<store::LogWatch>(
        std::move(watch), [cs, node = gw->node_](const store::LogWatch::Run& run) {
          LogVerifyRun(run);
          if (cs != nullptr) RecordVerification(cs, node, run);
        });
  } else {
    Log(LogLevel::kWarn, "no decision log (audit.dir): decisions are not recorded");
  }
  if (!config.store.url.empty()) {
    auto st = OpenStore(config, clock);
    if (!st.ok()) return st.status();
    gw->store_ = std::move(*st);
    auto fast = OpenStore(config, clock);
    if (!fast.ok()) return fast.status();
    gw->revocation_store_ = std::move(*fast);
    Log(LogLevel::kInfo, StrCat("store: ", gw->store_->backend(), " schema version ",
                                gw->store_->schema_version()));
    gw->admin_ = std::make_unique<AdminApi>(gw.get());
  }
  auto state = gw->LoadState();
  if (!state.ok()) return state.status();
  gw->state_.store(*state);
  // What was loaded, for the watcher: taken now, not when its thread starts, so that a file
  // changed between serving and the thread's first look is still seen as a change.
  gw->loaded_signature_ = gw->FileSignature(**state);
  if (gw->store_) {
    // Started after the first load: a change from here on triggers a rebuild.
    Gateway* raw = gw.get();
    auto watcher = store::RegistryWatcher::Start(
        config.store.url,
        [raw](std::string_view what) {
          Log(LogLevel::kInfo, StrCat("registry changed (", what, "); updating"));
          (void)raw->ApplyRevocations();  // at once, on this thread
          raw->RequestRegistryReload();   // the rebuild, on the reload thread
        },
        std::chrono::milliseconds(config.store.watch_poll_ms));
    if (!watcher.ok()) return watcher.status();
    gw->registry_watcher_ = std::move(*watcher);
    if (gw->audit_ && config.audit.ship_interval_ms > 0) {
      const std::string node = gw->node_;
      Log(LogLevel::kInfo, StrCat("audit: shipping records to the store as node '", node, "' every ",
                                  config.audit.ship_interval_ms, " ms"));
      gw->shipper_ = std::thread([raw, node] { raw->ShipLoop(node); });
    }
  }
  gw->generation_.fetch_add(1, std::memory_order_release);
  gw->ReportScreening(nullptr, *(*state)->people);
  Log(LogLevel::kInfo, StrCat("policy ", config.policy, " version ", (*state)->policy->version(),
                              ", ", (*state)->policy->items().size(), " items; ",
                              (*state)->people->size(), " people"));
  return gw;
}

absl::StatusOr<StatePtr> Gateway::LoadState(rules::PolicyPtr keep_policy) {
  auto state = std::make_shared<ServingState>();
  state->screen_index = screen_index_;
  if (keep_policy) {
    state->policy = std::move(keep_policy);
  } else {
    auto policy = rules::LoadPolicy(config_.policy, data_);
    if (!policy.ok()) return policy.status();
    state->policy = std::move(*policy);
  }
  PeopleRegistry::Screening screening;
  screening.index = screen_index_.get();
  screening.bands.potential = config_.screening.potential_score;
  screening.bands.confirmed = config_.screening.confirmed_score;
  StatePtr serving = state_.load();  // null at start
  if (serving) screening.previous = serving->people.get();
  if (store_ || !config_.people.empty()) {
    absl::StatusOr<PeoplePtr> people;
    if (store_) {
      // Read before the load: a change committed meanwhile is applied again later (harmless).
      auto head = store_->RegistryHead();
      if (!head.ok()) return head.status();
      state->registry_seq = *head;
      if (screen_index_) {
        auto dispositions = store_->ListScreeningDispositions();
        if (!dispositions.ok()) return dispositions.status();
        screening.dispositions = std::move(*dispositions);
      }
      people = PeopleRegistry::FromStore(*store_, screening);
    } else {
      people = PeopleRegistry::Load(config_.people, *data_, screening);
    }
    if (!people.ok()) return people.status();
    state->people = std::move(*people);
    if (screen_index_) {
      Log(LogLevel::kInfo, StrCat("screened ", state->people->size(), " people (",
                                  state->people->screened_anew(), " anew): ",
                                  state->people->screened_with_hits(), " with restricted-party hits, ",
                                  state->people->hits_cleared(), " hits cleared by reviewers"));
    }
  } else {
    state->people = std::make_shared<const PeopleRegistry>();
  }
  for (const rules::Item& item : state->policy->items()) {
    state->item_slots.push_back(metrics_->ItemSlot(item.id));
  }
  state->boundaries = impact::PolicyBoundaries(*state->policy);
  return StatePtr(std::move(state));
}

absl::Status Gateway::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  // Screening lists: rebuilt only when a list file changed (indexing takes a fraction of a
  // second per 20k entries); a refused list file refuses the whole reload.
  std::shared_ptr<const screen::Index> previous_index = screen_index_;
  std::string lists_signature = config_.screening.lists.empty() ? "" : ListsSignature();
  const bool lists_changed = lists_signature != lists_signature_;
  if (lists_changed) {
    auto index = LoadLists();
    if (!index.ok()) {
      metrics_->CountListReload(false);
      metrics_->CountReload(false);
      metrics_->CountFailure(Failure::kReloadFailed);
      Log(LogLevel::kError, StrCat("screening lists refused, still screening with the ",
                                   previous_index ? previous_index->stats().entries : 0,
                                   " entries loaded before:\n", std::string(index.status().message())));
      return index.status();
    }
    screen_index_ = std::move(*index);
  }
  absl::Status swapped = Swap(LoadState(), "reloaded");
  if (!swapped.ok()) {
    screen_index_ = std::move(previous_index);
    return swapped;
  }
  if (lists_changed) {
    lists_signature_ = std::move(lists_signature);
    metrics_->CountListReload(true);
  }
  return absl::OkStatus();
}

absl::Status Gateway::ApplyRevocations() {
  if (!revocation_store_) return absl::OkStatus();
  // Its own connection: never waits behind a rebuild's read of the whole registry. A day of
  // margin for clocks of other nodes that run behind this one.
  auto revoked = revocation_store_->RevokedApiKeysSince(started_at_ - 86400);
  if (!revoked.ok()) {
    Log(LogLevel::kError, StrCat("registry: cannot read revoked keys: ", std::string(revoked.status().message())));
    return revoked.status();
  }
  std::lock_guard<std::mutex> lock(swap_mu_);
  StatePtr current = state_.load();
  if (revoked->empty() || (current->revoked_keys && current->revoked_keys->size() == revoked->size()))
    return absl::OkStatus();  // nothing new (a revoked hash never comes back)
  auto next = std::make_shared<ServingState>(*current);
  next->revoked_keys = std::make_shared<const absl::flat_hash_set<std::string>>(revoked->begin(), revoked->end());
  state_.store(StatePtr(std::move(next)), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  Log(LogLevel::kInfo, StrCat("registry: ", revoked->size(), " keys revoked since start refused"));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<StatePtr>> Gateway::UpdateState(const StatePtr& current) {
  if (!store_) return std::optional<StatePtr>();
  auto changes = store_->RegistryChangesSince(current->registry_seq);
  if (!changes.ok()) return changes.status();
  if (changes->everyone) return std::optional<StatePtr>();
  if (changes->head == current->registry_seq) return std::optional<StatePtr>(current);  // nothing new
  auto next = std::make_shared<ServingState>(*current);
  next->registry_seq = changes->head;
  if (!changes->person_ids.empty()) {
    auto people = store_->GetPeople(changes->person_ids);
    if (!people.ok()) return people.status();
    absl::flat_hash_set<std::string> present;
    std::vector<wire::PersonRecord> changed;
    changed.reserve(people->size());
    for (const store::PersonRecord& r : *people) {
      present.insert(r.person.id);
      changed.push_back(store::ToRegistryRecord(r));
    }
    std::vector<std::string> removed;
    for (const std::string& id : changes->person_ids)
      if (!present.contains(id)) removed.push_back(id);
    PeopleRegistry::Screening screening;
    screening.index = current->screen_index.get();
    screening.bands.potential = config_.screening.potential_score;
    screening.bands.confirmed = config_.screening.confirmed_score;
    if (screening.index) {
      auto dispositions = store_->ListScreeningDispositions();
      if (!dispositions.ok()) return dispositions.status();
      screening.dispositions = std::move(*dispositions);
    }
    auto updated = PeopleRegistry::Update(*current->people, std::move(changed), removed, screening);
    if (!updated.ok()) return updated.status();
    next->people = std::move(*updated);
  }
  return std::optional<StatePtr>(StatePtr(std::move(next)));
}

absl::Status Gateway::ReloadRegistry() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  auto t0 = std::chrono::steady_clock::now();
  if (store_) {
    StatePtr current = state_.load();
    auto updated = UpdateState(current);
    if (!updated.ok()) {
      Log(LogLevel::kWarn, StrCat("registry: incremental update failed (",
                                  std::string(updated.status().message()), "); rebuilding"));
    } else if (*updated && **updated == current) {
      return absl::OkStatus();  // no change to people (e.g. an admin token)
    } else if (*updated) {
      return Swap(std::move(**updated),
                  StrCat("registry updated to change ", (**updated)->registry_seq, " in ",
                         static_cast<int64_t>(SecondsSince(t0) * 1000), " ms"));
    } else {
      Log(LogLevel::kInfo, "registry: change journal asks for a rebuild (bulk change or gap)");
    }
  }
  auto state = LoadState(state_.load()->policy);
  return Swap(std::move(state),
              StrCat("registry rebuilt in ", static_cast<int64_t>(SecondsSince(t0) * 1000), " ms"));
}

absl::Status Gateway::Swap(absl::StatusOr<StatePtr> state, std::string_view what) {
  if (!state.ok()) {
    metrics_->CountReload(false);
    metrics_->CountFailure(Failure::kReloadFailed);
    Log(LogLevel::kError, StrCat("reload refused, still serving policy ",
                                 this->state()->policy->version(), ":\n",
                                 std::string(state.status().message())));
    return state.status();
  }
  std::unique_lock<std::mutex> lock(swap_mu_);
  StatePtr next = *state;
  StatePtr current = state_.load();
  if (current && current->revoked_keys != next->revoked_keys) {
    // Revocations applied while this state was built stay in force (revoked hashes stay dead).
    auto merged = std::make_shared<ServingState>(*next);
    merged->revoked_keys = current->revoked_keys;
    next = std::move(merged);
  }
  // Hits are reported (log, metrics) before the state is served: whoever sees a decision of
  // the new registry finds its hits reported already.
  if (current) ReportScreening(current->people.get(), *next->people);
  StatePtr old = state_.exchange(next, std::memory_order_acq_rel);
  generation_.fetch_add(1, std::memory_order_release);
  lock.unlock();
  metrics_->CountReload(true);
  Log(LogLevel::kInfo, StrCat(what, ": policy ", (*state)->policy->version(), " (was ",
                              old->policy->version(), "), ", (*state)->people->size(), " people"));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const screen::Index>> Gateway::LoadLists() const {
  screen::ListSetBuilder lists;
  for (const auto& path : config_.screening.lists) {
    absl::Status s = std::filesystem::is_directory(path) ? lists.AddDirectory(path) : lists.AddFile(path);
    if (!s.ok()) return s;
  }
  auto index = screen::Index::Build(std::move(lists).Finish());
  Log(LogLevel::kInfo, StrCat("screening lists: ", index->stats().entries, " entries from ",
                              core::StrJoin(config_.screening.lists, ", "), " (indexed in ",
                              static_cast<int>(index->stats().build_seconds * 1000), " ms)"));
  return index;
}

std::string Gateway::ListsSignature() const {
  std::string sig;
  auto add = [&](const std::filesystem::path& p) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) {
      StrAppend(&sig, p.string(), ":missing;");
      return;
    }
    StrAppend(&sig, p.string(), ":", static_cast<int64_t>(st.st_mtim.tv_sec), ".",
              static_cast<int64_t>(st.st_mtim.tv_nsec), ":", static_cast<int64_t>(st.st_size), ":",
              static_cast<uint64_t>(st.st_ino), ";");
  };
  for (const std::string& path : config_.screening.lists) {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
      add(path);
      continue;
    }
    std::vector<std::filesystem::path> files;  // a file added to or removed from a folder counts
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) add(f);
  }
  return sig;
}

void Gateway::ReportScreening(const PeopleRegistry* before, const PeopleRegistry& after) {
  if (!screen_index_) return;
  constexpr uint64_t kMaxLoggedHitChanges = 1000;  // per load; the metrics count them all
  static const std::vector<screen::PartyHit> kNone;
  std::vector<screen::HitDiff> diff =
      screen::DiffHits(before ? before->screening_hits() : kNone, after.screening_hits());
  uint64_t added = 0, removed = 0, band_changed = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> served;
  for (const screen::HitDiff& d : diff) {
    if (d.change != screen::HitChange::kRemoved) {
      ++served[{d.hit.list, std::string(screen::BandName(d.hit.confirmed))}];
    }
    if (d.change == screen::HitChange::kUnchanged) continue;
    if (d.change == screen::HitChange::kNew) ++added;
    if (d.change == screen::HitChange::kRemoved) ++removed;
    if (d.change == screen::HitChange::kBandChanged) ++band_changed;
    if (added + removed + band_changed <= kMaxLoggedHitChanges) {
      Log(d.change == screen::HitChange::kRemoved ? LogLevel::kInfo : LogLevel::kWarn,
          StrCat("screening hit ", screen::HitDiffJson(d)));
    }
  }
  if (added + removed + band_changed > kMaxLoggedHitChanges) {
    Log(LogLevel::kWarn, StrCat("screening: ", added + removed + band_changed - kMaxLoggedHitChanges,
                                " more hit changes not logged (eargate lists rescreen lists them all)"));
  }
  metrics_->SetScreeningHits(std::move(served));
  metrics_->CountHitChanges(added, removed, band_changed);
  Log(LogLevel::kInfo, StrCat("screening: ", after.screening_hits().size(), " hits on ",
                              after.screened_with_hits(), " people; ", added, " new, ", removed,
                              " removed, ", band_changed, " changed band"));
}

std::string Gateway::FileSignature(const ServingState& state) const {
  std::string sig;
  auto add = [&](const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      core::StrAppend(&sig, path, ":missing;");
      return;
    }
    core::StrAppend(&sig, path, ":", static_cast<int64_t>(st.st_mtim.tv_sec), ".",
                    static_cast<int64_t>(st.st_mtim.tv_nsec), ":", static_cast<int64_t>(st.st_size),
                    ":", static_cast<uint64_t>(st.st_ino), ";");
  };
  add(config_.policy);
  for (const std::string& f : state.policy->files()) add(f);
  if (!config_.people.empty()) add(config_.people);
  if (!config_.screening.lists.empty()) sig += ListsSignature();
  return sig;
}

void Gateway::RequestReload() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    reload_requested_ = true;
  }
  watch_cv_.notify_one();
}

void Gateway::RequestRegistryReload() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    registry_changed_ = true;
  }
  watch_cv_.notify_one();
}

void Gateway::StartWatcher() {
  if (watcher_.joinable()) return;
  watcher_ = std::thread([this] { WatchLoop(); });
}

void Gateway::StopWatcher() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stop_ = true;
  }
  watch_cv_.notify_one();
  if (watcher_.joinable()) watcher_.join();
}

void Gateway::WatchLoop() {
  core::SetThreadName("eg-reload");
  std::string last = loaded_signature_;
  auto interval = std::chrono::milliseconds(config_.policy_watch_ms ? config_.policy_watch_ms : 3600000);
  for (;;) {
    bool requested = false, registry = false;
    {
      std::unique_lock<std::mutex> lock(watch_mu_);
      watch_cv_.wait_for(lock, interval,
                         [&] { return stop_ || reload_requested_ || registry_changed_; });
      if (stop_) {
        lock.unlock();
        FlushKeyUses();
        return;
      }
      requested = reload_requested_;
      registry = registry_changed_;
      reload_requested_ = false;
      registry_changed_ = false;
    }
    FlushKeyUses();
    if (registry && !requested) {
      (void)ReloadRegistry();
      continue;
    }
    std::string now = FileSignature(*state());
    if (requested || (config_.policy_watch_ms && now != last)) {
      if (!requested) Log(LogLevel::kInfo, "policy, people or screening list file changed; reloading");
      else Log(LogLevel::kInfo, "SIGHUP: reloading policy, people and changed screening lists");
      (void)Reload();
      // Signature of what is now served (or, after a refusal, of the refused files): a
      // refused reload is not retried until the files change again.
      last = FileSignature(*state());
    }
  }
}

std::optional<geoip::IpAddress> Gateway::ClientAddress(const Caller& caller) const {
  if (caller.forwarded_for.empty() || !trusted_.Contains(caller.peer)) return caller.peer;
  // Walk right to left: each hop appended the address it received from.
  std::vector<std::string_view> hops = core::Split(caller.forwarded_for, ',', /*skip_empty=*/false);
  std::optional<geoip::IpAddress> last;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    std::string_view hop = core::StripWhitespace(*it);
    auto ip = geoip::IpAddress::Parse(hop);
    if (!ip) return std::nullopt;
    last = ip;
    if (!trusted_.Contains(*ip)) return ip;
  }
  return last ? last : std::optional<geoip::IpAddress>(caller.peer);
}

void Gateway::FillLocation(const Caller& caller, core::Location* loc) {
  LocationMemo* memo = caller.location_memo;
  if (memo && memo->valid && memo->forwarded_for == caller.forwarded_for) {
    if (memo->known) {
      loc->ip = memo->ip;
      loc->ip_country = memo->ip_country;
      loc->anonymizer = memo->anonymizer;
      if (!geo_) metrics_->CountFailure(Failure::kGeoIpUnavailable);
    }
  } else {
    auto client = ClientAddress(caller);
    if (client) {
      loc->ip = client->ToString();
      if (geo_) {
        geoip::GeoResult r = geo_->Lookup(*client);
        loc->ip_country = r.country;
        loc->anonymizer = r.anonymizer;
      } else {
        metrics_->CountFailure(Failure::kGeoIpUnavailable);
      }
    }
    if (memo) {
      memo->valid = true;
      memo->forwarded_for.assign(caller.forwarded_for);
      memo->known = client.has_value();
      memo->ip = loc->ip;
      memo->ip_country = loc->ip_country;
      memo->anonymizer = loc->anonymizer;
    }
  }
  if (!caller.declared_country.empty()) {
    loc->declared = core::Country::Parse(caller.declared_country).value_or(core::Country());
  }
  if (loc->ip_country.valid()) {
    loc->country = loc->ip_country;
    loc->source = loc->declared.valid() ? core::LocationSource::kBoth : core::LocationSource::kIp;
  } else if (loc->declared.valid()) {
    loc->country = loc->declared;
    loc->source = core::LocationSource::kDeclared;
  }
}

const core::Person* Gateway::PersonForKey(const ServingState& state, std::string_view key) const {
  if (key.empty()) return nullptr;
  if (!state.revoked_keys && !store_) return state.people->FindByKey(key);
  std::string hash = PeopleRegistry::KeyHash(key);
  if (state.revoked_keys && state.revoked_keys->contains(hash)) return nullptr;
  const core::Person* p = state.people->FindByKeyHash(hash);
  if (p && store_) NoteKeyUse(hash);
  return p;
}

// Key use is recorded at minute resolution: each thread notes a key at most once a minute (the
// server also memoizes the lookup per connection), and the watcher thread writes the pending
// uses to the store (api_keys.last_used_at) on its next round.
void Gateway::NoteKeyUse(const std::string& hash) const {
  const core::Timestamp now = clock_->Now();
  thread_local absl::flat_hash_map<std::string, core::Timestamp> noted;
  thread_local uint64_t noted_instance = 0;
  if (noted_instance != instance_) {
    noted.clear();
    noted_instance = instance_;
  }
  core::Timestamp& last = noted[hash];
  if (last && now - last < 60) return;
  last = now;
  std::lock_guard<std::mutex> lock(key_use_mu_);
  pending_key_uses_[hash] = now;
}

void Gateway::FlushKeyUses() {
  absl::flat_hash_map<std::string, core::Timestamp> pending;
  {
    std::lock_guard<std::mutex> lock(key_use_mu_);
    pending.swap(pending_key_uses_);
  }
  if (pending.empty() || !store_) return;
  std::vector<std::pair<std::string, core::Timestamp>> uses(pending.begin(), pending.end());
  if (absl::Status st = store_->RecordApiKeyUses(uses); !st.ok()) {
    Log(LogLevel::kWarn, StrCat("registry: cannot record the last use of ", uses.size(), " keys: ",
                                std::string(st.message())));
    std::lock_guard<std::mutex> lock(key_use_mu_);
    for (auto& [hash, at] : uses) pending_key_uses_.try_emplace(hash, at);  // next round
  }
}

const core::Person* Gateway::Authenticate(const ServingState& state, const Caller& caller) const {
  std::string_view key = BearerToken(caller.authorization);
  if (!key.empty()) return PersonForKey(state, key);
  if (!caller.person_header.empty() && config_.trust_person_header && trusted_.Contains(caller.peer)) {
    return state.people->FindById(core::StripWhitespace(caller.person_header));
  }
  return nullptr;
}

Access Gateway::Authorize(const ServingState& state, const Caller& caller, std::string_view item,
                          core::Layer layer, core::Channel channel, std::string* record_storage) {
  Access a;
  a.policy_version = state.policy->version();
  const core::Person* person = caller.person ? *caller.person : Authenticate(state, caller);
  if (!person) {
    a.status = Access::Status::kUnauthenticated;
    return a;
  }
  a.person_id = person->id;
  if (!caller.declared_country.empty() && !core::Country::Parse(caller.declared_country)) {
    a.status = Access::Status::kBadRequest;
    a.reason = StrCat("X-Eargate-Country: not a country code '", caller.declared_country, "'");
    return a;
  }
  int item_index = state.policy->FindItem(item);
  if (item_index < 0) {
    a.status = Access::Status::kUnknownItem;
  } else {
    a.status = Access::Status::kDecided;
    a.item_id = state.policy->items()[item_index].id;
  }

  thread_local core::Request request;
  thread_local decide::Decision decision;
  request.clear();
  request.item.assign(item.data(), item.size());
  request.layer = layer;
  request.channel = channel;
  request.at = clock_->Now();
  request.person = *person;
  FillLocation(caller, &request.location);
  a.client_ip = request.location.ip;
  if (request.location.country.valid()) a.country = request.location.country.code();

  auto t0 = std::chrono::steady_clock::now();
  decide::Decide(*state.policy, request, &decision);
  double took = SecondsSince(t0);
  int slot = decision.item >= 0 && decision.item < static_cast<int>(state.item_slots.size())
                 ? state.item_slots[decision.item]
                 : -1;
  metrics_->CountDecision(decision.outcome, slot, took);
  for (const decide::Finding& f : decision.findings) metrics_->CountFinding(f.source);
  a.outcome = decision.outcome;
  a.reason = wire::DecisionReason(*state.policy, request, decision);
  a.decision_id = wire::NewDecisionId(request.at);
  a.at = request.at;
  if (audit_ && a.status == Access::Status::kDecided) {
    if (record_storage != nullptr) {
      a.record.swap(*record_storage);
      a.record.clear();
    }
    wire::AppendDecisionRecord(*state.policy, request, decision, a.decision_id, "gateway", &a.record);
  }
  // Advance notice: only when some boundary of the policy lies ahead (a few more decisions).
  if (a.status == Access::Status::kDecided && !state.boundaries.empty() &&
      state.boundaries.back() > request.at) {
    if (auto change = impact::NextChange(*state.policy, request)) {
      a.change = change->HeaderValue();
      metrics_->CountPendingChange(a.change, a.person_id);
    }
  }
  if (LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug, StrCat("decision ", a.decision_id, " person=", a.person_id, " item=", item,
                                 " ip=", a.client_ip, " country=", a.country, " -> ",
                                 core::Name(a.outcome), ": ", a.reason));
  }
  return a;
}

int Gateway::Decide(std::string_view body, std::string* out) {
  const StatePtr& state = this->state();
  wire::RequestParser& parser = ThreadParser(state);
  thread_local core::Request request;
  thread_local decide::Decision decision;
  request.clear();
  absl::Status s = parser.Parse(body, clock_->Now(), &request);
  if (!s.ok()) {
    metrics_->CountFailure(Failure::kBadRequest);
    AppendError("invalid_request_error", "bad_request", std::string(s.message()), out);
    return 400;
  }
  core::Location& loc = request.location;
  if (!loc.ip.empty() && !loc.ip_country.valid() && !loc.country.valid()) {
    if (geo_) {
      geoip::GeoResult r = geo_->Lookup(loc.ip);
      if (!r.valid_address) {
        AppendError("invalid_request_error", "bad_request",
                    StrCat("location.ip: not an IP address '", loc.ip, "'"), out);
        return 400;
      }
      loc.ip_country = r.country;
      loc.anonymizer = loc.anonymizer || r.anonymizer;
      if (r.country.valid()) {
        loc.country = r.country;
        loc.source = loc.declared.valid() ? core::LocationSource::kBoth : core::LocationSource::kIp;
      }
    } else {
      metrics_->CountFailure(Failure::kGeoIpUnavailable);
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  decide::Decide(*state->policy, request, &decision);
  double took = SecondsSince(t0);
  int slot = decision.item >= 0 && decision.item < static_cast<int>(state->item_slots.size())
                 ? state->item_slots[decision.item]
                 : -1;
  metrics_->CountDecision(decision.outcome, slot, took);
  for (const decide::Finding& f : decision.findings) metrics_->CountFinding(f.source);
  const std::string id = wire::NewDecisionId(request.at);
  wire::AppendDecisionJson(*state->policy, request, decision, id, out);
  if (audit_) {
    Access a;
    a.status = Access::Status::kDecided;
    a.decision_id = id;
    a.person_id = request.person.id;
    a.item_id = decision.item >= 0 ? std::string_view(state->policy->items()[decision.item].id)
                                   : std::string_view(request.item);
    a.at = request.at;
    a.outcome = decision.outcome;
    wire::AppendDecisionRecord(*state->policy, request, decision, id, "decide", &a.record);
    if (!AppendRecord(a)) {
      out->clear();
      AppendError("server_error", "audit_log_unavailable", "the decision could not be recorded; try again", out);
      return 503;
    }
  }
  return 200;
}

namespace {
store::LogEntry EntryOf(const Access& a) {
  store::LogEntry e;
  e.decision_id = a.decision_id;
  e.person_id = a.person_id;
  e.item = a.item_id;
  e.time = a.at;
  e.outcome = a.outcome;
  e.payload = a.record;
  return e;
}
}  // namespace

bool Gateway::AppendRecordAsync(const Access& a, store::AppendWaiter* waiter) {
  if (!audit_ || a.record.empty()) {
    waiter->result = uint64_t{0};
    return false;
  }
  return audit_->AppendAsync(EntryOf(a), waiter);
}

bool Gateway::RecordOk(const store::AppendWaiter& waiter) {
  if (waiter.result.ok()) return true;
  NoteLogFailure(waiter.result.status());
  return false;
}

bool Gateway::AppendRecord(const Access& a) {
  if (!audit_ || a.record.empty()) return true;
  auto r = audit_->Append(EntryOf(a));
  if (!r.ok()) NoteLogFailure(r.status());
  return r.ok();
}

absl::Status Gateway::AuditLogStatus() const {
  return audit_ ? audit_->status() : absl::OkStatus();
}

void Gateway::NoteLogFailure(const absl::Status& s) {
  constexpr int64_t kLogFailureEvery = 10'000'000'000;  // ns
  metrics_->CountFailure(Failure::kAuditLog);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t due = next_failure_line_ns_.load(std::memory_order_relaxed);
  if (now < due || !next_failure_line_ns_.compare_exchange_strong(due, now + kLogFailureEvery)) {
    failures_unlogged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint64_t more = failures_unlogged_.exchange(0, std::memory_order_relaxed);
  Log(LogLevel::kError,
      StrCat("decision log: ", std::string(s.message()), "; decisions are not recorded, so none is "
             "answered allow", more ? StrCat(" (", more, " more since the last such line)") : std::string()));
}

int Gateway::Screen(const Caller& caller, std::string_view body, std::string* out) {
  StatePtr state = this->state();
  if (!Authenticate(*state, caller)) {
    AppendError("invalid_request_error", "invalid_api_key", "unknown or missing API key", out);
    return 401;
  }
  if (!state->screen_index) {
    AppendError("server_error", "screening_unavailable", "no screening lists are configured (screening.lists)", out);
    return 503;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size(), true).get(doc) || !doc.is_object()) {
    AppendError("invalid_request_error", "bad_request", "body: must be a JSON object {\"name\": ...}", out);
    return 400;
  }
  std::string name, country, type;
  screen::ScreenOptions options;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return 400;
  for (auto field : obj) {
    std::string_view k = field.key;
    std::string_view v;
    if (k == "name" || k == "country" || k == "type") {
      if (field.value.get_string().get(v)) {
        AppendError("invalid_request_error", "bad_request", StrCat(k, ": must be a string"), out);
        return 400;
      }
      (k == "name" ? name : k == "country" ? country : type) = std::string(v);
    } else if (k == "limit") {
      int64_t n;
      if (field.value.get_int64().get(n) || n < 1 || n > 100) {
        AppendError("invalid_request_error", "bad_request", "limit: must be an integer in [1, 100]", out);
        return 400;
      }
      options.limit = static_cast<int>(n);
    } else {
      AppendError("invalid_request_error", "bad_request",
                  StrCat(k, ": unknown field (allowed: name, country, type, limit)"), out);
      return 400;
    }
  }
  auto query = screen::MakeQuery(std::move(name), country, type, "");
  if (!query.ok()) {
    AppendError("invalid_request_error", "bad_request", std::string(query.status().message()), out);
    return 400;
  }
  options.threshold = config_.screening.potential_score;
  *out = screen::ResultLine(*query, state->screen_index->Screen(*query, options));
  return 200;
}

int Gateway::Admin(std::string_view method, std::string_view target, const Caller& caller,
                   std::string_view body, std::string* out) {
  if (!admin_) {
    AppendError("invalid_request_error", "not_found",
                "the admin API needs a store (store.url / --store)", out);
    return 404;
  }
  return admin_->Handle(method, target, caller.authorization, body, out);
}

int Gateway::Models(const Caller& caller, std::string* out) {
  StatePtr state = this->state();
  const core::Person* person = Authenticate(*state, caller);
  if (!person) {
    AppendError("invalid_request_error", "invalid_api_key", "unknown or missing API key", out);
    return 401;
  }
  out->append("{\"object\":\"list\",\"data\":[");
  bool first = true;
  for (const rules::Item& item : state->policy->items()) {
    if (item.kind != core::ItemKind::kModel) continue;
    Access a = Authorize(*state, caller, item.id, core::Layer::kApplication, core::Channel::kApi);
    if (a.status != Access::Status::kDecided || a.outcome != core::Outcome::kAllow) continue;
    // Clients send aliases (SPEC §1); list each name the item answers to.
    std::vector<std::string_view> names = {item.id};
    for (const std::string& alias : item.aliases) names.push_back(alias);
    for (std::string_view name : names) {
      if (!first) out->push_back(',');
      first = false;
      out->append("{\"id\":");
      core::AppendJsonString(name, out);
      out->append(",\"object\":\"model\",\"created\":0,\"owned_by\":\"eargate\",\"eargate_item\":");
      core::AppendJsonString(item.id, out);
      out->append("}");
    }
  }
  out->append("]}");
  return 200;
}

}  // namespace eargate::server
