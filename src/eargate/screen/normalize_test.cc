#include "eargate/screen/normalize.h"

#include <gtest/gtest.h>

#include "eargate/screen/internal/jaro_winkler.h"

namespace eargate::screen {
namespace {

std::vector<std::string> Texts(const std::vector<NameToken>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(t.text);
  return out;
}

// Test that ASCII names are lower-cased and split on punctuation, apostrophes kept inside.
TEST(NormalizeTest, AsciiPunctuationAndApostrophes) {
  EXPECT_EQ(Texts(NormalizeName("PUTIN, Vladimir  Vladimirovich")),
            (std::vector<std::string>{"putin", "vladimir", "vladimirovich"}));
  EXPECT_EQ(Texts(NormalizeName("O'BRIEN-SMITH, J.")),
            (std::vector<std::string>{"obrien", "smith", "j"}));
  EXPECT_TRUE(NormalizeName(" ,.;- ").empty());
}

// Test that other scripts are transliterated to ASCII (Cyrillic with BGN, accents dropped).
TEST(NormalizeTest, CrossScript) {
  EXPECT_EQ(CanonicalName("Владимир Путин"), "vladimir putin");
  EXPECT_EQ(CanonicalName("Шойгу Сергей"), "shoygu sergey");
  EXPECT_EQ(CanonicalName("Maria Alice Nathan Leão"), "maria alice nathan leao");
  EXPECT_EQ(CanonicalName("Νικόλαος"), "nikolaos");
  EXPECT_EQ(CanonicalName("ÖZTÜRK Çelik"), "ozturk celik");
  EXPECT_EQ(CanonicalName("王伟"), "wang wei");
}

// Test that company forms and honorifics are weak, in Latin and other scripts.
TEST(NormalizeTest, WeakTokens) {
  auto t = NormalizeName("Dr. Acme Widgets GmbH");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_TRUE(t[0].weak);   // dr
  EXPECT_FALSE(t[1].weak);  // acme
  EXPECT_TRUE(t[3].weak);   // gmbh
  for (const char* form : {"LLC", "Ltd", "OOO", "ZAO", "Inc.", "S.A.", "PJSC"}) {
    auto tokens = NormalizeName(form);
    ASSERT_FALSE(tokens.empty()) << form;
    EXPECT_TRUE(tokens.back().weak) << form;
  }
  auto cn = NormalizeName("华为技术有限公司");
  ASSERT_FALSE(cn.empty());
  EXPECT_EQ(cn.back().text, "ltd");
  EXPECT_TRUE(cn.back().weak);
  auto ru = NormalizeName("ООО Ромашка");
  ASSERT_EQ(ru.size(), 2u);
  EXPECT_EQ(ru[0].text, "ooo");
  EXPECT_TRUE(ru[0].weak);
}

// Test that list boilerplate after the name is cut.
TEST(NormalizeTest, Boilerplate) {
  EXPECT_EQ(CanonicalName("Sinobright Import and Export Company; and any successor, sub-unit, "
                          "or subsidiary thereof"),
            "sinobright import and export company");
}

// Test the Jaro-Winkler values of the literature (Winkler 1990 examples).
TEST(JaroWinklerTest, KnownValues) {
  EXPECT_NEAR(internal::JaroWinkler("martha", "marhta"), 0.961, 0.001);
  EXPECT_NEAR(internal::JaroWinkler("dwayne", "duane"), 0.840, 0.001);
  EXPECT_NEAR(internal::JaroWinkler("dixon", "dicksonx"), 0.813, 0.001);
  EXPECT_DOUBLE_EQ(internal::JaroWinkler("abc", "abc"), 1.0);
  EXPECT_DOUBLE_EQ(internal::JaroWinkler("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(internal::JaroWinkler("", "xyz"), 0.0);
}

}  // namespace
}  // namespace eargate::screen
