#include "eargate/core/json.h"

#include <gtest/gtest.h>

namespace eargate::core {
namespace {

TEST(JsonTest, EscapesControlQuotesAndBadUtf8) {
  std::string out;
  AppendJsonString("a\"b\\c\n\x01 \xC3\xA9 \xFF", &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 \xC3\xA9 \xEF\xBF\xBD\"");
}

TEST(JsonTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain \xE4\xB8\xAD\xE6\x96\x87"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));          // truncated
}

}  // namespace
}  // namespace eargate::core
