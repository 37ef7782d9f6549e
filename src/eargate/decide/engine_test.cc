#include "eargate/decide/engine.h"

#include <gtest/gtest.h>

#include <thread>

namespace eargate::decide {
namespace {

using core::Country;

rules::PolicyPtr Letter() {
  static auto data = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
  static auto p = rules::LoadPolicy(EARGATE_SOURCE_DIR "/examples/policies/letter.yaml", *data);
  return *p;
}

core::Request ForeignPersonAbroad() {
  core::Request r;
  r.item = "claude-mythos-5";  // an alias
  r.at = *core::ParseTime("2026-06-13T12:00:00Z");
  r.person.id = "p";
  core::Nationality n;
  n.country = *Country::Parse("CN");
  r.person.citizenships.push_back(n);
  r.location.country = *Country::Parse("DE");
  return r;
}

bool Same(const Decision& a, const Decision& b) {
  if (a.outcome != b.outcome || a.activities.size() != b.activities.size() ||
      a.findings.size() != b.findings.size() || a.missing_facts != b.missing_facts)
    return false;
  for (size_t i = 0; i < a.findings.size(); ++i)
    if (a.findings[i].source != b.findings[i].source || a.findings[i].rule != b.findings[i].rule ||
        a.findings[i].destination != b.findings[i].destination)
      return false;
  return true;
}

// Test that the engine reads facts from the request and the snapshot only.
TEST(EngineTest, ResolvesAliasesAndDecides) {
  Decision d = Decide(*Letter(), ForeignPersonAbroad());
  EXPECT_EQ(d.outcome, core::Outcome::kDeny);
  EXPECT_EQ(Letter()->items()[d.item].id, "mythos-5");
  ASSERT_EQ(d.activities.size(), 2u);
  EXPECT_EQ(d.activities[0].type, core::Activity::kExport);
  EXPECT_EQ(d.activities[1].type, core::Activity::kDeemedReexport);
  EXPECT_EQ(d.served_from, core::kUnitedStates);
}

// Test that the same request and snapshot always give the same decision, also across threads
// sharing one snapshot (the engine keeps no state).
TEST(EngineTest, DeterministicAndThreadSafe) {
  auto policy = Letter();
  const core::Request req = ForeignPersonAbroad();
  const Decision expected = Decide(*policy, req);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Decision d;
      for (int i = 0; i < 20000; ++i) {
        Decide(*policy, req, &d);
        if (!Same(d, expected)) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Test that time is an input: the same facts before the letter's effective time are allowed.
TEST(EngineTest, TimeIsAnInput) {
  core::Request req = ForeignPersonAbroad();
  req.at = *core::ParseTime("2026-06-11T00:00:00Z");
  EXPECT_EQ(Decide(*Letter(), req).outcome, core::Outcome::kAllow);
}

// Test that a reused Decision is cleared between calls.
TEST(EngineTest, ReusedDecisionIsCleared) {
  auto policy = Letter();
  Decision d;
  Decide(*policy, ForeignPersonAbroad(), &d);
  core::Request home;
  home.item = "mythos-5";
  home.at = *core::ParseTime("2026-06-13T12:00:00Z");
  home.person.us_person = core::Tristate::kYes;
  home.location.country = core::kUnitedStates;
  Decide(*policy, home, &d);
  EXPECT_EQ(d.outcome, core::Outcome::kAllow);
  EXPECT_TRUE(d.activities.empty());
  EXPECT_TRUE(d.findings.empty());
  EXPECT_EQ(d.missing_facts, 0u);
}

}  // namespace
}  // namespace eargate::decide
