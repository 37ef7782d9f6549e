#include "eargate/screen/internal/romanize.h"

#include <unordered_map>

namespace eargate::screen::internal {
namespace {

bool IsArabic(char16_t c) {
  return (c >= 0x0600 && c <= 0x06FF) || (c >= 0x0750 && c <= 0x077F) ||
         (c >= 0xFB50 && c <= 0xFDFF) || (c >= 0xFE70 && c <= 0xFEFF);
}
bool IsHebrew(char16_t c) { return c >= 0x0590 && c <= 0x05FF; }
bool IsHangul(char16_t c) { return c >= 0xAC00 && c <= 0xD7A3; }
bool IsMark(char16_t c) {  // Arabic harakat, tatweel, Hebrew niqqud and cantillation
  return (c >= 0x064B && c <= 0x065F) || c == 0x0670 || c == 0x0640 || (c >= 0x0591 && c <= 0x05C7 && c != 0x05BE);
}
bool IsWordChar(char16_t c) { return IsArabic(c) || IsHebrew(c) || IsHangul(c); }

// Folds the letter forms spelling varies on: alef with hamza/madda -> alef, alef maqsura -> ya,
// ta marbuta -> ha, hamza on waw/ya -> waw/ya; Hebrew final forms are distinct letters in
// Unicode and kept (the table spells them).
char16_t FoldLetter(char16_t c) {
  switch (c) {
    case 0x0623: case 0x0625: case 0x0622: case 0x0671: return 0x0627;  // أ إ آ ٱ -> ا
    case 0x0649: return 0x064A;                                         // ى -> ي
    case 0x0629: return 0x0647;                                         // ة -> ه
    case 0x0624: return 0x0648;                                         // ؤ -> و
    case 0x0626: return 0x064A;                                         // ئ -> ي
    case 0x06CC: return 0x064A;                                         // Persian ی -> ي
    case 0x06A9: return 0x0643;                                         // Persian ک -> ك
    default: return c;
  }
}

// Common Arabic name elements (keys with the letters folded as above) and Hebrew given names
// and surnames, with the spelling English-language lists use most. Chosen as the most
// frequent elements of Arabic and Hebrew personal names, not from any test file.
const std::unordered_map<std::u16string, std::string_view>& WordTable() {
  static const auto* kTable = new std::unordered_map<std::u16string, std::string_view>{
      // Arabic
      {u"محمد", "muhammad"}, {u"احمد", "ahmad"}, {u"علي", "ali"}, {u"حسن", "hasan"},
      {u"حسين", "husayn"}, {u"محمود", "mahmud"}, {u"خالد", "khalid"}, {u"عبد", "abd"},
      {u"الله", "allah"}, {u"عمر", "umar"}, {u"عثمان", "uthman"}, {u"يوسف", "yusuf"},
      {u"ابراهيم", "ibrahim"}, {u"اسماعيل", "ismail"}, {u"مصطفي", "mustafa"}, {u"صالح", "salih"},
      {u"سعيد", "said"}, {u"ناصر", "nasir"}, {u"حامد", "hamid"}, {u"رشيد", "rashid"},
      {u"كريم", "karim"}, {u"رحمن", "rahman"}, {u"الرحمن", "al rahman"}, {u"جمال", "jamal"},
      {u"فيصل", "faisal"}, {u"اسامه", "usama"}, {u"يحيي", "yahya"}, {u"زكريا", "zakariya"},
      {u"سليمان", "sulayman"}, {u"قاسم", "qasim"}, {u"جعفر", "jafar"}, {u"مهدي", "mahdi"},
      {u"حمزه", "hamza"}, {u"ابو", "abu"}, {u"بن", "bin"}, {u"ابن", "ibn"}, {u"بنت", "bint"},
      {u"عزيز", "aziz"}, {u"العزيز", "al aziz"}, {u"فاطمه", "fatima"}, {u"عايشه", "aisha"},
      {u"مريم", "maryam"}, {u"زينب", "zaynab"}, {u"خديجه", "khadija"}, {u"سلمان", "salman"},
      {u"طارق", "tariq"}, {u"وليد", "walid"}, {u"ماجد", "majid"}, {u"سامي", "sami"},
      {u"عادل", "adil"}, {u"بكر", "bakr"}, {u"نور", "nur"}, {u"الدين", "al din"},
      {u"منصور", "mansur"}, {u"عيسي", "isa"}, {u"موسي", "musa"}, {u"هارون", "harun"},
      {u"جواد", "jawad"}, {u"رضا", "rida"}, {u"عباس", "abbas"}, {u"جلال", "jalal"},
      {u"نبيل", "nabil"}, {u"سمير", "samir"}, {u"فارس", "faris"}, {u"بشار", "bashar"},
      {u"اسد", "asad"}, {u"الاسد", "al asad"}, {u"صدام", "saddam"}, {u"القذافي", "al qadhafi"},
      {u"معمر", "muammar"}, {u"اسامة", "usama"}, {u"لادن", "ladin"}, {u"ايمن", "ayman"},
      {u"الظواهري", "al zawahiri"}, {u"نصر", "nasr"}, {u"هادي", "hadi"}, {u"مالك", "malik"},
      {u"امين", "amin"}, {u"انور", "anwar"}, {u"حبيب", "habib"}, {u"حافظ", "hafiz"},
      {u"شريف", "sharif"}, {u"عماد", "imad"}, {u"عاطف", "atif"}, {u"ياسر", "yasir"},
      {u"ياسين", "yasin"}, {u"زياد", "ziyad"}, {u"سالم", "salim"}, {u"سليم", "salim"},
      {u"مراد", "murad"}, {u"هشام", "hisham"}, {u"وائل", "wail"}, {u"بلال", "bilal"},
      {u"حمد", "hamad"}, {u"راشد", "rashid"}, {u"سلطان", "sultan"}, {u"عبيد", "ubayd"},
      {u"فهد", "fahd"}, {u"تركي", "turki"}, {u"نايف", "nayif"}, {u"مشعل", "mishal"},
      {u"زيد", "zayd"}, {u"عمار", "ammar"}, {u"اياد", "iyad"}, {u"رامي", "rami"},
      // Hebrew
      {u"משה", "moshe"}, {u"דוד", "david"}, {u"יוסף", "yosef"}, {u"אברהם", "avraham"},
      {u"יצחק", "yitzhak"}, {u"יעקב", "yaakov"}, {u"שלמה", "shlomo"}, {u"שרה", "sarah"},
      {u"רחל", "rachel"}, {u"כהן", "cohen"}, {u"לוי", "levi"}, {u"בנימין", "binyamin"},
      {u"ישראל", "yisrael"}, {u"אהרן", "aharon"}, {u"אהרון", "aharon"}, {u"מרדכי", "mordechai"},
      {u"אליהו", "eliyahu"}, {u"שמואל", "shmuel"}, {u"מיכאל", "michael"}, {u"דניאל", "daniel"},
      {u"יהודה", "yehuda"}, {u"חיים", "haim"}, {u"אריה", "arie"}, {u"רון", "ron"},
      {u"עמית", "amit"}, {u"מזרחי", "mizrahi"}, {u"פרץ", "peretz"}, {u"ביטון", "biton"},
      {u"אבי", "avi"}, {u"יוסי", "yossi"}, {u"נתן", "natan"}, {u"גבריאל", "gavriel"},
      {u"רפאל", "refael"}, {u"אורי", "uri"}, {u"נועם", "noam"}, {u"תמר", "tamar"},
      {u"מרים", "miriam"}, {u"רבקה", "rivka"}, {u"לאה", "leah"}, {u"אסתר", "ester"},
      {u"פרידמן", "friedman"}, {u"שפירא", "shapira"}, {u"אזולאי", "azoulay"},
  };
  return *kTable;
}

// Hangul letter values (DPRK / McCune-Reischauer without diacritics).
constexpr const char* kInitial[19] = {"k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s",
                                      "ss", "",  "j", "jj", "ch", "k", "t", "p", "h"};
constexpr const char* kMedial[21] = {"a",  "ae", "ya", "yae", "o",  "e",  "yo",
                                     "ye", "o",  "wa", "wae", "oe", "yo", "u",
                                     "wo", "we", "wi", "yu",  "u",  "ui", "i"};
constexpr const char* kFinal[28] = {"",  "k", "k", "k", "n", "n", "n", "t", "l", "l",
                                    "l", "l", "l", "l", "l", "l", "m", "p", "p", "t",
                                    "t", "ng", "t", "t", "k", "t", "p", "t"};

std::string RomanizeHangul(const std::u16string& word) {
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    const int idx = word[i] - 0xAC00;
    const int ini = idx / 588, med = (idx % 588) / 28, fin = idx % 28;
    std::string syl = std::string(kInitial[ini]) + kMedial[med] + kFinal[fin];
    if (i == 0 && word.size() >= 2 && syl == "i") syl = "ri";  // surname 이 (South) = 리 (North)
    if (!out.empty()) out.push_back(' ');
    out += syl;
  }
  return out;
}

}  // namespace

