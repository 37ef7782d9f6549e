#include "eargate/screen/internal/han_readings.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "unicode/utf8.h"

namespace eargate::screen::internal {

extern const char kJaNameReadings[];   // name_readings_data.cc (generated)
extern const char kKoHanjaReadings[];

namespace {

// Japanese names run to six kanji (a three-character surname and given name); Korean names in
// hanja to four (a two-character surname and given name). Longer Han names are organizations
// or Chinese.
constexpr size_t kMaxJapaneseChars = 6;
constexpr size_t kMinKoreanChars = 2;
constexpr size_t kMaxKoreanChars = 4;
// Japanese readings tried per name (a name word often has several: 清司 Seiji, Kiyoshi, Kiyoji).
constexpr size_t kMaxJapaneseReadings = 3;

struct Reading {
  int cost;  // IPAdic cost (lower: commoner), summed over the words
  std::string text;
};

struct JaWord {
  // (cost, reading), commonest first; empty: not a surname / not a given name.
  std::vector<std::pair<int, std::string_view>> surname, given;
};

struct Tables {
  std::unordered_map<std::string_view, JaWord> ja;
  std::unordered_map<char32_t, std::string_view> ko;
};

// Splits a table line at tabs.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t p = line.find('\t'); p != std::string_view::npos; p = line.find('\t', start)) {
    out.push_back(line.substr(start, p - start));
    start = p + 1;
  }
  out.push_back(line.substr(start));
  return out;
}

template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.front() != '#') f(line);
    start = end + 1;
  }
}

// Decodes UTF-8 into code points with their byte offsets (offsets.size() == cps.size() + 1).
// Returns false on invalid UTF-8 (ICU's decoder: overlong forms and surrogates are invalid).
bool Decode(std::string_view s, std::u32string& cps, std::vector<size_t>& offsets) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    offsets.push_back(static_cast<size_t>(i));
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) return false;
    cps.push_back(static_cast<char32_t>(c));
  }
  offsets.push_back(s.size());
  return true;
}

const Tables& GetTables() {
  static const Tables* kTables = [] {
    auto* t = new Tables();
    ForEachLine(kJaNameReadings, [&](std::string_view line) {
      const std::vector<std::string_view> f = Fields(line);
      if (f.size() != 4 || f[3].empty()) return;
      int cost = 0;
      for (char c : f[2]) cost = cost * 10 + (c - '0');
      JaWord& w = t->ja[f[0]];
      (f[1] == "s" ? w.surname : w.given).emplace_back(cost, f[3]);
    });
    ForEachLine(kKoHanjaReadings, [&](std::string_view line) {
      const std::vector<std::string_view> f = Fields(line);
      std::u32string cps;
      std::vector<size_t> offsets;
      if (f.size() != 2 || !Decode(f[0], cps, offsets) || cps.size() != 1) return;
      t->ko.emplace(cps[0], f[1]);
    });
    return t;
  }();
  return *kTables;
}

bool IsHan(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F) ||
         c == 0x3005;  // 々, the iteration mark of 佐々木
}

bool IsSeparator(char32_t c) {
  return c == ' ' || c == '\t' || c == ',' || c == 0x3000 || c == 0x30FB || c == 0x00B7 ||
         c == 0x3001 || c == 0xFF0C;
}

// Keeps the kMaxJapaneseReadings commonest of `r`.
void KeepCommonest(std::vector<Reading>& r) {
  std::stable_sort(r.begin(), r.end(),
                   [](const Reading& a, const Reading& b) { return a.cost < b.cost; });
  if (r.size() > kMaxJapaneseReadings) r.resize(kMaxJapaneseReadings);
}

