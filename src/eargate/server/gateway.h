// The gateway's request logic, apart from HTTP: who is asking (bearer key -> person), where
// they are (socket or trusted X-Forwarded-For -> geo-IP), what they ask for, the decision, and
// the answers of /v1/decide and /v1/models. http_server.cc maps these results to HTTP.
//
// State that can change at run time (policy snapshot, people registry) lives in one immutable
// ServingState swapped atomically by Reload(); a request loads it once and finishes on it even
// if a reload happens meanwhile. The restricted-party lists (screening.lists) reload the same
// way: a changed list file is parsed and indexed on the watcher thread, the whole registry is
// re-screened against it, and the new index and registry are swapped in together; every hit
// that appears, disappears or changes band is logged and counted. Reference data and the geo
// database are fixed for the process lifetime (restart to change them).
//
// Thread-safety: every public method may be called from any thread concurrently. Lifetime:
// the Gateway must outlive the server using it; Metrics and Clock must outlive the Gateway.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "eargate/core/request.h"
#include "eargate/core/time.h"
#include "eargate/geoip/cidr.h"
#include "eargate/geoip/geoip.h"
#include "eargate/rules/ear_data.h"
#include "eargate/rules/policy.h"
#include "eargate/server/config.h"
#include "eargate/server/metrics.h"
#include "eargate/server/people.h"
#include "eargate/store/decision_log.h"
#include "eargate/store/log_watch.h"
#include "eargate/store/registry_watcher.h"
#include "eargate/store/store.h"

namespace eargate::server {

class AdminApi;

struct ServingState {
  rules::PolicyPtr policy;
  PeoplePtr people;
  std::vector<int> item_slots;  // metrics slot per policy item index
  // impact::PolicyBoundaries: when nothing lies ahead, no advance notice is computed.
  std::vector<core::Timestamp> boundaries;
  // The restricted-party lists the people were screened against (null: none configured);
  // POST /v1/screen answers from it.
  std::shared_ptr<const screen::Index> screen_index;
  // Key hashes revoked in the store since this process started (store only; null: none).
  // Refused even when `people` still lists them: a revocation is served at once, before the
  // registry rebuild that drops the key.
  std::shared_ptr<const absl::flat_hash_set<std::string>> revoked_keys;
  // Store only: the registry change journal position `people` reflects (store::RegistryHead
  // read before the full load, or the head of the last incremental update).
  int64_t registry_seq = 0;
};
using StatePtr = std::shared_ptr<const ServingState>;

// The last client location worked out on one client connection. The peer address is fixed
// for a connection, and trusted_proxies and the geo database for the process lifetime, so the
// answer depends only on the X-Forwarded-For bytes: the server keeps one per connection and
// requests repeating the header skip the parse and the geo lookup.
struct LocationMemo {
  bool valid = false;
  std::string forwarded_for;  // the header bytes the answer is for
  bool known = false;         // false: the header held garbage (location unknown)
  std::string ip;
  core::Country ip_country;
  bool anonymizer = false;
};

// What HTTP told us about the caller. Views into the request; valid for the call only.
struct Caller {
  std::string_view authorization;     // Authorization header
  std::string_view person_header;     // X-Eargate-Person (trusted proxies only)
  std::string_view forwarded_for;     // X-Forwarded-For (trusted proxies only)
  std::string_view declared_country;  // X-Eargate-Country: where the client says it is
  geoip::IpAddress peer;              // the socket's remote address
  // Set when the server already resolved the bearer key with PersonForKey under the very state
  // passed to Authorize (its per-connection memo); null inside: unknown or revoked key.
  // Unset: Authorize authenticates.
  std::optional<const core::Person*> person;
  LocationMemo* location_memo = nullptr;  // optional, see LocationMemo
};

struct Access {
  enum class Status : uint8_t {
    kDecided,          // outcome/reason/decision_id are set
    kUnauthenticated,  // no or unknown key: 401
    kUnknownItem,      // the item names nothing in the policy: 404 (proxy) / decided deny (authz)
    kBadRequest,       // a header that cannot be read (X-Eargate-Country, layer, channel): 400
  };
  Status status = Status::kUnauthenticated;
  core::Outcome outcome = core::Outcome::kDeny;
  std::string reason;
  std::string decision_id;
  // Views into the ServingState the access was decided under: valid while it is held.
  std::string_view person_id;
  std::string_view item_id;
  std::string_view policy_version;
  std::string client_ip;
  std::string country;  // where the request was placed ("" unknown)
  // Advance notice (X-Eargate-Change): "deny at 2026-07-01T00:00:00Z; notice ... takes effect"
  // when the loaded policy changes this caller's outcome within a year; "" otherwise.
  std::string change;
  // The decision record (the SPEC §2 decision JSON plus the location facts), when the gateway
  // keeps a decision log; "" otherwise.
  std::string record;
  core::Timestamp at = 0;
};

class Gateway {
 public:
  // Loads reference data, the policy, the people file and the geo database named by `config`
  // (already validated). Every error is returned; nothing half-loaded is served.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(const Config& config, Metrics* metrics,
                                                         const core::Clock* clock);
  ~Gateway();

