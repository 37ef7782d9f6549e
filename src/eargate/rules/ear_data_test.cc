#include "eargate/rules/ear_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace eargate::rules {
namespace {

using core::Country;

Country C(const char* c) { return *Country::Parse(c); }

std::shared_ptr<const EarData> Data() {
  static auto data = EarData::Load(EARGATE_SOURCE_DIR "/data");
  EXPECT_TRUE(data.ok()) << data.status();
  return *data;
}

TEST(EarDataTest, LoadsBundledTables) {
  auto d = Data();
  EXPECT_EQ(d->chart().size(), 200u);
  EXPECT_TRUE(d->IsKnownCountry(C("XK")));  // Kosovo: chart row, not ISO
  EXPECT_TRUE(d->IsKnownCountry(C("UA-43")));
  EXPECT_FALSE(d->IsKnownCountry(C("ZZ")));
  EXPECT_EQ(d->fingerprint().rfind("sha256:", 0), 0u);
}

// Test that the chart columns are read as the eCFR of 2026-09-24 has them: NS1 is blank
// exactly for Australia, Canada and the United Kingdom (15 CFR 742.4(a)(1)).
TEST(EarDataTest, Ns1BlankOnlyForAustraliaCanadaUk) {
  auto d = Data();
  const auto ns1 = ChartColumns{1} << static_cast<int>(ChartColumn::kNS1);
  std::vector<std::string> blank;
  for (const auto& row : d->chart())
    if (!(row.columns & ns1) && row.row_note.empty()) blank.push_back(row.country.code());
  EXPECT_EQ(blank, (std::vector<std::string>{"AU", "CA", "GB"}));
}

TEST(EarDataTest, GroupsAndDestinationMappings) {
  auto d = Data();
  const auto* e1 = d->FindGroup("group:E:1");
  ASSERT_NE(e1, nullptr);
  EXPECT_EQ(e1->Size(), 3);
  EXPECT_TRUE(e1->Contains(C("IR")));
  EXPECT_TRUE(d->FindGroup("B")->Contains(C("UY")));  // the corrected parser omission
  EXPECT_EQ(d->FindGroup("X:9"), nullptr);
  EXPECT_EQ(d->EarDestination(C("HK")), C("CN"));      // Hong Kong decides as China
  EXPECT_EQ(d->EarDestination(C("MO")), C("MO"));      // Macau is its own destination
  EXPECT_EQ(d->EarDestination(C("PR")), C("US"));      // a US territory
  EXPECT_EQ(d->EarDestination(C("BM")), C("GB"));      // assumption, marked unverified
  EXPECT_EQ(d->FindMapping(C("BM"))->verified, Verified::kNo);
  EXPECT_FALSE(d->EarDestination(C("AQ")).valid());    // deliberately unmapped
  EXPECT_EQ(d->EarDestination(C("UA-43")), C("UA"));
}

TEST(EarDataTest, EccnsEmbargoesCatchAllsSanctions) {
  auto d = Data();
  const Eccn* e = d->FindEccn("5D002");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->chart_columns & (ChartColumns{1} << static_cast<int>(ChartColumn::kNS1)));
  EXPECT_EQ(d->FindEccn("EAR99")->verified, Verified::kNo);
  EXPECT_NE(d->FindEccn("0C521"), nullptr);
  bool cuba = false;
  for (const auto& r : d->embargoes()) cuba |= r.section == "746.2" && r.destinations.Contains(C("CU"));
  EXPECT_TRUE(cuba);
  bool mi_e1 = false;
  for (const auto& r : d->catch_alls())
    mi_e1 |= r.section == "744.22(a)" && r.destinations.Contains(C("KP")) &&
             r.knowledge == core::Knowledge::kMilitaryIntelligence;
  EXPECT_TRUE(mi_e1);
  bool syria_ended = false;
  for (const auto& s : d->sanctions())
    syria_ended |= s.jurisdiction == C("SY") && s.in_force_until == *core::ParseTime("2025-07-01", true);
  EXPECT_TRUE(syria_ended);
}

// Test that a row naming an unknown country is an error with file:line, not a skip.
TEST(EarDataTest, UnknownCountryInARowIsAnError) {
  namespace fs = std::filesystem;
  fs::path tmp = fs::temp_directory_path() / ("eargate_data_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(EARGATE_SOURCE_DIR "/data", tmp, fs::copy_options::recursive);
  {
    std::ofstream f(tmp / "ear/country_groups.csv", std::ios::app);
    f << "ZZ,B,yes,\nDE,Q:7,yes,\n";
  }
  auto d = EarData::Load(tmp.string());
  ASSERT_FALSE(d.ok());
  std::string file = (tmp / "ear/country_groups.csv").string();
  EXPECT_EQ(std::string(d.status().message()),
            file + ":499: alpha2: unknown country 'ZZ'\n" + file + ":500: group: unknown country group 'Q:7'");
  fs::remove_all(tmp);
}

}  // namespace
}  // namespace eargate::rules
