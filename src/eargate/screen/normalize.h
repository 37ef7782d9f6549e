// Name normalization for restricted-party screening.
//
// A name (in any script) becomes a list of lower-case ASCII tokens:
//   1. non-ASCII text is transliterated with ICU ("Any-Latin; Latin-ASCII") and case-folded;
//      common CJK company forms (有限公司, 股份有限公司 ...) are replaced by "ltd" first, because
//      their romanization ("you xian gong si") would otherwise look like four name tokens;
//      Arabic, Hebrew and Hangul go through internal/romanize.h first (name-element table,
//      syllable-wise Korean romanization); Han is read as Mandarin (pinyin), and
//      AlternativeReadings gives the Japanese and Korean readings of Han-only names;
//   2. apostrophes are dropped ("O'Brien" -> "obrien"), every other non-alphanumeric
//      character separates tokens;
//   3. list boilerplate is cut ("...; and any successor, sub-unit, or subsidiary thereof");
//   4. honorifics, company-form words (LLC, GmbH, OOO, ZAO, Ltd ...) and function words
//      ("of", "the", "and") are marked *weak*: they are kept, but carry little weight when
//      scoring and never select candidates on their own.
// Token order is not preserved semantically: the scorer aligns tokens, so "PUTIN, Vladimir"
// and "Vladimir Putin" normalize to the same multiset.
//
// Thread-safety: all functions are thread-safe (ICU transliterators are per-thread clones).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eargate::screen {

struct NameToken {
  std::string text;   // lower-case ASCII, [a-z0-9]+
  bool weak = false;  // honorific, company form or function word
};

// Transliterates `utf8` to lower-case ASCII (ICU Any-Latin; Latin-ASCII; case folding).
// ASCII input takes a fast path that does not touch ICU. Invalid UTF-8 is replaced.
std::string FoldToAscii(std::string_view utf8);

// Whether NormalizeName folds name-element spelling variants ("Mohamed" -> "muhammad",
// "Abdul Rahman" -> "abd rahman", "Lee" -> "ri"; see internal/romanize.h). The index keeps
// listed names in both forms.
enum class VariantFolding : uint8_t { kFold, kAsSpelled };

// The tokens of a name, in order of appearance. Empty for a name with no letters or digits.
std::vector<NameToken> NormalizeName(std::string_view utf8,
                                     VariantFolding folding = VariantFolding::kFold);

// Other readings of `utf8` than NormalizeName's, to be normalized with NormalizeName and matched
// as alternatives: for a name written in Han characters only, its Japanese reading (IPAdic
// name words, Hepburn) and its Korean reading (Unihan kHangul, then the Hangul romanizer);
// see internal/han_readings.h. Empty for most names (a byte scan decides for Latin script).
std::vector<std::string> AlternativeReadings(std::string_view utf8);

// True for the words NormalizeName marks weak (expects a normalized token).
bool IsWeakToken(std::string_view token);

// The normalized tokens joined by single spaces (weak tokens included): a canonical key.
std::string CanonicalName(std::string_view utf8);

}  // namespace eargate::screen