bool NeedsWordRomanization(const icu::UnicodeString& u) {
  for (int32_t i = 0; i < u.length(); ++i) {
    if (IsWordChar(u.charAt(i))) return true;
  }
  return false;
}

void RomanizeWords(icu::UnicodeString& u) {
  icu::UnicodeString out;
  const int32_t n = u.length();
  int32_t i = 0;
  while (i < n) {
    const char16_t c = u.charAt(i);
    if (!IsWordChar(c)) {
      out.append(c);
      ++i;
      continue;
    }
    // One word of Arabic/Hebrew/Hangul letters (marks dropped, letters folded).
    std::u16string word;
    bool hangul = false, other = false;
    int32_t j = i;
    for (; j < n && (IsWordChar(u.charAt(j)) || IsMark(u.charAt(j))); ++j) {
      const char16_t d = u.charAt(j);
      if (IsMark(d)) continue;
      (IsHangul(d) ? hangul : other) = true;
      word.push_back(FoldLetter(d));
    }
    std::string latin;
    if (hangul && !other) {
      latin = RomanizeHangul(word);
    } else if (auto it = WordTable().find(word); it != WordTable().end()) {
      latin = std::string(it->second);
    } else if (word.size() > 3 && word[0] == 0x0627 && word[1] == 0x0644) {  // ال + word
      std::u16string rest = word.substr(2);
      auto r = WordTable().find(rest);
      out.append(icu::UnicodeString(" al "));
      if (r != WordTable().end()) {
        latin = std::string(r->second);
      } else {
        out.append(icu::UnicodeString(false, rest.data(), static_cast<int32_t>(rest.size())));
        out.append(u' ');
      }
    } else {
      out.append(icu::UnicodeString(false, word.data(), static_cast<int32_t>(word.size())));
    }
    if (!latin.empty()) {
      out.append(u' ');
      out.append(icu::UnicodeString::fromUTF8(latin));
      out.append(u' ');
    }
    i = j;
  }
  u = std::move(out);
}

