#include "eargate/core/request.h"

#include <gtest/gtest.h>

namespace eargate::core {
namespace {

Nationality N(const char* c, const char* since = nullptr) {
  Nationality n;
  n.country = *Country::Parse(c);
  if (since) {
    n.since = *ParseTime(since, true);
    n.since_known = true;
  }
  return n;
}

TEST(UsPersonTest, DerivedFromCitizenshipAndResidency) {
  Person p;
  EXPECT_EQ(UsPersonStatus(p), Tristate::kUnknown);
  p.citizenships.push_back(N("DE"));
  EXPECT_EQ(UsPersonStatus(p), Tristate::kNo);
  p.permanent_residencies.push_back(N("US"));
  EXPECT_EQ(UsPersonStatus(p), Tristate::kYes);  // a green-card holder is a US person
  p.us_person = Tristate::kNo;                   // explicit facts win
  EXPECT_EQ(UsPersonStatus(p), Tristate::kNo);
}

// Test that the most recent citizenship or residency decides (15 CFR 734.13(b)).
TEST(MostRecentTest, ResidencyAcquiredLastWins) {
  Person p;
  p.citizenships.push_back(N("CN", "1990-01-01"));
  p.permanent_residencies.push_back(N("DE", "2015-03-01"));
  auto r = MostRecentNationalities(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code(), "DE");
}

TEST(MostRecentTest, UndatedFactsAreAllCandidates) {
  Person p;
  p.citizenships.push_back(N("CN", "1990-01-01"));
  p.citizenships.push_back(N("IN"));
  auto r = MostRecentNationalities(p);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].code(), "CN");
  EXPECT_EQ(r[1].code(), "IN");
  EXPECT_TRUE(MostRecentNationalities(Person()).empty());
}

}  // namespace
}  // namespace eargate::core
