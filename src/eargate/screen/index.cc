#include "eargate/screen/index.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "eargate/screen/internal/jaro_winkler.h"
#include "eargate/screen/internal/strings.h"
#include "eargate/screen/normalize.h"

namespace eargate::screen {
namespace {

constexpr int kAlphabet = 37;  // a-z, 0-9, '$' padding
constexpr uint32_t kTrigramSlots = kAlphabet * kAlphabet * kAlphabet;
constexpr size_t kMaxExpansions = 24;
constexpr size_t kMaxCandidates = 256;

int Sym(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '0' && c <= '9') return 26 + (c - '0');
  return 36;
}

// Calls fn(code) for each trigram of "$token$".
template <typename Fn>
void ForEachTrigram(std::string_view token, Fn&& fn) {
  const size_t n = token.size() + 2;
  auto at = [&](size_t i) { return (i == 0 || i == n - 1) ? '$' : token[i - 1]; };
  for (size_t i = 0; i + 3 <= n; ++i) {
    fn(static_cast<uint32_t>(Sym(at(i)) * kAlphabet * kAlphabet + Sym(at(i + 1)) * kAlphabet +
                             Sym(at(i + 2))));
  }
}

// Similarity of two tokens as the scorer sees it.
double TokenSim(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  if (a.size() == 1 || b.size() == 1) {
    return a[0] == b[0] ? Index::kInitialSim : 0.0;
  }
  // Short tokens ("hua", "ali", "li") are compared exactly: Jaro-Winkler's prefix bonus makes
  // them look like any longer token that starts the same way. Spelling variants (a doubled
  // letter, "ph" / "f") are the same word at any length ("ful" / "full").
  if (a.size() <= 3 || b.size() <= 3) {
    return internal::SameUpToDoubling(a, b) ? Index::kVariantSim : 0.0;
  }
  // Three or more letters longer is another word ("cardona" is not "card").
  if (a.size() + 2 < b.size() || b.size() + 2 < a.size()) return 0.0;
  const double jw = internal::JaroWinkler(a, b);
  if (jw < Index::kVariantSim && internal::SameUpToDoubling(a, b)) return Index::kVariantSim;
  // Vowel-quality variants ("ezat" / "izzat" 0.78) are never far apart by Jaro-Winkler.
  if (jw >= 0.7 && jw < Index::kVariantSim && internal::SameUpToVowelQuality(a, b)) {
    return Index::kVariantSim;
  }
  return jw;
}

struct Scratch {
  std::vector<uint32_t> name_stamp;  // query epoch a name was first touched in
  std::vector<float> acc;
  std::vector<uint32_t> tok_stamp;  // token epoch for cur
  std::vector<float> cur;
  std::vector<uint32_t> touched;
  std::vector<uint32_t> touched_token;
  std::vector<uint32_t> tri_stamp;
  std::vector<uint16_t> tri_count;
  uint32_t epoch = 0;

