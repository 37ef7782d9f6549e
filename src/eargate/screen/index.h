// The restricted-party screening index: an immutable snapshot of the loaded lists with a
// blocking index (token dictionary, character-trigram index over tokens, token -> name
// postings) and a fuzzy scorer.
//
// Scoring (all names normalized by normalize.h):
//   * query and listed tokens are aligned one-to-one, best pairs first; a pair's similarity is
//     Jaro-Winkler, or 0.9 when one side is an initial of the other ("V" ~ "Vladimir") or the
//     same word but for a doubled letter or "ph"/"f", "ck"/"k" ("ful" ~ "full"); pairs below
//     kTokenFloor count as unmatched;
//   * a token may also pair with two adjacent tokens of the other side written as one word
//     ("sumiyoshikai" ~ "sumiyoshi kai", "hizb allah" ~ "hizballah", "ptyltd" ~ "pty ltd"):
//     one half exact, the other exact, a spelling variant or (5+ letters) close;
//   * a query word missing from the dictionary that is two dictionary words run together
//     ("llcsonis", "ms13") weighs what they weigh and selects names by them;
//   * a person's middle names (given names after the first, from "LAST, First Middle" or
//     "First Middle Last") that the query leaves out weigh kMiddleWeight of their weight when
//     the first name and surname match at kMiddleStrong or better and every query word matched
//     ("Andrey ZAKHAROV" ~ "ZAKHAROV, Andrey Georgiyevich"; not "Jong Sun KIM" ~ "KIM, Jong Un");
//   * the other way round, a query's words beyond a person's fully matched listed name (2+
//     strong tokens at kMiddleStrong or better; at most kMaxExtraNames words of 4+ letters,
//     inside the matched ones; Arabic connectors "ben", "bin", "ould", "abd" ... between them)
//     weigh kMiddleWeight ("SALAH EDDINE GASMI" ~ "GASMI, Salah"); after a complete listed
//     name of 3+ strong tokens (2+ of 4+ letters), each matched exactly and in listed order,
//     they may also follow it, unless the lists hold the word as a surname only
//     ("MOHAMMAD NAIM BARICH KHUDAIDAD" ~ "BARICH, Mohammad Naim"); when the query's birth
//     year agrees with the entry's they may also stand before or after it and be short;
//   * each token weighs its rarity in the lists (IDF); weak tokens (company forms, honorifics)
//     weigh kWeakWeight of that;
//   * name score = kQueryShare * (weighted share of the query matched) +
//                  (1 - kQueryShare) * (weighted share of the listed name matched),
//     so a query missing a middle name still scores high, and a query that is only one
//     common token of a long listed name does not;
//   * a name in Han characters only is also read as Japanese and as Korean
//     (AlternativeReadings): screened once per reading, a match through a reading scoring
//     kReadingPenalty less;
//   * country (when the query gives one and the entry lists any) and birth year move the
//     score a little (+0.02 / -0.02, +0.03 / -0.08) to break ties; a query type
//     (person/organization/vessel/aircraft) excludes entries of a different known type.
// Each entry is reported once, with its best-matching name (primary or alias).
//
// Thread-safety: an Index is immutable after Build(); Screen() is const and safe to call from
// any number of threads (scratch space is thread-local). Publish new snapshots with
// std::atomic<std::shared_ptr<const Index>>; build them off the hot path.
// Lifetime: a Match points into the Index it came from; keep the shared_ptr while using it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "eargate/core/country.h"
#include "eargate/core/request.h"
#include "eargate/screen/lists.h"

namespace eargate::screen {

inline constexpr double kDefaultThreshold = 0.86;

struct ScreenQuery {
  std::string name;
  std::optional<core::Country> country;
  EntityType type = EntityType::kUnknown;  // kUnknown: any type
  int birth_year = 0;                      // 0: unknown
};

struct ScreenOptions {
  double threshold = kDefaultThreshold;  // in [0, 1]
  int limit = 10;                        // at most this many matches, best first
};

struct Match {
  const Entry* entry = nullptr;
  std::string_view matched_name;  // the listed name (primary or alias) that matched
  bool alias = false;
  double score = 0;       // final, in [0, 1]
  double name_score = 0;  // before the country/birth-year adjustment
  // Aligned token pairs "query=listed" (normalized), best first.
  std::vector<std::string> matched_tokens;
  std::string_view cite;  // Citation(entry->restricted_list); "" for kOther lists
};

struct IndexStats {
  size_t entries = 0;
  size_t names = 0;          // primary names + aliases + joined-token variants
  size_t tokens = 0;         // distinct normalized tokens
  size_t memory_bytes = 0;   // estimate of the index structures (without the entries' strings)
  double build_seconds = 0;
};

class Index {
 public:
  // Builds the snapshot. Takes the entries; never fails (entries with no usable name token
  // are kept but cannot match).
  static std::shared_ptr<const Index> Build(ListSet lists);

  // Matches at or above options.threshold, best first, one per entry.
  std::vector<Match> Screen(const ScreenQuery& query, const ScreenOptions& options = {}) const;

  const std::vector<Entry>& entries() const { return entries_; }
  const ListSet& lists() const { return lists_meta_; }
  const IndexStats& stats() const { return stats_; }

  // Name-only score of two names with this index's token weights (for tests, calibration).
  // `listed_type` kPerson lets the listed name's middle names go unmatched at a small cost,
  // as Screen does for persons' entries.
  double ScoreNames(std::string_view query, std::string_view listed,
                    EntityType listed_type = EntityType::kUnknown) const;

  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;
  Index() = default;

