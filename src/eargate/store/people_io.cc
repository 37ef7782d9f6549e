#include "eargate/store/people_io.h"

#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eargate/core/csv.h"
#include "eargate/store/internal/person_json.h"
#include "eargate/wire/request_json.h"
#include "simdjson.h"

namespace eargate::store {
namespace internal {


namespace {
constexpr std::string_view kLocationSources[] = {"unknown", "ip", "declared", "both"};
}

void AppendLocationJson(const core::Location& loc, std::string* out) {
  *out += "{\"country\":";
  if (loc.country.valid())
    AppendJsonString(loc.country.code(), out);
  else
    *out += "null";
  if (loc.region.valid()) {
    *out += ",\"region\":";
    AppendJsonString(loc.region.code(), out);
  }
  if (loc.source != core::LocationSource::kUnknown) {
    *out += ",\"source\":";
    AppendJsonString(kLocationSources[static_cast<int>(loc.source)], out);
  }
  if (loc.declared.valid()) {
    *out += ",\"declared\":";
    AppendJsonString(loc.declared.code(), out);
  }
  if (loc.ip_country.valid()) {
    *out += ",\"ip_country\":";
    AppendJsonString(loc.ip_country.code(), out);
  }
  if (!loc.ip.empty()) {
    *out += ",\"ip\":";
    AppendJsonString(loc.ip, out);
  }
  *out += loc.anonymizer ? ",\"anonymizer\":true}" : ",\"anonymizer\":false}";
}

namespace {

bool ParseCountryField(simdjson::dom::element v, std::string_view field, core::Country* out,
                       std::string* error) {
  if (v.is_null()) return true;
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    *error = absl::StrCat(std::string(field), ": must be a country code string");
    return false;
  }
  auto c = core::Country::Parse(s);
  if (!c) {
    *error = absl::StrCat(std::string(field), ": unknown country '", std::string(s), "'");
    return false;
  }
  *out = *c;
  return true;
}

bool ParseLocationElement(simdjson::dom::element el, core::Location* loc, std::string* error) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) {
    *error = "must be an object";
    return false;
  }
  loc->clear();
  for (auto [key, v] : obj) {
    if (key == "country") {
      if (!ParseCountryField(v, "country", &loc->country, error)) return false;
    } else if (key == "region") {
      if (!ParseCountryField(v, "region", &loc->region, error)) return false;
    } else if (key == "declared") {
      if (!ParseCountryField(v, "declared", &loc->declared, error)) return false;
    } else if (key == "ip_country") {
      if (!ParseCountryField(v, "ip_country", &loc->ip_country, error)) return false;
    } else if (key == "source") {
      std::string_view s;
      bool found = false;
      if (v.get_string().get(s) == simdjson::SUCCESS) {
        for (int i = 0; i < 4; ++i)
          if (kLocationSources[i] == s)
            loc->source = static_cast<core::LocationSource>(i), found = true;
      }
      if (!found) {
        *error = "source: must be one of ip, declared, both";
        return false;
      }
    } else if (key == "ip") {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) {
        *error = "ip: must be a string";
        return false;
      }
      loc->ip = std::string(s);
    } else if (key == "anonymizer") {
      if (v.get_bool().get(loc->anonymizer) != simdjson::SUCCESS) {
        *error = "anonymizer: must be true or false";
        return false;
      }
    } else {
      *error = absl::StrCat(std::string(key), ": unknown field");
      return false;
    }
  }
  if (loc->declared.valid() && !loc->country.valid()) loc->country = loc->declared;
  return true;
}

}  // namespace

bool ParseLocationJson(std::string_view json, core::Location* out, std::string* error) {
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  if (parser.parse(json.data(), json.size()).get(el) != simdjson::SUCCESS) {
    *error = "not valid JSON";
    return false;
  }
  return ParseLocationElement(el, out, error);
}

}  // namespace internal

