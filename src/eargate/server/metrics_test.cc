#include "eargate/server/metrics.h"

#include "gtest/gtest.h"

namespace eargate::server {
namespace {

// Test that counters, item slots and histograms render in the Prometheus text format.
TEST(MetricsTest, RendersFamilies) {
  Metrics m;
  int slot = m.ItemSlot("mythos-5");
  EXPECT_EQ(m.ItemSlot("mythos-5"), slot);
  EXPECT_NE(m.ItemSlot("fable-5"), slot);
  m.CountRequest(Endpoint::kAuthz, 200, 0.0003);
  m.CountRequest(Endpoint::kAuthz, 403, 0.0004);
  m.CountRequest(Endpoint::kChatCompletions, 451, 0.001);
  m.CountRequest(Endpoint::kOther, 418, 0.001);
  m.CountDecision(core::Outcome::kDeny, slot, 0.00001);
  m.CountFinding(core::Source::kNotice);
  m.CountFailure(Failure::kUpstreamTimeout);
  m.CountReload(false);
  std::string text = m.Render("sha256:abc", 7);
  for (const char* want : {
           "eargate_http_requests_total{endpoint=\"authz\",code=\"200\"} 1\n",
           "eargate_http_requests_total{endpoint=\"authz\",code=\"403\"} 1\n",
           "eargate_http_requests_total{endpoint=\"chat_completions\",code=\"451\"} 1\n",
           "eargate_http_requests_total{endpoint=\"other\",code=\"other\"} 1\n",
           "eargate_http_request_duration_seconds_bucket{endpoint=\"authz\",le=\"0.0005\"} 2\n",
           "eargate_http_request_duration_seconds_count{endpoint=\"authz\"} 2\n",
           "eargate_decisions_total{outcome=\"deny\"} 1\n",
           "eargate_item_decisions_total{item=\"mythos-5\",outcome=\"deny\"} 1\n",
           "eargate_decision_findings_total{source=\"notice\"} 1\n",
           "eargate_failures_total{kind=\"upstream_timeout\"} 1\n",
           "eargate_upstream_errors_total{kind=\"timeout\"} 1\n",
           "eargate_policy_reloads_total{result=\"refused\"} 1\n",
           "eargate_policy_info{version=\"sha256:abc\"} 1\n",
           "eargate_people_registered 7\n",
           "# TYPE eargate_decision_duration_seconds histogram\n",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want;
  }
  EXPECT_EQ(m.requests(Endpoint::kAuthz, 200), 1u);
  EXPECT_EQ(m.failures(Failure::kUpstreamTimeout), 1u);
}

// Test that the decision log's figures render as the eargate_audit_* families, seconds from
// microseconds.
TEST(MetricsTest, RendersDecisionLogFigures) {
  Metrics::DecisionLogFigures f;
  f.sync = false;
  f.appended = 20;
  f.last_seq = 1234;
  f.syncs = 3;
  f.sync_micros = 1500;
  f.max_sync_micros = 750;
  f.sync_bucket_micros = {100, 500};
  f.sync_buckets = {1, 2, 0};
  f.checkpoint_sink_errors = 2;
  f.checkpoint_sink_dropped = 5;
  f.truncated_bytes = 99;
  f.shipping = true;
  f.shipped_seq = 1200;
  f.shipped_records = 1100;
  f.up = false;
  f.disk_free_bytes = 5'000'000'000;
  f.disk_size_bytes = 8'000'000'000;
  std::string before_verified;
  Metrics::RenderDecisionLog(f, &before_verified);
  EXPECT_NE(before_verified.find("eargate_audit_verify_runs_total 0\n"), std::string::npos);
  EXPECT_EQ(before_verified.find("eargate_audit_verify_last_intact"), std::string::npos);
  f.verify_runs = 2;
  f.verified = true;
  f.verify_intact = false;
  f.verify_problems = 3;
  f.verify_records = 1234;
  f.verify_finished_unix = 1780000000;
  f.verify_seconds = 1.5;
  f.verify_copy_checked = true;
  f.verify_copy_differences = 4;
  f.index_passes = 5;
  f.indexes_written = 6;
  f.index_errors = 1;
  std::string text;
  Metrics::RenderDecisionLog(f, &text);
  for (const char* want : {
           "eargate_audit_info{durability=\"async\"} 1\n",
           "# TYPE eargate_audit_up gauge\neargate_audit_up 0\n",
           "# TYPE eargate_audit_records_total counter\neargate_audit_records_total 20\n",
           "# TYPE eargate_audit_last_seq gauge\neargate_audit_last_seq 1234\n",
           "eargate_audit_syncs_total 3\n",
           "eargate_audit_sync_seconds_total 0.0015\n",
           "eargate_audit_sync_max_seconds 0.00075\n",
           "# TYPE eargate_audit_sync_duration_seconds histogram\n"
           "eargate_audit_sync_duration_seconds_bucket{le=\"0.0001\"} 1\n"
           "eargate_audit_sync_duration_seconds_bucket{le=\"0.0005\"} 3\n"
           "eargate_audit_sync_duration_seconds_bucket{le=\"+Inf\"} 3\n"
           "eargate_audit_sync_duration_seconds_sum 0.0015\n"
           "eargate_audit_sync_duration_seconds_count 3\n",
           "eargate_audit_checkpoint_sink_errors_total 2\n",
           "eargate_audit_checkpoint_sink_dropped_total 5\n",
           "eargate_audit_truncated_bytes 99\n",
           "# TYPE eargate_audit_shipped_seq gauge\neargate_audit_shipped_seq 1200\n",
           "# TYPE eargate_audit_shipped_records_total counter\neargate_audit_shipped_records_total 1100\n",
           "# TYPE eargate_audit_disk_free_bytes gauge\neargate_audit_disk_free_bytes 5000000000\n",
           "eargate_audit_disk_size_bytes 8000000000\n",
           "# TYPE eargate_audit_verify_runs_total counter\neargate_audit_verify_runs_total 2\n",
           "# TYPE eargate_audit_index_passes_total counter\neargate_audit_index_passes_total 5\n",
           "eargate_audit_indexes_written_total 6\n",
           "eargate_audit_index_errors_total 1\n",
           "# TYPE eargate_audit_verify_last_intact gauge\neargate_audit_verify_last_intact 0\n",
           "eargate_audit_verify_last_problems 3\n",
           "eargate_audit_verify_last_records 1234\n",
           "eargate_audit_verify_last_finished_timestamp_seconds 1780000000\n",
           "eargate_audit_verify_last_duration_seconds 1.5\n",
           "# TYPE eargate_audit_verify_last_copy_differences gauge\neargate_audit_verify_last_copy_differences 4\n",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

// Test that a full item table drops new items instead of overflowing.
TEST(MetricsTest, ItemSlotsAreBounded) {
  Metrics m;
  for (int i = 0; i < Metrics::kMaxItems; ++i) ASSERT_EQ(m.ItemSlot("item-" + std::to_string(i)), i);
  EXPECT_EQ(m.ItemSlot("one-too-many"), -1);
  m.CountDecision(core::Outcome::kAllow, -1, 0.0);  // counted without an item
}

}  // namespace
}  // namespace eargate::server
