// The person registry the gateway authenticates against, built from a SPEC §3 people file
// (JSON lines, each a person with "api_key_sha256" or "api_keys_sha256"; parsed by
// wire::PeopleFile) or from the store (store.url: people with their active key hashes).
//
// API keys are never stored, logged or echoed: the file holds SHA-256 hashes and a caller's
// bearer key is hashed before lookup. Loading is all-or-nothing ("path:line: message" for
// every bad line, duplicate ids and duplicate key hashes included).
//
// Immutable after Load(); share as shared_ptr<const PeopleRegistry> and swap on reload.
// Thread-safe for concurrent lookups (FindByKey, Find).
//
// Copy-on-write: each person is one immutable Entry held by shared_ptr. Update() makes a new
// registry from an old one and a few changed people: the unchanged entries are shared, not
// copied or screened again, so a fleet node applies one change to a registry of 100 k people
// in milliseconds; requests in flight keep the registry they started with.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "eargate/core/request.h"
#include "eargate/rules/ear_data.h"
#include "eargate/screen/index.h"
#include "eargate/screen/rescreen.h"
#include "eargate/store/store.h"
#include "eargate/wire/people_file.h"
#include "eargate/wire/request_json.h"

namespace eargate::server {

// The lists a registry is screened against when it loads (none: index null), and the
// reviewers' dispositions to honour: a hit on an entry a disposition clears for that person is
// dropped while the entry's fingerprint (screen::EntryFingerprint) is the one recorded.
class PeopleRegistry;
struct RegistryScreening {
  const screen::Index* index = nullptr;
  screen::HitBands bands;
  int threads = 1;  // screening threads (the gateway's watcher thread; more for big registries)
  std::vector<store::ScreeningDisposition> dispositions;
  // The registry being replaced, if any: a person whose name, kind and first citizenship are
  // unchanged (and the index the same) keeps its matches without being screened again, so a
  // rebuild after one change costs a read of the registry, not a screening of everyone.
  const PeopleRegistry* previous = nullptr;
};

// The matches of one person's name (query: name, first citizenship, person/organization) at
// or above bands.potential, before dispositions. Empty without an index or a name.
std::vector<screen::Match> ScreenPerson(const core::Person& person,
                                        const RegistryScreening& screening);

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
  // The registry of the store's people (with their active keys), screened the same way;
  // the dispositions to honour come with `screening` (the caller reads them from the store).
  static absl::StatusOr<std::shared_ptr<const PeopleRegistry>> FromStore(
      store::Store& store, const Screening& screening = Screening());
  // How many people got at least one screening hit at load.
  size_t screened_with_hits() const { return screened_with_hits_; }
  // Every hit found at load, grouped by person in file order (compare two registries'
  // hits with screen::DiffHits).
  const std::vector<screen::PartyHit>& screening_hits() const { return hits_; }
  // How many hits were dropped because a reviewer's disposition cleared them.
  size_t hits_cleared() const { return hits_cleared_; }
  // How many people were screened anew at load (the others reused the previous registry's).
  size_t screened_anew() const { return screened_anew_; }

  // The registry `base` with the people of `changed` added or replaced and the people of
  // `removed` dropped (ids unknown to base are ignored); every other entry is shared with base.
  // The changed people are screened (reusing base's matches when their name, kind and first
  // citizenship are unchanged) against screening.index, which must be the index base was
  // screened with, honouring screening.dispositions (those of the changed people suffice).
  // New people take their place in id order (the store's order). Fails (base unchanged) when
  // a changed person's key belongs to another person. screening.previous is ignored.
  static absl::StatusOr<std::shared_ptr<const PeopleRegistry>> Update(
      const PeopleRegistry& base, std::vector<wire::PersonRecord> changed,
      const std::vector<std::string>& removed, const Screening& screening);
  // The index the registry was screened with (null: not screened).
  const screen::Index* screened_with() const { return index_; }

  // One person as served (screening hits included), with what screening found.
  struct Entry {
    wire::PersonRecord record;
    std::string screen_key;                 // name, kind, first citizenship screened
    std::vector<screen::Match> matches;     // at or above bands.potential, before dispositions
    std::vector<screen::PartyHit> hits;     // after dispositions
    size_t cleared = 0;                     // hits dropped by dispositions
  };
  using EntryPtr = std::shared_ptr<const Entry>;
  // Every person, in load order (file order; the store's id order).
  const std::vector<EntryPtr>& entries() const { return entries_; }

  // The person whose API key is `api_key` (hashed here), or nullptr. The pointer lives as
  // long as the registry.
  const core::Person* FindByKey(std::string_view api_key) const;
  // The same by the key's SHA-256 (lower-case hex).
  const core::Person* FindByKeyHash(std::string_view sha256_hex) const;
  // The person with id `id`, or nullptr.
  const core::Person* FindById(std::string_view id) const;
  // wire::PersonLookup.
  bool Find(std::string_view id, core::Person* out) const override;

  size_t size() const { return entries_.size(); }
  const std::string& path() const { return path_; }

  // Lower-case hex SHA-256 of a key, as the people file stores it.
  static std::string KeyHash(std::string_view api_key);

 private:
  std::string path_;
  std::vector<EntryPtr> entries_;
  // Views into the entries (which the registry holds).
  absl::flat_hash_map<std::string_view, const Entry*> by_id_;
  absl::flat_hash_map<std::string_view, const Entry*> by_key_;
  const screen::Index* index_ = nullptr;
  size_t screened_with_hits_ = 0;
  std::vector<screen::PartyHit> hits_;
  size_t hits_cleared_ = 0;
  size_t screened_anew_ = 0;
  static absl::StatusOr<std::shared_ptr<const PeopleRegistry>> Build(
      std::string path, std::vector<wire::PersonRecord> records, const Screening& screening);
  // Screens records (reusing `reuse`'s matches for an unchanged screening key) into entries.
  static std::vector<EntryPtr> MakeEntries(std::vector<wire::PersonRecord> records,
                                           const Screening& screening, const PeopleRegistry* reuse,
                                           size_t* screened_anew);
  // Adds an entry to the maps; fails on a duplicate id or key.
  absl::Status AddToMaps(const Entry* e);
  // hits_, screened_with_hits_, hits_cleared_ from the entries.
  void Tally();
};

using PeoplePtr = std::shared_ptr<const PeopleRegistry>;

}  // namespace eargate::server
