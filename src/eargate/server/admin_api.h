// The admin API (/admin/v1/...): people, API keys, screening dispositions, decision search
// and admin tokens, over the gateway's store (store.url). Without a store it is off (404).
//
// Authentication: `Authorization: Bearer <admin token>`; the token is hashed (SHA-256) and
// looked up in the store's admin_tokens. No token, or an unknown, expired or revoked one:
// 401 for every path under /admin/ (nothing is reachable without a token). API keys of the
// people registry are no admin tokens.
//
// Roles, each including the ones before it (kRoutes in admin_api.cc is the table):
//
//   | role    | may                                                                     |
//   |---------|-------------------------------------------------------------------------|
//   | viewer  | read: whoami, people, a person's keys (no secrets), dispositions,       |
//   |         | current screening hits, decision search (this node's log, or the fleet's |
//   |         | records shipped to the store)                                           |
//   | analyst | + clear a screening hit (record a disposition) and withdraw a clearance |
//   | officer | + create, update, delete people; create and revoke API keys             |
//   | admin   | + list, create and revoke admin tokens                                  |
//
// A role too low: 403. A path that is no endpoint: 404; a method the endpoint lacks: 405.
// A bad body or query: 400 naming the field ("role: unknown role 'root' (viewer, analyst,
// officer, admin)"); unknown fields are errors.
//
// Every change is recorded in the decision log (audit.dir) as an admin_change record BEFORE
// it is applied: who (the token's name and role), when, what ("person.update",
// "api_key.create", ...), the target, and the before/after JSON (never a secret: keys and
// tokens appear as SHA-256 hashes). When the record cannot be written, the change is refused
// (503) and nothing is applied. When the store then fails to apply it, a second record
// ("<what>.failed", with the error) says so. Without audit.dir changes are applied unrecorded
// (the gateway warns at start).
//
// Handle() blocks for the store round trips and, with audit.durability sync, one fdatasync
// per change: http_server.cc calls it on a thread of its own, never on an I/O thread.
//
// Thread-safety: Handle() may be called from any thread concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace eargate::server {

class Gateway;
struct FleetSearch;

class AdminApi {
 public:
  // `gateway` supplies the store, the decision log, the screening lists, the serving state
  // and the clock; it must outlive the AdminApi.
  explicit AdminApi(Gateway* gateway);
  ~AdminApi();

  // One request. `target` is the request target ("/admin/v1/people?limit=10"). Returns the
  // HTTP status; *out is the JSON body.
  int Handle(std::string_view method, std::string_view target, std::string_view authorization,
             std::string_view body, std::string* out);

  // Whether the request is a decision search: a read that may scan a node's whole log, which
  // the server runs apart from the other admin requests so that a change (a key revoked)
  // never waits behind one.
  static bool IsDecisionSearch(std::string_view method, std::string_view target);

 private:
  Gateway* gw_;
  std::unique_ptr<FleetSearch> fleet_;  // the store's shipped records, for scope=fleet
};

// A new secret: prefix + 43 characters of base64url (32 random bytes from the OS CSPRNG).
// API keys are "sk-eg-...", admin tokens "egadm-...".
std::string NewSecret(std::string_view prefix);

}  // namespace eargate::server
