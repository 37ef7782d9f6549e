// Times as seconds since the Unix epoch (UTC), RFC 3339 parsing and formatting, and the
// Clock interface that keeps the decision engine free of clock reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eargate::core {

// Seconds since 1970-01-01T00:00:00Z. Sub-second precision is not kept: EAR instruments
// take effect at day or second granularity.
using Timestamp = int64_t;

// Parses RFC 3339 ("2026-06-12T00:00:00Z", "2026-06-12T02:00:00+02:00", fractional seconds
// allowed and dropped). With allow_date, a bare date "2026-06-12" means midnight UTC.
// Returns nullopt for anything else, including impossible dates (2026-02-30).
std::optional<Timestamp> ParseTime(std::string_view text, bool allow_date = false);

// Formats as "2026-06-12T00:00:00Z". A time before year 0000 or after 9999 is written as
// 0000-01-01T00:00:00Z or 9999-12-31T23:59:59Z (RFC 3339 has four-digit years only).
std::string FormatTime(Timestamp t);
// Writes the 20-character form to buf; returns 20.
int WriteTime(Timestamp t, char* buf);

// Days since epoch <-> civil date (proleptic Gregorian), exposed for tests.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// Where "now" comes from. The engine never calls this; its callers do.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
  static const Clock& System();
};

}  // namespace eargate::core
