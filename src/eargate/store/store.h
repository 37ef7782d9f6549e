// The store: the person registry (people and organizations with their KYC facts, each fact
// with its source and verification time), API keys kept as SHA-256 hashes, admin tokens with
// roles, and the decision log's checkpoints. One interface, two real backends chosen by URL:
//
//   sqlite:///var/lib/eargate/eargate.db   the default: one file, WAL journal, nothing to set up
//   postgresql://user@host:5432/eargate    a fleet of gateway nodes sharing one database
//
// Open() applies the numbered schema migrations the binary carries (sql/<backend>/NNN_*.sql)
// and refuses a database whose schema is newer than the binary knows.
//
// Thread-safety: a Store is thread-safe; it holds one connection and serialises calls.
// Lifetime: results are values; nothing refers into the Store after a call returns.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eargate/core/request.h"
#include "eargate/core/time.h"
#include "eargate/store/decision_log.h"

namespace eargate::store {

// Where a KYC fact comes from (core/request.h).
using FactSource = core::FactSource;

// A registered person or organization. `person` carries the facts the engine reads; the
// sources say where each came from. A fact without its own source has `kyc`'s.
struct PersonRecord {
  core::Person person;  // person.screening is not stored (screening results are recomputed)
  FactSource kyc;
  std::vector<FactSource> citizenship_sources;  // parallel to person.citizenships, or empty
  std::vector<FactSource> residency_sources;    // parallel to person.permanent_residencies
  FactSource us_person_source;
  FactSource categories_source;  // end-user categories
  FactSource end_uses_source;
  std::optional<core::Location> location;    // the usual location (SPEC §3)
  std::vector<std::string> api_keys_sha256;  // active keys (import: keys to add)
  core::Timestamp updated_at = 0;            // set by the store
};

struct ApiKey {
  std::string key_sha256;  // lower-case hex
  std::string person_id;
  core::Timestamp created_at = 0;
  core::Timestamp last_used_at = 0;  // 0: never
  core::Timestamp revoked_at = 0;    // 0: active
};

// Admin API roles, each including the ones before it.
enum class Role : uint8_t { kViewer, kAnalyst, kOfficer, kAdmin };
std::string_view Name(Role r);
std::optional<Role> ParseRole(std::string_view s);  // "viewer" | "analyst" | "officer" | "admin"

struct AdminToken {
  std::string token_sha256;
  std::string name;
  Role role = Role::kViewer;
  core::Timestamp created_at = 0;
  core::Timestamp expires_at = 0;  // 0: never
  core::Timestamp revoked_at = 0;
  core::Timestamp last_used_at = 0;
};

// A reviewer's clearance of a restricted-party screening hit ("good guy" record): the person
// or organization `person_id` is not the party listed as `entry_id` on `list`. Honoured while
// the listed entry's fingerprint (screen::EntryFingerprint) equals `entry_fingerprint`; kept,
// but no longer honoured, once the entry changes.
struct ScreeningDisposition {
  std::string person_id;
  std::string list;               // the list's short code (screen::Entry::list): us_ofac_sdn, ...
  std::string entry_id;           // the list's own id of the entry (screen::Entry::source_id)
  std::string entry_fingerprint;  // 64 lower-case hex digits
  std::string entry_name;         // the listed name, for readers of the record
  std::string decided_by;         // who cleared it (the admin token's name)
  core::Timestamp decided_at = 0;
  std::string reason;             // why (required)
  bool operator==(const ScreeningDisposition&) const = default;
};

// What changed in the registry after a journal position (schema version 4, migration 004).
struct RegistryChanges {
  int64_t head = 0;       // the newest journal position (pass it as `since` next time)
  bool everyone = false;  // rebuild everything: a bulk change, too many people, or a gap
                          // (the journal was pruned past `since`)
  std::vector<std::string> person_ids;  // otherwise the people changed (added, updated, deleted,
                                        // a key added or revoked, a disposition), each once
};

struct StoreOptions {
  const core::Clock* clock = nullptr;  // null: the system clock
};

class Store {
 public:
  // Opens the store at `url` and migrates its schema. InvalidArgument for a URL of no known
  // scheme; Unavailable when the database cannot be reached; FailedPrecondition when its
  // schema is newer than this binary's.
  static absl::StatusOr<std::unique_ptr<Store>> Open(std::string_view url,
                                                     const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::string_view backend() const;  // "sqlite" | "postgresql"
  int schema_version() const;
  static int KnownSchemaVersion(std::string_view backend);

  // --- People
  // Inserts or replaces every person in one transaction: all or nothing. Adds each record's
  // api_keys_sha256 (a key already bound to another person fails the whole import with
  // AlreadyExists naming the key's person). Errors name the person id.
  absl::Status ImportPeople(const std::vector<PersonRecord>& people);
  absl::StatusOr<std::optional<PersonRecord>> GetPerson(std::string_view id);
  // Calls fn for every person in id order.
  absl::Status ForEachPerson(const std::function<void(const PersonRecord&)>& fn);
  // NotFound when absent. Deletes the person's facts and keys.
  absl::Status DeletePerson(std::string_view id);
  // The people of `ids` that exist (with their facts and active keys), read in one snapshot,
  // in the order of `ids`; absent ids are left out.
  absl::StatusOr<std::vector<PersonRecord>> GetPeople(const std::vector<std::string>& ids);

  // --- Registry change journal: every change to people, keys or dispositions is journaled in
  // its own transaction (a gapless sequence in commit order), so that fleet nodes reload only
  // the people changed since the position they last read.
  // More than max_people distinct people changed: everyone.
  absl::StatusOr<RegistryChanges> RegistryChangesSince(int64_t since, size_t max_people = 1000);
  // The newest journal position (0: none yet). Read it before a full load of the registry.
  absl::StatusOr<int64_t> RegistryHead();

  // --- API keys (SHA-256 hex of the key; the key itself is never stored)
  absl::Status AddApiKey(std::string_view person_id, std::string_view key_sha256);
  // The person an active key belongs to, or nullopt. With touch, records the use time.
  absl::StatusOr<std::optional<std::string>> PersonForApiKey(std::string_view key_sha256,
                                                             bool touch = false);
  absl::Status RevokeApiKey(std::string_view key_sha256);  // NotFound when unknown
  // Records when keys were last used (hash -> time), in one transaction; a time older than the
  // stored one is ignored, unknown hashes are skipped. Not a registry change (no reload).
  absl::Status RecordApiKeyUses(const std::vector<std::pair<std::string, core::Timestamp>>& uses);
  // Hashes of the keys revoked at or after `since` (a revoked hash stays dead: it cannot be
  // added again). One query, for a node's fast path on a revocation.
  absl::StatusOr<std::vector<std::string>> RevokedApiKeysSince(core::Timestamp since);
  absl::StatusOr<std::vector<ApiKey>> ListApiKeys(std::string_view person_id);

  // --- Admin tokens
  absl::Status CreateAdminToken(std::string_view token_sha256, std::string_view name, Role role,
                                core::Timestamp expires_at = 0);
  // The token's record when it is known, not revoked and not expired; Unauthenticated
  // otherwise (with the reason: unknown, revoked or expired). Records the use time.
  absl::StatusOr<AdminToken> AuthenticateAdminToken(std::string_view token_sha256);
  absl::Status RevokeAdminToken(std::string_view token_sha256);

  // Every token (hashes included, which are no secrets), newest first.
  absl::StatusOr<std::vector<AdminToken>> ListAdminTokens();

  // --- Screening dispositions (schema version 2)
  // Records (or replaces) the disposition of person_id x list x entry_id. NotFound when the
  // person is unknown; InvalidArgument for an empty field or a malformed fingerprint.
  absl::Status RecordScreeningDisposition(const ScreeningDisposition& d);
  // Dispositions of one person, or of everyone when person_id is empty; by person, list, entry.
  absl::StatusOr<std::vector<ScreeningDisposition>> ListScreeningDispositions(
      std::string_view person_id = {});
  // NotFound when there is none.
  absl::Status DeleteScreeningDisposition(std::string_view person_id, std::string_view list,
                                          std::string_view entry_id);

  // --- Decision log checkpoints, one chain per node
  absl::Status RecordCheckpoint(std::string_view node, const Checkpoint& checkpoint);
  absl::StatusOr<std::vector<Checkpoint>> ListCheckpoints(std::string_view node);
  // A CheckpointSink writing to this store for `node`; lives as long as the store.
  CheckpointSink* CheckpointSinkFor(std::string node);

  // --- Each node's last verification of its log (table audit_verifications, migration 5)
  struct Verification {
    std::string node;
    core::Timestamp started_at = 0, finished_at = 0;
    bool intact = false;  // nothing edited found (the log, and the store's copy if compared)
    uint64_t records = 0, last_seq = 0, problems = 0;
    std::optional<uint64_t> copy_differences;  // nullopt: the copy was not compared
    std::string error;                         // why part of the run could not be done
    std::vector<std::string> findings;         // the first problems and copy differences
  };
  // Replaces the node's row.
  absl::Status RecordVerification(const Verification& v);
  // Every node's, by node.
  absl::StatusOr<std::vector<Verification>> ListVerifications();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when s is 64 lower-case hex digits.
bool IsSha256Hex(std::string_view s);

}  // namespace eargate::store
