#include "eargate/rules/ear_data.h"

#include <algorithm>
#include <array>

#include "eargate/core/strings.h"
#include "eargate/core/csv.h"
#include "eargate/core/sha256.h"
#include "eargate/core/status.h"

namespace eargate::rules {

using core::Country;
using core::CountrySet;

namespace {

constexpr std::array<std::string_view, kChartColumnCount> kColumnNames = {
    "CB1", "CB2", "CB3", "NP1", "NP2", "NS1", "NS2", "MT1",
    "RS1", "RS2", "FC1", "CC1", "CC2", "CC3", "AT1", "AT2"};

// Reason-for-control codes as the CCL writes them (15 CFR 738.2(d)(2)(i)).
constexpr std::array<std::string_view, 14> kReasonCodes = {
    "AT", "CB", "CC", "CW", "EI", "FC", "MT", "NP", "NS", "RS", "SI", "SL", "UN", "CCL"};

constexpr std::array<std::string_view, 15> kGroups = {"A:1", "A:2", "A:3", "A:4", "A:5",
                                                       "A:6", "B",   "D:1", "D:2", "D:3",
                                                       "D:4", "D:5", "E:1", "E:2", "A:1"};

// Collects every problem found while loading, so that one run lists them all.
class Errors {
 public:
  void Add(const core::CsvTable& t, size_t row, std::string msg) {
    errors_.push_back(core::StrCat(t.name(), ":", t.line(row), ": ", msg));
  }
  void Add(std::string msg) { errors_.push_back(std::move(msg)); }
  absl::Status Status() const {
    if (errors_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(core::StrJoin(errors_, "\n"));
  }
  bool empty() const { return errors_.empty(); }

 private:
  std::vector<std::string> errors_;
};

std::optional<Verified> ParseVerified(std::string_view s) {
  if (s == "yes") return Verified::kYes;
  if (s == "partial") return Verified::kPartial;
  if (s == "no") return Verified::kNo;
  return std::nullopt;
}

std::optional<ChartColumn> ParseColumn(std::string_view s) {
  for (int i = 0; i < kChartColumnCount; ++i)
    if (kColumnNames[i] == s) return static_cast<ChartColumn>(i);
  return std::nullopt;
}

std::string GroupKey(std::string_view name) {
  if (name.substr(0, 6) == "group:") name.remove_prefix(6);
  return std::string(name);
}

}  // namespace

std::string_view Name(ChartColumn c) { return kColumnNames[static_cast<int>(c)]; }

Reasons ReasonBit(std::string_view code) {
  for (size_t i = 0; i < kReasonCodes.size(); ++i)
    if (kReasonCodes[i] == code) return Reasons{1} << i;
  return 0;
}

std::string ReasonsText(Reasons r) {
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < kReasonCodes.size(); ++i)
    if (r & (Reasons{1} << i)) parts.push_back(kReasonCodes[i]);
  return core::StrJoin(parts, ", ");
}

class EarDataLoader {
 public:
  explicit EarDataLoader(std::string dir) : dir_(std::move(dir)) { d_.reset(new EarData()); }

  absl::StatusOr<std::shared_ptr<const EarData>> Load() {
    d_->data_dir_ = dir_;
    d_->chart_index_.fill(-1);
    // Files are read in a fixed order; the fingerprint covers each name and its bytes.
    EG_RETURN_IF_ERROR(Read("ear/countries.csv", {"alpha2", "alpha3", "name"}, &countries_));
    EG_RETURN_IF_ERROR(Read("ear/country_chart.csv",
                            {"alpha2", "ear_name", "footnotes", "row_note", "verified"}, &chart_));
    EG_RETURN_IF_ERROR(Read("ear/country_groups.csv", {"alpha2", "group", "verified"}, &groups_));
    EG_RETURN_IF_ERROR(Read("ear/ear_destination_aliases.csv",
                            {"code", "ear_destination", "verified", "note"}, &aliases_));
    EG_RETURN_IF_ERROR(Read("ear/territories.csv", {"code", "ear_destination", "verified", "note"},
                            &territories_));
    EG_RETURN_IF_ERROR(Read("ear/eccns.csv",
                            {"eccn", "title", "reasons", "chart_columns", "note", "verified"},
                            &eccns_));
    EG_RETURN_IF_ERROR(Read("ear/embargoes.csv",
                            {"section", "alpha2_or_region", "scope_note", "verified"}, &embargoes_));
    EG_RETURN_IF_ERROR(Read("ear/catch_all.csv",
                            {"section", "alpha2_or_group", "basis", "note", "verified"},
                            &catch_all_));
    EG_RETURN_IF_ERROR(Read("sanctions/ofac_programs.csv",
                            {"jurisdiction", "program", "scope", "services_prohibited",
                             "in_force_from", "in_force_until", "authority", "verified", "note"},
                            &sanctions_));
    d_->fingerprint_ = "sha256:" + core::HexEncode(fingerprint_.Finish());

    LoadCountries();
    LoadChart();
    LoadGroups();
    LoadMappings();
    LoadEccns();
    LoadEmbargoes();
    LoadCatchAll();
    LoadSanctions();
    CheckCoverage();
    EG_RETURN_IF_ERROR(errors_.Status());
    return std::shared_ptr<const EarData>(std::move(d_));
  }

