#include "eargate/screen/lists.h"

#include <gtest/gtest.h>

#include <string>

namespace eargate::screen {
namespace {

const std::string kSource = EARGATE_SOURCE_DIR;

constexpr char kSdn[] =
    "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
    "\"a.k.a. 'BNC'.\"\r\n"
    "35096,\"PUTIN, Vladimir Vladimirovich\",\"individual\",\"RUSSIA-EO14024] [UKRAINE-EO13660\","
    "\"President of the Russian Federation\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"
    "\"DOB 07 Oct 1952; POB Leningrad, Russia; nationality Russia; Gender Male\"\r\n\x1A";
constexpr char kAlt[] = "35096,1,\"aka\",\"PUTIN, Vladimir\",-0- \r\n";
constexpr char kAdd[] = "306,199,\"Zweierstrasse 35\",\"Zurich CH-8022\",\"Switzerland\",-0- \r\n";
constexpr char kComments[] = "35096,\"; Secondary sanctions risk: see Section 11.\"\r\n";

const Entry* Find(const ListSet& s, std::string_view id) {
  for (const Entry& e : s.entries) {
    if (e.source_id == id) return &e;
  }
  return nullptr;
}

// Test that the OFAC legacy files are recognised and joined by ent_num.
TEST(ListsTest, OfacLegacyCsv) {
  ListSetBuilder b;
  ASSERT_TRUE(b.AddText(kAlt, "x/alt.csv").ok());  // before its primary file: still joined
  ASSERT_TRUE(b.AddText(kSdn, "x/sdn.csv").ok());
  ASSERT_TRUE(b.AddText(kAdd, "x/add.csv").ok());
  ASSERT_TRUE(b.AddText(kComments, "x/sdn_comments.csv").ok());
  ListSet s = std::move(b).Finish();
  ASSERT_EQ(s.entries.size(), 2u);
  ASSERT_EQ(s.files.size(), 4u);
  EXPECT_EQ(s.files[0].format, FileFormat::kOfacAlt);
  EXPECT_EQ(s.files[1].format, FileFormat::kOfacPrimary);
  EXPECT_EQ(s.files[2].format, FileFormat::kOfacAddress);
  EXPECT_EQ(s.files[3].format, FileFormat::kOfacComments);
  const Entry* putin = Find(s, "35096");
  ASSERT_NE(putin, nullptr);
  EXPECT_EQ(putin->list, "us_ofac_sdn");
  EXPECT_EQ(putin->restricted_list, core::RestrictedList::kSdn);
  EXPECT_EQ(putin->type, EntityType::kPerson);
  EXPECT_EQ(putin->name, "PUTIN, Vladimir Vladimirovich");
  EXPECT_EQ(putin->aliases, std::vector<std::string>{"PUTIN, Vladimir"});
  EXPECT_EQ(putin->programs, (std::vector<std::string>{"RUSSIA-EO14024", "UKRAINE-EO13660"}));
  EXPECT_EQ(putin->dates_of_birth, std::vector<std::string>{"07 Oct 1952"});
  EXPECT_EQ(putin->birth_years, std::vector<int>{1952});
  ASSERT_EQ(putin->countries.size(), 1u);
  EXPECT_EQ(putin->countries[0].code(), "RU");
  EXPECT_EQ(putin->origin, "x/sdn.csv:2");
  const Entry* bnc = Find(s, "306");
  ASSERT_NE(bnc, nullptr);
  EXPECT_EQ(bnc->type, EntityType::kOrganization);
  EXPECT_EQ(bnc->aliases, std::vector<std::string>{"BNC"});  // from remarks
  ASSERT_EQ(bnc->addresses.size(), 1u);
  EXPECT_EQ(bnc->addresses[0], "Zweierstrasse 35, Zurich CH-8022, Switzerland");
  ASSERT_EQ(bnc->countries.size(), 1u);
  EXPECT_EQ(bnc->countries[0].code(), "CH");
}

// Test that cons_* files form the non-SDN list and that their aliases do not join SDN rows.
TEST(ListsTest, NonSdnConsolidated) {
  ListSetBuilder b;
  ASSERT_TRUE(b.AddText(kSdn, "sdn.csv").ok());
  ASSERT_TRUE(b.AddText("306,7,\"aka\",\"OTHER NAME\",-0- \r\n", "cons_alt.csv").ok());
  ListSet s = std::move(b).Finish();
  EXPECT_EQ(s.orphan_aliases, 1);
  EXPECT_EQ(Find(s, "306")->aliases, std::vector<std::string>{"BNC"});
}

// Test that bad rows are reported with file:line and the problem.
TEST(ListsTest, ErrorsNameFileAndLine) {
  ListSetBuilder b;
  auto st = b.AddText("1,\"A\",-0- ,\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n"
                      "2,\"B\",-0- ,\"X\"\n",
                      "lists/sdn.csv");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "lists/sdn.csv:2: expected 12 columns (OFAC sdn.csv), got 4");
  st = b.AddText("x1,\"A\",-0- ,\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n", "s.csv");
  EXPECT_FALSE(st.ok());
  st = b.AddText("hello world\n", "notes.txt");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("notes.txt:1: unrecognised list format"), std::string::npos);
  st = b.AddText("", "empty.csv");
  EXPECT_FALSE(st.ok());
  st = b.AddText("_id,name,type\n1,ACME TRADING,Entity\n", "lists/csl.csv");  // a CSL header
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "lists/csl.csv:1: CSL header lacks the column \"source\"");
  EXPECT_TRUE(std::move(b).Finish().entries.empty());  // failed files leave nothing behind
}

