#include "eargate/screen/lists.h"

#include <algorithm>
#include <filesystem>

#include <simdjson.h>

#include "absl/container/flat_hash_map.h"
#include "eargate/core/csv.h"
#include "eargate/core/sha256.h"
#include "eargate/core/status.h"
#include "eargate/screen/internal/delimited.h"
#include "eargate/screen/internal/strings.h"

namespace eargate::screen {
namespace {

using core::RestrictedList;

using internal::Cat;
using internal::Contains;
using internal::Trim;

// OFAC's "-0- " means empty.
std::string OfacField(const internal::Row& row, size_t i) {
  if (i >= row.fields.size()) return "";
  std::string_view v = Trim(row.fields[i]);
  if (v == "-0-") return "";
  return std::string(v);
}

std::string BaseName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string Where(std::string_view path, int line) { return Cat(path, ":", line); }

// A delimited file's columns named by its first row (the CSL and DPL formats).
class HeaderColumns {
 public:
  // `what` names the format in errors ("CSL"): no header, or a `required` column missing.
  static absl::StatusOr<HeaderColumns> Read(const internal::DelimitedText& parsed,
                                            std::string_view path, std::string_view what,
                                            std::initializer_list<const char*> required) {
    if (parsed.rows.empty()) {
      return absl::InvalidArgumentError(Cat(path, ":1: ", what, " file has no header"));
    }
    HeaderColumns h;
    h.header_ = &parsed.rows[0].fields;
    for (size_t i = 0; i < h.header_->size(); ++i) h.col_[std::string(Trim((*h.header_)[i]))] = i;
    for (const char* name : required) {
      if (!h.col_.contains(name)) {
        return absl::InvalidArgumentError(
            Cat(path, ":1: ", what, " header lacks the column \"", name, "\""));
      }
    }
    return h;
  }
  const std::vector<std::string>& header() const { return *header_; }
  // The row's field in that column, trimmed; "" when there is no such column or field.
  std::string Get(const internal::Row& row, const char* name) const {
    auto it = col_.find(name);
    if (it == col_.end() || it->second >= row.fields.size()) return "";
    return std::string(Trim(row.fields[it->second]));
  }