 private:
  absl::Status Read(const std::string& rel, const std::vector<std::string>& cols,
                    std::optional<core::CsvTable>* out) {
    std::string path = dir_ + "/" + rel;
    EG_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
    fingerprint_.Update(rel);
    fingerprint_.Update(std::string_view("\0", 1));
    fingerprint_.Update(text);
    EG_ASSIGN_OR_RETURN(core::CsvTable t, core::CsvTable::FromText(text, path, cols));
    *out = std::move(t);
    return absl::OkStatus();
  }

  Verified RowVerified(const core::CsvTable& t, size_t r) {
    auto v = ParseVerified(t.Get(r, "verified"));
    if (!v) {
      errors_.Add(t, r, core::StrCat("verified: must be yes, partial or no (got '",
                                     t.Get(r, "verified"), "')"));
      return Verified::kNo;
    }
    return *v;
  }

  // A known country or region code; reports and returns nullopt otherwise.
  std::optional<Country> Known(const core::CsvTable& t, size_t r, std::string_view column,
                               std::string_view code) {
    auto c = Country::Parse(code);
    if (!c || !d_->known_.Contains(*c)) {
      errors_.Add(t, r, core::StrCat(column, ": unknown country '", code, "'"));
      return std::nullopt;
    }
    return c;
  }

  // "CN", "E:1", "group:E:1", or "CN;E:1" -> set. Reports unknown entries.
  CountrySet CountriesOrGroups(const core::CsvTable& t, size_t r, std::string_view column) {
    CountrySet set;
    for (std::string_view part : core::Split(t.Get(r, column), ';')) {
      part = core::StripWhitespace(part);
      if (const CountrySet* g = d_->FindGroup(part)) {
        set.AddAll(*g);
      } else if (auto c = Known(t, r, column, part)) {
        set.Add(*c);
      }
    }
    return set;
  }

  void LoadCountries() {
    const auto& t = *countries_;
    for (size_t r = 0; r < t.size(); ++r) {
      auto c = Country::Parse(t.Get(r, "alpha2"));
      if (!c || c->is_region()) {
        errors_.Add(t, r, core::StrCat("alpha2: not an ISO 3166-1 alpha-2 code '", t.Get(r, "alpha2"), "'"));
        continue;
      }
      d_->country_index_[c->index()] = d_->countries_.size();
      d_->countries_.push_back({*c, t.Get(r, "alpha3"), t.Get(r, "name")});
      d_->known_.Add(*c);
    }
    for (std::string_view region : Country::kRegions) d_->known_.Add(*Country::Parse(region));
  }

  void LoadChart() {
    const auto& t = *chart_;
    for (size_t r = 0; r < t.size(); ++r) {
      auto c = Country::Parse(t.Get(r, "alpha2"));
      if (!c || c->is_region()) {
        errors_.Add(t, r, core::StrCat("alpha2: not a country code '", t.Get(r, "alpha2"), "'"));
        continue;
      }
      // Kosovo (XK) has a chart row but is not in ISO 3166-1: the chart makes it known.
      if (!d_->known_.Contains(*c)) {
        d_->known_.Add(*c);
        d_->country_index_[c->index()] = d_->countries_.size();
        d_->countries_.push_back({*c, "", t.Get(r, "ear_name")});
      }
      ChartRow row;
      row.country = *c;
      row.ear_name = t.Get(r, "ear_name");
      row.footnotes = t.Get(r, "footnotes");
      row.row_note = t.Get(r, "row_note");
      row.verified = RowVerified(t, r);
      for (int col = 0; col < kChartColumnCount; ++col) {
        const std::string& cell = t.Get(r, kColumnNames[col]);
        if (cell == "X") {
          row.columns |= ChartColumns{1} << col;
        } else if (!cell.empty()) {
          errors_.Add(t, r, core::StrCat(kColumnNames[col], ": must be X or empty (got '", cell, "')"));
        }
      }
      if (d_->chart_index_[c->index()] >= 0) {
        errors_.Add(t, r, core::StrCat("alpha2: duplicate chart row for ", c->code()));
        continue;
      }
      d_->chart_index_[c->index()] = static_cast<int16_t>(d_->chart_.size());
      d_->chart_.push_back(std::move(row));
    }
  }

