#include "eargate/screen/normalize.h"

#include <algorithm>
#include <memory>

#include <unicode/translit.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include <unordered_set>

#include "eargate/screen/internal/han_readings.h"
#include "eargate/screen/internal/romanize.h"
#include "eargate/screen/internal/strings.h"

namespace eargate::screen {
namespace {

// Company forms, legal-entity suffixes, honorifics and function words. Kept as weak tokens.
const std::unordered_set<std::string_view>& WeakTokens() {
  static const auto* kSet = new std::unordered_set<std::string_view>{
      // company forms (English, German, Romance, Slavic, Nordic, Asian, Gulf)
      "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company",
      "plc", "lp", "llp", "pllc", "gmbh", "mbh", "ag", "kg", "ohg", "ug", "ev", "sa", "sas",
      "sarl", "srl", "spa", "sl", "bv", "nv", "vof", "ab", "as", "asa", "oy", "oyj", "aps",
      "kft", "zrt", "rt", "sro", "spol", "sp", "zoo", "doo", "dd", "ad", "ood", "eood",
      "ooo", "zao", "oao", "pao", "ao", "tov", "pat", "pp", "chp", "ip", "jsc", "ojsc", "cjsc",
      "pjsc", "ojs", "fze", "fzco", "fzc", "fz", "fzllc", "wll", "est", "pte", "pty", "pvt",
      "bhd", "sdn", "tbk", "pt", "cv", "de", "rl", "scs", "sca", "kk", "kabushiki", "kaisha",
      "yugen", "gk", "tic", "ve", "sti", "lda", "ltda", "cia", "sac", "eirl",
      "sae", "spc", "saog", "saoc", "psc", "qsc", "qpsc", "bsc", "kscc", "ksc", "kscp",
      "trading", "group", "holding", "holdings", "enterprise", "enterprises", "intl",
      // honorifics and titles
      "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "mme", "herr", "frau", "sr",
      "sra", "jr", "gen", "col", "maj", "capt", "lt", "sheikh", "shaykh", "sheik", "haji",
      "hajji", "mullah", "mawlawi", "maulawi", "maulvi", "qari", "imam", "ayatollah", "hojjat",
      "eng", "engineer", "general", "colonel",
      // function words
      "of", "the", "and", "for", "und", "et", "y", "di", "del", "la", "le", "les", "los",
      "das", "der", "die", "da", "do", "dos"};
  return *kSet;
}

// CJK / Cyrillic company forms replaced before transliteration.
constexpr std::pair<std::u16string_view, std::u16string_view> kScriptCompanyForms[] = {
    {u"股份有限公司", u" ltd "}, {u"有限责任公司", u" ltd "}, {u"有限責任公司", u" ltd "},
    {u"有限公司", u" ltd "},     {u"集团", u" group "},        {u"集團", u" group "},
    {u"公司", u" co "},          {u"株式会社", u" kk "},       {u"주식회사", u" co "},
};

// Transliterator chains, cheapest first: Latin with diacritics only; Cyrillic (BGN/PCGN
// romanization, which writes Ш as "sh" rather than ISO 9's "s"); any other script.
enum class Chain { kLatin, kCyrillic, kAny };

std::unique_ptr<icu::Transliterator> MakeTransliterator(const char* id, const char* fallback) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> t(
      icu::Transliterator::createInstance(id, UTRANS_FORWARD, status));
  if (U_FAILURE(status) && fallback != nullptr) {  // an ICU without the BGN tables
    status = U_ZERO_ERROR;
    t.reset(icu::Transliterator::createInstance(fallback, UTRANS_FORWARD, status));
  }
  if (U_FAILURE(status)) t.reset();
  return t;
}

icu::Transliterator* ThreadTransliterator(Chain chain) {
  thread_local std::unique_ptr<icu::Transliterator> latin =
      MakeTransliterator("Latin-ASCII; Any-Lower", nullptr);
  thread_local std::unique_ptr<icu::Transliterator> cyrillic = MakeTransliterator(
      "Russian-Latin/BGN; Any-Latin; Latin-ASCII; Any-Lower", "Any-Latin; Latin-ASCII; Any-Lower");
  thread_local std::unique_ptr<icu::Transliterator> any =
      MakeTransliterator("Any-Latin; Latin-ASCII; Any-Lower", nullptr);
  switch (chain) {
    case Chain::kLatin: return latin.get();
    case Chain::kCyrillic: return cyrillic.get();
    case Chain::kAny: break;
  }
  return any.get();
}

Chain ChainFor(const icu::UnicodeString& u) {
  Chain chain = Chain::kLatin;
  for (int32_t i = 0; i < u.length(); ++i) {
    const char16_t c = u.charAt(i);
    if (c < 0x0250 || (c >= 0x1E00 && c <= 0x1EFF) || (c >= 0x2000 && c <= 0x206F)) continue;
    if (c >= 0x0400 && c <= 0x052F) {
      chain = Chain::kCyrillic;
    } else {
      return Chain::kAny;
    }
  }
  return chain;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// Cuts list boilerplate that is not part of the name.
void CutBoilerplate(std::string& s) {
  static constexpr std::string_view kCuts[] = {"and any successor", "including any successor",
                                               "and all successors"};
  for (std::string_view cut : kCuts) {
    size_t pos = s.find(cut);
    if (pos != std::string::npos) s.resize(pos);
  }
}

// "S.A." -> "SA", "L.L.C." -> "LLC": dotted letters written without spaces are one word.
void JoinDottedInitials(std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    int letters = 0;
    const bool at_word_start = i == 0 || !internal::IsAlnum(s[i - 1]);
    if (at_word_start) {
      while (j + 1 < s.size() && internal::IsAlnum(s[j]) && s[j + 1] == '.') {
        ++letters;
        j += 2;
      }
      // "E.V" (last dot missing): the final single letter belongs to the word.
      if (letters >= 1 && j < s.size() && internal::IsAlnum(s[j]) &&
          (j + 1 == s.size() || !internal::IsAlnum(s[j + 1]))) {
        ++letters;
        j += 1;  // no dot to skip
      }
    }
    if (letters >= 2) {
      for (size_t k = i; k < j && k < s.size(); k += 2) out.push_back(s[k]);
      i = std::min(j, s.size());
    } else {
      out.push_back(s[i]);
      ++i;
    }
  }
  s = std::move(out);
}

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// The Russian letter й closing a syllable inside a name, which BGN/PCGN writes "y" and ALA-LC,
// ISO 9 and most passports "i" ("Izmaylov" / "Ismailov", "Mikhaylov" / "Mikhailov"), and the Arabic
// diphthong ay, which ALA-LC writes "ay" and many spellings "ai" ("Zayniyah" / "Zainiya"):
// a "y" after a vowel and before a consonant that opens the next syllable (consonant + vowel)
// becomes "i". Not at the end of a word nor before a final consonant ("Sughayr" stays: the fold
// there made a chimera "Ali SUGHAYR" look like "AL-SHA'IR, Ali" in the tuning set).
void FoldSyllableFinalY(std::string& t) {
  for (size_t p = 1; p + 2 < t.size(); ++p) {
    if (t[p] == 'y' && IsVowel(t[p - 1]) && !IsVowel(t[p + 1]) && t[p + 1] != 'y' &&
        IsVowel(t[p + 2])) {
      t[p] = 'i';
    }
  }
}

// Spellings that differ only by romanization system, folded the same way on both sides:
// BGN writes Джавед as "dzhaved" where English writes "Javed", and Х as "kh" where Arabic
// names are written with "h" ("Mukhammad" / "Muhammad").
void FoldSpellingVariants(std::string& t) {
  for (size_t p = t.find("dzh"); p != std::string::npos; p = t.find("dzh", p)) {
    t.replace(p, 3, "j");
  }
  for (size_t p = t.find("kh"); p != std::string::npos; p = t.find("kh", p)) {
    t.replace(p, 2, "h");
  }
  FoldSyllableFinalY(t);
}

}  // namespace