// Test the CSL CSV fixture (2025 format): sources map to lists, EL columns kept.
TEST(ListsTest, CslCsvSample) {
  ListSetBuilder b;
  ASSERT_TRUE(b.AddFile(kSource + "/tests/screening/csl_sample_2025-06.csv").ok());
  ListSet s = std::move(b).Finish();
  ASSERT_EQ(s.entries.size(), 13u);
  EXPECT_EQ(s.files[0].format, FileFormat::kCslCsv);
  int el = 0, uvl = 0, meu = 0, dpl = 0, sdn = 0;
  for (const Entry& e : s.entries) {
    switch (e.restricted_list) {
      case core::RestrictedList::kEntityList: {
        ++el;
        EXPECT_NE(e.license_requirement.find("For all items subject to the EAR"),
                  std::string::npos);
        EXPECT_FALSE(e.aliases.empty());
        EXPECT_EQ(e.list, "us_bis_el");
        break;
      }
      case core::RestrictedList::kUnverified: {
        ++uvl;
        ASSERT_FALSE(e.countries.empty());
        EXPECT_EQ(e.countries[0].code(), "AM");
        break;
      }
      case core::RestrictedList::kMeu: ++meu; break;
      case core::RestrictedList::kDeniedPersons: ++dpl; break;
      case core::RestrictedList::kSdn: {
        ++sdn;
        EXPECT_EQ(e.source_id, "52291");
        EXPECT_EQ(e.type, EntityType::kPerson);
        break;
      }
      case core::RestrictedList::kOther: break;
    }
  }
  EXPECT_EQ(el, 1);
  EXPECT_EQ(uvl, 1);
  EXPECT_EQ(meu, 1);
  EXPECT_EQ(dpl, 1);
  EXPECT_EQ(sdn, 1);
}

// Test that a CSL file cut off inside a quoted field keeps its complete rows and warns.
TEST(ListsTest, CslTruncatedAndRepeatedHeader) {
  const std::string header =
      "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,"
      "start_date,end_date,standard_order,license_requirement,license_policy,call_sign,"
      "vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,"
      "source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,"
      "source_information_url,ids\n";
  std::string row = "\"h1\",\"Entity List (EL) - Bureau of Industry and Security\",\"\",\"\",\"\","
                    "\"Acme Corp\",\"\",\"1 Main St, Beijing, CN\"";
  for (int i = 8; i < 29; ++i) row += ",\"\"";
  std::string text = header + header + row + "\n\"h2\",\"Entity List (EL)\",\"\",\"\",\"\",\"Cut";
  ListSetBuilder b;
  ASSERT_TRUE(b.AddText(text, "csl.csv").ok());
  ListSet s = std::move(b).Finish();
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].name, "Acme Corp");
  EXPECT_EQ(s.entries[0].countries[0].code(), "CN");
  ASSERT_EQ(s.files[0].warnings.size(), 1u);
  EXPECT_EQ(s.files[0].warnings[0].rfind("csl.csv:4: file ends inside a quoted field", 0), 0u);
}

