// The EAR and OFAC reference tables (data/ear/, data/sanctions/), loaded and validated.
//
// Loading is all-or-nothing: a row naming an unknown country or group, a bad flag or a
// missing column is an error with "file:line: message", never a skip. Rows marked
// verified=no|partial stay marked, and findings resting on them say so.
//
// EarData is immutable after Load() and shared (shared_ptr<const EarData>) by every policy
// snapshot built on it. Thread-safe for concurrent reads.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "eargate/core/country.h"
#include "eargate/core/time.h"
#include "eargate/core/types.h"

namespace eargate::rules {

// Commerce Country Chart columns (15 CFR 738, Supp. 1), in chart order.
enum class ChartColumn : uint8_t {
  kCB1, kCB2, kCB3, kNP1, kNP2, kNS1, kNS2, kMT1, kRS1, kRS2, kFC1, kCC1, kCC2, kCC3, kAT1, kAT2,
};
inline constexpr int kChartColumnCount = 16;
std::string_view Name(ChartColumn c);
using ChartColumns = uint32_t;  // bitmask over ChartColumn

// Reasons for control as written in an ECCN's "Reason for Control" (NS, MT, RS, AT, UN, ...).
using Reasons = uint32_t;
// Parses one reason code ("NS"); returns its bit or 0 when unknown.
Reasons ReasonBit(std::string_view code);
std::string ReasonsText(Reasons r);

enum class Verified : uint8_t { kYes, kPartial, kNo };

struct CountryInfo {
  core::Country country;
  std::string alpha3;
  std::string name;
};

struct ChartRow {
  core::Country country;
  std::string ear_name;
  ChartColumns columns = 0;
  std::string footnotes;
  std::string row_note;  // non-empty for CU/IR/KP/SY: "See part 746 ..."
  Verified verified = Verified::kYes;
};

struct Eccn {
  std::string code;  // "5D002"
  std::string title;
  Reasons reasons = 0;
  ChartColumns chart_columns = 0;
  std::string note;
  Verified verified = Verified::kYes;
};

// Part 746 rules; what each section covers is code (rules/embargo.cc cites each paragraph),
// which destinations it names is data.
enum class EmbargoKind : uint8_t {
  kCuba,          // 746.2
  kIraq,          // 746.3
  kNorthKorea,    // 746.4
  kCrimeaRegion,  // 746.6(a)(1), (a)(2)
  kIran,          // 746.7
  kRussiaBelarus, // 746.8
  kSyria,         // 746.9
  kUnArms,        // 746.1(b)(2)
};

struct EmbargoRule {
  std::string section;  // "746.2"
  EmbargoKind kind;
  core::CountrySet destinations;
  std::string scope_note;
  Verified verified = Verified::kYes;
};

enum class CatchAllBasis : uint8_t {
  kDestination,
  kDestinationOrEndUserNationality,
  kDestinationOrEndUser,
  kHeadquarters,
  kUsPersonActivity,
};

struct CatchAllRule {
  std::string section;  // "744.22(a)"
  CatchAllBasis basis;
  core::CountrySet destinations;
  core::Knowledge knowledge;  // the knowledge it binds on
  // Whether this rule can reach a hosted model or compute item at all; see doc/decision_model.md.
  bool evaluated = true;
  std::string why_not_evaluated;
  std::string note;
  Verified verified = Verified::kYes;
};

struct SanctionsProgram {
  core::Country jurisdiction;  // country or region (UA-43)
  std::string program;
  std::string scope;  // country-wide | region-wide | sectoral
  bool services_prohibited = false;
  core::Timestamp in_force_from = 0;
  core::Timestamp in_force_until = 0;  // 0: open-ended
  std::string authority;
  std::string note;
  Verified verified = Verified::kYes;
  bool applies_automatically() const { return scope != "sectoral" && services_prohibited; }
};

// How an ISO code the chart lacks is decided (data/ear/ear_destination_aliases.csv and
// data/ear/territories.csv).
struct DestinationMapping {
  core::Country from;
  core::Country to;  // invalid: deliberately unmapped (the engine fails closed)
  std::string note;
  Verified verified = Verified::kYes;
};

class EarData {
 public:
  // Loads data_dir/ear/*.csv and data_dir/sanctions/*.csv. Every error is listed.
  static absl::StatusOr<std::shared_ptr<const EarData>> Load(const std::string& data_dir);

  // Country known to countries.csv (or the chart, for XK) or a known region.
  bool IsKnownCountry(core::Country c) const { return known_.Contains(c); }
  const CountryInfo* FindCountry(core::Country c) const;
  // "group:E:1" or "E:1" -> members; nullptr when no such group.
  const core::CountrySet* FindGroup(std::string_view name) const;
  std::vector<std::string> GroupNames() const;

  // The EAR destination a location or nationality decides as: HK -> CN, territories -> their
  // mapping, regions -> their country (for the chart; embargoes look at the region itself).
  // Invalid when the code is deliberately unmapped.
  core::Country EarDestination(core::Country c) const { return ear_destination_[c.index()]; }
  const DestinationMapping* FindMapping(core::Country c) const;

  const ChartRow* ChartFor(core::Country ear_destination) const;
  const Eccn* FindEccn(std::string_view code) const;

  const std::vector<EmbargoRule>& embargoes() const { return embargoes_; }
  const std::vector<CatchAllRule>& catch_alls() const { return catch_alls_; }
  const std::vector<SanctionsProgram>& sanctions() const { return sanctions_; }
  const std::vector<Eccn>& eccns() const { return eccns_; }
  const std::vector<ChartRow>& chart() const { return chart_; }
  const std::vector<DestinationMapping>& mappings() const { return mappings_; }

  // "sha256:<hex>" over every file loaded (name and bytes), part of each policy version.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& data_dir() const { return data_dir_; }

 private:
  EarData() = default;
  friend class EarDataLoader;

  std::string data_dir_;
  std::string fingerprint_;
  core::CountrySet known_;
  std::vector<CountryInfo> countries_;
  absl::flat_hash_map<uint16_t, size_t> country_index_;
  absl::flat_hash_map<std::string, core::CountrySet> groups_;
  std::array<core::Country, core::Country::kSlots> ear_destination_{};
  std::vector<DestinationMapping> mappings_;
  std::vector<ChartRow> chart_;
  std::array<int16_t, core::Country::kSlots> chart_index_{};
  std::vector<Eccn> eccns_;
  std::vector<EmbargoRule> embargoes_;
  std::vector<CatchAllRule> catch_alls_;
  std::vector<SanctionsProgram> sanctions_;
};

}  // namespace eargate::rules
