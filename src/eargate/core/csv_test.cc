#include "eargate/core/csv.h"

#include <gtest/gtest.h>

namespace eargate::core {
namespace {

TEST(CsvTest, QuotedFieldsCrlfAndDosEof) {
  auto rows = ParseCsv("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",-0- \r\n\x1a");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].fields, (std::vector<std::string>{"a", "b, c", "say \"hi\""}));
  EXPECT_EQ((*rows)[1].fields[0], "multi\nline");
  EXPECT_EQ((*rows)[1].line, 2);
}

TEST(CsvTest, UnterminatedQuoteNamesTheLine) {
  auto rows = ParseCsv("a,b\n\"open,c\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().message(), "line 2: unterminated quoted field");
}

TEST(CsvTest, TableRequiresColumns) {
  auto t = CsvTable::FromText("x,y\n1,2\n", "t.csv", {"x", "z"});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "t.csv:1: missing required column 'z'");
  auto ok = CsvTable::FromText("x,y\n1,2\n3\n", "t.csv", {"x", "y"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->Get(0, "y"), "2");
  EXPECT_EQ(ok->Get(1, "y"), "");
  EXPECT_EQ(ok->line(1), 3);
}

}  // namespace
}  // namespace eargate::core
