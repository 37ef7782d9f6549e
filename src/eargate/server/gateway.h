// The gateway's request logic, apart from HTTP: who is asking (bearer key -> person), where
// they are (socket or trusted X-Forwarded-For -> geo-IP), what they ask for, the decision, and
// the answers of /v1/decide and /v1/models. http_server.cc maps these results to HTTP.
//
// State that can change at run time (policy snapshot, people registry) lives in one immutable
// ServingState swapped atomically by Reload(); a request loads it once and finishes on it even
// if a reload happens meanwhile. Reference data and the geo database are fixed for the
// process lifetime (restart to change them).
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

namespace eargate::server {

struct ServingState {
  rules::PolicyPtr policy;
  PeoplePtr people;
  std::vector<int> item_slots;  // metrics slot per policy item index
  // impact::PolicyBoundaries: when nothing lies ahead, no advance notice is computed.
  std::vector<core::Timestamp> boundaries;
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
  // Set when the server already looked the bearer key up in the registry of the very state
  // passed to Authorize (its per-connection memo); null inside: unknown key. Unset: look up.
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

  // Authenticates the caller and decides access to `item` (id or alias) under `state`.
  Access Authorize(const ServingState& state, const Caller& caller, std::string_view item,
                   core::Layer layer, core::Channel channel);

  // POST /v1/decide: body is a SPEC §2 request. Returns the HTTP status; *out the JSON body.
  int Decide(std::string_view body, std::string* out);

  // The decision log, or null when audit.dir is not set.
  store::DecisionLog* audit_log() const { return audit_.get(); }
  // Appends a's record; `done(true)` once it is durable (per audit.durability), false on an
  // error (counted and logged; the caller must not answer "allow"). Runs `done` on the log's
  // writer thread. Immediate done(true) when there is no log or nothing to record.
  void AppendRecordAsync(const Access& a, std::function<void(bool)> done);
  // The same, blocking the caller (for /v1/decide and tests).
  bool AppendRecord(const Access& a);

  // POST /v1/screen: body {"name": ..., "country"?: ..., "type"?: ..., "limit"?: N} screened
  // against the configured lists; the answer is an `eargate screen` result line. Needs a
  // registered API key. Returns the HTTP status (503 when no lists are configured).
  int Screen(const Caller& caller, std::string_view body, std::string* out);

  // GET /v1/models: the OpenAI list of models this caller may reach. Returns the HTTP status.
  int Models(const Caller& caller, std::string* out);

  // Loads the policy and people file anew and swaps them in when both are valid; otherwise
  // logs every error, counts it and keeps serving the old state. Serialized.
  absl::Status Reload();
  // Asks the watcher thread to reload (async-signal-unsafe; call from the I/O loop).
  void RequestReload();
  // Starts / stops the thread that polls the files (policy_watch_ms) and serves RequestReload.
  void StartWatcher();
  void StopWatcher();

 private:
  Gateway(const Config& config, Metrics* metrics, const core::Clock* clock);
  absl::StatusOr<StatePtr> LoadState();
  void FillLocation(const Caller& caller, core::Location* loc);
  const core::Person* Authenticate(const ServingState& state, const Caller& caller) const;
  void WatchLoop();
  std::string FileSignature(const ServingState& state) const;

  Config config_;
  Metrics* metrics_;
  const core::Clock* clock_;
  std::shared_ptr<const rules::EarData> data_;
  geoip::GeoIpPtr geo_;
  std::shared_ptr<const screen::Index> screen_index_;  // null: no screening configured
  std::unique_ptr<store::DecisionLog> audit_;          // null: no decision log
  geoip::CidrSet trusted_;
  std::atomic<StatePtr> state_;
  std::atomic<uint64_t> generation_{0};
  const uint64_t instance_;  // distinguishes gateways in the per-thread cache

  std::mutex reload_mu_;  // serializes Reload()
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool reload_requested_ = false;  // guarded by watch_mu_
  bool stop_ = false;              // guarded by watch_mu_
  std::thread watcher_;
};

// "Bearer <token>" -> token ("" when absent or another scheme). Case-insensitive scheme.
std::string_view BearerToken(std::string_view authorization);

}  // namespace eargate::server