  const Config& config() const { return config_; }
  // The state being served. Cached per thread and refreshed when a reload bumps the
  // generation, so the hot path does no atomic read-modify-write on a shared refcount.
  // The reference is valid until this thread's next call.
  const StatePtr& state() const;
  const geoip::GeoIpDb* geo() const { return geo_.get(); }
  bool IsTrustedProxy(const geoip::IpAddress& ip) const { return trusted_.Contains(ip); }

  // The client address: the peer, or from X-Forwarded-For when the peer is a trusted proxy
  // (the right-most address that is not itself a trusted proxy). nullopt when the header
  // holds garbage (then the location is unknown: fail closed).
  std::optional<geoip::IpAddress> ClientAddress(const Caller& caller) const;

  // The person a bearer key names under `state`: null for an unknown or revoked key. Depends
  // only on the state and the key (the server memoizes it per connection and state).
  const core::Person* PersonForKey(const ServingState& state, std::string_view key) const;

  // Authenticates the caller and decides access to `item` (id or alias) under `state`.
  // `record_storage` (optional): a buffer whose capacity the decision record reuses (a server
  // keeps one per connection and takes it back after the append), so that writing the record
  // does not allocate once the buffer has grown.
  Access Authorize(const ServingState& state, const Caller& caller, std::string_view item,
                   core::Layer layer, core::Channel channel, std::string* record_storage = nullptr);

  // POST /v1/decide: body is a SPEC §2 request. Returns the HTTP status; *out the JSON body.
  int Decide(std::string_view body, std::string* out);

  // The decision log, or null when audit.dir is not set.
  store::DecisionLog* audit_log() const { return audit_.get(); }
  // Its background verifier (audit.verify_interval_minutes), or null without a log.
  store::LogWatch* log_watch() const { return log_watch_.get(); }
  // This node's name in the store (audit.node, or "<host name>:<audit.dir>").
  const std::string& node() const { return node_; }
  // Shipping the log to the store (audit.ship_interval_ms with store.url): whether it runs,
  // the highest seq of this node's records in the store after the last successful ship (0:
  // none yet), and the records this process shipped.
  bool shipping() const { return shipper_.joinable(); }
  uint64_t shipped_seq() const { return shipped_seq_.load(std::memory_order_relaxed); }
  uint64_t shipped_records() const { return shipped_records_.load(std::memory_order_relaxed); }
  // Appends a's record without blocking. Returns whether `waiter` was queued: it is delivered
  // to waiter->queue once the record is durable (sync durability) or the log failed. Otherwise
  // the append is complete already (no log or nothing to record, async durability, an error).
  // Either way RecordOk(*waiter) then tells whether the answer may be given.
  bool AppendRecordAsync(const Access& a, store::AppendWaiter* waiter);
  // Whether a completed append succeeded; a failure is counted and logged (the caller must
  // not answer "allow").
  bool RecordOk(const store::AppendWaiter& waiter);
  // The same, blocking the caller (for /v1/decide and tests).
  bool AppendRecord(const Access& a);
  // OK, or why the decision log takes no records (then every access is denied): /readyz
  // answers 503 with it, so that a load balancer sends requests to other nodes.
  absl::Status AuditLogStatus() const;

  // POST /v1/screen: body {"name": ..., "country"?: ..., "type"?: ..., "limit"?: N} screened
  // against the configured lists; the answer is an `eargate screen` result line. Needs a
  // registered API key. Returns the HTTP status (503 when no lists are configured).
  int Screen(const Caller& caller, std::string_view body, std::string* out);

  // GET /v1/models: the OpenAI list of models this caller may reach. Returns the HTTP status.
  int Models(const Caller& caller, std::string* out);

  // /admin/v1/...: the admin API (admin_api.h), authenticated by admin tokens from the store.
  // `target` is the request target (path and query). Returns the HTTP status; *out the JSON.
  int Admin(std::string_view method, std::string_view target, const Caller& caller,
            std::string_view body, std::string* out);

  // The store (store.url), or null when the registry comes from a people file.
  store::Store* store() const { return store_.get(); }
  // The restricted-party lists being served, or null when none are configured.
  std::shared_ptr<const screen::Index> screen_index() const { return state()->screen_index; }
  const core::Clock* clock() const { return clock_; }
  // The reference data (fixed for the process lifetime).
  const rules::EarData& data() const { return *data_; }