  void LoadGroups() {
    const auto& t = *groups_;
    for (std::string_view g : kGroups) d_->groups_[std::string(g)];
    for (size_t r = 0; r < t.size(); ++r) {
      RowVerified(t, r);
      const std::string& g = t.Get(r, "group");
      auto it = d_->groups_.find(g);
      if (it == d_->groups_.end()) {
        errors_.Add(t, r, core::StrCat("group: unknown country group '", g, "'"));
        continue;
      }
      if (auto c = Known(t, r, "alpha2", t.Get(r, "alpha2"))) it->second.Add(*c);
    }
  }

  void LoadMappings() {
    for (int i = 0; i < Country::kSlots; ++i) {
      Country c = Country::FromIndex(static_cast<uint16_t>(i));
      if (d_->chart_index_[i] >= 0 || c == core::kUnitedStates) d_->ear_destination_[i] = c;
    }
    for (const auto* table : {&*aliases_, &*territories_}) {
      const auto& t = *table;
      for (size_t r = 0; r < t.size(); ++r) {
        Verified v = RowVerified(t, r);
        auto from = Known(t, r, "code", t.Get(r, "code"));
        if (!from) continue;
        Country to;
        const std::string& dest = t.Get(r, "ear_destination");
        if (!dest.empty()) {
          auto c = Known(t, r, "ear_destination", dest);
          if (!c) continue;
          if (d_->chart_index_[c->index()] < 0 && *c != core::kUnitedStates) {
            errors_.Add(t, r, core::StrCat("ear_destination: ", dest, " has no Country Chart row"));
            continue;
          }
          to = *c;
        }
        if (!from->is_region() && d_->chart_index_[from->index()] >= 0 && to != *from) {
          errors_.Add(t, r, core::StrCat("code: ", from->code(),
                                         " has its own chart row and cannot be mapped elsewhere"));
          continue;
        }
        d_->ear_destination_[from->index()] = to;
        d_->mappings_.push_back({*from, to, t.Get(r, "note"), v});
      }
    }
    // Regions without an explicit mapping decide as their country.
    for (std::string_view region : Country::kRegions) {
      Country r = *Country::Parse(region);
      if (!d_->ear_destination_[r.index()].valid())
        d_->ear_destination_[r.index()] = d_->ear_destination_[r.parent().index()];
    }
  }

  void LoadEccns() {
    const auto& t = *eccns_;
    for (size_t r = 0; r < t.size(); ++r) {
      Eccn base;
      base.title = t.Get(r, "title");
      base.note = t.Get(r, "note");
      base.verified = RowVerified(t, r);
      for (std::string_view code : core::Split(t.Get(r, "reasons"), ';', true)) {
        Reasons bit = ReasonBit(code);
        if (!bit) errors_.Add(t, r, core::StrCat("reasons: unknown reason for control '", code, "'"));
        base.reasons |= bit;
      }
      for (std::string_view col : core::Split(t.Get(r, "chart_columns"), ';', true)) {
        auto c = ParseColumn(col);
        if (!c) {
          errors_.Add(t, r, core::StrCat("chart_columns: unknown chart column '", col, "'"));
          continue;
        }
        base.chart_columns |= ChartColumns{1} << static_cast<int>(*c);
      }
      for (std::string_view code : core::Split(t.Get(r, "eccn"), ';')) {
        Eccn e = base;
        e.code = std::string(code);
        if (d_->FindEccn(e.code)) {
          errors_.Add(t, r, core::StrCat("eccn: duplicate entry ", e.code));
          continue;
        }
        d_->eccns_.push_back(std::move(e));
      }
    }
  }

