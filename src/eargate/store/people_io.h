// The people file formats of `eargate people import|export` and `eargate serve --people`:
//
//  JSONL (SPEC §3): one person object per line as in SPEC §2 with its `id`, plus
//    "api_key_sha256": "<hex>" or "api_keys_sha256": ["<hex>", ...], optionally "location"
//    (the person's usual location, §2 form). Extensions kept by the registry: each
//    citizenship / permanent residency may carry "source" and "verified_at"; "kyc",
//    "us_person_source", "end_user_categories_source", "end_uses_source" are
//    {"source": ..., "verified_at": ...} objects. Blank lines and lines starting with '#'
//    (comments) are skipped.
//  CSV: a header row; columns id (required), kind, name, citizenships and
//    permanent_residencies ("DE:1990-01-01;FR", country[:since] separated by ';'),
//    us_person (true|false|empty), protected_individual, end_user_categories, end_uses (';'),
//    organization, api_keys_sha256 (';'), kyc_source, kyc_verified_at, location_country.
//
// Parsing never stops at the first bad row: every row's errors are collected, each as
// "<file>:<line>: <field>: <problem>", so that an import is all or nothing and the operator
// fixes the file in one go.
//
// TODO(lead): once wire::RequestParser::ParsePerson exists, JSONL person fields could be
// parsed there; this module keeps the registry's source/verified_at extensions.
// Thread-safety: free functions without shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eargate/store/store.h"

namespace eargate::store {

enum class PeopleFormat : uint8_t { kJsonl, kCsv };
std::optional<PeopleFormat> ParsePeopleFormat(std::string_view s);  // "jsonl" | "csv"

struct ParsedPeople {
  std::vector<PersonRecord> people;
  std::vector<std::string> errors;  // empty: every row parsed
};

// `file_name` prefixes the error messages.
ParsedPeople ParsePeople(std::string_view text, PeopleFormat format, std::string_view file_name);

// One JSONL line (with its newline).
void AppendPersonJsonl(const PersonRecord& r, std::string* out);
std::string PeopleCsvHeader();  // with newline
void AppendPersonCsv(const PersonRecord& r, std::string* out);

}  // namespace eargate::store