  // Loads the policy and people file anew (and the screening lists when a list file changed),
  // re-screens the people, and swaps them in when all are valid; otherwise logs every error,
  // counts it and keeps serving the old state (old lists included). Serialized.
  absl::Status Reload();
  // Brings the people registry up to date under the policy being served and swaps it in; a
  // broken policy file never holds back a key revocation. From the store: reads the change
  // journal since the served position and reloads and re-screens just the people changed,
  // sharing every other entry (PeopleRegistry::Update); rebuilds everything when the journal
  // has a gap, a bulk change or more than 1000 people. From a people file: rebuilds.
  absl::Status ReloadRegistry();
  // Asks the watcher thread to rebuild the registry (the store's RegistryWatcher calls this).
  void RequestRegistryReload();
  // The fast path of a registry change: reads the keys revoked since start (one query on its
  // own connection) and swaps in the same registry with them refused. The RegistryWatcher
  // calls it at once on every change, before asking for the rebuild.
  absl::Status ApplyRevocations();
  // Asks the watcher thread to reload (async-signal-unsafe; call from the I/O loop).
  void RequestReload();
  // Starts / stops the thread that polls the files (policy_watch_ms) and serves RequestReload.
  void StartWatcher();
  void StopWatcher();

 private:
  Gateway(const Config& config, Metrics* metrics, const core::Clock* clock);
  // keep_policy: rebuild the people only, under this policy.
  absl::StatusOr<StatePtr> LoadState(rules::PolicyPtr keep_policy = nullptr);
  // `current` with the people of `changes` reloaded from the store (nullopt: rebuild instead).
  absl::StatusOr<std::optional<StatePtr>> UpdateState(const StatePtr& current);
  absl::Status Swap(absl::StatusOr<StatePtr> state, std::string_view what);
  void FillLocation(const Caller& caller, core::Location* loc);
  const core::Person* Authenticate(const ServingState& state, const Caller& caller) const;
  void WatchLoop();
  std::string FileSignature(const ServingState& state) const;
  // Screening lists: parse + index the configured files; stat signature of the files; log
  // and count the hits that changed between two registries (before null: at start).
  absl::StatusOr<std::shared_ptr<const screen::Index>> LoadLists() const;
  std::string ListsSignature() const;
  void ReportScreening(const PeopleRegistry* before, const PeopleRegistry& after);

  Config config_;
  Metrics* metrics_;
  const core::Clock* clock_;
  std::shared_ptr<const rules::EarData> data_;
  geoip::GeoIpPtr geo_;
  // The lists LoadState screens with (null: no screening configured) and the signature of
  // their files. Guarded by reload_mu_ (after Create); requests read ServingState's copy.
  std::shared_ptr<const screen::Index> screen_index_;
  std::string lists_signature_;
  std::string loaded_signature_;  // FileSignature of the state Create loaded (the watcher's start)
  // The decision log's checkpoints to the store (a connection of their own; it outlives the
  // log, whose sink thread uses it until Close), and the background verifier's reads of them.
  std::unique_ptr<store::Store> checkpoint_store_;
  std::unique_ptr<store::DecisionLog> audit_;          // null: no decision log
  std::unique_ptr<store::LogWatch> log_watch_;         // null: no decision log
  std::string node_;                                   // audit.node, or its default
  std::unique_ptr<store::Store> store_;                // null: people from the people file
  std::unique_ptr<store::Store> revocation_store_;     // a second connection for ApplyRevocations
  std::unique_ptr<store::RegistryWatcher> registry_watcher_;
  std::unique_ptr<AdminApi> admin_;                    // null without a store
  geoip::CidrSet trusted_;
  core::Timestamp started_at_ = 0;  // wall clock at Create, for RevokedApiKeysSince
  std::atomic<StatePtr> state_;
  std::atomic<uint64_t> generation_{0};
  const uint64_t instance_;  // distinguishes gateways in the per-thread cache
  // A failed decision log fails every request: one error line per kLogFailureEvery, with the
  // count since the last, rather than one per request.
  void NoteLogFailure(const absl::Status& s);
  std::atomic<int64_t> next_failure_line_ns_{0};
  std::atomic<uint64_t> failures_unlogged_{0};

  std::mutex reload_mu_;  // serializes Reload() and ReloadRegistry()
  std::mutex swap_mu_;    // serializes read-modify-writes of state_ (short)
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool reload_requested_ = false;  // guarded by watch_mu_
  bool registry_changed_ = false;  // guarded by watch_mu_
  bool stop_ = false;              // guarded by watch_mu_
  std::thread watcher_;

  // Last use of API keys (store only): noted on lookup, written by the watcher thread.
  void NoteKeyUse(const std::string& hash) const;
  void FlushKeyUses();
  mutable std::mutex key_use_mu_;
  mutable absl::flat_hash_map<std::string, core::Timestamp> pending_key_uses_;  // guarded by key_use_mu_

  // Shipping the log's records to the store (audit.ship_interval_ms).
  void ShipLoop(std::string node);
  void StopShipping();
  std::mutex ship_mu_;
  std::condition_variable ship_cv_;
  bool ship_stop_ = false;  // guarded by ship_mu_
  std::thread shipper_;
  std::atomic<uint64_t> shipped_seq_{0}, shipped_records_{0};
};

// "Bearer <token>" -> token ("" when absent or another scheme). Case-insensitive scheme.
std::string_view BearerToken(std::string_view authorization);

// Appends the OpenAI-style error body {"error":{"type":...,"code":...,"message":...}}.
void AppendError(std::string_view type, std::string_view code, std::string_view message,
                 std::string* out);

}  // namespace eargate::server
