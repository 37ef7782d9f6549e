// The person registry the gateway authenticates against: a SPEC §3 people file (JSON lines,
// each a person with "api_key_sha256" or "api_keys_sha256"; parsed by wire::PeopleFile),
// until the store brings a database.
//
// API keys are never stored, logged or echoed: the file holds SHA-256 hashes and a caller's
// bearer key is hashed before lookup. Loading is all-or-nothing ("path:line: message" for
// every bad line, duplicate ids and duplicate key hashes included).
//
// Immutable after Load(); share as shared_ptr<const PeopleRegistry> and swap on reload.
// Thread-safe for concurrent lookups (FindByKey, Find).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eargate/core/request.h"
#include "eargate/rules/ear_data.h"
#include "eargate/screen/index.h"
#include "eargate/screen/rescreen.h"
#include "eargate/wire/people_file.h"
#include "eargate/wire/request_json.h"

namespace eargate::server {

// The lists a registry is screened against when it loads (none: index null).
struct RegistryScreening {
  const screen::Index* index = nullptr;
  screen::HitBands bands;
  int threads = 1;  // screening threads (the gateway's watcher thread; more for big registries)
};

class PeopleRegistry : public wire::PersonLookup {
 public:
  // An empty registry (nobody can authenticate).
  PeopleRegistry() = default;
  // REQUIRES: `data` outlives the call only (persons are copied out).
  // With `screening`, every person (and organization) with a name is screened against the
  // restricted-party lists; hits are added to the person's `screening` facts, which the engine
  // turns into restricted-party findings.
  using Screening = RegistryScreening;
  static absl::StatusOr<std::shared_ptr<const PeopleRegistry>> Load(const std::string& path,
                                                                   const rules::EarData& data,
                                                                   const Screening& screening = Screening());
  // How many people got at least one screening hit at load.
  size_t screened_with_hits() const { return screened_with_hits_; }
  // Every hit found at load, grouped by person in file order (compare two registries'
  // hits with screen::DiffHits).
  const std::vector<screen::PartyHit>& screening_hits() const { return hits_; }

  // The person whose API key is `api_key` (hashed here), or nullptr. The pointer lives as
  // long as the registry.
  const core::Person* FindByKey(std::string_view api_key) const;
  // The person with id `id`, or nullptr.
  const core::Person* FindById(std::string_view id) const;
  // wire::PersonLookup.
  bool Find(std::string_view id, core::Person* out) const override;

  size_t size() const { return file_ ? file_->records().size() : 0; }
  const std::string& path() const { return path_; }

  // Lower-case hex SHA-256 of a key, as the people file stores it.
  static std::string KeyHash(std::string_view api_key);

 private:
  std::string path_;
  std::unique_ptr<wire::PeopleFile> file_;  // null: empty registry
  size_t screened_with_hits_ = 0;
  std::vector<screen::PartyHit> hits_;
};

using PeoplePtr = std::shared_ptr<const PeopleRegistry>;

}  // namespace eargate::server
