#include "eargate/impact/impact.h"

#include <gtest/gtest.h>

#include "eargate/impact/report.h"
#include "eargate/impact/scenarios.h"
#include "eargate/impact/synth.h"
#include "eargate/impact/upcoming.h"

namespace eargate::impact {
namespace {

std::shared_ptr<const rules::EarData> Data() {
  static auto d = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
  return *d;
}
rules::PolicyPtr P(const std::string& name) {
  auto p = rules::LoadPolicy(EARGATE_SOURCE_DIR "/examples/policies/" + name + ".yaml", Data());
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

// Five people with known answers under the advisory opinions (before) and the letter (after).
std::unique_ptr<wire::PeopleFile> Five() {
  auto f = wire::PeopleFile::FromText(
      R"({"id":"us-home","citizenships":["US"],"us_person":true,"location":{"country":"US"}}
{"id":"us-abroad","citizenships":["US"],"us_person":true,"location":{"country":"FR"}}
{"id":"cn-in-us","citizenships":["CN"],"location":{"country":"US"},"traffic":10}
{"id":"unknown","us_person":null,"location":{"country":"US"}}
{"id":"in-iran","citizenships":["IR"],"location":{"country":"IR"}}
)",
      "five.jsonl", *Data());
  EXPECT_TRUE(f.ok()) << f.status();
  return std::move(*f);
}

// Test that each pair's transition is exact on a small known population.
TEST(ImpactTest, KnownAnswerTransitions) {
  auto people = Five();
  ImpactOptions opt;
  opt.items = {"mythos-5"};
  opt.at = *core::ParseTime("2026-07-01T00:00:00Z");
  auto r = ComputeImpact(*P("advisory-opinions"), *P("letter"), people->records().size(),
                         [&](uint64_t i, wire::PersonRecord* out) { *out = people->records()[i]; }, opt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->people, 5u);
  EXPECT_EQ(r->pairs, 5u);
  const int kAllow = 0, kDeny = 2;
  EXPECT_EQ(r->total.count[kAllow][kAllow], 1u);  // us-home
  EXPECT_EQ(r->total.count[kAllow][kDeny], 3u);   // us-abroad, cn-in-us, unknown
  EXPECT_EQ(r->total.count[kDeny][kDeny], 1u);    // in-iran: OFAC before and after
  EXPECT_EQ(r->total.traffic[kAllow][kDeny], 12.0);
  ASSERT_EQ(r->changed.size(), 3u);
  EXPECT_EQ(r->changed[0].person, "us-abroad");
  EXPECT_EQ(r->changed[2].person, "unknown");
  EXPECT_EQ(r->changed[2].reason, "US-person status unverified");
  EXPECT_EQ(r->changed[2].restore, "verify US-person status");
  EXPECT_EQ(r->changed[1].restore, "a license or program covering deemed_export of mythos-5 to CN");
  EXPECT_EQ(r->by_driver["notice bis-2026-06-12"].Changed(), 2u);
  EXPECT_EQ(r->by_driver["missing fact: us_person"].Changed(), 1u);
  EXPECT_EQ(r->by_location["US"].Changed(), 2u);
  EXPECT_EQ(r->by_activity["deemed_export"].Changed(), 1u);
  std::string json;
  WriteImpactJson(*r, &json);
  EXPECT_NE(json.find("\"transitions\":{\"allow->allow\":1,\"allow->deny\":3,\"deny->deny\":1}"), std::string::npos) << json;
}

// Test that a person is decided on the items and channels they use, weighted by each use's
// traffic; a person without uses on every item; uses of items the after policy lacks are counted.
TEST(ImpactTest, DecidesTheUsesEachPersonHas) {
  auto f = wire::PeopleFile::FromText(
      R"({"id":"a","citizenships":["CN"],"location":{"country":"US"},"uses":[{"item":"haiku-open","channel":"web","traffic":5},{"item":"mythos-5","channel":"batch","traffic":7}]}
{"id":"b","citizenships":["CN"],"location":{"country":"US"},"uses":[{"item":"mythos-5","layer":"outputs"},{"item":"retired-model"}]}
{"id":"c","citizenships":["CN"],"location":{"country":"US"}}
)",
      "uses.jsonl", *Data());
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& recs = (*f)->records();
  ImpactOptions opt;
  opt.at = *core::ParseTime("2026-07-01T00:00:00Z");
  auto source = [&](uint64_t i, wire::PersonRecord* out) { *out = recs[i]; };
  auto r = ComputeImpact(*P("advisory-opinions"), *P("letter"), recs.size(), source, opt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->people, 3u);
  EXPECT_EQ(r->people_with_uses, 2u);
  EXPECT_EQ(r->uses_outside, 1u);                 // b's retired-model
  EXPECT_EQ(r->pairs, 6u);                        // a: 2 uses, b: 1 decided use, c: 3 items
  EXPECT_EQ(r->total.count[0][2], 3u);            // a/mythos-5 (batch), c/mythos-5, c/fable-5
  EXPECT_EQ(r->total.count[0][0], 3u);            // a/haiku-open, b/mythos-5 outputs, c/haiku-open
  EXPECT_EQ(r->total.traffic[0][2], 9.0);         // 7 (a's batch use) + 1 + 1
  EXPECT_EQ(r->by_channel["batch"].Changed(), 1u);
  EXPECT_EQ(r->by_channel["web"].Total(), 1u);
  EXPECT_EQ(r->by_channel["api"].Changed(), 2u);
  ASSERT_EQ(r->changed.size(), 3u);
  EXPECT_EQ(r->changed[0].person, "a");
  EXPECT_EQ(r->changed[0].channel, core::Channel::kBatch);
  std::string json;
  WriteImpactJson(*r, &json);
  EXPECT_NE(json.find("\"person\":\"a\",\"item\":\"mythos-5\",\"layer\":\"application\",\"channel\":\"batch\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"people_with_uses\":2,\"uses_outside\":1"), std::string::npos);

