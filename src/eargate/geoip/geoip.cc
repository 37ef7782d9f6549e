#include "eargate/geoip/geoip.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cstring>

#include "eargate/core/time.h"

#include "eargate/core/strings.h"

namespace eargate::geoip {

struct GeoIpDb::Mmdb {
  MMDB_s db;
  bool open = false;
  ~Mmdb() {
    if (open) MMDB_close(&db);
  }
};

GeoIpDb::~GeoIpDb() = default;

namespace {

// Reads a two-letter country code at `path` in the entry; invalid Country when absent.
core::Country CountryAt(MMDB_entry_s* entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) {
    return core::Country();
  }
  char code[2] = {data.utf8_string[0], data.utf8_string[1]};
  code[0] = (code[0] >= 'a' && code[0] <= 'z' ? code[0] - 32 : code[0]);
  code[1] = (code[1] >= 'a' && code[1] <= 'z' ? code[1] - 32 : code[1]);
  return core::Country::Parse(std::string_view(code, 2)).value_or(core::Country());
}

const char* const kCountryCodePath[] = {"country_code", nullptr};
const char* const kIsoCodePath[] = {"country", "iso_code", nullptr};

}  // namespace

absl::StatusOr<std::shared_ptr<const GeoIpDb>> GeoIpDb::Open(const GeoIpOptions& options) {
  struct stat st;
  if (options.db_path.empty() || stat(options.db_path.c_str(), &st) != 0) {
    return absl::NotFoundError(core::StrCat(options.db_path, ": no such geo-IP database"));
  }
  std::shared_ptr<GeoIpDb> db(new GeoIpDb());
  db->path_ = options.db_path;
  db->mmdb_ = std::make_unique<Mmdb>();
  int rc = MMDB_open(options.db_path.c_str(), MMDB_MODE_MMAP, &db->mmdb_->db);
  if (rc != MMDB_SUCCESS) {
    return absl::InvalidArgumentError(
        core::StrCat(options.db_path, ": not a MaxMind DB: ", MMDB_strerror(rc)));
  }
  db->mmdb_->open = true;
  const MMDB_metadata_s& md = db->mmdb_->db.metadata;
  db->description_ = core::StrCat(md.database_type ? md.database_type : "unknown", " built ",
                                  core::FormatTime(static_cast<core::Timestamp>(md.build_epoch)),
                                  ", ", md.node_count, " nodes");
  if (!options.anonymizer_ranges.empty()) {
    auto set = CidrSet::LoadFile(options.anonymizer_ranges);
    if (!set.ok()) return set.status();
    db->anonymizers_ = std::move(*set);
  }
  return std::shared_ptr<const GeoIpDb>(std::move(db));
}

GeoResult GeoIpDb::Lookup(std::string_view ip_text) const {
  auto ip = IpAddress::Parse(ip_text);
  if (!ip) return GeoResult{};
  return Lookup(*ip);
}

GeoResult GeoIpDb::Lookup(const IpAddress& ip) const {
  GeoResult r;
  r.valid_address = true;
  r.anonymizer = anonymizers_.Contains(ip);
  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s res;
  // An IPv4-only database cannot take an IPv6 sockaddr, and an IPv6 database finds IPv4
  // addresses through its IPv4 subtree when given AF_INET; so pass v4 as AF_INET.
  if (ip.v4) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::memcpy(&sa.sin_addr, ip.bytes.data() + 12, 4);
    res = MMDB_lookup_sockaddr(&mmdb_->db, reinterpret_cast<const sockaddr*>(&sa), &mmdb_error);
  } else {
    if (mmdb_->db.metadata.ip_version != 6) return r;
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    std::memcpy(&sa.sin6_addr, ip.bytes.data(), 16);
    res = MMDB_lookup_sockaddr(&mmdb_->db, reinterpret_cast<const sockaddr*>(&sa), &mmdb_error);
  }
  if (mmdb_error != MMDB_SUCCESS || !res.found_entry) return r;
  r.country = CountryAt(&res.entry, kCountryCodePath);
  if (!r.country.valid()) r.country = CountryAt(&res.entry, kIsoCodePath);
  return r;
}

}  // namespace eargate::geoip
