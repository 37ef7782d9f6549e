#include "eargate/screen/report.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "eargate/screen/internal/strings.h"

namespace eargate::screen {

using internal::Cat;

namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string FormatScore(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::round(v * 1000) / 1000);
  std::string s(buf);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

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
  AppendJsonString(out, q.name);
  if (q.country) {
    out += ", \"country\": ";
    AppendJsonString(out, q.country->code());
  }
  if (q.type != EntityType::kUnknown) {
    out += ", \"type\": ";
    AppendJsonString(out, Name(q.type));
  }
  out += "}, \"matches\": [";
  for (size_t i = 0; i < matches.size(); ++i) {
    const Match& m = matches[i];
    if (i) out += ", ";
    out += "{\"list\": ";
    AppendJsonString(out, m.entry->list);
    out += ", \"entity_id\": ";
    AppendJsonString(out, m.entry->source_id);
    out += ", \"name\": ";
    AppendJsonString(out, m.entry->name);
    out += ", \"matched_name\": ";
    AppendJsonString(out, m.matched_name);
    out += ", \"score\": " + FormatScore(m.score);
    out += ", \"cite\": ";
    AppendJsonString(out, m.cite.empty() ? std::string_view(m.entry->source) : m.cite);
    out += ", \"binding\": ";
    out += m.cite.empty() ? "false" : "true";
    out += ", \"type\": ";
    AppendJsonString(out, Name(m.entry->type));
    out += ", \"matched_tokens\": [";
    for (size_t k = 0; k < m.matched_tokens.size(); ++k) {
      if (k) out += ", ";
      AppendJsonString(out, m.matched_tokens[k]);
    }
    out += "], \"countries\": [";
    for (size_t k = 0; k < m.entry->countries.size(); ++k) {
      if (k) out += ", ";
      AppendJsonString(out, m.entry->countries[k].code());
    }
    out += "], \"programs\": [";
    for (size_t k = 0; k < m.entry->programs.size(); ++k) {
      if (k) out += ", ";
      AppendJsonString(out, m.entry->programs[k]);
    }
    out += "]";
    if (!m.entry->license_requirement.empty()) {
      out += ", \"license_requirement\": ";
      AppendJsonString(out, m.entry->license_requirement);
    }
    if (!m.entry->license_policy.empty()) {
      out += ", \"license_policy\": ";
      AppendJsonString(out, m.entry->license_policy);
    }
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace eargate::screen
