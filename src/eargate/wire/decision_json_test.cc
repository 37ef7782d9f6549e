#include "eargate/wire/decision_json.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "eargate/decide/engine.h"
#include "eargate/wire/request_json.h"

namespace eargate::wire {
namespace {

rules::PolicyPtr Letter() {
  static auto data = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
  static auto p = rules::LoadPolicy(EARGATE_SOURCE_DIR "/examples/policies/letter.yaml", *data);
  return *p;
}

// Test that the output has exactly SPEC §2's fields (and our additions) with the right types,
// and matches the SPEC's worked example.
TEST(DecisionJsonTest, MatchesTheSpecExample) {
  auto policy = Letter();
  RequestParser parser(policy->data());
  core::Request r;
  ASSERT_TRUE(parser.Parse(R"({"item": "mythos-5", "layer": "application", "channel": "api",
      "served_from": "US", "at": "2026-06-13T12:00:00Z",
      "person": {"id": "cust-42", "kind": "natural", "name": "Jane Doe",
                 "citizenships": [{"country": "DE", "since": "1990-01-01"}], "us_person": null},
      "location": {"country": "DE", "source": "ip", "ip": "203.0.113.9", "anonymizer": false}})",
                           0, &r).ok());
  decide::Decision d = decide::Decide(*policy, r);
  std::string out;
  AppendDecisionJson(*policy, r, d, "dec-1", &out);
  simdjson::dom::parser jp;
  simdjson::dom::element doc = jp.parse(out).value();
  std::set<std::string> keys;
  simdjson::dom::object obj = doc.get_object().value();
  for (auto kv : obj) keys.insert(std::string(kv.key));
  EXPECT_EQ(keys, (std::set<std::string>{"decision", "reason", "item", "layer", "channel", "served_from",
                                         "person", "activities", "findings", "missing_facts", "uncertain",
                                         "policy", "decision_id", "at"}));
  EXPECT_EQ(doc["decision"].get_string().value(), "deny");
  EXPECT_EQ(doc["decision_id"].get_string().value(), "dec-1");
  EXPECT_EQ(doc["at"].get_string().value(), "2026-06-13T12:00:00Z");
  EXPECT_EQ(doc["policy"].get_string().value(), policy->version());
  auto a = doc["activities"].at(0);
  EXPECT_EQ(a["type"].get_string().value(), "export");
  EXPECT_EQ(a["destination"].get_string().value(), "DE");
  EXPECT_EQ(a["cite"].get_string().value(), "15 CFR 734.13(a)(1)");
  auto f = doc["findings"].at(0);
  EXPECT_EQ(f["source"].get_string().value(), "notice");
  EXPECT_EQ(f["rule"].get_string().value(), "bis-2026-06-12");
  EXPECT_EQ(f["activity"].get_string().value(), "export");
  EXPECT_TRUE(f["authorized_by"].is_null());
  EXPECT_EQ(f["cite"].at(0).get_string().value(), "50 U.S.C. 4817(b)(1)");
  EXPECT_EQ(f["text"].get_string().value(),
            "license required: notice bis-2026-06-12 covers mythos-5 application access exported to DE");
  EXPECT_EQ(doc["reason"].get_string().value(), f["text"].get_string().value());
}

TEST(DecisionJsonTest, EscapesHostileStrings) {
  auto policy = Letter();
  RequestParser parser(policy->data());
  core::Request r;
  ASSERT_TRUE(parser.Parse(R"({"item":"no \"such\" model\n","person":{"id":"a\"b","us_person":true},
      "location":{"country":"US"}})", 0, &r).ok());
  decide::Decision d = decide::Decide(*policy, r);
  std::string out;
  AppendDecisionJson(*policy, r, d, "x", &out);
  simdjson::dom::parser jp;
  simdjson::dom::element doc;
  ASSERT_EQ(jp.parse(out).get(doc), simdjson::SUCCESS) << out;
  EXPECT_EQ(doc["person"].get_string().value(), "a\"b");
  EXPECT_EQ(doc["reason"].get_string().value(), "unknown item 'no \"such\" model\n'");
}

// Test that decision ids are UUIDs version 7 (RFC 9562) that begin with the decision's time
// in milliseconds, its second exactly, and differ in their random bits.
TEST(DecisionJsonTest, DecisionIdsAreUuidsVersion7WithTheDecisionsTime) {
  const core::Timestamp at = 1781352000;  // 2026-06-13T12:00:00Z
  std::string a = NewDecisionId(at), b = NewDecisionId(at);
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  for (size_t i : {8, 13, 18, 23}) EXPECT_EQ(a[i], '-') << a;
  EXPECT_EQ(a[14], '7') << a;                                          // version
  EXPECT_NE(std::string_view("89ab").find(a[19]), std::string::npos) << a;  // variant 10
  const uint64_t ms = std::stoull(a.substr(0, 8) + a.substr(9, 4), nullptr, 16);
  EXPECT_EQ(ms / 1000, static_cast<uint64_t>(at)) << a;
  // Ids of later decisions sort after (the second is in the leading bits).
  EXPECT_LT(NewDecisionId(at), NewDecisionId(at + 1));
}

}  // namespace
}  // namespace eargate::wire
