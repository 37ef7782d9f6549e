#include "eargate/screen/internal/jaro_winkler.h"

#include <algorithm>
#include <cstdint>

namespace eargate::screen::internal {

double Jaro(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  if (a == b) return 1.0;
  if (a.size() > b.size()) std::swap(a, b);
  constexpr size_t kMax = 64;
  if (b.size() > kMax) b = b.substr(0, kMax);
  if (a.size() > kMax) a = a.substr(0, kMax);
  const int la = static_cast<int>(a.size());
  const int lb = static_cast<int>(b.size());
  const int window = std::max(0, std::max(la, lb) / 2 - 1);
  bool a_match[kMax] = {};
  bool b_match[kMax] = {};
  int matches = 0;
  for (int i = 0; i < la; ++i) {
    const int lo = std::max(0, i - window);
    const int hi = std::min(lb - 1, i + window);
    for (int j = lo; j <= hi; ++j) {
      if (!b_match[j] && a[i] == b[j]) {
        a_match[i] = b_match[j] = true;
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  int transpositions = 0;
  for (int i = 0, j = 0; i < la; ++i) {
    if (!a_match[i]) continue;
    while (!b_match[j]) ++j;
    if (a[i] != b[j]) ++transpositions;
    ++j;
  }
  const double m = matches;
  return (m / la + m / lb + (m - transpositions / 2.0) / m) / 3.0;
}

double JaroWinkler(std::string_view a, std::string_view b) {
  const double j = Jaro(a, b);
  if (j < 0.7) return j;
  int prefix = 0;
  const size_t n = std::min<size_t>({a.size(), b.size(), 4});
  while (prefix < static_cast<int>(n) && a[prefix] == b[prefix]) ++prefix;
  return j + prefix * 0.1 * (1.0 - j);
}

namespace {

// Writes the skeleton of `t` (see SameUpToDoubling) into `out`; returns its length.
size_t Skeleton(std::string_view t, char* out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < t.size() && n < cap; ++i) {
    char c = t[i];
    if (c == 'p' && i + 1 < t.size() && t[i + 1] == 'h') {
      c = 'f';
      ++i;
    } else if (c == 'c' && i + 1 < t.size() && t[i + 1] == 'k') {
      c = 'k';
      ++i;
    }
    if (n > 0 && out[n - 1] == c) continue;
    out[n++] = c;
  }
  return n;
}

}  // namespace

bool SameUpToVowelQuality(std::string_view a, std::string_view b) {
  constexpr size_t kMax = 64;
  if (a.size() < 4 || b.size() < 4 || a.size() > kMax || b.size() > kMax) return false;
  auto vowel_class = [](char c) { return c == 'e' ? 'i' : c == 'o' ? 'u' : c; };
  if (vowel_class(a[0]) != vowel_class(b[0])) return false;  // most pairs: cheap reject
  auto fold = [](std::string_view t, char* out) {
    size_t n = 0;
    for (char c : t) {
      if (c == 'e') c = 'i';
      if (c == 'o') c = 'u';
      if (n > 0 && out[n - 1] == c) continue;
      out[n++] = c;
    }
    return n;
  };
  char sa[kMax], sb[kMax];
  const size_t na = fold(a, sa), nb = fold(b, sb);
  return na == nb && std::string_view(sa, na) == std::string_view(sb, nb);
}

bool SameUpToDoubling(std::string_view a, std::string_view b) {
  constexpr size_t kMax = 64;
  if (a.empty() || b.empty() || a.size() > kMax || b.size() > kMax) return false;
  // Most pairs differ in the first letter; only "ph" / "f" can make that a variant.
  if (a[0] != b[0] && !((a[0] == 'p' && b[0] == 'f') || (a[0] == 'f' && b[0] == 'p'))) {
    return false;
  }
  char sa[kMax], sb[kMax];
  const size_t na = Skeleton(a, sa, kMax);
  const size_t nb = Skeleton(b, sb, kMax);
  return na == nb && na >= 2 && std::string_view(sa, na) == std::string_view(sb, nb);
}

}  // namespace eargate::screen::internal