  uint32_t Next() {
    if (++epoch == 0) {
      std::fill(name_stamp.begin(), name_stamp.end(), 0);
      std::fill(tok_stamp.begin(), tok_stamp.end(), 0);
      std::fill(tri_stamp.begin(), tri_stamp.end(), 0);
      epoch = 1;
    }
    return epoch;
  }
};

Scratch& ThreadScratch(size_t names, size_t tokens) {
  thread_local Scratch s;
  if (s.name_stamp.size() < names) {
    s.name_stamp.resize(names, 0);
    s.acc.resize(names, 0);
    s.tok_stamp.resize(names, 0);
    s.cur.resize(names, 0);
  }
  if (s.tri_stamp.size() < tokens) {
    s.tri_stamp.resize(tokens, 0);
    s.tri_count.resize(tokens, 0);
  }
  return s;
}

// One side of an alignment: token texts and weights (weak flags only matter to the caller's
// similarity function); for a query, optionally which tokens the lists hold as persons'
// surnames only (never as a given name).
struct AlignSide {
  size_t n;
  const float* w;
  const std::string_view* text;
  const uint8_t* weak;
  const uint8_t* surname_only = nullptr;
};

// An aligned pair: query tokens [i, i + di) with listed tokens [j, j + dj).
struct AlignedPair {
  uint8_t i, di, j, dj;
};

// How `whole` compares with `left` + `right` written as one word ("sollersfinance" /
// "sollers" "finance", "lopezcalleja" / "lopez" "callejas"): 1 when equal; when `whole`
// starts with `left` (or ends with `right`) exactly, the other part's TokenSim weighted by
// length; 0 otherwise. Parts of one letter never join (an initial next to a name is not half
// of a word), and the exact part keeps a fuzzy tail from passing for a different word
// ("tonghyon" is not "tong" "ho").
double JoinedSim(std::string_view whole, std::string_view left, std::string_view right) {
  if (left.size() < 2 || right.size() < 2) return 0;
  const size_t lj = left.size() + right.size();
  if (whole.size() + 2 < lj || lj + 2 < whole.size()) return 0;
  if (whole[0] != left[0] && whole.back() != right.back()) return 0;
  // The other part: equal, a spelling variant ("alah" / "allah"), or (5+ letters on both
  // sides) close. Shorter parts are syllables that make other names with one letter more
  // ("jongs" is not "jong").
  auto part_sim = [](std::string_view a, std::string_view b) {
    if (a == b) return 1.0;
    if (a.size() >= 5 && b.size() >= 5) return TokenSim(a, b);
    return internal::SameUpToDoubling(a, b) ? Index::kVariantSim : 0.0;
  };
  double s = 0;
  size_t exact = 0;
  if (whole.starts_with(left)) {
    exact = left.size();
    s = part_sim(whole.substr(left.size()), right);
  }
  if (s < 1 && whole.ends_with(right) && whole.size() > right.size()) {
    const double t = part_sim(whole.substr(0, whole.size() - right.size()), left);
    if (t > s) s = t, exact = right.size();
  }
  if (s <= 0) return 0;
  return (static_cast<double>(exact) + static_cast<double>(lj - exact) * s) / lj;
}

// Words joining the parts of an Arabic name (normalized): "son of", "father of", "servant of",
// the article.
bool IsNameConnector(std::string_view t) {
  return t == "ben" || t == "bin" || t == "ibn" || t == "bint" || t == "ould" || t == "abd" ||
         t == "abu" || t == "al" || t == "el" || t == "ul";
}

// Whether a query's words beyond a listed person's name may weigh less (see Align).
enum class ExtraNames { kNone, kInside, kAnywhere };

// One-to-one greedy alignment of query tokens and listed tokens, best pairs first. A pair is
// one query token and one listed token (similarity from `sim`), or a token on one side and two
// adjacent tokens on the other written as one word (JoinedSim). Unmatched listed tokens in
// `middle_mask` (a person's middle names) weigh kMiddleWeight of their weight when every
// other strong listed token is matched at kMiddleStrong or better. Returns the blended name
// score; records aligned pairs.
template <typename SimFn>
double Align(const AlignSide& q, const AlignSide& c, uint16_t middle_mask, ExtraNames extra_names,
             SimFn&& sim, std::vector<AlignedPair>* aligned) {
  struct Pair {
    float s;
    uint8_t i, j, di, dj;
  };
  const size_t nq = std::min<size_t>(q.n, 16);
  const size_t nc = std::min<size_t>(c.n, 16);
  Pair pairs[16 * 16 * 3];
  size_t np = 0;
  bool exact_q[16] = {}, exact_c[16] = {};
  for (size_t i = 0; i < nq; ++i) {
    for (size_t j = 0; j < nc; ++j) {
      const double s = sim(i, j);
      if (s >= Index::kTokenFloor) {
        pairs[np++] = Pair{static_cast<float>(s), static_cast<uint8_t>(i),
                           static_cast<uint8_t>(j), 1, 1};
        if (s >= 1.0) exact_q[i] = exact_c[j] = true;
      }
    }
  }
  // A token with an exact partner gains nothing from being read as two words.
  for (size_t i = 0; i < nq; ++i) {
    for (size_t j = 0; j < nc; ++j) {
      if (j + 1 < nc && !exact_q[i]) {  // query token = two adjacent listed tokens joined
        const double s = JoinedSim(q.text[i], c.text[j], c.text[j + 1]);
        if (s >= Index::kTokenFloor) {
          pairs[np++] = Pair{static_cast<float>(s), static_cast<uint8_t>(i),
                             static_cast<uint8_t>(j), 1, 2};
        }
      }
      if (i + 1 < nq && !exact_c[j]) {  // listed token = two adjacent query tokens joined
        const double s = JoinedSim(c.text[j], q.text[i], q.text[i + 1]);
        if (s >= Index::kTokenFloor) {
          pairs[np++] = Pair{static_cast<float>(s), static_cast<uint8_t>(i),
                             static_cast<uint8_t>(j), 2, 1};
        }
      }
    }
  }
  std::sort(pairs, pairs + np, [](const Pair& a, const Pair& b) {
    if (a.s != b.s) return a.s > b.s;
    if (a.di + a.dj != b.di + b.dj) return a.di + a.dj < b.di + b.dj;
    if (a.i != b.i) return a.i < b.i;
    return a.j < b.j;
  });
  uint32_t used_q = 0, used_c = 0;
  int matched_j[16];  // the listed token a query token is aligned with, or -1
  std::fill(matched_j, matched_j + 16, -1);
  float sim_c[16] = {};
  double got_q = 0, got_c = 0, tot_q = 0;
  for (size_t i = 0; i < nq; ++i) tot_q += q.w[i];
  for (size_t k = 0; k < np; ++k) {
    const Pair& p = pairs[k];
    const uint32_t mq = ((1u << p.di) - 1) << p.i;
    const uint32_t mc = ((1u << p.dj) - 1) << p.j;
    if ((used_q & mq) || (used_c & mc)) continue;
    used_q |= mq;
    used_c |= mc;
    for (int d = 0; d < p.di; ++d) got_q += q.w[p.i + d] * p.s;
    for (int d = 0; d < p.dj; ++d) {
      got_c += c.w[p.j + d] * p.s;
      sim_c[p.j + d] = p.s;
    }
    if (aligned) aligned->push_back(AlignedPair{p.i, p.di, p.j, p.dj});
    for (int d = 0; d < p.di; ++d) matched_j[p.i + d] = p.j;
  }
  // Middle names a query left out cost little when the first and last names match well and
  // the query holds nothing else ("Jong Sun KIM" is not "KIM, Jong Un" without the "Un").
  bool relieve = middle_mask != 0;
  for (size_t i = 0; relieve && i < nq; ++i) relieve = (used_q >> i & 1) || q.weak[i];
  int anchors = 0;
  for (size_t j = 0; relieve && j < nc; ++j) {
    if ((middle_mask >> j & 1) || c.w[j] <= 0) continue;
    if (sim_c[j] < Index::kMiddleStrong && !c.weak[j]) relieve = false;
    anchors += !c.weak[j];
  }
  relieve &= anchors >= 2;
  double tot_c = 0;
  for (size_t j = 0; j < nc; ++j) {
    const bool relieved = relieve && (middle_mask >> j & 1) && !(used_c >> j & 1);
    tot_c += relieved ? c.w[j] * Index::kMiddleWeight : c.w[j];
  }
  // The other way round: a query giving more names than a listed person's ("SALAH EDDINE
  // GASMI" ~ "GASMI, Salah"; a father's or grandfather's name, a second given name) costs
  // little when every strong listed token (2+) matches at kMiddleStrong or better and the
  // query adds at most kMaxExtraNames strong words of 4+ letters, all inside the matched ones.
  // With kAnywhere (the query's birth year agrees with the entry's) they may also come before
  // or after the listed name and be short ("AHMED SHAH NOORZAI OBAIDULLAH", "OMAR ALI HUSSAIN").
  if (extra_names != ExtraNames::kNone) {
    const bool anywhere = extra_names == ExtraNames::kAnywhere;
    int listed_strong = 0, extra = 0;
    bool covered = true, connectors = false;
    for (size_t j = 0; covered && j < nc; ++j) {
      if (c.weak[j] || c.w[j] <= 0) continue;
      ++listed_strong;
      covered = sim_c[j] >= Index::kMiddleStrong;
    }
    // Only words inside the name count as extra names (between the first and the last query
    // word matched): a word before or after it is another name ("KIRIYENKO Vladimir
    // Thornton" is not "KIRIYENKO, Vladimir").
    size_t first = nq, last = 0;
    for (size_t i = 0; i < nq; ++i) {
      if (used_q >> i & 1) first = std::min(first, i), last = i;
    }
    // Except after a complete name of three parts or more, each matched exactly (2+ of 4+
    // letters: not three romanized syllables, "KIM, Yong Chol"), in its listed order (given
    // names then surname, or surname first): the UN writes a father's and grandfather's names
    // after the name ("MOHAMMAD NAIM BARICH KHUDAIDAD" ~ "BARICH, Mohammad Naim"), and three
    // names in order are much rarer than two. Not before it, and not a word the lists hold as
    // a surname only ("'Adnan Muhammad Amin NOVOZHILOV" is not "AMIN, 'Adnan Muhammad").
    // Short extra names are allowed when two listed words have 5+ letters.
    bool complete = covered && listed_strong >= 3;
    int long4 = 0, long5 = 0;
    for (size_t j = 0; complete && j < nc; ++j) {
      if (c.weak[j] || c.w[j] <= 0) continue;
      complete = sim_c[j] >= 1.0f;
      long4 += c.text[j].size() >= 4;
      long5 += c.text[j].size() >= 5;
    }
    complete &= long4 >= 2;
    if (complete) {
      // Listed positions of the matched query words, in query order, rise but for one turn
      // back to the start (the surname written last).
      int turns = 0, prev = -1, first_j = -1;
      for (size_t i = 0; i < nq; ++i) {
        const int j = matched_j[i];
        if (j < 0) continue;
        if (first_j < 0) first_j = j;
        turns += prev >= 0 && j < prev;
        prev = j;
      }
      complete = turns == 0 || (turns == 1 && prev < first_j);
    }
    bool inside = first < nq;
    for (size_t i = 0; inside && i < nq; ++i) {
      if ((used_q >> i & 1) || q.weak[i]) continue;
      const bool after = complete && i > last && !(q.surname_only && q.surname_only[i]);
      inside = anywhere || (i > first && i < last) || after;
      // Arabic name connectors ("ben", "bin", "ould", "abd") join the extra names ("MOHAMED
      // BEN BELGACEM BEN ABDALLAH AOUADI"); the name after "abd" is part of it ("abd lah").
      if (IsNameConnector(q.text[i]) || (i > 0 && q.text[i - 1] == "abd")) {
        connectors = true;
        continue;
      }
      ++extra;
      // Romanized Chinese and Korean syllables ("kwang su pak") are parts of a given name,
      // not names of their own: an extra name has 4+ letters.
      inside &= anywhere || q.text[i].size() >= 4 || (complete && long5 >= 2);
    }
    if (covered && inside && listed_strong >= 2 && (extra > 0 || connectors) &&
        extra <= Index::kMaxExtraNames) {
      tot_q = 0;
      for (size_t i = 0; i < nq; ++i) {
        tot_q += (used_q >> i & 1) || q.weak[i] ? q.w[i] : q.w[i] * Index::kMiddleWeight;
      }
    }
  }
  if (tot_q <= 0 || tot_c <= 0) return 0;
  return Index::kQueryShare * (got_q / tot_q) + (1 - Index::kQueryShare) * (got_c / tot_c);
}

}  // namespace

