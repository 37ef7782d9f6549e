#include "eargate/screen/rescreen.h"

#include <gtest/gtest.h>

#include <string>

namespace eargate::screen {
namespace {

constexpr char kSdnOld[] =
    "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
// The next edition adds a person.
constexpr char kSdnNew[] =
    "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n"
    "35096,\"PUTIN, Vladimir Vladimirovich\",\"individual\",\"RUSSIA-EO14024\",-0- ,-0- ,-0- ,"
    "-0- ,-0- ,-0- ,-0- ,\"DOB 07 Oct 1952; nationality Russia\"\r\n";

std::shared_ptr<const Index> IndexOf(const char* sdn) {
  ListSetBuilder b;
  EXPECT_TRUE(b.AddText(sdn, "x/sdn.csv").ok());
  return Index::Build(std::move(b).Finish());
}

std::vector<Party> Registry() {
  return {{"p-bank", "Banco Nacional de Cuba", EntityType::kOrganization, std::nullopt},
          {"p-vvp", "Vladimir Putin", EntityType::kPerson, core::Country::Parse("RU")},
          {"p-clean", "Ada Lovelace", EntityType::kPerson, std::nullopt},
          {"p-noname", "", EntityType::kPerson, std::nullopt}};
}

// Test that re-screening a registry against a new list edition reports the new hit, keeps the
// old one as unchanged, and reports it removed when the entry leaves the list.
TEST(RescreenTest, DiffAcrossListEditions) {
  HitBands bands;
  auto before = ScreenParties(*IndexOf(kSdnOld), Registry(), bands);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].party_id, "p-bank");
  EXPECT_EQ(before[0].entry_id, "306");
  EXPECT_TRUE(before[0].confirmed);
  auto after = ScreenParties(*IndexOf(kSdnNew), Registry(), bands);
  ASSERT_EQ(after.size(), 2u);
  auto diff = DiffHits(before, after);
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_EQ(diff[0].change, HitChange::kUnchanged);
  EXPECT_EQ(diff[1].change, HitChange::kNew);
  EXPECT_EQ(diff[1].hit.party_id, "p-vvp");
  EXPECT_EQ(diff[1].hit.list, "us_ofac_sdn");
  EXPECT_EQ(diff[1].hit.entry_id, "35096");
  EXPECT_EQ(HitDiffJson(diff[0]),
            "{\"change\": \"unchanged\", \"party\": \"p-bank\", \"list\": \"us_ofac_sdn\", "
            "\"entry_id\": \"306\", \"listed_name\": \"BANCO NACIONAL DE CUBA\", \"score\": 1, "
            "\"band\": \"confirmed\", \"previous_score\": 1, \"previous_band\": \"confirmed\"}");
  auto back = DiffHits(after, before);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].change, HitChange::kRemoved);
  EXPECT_EQ(back[1].hit.party_id, "p-vvp");
  core::ScreeningHit h = ToScreeningHit(after[1]);
  EXPECT_EQ(h.list, core::RestrictedList::kSdn);
  EXPECT_EQ(h.entry_id, "35096");
}

// Test that a hit crossing the confirmed band is reported as a band change, not as unchanged.
TEST(RescreenTest, BandChange) {
  auto index = IndexOf(kSdnNew);
  auto potential = ScreenParties(*index, Registry(), {.potential = 0.5, .confirmed = 1.01});
  auto confirmed = ScreenParties(*index, Registry(), {.potential = 0.5, .confirmed = 0.5});
  auto diff = DiffHits(potential, confirmed);
  ASSERT_FALSE(diff.empty());
  for (const HitDiff& d : diff) {
    EXPECT_EQ(d.change, HitChange::kBandChanged) << HitDiffJson(d);
    EXPECT_FALSE(d.previous_confirmed);
  }
}

// Test that splitting the registry over threads gives the same hits in the same order.
TEST(RescreenTest, ThreadsGiveTheSameHits) {
  auto index = IndexOf(kSdnNew);
  std::vector<Party> many;
  for (int i = 0; i < 2000; ++i) {
    Party p = Registry()[i % 3];
    p.id += std::to_string(i);
    many.push_back(p);
  }
  auto one = ScreenParties(*index, many, {});
  auto four = ScreenParties(*index, many, {}, 4);
  ASSERT_EQ(one.size(), four.size());
  for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].party_id, four[i].party_id);
  EXPECT_EQ(one.size(), 2u * 667u + 0u * 666u);
}

}  // namespace
}  // namespace eargate::screen
