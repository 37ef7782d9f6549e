// Countries and regions as small integer codes, and fixed-size sets of them.
//
// A Country is an ISO 3166-1 alpha-2 code ("US", "CN", also the user-assigned "XK" for Kosovo)
// or an ISO 3166-2 region code that the EAR treats specially ("UA-43" Crimea). Alpha-2 codes
// map arithmetically to [0, 676); region codes get fixed slots above that from a closed list
// (kRegions). Whether a code is a *known* country is a question for the reference data
// (rules::EarData), not for this type: Country only knows the spelling.
//
// Thread-safety: value types, freely copyable.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eargate::core {

class Country {
 public:
  static constexpr uint16_t kInvalid = 0xFFFF;
  static constexpr int kAlpha2Slots = 26 * 26;
  // Region codes the EAR names (Part 746.6, OFAC part 589). Closed list on purpose:
  // adding one is a code change reviewed with its citation.
  static constexpr std::array<std::string_view, 4> kRegions = {"UA-43", "UA-40", "UA-14",
                                                               "UA-09"};
  static constexpr int kSlots = kAlpha2Slots + static_cast<int>(kRegions.size());

  constexpr Country() = default;
  static constexpr Country FromIndex(uint16_t index) { return Country(index); }

  // Parses "DE" or "UA-43" (upper case only; callers normalise). Returns nullopt on anything else.
  static std::optional<Country> Parse(std::string_view code);

  constexpr bool valid() const { return index_ != kInvalid; }
  constexpr uint16_t index() const { return index_; }
  constexpr bool is_region() const { return valid() && index_ >= kAlpha2Slots; }
  // For a region, the country it lies in ("UA-43" -> "UA"); a country returns itself.
  Country parent() const;
  std::string code() const;
  // Writes the code to buf (at least 6 bytes); returns its length.
  int WriteCode(char* buf) const;

  constexpr bool operator==(const Country&) const = default;
  constexpr auto operator<=>(const Country&) const = default;

 private:
  constexpr explicit Country(uint16_t index) : index_(index) {}
  uint16_t index_ = kInvalid;
};

inline constexpr Country kUnitedStates = Country::FromIndex(('U' - 'A') * 26 + ('S' - 'A'));

// A set of countries/regions as a bitset: O(1) membership, no allocation.
class CountrySet {
 public:
  static constexpr int kWords = (Country::kSlots + 63) / 64;

  constexpr CountrySet() = default;
  void Add(Country c) {
    if (c.valid()) words_[c.index() >> 6] |= uint64_t{1} << (c.index() & 63);
  }
  constexpr bool Contains(Country c) const {
    return c.valid() && ((words_[c.index() >> 6] >> (c.index() & 63)) & 1);
  }
  void AddAll(const CountrySet& other) {
    for (int i = 0; i < kWords; ++i) words_[i] |= other.words_[i];
  }
  bool Empty() const {
    for (uint64_t w : words_)
      if (w) return false;
    return true;
  }
  int Size() const {
    int n = 0;
    for (uint64_t w : words_) n += std::popcount(w);
    return n;
  }
  // Calls fn(Country) for each member in code order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (int i = 0; i < kWords; ++i) {
      uint64_t w = words_[i];
      while (w) {
        int bit = std::countr_zero(w);
        fn(Country::FromIndex(static_cast<uint16_t>(i * 64 + bit)));
        w &= w - 1;
      }
    }
  }
  bool operator==(const CountrySet&) const = default;

 private:
  std::array<uint64_t, kWords> words_{};
};

}  // namespace eargate::core