namespace {

// Strong tokens of the first word of `given` that has any ("Young-Chol" -> 2, "Andrey" -> 1,
// "Dr. Ibrahim" -> 1 for "Ibrahim"): a hyphenated given name is one name, not a first and a
// middle name.
size_t FirstNameTokens(std::string_view given, VariantFolding folding) {
  for (std::string_view word : internal::Split(given, " ")) {
    size_t strong = 0;
    for (const NameToken& t : NormalizeName(word, folding)) strong += !t.weak;
    if (strong > 0) return strong;
  }
  return 1;
}

// Positions of a person's middle names in `tokens` (the normalized `text`; bit k for token k):
// with "LAST, First Middle ...", the strong given names after the first given name; in natural
// order ("First Middle ... Last"), the strong tokens between the first name and the last
// strong token.
uint16_t MiddleMask(std::string_view text, const std::vector<NameToken>& tokens,
                    VariantFolding folding) {
  const size_t n = std::min<size_t>(tokens.size(), 16);
  std::vector<size_t> strong;
  uint16_t mask = 0;
  const size_t comma = text.find(',');
  const size_t surname =
      comma == std::string_view::npos ? 0 : NormalizeName(text.substr(0, comma), folding).size();
  if (surname > 0 && surname < n) {
    const size_t first = FirstNameTokens(text.substr(comma + 1), folding);
    for (size_t k = surname; k < n; ++k) {
      if (!tokens[k].weak) strong.push_back(k);
    }
    for (size_t s = first; s < strong.size(); ++s) mask |= static_cast<uint16_t>(1u << strong[s]);
    return mask;
  }
  const size_t first = FirstNameTokens(text, folding);
  for (size_t k = 0; k < n; ++k) {
    if (!tokens[k].weak) strong.push_back(k);
  }
  for (size_t s = first; s + 1 < strong.size(); ++s) mask |= static_cast<uint16_t>(1u << strong[s]);
  return mask;
}

// The mask of `mask`'s name with tokens i and i + 1 joined: the joined token is a middle name
// when both halves were.
uint16_t JoinedMask(uint16_t mask, size_t i) {
  const uint32_t low = mask & ((1u << i) - 1);
  const uint32_t both = (mask >> i & 1) && (mask >> (i + 1) & 1);
  const uint32_t high = i + 2 < 16 ? (static_cast<uint32_t>(mask) >> (i + 2)) << (i + 1) : 0;
  return static_cast<uint16_t>(low | both << i | high);
}

}  // namespace