  opt.all_items = true;  // uses ignored: every person on every item
  auto all = ComputeImpact(*P("advisory-opinions"), *P("letter"), recs.size(), source, opt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->pairs, 9u);
  EXPECT_EQ(all->people_with_uses, 0u);
  EXPECT_EQ(all->total.Changed(), 6u);
}

// Test that a bad use names its field.
TEST(ImpactTest, BadUsesNameTheField) {
  auto f = wire::PeopleFile::FromText(R"({"id":"a","uses":[{"item":"mythos-5","channel":"fax"}]})" "\n", "u.jsonl", *Data());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "u.jsonl:1: uses[0].channel: must be one of api, web, app, desktop, mobile, batch (got 'fax')");
  f = wire::PeopleFile::FromText(R"({"id":"a","uses":[{"channel":"web"}]})" "\n", "u.jsonl", *Data());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "u.jsonl:1: uses[0].item: required");
  f = wire::PeopleFile::FromText(R"({"id":"a","uses":[{"item":"x","traffic":-1}]})" "\n", "u.jsonl", *Data());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "u.jsonl:1: uses[0].traffic: must be a number >= 0 (relative request volume)");
}

// Test that a program taking effect shows as deny->allow driven by what it lifts.
TEST(ImpactTest, DenyToAllowNamesWhatWasLifted) {
  auto f = wire::PeopleFile::FromText(R"({"id":"jp","citizenships":["JP"],"location":{"country":"JP"}})" "\n", "p", *Data());
  ImpactOptions opt;
  opt.items = {"mythos-5"};
  opt.at = *core::ParseTime("2026-10-01T00:00:00Z");
  auto r = ComputeImpact(*P("letter"), *P("trusted-partners"), 1,
                         [&](uint64_t i, wire::PersonRecord* out) { *out = (*f)->records()[i]; }, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total.count[2][0], 1u);
  EXPECT_EQ(r->by_driver.begin()->first, "lifted: notice bis-2026-06-12");
}

TEST(ImpactTest, UnknownItemIsAnError) {
  ImpactOptions opt;
  opt.items = {"nope"};
  auto r = ComputeImpact(*P("letter"), *P("letter"), 0, [](uint64_t, wire::PersonRecord*) {}, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()), "--items: the after policy has no item 'nope'");
}