namespace {

using internal::AppendJsonString;

// Collects one row's errors.
struct RowErrors {
  std::string_view file;
  int line;
  std::vector<std::string>* out;
  bool any = false;
  void Add(std::string_view field, std::string_view msg) {
    out->push_back(absl::StrCat(std::string(file), ":", line, ": ", std::string(field), ": ",
                                std::string(msg)));
    any = true;
  }
};

std::optional<core::Timestamp> ParseDate(std::string_view s) { return core::ParseTime(s, true); }

void AddKey(std::string_view key, std::string_view field, PersonRecord* r, RowErrors& err) {
  if (!IsSha256Hex(key))
    return err.Add(field, "must be 64 lower-case hex digits (the SHA-256 of the API key)");
  r->api_keys_sha256.push_back(std::string(key));
}

const std::vector<std::string>& CsvColumns() {
  static const std::vector<std::string> cols = {"id",
                                                "kind",
                                                "name",
                                                "citizenships",
                                                "permanent_residencies",
                                                "us_person",
                                                "protected_individual",
                                                "end_user_categories",
                                                "end_uses",
                                                "organization",
                                                "api_keys_sha256",
                                                "kyc_source",
                                                "kyc_verified_at",
                                                "location_country"};
  return cols;
}

std::vector<std::string_view> SplitList(std::string_view s) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t semi = s.find(';', start);
    out.push_back(
        s.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  return out;
}

template <typename NatVec>
void ParseCsvNationalities(std::string_view text, std::string_view field, NatVec* out,
                           RowErrors& err) {
  size_t i = 0;
  for (std::string_view part : SplitList(text)) {
    std::string f = absl::StrCat(std::string(field), "[", i++, "]");
    std::string_view code = part.substr(0, part.find(':'));
    core::Nationality n;
    auto c = core::Country::Parse(code);
    if (!c) {
      err.Add(f, absl::StrCat("unknown country '", std::string(code), "'"));
      continue;
    }
    n.country = *c;
    if (part.find(':') != std::string_view::npos) {
      std::string_view since = part.substr(part.find(':') + 1);
      auto t = ParseDate(since);
      if (!t) {
        err.Add(absl::StrCat(f, ".since"),
                absl::StrCat("must be a date (YYYY-MM-DD) (got '", std::string(since), "')"));
        continue;
      }
      n.since = *t;
      n.since_known = true;
    }
    out->push_back(n);
  }
}

void ParseCsvKnowledge(std::string_view text, std::string_view field, core::KnowledgeSet* out,
                       RowErrors& err) {
  size_t i = 0;
  for (std::string_view part : SplitList(text)) {
    std::string f = absl::StrCat(std::string(field), "[", i++, "]");
    auto k = core::ParseKnowledge(part);
    if (!k)
      err.Add(f, absl::StrCat("must be one of ", std::string(core::AllowedKnowledge()), " (got '",
                              std::string(part), "')"));
    else
      *out |= core::Bit(*k);
  }
}

void ParseCsv(std::string_view text, std::string_view file, ParsedPeople* out) {
  auto rows = core::ParseCsv(text);
  if (!rows.ok()) {
    out->errors.push_back(
        absl::StrCat(std::string(file), ": ", std::string(rows.status().message())));
    return;
  }
  if (rows->empty()) return;
  const auto& header = (*rows)[0].fields;
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) {
    const auto& known = CsvColumns();
    if (std::find(known.begin(), known.end(), header[i]) == known.end()) {
      out->errors.push_back(absl::StrCat(std::string(file), ":", (*rows)[0].line, ": ", header[i],
                                         ": unknown column (columns: ", absl::StrJoin(known, ", "),
                                         ")"));
    }
    col[header[i]] = i;
  }
  if (!col.count("id")) {
    out->errors.push_back(
        absl::StrCat(std::string(file), ":", (*rows)[0].line, ": id: missing column"));
    return;
  }
  for (size_t ri = 1; ri < rows->size(); ++ri) {
    const auto& row = (*rows)[ri];
    if (row.fields.size() == 1 && row.fields[0].empty()) continue;  // blank line
    RowErrors err{file, row.line, &out->errors};
    auto get = [&](const std::string& c) -> std::string_view {
      auto it = col.find(c);
      if (it == col.end() || it->second >= row.fields.size()) return {};
      return row.fields[it->second];
    };
    if (row.fields.size() != header.size())
      err.Add("row",
              absl::StrCat("has ", row.fields.size(), " fields, the header ", header.size()));
    PersonRecord r;
    core::Person& p = r.person;
    p.id = std::string(get("id"));
    if (p.id.empty()) err.Add("id", "missing");
    if (!get("kind").empty()) {
      auto k = core::ParsePersonKind(get("kind"));
      if (!k)
        err.Add("kind", "must be one of natural, organization");
      else
        p.kind = *k;
    }
    p.name = std::string(get("name"));
    ParseCsvNationalities(get("citizenships"), "citizenships", &p.citizenships, err);
    ParseCsvNationalities(get("permanent_residencies"), "permanent_residencies",
                          &p.permanent_residencies, err);
    std::string_view us = get("us_person");
    if (us == "true")
      p.us_person = core::Tristate::kYes;
    else if (us == "false")
      p.us_person = core::Tristate::kNo;
    else if (!us.empty() && us != "null")
      err.Add("us_person", "must be true, false or empty");
    std::string_view prot = get("protected_individual");
    if (prot == "true")
      p.protected_individual = true;
    else if (!prot.empty() && prot != "false")
      err.Add("protected_individual", "must be true, false or empty");
    ParseCsvKnowledge(get("end_user_categories"), "end_user_categories", &p.end_user_categories,
                      err);
    ParseCsvKnowledge(get("end_uses"), "end_uses", &p.end_uses, err);
    p.organization = std::string(get("organization"));
    size_t ki = 0;
    for (std::string_view k : SplitList(get("api_keys_sha256")))
      AddKey(k, absl::StrCat("api_keys_sha256[", ki++, "]"), &r, err);
    r.kyc.source = std::string(get("kyc_source"));
    if (!get("kyc_verified_at").empty()) {
      auto t = ParseDate(get("kyc_verified_at"));
      if (!t)
        err.Add("kyc_verified_at", "must be an RFC 3339 time or a date");
      else
        r.kyc.verified_at = *t;
    }
    if (!get("location_country").empty()) {
      auto c = core::Country::Parse(get("location_country"));
      if (!c) {
        err.Add("location_country",
                absl::StrCat("unknown country '", std::string(get("location_country")), "'"));
      } else {
        core::Location loc;
        loc.country = *c;
        loc.declared = *c;
        loc.source = core::LocationSource::kDeclared;
        r.location = loc;
      }
    }
    if (!err.any) out->people.push_back(std::move(r));
  }
}

}  // namespace

