#include "eargate/wire/request_json.h"

#include <gtest/gtest.h>

#include "eargate/wire/people_file.h"

namespace eargate::wire {
namespace {

const rules::EarData& Data() {
  static auto data = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
  return **data;
}

std::string Error(std::string_view json) {
  RequestParser p(Data());
  core::Request r;
  auto st = p.Parse(json, 0, &r);
  return st.ok() ? "ok" : std::string(st.message());
}

TEST(RequestJsonTest, ParsesTheSpecExample) {
  RequestParser p(Data());
  core::Request r;
  auto st = p.Parse(R"json({
    "item": "mythos-5", "layer": "application", "channel": "api",
    "served_from": "US", "at": "2026-06-13T12:00:00Z",
    "person": {"id": "cust-42", "kind": "natural", "name": "Jane Doe",
      "citizenships": [{"country": "DE", "since": "1990-01-01"}],
      "permanent_residencies": [{"country": "US", "since": "2020-05-01"}],
      "us_person": null, "end_user_categories": [], "end_uses": [], "organization": "acme-gmbh"},
    "location": {"country": "DE", "source": "ip", "ip": "203.0.113.9", "anonymizer": false}})json",
                    0, &r);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.item, "mythos-5");
  EXPECT_EQ(r.at, *core::ParseTime("2026-06-13T12:00:00Z"));
  EXPECT_EQ(r.person.citizenships[0].country.code(), "DE");
  EXPECT_TRUE(r.person.citizenships[0].since_known);
  EXPECT_EQ(core::UsPersonStatus(r.person), core::Tristate::kYes);  // a US green card
  EXPECT_EQ(r.location.country.code(), "DE");
  EXPECT_EQ(r.location.ip, "203.0.113.9");
  EXPECT_EQ(r.person.organization, "acme-gmbh");
}

TEST(RequestJsonTest, DefaultsAtToNow) {
  RequestParser p(Data());
  core::Request r;
  ASSERT_TRUE(p.Parse(R"({"item":"m","person":{"id":"x","us_person":true}})", 12345, &r).ok());
  EXPECT_EQ(r.at, 12345);
  EXPECT_EQ(r.layer, core::Layer::kApplication);
}

// Test that every kind of bad input names the field and the problem.
TEST(RequestJsonTest, ErrorsNameTheField) {
  EXPECT_EQ(Error("{"), "request: malformed JSON (The JSON document has an improper structure: missing or superfluous commas, braces, missing keys, etc.)");
  EXPECT_EQ(Error(""), "request: empty input, expected a JSON object");
  EXPECT_EQ(Error("[1]"), "request: must be a JSON object");
  EXPECT_EQ(Error("{\"item\":\"m\xff\"}"), "request: invalid UTF-8");
  EXPECT_EQ(Error(R"({"person":{"id":"x"}})"), "item: required");
  EXPECT_EQ(Error(R"({"item":"m"})"), "person: required");
  EXPECT_EQ(Error(R"({"item":"m","colour":1,"person":{}})"),
            "colour: unknown field (allowed: item, layer, channel, served_from, at, person, location)");
  EXPECT_EQ(Error(R"({"item":"m","layer":"weight","person":{}})"),
            "layer: must be one of weights, application, outputs, infrastructure (got 'weight')");
  EXPECT_EQ(Error(R"({"item":"m","at":"tomorrow","person":{}})"),
            "at: not an RFC 3339 time such as 2026-06-13T12:00:00Z (got 'tomorrow')");
  EXPECT_EQ(Error(R"({"item":7,"person":{}})"), "item: must be a string (got a number)");
  EXPECT_EQ(Error(R"({"item":"m","person":{"citizenships":[{"country":"XX"}]}})"),
            "person.citizenships[0].country: unknown country 'XX' (ISO 3166-1 alpha-2, upper case)");
  EXPECT_EQ(Error(R"({"item":"m","person":{"citizenships":[{"country":"DE","since":"1990-13-01"}]}})"),
            "person.citizenships[0].since: not a date such as 1990-01-01 (got '1990-13-01')");
  EXPECT_EQ(Error(R"({"item":"m","person":{"us_person":"yes"}})"),
            "person.us_person: must be true, false or null");
  EXPECT_EQ(Error(R"({"item":"m","person":{"end_uses":["spying"]}})"),
            "person.end_uses[0]: unknown value 'spying' (allowed: military, military_intelligence, government, supercomputer, advanced_node_ic, nuclear, missile, chemical_biological)");
  EXPECT_EQ(Error(R"({"item":"m","person":{"screening":[{"list":"sdn"}]}})"),
            "person.screening[0].status: required (confirmed or potential)");
  EXPECT_EQ(Error(R"({"item":"m","person":{"nickname":"x"}})"), "person.nickname: unknown field");
  EXPECT_EQ(Error(R"({"item":"m","person":{},"location":{"country":"de"}})"),
            "location.country: unknown country 'de' (ISO 3166-1 alpha-2, upper case)");
  EXPECT_EQ(Error(R"({"item":"m","person":{},"location":{"country":"DE","region":"UA-43"}})"),
            "location.region: UA-43 is not in DE");
  EXPECT_EQ(Error(R"({"item":"m","person":{"id":"x"}})"),
            "person: only an id was given ('x') and no people registry is configured (--people)");
}

TEST(PeopleFileTest, LoadsAndLooksUp) {
  std::string key(64, 'a');
  auto f = PeopleFile::FromText(
      "# comment\n{\"id\":\"p1\",\"citizenships\":[\"US\"],\"api_key_sha256\":\"" + key +
          "\",\"location\":{\"country\":\"US\"}}\n",
      "people.jsonl", Data());
  ASSERT_TRUE(f.ok()) << f.status();
  core::Person p;
  EXPECT_TRUE((*f)->Find("p1", &p));
  EXPECT_FALSE((*f)->Find("p2", &p));
  ASSERT_NE((*f)->FindByKeyHash(key), nullptr);
  EXPECT_EQ((*f)->FindByKeyHash(key)->location.country.code(), "US");
  // A person given by id alone is filled from the registry.
  RequestParser parser(Data(), f->get());
  core::Request r;
  ASSERT_TRUE(parser.Parse(R"({"item":"m","person":{"id":"p1"}})", 0, &r).ok());
  EXPECT_EQ(r.person.citizenships.size(), 1u);
  EXPECT_EQ(std::string(parser.Parse(R"({"item":"m","person":{"id":"nobody"}})", 0, &r).message()),
            "person.id: no registered person 'nobody'");
}

TEST(PeopleFileTest, BadLinesFailTheWholeLoad) {
  auto f = PeopleFile::FromText("{\"id\":\"p1\"}\n{\"id\":\"p1\"}\n", "people.jsonl", Data());
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(std::string(f.status().message()), "people.jsonl:2: id: duplicate person 'p1'");
  f = PeopleFile::FromText("{\"id\":\"p1\",\"api_key_sha256\":\"XYZ\"}\n", "people.jsonl", Data());
  EXPECT_EQ(std::string(f.status().message()),
            "people.jsonl:1: api_key_sha256: must be 64 lower-case hex characters (the SHA-256 of the API key)");
  f = PeopleFile::FromText("{\"name\":\"no id\"}\n", "people.jsonl", Data());
  EXPECT_EQ(std::string(f.status().message()), "people.jsonl:1: id: required");
}

}  // namespace
}  // namespace eargate::wire