// Test that the synthetic population is deterministic and round-trips through the people file.
TEST(SynthTest, DeterministicAndParseable) {
  Synthesizer a(*Data(), 7), b(*Data(), 7);
  std::string text;
  wire::PersonRecord ra, rb;
  int dual = 0, unknown = 0, us = 0;
  for (int i = 0; i < 2000; ++i) {
    a.Make(i, &ra);
    b.Make(i, &rb);
    std::string la, lb;
    AppendPersonJson(ra, &la);
    AppendPersonJson(rb, &lb);
    ASSERT_EQ(la, lb);
    text += la + "\n";
    dual += ra.person.citizenships.size() > 1;
    unknown += ra.person.citizenships.empty();
    us += !ra.person.citizenships.empty() && ra.person.citizenships[0].country == core::kUnitedStates;
  }
  auto f = wire::PeopleFile::FromText(text, "synth", *Data());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->records().size(), 2000u);
  // The documented shares, loosely: ~30% US nationals, ~5% unknown facts, some dual nationals.
  EXPECT_GT(us, 450);
  EXPECT_LT(us, 750);
  EXPECT_GT(unknown, 50);
  EXPECT_LT(unknown, 160);
  EXPECT_GT(dual, 20);
}

TEST(ScenariosTest, MatrixOnKnownPeople) {
  auto people = Five();
  std::vector<rules::PolicyPtr> pols = {P("advisory-opinions"), P("letter"), P("letter-foreign-persons")};
  auto m = ComputeScenarios(pols, {"advisory", "letter", "foreign"}, "mythos-5", 5,
                            [&](uint64_t i, wire::PersonRecord* out) { *out = people->records()[i]; },
                            *core::ParseTime("2026-07-01T00:00:00Z"));
  ASSERT_TRUE(m.ok()) << m.status();
  const int all = kSegmentCount;
  EXPECT_EQ(m->cells[0][all].allowed, 4u);  // everyone but the person in Iran
  EXPECT_EQ(m->cells[1][all].allowed, 1u);  // only the US person at home
  EXPECT_EQ(m->cells[2][all].allowed, 2u);  // ... and the US person abroad
  EXPECT_EQ(m->cells[2][static_cast<int>(Segment::kUsPersonAbroad)].allowed, 1u);
  std::string csv;
  WriteScenariosCsv(*m, &csv);
  EXPECT_NE(csv.find("letter,"), std::string::npos);
}

}  // namespace
}  // namespace eargate::impact

namespace eargate::impact {
namespace {

// Test that a notice taking effect later is announced to the callers it will deny, and only them.
TEST(UpcomingTest, AnnouncesTheLetterBeforeItBinds) {
  auto policy = P("letter");
  core::Request r;
  r.item = "mythos-5";
  r.at = *core::ParseTime("2026-06-01T00:00:00Z");
  core::Nationality de;
  de.country = *core::Country::Parse("DE");
  r.person.citizenships.push_back(de);
  r.location.country = *core::Country::Parse("DE");
  auto c = NextChange(*policy, r);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->HeaderValue(), "deny at 2026-06-12T00:00:00Z; notice bis-2026-06-12 takes effect");
  // A US person at home keeps access: nothing to announce.
  core::Request home = r;
  home.person.citizenships[0].country = core::kUnitedStates;
  home.location.country = core::kUnitedStates;
  EXPECT_FALSE(NextChange(*policy, home).has_value());
}

TEST(UpcomingTest, AnnouncesAProgramThatRestoresAccess) {
  auto policy = P("trusted-partners");
  core::Request r;
  r.item = "mythos-5";
  r.at = *core::ParseTime("2026-08-01T00:00:00Z");
  core::Nationality jp;
  jp.country = *core::Country::Parse("JP");
  r.person.citizenships.push_back(jp);
  r.location.country = jp.country;
  auto c = NextChange(*policy, r);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->HeaderValue(), "allow at 2026-09-01T00:00:00Z; program g7-trusted-partners takes effect");
}

}  // namespace
}  // namespace eargate::impact
