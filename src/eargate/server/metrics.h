// Gateway counters and latency histograms, rendered in the Prometheus text format (0.0.4).
//
// Every counter is a relaxed std::atomic: counting costs no lock on the request path. Item
// names get a fixed slot when a policy is installed (ItemSlot(), which takes a mutex and is
// called only at load/reload); requests count by slot. One Metrics object lives as long as
// the server. Thread-safe.
//
// Families (all prefixed eargate_):
//   http_requests_total{endpoint,code}            every answered request
//   http_request_duration_seconds{endpoint}       histogram, header received -> response written
//                                                  (proxy: until the upstream body ended)
//   decisions_total{outcome}                      every decision made (decide, authz, proxy, models)
//   decision_findings_total{source}               findings by rule source
//   item_decisions_total{item,outcome}            decisions per policy item
//   decision_duration_seconds                     histogram, engine time
//   failures_total{kind}                          each degraded path (see Failure)
//   upstream_requests_total / upstream_errors_total{kind}
//   policy_reloads_total{result}, policy_info{version}, people_registered
//   screening_reloads_total{result}               restricted-party list loads while running
//   screening_hits{list,band}                     hits in the registry being served
//   screening_hit_changes_total{change}           new / removed / band_changed hits at reloads
//   connections_active, connections_total, requests_in_flight
//   audit_* (RenderDecisionLog, when the gateway keeps a decision log): records appended,
//   last sequence number, fdatasyncs and the time spent in them, segments, checkpoints and
//   their sink errors, retention, torn bytes cut at open
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "eargate/core/types.h"

namespace eargate::server {

enum class Endpoint : uint8_t {
  kDecide, kAuthz, kChatCompletions, kCompletions, kEmbeddings, kResponses, kModels,
  kHealthz, kReadyz, kMetrics, kScreen, kAdmin, kOther,
};
inline constexpr int kEndpointCount = 13;
std::string_view Name(Endpoint e);

// Degraded paths. Each bumps failures_total{kind} and logs a line.
enum class Failure : uint8_t {
  kInternal,           // an exception or impossible state at the HTTP boundary
  kGeoIpUnavailable,   // no geo database configured/loaded: location unknown
  kUpstreamConnect,    // upstream refused / unreachable: 502
  kUpstreamTimeout,    // upstream silent past upstream.timeout_ms: 504
  kUpstreamProtocol,   // upstream sent bad HTTP or dropped mid-response: 502 / cut stream
  kClientTimeout,      // a client too slow sending its header/body: 408 / closed
  kHeaderTooLarge,     // 431
  kBodyTooLarge,       // 413
  kBadRequest,         // unparsable HTTP or JSON: 400
  kOverloaded,         // limits.max_connections reached: connection closed
  kReloadFailed,       // a new policy or people file was refused; the old one keeps serving
  kFailOpen,           // fail_open: true allowed a request the gateway could not decide
  kAuditLog,           // the decision record could not be written: the request is denied / 503
  kAuditShip,          // shipping log records to the store failed (retried; the log keeps them)
};
inline constexpr int kFailureCount = 14;
std::string_view Name(Failure f);

class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1,     2.5,   10};
  void Observe(double seconds);
  void Render(std::string_view name, std::string_view labels, std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> count_{0};
};

class Metrics {
 public:
  static constexpr int kMaxItems = 512;
  static constexpr std::array<int, 17> kCodes = {200, 204, 400, 401, 403, 404, 405, 408, 413,
                                                 415, 431, 451, 500, 502, 503, 504, 0};