  void LoadEmbargoes() {
    const auto& t = *embargoes_;
    struct Section {
      std::string_view section;
      EmbargoKind kind;
    };
    static constexpr Section kSections[] = {
        {"746.2", EmbargoKind::kCuba},          {"746.3", EmbargoKind::kIraq},
        {"746.4", EmbargoKind::kNorthKorea},    {"746.6(a)(1)", EmbargoKind::kCrimeaRegion},
        {"746.6(a)(2)", EmbargoKind::kCrimeaRegion}, {"746.7", EmbargoKind::kIran},
        {"746.8", EmbargoKind::kRussiaBelarus}, {"746.9", EmbargoKind::kSyria},
        {"746.1(b)(2)", EmbargoKind::kUnArms},
    };
    for (size_t r = 0; r < t.size(); ++r) {
      Verified v = RowVerified(t, r);
      const std::string& section = t.Get(r, "section");
      auto c = Known(t, r, "alpha2_or_region", t.Get(r, "alpha2_or_region"));
      if (section == "746 Supp. 3") continue;  // partner countries: no requirement of their own
      const Section* s = nullptr;
      for (const auto& k : kSections)
        if (k.section == section) s = &k;
      if (!s) {
        errors_.Add(t, r, core::StrCat("section: no engine rule for Part 746 section '", section,
                                       "' (add one in rules/ear_data.cc with its citation)"));
        continue;
      }
      if (!c) continue;
      // One rule per section; rows add destinations to it.
      EmbargoRule* rule = nullptr;
      for (auto& e : d_->embargoes_)
        if (e.section == section) rule = &e;
      if (!rule) {
        d_->embargoes_.push_back({std::string(section), s->kind, {}, t.Get(r, "scope_note"), v});
        rule = &d_->embargoes_.back();
      }
      rule->destinations.Add(*c);
      if (v != Verified::kYes && rule->verified == Verified::kYes) rule->verified = v;
    }
  }

  void LoadCatchAll() {
    const auto& t = *catch_all_;
    for (size_t r = 0; r < t.size(); ++r) {
      CatchAllRule rule;
      rule.section = t.Get(r, "section");
      rule.note = t.Get(r, "note");
      rule.verified = RowVerified(t, r);
      const std::string& basis = t.Get(r, "basis");
      if (basis == "destination") rule.basis = CatchAllBasis::kDestination;
      else if (basis == "destination_or_end_user_nationality") rule.basis = CatchAllBasis::kDestinationOrEndUserNationality;
      else if (basis == "destination_or_end_user") rule.basis = CatchAllBasis::kDestinationOrEndUser;
      else if (basis == "headquarters") rule.basis = CatchAllBasis::kHeadquarters;
      else if (basis == "us_person_activity") rule.basis = CatchAllBasis::kUsPersonActivity;
      else {
        errors_.Add(t, r, core::StrCat("basis: unknown basis '", basis, "'"));
        continue;
      }
      rule.destinations = CountriesOrGroups(t, r, "alpha2_or_group");
      const std::string& s = rule.section;
      // What each section binds on, and whether it can reach a hosted model or compute item
      // (doc/decision_model.md §4). The text is the section's own (catch_all.csv note).
      if (s.rfind("744.21", 0) == 0) {
        rule.knowledge = core::Knowledge::kMilitary;
      } else if (s.rfind("744.22", 0) == 0) {
        rule.knowledge = core::Knowledge::kMilitaryIntelligence;
      } else if (s.rfind("744.23(a)(1)", 0) == 0) {
        rule.knowledge = core::Knowledge::kSupercomputer;
        rule.evaluated = false;
        rule.why_not_evaluated =
            "covers only ICs and computers in ECCNs 3A001, 3A991, 4A003, 4A004, 4A994, 5A002, "
            "5A004 and 5A992";
      } else if (s.rfind("744.23(a)(2)", 0) == 0) {
        rule.knowledge = core::Knowledge::kAdvancedNodeIc;
      } else if (s.rfind("744.23", 0) == 0) {
        rule.knowledge = core::Knowledge::kSupercomputer;
        rule.evaluated = false;
        rule.why_not_evaluated =
            "headquarters test for advanced-computing ICs, HBM and SME items; needs the "
            "customer's headquarters and ultimate parent, which requests do not carry";
      } else if (s.rfind("744.17", 0) == 0) {
        rule.knowledge = core::Knowledge::kMilitary;
        rule.evaluated = false;
        rule.why_not_evaluated = "covers only microprocessors and their software and technology";
      } else if (s.rfind("744.6", 0) == 0) {
        rule.knowledge = core::Knowledge::kMilitaryIntelligence;
        rule.evaluated = false;
        rule.why_not_evaluated =
            "restricts U.S. persons' own support activities, not a customer's access; row is "
            "unverified";
      } else {
        errors_.Add(t, r, core::StrCat("section: no engine rule for Part 744 section '", s, "'"));
        continue;
      }
      d_->catch_alls_.push_back(std::move(rule));
    }
  }

