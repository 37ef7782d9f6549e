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
  // BGN/PCGN "Shoygu", folded to the passport and press spelling "Shoigu" (normalize.cc).
  EXPECT_EQ(CanonicalName("Шойгу Сергей"), "shoigu sergey");
  EXPECT_EQ(CanonicalName("SHOYGU"), CanonicalName("Shoigu"));
  EXPECT_EQ(CanonicalName("Maria Alice Nathan Leão"), "maria alice nathan leao");
  EXPECT_EQ(CanonicalName("Νικόλαος"), "nikolaos");
  EXPECT_EQ(CanonicalName("ÖZTÜRK Çelik"), "ozturk celik");
  EXPECT_EQ(CanonicalName("王伟"), "wang wei");
}

// Test the Japanese and Korean readings of names written in Han characters only
// (internal/han_readings.h, tables from IPAdic and Unihan in data/name_readings/): the pinyin
// reading stays NormalizeName's own, the others are alternatives.
TEST(NormalizeTest, HanNameReadings) {
  // Japanese: surname + given name from IPAdic's name words, in Hepburn without long vowels.
  EXPECT_EQ(CanonicalName("山田太郎"), "shan tian tai lang");  // ICU's pinyin, as before
  std::vector<std::string> r = AlternativeReadings("山田太郎");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(CanonicalName(r[0]), "yamada taro");  // the commonest first
  EXPECT_EQ(CanonicalName(r[1]), "yamata taro");
  EXPECT_EQ(CanonicalName(r[2]), "san jon tae rang");  // the Korean reading, for what it is
  // Up to three readings per name: 清司 is Seiji, Kiyoshi or Kiyoji.
  r = AlternativeReadings("高山清司");
  ASSERT_GE(r.size(), 2u);
  EXPECT_EQ(CanonicalName(r[0]), "takayama seiji");
  EXPECT_EQ(CanonicalName(r[1]), "takayama kiyoshi");
  EXPECT_EQ(CanonicalName(AlternativeReadings("田中 花子")[0]), "tanaka hanako");
  EXPECT_EQ(CanonicalName(AlternativeReadings("佐々木希")[0]), "sasaki nozomi");  // 々
  EXPECT_EQ(CanonicalName(AlternativeReadings("麻原彰晃")[0]), "asahara shoko");  // ショーコー
  // Korean: the name-hanja reading of each character (金 김, not 금), then the Hangul
  // romanizer; a name no Japanese name words cover has only the Korean reading.
  r = AlternativeReadings("金正恩");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(CanonicalName(r.back()), "kim jong un");
  EXPECT_EQ(CanonicalName(AlternativeReadings("李雪主").back()), "ri sol ju");
  // Chinese: 王伟 keeps its pinyin; 伟 (simplified) is in neither table, so no other reading.
  EXPECT_EQ(CanonicalName("王伟"), "wang wei");
  EXPECT_TRUE(AlternativeReadings("王伟").empty());
  // Only names in Han characters only, and not long ones (organizations).
  EXPECT_TRUE(AlternativeReadings("Yamada Taro").empty());
  EXPECT_TRUE(AlternativeReadings("山田 Taro").empty());
  EXPECT_TRUE(AlternativeReadings("山田たろう").empty());
  EXPECT_TRUE(AlternativeReadings("中国石油天然气集团").empty());
}

// Test the romanization rules for scripts written without vowels (Arabic, Hebrew: common name
// elements by table), Hangul (syllable by syllable, DPRK-style letters) and the folding of
// Latin spellings of the same name element (internal/romanize.h).
TEST(NormalizeTest, ArabicHebrewKoreanRomanization) {
  EXPECT_EQ(CanonicalName("محمد علي"), "muhammad ali");
  EXPECT_EQ(CanonicalName("Mohamed Ali"), "muhammad ali");
  EXPECT_EQ(CanonicalName("MOHAMMAD, Aly"), "muhammad ali");
  EXPECT_EQ(CanonicalName("أحمد حسن"), CanonicalName("Ahmed Hassan"));
  EXPECT_EQ(CanonicalName("مُحَمَّد"), "muhammad");  // vowel marks dropped
  EXPECT_EQ(CanonicalName("عبد الله"), "abd lah");
  EXPECT_EQ(CanonicalName("Abdullah"), "abd lah");
  EXPECT_EQ(CanonicalName("Abd al-Rahman"), "abd rahman");
  EXPECT_EQ(CanonicalName("Abdurrahman"), "abd rahman");
  EXPECT_EQ(CanonicalName("SABOOR, Abdul"), "saboor abd");  // order kept: aligns with "Abdul Saboor"
  // "Abdul" holds its article: a following "al" is the surname's (SDN 10477 "AL-TALHI, Abdul
  // Rahim"), while after a bare "Abd" it is the compound's own ("Abd al-Rahman" above).
  EXPECT_EQ(CanonicalName("Abdul AL-TALHI"), "abd al talhi");
  EXPECT_EQ(CanonicalName("Abdel Al-Sattar"), "abd al sattar");
  EXPECT_EQ(CanonicalName("Хоссеин"), CanonicalName("Hossein"));  // Cyrillic "kh" then the variant
  EXPECT_EQ(CanonicalName("البغدادي"), "al bghdady");  // article split; unknown word left to ICU
  EXPECT_EQ(CanonicalName("משה"), "moshe");
  EXPECT_EQ(CanonicalName("김정은"), "kim jong un");
  EXPECT_EQ(CanonicalName("Kim Jeong Eun"), "kim jong un");
  EXPECT_EQ(CanonicalName("이민호"), CanonicalName("Lee Min Ho"));
  EXPECT_EQ(CanonicalName("박지성"), CanonicalName("Park Ji Sung"));
  // "son of": the Maghreb's "ben" is "bin".
  EXPECT_EQ(CanonicalName("Tarak Ben Taher"), CanonicalName("Tarak Bin Taher"));
  EXPECT_EQ(CanonicalName("Tarak Ben Taher"), "tarak bin taher");
  EXPECT_NE(CanonicalName("Tarak Ibn Taher"), CanonicalName("Tarak Bint Taher"));
  // Й closing a syllable (BGN "y", ALA-LC and passports "i"); the Arabic ay likewise.
  EXPECT_EQ(CanonicalName("IZMAYLOV, Shamil"), "izmailov shamil");
  EXPECT_EQ(CanonicalName("Mikhaylov"), CanonicalName("Mikhailov"));
  EXPECT_EQ(CanonicalName("Zayniyah"), "zainiyah");
  // Not a "y" opening a syllable, a doubled one, or one at the end or before a final consonant.
  EXPECT_EQ(CanonicalName("Reyes Sayyid"), "reyes sayyid");
  EXPECT_EQ(CanonicalName("Sughayr Andrey"), "sughayr andrey");
  // As spelled: no variant folding (the index keeps both forms).
  EXPECT_EQ(Texts(NormalizeName("Mohamed Abdullah", VariantFolding::kAsSpelled)),
            (std::vector<std::string>{"mohamed", "abdullah"}));
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