// One Japanese word (UTF-8, characters at byte offsets `off` into it): surname + given name
// (the split whose commonest readings cost least; its reading pairs), else a surname or given
// name on its own; a word of two characters is looked up whole first (山田 alone is a surname,
// not 山 + 田). Commonest first; empty when unread.
std::vector<Reading> ReadJapaneseWord(std::string_view word, const std::vector<size_t>& off,
                                      const Tables& t) {
  auto whole = [&]() {
    std::vector<Reading> out;
    auto it = t.ja.find(word);
    if (it == t.ja.end()) return out;
    for (const auto* kind : {&it->second.surname, &it->second.given}) {
      for (const auto& [cost, text] : *kind) {
        bool dup = false;
        for (const Reading& r : out) dup |= r.text == text;
        if (!dup) out.push_back(Reading{cost, std::string(text)});
      }
    }
    KeepCommonest(out);
    return out;
  };
  auto split = [&]() {
    std::vector<Reading> out;
    const size_t n = off.size() - 1;
    int best = -1;
    const JaWord* best_s = nullptr;
    const JaWord* best_g = nullptr;
    for (size_t k = 1; k < n; ++k) {
      auto s = t.ja.find(word.substr(0, off[k]));
      if (s == t.ja.end() || s->second.surname.empty()) continue;
      auto g = t.ja.find(word.substr(off[k]));
      if (g == t.ja.end() || g->second.given.empty()) continue;
      const int cost = s->second.surname[0].first + g->second.given[0].first;
      if (best < 0 || cost < best) {
        best = cost;
        best_s = &s->second;
        best_g = &g->second;
      }
    }
    if (best_s == nullptr) return out;
    for (const auto& [sc, st] : best_s->surname) {
      for (const auto& [gc, gt] : best_g->given) {
        out.push_back(Reading{sc + gc, std::string(st) + " " + std::string(gt)});
      }
    }
    KeepCommonest(out);
    return out;
  };
  if (off.size() - 1 <= 2) {
    std::vector<Reading> r = whole();
    return r.empty() ? split() : r;
  }
  std::vector<Reading> r = split();
  return r.empty() ? whole() : r;
}

}  // namespace

std::vector<std::string> HanNameReadings(std::string_view utf8) {
  bool maybe_han = false;
  for (char c : utf8) maybe_han |= static_cast<unsigned char>(c) >= 0xE3;
  if (!maybe_han) return {};
  std::u32string cps;
  std::vector<size_t> offsets;
  if (!Decode(utf8, cps, offsets)) return {};
  // Words: runs of Han characters between separators.
  struct Word {
    size_t begin, end;  // code point indices
  };
  std::vector<Word> words;
  size_t han = 0;
  for (size_t i = 0; i < cps.size();) {
    if (IsSeparator(cps[i])) {
      ++i;
      continue;
    }
    if (!IsHan(cps[i])) return {};
    size_t j = i;
    while (j < cps.size() && IsHan(cps[j])) ++j;
    if (j < cps.size() && !IsSeparator(cps[j])) return {};
    words.push_back(Word{i, j});
    han += j - i;
    i = j;
  }
  if (words.empty()) return {};
  const Tables& t = GetTables();
  std::vector<std::string> out;
  if (han <= kMaxJapaneseChars) {
    std::vector<Reading> readings{Reading{0, ""}};
    for (const Word& w : words) {
      std::vector<size_t> off;
      for (size_t k = w.begin; k <= w.end; ++k) off.push_back(offsets[k] - offsets[w.begin]);
      const std::vector<Reading> word_readings = ReadJapaneseWord(
          utf8.substr(offsets[w.begin], offsets[w.end] - offsets[w.begin]), off, t);
      std::vector<Reading> next;
      for (const Reading& a : readings) {
        for (const Reading& b : word_readings) {
          next.push_back(Reading{a.cost + b.cost, a.text.empty() ? b.text : a.text + " " + b.text});
        }
      }
      KeepCommonest(next);
      readings = std::move(next);
      if (readings.empty()) break;
    }
    for (Reading& r : readings) out.push_back(std::move(r.text));
  }
  if (han >= kMinKoreanChars && han <= kMaxKoreanChars) {
    std::string reading;
    bool ok = true;
    for (const Word& w : words) {
      if (!reading.empty()) reading.push_back(' ');
      for (size_t k = w.begin; k < w.end && ok; ++k) {
        auto it = t.ko.find(cps[k]);
        ok = it != t.ko.end();
        if (ok) reading += it->second;
      }
    }
    if (ok) out.push_back(std::move(reading));
  }
  return out;
}

}  // namespace eargate::screen::internal
