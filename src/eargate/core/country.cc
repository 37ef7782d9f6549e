#include "eargate/core/country.h"

namespace eargate::core {

std::optional<Country> Country::Parse(std::string_view code) {
  if (code.size() == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z') {
    return Country(static_cast<uint16_t>((code[0] - 'A') * 26 + (code[1] - 'A')));
  }
  for (size_t i = 0; i < kRegions.size(); ++i) {
    if (code == kRegions[i]) return Country(static_cast<uint16_t>(kAlpha2Slots + i));
  }
  return std::nullopt;
}

Country Country::parent() const {
  if (!is_region()) return *this;
  std::string_view r = kRegions[index_ - kAlpha2Slots];
  return *Parse(r.substr(0, 2));
}

int Country::WriteCode(char* buf) const {
  if (!valid()) {
    buf[0] = '?';
    buf[1] = '?';
    return 2;
  }
  if (is_region()) {
    std::string_view r = kRegions[index_ - kAlpha2Slots];
    for (size_t i = 0; i < r.size(); ++i) buf[i] = r[i];
    return static_cast<int>(r.size());
  }
  buf[0] = static_cast<char>('A' + index_ / 26);
  buf[1] = static_cast<char>('A' + index_ % 26);
  return 2;
}

std::string Country::code() const {
  char buf[8];
  int n = WriteCode(buf);
  return std::string(buf, n);
}

}  // namespace eargate::core
