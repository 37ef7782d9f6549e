#include "eargate/core/time.h"

#include <limits>

#include <gtest/gtest.h>

namespace eargate::core {
namespace {

TEST(TimeTest, ParsesRfc3339) {
  EXPECT_EQ(ParseTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTime("2026-06-12T00:00:00Z"), 1781222400);
  EXPECT_EQ(ParseTime("2026-06-12T02:00:00+02:00"), 1781222400);
  EXPECT_EQ(ParseTime("2026-06-12T00:00:00.123Z"), 1781222400);
  EXPECT_EQ(FormatTime(1781222400), "2026-06-12T00:00:00Z");
  EXPECT_EQ(FormatTime(-86400), "1969-12-31T00:00:00Z");
  // Four-digit years only: beyond them, the nearest end (never a longer or cut string).
  EXPECT_EQ(FormatTime(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatTime(253402300800), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatTime(std::numeric_limits<Timestamp>::max()), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatTime(-62167219200), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(std::numeric_limits<Timestamp>::min()), "0000-01-01T00:00:00Z");
}

TEST(TimeTest, DatesOnlyWhenAllowed) {
  EXPECT_FALSE(ParseTime("2026-06-12").has_value());
  EXPECT_EQ(ParseTime("2026-06-12", /*allow_date=*/true), 1781222400);
}

TEST(TimeTest, RejectsImpossibleAndMalformed) {
  EXPECT_FALSE(ParseTime("2026-02-30T00:00:00Z").has_value());
  EXPECT_FALSE(ParseTime("2026-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseTime("2026-06-12T24:00:00Z").has_value());
  EXPECT_FALSE(ParseTime("2026-06-12T00:00:00").has_value());  // no zone
  EXPECT_FALSE(ParseTime("2026-06-12T00:00:00Zjunk").has_value());
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  EXPECT_TRUE(ParseTime("2024-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseTime("2023-02-29T00:00:00Z").has_value());
}

}  // namespace
}  // namespace eargate::core