  void CountRequest(Endpoint e, int status, double seconds);
  void CountDecision(core::Outcome outcome, int item_slot, double seconds);
  void CountFinding(core::Source source) {
    findings_[static_cast<int>(source)].fetch_add(1, std::memory_order_relaxed);
  }
  void CountFailure(Failure f) { failures_[static_cast<int>(f)].fetch_add(1, std::memory_order_relaxed); }
  void CountUpstreamRequest() { upstream_requests_.fetch_add(1, std::memory_order_relaxed); }
  // Advance notice: `person` will see `change` (the X-Eargate-Change value). Distinct callers
  // are counted per pending change (at most kMaxPendingChanges changes are tracked).
  void CountPendingChange(const std::string& change, std::string_view person);
  static constexpr size_t kMaxPendingChanges = 64;
  void CountReload(bool ok) { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed); }
  // Restricted-party screening: a list reload (ok or refused), the hits now served per
  // (list code, band), and the hits that changed at a reload.
  void CountListReload(bool ok) {
    (ok ? list_reloads_ok_ : list_reloads_failed_).fetch_add(1, std::memory_order_relaxed);
  }
  void SetScreeningHits(std::map<std::pair<std::string, std::string>, uint64_t> hits);
  void CountHitChanges(uint64_t added, uint64_t removed, uint64_t band_changed);
  uint64_t list_reloads(bool ok) const { return (ok ? list_reloads_ok_ : list_reloads_failed_).load(); }
  void ConnectionOpened() {
    connections_active_.fetch_add(1, std::memory_order_relaxed);
    connections_total_.fetch_add(1, std::memory_order_relaxed);
  }
  void ConnectionClosed() { connections_active_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t connections_active() const { return connections_active_.load(std::memory_order_relaxed); }
  void RequestStarted() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void RequestFinished() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  uint64_t failures(Failure f) const { return failures_[static_cast<int>(f)].load(); }
  uint64_t requests(Endpoint e, int status) const;

  // The slot for an item id (assigned on first use, stable for the process); -1 when full.
  int ItemSlot(const std::string& item_id);

  // Renders every family. `policy_version` and `people` describe what is being served.
  std::string Render(const std::string& policy_version, size_t people) const;

  // The decision log's own figures (store::DecisionLog::Stats, copied field by field so that
  // these metrics need no store), appended to `out` as the eargate_audit_* families.
  struct DecisionLogFigures {
    bool sync = true;               // durability: sync (answers wait for fdatasync) or async
    bool up = true;                 // takes records (false: it failed, and every access is denied)
    uint64_t appended = 0;          // records appended by this process
    uint64_t last_seq = 0;          // the chain's last sequence number
    uint64_t syncs = 0;             // fdatasync calls (group commits)
    uint64_t sync_micros = 0;       // time spent in them
    uint64_t max_sync_micros = 0;   // the slowest
    // Syncs by duration: sync_buckets[i] counts those of at most sync_bucket_micros[i] µs and
    // more than the bound before; one more bucket, last, for those slower than every bound.
    std::vector<uint32_t> sync_bucket_micros;
    std::vector<uint64_t> sync_buckets;
    uint64_t segments_opened = 0;
    uint64_t segments_preallocated = 0;  // of those, zero-filled ahead
    uint64_t segments_direct = 0;        // of those, written with O_DIRECT
    uint64_t checkpoints = 0;
    uint64_t checkpoint_sink_errors = 0;
    uint64_t checkpoint_sink_dropped = 0;  // never handed to a stuck store (the file has them)
    uint64_t pruned_segments = 0;
    uint64_t prune_errors = 0;
    uint64_t truncated_bytes = 0;   // torn tail cut off when the log was opened
    bool shipping = false;          // copied to the store (audit.ship_interval_ms)
    uint64_t shipped_seq = 0;       // the store's highest seq of this node's records
    uint64_t shipped_records = 0;   // records this process shipped
    int64_t disk_free_bytes = -1;   // free to the log on its filesystem (-1: unknown)
    int64_t disk_size_bytes = -1;
    // The background verification (store::LogWatch): runs finished, and the last one's
    // figures once there is one (verified: it read the log; intact: no problems).
    uint64_t verify_runs = 0;
    bool verified = false;
    bool verify_intact = false;
    uint64_t verify_problems = 0;
    uint64_t verify_records = 0;
    int64_t verify_finished_unix = 0;
    double verify_seconds = 0;
    bool verify_copy_checked = false;     // the store's copy compared (a store is configured)
    uint64_t verify_copy_differences = 0;
    // Its index passes between runs (search indexes of closed segments).
    uint64_t index_passes = 0, indexes_written = 0, index_errors = 0;
  };
  static void RenderDecisionLog(const DecisionLogFigures& f, std::string* out);

 private:
  static int CodeIndex(int status);
  std::array<std::array<std::atomic<uint64_t>, kCodes.size()>, kEndpointCount> requests_{};
  std::array<Histogram, kEndpointCount> latency_;
  std::array<std::atomic<uint64_t>, 3> decisions_{};
  std::array<std::atomic<uint64_t>, core::kSourceCount> findings_{};
  Histogram decision_latency_;
  std::array<std::array<std::atomic<uint64_t>, 3>, kMaxItems> item_decisions_{};
  mutable std::mutex items_mu_;
  std::vector<std::string> item_names_;  // guarded by items_mu_; slot -> id
  std::atomic<int> item_count_{0};
  std::array<std::atomic<uint64_t>, kFailureCount> failures_{};
  std::atomic<uint64_t> upstream_requests_{0};
  std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
  std::atomic<int64_t> connections_active_{0};
  std::atomic<uint64_t> connections_total_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> list_reloads_ok_{0}, list_reloads_failed_{0};
  std::array<std::atomic<uint64_t>, 3> hit_changes_{};  // new, removed, band_changed
  mutable std::mutex hits_mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> screening_hits_;  // guarded by hits_mu_
  mutable std::mutex pending_mu_;
  std::map<std::string, std::set<std::string>> pending_;  // guarded by pending_mu_
};

}  // namespace eargate::server