void Index::AddName(uint32_t entry, int16_t alias, std::string_view text,
                    std::vector<std::vector<uint32_t>>& postings) {
  std::vector<NameToken> tokens = NormalizeName(text);
  if (tokens.empty()) return;
  const bool person = entries_[entry].type == EntityType::kPerson;
  struct Variant {
    std::vector<NameToken> tokens;
    uint16_t middle_mask;
    bool reading = false;  // a Japanese or Korean reading of a Han-only name
  };
  // The name itself, plus variants with one pair of short adjacent tokens joined
  // ("jin ping" -> "jinping", "al qaida" -> "alqaida"): writers disagree on these spaces.
  std::vector<Variant> variants{
      {tokens, person ? MiddleMask(text, tokens, VariantFolding::kFold) : uint16_t{0}}};
  // The name as spelled, when folding name-element variants changed it (a query with a typo
  // in "Mahmoud" is closer to "mahmoud" than to the folded "mahmud").
  {
    std::vector<NameToken> spelled = NormalizeName(text, VariantFolding::kAsSpelled);
    bool same = spelled.size() == tokens.size();
    for (size_t k = 0; same && k < tokens.size(); ++k) same = spelled[k].text == tokens[k].text;
    if (!same && !spelled.empty()) {
      const uint16_t mask =
          person ? MiddleMask(text, spelled, VariantFolding::kAsSpelled) : uint16_t{0};
      variants.push_back(Variant{std::move(spelled), mask});
    }
  }
  const uint16_t base_mask = variants[0].middle_mask;
  for (size_t i = 0; i + 1 < tokens.size() && variants.size() < 5; ++i) {
    const auto& a = tokens[i];
    const auto& b = tokens[i + 1];
    if (a.weak || b.weak) continue;
    if (a.text.size() <= 3 || (a.text.size() <= 5 && b.text.size() <= 5)) {
      std::vector<NameToken> v;
      for (size_t k = 0; k < tokens.size(); ++k) {
        if (k == i) {
          v.push_back(NameToken{a.text + b.text, false});
          ++k;
        } else {
          v.push_back(tokens[k]);
        }
      }
      variants.push_back(Variant{std::move(v), JoinedMask(base_mask, i)});
    }
  }
  // A name in Han characters only: its Japanese and Korean readings too ("山田太郎" -> "yamada
  // taro" besides the pinyin "shan tian tai lang").
  for (const std::string& reading : AlternativeReadings(text)) {
    std::vector<NameToken> alt = NormalizeName(reading);
    bool same = alt.size() == tokens.size();
    for (size_t k = 0; same && k < tokens.size(); ++k) same = alt[k].text == tokens[k].text;
    if (same || alt.empty()) continue;
    const uint16_t mask = person ? MiddleMask(reading, alt, VariantFolding::kFold) : uint16_t{0};
    variants.push_back(Variant{std::move(alt), mask, true});
  }
  for (const auto& [v, middle_mask, reading] : variants) {
    const uint32_t name_id = static_cast<uint32_t>(names_.size());
    NameRec rec{entry, static_cast<uint32_t>(name_tokens_.size()),
                static_cast<uint16_t>(std::min<size_t>(v.size(), 16)), alias, middle_mask,
                reading, 0};
    for (size_t k = 0; k < rec.tok_count; ++k) {
      auto [it, inserted] =
          token_ids_.try_emplace(v[k].text, static_cast<uint32_t>(token_text_.size()));
      if (inserted) {
        token_text_.push_back(v[k].text);
        token_weak_.push_back(v[k].weak);
        token_role_.push_back(0);
        postings.emplace_back();
      }
      name_tokens_.push_back(it->second);
      auto& p = postings[it->second];
      if (p.empty() || p.back() != name_id) p.push_back(name_id);
    }
    names_.push_back(rec);
  }
  // Which of a person's words are a surname and which given names, from "LAST, First ...":
  // a word the lists hold as a surname only is never taken for a father's name (see Align).
  const size_t comma = text.find(',');
  if (person && comma != std::string_view::npos) {
    const size_t surname = NormalizeName(text.substr(0, comma)).size();
    for (size_t k = 0; k < tokens.size(); ++k) {
      if (tokens[k].weak) continue;
      const auto it = token_ids_.find(tokens[k].text);
      if (it != token_ids_.end()) token_role_[it->second] |= k < surname ? kSurname : kGiven;
    }
  }
}

