#include "eargate/server/metrics.h"

#include <cstdio>
#include <span>

#include "eargate/core/strings.h"

namespace eargate::server {

using core::StrAppend;

std::string_view Name(Endpoint e) {
  switch (e) {
    case Endpoint::kDecide: return "decide";
    case Endpoint::kAuthz: return "authz";
    case Endpoint::kChatCompletions: return "chat_completions";
    case Endpoint::kCompletions: return "completions";
    case Endpoint::kEmbeddings: return "embeddings";
    case Endpoint::kResponses: return "responses";
    case Endpoint::kModels: return "models";
    case Endpoint::kHealthz: return "healthz";
    case Endpoint::kReadyz: return "readyz";
    case Endpoint::kMetrics: return "metrics";
    case Endpoint::kScreen: return "screen";
    case Endpoint::kAdmin: return "admin";
    case Endpoint::kOther: return "other";
  }
  return "other";
}

std::string_view Name(Failure f) {
  switch (f) {
    case Failure::kInternal: return "internal";
    case Failure::kGeoIpUnavailable: return "geoip_unavailable";
    case Failure::kUpstreamConnect: return "upstream_connect";
    case Failure::kUpstreamTimeout: return "upstream_timeout";
    case Failure::kUpstreamProtocol: return "upstream_protocol";
    case Failure::kClientTimeout: return "client_timeout";
    case Failure::kHeaderTooLarge: return "header_too_large";
    case Failure::kBodyTooLarge: return "body_too_large";
    case Failure::kBadRequest: return "bad_request";
    case Failure::kOverloaded: return "overloaded";
    case Failure::kReloadFailed: return "reload_failed";
    case Failure::kFailOpen: return "fail_open";
    case Failure::kAuditLog: return "audit_log";
    case Failure::kAuditShip: return "audit_ship";
  }
  return "internal";
}

namespace {

void AppendDouble(std::string* out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%.9g", v);
  out->append(buf, n);
}

// Prometheus label values escape \, " and newline.
std::string EscapeLabel(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The _bucket (cumulative), _sum and _count lines of histogram `name`: counts[i] observations
// of at most bounds[i] (and more than the bound before), one more count, last, above them all.
void RenderHistogram(std::string_view name, std::string_view labels, std::span<const double> bounds,
                     std::span<const uint64_t> counts, double sum, std::string* out) {
  uint64_t cumulative = 0;
  std::string_view sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    StrAppend(out, name, "_bucket{", labels, sep, "le=\"");
    if (i >= bounds.size()) out->append("+Inf");
    else AppendDouble(out, bounds[i]);
    StrAppend(out, "\"} ", cumulative, "\n");
  }
  std::string lb = labels.empty() ? "" : core::StrCat("{", labels, "}");
  StrAppend(out, name, "_sum", lb, " ");
  AppendDouble(out, sum);
  StrAppend(out, "\n", name, "_count", lb, " ", cumulative, "\n");
}

}  // namespace

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Render(std::string_view name, std::string_view labels, std::string* out) const {
  std::array<uint64_t, kBounds.size() + 1> counts;
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  const double sum = sum_ns_.load(std::memory_order_relaxed) / 1e9;
  RenderHistogram(name, labels, kBounds, counts, sum, out);
}

int Metrics::CodeIndex(int status) {
  for (size_t i = 0; i + 1 < kCodes.size(); ++i) {
    if (kCodes[i] == status) return static_cast<int>(i);
  }
  return static_cast<int>(kCodes.size()) - 1;
}

void Metrics::CountRequest(Endpoint e, int status, double seconds) {
  requests_[static_cast<int>(e)][CodeIndex(status)].fetch_add(1, std::memory_order_relaxed);
  latency_[static_cast<int>(e)].Observe(seconds);
}

uint64_t Metrics::requests(Endpoint e, int status) const {
  return requests_[static_cast<int>(e)][CodeIndex(status)].load();
}

void Metrics::CountDecision(core::Outcome outcome, int item_slot, double seconds) {
  int o = static_cast<int>(outcome);
  decisions_[o].fetch_add(1, std::memory_order_relaxed);
  if (item_slot >= 0 && item_slot < kMaxItems) {
    item_decisions_[item_slot][o].fetch_add(1, std::memory_order_relaxed);
  }
  decision_latency_.Observe(seconds);
}

int Metrics::ItemSlot(const std::string& item_id) {
  std::lock_guard<std::mutex> lock(items_mu_);
  for (size_t i = 0; i < item_names_.size(); ++i) {
    if (item_names_[i] == item_id) return static_cast<int>(i);
  }
  if (item_names_.size() >= kMaxItems) return -1;
  item_names_.push_back(item_id);
  item_count_.store(static_cast<int>(item_names_.size()));
  return static_cast<int>(item_names_.size()) - 1;
}

std::string Metrics::Render(const std::string& policy_version, size_t people) const {
  std::string out;
  out.reserve(16384);
  auto help = [&](std::string_view name, std::string_view type, std::string_view text) {
    StrAppend(&out, "# HELP ", name, " ", text, "\n# TYPE ", name, " ", type, "\n");
  };
  help("eargate_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
  for (int e = 0; e < kEndpointCount; ++e) {
    for (size_t c = 0; c < kCodes.size(); ++c) {
      uint64_t v = requests_[e][c].load(std::memory_order_relaxed);
      if (v == 0) continue;
      StrAppend(&out, "eargate_http_requests_total{endpoint=\"", Name(static_cast<Endpoint>(e)),
                "\",code=\"");
      if (kCodes[c] == 0) out.append("other");
      else StrAppend(&out, kCodes[c]);
      StrAppend(&out, "\"} ", v, "\n");
    }
  }
  help("eargate_http_request_duration_seconds", "histogram",
       "Time from request header received to response complete.");
  for (int e = 0; e < kEndpointCount; ++e) {
    latency_[e].Render("eargate_http_request_duration_seconds",
                       core::StrCat("endpoint=\"", Name(static_cast<Endpoint>(e)), "\""), &out);
  }
  help("eargate_decisions_total", "counter", "Decisions made, by outcome.");
  for (int o = 0; o < 3; ++o) {
    StrAppend(&out, "eargate_decisions_total{outcome=\"", core::Name(static_cast<core::Outcome>(o)),
              "\"} ", decisions_[o].load(std::memory_order_relaxed), "\n");
  }
  help("eargate_decision_findings_total", "counter", "Findings in decisions, by rule source.");
  for (int s = 0; s < core::kSourceCount; ++s) {
    StrAppend(&out, "eargate_decision_findings_total{source=\"",
              core::Name(static_cast<core::Source>(s)), "\"} ",
              findings_[s].load(std::memory_order_relaxed), "\n");
  }
  help("eargate_item_decisions_total", "counter", "Decisions by policy item and outcome.");
  {
    std::lock_guard<std::mutex> lock(items_mu_);
    for (size_t i = 0; i < item_names_.size(); ++i) {
      for (int o = 0; o < 3; ++o) {
        StrAppend(&out, "eargate_item_decisions_total{item=\"", EscapeLabel(item_names_[i]),
                  "\",outcome=\"", core::Name(static_cast<core::Outcome>(o)), "\"} ",
                  item_decisions_[i][o].load(std::memory_order_relaxed), "\n");
      }
    }
  }
  help("eargate_decision_duration_seconds", "histogram", "Time spent in the decision engine.");
  decision_latency_.Render("eargate_decision_duration_seconds", "", &out);
  help("eargate_failures_total", "counter", "Degraded paths taken, by kind.");
  for (int f = 0; f < kFailureCount; ++f) {
    StrAppend(&out, "eargate_failures_total{kind=\"", Name(static_cast<Failure>(f)), "\"} ",
              failures_[f].load(std::memory_order_relaxed), "\n");
  }
  help("eargate_upstream_requests_total", "counter", "Requests forwarded to the upstream.");
  StrAppend(&out, "eargate_upstream_requests_total ", upstream_requests_.load(), "\n");
  help("eargate_upstream_errors_total", "counter", "Upstream failures, by kind.");
  for (Failure f : {Failure::kUpstreamConnect, Failure::kUpstreamTimeout, Failure::kUpstreamProtocol}) {
    StrAppend(&out, "eargate_upstream_errors_total{kind=\"", Name(f).substr(9), "\"} ",
              failures_[static_cast<int>(f)].load(), "\n");
  }
  help("eargate_pending_change_callers", "gauge",
       "Distinct callers whose outcome a pending notice, license or program will change, by change.");
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    for (const auto& [change, people] : pending_) {
      std::string label;
      for (char ch : change) {
        if (ch == '"' || ch == '\\') label.push_back('\\');
        label.push_back(ch == '\n' ? ' ' : ch);
      }
      StrAppend(&out, "eargate_pending_change_callers{change=\"", label, "\"} ", people.size(), "\n");
    }
  }
  help("eargate_policy_reloads_total", "counter", "Policy/people reloads, by result.");
  StrAppend(&out, "eargate_policy_reloads_total{result=\"ok\"} ", reloads_ok_.load(), "\n");
  StrAppend(&out, "eargate_policy_reloads_total{result=\"refused\"} ", reloads_failed_.load(), "\n");
  help("eargate_screening_reloads_total", "counter", "Restricted-party list reloads, by result.");
  StrAppend(&out, "eargate_screening_reloads_total{result=\"ok\"} ", list_reloads_ok_.load(), "\n");
  StrAppend(&out, "eargate_screening_reloads_total{result=\"refused\"} ", list_reloads_failed_.load(), "\n");
  {
    std::lock_guard<std::mutex> lock(hits_mu_);
    help("eargate_screening_hits", "gauge", "Restricted-party hits in the registry served, by list and band.");
    for (const auto& [key, n] : screening_hits_) {
      StrAppend(&out, "eargate_screening_hits{list=\"", EscapeLabel(key.first), "\",band=\"",
                EscapeLabel(key.second), "\"} ", n, "\n");
    }
  }
  help("eargate_screening_hit_changes_total", "counter",
       "Screening hits that appeared, disappeared or changed band at a reload.");
  StrAppend(&out, "eargate_screening_hit_changes_total{change=\"new\"} ", hit_changes_[0].load(), "\n");
  StrAppend(&out, "eargate_screening_hit_changes_total{change=\"removed\"} ", hit_changes_[1].load(), "\n");
  StrAppend(&out, "eargate_screening_hit_changes_total{change=\"band_changed\"} ", hit_changes_[2].load(), "\n");
  help("eargate_policy_info", "gauge", "The policy version being served (value 1).");
  StrAppend(&out, "eargate_policy_info{version=\"", EscapeLabel(policy_version), "\"} 1\n");
  help("eargate_people_registered", "gauge", "People in the registry.");
  StrAppend(&out, "eargate_people_registered ", people, "\n");
  help("eargate_connections_active", "gauge", "Open client connections.");
  StrAppend(&out, "eargate_connections_active ", connections_active_.load(), "\n");
  help("eargate_connections_total", "counter", "Client connections accepted.");
  StrAppend(&out, "eargate_connections_total ", connections_total_.load(), "\n");
  help("eargate_requests_in_flight", "gauge", "Requests being processed.");
  StrAppend(&out, "eargate_requests_in_flight ", in_flight_.load(), "\n");
  return out;
}

void Metrics::RenderDecisionLog(const DecisionLogFigures& f, std::string* out) {
  auto family = [&](std::string_view name, std::string_view type, std::string_view text,
                    auto value) {
    StrAppend(out, "# HELP ", name, " ", text, "\n# TYPE ", name, " ", type, "\n", name, " ",
              value, "\n");
  };
  StrAppend(out, "# HELP eargate_audit_info The decision log's durability (value 1).\n",
            "# TYPE eargate_audit_info gauge\neargate_audit_info{durability=\"",
            f.sync ? "sync" : "async", "\"} 1\n");
  family("eargate_audit_up", "gauge",
         "1 while the decision log takes records; 0 once it failed (every access is denied).",
         f.up ? 1 : 0);
  family("eargate_audit_records_total", "counter", "Decision-log records appended by this process.",
         f.appended);
  family("eargate_audit_last_seq", "gauge", "Sequence number of the chain's last record.", f.last_seq);
  family("eargate_audit_syncs_total", "counter", "fdatasync calls on log segments (group commits).",
         f.syncs);
  family("eargate_audit_sync_seconds_total", "counter",
         "Time spent in those syncs (for O_DIRECT segments: the records' write and the fdatasync).",
         static_cast<double>(f.sync_micros) / 1e6);
  family("eargate_audit_sync_max_seconds", "gauge", "The slowest sync since start.",
         static_cast<double>(f.max_sync_micros) / 1e6);
  if (!f.sync_buckets.empty() && f.sync_buckets.size() == f.sync_bucket_micros.size() + 1) {
    StrAppend(out, "# HELP eargate_audit_sync_duration_seconds Those syncs by duration: the "
                   "disk's latency, which sync-mode answers wait for.\n"
                   "# TYPE eargate_audit_sync_duration_seconds histogram\n");
    std::vector<double> bounds;
    for (uint32_t us : f.sync_bucket_micros) bounds.push_back(us / 1e6);
    RenderHistogram("eargate_audit_sync_duration_seconds", "", bounds, f.sync_buckets,
                    static_cast<double>(f.sync_micros) / 1e6, out);
  }
  family("eargate_audit_segments_opened_total", "counter", "Log segments opened for writing (the one in use at start, then rotations).",
         f.segments_opened);
  family("eargate_audit_segments_preallocated_total", "counter",
         "Of those, segments that were zero-filled ahead (their syncs write no inode).",
         f.segments_preallocated);
  family("eargate_audit_segments_direct_total", "counter",
         "Of those, segments written with O_DIRECT (past the page cache).", f.segments_direct);
  family("eargate_audit_checkpoints_total", "counter", "Chain-head checkpoints written.",
         f.checkpoints);
  family("eargate_audit_checkpoint_sink_errors_total", "counter",
         "Checkpoints the store (checkpoint sink) refused.", f.checkpoint_sink_errors);
  family("eargate_audit_checkpoint_sink_dropped_total", "counter",
         "Checkpoints never handed to the store: more than 4096 waited for it (the file has them).",
         f.checkpoint_sink_dropped);
  family("eargate_audit_pruned_segments_total", "counter", "Segments deleted by retention.",
         f.pruned_segments);
  family("eargate_audit_prune_errors_total", "counter",
         "Retention passes refused (a damaged old segment; nothing deleted).", f.prune_errors);
  family("eargate_audit_truncated_bytes", "gauge",
         "Bytes of a torn tail dropped (cut off, or zeroed in a zero-filled segment) when the log was opened (after a crash).",
         f.truncated_bytes);
  if (f.shipping) {
    family("eargate_audit_shipped_seq", "gauge",
           "Highest seq of this node's records in the store after the last ship: "
           "eargate_audit_last_seq minus this is what search across the fleet does not see yet.",
           f.shipped_seq);
    family("eargate_audit_shipped_records_total", "counter",
           "Records this process copied to the store.", f.shipped_records);
  }
  if (f.disk_free_bytes >= 0) {
    family("eargate_audit_disk_free_bytes", "gauge",
           "Bytes free to the decision log on its filesystem: at zero every access is denied.",
           f.disk_free_bytes);
    family("eargate_audit_disk_size_bytes", "gauge", "Size of the decision log's filesystem.",
           f.disk_size_bytes);
  }
  family("eargate_audit_index_passes_total", "counter",
         "Hourly passes writing the search indexes of segments closed since (between verifications).",
         f.index_passes);
  family("eargate_audit_indexes_written_total", "counter",
         "Segment search indexes those passes wrote (background verifications write them too).",
         f.indexes_written);
  family("eargate_audit_index_errors_total", "counter",
         "Index passes that failed (an I/O error; searches read those segments whole meanwhile).",
         f.index_errors);
  family("eargate_audit_verify_runs_total", "counter",
         "Background verifications of the whole log finished (audit.verify_interval_minutes).",
         f.verify_runs);
  if (f.verified) {
    family("eargate_audit_verify_last_intact", "gauge",
           "1 if the last background verification found the log intact (and the store's copy of its "
           "records faithful), 0 if it found records edited, removed or reordered (GET "
           "/admin/v1/audit/verify names them).",
           f.verify_intact ? 1 : 0);
    family("eargate_audit_verify_last_problems", "gauge",
           "Problems (tampering or damage) the last background verification found.", f.verify_problems);
    family("eargate_audit_verify_last_records", "gauge",
           "Records the last background verification checked.", f.verify_records);
    family("eargate_audit_verify_last_finished_timestamp_seconds", "gauge",
           "When the last background verification finished (Unix time).", f.verify_finished_unix);
    family("eargate_audit_verify_last_duration_seconds", "gauge",
           "How long the last background verification took.", f.verify_seconds);
    if (f.verify_copy_checked) {
      family("eargate_audit_verify_last_copy_differences", "gauge",
             "Rows of this node's records in the store (fleet search's copy) that the last "
             "background verification found edited, deleted or added.",
             f.verify_copy_differences);
    }
  }
}

}  // namespace eargate::server

namespace eargate::server {

void Metrics::CountPendingChange(const std::string& change, std::string_view person) {
  std::lock_guard<std::mutex> lock(pending_mu_);
  auto it = pending_.find(change);
  if (it == pending_.end()) {
    if (pending_.size() >= kMaxPendingChanges) return;
    it = pending_.emplace(change, std::set<std::string>()).first;
  }
  if (it->second.size() < 1000000) it->second.emplace(person);
}

}  // namespace eargate::server

namespace eargate::server {

void Metrics::SetScreeningHits(std::map<std::pair<std::string, std::string>, uint64_t> hits) {
  std::lock_guard<std::mutex> lock(hits_mu_);
  screening_hits_ = std::move(hits);
}

void Metrics::CountHitChanges(uint64_t added, uint64_t removed, uint64_t band_changed) {
  hit_changes_[0].fetch_add(added, std::memory_order_relaxed);
  hit_changes_[1].fetch_add(removed, std::memory_order_relaxed);
  hit_changes_[2].fetch_add(band_changed, std::memory_order_relaxed);
}

}  // namespace eargate::server