std::optional<PeopleFormat> ParsePeopleFormat(std::string_view s) {
  if (s == "jsonl") return PeopleFormat::kJsonl;
  if (s == "csv") return PeopleFormat::kCsv;
  return std::nullopt;
}

ParsedPeople ParsePeople(std::string_view text, PeopleFormat format, std::string_view file,
                         const rules::EarData& data) {
  ParsedPeople out;
  if (format == PeopleFormat::kCsv) {
    ParseCsv(text, file, &out);
  } else {
    wire::RequestParser parser(data);
    int line_no = 0;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view line = text.substr(start, nl - start);
      start = nl + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;  // blank, comment
      PersonRecord r;
      wire::RequestParser::PersonExtras x;
      absl::Status st = parser.ParsePerson(line, &r.person, &x);
      if (!st.ok()) {
        out.errors.push_back(absl::StrCat(std::string(file), ":", line_no, ": ", std::string(st.message())));
        continue;
      }
      if (!r.person.screening.empty()) {
        out.errors.push_back(absl::StrCat(std::string(file), ":", line_no,
                                          ": screening: not imported (the registry screens people against "
                                          "the configured lists itself)"));
        continue;
      }
      r.kyc = std::move(x.kyc);
      r.citizenship_sources = std::move(x.citizenship_sources);
      r.residency_sources = std::move(x.residency_sources);
      r.us_person_source = std::move(x.us_person_source);
      r.categories_source = std::move(x.categories_source);
      r.end_uses_source = std::move(x.end_uses_source);
      r.api_keys_sha256 = std::move(x.api_keys_sha256);
      if (x.has_location) r.location = x.location;
      out.people.push_back(std::move(r));
    }
  }
  // Duplicate ids and keys across rows.
  std::map<std::string, size_t> ids, keys;
  for (size_t i = 0; i < out.people.size(); ++i) {
    const auto& p = out.people[i];
    if (!ids.emplace(p.person.id, i).second)
      out.errors.push_back(
          absl::StrCat(std::string(file), ": id: duplicate person '", p.person.id, "'"));
    for (const auto& k : p.api_keys_sha256) {
      auto [it, fresh] = keys.emplace(k, i);
      if (!fresh && out.people[it->second].person.id != p.person.id)
        out.errors.push_back(absl::StrCat(std::string(file), ": api key ", k.substr(0, 12),
                                          "... given to both '", out.people[it->second].person.id,
                                          "' and '", p.person.id, "'"));
    }
  }
  return out;
}

namespace {

void AppendSource(std::string_view name, const FactSource& s, std::string* out) {
  if (s.empty()) return;
  absl::StrAppend(out, ",\"", std::string(name), "\":{\"source\":");
  AppendJsonString(s.source, out);
  if (s.verified_at != 0)
    absl::StrAppend(out, ",\"verified_at\":\"", core::FormatTime(s.verified_at), "\"");
  *out += "}";
}

void AppendNationalities(std::string_view name, const absl::InlinedVector<core::Nationality, 3>& v,
                         const std::vector<FactSource>& src, std::string* out) {
  absl::StrAppend(out, ",\"", std::string(name), "\":[");
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) *out += ",";
    *out += "{\"country\":";
    AppendJsonString(v[i].country.code(), out);
    if (v[i].since_known)
      absl::StrAppend(out, ",\"since\":\"", core::FormatTime(v[i].since).substr(0, 10), "\"");
    if (i < src.size() && !src[i].source.empty()) {
      *out += ",\"source\":";
      AppendJsonString(src[i].source, out);
    }
    if (i < src.size() && src[i].verified_at != 0)
      absl::StrAppend(out, ",\"verified_at\":\"", core::FormatTime(src[i].verified_at), "\"");
    *out += "}";
  }
  *out += "]";
}

