// Romanization rules for the scripts ICU's letter-by-letter transliterators get wrong for
// names, and folding of common spelling variants (screen/README.md, "Romanization").
//
//   * Arabic and Hebrew are written without short vowels: ICU turns محمد into "mhmd". Common
//     name elements (given names, "abd", "abu", "bin", "al-" ...) are looked up as whole words
//     in a table of their usual English spelling before ICU runs; a word starting with the
//     article ال is split into "al" + the rest. Other words fall through to ICU.
//   * Hangul is romanized syllable by syllable (spaces between syllables, the way lists write
//     Korean names: "KIM Jong Un") with the DPRK/McCune-Reischauer-style letter values lists
//     use (ㅓ "o", ㅡ "u", ㄱ "k", ㅂ "p" ...) instead of ICU's Revised Romanization, which
//     writes 김정은 as "gimjeong-eun". A name-initial 이 is "ri" (the DPRK spelling).
//   * Latin spellings of the same Arabic or Korean name element are folded to one form on
//     both sides ("Mohammed", "Mohamad", "Muhammed" -> "muhammad"; "Lee", "Yi", "Rhee" -> "ri";
//     "Park" -> "pak"); "Abd al-Aziz", "Abdel Aziz", "Abdulaziz" -> "abd aziz".
//     The index also keeps each listed name as spelled (without this folding), so a typo of a
//     variant ("Mihmoud") still meets the listed "Mahmoud".
//
// Thread-safety: pure functions over constant tables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <unicode/unistr.h>

namespace eargate::screen::internal {

// True when `u` holds Arabic, Hebrew or Hangul letters (then RomanizeWords has work to do).
bool NeedsWordRomanization(const icu::UnicodeString& u);

// Replaces the Arabic/Hebrew name elements of the table and every Hangul word by their Latin
// spelling; leaves everything else for ICU.
void RomanizeWords(icu::UnicodeString& u);

// The canonical spelling of a Latin name-element variant ("mohammed" -> "muhammad"), or
// `token` itself. Expects a lower-case ASCII token.
std::string_view FoldNameVariant(std::string_view token);

// The "servant of" element of Arabic names, however written, becomes the token "abd" before the
// name it governs (an article "al"/"el"/"ul"/"ar"/"ur" in between dropped): "Abd al-Rahman",
// "Abdul Rahman", "Abdurrahman", "Abdelrahman" -> "abd rahman"; "Abdullah", "Abd Allah" ->
// "abd lah". Kept as separate tokens so that "SABOOR, Abdul" still aligns with "Abdul Saboor".
void SplitAbdNames(std::vector<std::string>& tokens);

}  // namespace eargate::screen::internal