std::string_view FoldNameVariant(std::string_view token) {
  static const auto* kVariants = new std::unordered_map<std::string_view, std::string_view>{
      // Arabic name elements
      {"mohammed", "muhammad"}, {"mohamed", "muhammad"}, {"mohammad", "muhammad"},
      {"mohamad", "muhammad"}, {"muhammed", "muhammad"}, {"muhamad", "muhammad"},
      {"muhamed", "muhammad"}, {"mohamud", "muhammad"}, {"mouhamed", "muhammad"},
      {"mouhammad", "muhammad"}, {"mohd", "muhammad"}, {"mohummad", "muhammad"},
      {"ahmed", "ahmad"}, {"aly", "ali"}, {"hassan", "hasan"},
      {"hussein", "husayn"}, {"husein", "husayn"}, {"hussain", "husayn"}, {"husain", "husayn"},
      {"hussien", "husayn"}, {"hossein", "husayn"}, {"hosein", "husayn"}, {"husseyn", "husayn"},
      {"mahmoud", "mahmud"}, {"mahmood", "mahmud"}, {"khaled", "khalid"},
      {"omar", "umar"}, {"omer", "umar"}, {"umer", "umar"},
      {"othman", "uthman"}, {"osman", "uthman"}, {"usman", "uthman"},
      {"yousef", "yusuf"}, {"youssef", "yusuf"}, {"yusef", "yusuf"}, {"yousuf", "yusuf"},
      {"yousif", "yusuf"}, {"yusif", "yusuf"}, {"ebrahim", "ibrahim"}, {"ibraheem", "ibrahim"},
      {"ismael", "ismail"}, {"esmail", "ismail"}, {"ismaeel", "ismail"},
      {"mostafa", "mustafa"}, {"moustafa", "mustafa"}, {"mustapha", "mustafa"},
      {"mostapha", "mustafa"}, {"moustapha", "mustafa"}, {"saleh", "salih"},
      {"saeed", "said"}, {"saied", "said"}, {"saeid", "said"},
      {"nasser", "nasir"}, {"naser", "nasir"}, {"nassir", "nasir"}, {"hamed", "hamid"},
      {"rasheed", "rashid"}, {"rachid", "rashid"}, {"kareem", "karim"}, {"rehman", "rahman"},
      {"faysal", "faisal"}, {"feisal", "faisal"}, {"osama", "usama"}, {"usamah", "usama"},
      {"osamah", "usama"}, {"yahia", "yahya"}, {"yehia", "yahya"}, {"zakaria", "zakariya"},
      {"zakariyya", "zakariya"}, {"suleiman", "sulayman"}, {"sulaiman", "sulayman"},
      {"soliman", "sulayman"}, {"suleyman", "sulayman"}, {"sleiman", "sulayman"},
      {"qassem", "qasim"}, {"qasem", "qasim"}, {"kassem", "qasim"}, {"kasim", "qasim"},
      {"qassim", "qasim"}, {"jaafar", "jafar"}, {"jaffar", "jafar"}, {"mehdi", "mahdi"},
      {"hamzah", "hamza"}, {"abou", "abu"},
      // "son of": ALA-LC "bin", the Maghreb's French-based spelling "ben" ("Tarak Ben Taher");
      // the article: ALA-LC "al", Egyptian and French-based "el" ("Tariq Anwar El Sayed")
      {"ben", "bin"}, {"el", "al"}, {"aicha", "aisha"}, {"ayesha", "aisha"},
      {"fatimah", "fatima"}, {"fatma", "fatima"}, {"mariam", "maryam"}, {"zainab", "zaynab"},
      {"zeinab", "zaynab"}, {"tarek", "tariq"}, {"tareq", "tariq"}, {"tarik", "tariq"},
      {"waleed", "walid"}, {"majed", "majid"}, {"adel", "adil"}, {"noor", "nur"},
      {"nour", "nur"}, {"mansour", "mansur"}, {"mansoor", "mansur"}, {"issa", "isa"},
      {"moussa", "musa"}, {"mousa", "musa"}, {"haroun", "harun"}, {"haroon", "harun"},
      {"nabeel", "nabil"}, {"sameer", "samir"}, {"fares", "faris"}, {"yasser", "yasir"},
      {"yaser", "yasir"}, {"yassin", "yasin"}, {"yassine", "yasin"}, {"ziad", "ziyad"},
      {"salem", "salim"}, {"hicham", "hisham"}, {"wael", "wail"}, {"sultan", "sultan"},
      {"gaddafi", "qadhafi"}, {"qaddafi", "qadhafi"}, {"gadhafi", "qadhafi"},
      {"kadhafi", "qadhafi"}, {"qadhdhafi", "qadhafi"}, {"gadafi", "qadhafi"},
      {"muamar", "muammar"}, {"moammar", "muammar"}, {"laden", "ladin"},
      {"zawahri", "zawahiri"},
      // Korean name elements (DPRK / McCune-Reischauer spellings as canonical)
      {"lee", "ri"}, {"yi", "ri"}, {"rhee", "ri"}, {"park", "pak"}, {"bak", "pak"},
      {"choi", "choe"}, {"jung", "jong"}, {"jeong", "jong"}, {"chung", "jong"},
      {"sung", "song"}, {"seong", "song"}, {"eun", "un"}, {"gim", "kim"}, {"yoon", "yun"},
  };
  auto it = kVariants->find(token);
  return it == kVariants->end() ? token : it->second;
}