template <typename V>
absl::InlinedVector<core::Nationality, 3> Copy(const V& v) {
  return absl::InlinedVector<core::Nationality, 3>(v.begin(), v.end());
}

std::vector<std::string> KnowledgeNames(core::KnowledgeSet set) {
  std::vector<std::string> out;
  for (int k = 0; k < core::kKnowledgeCount; ++k)
    if (set & core::Bit(static_cast<core::Knowledge>(k)))
      out.emplace_back(core::Name(static_cast<core::Knowledge>(k)));
  return out;
}

void AppendStringList(const std::vector<std::string>& v, std::string* out) {
  *out += "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) *out += ",";
    AppendJsonString(v[i], out);
  }
  *out += "]";
}


std::string CsvNationalities(const absl::InlinedVector<core::Nationality, 3>& v) {
  std::vector<std::string> parts;
  for (const auto& n : v)
    parts.push_back(
        n.since_known ? absl::StrCat(n.country.code(), ":", core::FormatTime(n.since).substr(0, 10))
                      : n.country.code());
  return absl::StrJoin(parts, ";");
}

}  // namespace

void AppendPersonJsonl(const PersonRecord& r, std::string* out) {
  const core::Person& p = r.person;
  *out += "{\"id\":";
  AppendJsonString(p.id, out);
  absl::StrAppend(out, ",\"kind\":\"", std::string(core::Name(p.kind)), "\",\"name\":");
  AppendJsonString(p.name, out);
  AppendNationalities("citizenships", p.citizenships, r.citizenship_sources, out);
  AppendNationalities("permanent_residencies", Copy(p.permanent_residencies), r.residency_sources,
                      out);
  *out += ",\"us_person\":";
  *out += p.us_person == core::Tristate::kYes  ? "true"
          : p.us_person == core::Tristate::kNo ? "false"
                                               : "null";
  if (p.protected_individual) *out += ",\"protected_individual\":true";
  *out += ",\"end_user_categories\":";
  AppendStringList(KnowledgeNames(p.end_user_categories), out);
  *out += ",\"end_uses\":";
  AppendStringList(KnowledgeNames(p.end_uses), out);
  *out += ",\"organization\":";
  if (p.organization.empty())
    *out += "null";
  else
    AppendJsonString(p.organization, out);
  if (r.location) {
    *out += ",\"location\":";
    internal::AppendLocationJson(*r.location, out);
  }
  if (!r.api_keys_sha256.empty()) {
    *out += ",\"api_keys_sha256\":";
    AppendStringList(r.api_keys_sha256, out);
  }
  AppendSource("kyc", r.kyc, out);
  AppendSource("us_person_source", r.us_person_source, out);
  AppendSource("end_user_categories_source", r.categories_source, out);
  AppendSource("end_uses_source", r.end_uses_source, out);
  *out += "}\n";
}

std::string PeopleCsvHeader() { return absl::StrCat(absl::StrJoin(CsvColumns(), ","), "\n"); }

void AppendPersonCsv(const PersonRecord& r, std::string* out) {
  const core::Person& p = r.person;
  std::vector<std::string> f = {
      core::CsvQuote(p.id),
      std::string(core::Name(p.kind)),
      core::CsvQuote(p.name),
      CsvNationalities(p.citizenships),
      CsvNationalities(Copy(p.permanent_residencies)),
      p.us_person == core::Tristate::kYes  ? "true"
      : p.us_person == core::Tristate::kNo ? "false"
                                           : "",
      p.protected_individual ? "true" : "",
      absl::StrJoin(KnowledgeNames(p.end_user_categories), ";"),
      absl::StrJoin(KnowledgeNames(p.end_uses), ";"),
      core::CsvQuote(p.organization),
      absl::StrJoin(r.api_keys_sha256, ";"),
      core::CsvQuote(r.kyc.source),
      r.kyc.verified_at ? core::FormatTime(r.kyc.verified_at) : "",
      r.location && r.location->country.valid() ? r.location->country.code() : ""};
  absl::StrAppend(out, absl::StrJoin(f, ","), "\n");
}

wire::PersonRecord ToRegistryRecord(const PersonRecord& r) {
  wire::PersonRecord w;
  w.person = r.person;
  w.api_keys_sha256 = r.api_keys_sha256;
  if (r.location) w.location = *r.location;
  return w;
}

absl::StatusOr<std::vector<wire::PersonRecord>> RegistryRecords(Store& store) {
  std::vector<wire::PersonRecord> out;
  absl::Status s = store.ForEachPerson([&](const PersonRecord& r) { out.push_back(ToRegistryRecord(r)); });
  if (!s.ok()) return s;
  return out;
}

}  // namespace eargate::store
