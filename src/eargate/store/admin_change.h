// The admin_change record of the decision log: who changed what in the registry (people, API
// keys, screening dispositions, admin tokens), with the state before and after, written BEFORE
// the change is applied. One form for every way in: the admin API (/admin/v1, the actor is an
// admin token) and the CLI (`eargate people ...`, `eargate admin token ...` with --audit-dir,
// the actor is the OS user, "cli:<user>").
//
// Payload (a JSON object):
//   {"type":"admin_change","change_id":...,"at":"<RFC 3339>","who":{"name":...,"role":...
//    [,"token_sha256":...]},"what":"person.update","target":...,"before":<JSON|null>,
//    "after":<JSON|null>[,"error":...]}
// A change that failed after its record was written gets a second record "<what>.failed"
// with the error. API keys and admin tokens appear only as SHA-256 hashes.
//
// Thread-safety: free functions; DecisionLog::Append is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "absl/status/statusor.h"
#include "eargate/core/time.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/store.h"

namespace eargate::store {

struct ChangeActor {
  std::string name;          // the admin token's name, or "cli:<os user>"
  std::string role;          // viewer | analyst | officer | admin, or "cli"
  std::string token_sha256;  // the admin token's hash; empty (left out) for the CLI
};

struct AdminChange {
  std::string_view what;      // person.create, person.update, person.delete, api_key.create, ...
  std::string_view person;    // the person concerned ("" for none, e.g. admin tokens)
  std::string_view target;    // what the change is about: a person id, a key or token hash
  std::string_view before = "null";  // JSON
  std::string_view after = "null";   // JSON
  std::string_view error;     // "": none
};

// The record's JSON payload for change `change_id` made at `at`.
std::string AdminChangePayload(const ChangeActor& who, const AdminChange& c,
                               std::string_view change_id, core::Timestamp at);

// Appends the record (with a new change id) and returns the id once it is recorded per the
// log's durability; the log's error otherwise (then the caller must not apply the change).
absl::StatusOr<std::string> AppendAdminChange(DecisionLog& log, const ChangeActor& who,
                                              const AdminChange& c, core::Timestamp at);

// Appends every change to the decision log in `dir` (opened for the call) and returns once all
// are on disk (one sync for the lot); the log's error otherwise (then apply none of them).
// The log must not be held by another process (a running gateway's audit.dir).
absl::Status RecordAdminChanges(const std::string& dir, const ChangeActor& who,
                                const std::vector<AdminChange>& changes, core::Timestamp at);

// The before/after forms of the records (JSON objects, no newline).
// A person as `eargate people export` writes it (SPEC §3 JSONL, active key hashes).
std::string PersonChangeJson(const PersonRecord& r);
// An admin token: token_sha256, name, role, created_at, expires_at, revoked_at, last_used_at.
std::string AdminTokenJson(const AdminToken& t);
// An API key: {"person_id", "key_sha256"[, "active"]}.
std::string ApiKeyChangeJson(std::string_view person_id, std::string_view key_sha256,
                             std::optional<bool> active = std::nullopt);

// The actor of a change made from the command line: "cli:<login name of the effective user>"
// (the numeric uid when it has no name), role "cli".
ChangeActor CliActor();

}  // namespace eargate::store
