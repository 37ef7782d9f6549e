// The gateway's configuration: one YAML file (configs/eargate.yaml is the documented example),
// overridden by `eargate serve` flags, validated completely before anything starts.
//
// Every field below lists its YAML key and default. Relative paths in a config file are
// resolved against the file's folder; paths given as flags against the working directory.
// Validation reports every problem at once, each as "file:line:col: key: message" (or
// "flag --x: message" for overrides).
//
// Thread-safety: a plain value; build it once at start, then share it as const.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace eargate::server {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

struct HostPort {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0", "localhost"
  uint16_t port = 0;
};

struct UpstreamConfig {
  std::string url;                    // upstream.url: "http://127.0.0.1:8000" (http only); empty = proxy disabled (503)
  std::string host;                   // derived from url
  uint16_t port = 80;                 // derived from url
  std::string path_prefix;            // derived from url ("/openai" in http://h/openai)
  uint32_t connect_timeout_ms = 2000;  // upstream.connect_timeout_ms
  uint32_t timeout_ms = 120000;        // upstream.timeout_ms: max silence while waiting for bytes
  std::string authorization;           // upstream.authorization: Authorization header sent upstream ("" = none)
  uint32_t max_idle_connections = 64;  // upstream.max_idle_connections: idle upstream connections kept per I/O thread
};

struct GeoIpConfig {
  std::string db;                 // geoip.db: .mmdb path; "" = no geolocation (location unknown)
  std::string anonymizer_ranges;  // geoip.anonymizer_ranges: CIDR file; "" = none
};

// Restricted-party screening of the registry (issue 4): every person is screened by name when
// the people file is loaded or reloaded; hits reach the engine as restricted-party findings.
struct ScreeningConfig {
  std::vector<std::string> lists;  // screening.lists: list files or folders; empty = no screening
  double potential_score = 0.86;   // screening.potential_score: at or above, a potential match (review)
  double confirmed_score = 0.97;   // screening.confirmed_score: at or above, a confirmed hit
};

// The decision log (issue 5): every decision the gateway makes is appended to a hash-chained
// log (doc/audit_log_format.md) before it is answered.
struct AuditConfig {
  std::string dir;                // audit.dir: log folder (created); "" = no decision log
  std::string durability = "sync";  // audit.durability: sync (answer after fdatasync, group commit) | async
  // audit.retention_days: whole log segments older than this are deleted (an anchor checkpoint
  // keeps the rest verifiable); 0 keeps everything. Default five years (the issue text).
  uint32_t retention_days = 1827;
  // audit.segment_mib: a segment is closed before it would exceed this many MiB (1-4096).
  uint32_t segment_mib = 64;
  // audit.direct_io: sync mode writes zero-filled segments with O_DIRECT, past the page cache,
  // where the filesystem takes it (doc/audit_log_format.md §6); false: through the page cache.
  bool direct_io = true;
  // audit.ship_interval_ms: with a store (store.url), the log's records are copied to the
  // store's decision_records table this often, for search across a fleet (`eargate audit search
  // --store`); 0 = never. The log stays the record of truth.
  uint32_t ship_interval_ms = 1000;
  // audit.node: this node's name in the store's decision_records and audit_checkpoints (one
  // name per log); "" = "<host name>:<audit.dir>".
  std::string node;
  // audit.verify_interval_minutes: the gateway verifies its whole log in the background (as
  // `eargate audit verify` does, with the store's checkpoints when there is a store) a minute
  // after start and then this often; 0 = only when asked (POST /admin/v1/audit/verify).
  // Results: /metrics eargate_audit_verify_*, GET /admin/v1/audit/verify, the log.
  uint32_t verify_interval_minutes = 1440;
};

// The store (issue 5): the person registry, API keys, admin tokens and screening
// dispositions in SQLite or PostgreSQL, shared by every node of a fleet.
struct StoreConfig {
  // store.url: "sqlite:///path/eargate.db" or "sqlite:PATH" (a relative sqlite path is
  // resolved against the config file's folder) or "postgresql://user@host:5432/db". "" = no store: people come
  // from `people`, and the admin API is off. When set, `people` must be "" (one source).
  std::string url;
  // store.watch_poll_ms: SQLite only, how often to look for another process's registry
  // change (PostgreSQL is told at once by NOTIFY). A change is served within this + a reload.
  uint32_t watch_poll_ms = 200;
};

struct LimitsConfig {
  uint32_t max_header_bytes = 16 * 1024;    // limits.max_header_bytes (request line + headers)
  uint32_t max_body_bytes = 4 * 1024 * 1024;  // limits.max_body_bytes
  uint32_t header_timeout_ms = 10000;       // limits.header_timeout_ms: to receive a whole header
  uint32_t body_timeout_ms = 30000;         // limits.body_timeout_ms: to receive a whole body
  uint32_t idle_timeout_ms = 60000;         // limits.idle_timeout_ms: keep-alive idle time
  uint32_t write_timeout_ms = 30000;        // limits.write_timeout_ms: per write to a client
  uint32_t max_connections = 10000;         // limits.max_connections: more are closed at accept
  uint32_t drain_timeout_ms = 30000;        // limits.drain_timeout_ms: SIGTERM grace period
};

struct Config {
  std::string source;                  // the config file, or "" for defaults + flags
  HostPort listen{"127.0.0.1", 8080};  // listen: "HOST:PORT" (port 0 = any free port)
  uint32_t threads = 0;                // threads: I/O threads; 0 = one per core
  std::string policy;                  // policy: policy YAML (required)
  uint32_t policy_watch_ms = 1000;     // policy_watch_ms: poll the policy/people files; 0 = SIGHUP only
  std::string data_dir;                // data_dir: reference data; "" = the bundled data/
  std::string people;                  // people: people file (SPEC §3 JSON lines); "" = nobody
  UpstreamConfig upstream;             // upstream: see UpstreamConfig
  GeoIpConfig geoip;                   // geoip: see GeoIpConfig
  ScreeningConfig screening;           // screening: see ScreeningConfig
  AuditConfig audit;                   // audit: see AuditConfig
  StoreConfig store;                   // store: see StoreConfig
  std::vector<std::string> trusted_proxies;  // trusted_proxies: CIDRs whose X-Forwarded-For is believed
  bool trust_person_header = false;    // trust_person_header: accept X-Eargate-Person from trusted proxies
  LimitsConfig limits;                 // limits: see LimitsConfig
  LogLevel log_level = LogLevel::kInfo;  // log_level: debug | info | warn | error
  bool access_log = false;             // access_log: one log line per request (info level)
  // fail_open: when the gateway cannot decide (an internal error), allow instead of deny.
  // Default false: fail closed. Unknown keys, unknown models and denials never fail open.
  bool fail_open = false;
};

// Parses YAML text into *config (fields absent keep their current values, so apply it to a
// Config holding the defaults). `path` is used in messages and to resolve relative paths.
absl::Status ParseConfig(const std::string& yaml, const std::string& path, Config* config);
absl::Status LoadConfigFile(const std::string& path, Config* config);

// Checks cross-field rules and derived values (upstream URL parts, listen address, files
// exist, CIDRs parse). Every problem is listed.
absl::Status ValidateConfig(Config* config);

absl::StatusOr<HostPort> ParseHostPort(const std::string& text);
// "" (no store), sqlite://PATH (the folder must exist) or postgresql://...
absl::Status ValidateStoreUrl(const std::string& url);
absl::Status ParseUpstreamUrl(const std::string& url, UpstreamConfig* out);
std::string_view Name(LogLevel level);

}  // namespace eargate::server