void SplitAbdNames(std::vector<std::string>& tokens) {
  static constexpr std::string_view kPrefixes[] = {"abdoul", "abdul", "abdel", "abdal",
                                                   "abdol", "abdur", "abdou", "abdu", "abd"};
  auto is_article = [](std::string_view t) {
    return t == "al" || t == "el" || t == "ul" || t == "ar" || t == "ur";
  };
  std::vector<std::string> out;
  out.reserve(tokens.size() + 1);
  bool after_abd = false;  // the previous token was "abd": drop an article, "allah" -> "lah"
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (after_abd) {
      after_abd = false;
      if (is_article(t) && i + 1 < tokens.size()) {
        after_abd = true;
        continue;
      }
      if (t == "allah" || t == "ullah" || t == "ellah") t = "lah";
      out.emplace_back(t);
      continue;
    }
    bool split = false;
    for (std::string_view p : kPrefixes) {
      if (t == p) {
        out.emplace_back("abd");
        // "Abdul", "Abdel" ... hold their article already: a following "al" is the next
        // name's ("Abdul AL-TALHI" -> "abd al talhi"), unlike after a bare "Abd" ("Abd
        // al-Rahman" -> "abd rahman").
        after_abd = p == "abd" || p == "abdu" || p == "abdou";
        split = true;
        break;
      }
      if (t.size() > p.size() + 2 && t.substr(0, p.size()) == p) {
        out.emplace_back("abd");
        std::string_view rest = t.substr(p.size());
        if (rest == "lah" || rest == "llah" || rest == "ullah" || rest == "allah") rest = "lah";
        out.emplace_back(rest);
        split = true;
        break;
      }
    }
    if (!split) out.emplace_back(t);
  }
  tokens = std::move(out);
}

}  // namespace eargate::screen::internal