  void LoadSanctions() {
    const auto& t = *sanctions_;
    for (size_t r = 0; r < t.size(); ++r) {
      SanctionsProgram p;
      p.verified = RowVerified(t, r);
      auto c = Known(t, r, "jurisdiction", t.Get(r, "jurisdiction"));
      if (!c) continue;
      p.jurisdiction = *c;
      p.program = t.Get(r, "program");
      p.scope = t.Get(r, "scope");
      if (p.scope != "country-wide" && p.scope != "region-wide" && p.scope != "sectoral")
        errors_.Add(t, r, core::StrCat("scope: must be country-wide, region-wide or sectoral (got '", p.scope, "')"));
      const std::string& sp = t.Get(r, "services_prohibited");
      if (sp == "yes") p.services_prohibited = true;
      else if (sp == "partial") p.services_prohibited = false;
      else if (sp != "no")
        errors_.Add(t, r, core::StrCat("services_prohibited: must be yes, partial or no (got '", sp, "')"));
      auto from = core::ParseTime(t.Get(r, "in_force_from"), true);
      if (!from) {
        errors_.Add(t, r, core::StrCat("in_force_from: not a date '", t.Get(r, "in_force_from"), "'"));
        continue;
      }
      p.in_force_from = *from;
      if (!t.Get(r, "in_force_until").empty()) {
        auto until = core::ParseTime(t.Get(r, "in_force_until"), true);
        if (!until) {
          errors_.Add(t, r, core::StrCat("in_force_until: not a date '", t.Get(r, "in_force_until"), "'"));
          continue;
        }
        p.in_force_until = *until;
      }
      p.authority = t.Get(r, "authority");
      p.note = t.Get(r, "note");
      d_->sanctions_.push_back(std::move(p));
    }
  }

  // Every ISO code must decide somehow: a chart row, the US, or an explicit mapping.
  void CheckCoverage() {
    std::vector<std::string> missing;
    for (const auto& info : d_->countries_) {
      Country c = info.country;
      if (d_->chart_index_[c.index()] >= 0 || c == core::kUnitedStates) continue;
      if (!d_->FindMapping(c)) missing.push_back(c.code());
    }
    if (!missing.empty())
      errors_.Add(core::StrCat(dir_, "/ear/territories.csv: no chart row and no mapping for ",
                               core::StrJoin(missing, ", ")));
  }

  std::string dir_;
  std::unique_ptr<EarData> d_;
  core::Sha256 fingerprint_;
  Errors errors_;
  std::optional<core::CsvTable> countries_, chart_, groups_, aliases_, territories_, eccns_,
      embargoes_, catch_all_, sanctions_;
};

absl::StatusOr<std::shared_ptr<const EarData>> EarData::Load(const std::string& data_dir) {
  return EarDataLoader(data_dir).Load();
}

const CountryInfo* EarData::FindCountry(Country c) const {
  auto it = country_index_.find(c.index());
  return it == country_index_.end() ? nullptr : &countries_[it->second];
}

const CountrySet* EarData::FindGroup(std::string_view name) const {
  auto it = groups_.find(GroupKey(name));
  return it == groups_.end() ? nullptr : &it->second;
}

std::vector<std::string> EarData::GroupNames() const {
  std::vector<std::string> names;
  for (const auto& [k, v] : groups_) names.push_back(k);
  std::sort(names.begin(), names.end());
  return names;
}

const DestinationMapping* EarData::FindMapping(Country c) const {
  for (const auto& m : mappings_)
    if (m.from == c) return &m;
  return nullptr;
}

const ChartRow* EarData::ChartFor(Country c) const {
  if (!c.valid()) return nullptr;
  int16_t i = chart_index_[c.index()];
  return i < 0 ? nullptr : &chart_[i];
}

const Eccn* EarData::FindEccn(std::string_view code) const {
  for (const auto& e : eccns_)
    if (e.code == code) return &e;
  return nullptr;
}

}  // namespace eargate::rules
