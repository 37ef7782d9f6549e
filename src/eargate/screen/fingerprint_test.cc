// Tests of the entry fingerprint that screening dispositions are bound to.
#include "eargate/screen/fingerprint.h"

#include <functional>

#include "gtest/gtest.h"

namespace eargate::screen {
namespace {

Entry Sample() {
  Entry e;
  e.list = "us_ofac_sdn";
  e.source_id = "9001";
  e.name = "PETROVSKY, Ivan";
  e.aliases = {"Ivan PETROVSKI", "I. PETROVSKY"};
  e.addresses = {"Moscow, Russia"};
  e.countries = {*core::Country::Parse("RU")};
  e.programs = {"UKRAINE-EO13661"};
  e.dates_of_birth = {"12 Mar 1961"};
  e.origin = "sdn.csv:1";
  return e;
}

// Test that every field a reviewer relies on moves the fingerprint, and nothing else does.
TEST(FingerprintTest, ChangesWithTheEntry) {
  const Entry base = Sample();
  const std::string fp = EntryFingerprint(base);
  EXPECT_EQ(fp.size(), 64u);
  EXPECT_EQ(EntryFingerprint(Sample()), fp);

  std::vector<std::function<void(Entry&)>> edits = {
      [](Entry& e) { e.list = "us_bis_el"; },
      [](Entry& e) { e.source_id = "9002"; },
      [](Entry& e) { e.name = "PETROVSKY, Ivan S."; },
      [](Entry& e) { e.aliases.push_back("Vanya"); },
      [](Entry& e) { e.addresses.clear(); },
      [](Entry& e) { e.countries.push_back(*core::Country::Parse("BY")); },
      [](Entry& e) { e.programs.push_back("RUSSIA-EO14024"); },
      [](Entry& e) { e.dates_of_birth = {"12 Mar 1962"}; },
      // Field boundaries count: a value moved from one field to another is a change.
      [](Entry& e) { e.aliases = {"Ivan PETROVSKI"}; e.addresses.push_back("I. PETROVSKY"); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    Entry e = Sample();
    edits[i](e);
    EXPECT_NE(EntryFingerprint(e), fp) << "edit " << i;
  }
  // Not changes: the order of aliases, where the row sits in the file.
  Entry reordered = Sample();
  std::swap(reordered.aliases[0], reordered.aliases[1]);
  reordered.origin = "sdn.csv:77";
  EXPECT_EQ(EntryFingerprint(reordered), fp);
}

}  // namespace
}  // namespace eargate::screen