// Test the CSL JSON form (trade.gov API shape).
TEST(ListsTest, CslJson) {
  constexpr char kJson[] = R"({"total": 2, "results": [
    {"id": "abc", "source": "Entity List (EL) - Bureau of Industry and Security",
     "name": "Beijing Example Institute", "alt_names": ["BEI", "Example Inst."],
     "addresses": [{"address": "1 Road", "city": "Beijing", "state": null,
                    "postal_code": "100000", "country": "CN"}],
     "license_requirement": "For all items subject to the EAR.",
     "license_policy": "Presumption of denial.", "programs": [], "type": null},
    {"id": "def", "entity_number": "12345", "type": "Individual",
     "source": "Specially Designated Nationals (SDN) - Treasury Department",
     "name": "DOE, John", "programs": ["SDGT"], "dates_of_birth": "1970",
     "nationalities": ["IR"], "alt_names": null}]})";
  ListSetBuilder b;
  ASSERT_TRUE(b.AddText(kJson, "consolidated.json").ok());
  ListSet s = std::move(b).Finish();
  ASSERT_EQ(s.entries.size(), 2u);
  const Entry& el = s.entries[0];
  EXPECT_EQ(el.restricted_list, core::RestrictedList::kEntityList);
  EXPECT_EQ(el.source_id, "abc");
  EXPECT_EQ(el.aliases, (std::vector<std::string>{"BEI", "Example Inst."}));
  EXPECT_EQ(el.addresses, std::vector<std::string>{"1 Road, Beijing, 100000, CN"});
  EXPECT_EQ(el.license_policy, "Presumption of denial.");
  const Entry& sdn = s.entries[1];
  EXPECT_EQ(sdn.source_id, "12345");
  EXPECT_EQ(sdn.type, EntityType::kPerson);
  EXPECT_EQ(sdn.birth_years, std::vector<int>{1970});
  EXPECT_EQ(sdn.countries[0].code(), "IR");
  ListSetBuilder bad;
  auto st = bad.AddText(R"({"results": [{"source": "x"}]})", "c.json");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "c.json: results[0]: field \"name\" missing or empty");
}

// Test the BIS DPL tab-separated file.
TEST(ListsTest, BisDpl) {
  constexpr char kDpl[] =
      "\"Name\"\t\"Street_Address\"\t\"City\"\t\"State\"\t\"Country\"\t\"Postal_Code\"\t"
      "\"Effective_Date\"\t\"Expiration_Date\"\t\"Standard_Order\"\t\"Last_Update\"\t\"Action\"\t"
      "\"FR_Citation\"\r\n"
      "\"AARON ABRAHAM VILLA\"\t\"3415 RIVERA AVENUE\"\t\"EL PASO\"\t\"TX\"\t\"US\"\t\"79905\"\t"
      "\"08/24/2022\"\t\"01/14/2026\"\t\"Y\"\t\"2022-08-29\"\t\"F.R. NOTICE ADDED\"\t"
      "\"87 F.R. 52741 8/29/2022\"\r\n";
  ListSetBuilder b;
  ASSERT_TRUE(b.AddText(kDpl, "dpl.txt").ok());
  ListSet s = std::move(b).Finish();
  ASSERT_EQ(s.entries.size(), 1u);
  const Entry& e = s.entries[0];
  EXPECT_EQ(e.list, "us_bis_dpl");
  EXPECT_EQ(e.restricted_list, core::RestrictedList::kDeniedPersons);
  EXPECT_EQ(e.addresses[0], "3415 RIVERA AVENUE, EL PASO, TX, 79905, US");
  EXPECT_EQ(e.countries[0].code(), "US");
  EXPECT_EQ(e.source_id.rfind("dpl-", 0), 0u);
  EXPECT_EQ(e.source_id.size(), 16u);
}

// Test that every bundled list file loads, with the expected lists present.
TEST(ListsTest, BundledDataLoads) {
  ListSetBuilder b;
  ASSERT_TRUE(b.AddDirectory(kSource + "/data/screening").ok());
  ListSet s = std::move(b).Finish();
  EXPECT_EQ(s.files.size(), 10u);
  EXPECT_EQ(s.orphan_aliases, 0);
  int el = 0, sdn = 0, dpl = 0;
  for (const Entry& e : s.entries) {
    el += e.restricted_list == core::RestrictedList::kEntityList;
    sdn += e.restricted_list == core::RestrictedList::kSdn;
    dpl += e.restricted_list == core::RestrictedList::kDeniedPersons;
  }
  EXPECT_EQ(el, 919);
  EXPECT_EQ(sdn, 8976);
  EXPECT_EQ(dpl, 665);
  for (const FileReport& f : s.files) EXPECT_TRUE(f.warnings.empty()) << f.path;
}

TEST(ListsTest, Citations) {
  EXPECT_EQ(Citation(core::RestrictedList::kEntityList), "15 CFR 744.11; Supp. 4 to Part 744");
  EXPECT_EQ(Citation(core::RestrictedList::kDeniedPersons), "15 CFR 736.2(b)(4)");
  EXPECT_EQ(Citation(core::RestrictedList::kSdn), "31 CFR 501 (SDN)");
  EXPECT_EQ(Citation(core::RestrictedList::kUnverified), "15 CFR 744.15");
  EXPECT_EQ(Citation(core::RestrictedList::kMeu), "Supp. 7 to Part 744");
  EXPECT_EQ(Citation(core::RestrictedList::kOther), "");
}

}  // namespace
}  // namespace eargate::screen