std::shared_ptr<const Index> Index::Build(ListSet lists) {
  const auto start = std::chrono::steady_clock::now();
  auto index = std::shared_ptr<Index>(new Index());
  Index& x = *index;
  x.entries_ = std::move(lists.entries);
  x.lists_meta_ = std::move(lists);
  x.lists_meta_.entries.clear();
  std::vector<std::vector<uint32_t>> postings;
  for (uint32_t e = 0; e < x.entries_.size(); ++e) {
    const Entry& entry = x.entries_[e];
    x.AddName(e, -1, entry.name, postings);
    for (size_t a = 0; a < entry.aliases.size() && a < 32000; ++a) {
      x.AddName(e, static_cast<int16_t>(a), entry.aliases[a], postings);
    }
  }
  // Token weights: inverse document frequency over names; weak tokens count little.
  const double n = static_cast<double>(std::max<size_t>(x.names_.size(), 1));
  x.token_weight_.resize(x.token_text_.size());
  for (size_t t = 0; t < x.token_text_.size(); ++t) {
    double idf = std::log((n + 1) / (postings[t].size() + 1)) + 1.0;
    if (x.token_text_[t].size() == 1) idf = 1.0;  // initials identify little
    if (x.token_weak_[t]) idf *= kWeakWeight;
    x.token_weight_[t] = static_cast<float>(idf);
  }
  for (NameRec& rec : x.names_) {
    float total = 0;
    for (uint32_t k = 0; k < rec.tok_count; ++k) {
      total += x.token_weight_[x.name_tokens_[rec.tok_begin + k]];
    }
    rec.total_weight = total;
  }
  // Flatten postings.
  x.posting_offsets_.reserve(postings.size() + 1);
  x.posting_offsets_.push_back(0);
  for (auto& p : postings) {
    x.postings_.insert(x.postings_.end(), p.begin(), p.end());
    x.posting_offsets_.push_back(static_cast<uint32_t>(x.postings_.size()));
    std::vector<uint32_t>().swap(p);
  }
  // Trigram index over tokens of three or more characters.
  std::vector<uint32_t> counts(kTrigramSlots + 1, 0);
  for (size_t t = 0; t < x.token_text_.size(); ++t) {
    if (x.token_text_[t].size() < 3) continue;
    ForEachTrigram(x.token_text_[t], [&](uint32_t code) { ++counts[code + 1]; });
  }
  for (uint32_t i = 1; i <= kTrigramSlots; ++i) counts[i] += counts[i - 1];
  x.trigram_offsets_ = counts;
  x.trigram_tokens_.resize(counts[kTrigramSlots]);
  for (size_t t = 0; t < x.token_text_.size(); ++t) {
    if (x.token_text_[t].size() < 3) continue;
    ForEachTrigram(x.token_text_[t], [&](uint32_t code) {
      x.trigram_tokens_[counts[code]++] = static_cast<uint32_t>(t);
    });
  }
  x.stats_.entries = x.entries_.size();
  x.stats_.names = x.names_.size();
  x.stats_.tokens = x.token_text_.size();
  size_t bytes = x.names_.capacity() * sizeof(NameRec) +
                 x.name_tokens_.capacity() * sizeof(uint32_t) +
                 x.postings_.capacity() * sizeof(uint32_t) +
                 x.posting_offsets_.capacity() * sizeof(uint32_t) +
                 x.trigram_offsets_.capacity() * sizeof(uint32_t) +
                 x.trigram_tokens_.capacity() * sizeof(uint32_t) +
                 x.token_weight_.capacity() * sizeof(float) + x.token_weak_.capacity() +
                 x.token_role_.capacity() +
                 x.token_ids_.capacity() * (sizeof(std::string) + sizeof(uint32_t) + 1);
  for (const std::string& t : x.token_text_) bytes += sizeof(std::string) * 2 + t.capacity();
  x.stats_.memory_bytes = bytes;
  x.stats_.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // ICU builds its transliterators lazily (~0.1 s); do it here, off the hot path, for the
  // building thread. Other threads pay once on their first non-ASCII query.
  (void)FoldToAscii("\u0416 \u00e9 \u4e2d");
  (void)AlternativeReadings("\u4e2d");  // parses the name-reading tables (~37k rows) once
  return index;
}

std::vector<Index::QueryToken> Index::PrepareQuery(std::string_view name) const {
  std::vector<QueryToken> out;
  const float max_weight =
      static_cast<float>(std::log(static_cast<double>(names_.size()) + 1) + 1.0);
  for (NameToken& t : NormalizeName(name)) {
    if (out.size() >= 16) break;
    QueryToken q;
    q.text = std::move(t.text);
    q.id = kNoToken;
    q.weight = 0;
    q.weak = t.weak;
    auto it = token_ids_.find(q.text);
    if (it != token_ids_.end()) {
      q.id = it->second;
      q.weight = token_weight_[q.id];
    } else {
      q.weight = q.text.size() == 1 ? 1.0f : max_weight;
      if (q.weak) q.weight *= static_cast<float>(kWeakWeight);
      if (!q.weak) SplitUnknown(q);
    }
    out.push_back(std::move(q));
  }
  // Adjacent tokens that the lists write as one word ("al qaida" / "alqaida") select the names
  // holding that word.
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i].text.size() + out[i + 1].text.size() < 4) continue;
    auto it = token_ids_.find(out[i].text + out[i + 1].text);
    if (it == token_ids_.end() || token_weak_[it->second]) continue;
    out[i].extra.push_back(it->second);
    out[i + 1].extra.push_back(it->second);
  }
  return out;
}

void Index::SplitUnknown(QueryToken& t) const {
  const std::string& s = t.text;
  if (s.size() < 4) return;
  size_t best = 0, best_min = 0;
  float best_weight = 0;
  uint32_t best_ids[2] = {kNoToken, kNoToken};
  for (size_t p = 2; p + 2 <= s.size(); ++p) {
    const std::string_view part[2] = {std::string_view(s).substr(0, p),
                                      std::string_view(s).substr(p)};
    bool ok = true;
    bool weak[2] = {false, false};
    float weight = 0;
    uint32_t ids[2] = {kNoToken, kNoToken};
    for (int k = 0; k < 2 && ok; ++k) {
      auto it = token_ids_.find(std::string(part[k]));
      if (it != token_ids_.end()) {
        ids[k] = it->second;
        weight += token_weight_[it->second];
        // The word's own kind: a joined variant ("m s" -> "ms") can put a company form or
        // honorific in the dictionary as a strong token.
        weak[k] = token_weak_[it->second] || IsWeakToken(part[k]);
      } else if (IsWeakToken(part[k])) {
        weight += static_cast<float>(kWeakWeight);
        weak[k] = true;
      } else {
        ok = false;
      }
    }
    // Two-letter fragments are too common to read a word as two ("nordin" is not "nord"
    // "in", "sales" is not "sa" "les"), unless one half is a company form and the other is not
    // ("hkco", "aonpo", "ms13").
    for (int k = 0; k < 2 && ok; ++k) {
      if (part[k].size() < 3 && weak[k] == weak[1 - k]) ok = false;
    }
    const size_t shorter = std::min(p, s.size() - p);
    if (ok && shorter > best_min) {
      best = p;
      best_min = shorter;
      best_weight = weight;
      best_ids[0] = ids[0];
      best_ids[1] = ids[1];
    }
  }
  if (best == 0) return;
  t.split = true;
  t.weight = std::min(t.weight, best_weight);
  for (uint32_t id : best_ids) {
    if (id != kNoToken && !token_weak_[id]) t.extra.push_back(id);
  }
}