 private:
  const std::vector<std::string>* header_ = nullptr;
  absl::flat_hash_map<std::string, size_t> col_;
};

void AddCountry(Entry& e, std::optional<core::Country> c) {
  if (!c) return;
  if (std::find(e.countries.begin(), e.countries.end(), *c) == e.countries.end()) {
    e.countries.push_back(*c);
  }
}

void AddBirthYears(Entry& e, std::string_view dob) {
  for (size_t i = 0; i + 4 <= dob.size(); ++i) {
    if (i > 0 && internal::IsDigit((dob[i - 1]))) continue;
    if (i + 4 < dob.size() && internal::IsDigit((dob[i + 4]))) {
      continue;
    }
    int year = 0;
    if (!internal::ParseInt(dob.substr(i, 4), &year)) continue;
    if (year >= 1880 && year <= 2030 &&
        std::find(e.birth_years.begin(), e.birth_years.end(), year) == e.birth_years.end()) {
      e.birth_years.push_back(year);
    }
  }
}

std::vector<std::string> SplitList(std::string_view s, std::string_view sep = ";") {
  std::vector<std::string> out;
  for (std::string_view part : internal::Split(s, sep)) {
    part = Trim(part);
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// Parses OFAC's remarks: "DOB 12 Mar 1961; POB ...; nationality Iran; a.k.a. 'X'; ...".
void ParseOfacRemarks(Entry& e, std::string_view remarks) {
  for (std::string_view phrase : internal::Split(remarks, ";")) {
    phrase = Trim(phrase);
    if (internal::ConsumePrefix(&phrase, "DOB ")) {
      std::string dob(Trim(phrase));
      AddBirthYears(e, dob);
      e.dates_of_birth.push_back(std::move(dob));
    } else if (internal::ConsumePrefix(&phrase, "nationality ") ||
               internal::ConsumePrefix(&phrase, "Nationality ") ||
               internal::ConsumePrefix(&phrase, "citizen ") ||
               internal::ConsumePrefix(&phrase, "Citizen ")) {
      AddCountry(e, CountryFromListText(Trim(internal::StripSuffix(phrase, "."))));
    } else if (internal::StartsWith(phrase, "a.k.a. '") || internal::StartsWith(phrase, "f.k.a. '") ||
               internal::StartsWith(phrase, "n.k.a. '")) {
      phrase.remove_prefix(8);
      size_t end = phrase.find('\'');
      std::string_view alias = Trim(phrase.substr(0, end));
      if (!alias.empty() &&
          std::find(e.aliases.begin(), e.aliases.end(), alias) == e.aliases.end()) {
        e.aliases.emplace_back(alias);
      }
    }
  }
}

struct CslSource {
  std::string_view key;  // abbreviation as it appears in parentheses
  std::string_view code;
  RestrictedList list;
};
constexpr CslSource kCslSources[] = {
    {"(EL)", "us_bis_el", RestrictedList::kEntityList},
    {"(DPL)", "us_bis_dpl", RestrictedList::kDeniedPersons},
    {"(UVL)", "us_bis_uvl", RestrictedList::kUnverified},
    {"(MEU)", "us_bis_meu", RestrictedList::kMeu},
    {"(SDN)", "us_ofac_sdn", RestrictedList::kSdn},
    {"(SSI)", "us_ofac_ssi", RestrictedList::kOther},
    {"(FSE)", "us_ofac_fse", RestrictedList::kOther},
    {"(PLC)", "us_ofac_plc", RestrictedList::kOther},
    {"(NS-PLC)", "us_ofac_plc", RestrictedList::kOther},
    {"(CMIC)", "us_ofac_cmic", RestrictedList::kOther},
    {"(NS-MBS", "us_ofac_mbs", RestrictedList::kOther},
    {"(CAP", "us_ofac_capta", RestrictedList::kOther},
    {"(ISN)", "us_state_isn", RestrictedList::kOther},
    {"(DTC)", "us_state_dtc", RestrictedList::kOther},
};

void SetCslSource(Entry& e, std::string_view source) {
  e.source = std::string(Trim(source));
  for (const CslSource& s : kCslSources) {
    if (Contains(source, s.key)) {
      e.list = std::string(s.code);
      e.restricted_list = s.list;
      return;
    }
  }
  // Abbreviations are the stable part; fall back to the long names.
  if (Contains(source, "Entity List")) {
    e.list = "us_bis_el";
    e.restricted_list = RestrictedList::kEntityList;
  } else if (Contains(source, "Denied Persons")) {
    e.list = "us_bis_dpl";
    e.restricted_list = RestrictedList::kDeniedPersons;
  } else if (Contains(source, "Unverified")) {
    e.list = "us_bis_uvl";
    e.restricted_list = RestrictedList::kUnverified;
  } else if (Contains(source, "Military End User")) {
    e.list = "us_bis_meu";
    e.restricted_list = RestrictedList::kMeu;
  } else if (Contains(source, "Specially Designated Nationals")) {
    e.list = "us_ofac_sdn";
    e.restricted_list = RestrictedList::kSdn;
  } else {
    e.list = "us_csl_other";
    e.restricted_list = RestrictedList::kOther;
  }
}

EntityType CslType(std::string_view t) {
  std::string lower = internal::Lower(Trim(t));
  if (lower == "individual") return EntityType::kPerson;
  if (lower == "entity") return EntityType::kOrganization;
  if (lower == "vessel") return EntityType::kVessel;
  if (lower == "aircraft") return EntityType::kAircraft;
  return EntityType::kUnknown;
}

// The country of a CSL address: its last comma-separated part when that is an ISO code.
void AddAddressCountry(Entry& e, std::string_view address) {
  size_t comma = address.rfind(',');
  std::string_view last = Trim(comma == std::string_view::npos ? address
                                                                 : address.substr(comma + 1));
  AddCountry(e, CountryFromListText(last));
}

}  // namespace

std::string_view Name(EntityType t) {
  switch (t) {
    case EntityType::kPerson: return "person";
    case EntityType::kOrganization: return "organization";
    case EntityType::kVessel: return "vessel";
    case EntityType::kAircraft: return "aircraft";
    case EntityType::kUnknown: break;
  }
  return "unknown";
}

std::optional<EntityType> ParseEntityType(std::string_view s) {
  if (s == "person" || s == "individual") return EntityType::kPerson;
  if (s == "organization" || s == "entity") return EntityType::kOrganization;
  if (s == "vessel") return EntityType::kVessel;
  if (s == "aircraft") return EntityType::kAircraft;
  return std::nullopt;
}

std::string_view Citation(RestrictedList list) {
  switch (list) {
    case RestrictedList::kEntityList: return "15 CFR 744.11; Supp. 4 to Part 744";
    case RestrictedList::kDeniedPersons: return "15 CFR 736.2(b)(4)";
    case RestrictedList::kSdn: return "31 CFR 501 (SDN)";
    case RestrictedList::kUnverified: return "15 CFR 744.15";
    case RestrictedList::kMeu: return "Supp. 7 to Part 744";
    case RestrictedList::kOther: break;
  }
  return "";
}

std::string_view Name(FileFormat f) {
  switch (f) {
    case FileFormat::kOfacPrimary: return "ofac_primary";
    case FileFormat::kOfacAlt: return "ofac_alt";
    case FileFormat::kOfacAddress: return "ofac_add";
    case FileFormat::kOfacComments: return "ofac_comments";
    case FileFormat::kCslCsv: return "csl_csv";
    case FileFormat::kCslJson: return "csl_json";
    case FileFormat::kBisDpl: return "bis_dpl";
  }
  return "?";
}

std::optional<core::Country> CountryFromListText(std::string_view text) {
  static const auto* kNames = new absl::flat_hash_map<std::string, std::string_view>{
#include "eargate/screen/internal/country_names.inc"
  };
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  if (text.size() == 2 && (text[0] >= 'A' && text[0] <= 'Z') &&
      (text[1] >= 'A' && text[1] <= 'Z')) {
    return core::Country::Parse(text);
  }
  auto it = kNames->find(internal::Lower(text));
  if (it == kNames->end()) return std::nullopt;
  return core::Country::Parse(it->second);
}

absl::StatusOr<FileFormat> DetectFormat(std::string_view content, std::string_view path) {
  if (content.size() >= 3 && content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  std::string_view head = Trim(content.substr(0, 4096));
  if (head.empty()) return absl::InvalidArgumentError(Cat(path, ": empty file"));
  if (head[0] == '{' || head[0] == '[') return FileFormat::kCslJson;
  std::string_view first_line = head.substr(0, head.find('\n'));
  if (internal::StartsWith(first_line, "_id,") || internal::StartsWith(first_line, "\"_id\",") ||
      (Contains(first_line, "source") && Contains(first_line, "entity_number") &&
       Contains(first_line, "alt_names"))) {
    return FileFormat::kCslCsv;
  }
  if (internal::StartsWith(first_line, "\"Name\"\t") || internal::StartsWith(first_line, "Name\t")) {
    return FileFormat::kBisDpl;
  }
  if (internal::IsDigit((head[0]))) {
    // OFAC legacy CSV has no header: the column count of the first row tells the file.
    internal::DelimitedText first = internal::ParseDelimited(
        content.substr(0, std::min(content.size(), content.find('\n') + 1)), ',');
    size_t n = first.rows.empty() ? 0 : first.rows[0].fields.size();
    switch (n) {
      case 12: return FileFormat::kOfacPrimary;
      case 6: return FileFormat::kOfacAddress;
      case 5: return FileFormat::kOfacAlt;
      case 2: return FileFormat::kOfacComments;
      default:
        return absl::InvalidArgumentError(Cat(
            path, ":1: looks like OFAC legacy CSV but has ", n,
            " columns (sdn.csv has 12, add.csv 6, alt.csv 5, sdn_comments.csv 2)"));
    }
  }
  return absl::InvalidArgumentError(Cat(
      path, ":1: unrecognised list format (expected OFAC sdn/alt/add/comments CSV, CSL CSV or "
            "JSON, or BIS dpl.txt)"));
}

absl::Status ListSetBuilder::AddFile(const std::string& path) {
  EG_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
  return AddText(text, path);
}

absl::Status ListSetBuilder::AddDirectory(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename().string();
    std::string ext = it->path().extension().string();
    if (ext != ".csv" && ext != ".txt" && ext != ".json") continue;
    if (internal::StartsWith(name, "README") || internal::StartsWith(name, "PROVENANCE") ||
        internal::StartsWith(name, "SHA256")) {
      continue;
    }
    paths.push_back(it->path().string());
  }
  if (ec) return absl::NotFoundError(Cat(dir, ": ", ec.message()));
  std::sort(paths.begin(), paths.end());
  for (const std::string& p : paths) EG_RETURN_IF_ERROR(AddFile(p));
  return absl::OkStatus();
}

absl::Status ListSetBuilder::AddText(std::string_view text, const std::string& path) {
  EG_ASSIGN_OR_RETURN(FileFormat format, DetectFormat(text, path));
  FileReport report;
  report.path = path;
  report.format = format;
  std::vector<Entry> entries;
  std::vector<OfacAux> aux;  // kept only when the whole file parses
  const std::string family = internal::StartsWith(BaseName(path), "cons_") ? "cons" : "sdn";

  if (format == FileFormat::kCslJson) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(text);
    simdjson::dom::element root;
    if (auto err = parser.parse(padded).get(root); err) {
      return absl::InvalidArgumentError(
          Cat(path, ": not valid JSON: ", simdjson::error_message(err)));
    }
    simdjson::dom::array results;
    if (root.get_array().get(results) != simdjson::SUCCESS &&
        root["results"].get_array().get(results) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          Cat(path, ": CSL JSON needs a \"results\" array or a top-level array"));
    }
    auto strings_of = [](std::optional<simdjson::dom::element> opt) {
      std::vector<std::string> out;
      if (!opt) return out;
      simdjson::dom::element el = *opt;
      if (std::string_view v; el.get_string().get(v) == simdjson::SUCCESS) {
        for (auto& s : SplitList(v)) out.push_back(std::move(s));
      } else if (simdjson::dom::array arr; el.get_array().get(arr) == simdjson::SUCCESS) {
        for (simdjson::dom::element x : arr) {
          std::string_view v;
          if (x.get_string().get(v) == simdjson::SUCCESS) out.emplace_back(Trim(v));
        }
      }
      return out;
    };
    size_t index = 0;
    for (simdjson::dom::element row : results) {
      std::string where = Cat(path, ": results[", index++, "]");
      simdjson::dom::object obj;
      if (row.get_object().get(obj) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(Cat(where, ": not an object"));
      }
      auto str = [&](const char* key) -> std::string {
        simdjson::dom::element el;
        if (obj[key].get(el) != simdjson::SUCCESS || !el.is_string()) return "";
        return std::string(Trim(el.get_string().value_unsafe()));
      };
      auto field = [&](const char* key) -> std::optional<simdjson::dom::element> {
        simdjson::dom::element el;
        if (obj[key].get(el) != simdjson::SUCCESS) return std::nullopt;
        return el;
      };
      Entry e;
      e.name = str("name");
      if (e.name.empty()) {
        return absl::InvalidArgumentError(Cat(where, ": field \"name\" missing or empty"));
      }
      SetCslSource(e, str("source"));
      e.source_id = str("entity_number");
      if (e.source_id.empty()) e.source_id = str("id");
      if (e.source_id.empty()) e.source_id = str("_id");
      e.type = CslType(str("type"));
      e.license_requirement = str("license_requirement");
      e.license_policy = str("license_policy");
      e.federal_register_notice = str("federal_register_notice");
      e.origin = where;
      e.aliases = strings_of(field("alt_names"));
      e.programs = strings_of(field("programs"));
      for (auto& dob : strings_of(field("dates_of_birth"))) {
        AddBirthYears(e, dob);
        e.dates_of_birth.push_back(std::move(dob));
      }
      for (const char* key : {"citizenships", "nationalities"}) {
        for (auto& c : strings_of(field(key))) AddCountry(e, CountryFromListText(c));
      }
      simdjson::dom::array addrs;
      auto addresses = field("addresses");
      if (addresses && addresses->get_array().get(addrs) == simdjson::SUCCESS) {
        for (simdjson::dom::element a : addrs) {
          simdjson::dom::object ao;
          if (a.get_object().get(ao) != simdjson::SUCCESS) continue;
          std::vector<std::string> parts;
          std::string country;
          for (const char* key : {"address", "city", "state", "postal_code", "country"}) {
            simdjson::dom::element v;
            if (ao[key].get(v) == simdjson::SUCCESS && v.is_string()) {
              std::string_view s = Trim(v.get_string().value_unsafe());
              if (!s.empty()) parts.emplace_back(s);
              if (std::string_view(key) == "country") country = std::string(s);
            }
          }
          AddCountry(e, CountryFromListText(country));
          if (!parts.empty()) e.addresses.push_back(internal::Join(parts, ", "));
        }
      } else {
        for (auto& a : strings_of(field("addresses"))) {
          AddAddressCountry(e, a);
          e.addresses.push_back(std::move(a));
        }
      }
      entries.push_back(std::move(e));
      ++report.rows;
    }
  } else {
    const char sep = format == FileFormat::kBisDpl ? '\t' : ',';
    internal::DelimitedText parsed = internal::ParseDelimited(text, sep);
    if (parsed.truncated_line > 0) {
      report.warnings.push_back(Cat(
          Where(path, parsed.truncated_line),
          ": file ends inside a quoted field (truncated); that last row is skipped"));
    }
    switch (format) {
      case FileFormat::kOfacPrimary: {
        for (const internal::Row& row : parsed.rows) {
          if (row.fields.size() != 12) {
            return absl::InvalidArgumentError(Cat(Where(path, row.line), ": expected 12 ",
                                                           "columns (OFAC sdn.csv), got ",
                                                           row.fields.size()));
          }
          Entry e;
          e.source_id = OfacField(row, 0);
          int64_t ent_num = 0;
          if (!internal::ParseInt(e.source_id, &ent_num)) {
            return absl::InvalidArgumentError(Cat(
                Where(path, row.line), ": ent_num \"", e.source_id, "\" is not a number"));
          }
          e.name = OfacField(row, 1);
          if (e.name.empty()) {
            return absl::InvalidArgumentError(
                Cat(Where(path, row.line), ": SDN_Name is empty"));
          }
          std::string type = internal::Lower(OfacField(row, 2));
          e.type = type == "individual" ? EntityType::kPerson
                   : type == "vessel"   ? EntityType::kVessel
                   : type == "aircraft" ? EntityType::kAircraft
                                        : EntityType::kOrganization;
          e.programs = SplitList(OfacField(row, 3), "] [");
          for (std::string& p : e.programs) {
            p = std::string(internal::StripSuffix(internal::StripPrefix(p, "["), "]"));
          }
          if (family == "cons") {
            e.list = "us_ofac_cons";
            e.restricted_list = RestrictedList::kOther;
            e.source = "OFAC Consolidated (non-SDN) list";
          } else {
            e.list = "us_ofac_sdn";
            e.restricted_list = RestrictedList::kSdn;
            e.source = "Specially Designated Nationals (SDN) - Treasury Department";
          }
          e.origin = Where(path, row.line);
          std::string remarks = OfacField(row, 11);
          entries.push_back(std::move(e));
          aux.push_back(OfacAux{family, entries.back().source_id, FileFormat::kOfacPrimary,
                                 {std::move(remarks)}});
          ++report.rows;
        }
        break;
      }
      case FileFormat::kOfacAlt:
      case FileFormat::kOfacAddress:
      case FileFormat::kOfacComments: {
        const size_t want = format == FileFormat::kOfacAlt       ? 5
                            : format == FileFormat::kOfacAddress ? 6
                                                                 : 2;
        for (const internal::Row& row : parsed.rows) {
          if (row.fields.size() != want) {
            return absl::InvalidArgumentError(Cat(Where(path, row.line), ": expected ",
                                                           want, " columns (OFAC ",
                                                           Name(format), "), got ",
                                                           row.fields.size()));
          }
          OfacAux a{family, OfacField(row, 0), format, {}};
          int64_t ent_num = 0;
          if (!internal::ParseInt(a.ent_num, &ent_num)) {
            return absl::InvalidArgumentError(Cat(
                Where(path, row.line), ": ent_num \"", a.ent_num, "\" is not a number"));
          }
          if (format == FileFormat::kOfacAlt) {
            a.values.push_back(OfacField(row, 3));
          } else if (format == FileFormat::kOfacAddress) {
            for (size_t i = 2; i <= 4; ++i) a.values.push_back(OfacField(row, i));
          } else {
            a.values.push_back(OfacField(row, 1));
          }
          aux.push_back(std::move(a));
          ++report.rows;
        }
        break;
      }
      case FileFormat::kCslCsv: {
        EG_ASSIGN_OR_RETURN(const HeaderColumns columns,
                            HeaderColumns::Read(parsed, path, "CSL", {"source", "name"}));
        const std::vector<std::string>& header = columns.header();
        auto get = [&columns](const internal::Row& row, const char* name) {
          return columns.Get(row, name);
        };
        for (size_t r = 1; r < parsed.rows.size(); ++r) {
          const internal::Row& row = parsed.rows[r];
          if (row.fields == header) continue;  // the 2023 file repeats its header
          if (row.fields.size() != header.size()) {
            report.warnings.push_back(Cat(Where(path, row.line), ": row has ",
                                                   row.fields.size(), " of ", header.size(),
                                                   " fields; skipped"));
            continue;
          }
          Entry e;
          e.name = get(row, "name");
          if (e.name.empty()) {
            report.warnings.push_back(
                Cat(Where(path, row.line), ": field \"name\" is empty; skipped"));
            continue;
          }
          SetCslSource(e, get(row, "source"));
          e.source_id = get(row, "entity_number");
          if (e.source_id.empty()) e.source_id = get(row, "_id");
          e.type = CslType(get(row, "type"));
          e.aliases = SplitList(get(row, "alt_names"));
          e.programs = SplitList(get(row, "programs"));
          e.addresses = SplitList(get(row, "addresses"));
          for (const std::string& a : e.addresses) AddAddressCountry(e, a);
          for (const char* key : {"citizenships", "nationalities"}) {
            for (const std::string& c : SplitList(get(row, key))) {
              AddCountry(e, CountryFromListText(c));
            }
          }
          for (std::string& dob : SplitList(get(row, "dates_of_birth"))) {
            AddBirthYears(e, dob);
            e.dates_of_birth.push_back(std::move(dob));
          }
          e.license_requirement = get(row, "license_requirement");
          e.license_policy = get(row, "license_policy");
          e.federal_register_notice = get(row, "federal_register_notice");
          e.origin = Where(path, row.line);
          entries.push_back(std::move(e));
          ++report.rows;
        }
        break;
      }
      case FileFormat::kBisDpl: {
        EG_ASSIGN_OR_RETURN(const HeaderColumns columns,
                            HeaderColumns::Read(parsed, path, "DPL", {"Name"}));
        const std::vector<std::string>& header = columns.header();
        auto get = [&columns](const internal::Row& row, const char* name) {
          return columns.Get(row, name);
        };
        for (size_t r = 1; r < parsed.rows.size(); ++r) {
          const internal::Row& row = parsed.rows[r];
          if (row.fields.size() != header.size()) {
            return absl::InvalidArgumentError(Cat(Where(path, row.line), ": expected ",
                                                           header.size(), " tab-separated ",
                                                           "fields (BIS dpl.txt), got ",
                                                           row.fields.size()));
          }
          Entry e;
          e.name = get(row, "Name");
          if (e.name.empty()) {
            return absl::InvalidArgumentError(
                Cat(Where(path, row.line), ": field \"Name\" is empty"));
          }
          e.list = "us_bis_dpl";
          e.restricted_list = RestrictedList::kDeniedPersons;
          e.source = "Denied Persons List (DPL) - Bureau of Industry and Security";
          std::vector<std::string> parts;
          for (const char* key : {"Street_Address", "City", "State", "Postal_Code", "Country"}) {
            std::string v = get(row, key);
            if (!v.empty()) parts.push_back(std::move(v));
          }
          if (!parts.empty()) e.addresses.push_back(internal::Join(parts, ", "));
          AddCountry(e, CountryFromListText(get(row, "Country")));
          e.federal_register_notice = get(row, "FR_Citation");
          // dpl.txt has no identifier: a stable one from the row's identifying fields.
          e.source_id = "dpl-" + core::Sha256Hex(Cat(e.name, "\t",
                                                              get(row, "Street_Address"), "\t",
                                                              get(row, "Effective_Date")))
                                     .substr(0, 12);
          e.origin = Where(path, row.line);
          entries.push_back(std::move(e));
          ++report.rows;
        }
        break;
      }
      case FileFormat::kCslJson:
        break;
    }
  }
  for (Entry& e : entries) {
    entry_family_.push_back(e.list == "us_ofac_sdn" && format == FileFormat::kOfacPrimary ? "sdn"
                            : e.list == "us_ofac_cons"                                   ? "cons"
                                                                                          : "");
    entries_.push_back(std::move(e));
  }
  for (OfacAux& a : aux) aux_.push_back(std::move(a));
  files_.push_back(std::move(report));
  return absl::OkStatus();
}

ListSet ListSetBuilder::Finish() && {
  ListSet out;
  absl::flat_hash_map<std::string, size_t> by_key;  // family + "/" + ent_num -> entry
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entry_family_[i].empty()) {
      by_key.emplace(Cat(entry_family_[i], "/", entries_[i].source_id), i);
    }
  }
  std::vector<std::string> remarks(entries_.size());
  for (OfacAux& aux : aux_) {
    auto it = by_key.find(Cat(aux.family, "/", aux.ent_num));
    if (it == by_key.end()) {
      if (aux.kind == FileFormat::kOfacAlt) ++out.orphan_aliases;
      if (aux.kind == FileFormat::kOfacAddress) ++out.orphan_addresses;
      continue;
    }
    Entry& e = entries_[it->second];
    switch (aux.kind) {
      case FileFormat::kOfacPrimary:
      case FileFormat::kOfacComments:
        remarks[it->second] += aux.values[0];
        break;
      case FileFormat::kOfacAlt:
        if (!aux.values[0].empty() &&
            std::find(e.aliases.begin(), e.aliases.end(), aux.values[0]) == e.aliases.end()) {
          e.aliases.push_back(std::move(aux.values[0]));
        }
        break;
      case FileFormat::kOfacAddress: {
        std::vector<std::string> parts;
        for (std::string& v : aux.values) {
          if (!v.empty()) parts.push_back(v);
        }
        AddCountry(e, CountryFromListText(aux.values[2]));
        if (!parts.empty()) e.addresses.push_back(internal::Join(parts, ", "));
        break;
      }
      default:
        break;
    }
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!remarks[i].empty()) ParseOfacRemarks(entries_[i], remarks[i]);
  }
  out.entries = std::move(entries_);
  out.files = std::move(files_);
  return out;
}

}  // namespace eargate::screen
