// The people file (SPEC.md §3): JSON lines, each a person object as in §2 with its `id`, plus
// `api_key_sha256` / `api_keys_sha256`, an optional usual `location`, a relative `traffic` and
// the `uses` (items, channels, layers) impact analysis decides.
//
// Loading is all-or-nothing: any bad line fails the load with "file:line: field: message".
// Immutable after Load(); thread-safe for concurrent lookups.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "eargate/wire/request_json.h"

namespace eargate::wire {

struct PersonRecord {
  core::Person person;
  std::vector<std::string> api_keys_sha256;
  core::Location location;  // usual location; known() false when absent
  double traffic = 1;       // relative request volume
  // The items and channels this person uses (people file "uses"; or derived from the decision
  // log). Empty: unknown, impact decides every item on the api channel.
  std::vector<RequestParser::Use> uses;
};

class PeopleFile final : public PersonLookup {
 public:
  static absl::StatusOr<std::unique_ptr<PeopleFile>> Load(const std::string& path,
                                                          const rules::EarData& data);
  // Takes records built in memory (e.g. a synthetic population). Fails on duplicate ids/keys.
  static absl::StatusOr<std::unique_ptr<PeopleFile>> FromRecords(std::vector<PersonRecord> records);
  static absl::StatusOr<std::unique_ptr<PeopleFile>> FromText(std::string_view text,
                                                              const std::string& name,
                                                              const rules::EarData& data);

  bool Find(std::string_view id, core::Person* out) const override;
  // The record whose API key hashes to `sha256_hex`; nullptr when none.
  const PersonRecord* FindByKeyHash(std::string_view sha256_hex) const;
  const PersonRecord* FindRecord(std::string_view id) const;
  const std::vector<PersonRecord>& records() const { return records_; }

 private:
  std::vector<PersonRecord> records_;
  absl::flat_hash_map<std::string, size_t> by_id_;
  absl::flat_hash_map<std::string, size_t> by_key_;
};

}  // namespace eargate::wire
