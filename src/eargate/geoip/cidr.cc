#include "eargate/geoip/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <fstream>


#include "eargate/core/strings.h"

namespace eargate::geoip {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[64];
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == std::string_view::npos) {
    in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) != 1) return std::nullopt;
    return FromV4(ntohl(a4.s_addr));
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
  std::array<uint8_t, 16> b;
  std::copy(std::begin(a6.s6_addr), std::end(a6.s6_addr), b.begin());
  return FromV6(b);
}

IpAddress IpAddress::FromV4(uint32_t host_order) {
  IpAddress ip;
  ip.bytes[10] = 0xff;
  ip.bytes[11] = 0xff;
  ip.bytes[12] = host_order >> 24;
  ip.bytes[13] = host_order >> 16;
  ip.bytes[14] = host_order >> 8;
  ip.bytes[15] = host_order;
  ip.v4 = true;
  return ip;
}

IpAddress IpAddress::FromV6(const std::array<uint8_t, 16>& bytes) {
  IpAddress ip;
  ip.bytes = bytes;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  ip.v4 = std::equal(std::begin(kMapped), std::end(kMapped), bytes.begin());
  return ip;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

absl::StatusOr<CidrSet::Range> CidrSet::ParseEntry(std::string_view entry) {
  entry = core::StripWhitespace(entry);
  std::string_view addr = entry;
  int prefix = -1;
  if (size_t slash = entry.find('/'); slash != std::string_view::npos) {
    addr = entry.substr(0, slash);
    std::string_view p = entry.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty()) {
      return absl::InvalidArgumentError(core::StrCat("bad prefix length in '", entry, "'"));
    }
  }
  auto ip = IpAddress::Parse(addr);
  if (!ip) return absl::InvalidArgumentError(core::StrCat("not an IP address: '", entry, "'"));
  int max_bits = ip->v4 ? 32 : 128;
  if (prefix < 0) prefix = max_bits;
  if (prefix > max_bits) {
    return absl::InvalidArgumentError(core::StrCat("bad prefix length in '", entry, "'"));
  }
  int bits = ip->v4 ? prefix + 96 : prefix;  // position in the 128-bit form
  Range r{*ip, *ip};
  for (int i = 0; i < 128; ++i) {
    if (i < bits) continue;
    uint8_t mask = 0x80 >> (i % 8);
    r.lo.bytes[i / 8] &= ~mask;
    r.hi.bytes[i / 8] |= mask;
  }
  return r;
}

void CidrSet::Normalize() {
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range& a, const Range& b) { return a.lo < b.lo; });
  std::vector<Range> merged;
  for (const Range& r : ranges_) {
    if (!merged.empty() && !(merged.back().hi < r.lo)) {
      if (merged.back().hi < r.hi) merged.back().hi = r.hi;
      continue;
    }
    merged.push_back(r);
  }
  ranges_ = std::move(merged);
}

absl::StatusOr<CidrSet> CidrSet::Parse(const std::vector<std::string>& entries) {
  CidrSet set;
  std::vector<std::string> errors;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto r = ParseEntry(entries[i]);
    if (!r.ok()) {
      errors.push_back(core::StrCat("entry ", i, ": ", std::string(r.status().message())));
      continue;
    }
    set.ranges_.push_back(*r);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(core::StrJoin(errors, "\n"));
  set.Normalize();
  return set;
}

absl::StatusOr<CidrSet> CidrSet::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(core::StrCat(path, ": cannot open"));
  CidrSet set;
  std::vector<std::string> errors;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string_view v = line;
    if (size_t hash = v.find('#'); hash != std::string_view::npos) v = v.substr(0, hash);
    v = core::StripWhitespace(v);
    if (v.empty()) continue;
    auto r = ParseEntry(v);
    if (!r.ok()) {
      errors.push_back(core::StrCat(path, ":", n, ": ", std::string(r.status().message())));
      continue;
    }
    set.ranges_.push_back(*r);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(core::StrJoin(errors, "\n"));
  set.Normalize();
  return set;
}

bool CidrSet::Contains(const IpAddress& ip) const {
  // First range whose lo > ip; the candidate is the one before it.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), ip,
                             [](const IpAddress& v, const Range& r) { return v < r.lo; });
  if (it == ranges_.begin()) return false;
  --it;
  return !(it->hi < ip);
}

}  // namespace eargate::geoip
