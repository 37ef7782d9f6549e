// IP geolocation: the country an address is registered to (MaxMind DB format, read with
// libmaxminddb) and whether it lies in an operator-listed anonymizer / hosting range.
//
// A GeoIpDb is an immutable snapshot: Open() maps the file and validates it; after that,
// Lookup() is thread-safe, lock-free and allocation-free. Share it as
// shared_ptr<const GeoIpDb>; to pick up a new file, open a new snapshot and swap the pointer.
// The snapshot keeps the file mapped for its whole lifetime.
//
// The bundled database (third_party/geoip/, see PROVENANCE.md) gives country only. Region
// codes (UA-43) are never produced by this module.
//
// Usage:
//   EG_ASSIGN_OR_RETURN(auto db, geoip::GeoIpDb::Open({.db_path = "x.mmdb"}));
//   geoip::GeoResult r = db->Lookup("203.0.113.9");
//   if (r.country.valid()) ...
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "eargate/core/country.h"
#include "eargate/geoip/cidr.h"

namespace eargate::geoip {

struct GeoResult {
  bool valid_address = false;  // the text parsed as an IPv4/IPv6 address
  core::Country country;       // invalid when the address is unknown to the database
  bool anonymizer = false;     // in one of the configured anonymizer / hosting ranges
};

struct GeoIpOptions {
  std::string db_path;            // a .mmdb file with a `country_code` or `country.iso_code` field
  std::string anonymizer_ranges;  // optional: file of CIDRs, one a line ('#' comments)
};

class GeoIpDb {
 public:
  // Opens and validates the database. Errors: NotFound (no file), InvalidArgument (not a
  // MaxMind DB, or a bad anonymizer-range line, with file:line).
  static absl::StatusOr<std::shared_ptr<const GeoIpDb>> Open(const GeoIpOptions& options);

  ~GeoIpDb();
  GeoIpDb(const GeoIpDb&) = delete;
  GeoIpDb& operator=(const GeoIpDb&) = delete;

  GeoResult Lookup(std::string_view ip_text) const;
  GeoResult Lookup(const IpAddress& ip) const;

  // "<database_type> built <RFC 3339>, <n> nodes" for logs and /metrics.
  const std::string& description() const { return description_; }
  const std::string& path() const { return path_; }
  size_t anonymizer_ranges() const { return anonymizers_.size(); }

 private:
  GeoIpDb() = default;
  struct Mmdb;
  std::unique_ptr<Mmdb> mmdb_;
  CidrSet anonymizers_;
  std::string path_;
  std::string description_;
};

using GeoIpPtr = std::shared_ptr<const GeoIpDb>;

}  // namespace eargate::geoip
