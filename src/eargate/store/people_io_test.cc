// Tests of the people file formats: every bad row reported with file, line and field, and
// exact messages; CSV and JSONL describe the same person.
#include "eargate/store/people_io.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace eargate::store {
namespace {

const std::string kKey(64, 'a');

// Test that every malformed JSONL row is reported, each naming its line and field.
TEST(PeopleIoTest, JsonlErrorsNameLineAndField) {
  std::string text = absl::StrCat(
      R"({"id":"ok-1","citizenships":[{"country":"FR"}],"api_key_sha256":")", kKey, "\"}\n",
      "# a comment line\n", "{\"id\":\"p2\",\"citizenships\":[{\"country\":\"XXX\"}]}\n",
      "{\"id\":\"p3\",\"end_uses\":[\"spying\"]}\n", "{\"id\":\"p4\",\"api_key_sha256\":\"ABC\"}\n",
      "{\"id\":\"p5\",\"nickname\":\"x\"}\n",
      "{\"id\":\"p6\",\"citizenships\":[{\"country\":\"DE\",\"since\":\"1990-13-01\"}]}\n",
      "{\"id\":\"p7\"\n", "[1,2]\n", "{\"name\":\"no id\"}\n",
      "{\"id\":\"p8\",\"us_person\":\"yes\",\"location\":{\"country\":\"ZZZ\"}}\n");
  ParsedPeople p = ParsePeople(text, PeopleFormat::kJsonl, "people.jsonl");
  ASSERT_EQ(p.people.size(), 1u);
  EXPECT_EQ(p.people[0].person.id, "ok-1");
  std::vector<std::string> want = {
      "people.jsonl:3: citizenships[0].country: unknown country 'XXX'",
      "people.jsonl:4: end_uses[0]: must be one of military, military_intelligence, government, "
      "supercomputer, advanced_node_ic, nuclear, missile, chemical_biological (got 'spying')",
      "people.jsonl:5: api_key_sha256: must be 64 lower-case hex digits (the SHA-256 of the API "
      "key)",
      "people.jsonl:6: nickname: unknown field",
      "people.jsonl:7: citizenships[0].since: must be a date (YYYY-MM-DD) or RFC 3339 time",
      "people.jsonl:8: not a JSON object (The JSON document has an improper structure: missing or "
      "superfluous commas, braces, missing keys, etc.)",
      "people.jsonl:9: not a JSON object",
      "people.jsonl:10: id: missing",
      "people.jsonl:11: us_person: must be true, false or null",
      "people.jsonl:11: location.country: unknown country 'ZZZ'",
  };
  EXPECT_EQ(p.errors, want);
}

// Test duplicate ids and a key given to two people.
TEST(PeopleIoTest, Duplicates) {
  std::string text =
      absl::StrCat("{\"id\":\"a\",\"api_key_sha256\":\"", kKey, "\"}\n",
                   "{\"id\":\"b\",\"api_key_sha256\":\"", kKey, "\"}\n", "{\"id\":\"a\"}\n");
  ParsedPeople p = ParsePeople(text, PeopleFormat::kJsonl, "f");
  EXPECT_EQ(p.errors,
            (std::vector<std::string>{"f: api key aaaaaaaaaaaa... given to both 'a' and 'b'",
                                      "f: id: duplicate person 'a'"}));
}

// Test the CSV form: lists, dates, and its errors.
TEST(PeopleIoTest, Csv) {
  std::string text = absl::StrCat(
      "id,kind,name,citizenships,permanent_residencies,us_person,end_uses,api_keys_sha256\n",
      "jane,natural,\"Doe, Jane\",DE:1990-01-01;FR,US:2020-05-01,,military,", kKey, "\n",
      "bad,robot,x,DE:1990-02-30,,maybe,,\n");
  ParsedPeople p = ParsePeople(text, PeopleFormat::kCsv, "people.csv");
  ASSERT_EQ(p.people.size(), 1u);
  const auto& j = p.people[0].person;
  EXPECT_EQ(j.name, "Doe, Jane");
  ASSERT_EQ(j.citizenships.size(), 2u);
  EXPECT_TRUE(j.citizenships[0].since_known);
  EXPECT_FALSE(j.citizenships[1].since_known);
  EXPECT_EQ(j.end_uses, core::Bit(core::Knowledge::kMilitary));
  EXPECT_EQ(
      p.errors,
      (std::vector<std::string>{
          "people.csv:3: kind: must be one of natural, organization",
          "people.csv:3: citizenships[0].since: must be a date (YYYY-MM-DD) (got '1990-02-30')",
          "people.csv:3: us_person: must be true, false or empty"}));
  // CSV written and read back.
  std::string csv = PeopleCsvHeader();
  AppendPersonCsv(p.people[0], &csv);
  ParsedPeople again = ParsePeople(csv, PeopleFormat::kCsv, "out.csv");
  ASSERT_TRUE(again.errors.empty()) << again.errors[0];
  std::string a, b;
  AppendPersonJsonl(p.people[0], &a);
  AppendPersonJsonl(again.people[0], &b);
  EXPECT_EQ(a, b);
}

// Test that an unknown CSV column is an error naming the allowed ones.
TEST(PeopleIoTest, CsvUnknownColumn) {
  ParsedPeople p = ParsePeople("id,shoe_size\nx,42\n", PeopleFormat::kCsv, "p.csv");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].substr(0, 37), "p.csv:1: shoe_size: unknown column (c");
}

}  // namespace
}  // namespace eargate::store