std::string FoldToAscii(std::string_view utf8) {
  if (IsAscii(utf8)) return internal::Lower(utf8);
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  for (const auto& [from, to] : kScriptCompanyForms) {
    u.findAndReplace(icu::UnicodeString(false, from.data(), static_cast<int32_t>(from.size())),
                     icu::UnicodeString(false, to.data(), static_cast<int32_t>(to.size())));
  }
  if (internal::NeedsWordRomanization(u)) internal::RomanizeWords(u);  // Arabic, Hebrew, Hangul
  if (icu::Transliterator* t = ThreadTransliterator(ChainFor(u))) t->transliterate(u);
  u.foldCase();
  std::string out;
  u.toUTF8String(out);
  // Whatever the transliterator could not map stays non-ASCII; make it a separator.
  for (char& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) c = ' ';
  }
  return internal::Lower(out);
}

std::vector<std::string> AlternativeReadings(std::string_view utf8) {
  return internal::HanNameReadings(utf8);
}

bool IsWeakToken(std::string_view token) { return WeakTokens().count(token) > 0; }

std::vector<NameToken> NormalizeName(std::string_view utf8, VariantFolding folding) {
  const bool fold = folding == VariantFolding::kFold;
  std::string s = FoldToAscii(utf8);
  CutBoilerplate(s);
  JoinDottedInitials(s);
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    words.emplace_back(fold ? internal::FoldNameVariant(cur) : std::string_view(cur));
    cur.clear();
  };
  for (char c : s) {
    if (internal::IsAlnum(c)) {
      cur.push_back(c);
    } else if (c == '\'' || c == '`') {
      // O'Brien, Mu'ammar: the apostrophe is not a separator.
    } else {
      flush();
    }
  }
  flush();
  if (fold) internal::SplitAbdNames(words);
  std::vector<NameToken> tokens;
  tokens.reserve(words.size());
  for (std::string& w : words) {
    FoldSpellingVariants(w);
    if (fold) w = std::string(internal::FoldNameVariant(w));  // "mukhammed" -> "muhammed" -> ...
    bool weak = IsWeakToken(w);
    tokens.push_back(NameToken{std::move(w), weak});
  }
  return tokens;
}

std::string CanonicalName(std::string_view utf8) {
  std::string out;
  for (const NameToken& t : NormalizeName(utf8)) {
    if (!out.empty()) out.push_back(' ');
    out += t.text;
  }
  return out;
}

}  // namespace eargate::screen