  // Tuning constants (see the file comment).
  static constexpr double kTokenFloor = 0.80;
  static constexpr double kInitialSim = 0.90;
  // Tokens spelled alike but for a doubled letter or "ph" / "f", "ck" / "k" ("Ella" / "ela").
  static constexpr double kVariantSim = 0.90;
  static constexpr double kWeakWeight = 0.2;
  static constexpr double kQueryShare = 0.6;
  // A person's listed middle names that the query leaves out weigh kMiddleWeight of their
  // weight when every other strong listed token (first name, surname) matches at
  // kMiddleStrong or better ("Andrey ZAKHAROV" / "ZAKHAROV, Andrey Georgiyevich").
  static constexpr double kMiddleWeight = 0.25;
  static constexpr double kMiddleStrong = 0.90;
  // A query's strong words beyond a listed person's fully matched name (2+ strong tokens, each
  // at kMiddleStrong or better), at most kMaxExtraNames of them, weigh kMiddleWeight of their
  // weight ("SALAH EDDINE GASMI" / "GASMI, Salah").
  static constexpr int kMaxExtraNames = 3;
  // A name written in Han characters only is also read as Japanese and as Korean
  // (AlternativeReadings); a match through such a reading, a guess (the name may be Chinese),
  // scores kReadingPenalty less: at the default threshold only a near-exact reading matches,
  // and never in the confirmed band ("金正恩" ~ "KIM, Jong Un" 0.90).
  static constexpr double kReadingPenalty = 0.10;

 private:
  struct NameRec {
    uint32_t entry;
    uint32_t tok_begin;
    uint16_t tok_count;
    int16_t alias;  // -1 primary, else index into entry.aliases
    uint16_t middle_mask;  // a person's middle names (bit per token; see MiddleMask)
    bool reading;          // a Japanese or Korean reading of a Han-only name (kReadingPenalty)
    float total_weight;
  };
  struct QueryToken {
    std::string text;
    uint32_t id;  // dictionary id or kNoToken
    float weight;
    bool weak;
    bool split = false;  // not in the dictionary, but two dictionary words written as one
    // Further dictionary tokens that select candidates for this token: the parts of a split
    // ("llcsonis" -> "sonis"), or this token joined with a neighbour ("al qaida" -> "alqaida").
    std::vector<uint32_t> extra;
  };
  static constexpr uint32_t kNoToken = 0xFFFFFFFF;

  void AddName(uint32_t entry, int16_t alias, std::string_view text,
               std::vector<std::vector<uint32_t>>& postings);
  std::vector<QueryToken> PrepareQuery(std::string_view name) const;
  // Screen and ScoreNames for one reading of the query's name (Screen merges the readings
  // AlternativeReadings gives a Han-only name).
  std::vector<Match> ScreenReading(const ScreenQuery& query, std::string_view name,
                                   const ScreenOptions& options) const;
  double ScoreOneReading(std::string_view query, std::string_view listed,
                         EntityType listed_type) const;
  // A token missing from the dictionary that is two dictionary words (or company forms)
  // written as one ("llcsonis", "ptyltd") weighs what the two weigh and selects by them.
  void SplitUnknown(QueryToken& t) const;
  // Full score of query tokens against name n; fills matched pairs when non-null.
  double ScoreAgainst(const std::vector<QueryToken>& q, const NameRec& n,
                      std::vector<std::string>* pairs) const;
  // Dictionary tokens similar to `t` (with similarity), exact first.
  void Expand(const QueryToken& t, std::vector<std::pair<uint32_t, float>>& out) const;

  std::vector<Entry> entries_;
  ListSet lists_meta_;  // file reports and counts (entries moved out)
  absl::flat_hash_map<std::string, uint32_t> token_ids_;
  std::vector<std::string> token_text_;
  std::vector<float> token_weight_;
  std::vector<uint8_t> token_weak_;
  // Per token, kSurname and/or kGiven: seen in a person's "LAST, First" name as (part of) the
  // surname, as a given name.
  std::vector<uint8_t> token_role_;
  static constexpr uint8_t kSurname = 1, kGiven = 2;
  bool SurnameOnly(const QueryToken& t) const {
    return t.id != kNoToken && token_role_[t.id] == kSurname;
  }
  std::vector<uint32_t> posting_offsets_;  // token -> [offsets[t], offsets[t+1]) in postings_
  std::vector<uint32_t> postings_;         // name ids
  std::vector<uint32_t> trigram_offsets_;  // trigram code -> tokens
  std::vector<uint32_t> trigram_tokens_;
  std::vector<NameRec> names_;
  std::vector<uint32_t> name_tokens_;
  IndexStats stats_;
};

// The current snapshot, swapped atomically when lists are reloaded (STYLE §6). Readers take a
// shared_ptr and keep using that snapshot even if a newer one is published meanwhile.
// Thread-safety: all methods are safe from any thread; Get() takes no lock on the hot path
// beyond what std::atomic<std::shared_ptr> does.
class IndexHolder {
 public:
  std::shared_ptr<const Index> Get() const { return current_.load(std::memory_order_acquire); }
  void Set(std::shared_ptr<const Index> index) {
    current_.store(std::move(index), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const Index>> current_;
};

// Score bands that turn matches into findings for the engine.
struct HitBands {
  double potential = kDefaultThreshold;  // below: not a hit
  double confirmed = 0.97;               // at or above: a confirmed hit
};

// Turns matches into the hits the decision engine reads (core::ScreeningHit): matches below
// bands.potential are dropped; those at or above bands.confirmed are confirmed, the rest are
// potential matches awaiting review (DOMAIN §6; `uncertain.screening_potential_match`).
std::vector<core::ScreeningHit> ToScreeningHits(const std::vector<Match>& matches,
                                                const HitBands& bands = {});

}  // namespace eargate::screen
