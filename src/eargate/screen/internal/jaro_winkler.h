// Jaro-Winkler similarity of two short ASCII tokens (internal to screen/).
#pragma once

#include <string_view>

namespace eargate::screen::internal {

// Jaro similarity in [0, 1].
double Jaro(std::string_view a, std::string_view b);
// Jaro-Winkler: Jaro plus a bonus of 0.1 per shared leading character (at most 4), applied
// only when Jaro >= 0.7 (Winkler's boost threshold).
double JaroWinkler(std::string_view a, std::string_view b);

// True when `a` and `b` are spelled the same once doubled letters are written once and "ph" /
// "ck" are written "f" / "k" ("Full" / "ful", "Ella" / "ela", "Pheap" / "feap", "Hassan" /
// "hasan"): spelling variants writers of names disagree on, however short the word.
bool SameUpToDoubling(std::string_view a, std::string_view b);

// True when `a` and `b` (4+ letters each) are spelled the same once "e" is written "i", "o" is
// written "u" and doubled letters once: the vowels Arabic script does not write (kasra, damma)
// or writes as a long vowel, which English, French and Levantine spellings render e or i, o or u
// ("Ezat" / "Izzat", "Moussa" / "Musa", "Yusop" / "Yusup"), and the same
// vowel digraphs of English spelling ("Roobow" / "Rubow", "Steel" / "Stil"). "a" stays apart
// ("Hamad" is not "Hamid").
bool SameUpToVowelQuality(std::string_view a, std::string_view b);

}  // namespace eargate::screen::internal
