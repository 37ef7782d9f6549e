// Tests of the people file formats: every bad row reported with file, line and field, and
// exact messages; CSV and JSONL describe the same person.
#include "eargate/store/people_io.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace eargate::store {
namespace {

const rules::EarData& Data() {
  static auto d = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
  return **d;
}

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
      "{\"id\":\"p8\",\"us_person\":\"yes\",\"location\":{\"country\":\"ZZZ\"}}\n",
      "{\"id\":\"p9\",\"citizenships\":[{\"country\":\"DE\",\"verified_at\":\"soon\"}]}\n",
      "{\"id\":\"p10\",\"screening\":[{\"list\":\"entity_list\",\"status\":\"confirmed\"}]}\n");
  ParsedPeople p = ParsePeople(text, PeopleFormat::kJsonl, "people.jsonl", Data());
  ASSERT_EQ(p.people.size(), 1u);
  EXPECT_EQ(p.people[0].person.id, "ok-1");
  std::vector<std::string> want = {
      "people.jsonl:3: citizenships[0].country: unknown country 'XXX' (ISO 3166-1 alpha-2, upper case)",
      "people.jsonl:4: end_uses[0]: unknown value 'spying' (allowed: military, military_intelligence, government, "
      "supercomputer, advanced_node_ic, nuclear, missile, chemical_biological)",
      "people.jsonl:5: api_key_sha256: must be 64 lower-case hex characters (the SHA-256 of the API key)",
      "people.jsonl:6: nickname: unknown field",
      "people.jsonl:7: citizenships[0].since: not a date such as 1990-01-01 (got '1990-13-01')",
      "people.jsonl:8: person: malformed JSON (The JSON document has an improper structure: missing or "
      "superfluous commas, braces, missing keys, etc.)",
      "people.jsonl:9: person: must be a JSON object",
      "people.jsonl:10: id: required",
      "people.jsonl:11: us_person: must be true, false or null",  // the first problem of a line
      "people.jsonl:12: citizenships[0].verified_at: must be an RFC 3339 time or a date (got 'soon')",
      "people.jsonl:13: screening: not imported (the registry screens people against the configured lists itself)",
  };

  EXPECT_EQ(p.errors, want);
}

// Test that the SPEC §3 people file of the gateway imports as is: country-code shorthand,
// "traffic" and "uses" (accepted, not stored), per-fact sources kept.
TEST(PeopleIoTest, GatewayPeopleFileImports) {
  ParsedPeople p = ParsePeople(
      absl::StrCat(R"({"id":"a","citizenships":["CN",{"country":"DE","source":"onfido","verified_at":"2026-01-02"}],)",
                   R"("api_key_sha256":")", kKey, R"(","traffic":3,"uses":[{"item":"mythos-5","channel":"web"}]})", "\n"),
      PeopleFormat::kJsonl, "p.jsonl", Data());
  ASSERT_TRUE(p.errors.empty()) << p.errors[0];
  ASSERT_EQ(p.people.size(), 1u);
  const PersonRecord& r = p.people[0];
  ASSERT_EQ(r.person.citizenships.size(), 2u);
  EXPECT_EQ(r.person.citizenships[0].country.code(), "CN");
  ASSERT_EQ(r.citizenship_sources.size(), 2u);
  EXPECT_TRUE(r.citizenship_sources[0].empty());
  EXPECT_EQ(r.citizenship_sources[1].source, "onfido");
  EXPECT_EQ(r.citizenship_sources[1].verified_at, *core::ParseTime("2026-01-02T00:00:00Z"));
  EXPECT_EQ(r.api_keys_sha256, std::vector<std::string>{kKey});
}

// Test duplicate ids and a key given to two people.
TEST(PeopleIoTest, Duplicates) {
  std::string text =
      absl::StrCat("{\"id\":\"a\",\"api_key_sha256\":\"", kKey, "\"}\n",
                   "{\"id\":\"b\",\"api_key_sha256\":\"", kKey, "\"}\n", "{\"id\":\"a\"}\n");
  ParsedPeople p = ParsePeople(text, PeopleFormat::kJsonl, "f", Data());
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
  ParsedPeople p = ParsePeople(text, PeopleFormat::kCsv, "people.csv", Data());
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
  ParsedPeople again = ParsePeople(csv, PeopleFormat::kCsv, "out.csv", Data());
  ASSERT_TRUE(again.errors.empty()) << again.errors[0];
  std::string a, b;
  AppendPersonJsonl(p.people[0], &a);
  AppendPersonJsonl(again.people[0], &b);
  EXPECT_EQ(a, b);
}

// Test that an unknown CSV column is an error naming the allowed ones.
TEST(PeopleIoTest, CsvUnknownColumn) {
  ParsedPeople p = ParsePeople("id,shoe_size\nx,42\n", PeopleFormat::kCsv, "p.csv", Data());
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].substr(0, 37), "p.csv:1: shoe_size: unknown column (c");
}

}  // namespace
}  // namespace eargate::store
