// Japanese and Korean readings of names written in Han characters only.
//
// ICU's Han-Latin transliterator reads every Han character as Mandarin pinyin, which is right
// for Chinese names and wrong for Japanese names in kanji (山田太郎 -> "shan tian tai lang",
// listed as "YAMADA Taro") and Korean names in hanja (金正恩 -> "jin zheng en", listed as
// "KIM Jong Un"). Two tables compiled in from data/name_readings/ (PROVENANCE.md there) give
// the other readings:
//   * Japanese: IPAdic's person-name words (surnames, given names) with up to three readings
//     each in passport-style Hepburn. A Han word is read as surname + given name (the split of
//     least IPAdic cost, i.e. the commonest words) or, failing that, as one surname or given
//     name; a name of several words (山田 太郎) reads each word so. Up to three readings per
//     name, commonest first (高山清司: "takayama seiji", "takayama kiyoshi", ...). Any word
//     left unread: no reading.
//   * Korean: Unihan's kHangul reading of each character (the name-hanja reading where there
//     are several: 金 -> 김, not 금), for names of 2 to 4 characters; the Hangul then goes
//     through the Korean romanizer like any Hangul name (김정은 -> "kim jong un").
// These are alternatives: the normalizer's own (pinyin) reading stays the first, so Chinese
// names match as before.
//
// Thread-safety: the tables are parsed once, on first use (thread-safe static), then read-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace eargate::screen::internal {

// The Japanese readings (Latin, words separated by spaces; up to three, commonest first) and the
// Korean reading (Hangul, last) of
// `utf8` when it is written in Han characters only (spaces, commas and the middle dots ・ ·
// between words allowed), each only when every character or word has a reading. Empty for
// any other name (a fast byte scan for Latin-script input).
std::vector<std::string> HanNameReadings(std::string_view utf8);

}  // namespace eargate::screen::internal
