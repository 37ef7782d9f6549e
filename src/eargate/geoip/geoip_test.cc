#include "eargate/geoip/geoip.h"

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace eargate::geoip {
namespace {

std::string BundledDb() {
  return std::string(EARGATE_SOURCE_DIR) + "/third_party/geoip/geo-whois-asn-country.mmdb";
}

std::string CountryOf(const GeoIpDb& db, const char* ip) {
  GeoResult r = db.Lookup(ip);
  return r.country.valid() ? r.country.code() : "";
}

// Test that the bundled database opens and places well-known, long-stable allocations.
TEST(GeoIpDbTest, BundledDatabaseKnowsCountries) {
  auto db = GeoIpDb::Open({.db_path = BundledDb(), .anonymizer_ranges = ""});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_NE((*db)->description().find("built"), std::string::npos);
  // Google public DNS (ARIN, US), DFN (RIPE, DE), NTT Japan's DNS (APNIC, JP).
  EXPECT_EQ(CountryOf(**db, "8.8.8.8"), "US");
  EXPECT_EQ(CountryOf(**db, "2001:4860:4860::8888"), "US");
  EXPECT_EQ(CountryOf(**db, "::ffff:8.8.8.8"), "US");
  EXPECT_EQ(CountryOf(**db, "193.174.0.1"), "DE");
  // Private, loopback and documentation ranges are nobody's country.
  EXPECT_EQ(CountryOf(**db, "127.0.0.1"), "");
  EXPECT_EQ(CountryOf(**db, "10.1.2.3"), "");
  EXPECT_EQ(CountryOf(**db, "::1"), "");
  GeoResult bad = (*db)->Lookup("not-an-ip");
  EXPECT_FALSE(bad.valid_address);
  EXPECT_FALSE(bad.country.valid());
}

// Test that a missing or corrupt database is an error, never an empty snapshot.
TEST(GeoIpDbTest, MissingOrCorruptFileIsAnError) {
  EXPECT_EQ(GeoIpDb::Open({.db_path = "/nonexistent/x.mmdb", .anonymizer_ranges = ""}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(GeoIpDb::Open(GeoIpOptions{}).status().code(), absl::StatusCode::kNotFound);
  std::string path = ::testing::TempDir() + "/geoip_test_corrupt.mmdb";
  {
    std::ofstream out(path);
    out << "this is not a maxmind database";
  }
  EXPECT_EQ(GeoIpDb::Open({.db_path = path, .anonymizer_ranges = ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::remove(path.c_str());
}

// Test that operator-listed anonymizer ranges flag addresses and keep their country.
TEST(GeoIpDbTest, AnonymizerRanges) {
  std::string ranges = ::testing::TempDir() + "/geoip_test_anon.txt";
  {
    std::ofstream out(ranges);
    out << "8.8.8.0/24\n";
  }
  auto db = GeoIpDb::Open({.db_path = BundledDb(), .anonymizer_ranges = ranges});
  ASSERT_TRUE(db.ok()) << db.status();
  GeoResult r = (*db)->Lookup("8.8.8.8");
  EXPECT_TRUE(r.anonymizer);
  EXPECT_EQ(r.country.code(), "US");
  EXPECT_FALSE((*db)->Lookup("8.8.4.4").anonymizer);
  EXPECT_EQ((*db)->anonymizer_ranges(), 1u);
  {
    std::ofstream out(ranges);
    out << "8.8.8.0/99\n";
  }
  EXPECT_FALSE(GeoIpDb::Open({.db_path = BundledDb(), .anonymizer_ranges = ranges}).ok());
  std::remove(ranges.c_str());
}

}  // namespace
}  // namespace eargate::geoip