void Index::Expand(const QueryToken& t, std::vector<std::pair<uint32_t, float>>& out) const {
  out.clear();
  if (t.id != kNoToken) out.emplace_back(t.id, 1.0f);
  if (t.weak) return;
  if (t.text.size() < 4) {
    // Too short for trigrams: the same word with one letter doubled or undoubled ("ful" /
    // "full", "ela" / "ella"), as TokenSim counts them.
    std::string v;
    for (size_t k = 0; k < t.text.size(); ++k) {
      v = t.text;
      if (k + 1 < v.size() && v[k] == v[k + 1]) {
        v.erase(k, 1);
      } else {
        v.insert(k, 1, v[k]);
      }
      auto it = token_ids_.find(v);
      if (it != token_ids_.end() && !token_weak_[it->second]) {
        out.emplace_back(it->second, static_cast<float>(kVariantSim));
      }
    }
    return;
  }
  Scratch& s = ThreadScratch(names_.size(), token_text_.size());
  const uint32_t epoch = s.Next();
  std::vector<uint32_t>& hits = s.touched_token;
  hits.clear();
  int ntri = 0;
  ForEachTrigram(t.text, [&](uint32_t code) {
    ++ntri;
    for (uint32_t k = trigram_offsets_[code]; k < trigram_offsets_[code + 1]; ++k) {
      const uint32_t tok = trigram_tokens_[k];
      if (s.tri_stamp[tok] != epoch) {
        s.tri_stamp[tok] = epoch;
        s.tri_count[tok] = 0;
        hits.push_back(tok);
      }
      ++s.tri_count[tok];
    }
  });
  const int need = std::max(1, (ntri + 2) / 3);
  std::vector<std::pair<uint32_t, float>> found;
  for (uint32_t tok : hits) {
    if (tok == t.id || s.tri_count[tok] < need) continue;
    const std::string& cand = token_text_[tok];
    if (cand.size() + 2 < t.text.size() || t.text.size() + 2 < cand.size()) continue;
    const double sim = TokenSim(t.text, cand);
    if (sim >= kTokenFloor) found.emplace_back(tok, static_cast<float>(sim));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  for (const auto& f : found) {
    if (out.size() >= kMaxExpansions) break;
    out.push_back(f);
  }
}

double Index::ScoreNames(std::string_view query, std::string_view listed,
                         EntityType listed_type) const {
  // The best over the readings of either side (a Han-only name also reads as Japanese and
  // Korean).
  std::vector<std::string> queries{std::string(query)}, listeds{std::string(listed)};
  for (std::string& r : AlternativeReadings(query)) queries.push_back(std::move(r));
  for (std::string& r : AlternativeReadings(listed)) listeds.push_back(std::move(r));
  double best = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    for (size_t j = 0; j < listeds.size(); ++j) {
      const double penalty = kReadingPenalty * ((i > 0) + (j > 0));
      best = std::max(best, ScoreOneReading(queries[i], listeds[j], listed_type) - penalty);
    }
  }
  return best;
}

double Index::ScoreOneReading(std::string_view query, std::string_view listed,
                              EntityType listed_type) const {
  std::vector<QueryToken> q = PrepareQuery(query);
  std::vector<QueryToken> c = PrepareQuery(listed);
  std::vector<NameToken> listed_tokens;
  for (const auto& t : c) listed_tokens.push_back(NameToken{t.text, t.weak});
  const uint16_t middle = listed_type == EntityType::kPerson
                              ? MiddleMask(listed, listed_tokens, VariantFolding::kFold)
                              : 0;
  std::vector<float> wq, wc;
  std::vector<std::string_view> tq, tc;
  std::vector<uint8_t> kq, kc, sq;
  for (const auto& t : q) {
    wq.push_back(t.weight), tq.push_back(t.text), kq.push_back(t.weak);
    sq.push_back(SurnameOnly(t));
  }
  for (const auto& t : c) wc.push_back(t.weight), tc.push_back(t.text), kc.push_back(t.weak);
  auto sim = [&](size_t i, size_t j) {
    if (q[i].weak != c[j].weak) return q[i].text == c[j].text ? 1.0 : 0.0;
    if (q[i].weak) return q[i].text == c[j].text ? 1.0 : 0.0;
    return TokenSim(q[i].text, c[j].text);
  };
  return Align(AlignSide{q.size(), wq.data(), tq.data(), kq.data(), sq.data()},
               AlignSide{c.size(), wc.data(), tc.data(), kc.data()}, middle,
               listed_type == EntityType::kPerson ? ExtraNames::kInside : ExtraNames::kNone, sim,
               nullptr);
}

