// Sets of IPv4/IPv6 address ranges (CIDR blocks) and a parsed IP address type.
//
// Used for trusted proxies (server/) and for anonymizer / hosting ranges (GeoIpDb). A CidrSet
// is built once and then immutable: Contains() is a binary search over merged, sorted ranges,
// no allocation. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as IPv4.
//
// Thread-safety: immutable after construction; concurrent Contains() calls are safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace eargate::geoip {

// An IPv4 or IPv6 address. IPv4 is stored as ::ffff:a.b.c.d so both families share one order.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;  // true when the address is IPv4 (or IPv4-mapped IPv6)

  // Parses "203.0.113.9", "2001:db8::1", "[2001:db8::1]" or "::ffff:1.2.3.4". nullopt otherwise.
  static std::optional<IpAddress> Parse(std::string_view text);
  static IpAddress FromV4(uint32_t host_order);
  static IpAddress FromV6(const std::array<uint8_t, 16>& bytes);
  std::string ToString() const;
  auto operator<=>(const IpAddress&) const = default;
};

class CidrSet {
 public:
  CidrSet() = default;

  // Parses entries such as "10.0.0.0/8", "127.0.0.1" (a /32), "::1/128", "2001:db8::/32".
  // Every bad entry is reported ("entry 3: bad prefix length in '1.2.3.4/40'").
  static absl::StatusOr<CidrSet> Parse(const std::vector<std::string>& entries);
  // A file of entries, one per line; '#' starts a comment; blank lines ignored. Errors name
  // "path:line".
  static absl::StatusOr<CidrSet> LoadFile(const std::string& path);

  bool Contains(const IpAddress& ip) const;
  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }  // merged ranges

 private:
  struct Range {
    IpAddress lo, hi;  // inclusive
  };
  static absl::StatusOr<Range> ParseEntry(std::string_view entry);
  void Normalize();
  std::vector<Range> ranges_;
};

}  // namespace eargate::geoip
