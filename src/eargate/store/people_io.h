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
// JSONL lines are parsed by wire::RequestParser::ParsePerson, the same parser as the gateway's
// people file and `eargate decide --people` (so "citizenships": ["DE"] and country codes checked
// against the reference data work alike everywhere). "traffic" and "uses" are accepted but not
// stored (impact reads uses from the decision log); "screening" is refused (the registry screens
// people itself).
//
// Parsing never stops at the first bad row: every row's errors are collected, each as
// "<file>:<line>: <field>: <problem>", so that an import is all or nothing and the operator
// fixes the file in one go.
// Thread-safety: free functions without shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eargate/rules/ear_data.h"
#include "eargate/store/store.h"
#include "eargate/wire/people_file.h"

namespace eargate::store {

enum class PeopleFormat : uint8_t { kJsonl, kCsv };
std::optional<PeopleFormat> ParsePeopleFormat(std::string_view s);  // "jsonl" | "csv"

struct ParsedPeople {
  std::vector<PersonRecord> people;
  std::vector<std::string> errors;  // empty: every row parsed
};

// `file_name` prefixes the error messages; `data` knows the countries (JSONL).
ParsedPeople ParsePeople(std::string_view text, PeopleFormat format, std::string_view file_name,
                         const rules::EarData& data);

// One JSONL line (with its newline).
void AppendPersonJsonl(const PersonRecord& r, std::string* out);
std::string PeopleCsvHeader();  // with newline
void AppendPersonCsv(const PersonRecord& r, std::string* out);

// Every person of the registry in the people-file form the gateway and impact read: the
// person's facts, usual location and active key hashes (fact sources are left out).
absl::StatusOr<std::vector<wire::PersonRecord>> RegistryRecords(Store& store);
// One person of the store in that form.
wire::PersonRecord ToRegistryRecord(const PersonRecord& r);

}  // namespace eargate::store
