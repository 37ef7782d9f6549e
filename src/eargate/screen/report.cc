#include "eargate/screen/report.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "eargate/core/json.h"
#include "eargate/screen/internal/strings.h"

namespace eargate::screen {

using internal::Cat;

// Validates country/type of one query; `where` prefixes messages ("line 3: ").
absl::StatusOr<ScreenQuery> MakeQuery(std::string name, std::string_view country,
                                              std::string_view type, const std::string& where) {
  ScreenQuery q;
  if (internal::Trim(name).empty()) {
    return absl::InvalidArgumentError(Cat(where, "field \"name\" is missing or empty"));
  }
  q.name = std::move(name);
  if (!country.empty()) {
    std::string upper(country);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto c = core::Country::Parse(upper);
    if (!c) {
      return absl::InvalidArgumentError(Cat(where, "field \"country\": \"", country,
                                            "\" is not an ISO 3166-1 alpha-2 code"));
    }
    q.country = *c;
  }
  if (!type.empty()) {
    auto t = ParseEntityType(type);
    if (!t) {
      return absl::InvalidArgumentError(Cat(where, "field \"type\": \"", type,
                                            "\" is not one of person, organization, vessel, "
                                            "aircraft"));
    }
    q.type = *t;
  }
  return q;
}

std::string ResultLine(const ScreenQuery& q, const std::vector<Match>& matches) {
  std::string out = "{\"query\": {\"name\": ";
  core::AppendJsonString(q.name, &out);
  if (q.country) {
    out += ", \"country\": ";
    core::AppendJsonString(q.country->code(), &out);
  }
  if (q.type != EntityType::kUnknown) {
    out += ", \"type\": ";
    core::AppendJsonString(Name(q.type), &out);
  }
  out += "}, \"matches\": [";
  for (size_t i = 0; i < matches.size(); ++i) {
    const Match& m = matches[i];
    if (i) out += ", ";
    out += "{\"list\": ";
    core::AppendJsonString(m.entry->list, &out);
    out += ", \"entity_id\": ";
    core::AppendJsonString(m.entry->source_id, &out);
    out += ", \"name\": ";
    core::AppendJsonString(m.entry->name, &out);
    out += ", \"matched_name\": ";
    core::AppendJsonString(m.matched_name, &out);
    out += ", \"score\": " + FormatScore(m.score);
    out += ", \"cite\": ";
    core::AppendJsonString(m.cite.empty() ? std::string_view(m.entry->source) : m.cite, &out);
    out += ", \"binding\": ";
    out += m.cite.empty() ? "false" : "true";
    out += ", \"type\": ";
    core::AppendJsonString(Name(m.entry->type), &out);
    out += ", \"matched_tokens\": [";
    for (size_t k = 0; k < m.matched_tokens.size(); ++k) {
      if (k) out += ", ";
      core::AppendJsonString(m.matched_tokens[k], &out);
    }
    out += "], \"countries\": [";
    for (size_t k = 0; k < m.entry->countries.size(); ++k) {
      if (k) out += ", ";
      core::AppendJsonString(m.entry->countries[k].code(), &out);
    }
    out += "], \"programs\": [";
    for (size_t k = 0; k < m.entry->programs.size(); ++k) {
      if (k) out += ", ";
      core::AppendJsonString(m.entry->programs[k], &out);
    }
    out += "]";
    if (!m.entry->license_requirement.empty()) {
      out += ", \"license_requirement\": ";
      core::AppendJsonString(m.entry->license_requirement, &out);
    }
    if (!m.entry->license_policy.empty()) {
      out += ", \"license_policy\": ";
      core::AppendJsonString(m.entry->license_policy, &out);
    }
    out += "}";
  }
  out += "]}";
  return out;
}

std::string FormatScore(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::round(v * 1000) / 1000);
  std::string s(buf);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace eargate::screen
