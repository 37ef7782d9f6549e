#include "eargate/screen/fingerprint.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "eargate/core/sha256.h"

namespace eargate::screen {
namespace {

void AppendField(std::string_view tag, std::string_view value, std::string* out) {
  out->append(tag);
  out->push_back(':');
  out->append(std::to_string(value.size()));
  out->push_back(':');
  out->append(value);
  out->push_back('\n');
}

void AppendList(std::string_view tag, std::vector<std::string> values, std::string* out) {
  std::sort(values.begin(), values.end());
  AppendField(tag, std::to_string(values.size()), out);
  for (const std::string& v : values) AppendField(tag, v, out);
}

}  // namespace

std::string EntryFingerprint(const Entry& e) {
  std::string buf = "eargate-entry-v1\n";
  AppendField("list", e.list, &buf);
  AppendField("id", e.source_id, &buf);
  AppendField("name", e.name, &buf);
  AppendList("alias", e.aliases, &buf);
  AppendList("address", e.addresses, &buf);
  std::vector<std::string> countries;
  for (const core::Country& c : e.countries) countries.emplace_back(c.code());
  AppendList("country", std::move(countries), &buf);
  AppendList("program", e.programs, &buf);
  AppendList("dob", e.dates_of_birth, &buf);
  return core::Sha256Hex(buf);
}

}  // namespace eargate::screen