std::vector<Match> Index::Screen(const ScreenQuery& query, const ScreenOptions& options) const {
  std::vector<std::string> readings = AlternativeReadings(query.name);
  if (readings.empty()) return ScreenReading(query, query.name, options);
  // A name in Han characters only: the pinyin reading and the Japanese and Korean ones, each
  // screened, merged best first, one match per listed party.
  // A match through a reading (a guess: the name may be Chinese) scores kReadingPenalty less.
  std::vector<Match> all = ScreenReading(query, query.name, options);
  ScreenOptions stricter = options;
  stricter.threshold = std::min(1.0, options.threshold + kReadingPenalty);
  for (const std::string& r : readings) {
    for (Match& m : ScreenReading(query, r, stricter)) {
      m.score -= kReadingPenalty;
      m.name_score -= kReadingPenalty;
      all.push_back(std::move(m));
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Match& a, const Match& b) { return a.score > b.score; });
  std::vector<Match> out;
  for (Match& m : all) {
    if (static_cast<int>(out.size()) >= options.limit) break;
    bool dup = false;
    for (const Match& o : out) {
      dup |= o.entry->source_id == m.entry->source_id && o.entry->list == m.entry->list;
    }
    if (!dup) out.push_back(std::move(m));
  }
  return out;
}

std::vector<Match> Index::ScreenReading(const ScreenQuery& query, std::string_view name,
                                        const ScreenOptions& options) const {
  std::vector<Match> out;
  std::vector<QueryToken> q = PrepareQuery(name);
  if (q.empty() || names_.empty()) return out;

  // Expansions per query token; a token missing from the dictionary weighs like its best
  // fuzzy neighbour.
  std::vector<std::vector<std::pair<uint32_t, float>>> exp(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    Expand(q[i], exp[i]);
    if (q[i].id == kNoToken && !q[i].split && !exp[i].empty()) {
      q[i].weight = token_weight_[exp[i][0].first];
    }
  }
  // Blocking: names sharing a (similar) strong token with the query.
  // A query of company forms and honorifics only ("LLC", "Mr") identifies nobody.
  std::vector<size_t> blocking;
  bool any_strong = false;
  for (size_t i = 0; i < q.size(); ++i) {
    any_strong |= !q[i].weak;
    if (!q[i].weak && q[i].text.size() >= 2) blocking.push_back(i);
  }
  if (!any_strong) return out;
  if (blocking.empty()) {  // initials only ("J. R."): block on them all the same
    for (size_t i = 0; i < q.size(); ++i) blocking.push_back(i);
  }
  Scratch& s = ThreadScratch(names_.size(), token_text_.size());
  const uint32_t query_epoch = s.Next();
  std::vector<uint32_t> touched;
  double block_weight = 0;
  for (size_t i : blocking) {
    block_weight += q[i].weight;
    const uint32_t tok_epoch = s.Next();
    std::vector<uint32_t> this_token;
    // The token's neighbours, then (for selection only, not as a pair's similarity) the
    // words it is half of or made of.
    std::vector<std::pair<uint32_t, float>> selectors = exp[i];
    for (uint32_t tok : q[i].extra) selectors.emplace_back(tok, 1.0f);
    for (const auto& [tok, sim] : selectors) {
      for (uint32_t k = posting_offsets_[tok]; k < posting_offsets_[tok + 1]; ++k) {
        const uint32_t nm = postings_[k];
        if (s.tok_stamp[nm] != tok_epoch) {
          s.tok_stamp[nm] = tok_epoch;
          s.cur[nm] = sim;
          this_token.push_back(nm);
        } else if (sim > s.cur[nm]) {
          s.cur[nm] = sim;
        }
      }
    }
    for (uint32_t nm : this_token) {
      if (s.name_stamp[nm] != query_epoch) {
        s.name_stamp[nm] = query_epoch;
        s.acc[nm] = 0;
        touched.push_back(nm);
      }
      s.acc[nm] += q[i].weight * s.cur[nm];
    }
  }
  if (touched.empty()) return out;
  // Prune on the blocking share of the query: the final score needs most of the query matched.
  double need_share =
      std::max(0.0, (options.threshold - (1 - kQueryShare)) / kQueryShare - 0.2);
  if (blocking.size() >= 3) {
    // A query with more names than the listed person's may reach the threshold with a
    // smaller share matched (its extra words weigh kMiddleWeight; see Align).
    const double r = std::clamp((options.threshold - (1 - kQueryShare)) / kQueryShare, 0.0, 0.99);
    const double k = kMiddleWeight * r / (1 - r);
    need_share = std::min(need_share, std::max(0.0, k / (1 + k) - 0.1));
  }
  const float cut = static_cast<float>(need_share * block_weight);
  std::vector<uint32_t> cands;
  for (uint32_t nm : touched) {
    if (s.acc[nm] >= cut) cands.push_back(nm);
  }
  if (cands.size() > kMaxCandidates) {
    // Ties are common when the query's words are common ("ABDUR REHMAN": hundreds of names
    // hold "abd" and "rahman"); among them, the names with less weight of their own leave less
    // of the listed name unmatched ("REHMAN, Abdur" before "'ABD AL-RAHMAN AL-SOMALI"), so they
    // go first, and the cut no longer depends on the posting order.
    auto listed_weight = [&](uint32_t nm) {
      const NameRec& rec = names_[nm];
      float w = 0;
      for (uint32_t k = 0; k < rec.tok_count; ++k) {
        w += token_weight_[name_tokens_[rec.tok_begin + k]];
      }
      return w;
    };
    std::nth_element(cands.begin(), cands.begin() + kMaxCandidates, cands.end(),
                     [&](uint32_t a, uint32_t b) {
                       if (s.acc[a] != s.acc[b]) return s.acc[a] > s.acc[b];
                       const float wa = listed_weight(a), wb = listed_weight(b);
                       if (wa != wb) return wa < wb;
                       return a < b;
                     });
    cands.resize(kMaxCandidates);
  }
  // Full scoring.
  std::vector<float> wq(q.size());
  std::vector<std::string_view> tq(q.size());
  std::vector<uint8_t> kq(q.size()), sq(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    wq[i] = q[i].weight;
    tq[i] = q[i].text;
    kq[i] = q[i].weak;
    sq[i] = SurnameOnly(q[i]);
  }
  const AlignSide qside{q.size(), wq.data(), tq.data(), kq.data(), sq.data()};
  float wc[16];
  std::string_view tc[16];
  uint8_t kc[16];
  auto listed_side = [&](const NameRec& rec) {
    const uint32_t* toks = &name_tokens_[rec.tok_begin];
    for (uint32_t j = 0; j < rec.tok_count; ++j) {
      wc[j] = token_weight_[toks[j]];
      tc[j] = token_text_[toks[j]];
      kc[j] = token_weak_[toks[j]];
    }
    return AlignSide{rec.tok_count, wc, tc, kc};
  };
  // A query's extra names may stand anywhere when its birth year agrees with the entry's.
  auto extra_names = [&](const Entry& entry) {
    if (entry.type != EntityType::kPerson) return ExtraNames::kNone;
    if (query.birth_year > 0) {
      for (int y : entry.birth_years) {
        if (std::abs(y - query.birth_year) <= 1) return ExtraNames::kAnywhere;
      }
    }
    return ExtraNames::kInside;
  };
  struct Scored {
    uint32_t name;
    double name_score;
    double score;
    bool country_match;
  };
  std::vector<Scored> scored;
  for (uint32_t nm : cands) {
    const NameRec& rec = names_[nm];
    const Entry& entry = entries_[rec.entry];
    if (query.type != EntityType::kUnknown && entry.type != EntityType::kUnknown &&
        entry.type != query.type) {
      continue;
    }
    const uint32_t* toks = &name_tokens_[rec.tok_begin];
    const AlignSide cside = listed_side(rec);
    auto sim = [&](size_t i, size_t j) -> double {
      const uint32_t tok = toks[j];
      for (const auto& [id, sv] : exp[i]) {
        if (id == tok) return sv;
      }
      // Pairs the trigram filter did not propose (e.g. "maoeldi" / "mouldi") still count.
      if (q[i].weak || token_weak_[tok]) return 0.0;
      return TokenSim(q[i].text, token_text_[tok]);
    };
    const double name_score = Align(qside, cside, rec.middle_mask, extra_names(entry), sim,
                                    nullptr) - (rec.reading ? kReadingPenalty : 0.0);
    double score = name_score;
    bool country_match = false;
    if (query.country && !entry.countries.empty()) {
      country_match = std::find(entry.countries.begin(), entry.countries.end(),
                                *query.country) != entry.countries.end();
      score += country_match ? 0.02 : -0.02;
    }
    if (query.birth_year > 0 && !entry.birth_years.empty()) {
      bool near = false;
      for (int y : entry.birth_years) near |= std::abs(y - query.birth_year) <= 1;
      score += near ? 0.03 : -0.08;
    }
    score = std::clamp(score, 0.0, 1.0);
    if (score >= options.threshold) scored.push_back(Scored{nm, name_score, score, country_match});
  }
  std::sort(scored.begin(), scored.end(), [&](const Scored& a, const Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.country_match != b.country_match) return a.country_match;
    if (names_[a.name].entry != names_[b.name].entry) {
      return names_[a.name].entry < names_[b.name].entry;
    }
    return a.name < b.name;
  });
  // One match per listed party: the same entry can come from two files (OFAC's sdn.csv and
  // the CSL's SDN rows), so entries are told apart by (list, source id).
  std::vector<const Entry*> seen_entries;
  for (const Scored& sc : scored) {
    if (static_cast<int>(out.size()) >= options.limit) break;
    const NameRec& rec = names_[sc.name];
    const Entry& entry = entries_[rec.entry];
    bool dup = false;
    for (const Entry* e : seen_entries) {
      dup |= e->source_id == entry.source_id && e->list == entry.list;
    }
    if (dup) continue;
    seen_entries.push_back(&entry);
    Match m;
    m.entry = &entry;
    m.alias = rec.alias >= 0;
    m.matched_name = m.alias ? std::string_view(entry.aliases[rec.alias])
                             : std::string_view(entry.name);
    m.score = sc.score;
    m.name_score = sc.name_score;
    m.cite = Citation(entry.restricted_list);
    // Which tokens matched, for the explanation.
    const uint32_t* toks = &name_tokens_[rec.tok_begin];
    const AlignSide cside = listed_side(rec);
    std::vector<AlignedPair> aligned;
    auto sim = [&](size_t i, size_t j) -> double {
      for (const auto& [id, sv] : exp[i]) {
        if (id == toks[j]) return sv;
      }
      if (q[i].weak || token_weak_[toks[j]]) return 0.0;
      return TokenSim(q[i].text, token_text_[toks[j]]);
    };
    Align(qside, cside, rec.middle_mask, extra_names(entry), sim, &aligned);
    for (const AlignedPair& a : aligned) {  // "query=listed"; "+" joins a word written as two
      std::string pair = q[a.i].text;
      if (a.di == 2) pair += internal::Cat("+", q[a.i + 1].text);
      pair += internal::Cat("=", token_text_[toks[a.j]]);
      if (a.dj == 2) pair += internal::Cat("+", token_text_[toks[a.j + 1]]);
      m.matched_tokens.push_back(std::move(pair));
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<core::ScreeningHit> ToScreeningHits(const std::vector<Match>& matches,
                                                const HitBands& bands) {
  std::vector<core::ScreeningHit> hits;
  for (const Match& m : matches) {
    if (m.score < bands.potential || m.entry == nullptr) continue;
    core::ScreeningHit h;
    h.list = m.entry->restricted_list;
    h.confirmed = m.score >= bands.confirmed;
    h.entry_id = m.entry->source_id;
    h.name = std::string(m.matched_name);
    h.score = static_cast<float>(m.score);
    hits.push_back(std::move(h));
  }
  return hits;
}

}  // namespace eargate::screen
