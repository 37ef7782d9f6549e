#include "eargate/core/country.h"

#include <gtest/gtest.h>

namespace eargate::core {
namespace {

// Test that alpha-2 and region codes round-trip and that bad spellings are rejected.
TEST(CountryTest, ParsesAndFormats) {
  auto de = Country::Parse("DE");
  ASSERT_TRUE(de.has_value());
  EXPECT_EQ(de->code(), "DE");
  EXPECT_FALSE(de->is_region());
  auto crimea = Country::Parse("UA-43");
  ASSERT_TRUE(crimea.has_value());
  EXPECT_TRUE(crimea->is_region());
  EXPECT_EQ(crimea->code(), "UA-43");
  EXPECT_EQ(crimea->parent().code(), "UA");
  EXPECT_EQ(kUnitedStates.code(), "US");
  EXPECT_FALSE(Country::Parse("de").has_value());
  EXPECT_FALSE(Country::Parse("DEU").has_value());
  EXPECT_FALSE(Country::Parse("UA-99").has_value());
  EXPECT_FALSE(Country::Parse("").has_value());
}

TEST(CountrySetTest, MembershipAndIteration) {
  CountrySet s;
  s.Add(*Country::Parse("CN"));
  s.Add(*Country::Parse("UA-43"));
  s.Add(*Country::Parse("AD"));
  EXPECT_TRUE(s.Contains(*Country::Parse("CN")));
  EXPECT_FALSE(s.Contains(*Country::Parse("US")));
  EXPECT_FALSE(s.Contains(Country()));
  EXPECT_EQ(s.Size(), 3);
  std::string order;
  s.ForEach([&](Country c) { order += c.code() + " "; });
  EXPECT_EQ(order, "AD CN UA-43 ");
}

}  // namespace
}  // namespace eargate::core
