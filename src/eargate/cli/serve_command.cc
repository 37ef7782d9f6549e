// eargate serve: the gateway (SPEC §4). Flags override the config file; without --config the
// embedded defaults serve the bundled letter policy, the sample registry and the bundled
// geo-IP database, trusting loopback as a proxy, with no upstream.
#include <filesystem>
#include <iostream>
#include <optional>

#include "eargate/cli/command.h"
#include "eargate/core/strings.h"
#include "eargate/core/time.h"
#include "eargate/server/config.h"
#include "eargate/server/gateway.h"
#include "eargate/server/http_server.h"
#include "eargate/server/log.h"
#include "eargate/server/metrics.h"

namespace eargate::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string policy;
  std::string people;
  std::string upstream;
  std::string geoip;
  std::vector<std::string> trusted_proxies;
  std::string log_level;
  std::string audit_dir;
  std::string store;
  std::string audit_durability;
  std::optional<uint32_t> audit_verify_interval_minutes;
  uint32_t threads = 0;
  bool threads_set = false;
};

std::string SourceRoot() {
  return std::filesystem::path(EARGATE_DEFAULT_DATA_DIR).parent_path().string();
}

std::string Absolute(const std::string& p) {
  return p.empty() ? p : std::filesystem::absolute(p).lexically_normal().string();
}

void ApplyEmbeddedDefaults(server::Config* c) {
  std::string root = SourceRoot();
  c->policy = root + "/examples/policies/letter.yaml";
  std::string people = root + "/examples/people/sample.jsonl";
  if (std::filesystem::exists(people)) c->people = people;
  std::string geo = root + "/third_party/geoip/geo-whois-asn-country.mmdb";
  if (std::filesystem::exists(geo)) c->geoip.db = geo;
  c->trusted_proxies = {"127.0.0.1/32", "::1/128"};
  std::string lists = root + "/data/screening";
  if (std::filesystem::is_directory(lists)) c->screening.lists = {lists};
}

int RunServe(const ServeFlags& f) {
  server::Config config;
  if (f.config.empty()) {
    ApplyEmbeddedDefaults(&config);
  } else if (auto s = server::LoadConfigFile(f.config, &config); !s.ok()) {
    std::cerr << "eargate serve: " << s.message() << "\n";
    return kExitBadInput;
  }
  if (!f.listen.empty()) {
    auto hp = server::ParseHostPort(f.listen);
    if (!hp.ok()) {
      std::cerr << "eargate serve: --listen: " << hp.status().message() << "\n";
      return kExitBadInput;
    }
    config.listen = *hp;
  }
  if (!f.policy.empty()) config.policy = Absolute(f.policy);
  if (!f.people.empty()) config.people = Absolute(f.people);
  if (!f.upstream.empty()) config.upstream.url = f.upstream;
  if (!f.geoip.empty()) config.geoip.db = Absolute(f.geoip);
  if (!f.audit_dir.empty()) config.audit.dir = Absolute(f.audit_dir);
  if (!f.store.empty()) {
    config.store.url = f.store;
    if (f.store.rfind("sqlite://", 0) == 0) config.store.url = "sqlite://" + Absolute(f.store.substr(9));
    else if (f.store.rfind("sqlite:", 0) == 0) config.store.url = "sqlite://" + Absolute(f.store.substr(7));
    if (f.people.empty()) config.people.clear();  // the registry comes from the store
  }
  if (!f.audit_durability.empty()) config.audit.durability = f.audit_durability;
  if (f.audit_verify_interval_minutes)
    config.audit.verify_interval_minutes = *f.audit_verify_interval_minutes;
  if (!f.trusted_proxies.empty()) config.trusted_proxies = f.trusted_proxies;
  if (f.threads_set) config.threads = f.threads;
  if (!f.log_level.empty()) {
    if (f.log_level == "debug") config.log_level = server::LogLevel::kDebug;
    else if (f.log_level == "info") config.log_level = server::LogLevel::kInfo;
    else if (f.log_level == "warn") config.log_level = server::LogLevel::kWarn;
    else if (f.log_level == "error") config.log_level = server::LogLevel::kError;
  }
  if (config.data_dir.empty()) config.data_dir = DataDir();
  if (auto s = server::ValidateConfig(&config); !s.ok()) {
    std::cerr << "eargate serve: invalid configuration:\n" << s.message() << "\n";
    return kExitBadInput;
  }
  server::SetLogLevel(config.log_level);

  server::Metrics metrics;
  auto gateway = server::Gateway::Create(config, &metrics, &core::Clock::System());
  if (!gateway.ok()) {
    std::cerr << "eargate serve: cannot start:\n" << gateway.status().message() << "\n";
    return kExitBadInput;
  }
  server::HttpServer http(gateway->get(), &metrics);
  if (auto s = http.Listen(); !s.ok()) {
    std::cerr << "eargate serve: " << s.message() << "\n";
    return kExitTampered;  // 1: generic failure
  }
  // Scripts and tests read the bound port from this line (useful with --listen HOST:0).
  std::cout << "eargate serve: listening on http://"
            << (config.listen.host.find(':') != std::string::npos ? "[" + config.listen.host + "]"
                                                                   : config.listen.host)
            << ":" << http.port() << std::endl;
  (*gateway)->StartWatcher();
  http.Run();
  (*gateway)->StopWatcher();
  return kExitOk;
}

}  // namespace

EG_REGISTER_COMMAND(serve, [](CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* sub = app.add_subcommand(
      "serve",
      "Run the gateway: /v1/decide, /v1/authz (nginx auth_request, Envoy ext_authz), the\n"
      "OpenAI-compatible proxy (451 when export control denies), /v1/models, /healthz,\n"
      "/readyz, /metrics. SIGHUP or a changed policy file reloads; SIGTERM drains and exits.\n"
      "Without --config: the bundled letter policy, sample registry and geo-IP database.");
  sub->add_option("--config", flags->config, "gateway config YAML (configs/eargate.yaml documents every setting)")
      ->check(CLI::ExistingFile);
  sub->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0: any free port)");
  sub->add_option("--policy", flags->policy, "policy YAML")->check(CLI::ExistingFile);
  sub->add_option("--people", flags->people, "people file (JSON lines, SPEC §3)")->check(CLI::ExistingFile);
  sub->add_option("--upstream", flags->upstream, "model server base URL, http://HOST:PORT[/prefix]");
  sub->add_option("--geoip", flags->geoip, "geo-IP database (.mmdb)")->check(CLI::ExistingFile);
  sub->add_option("--trusted-proxy", flags->trusted_proxies,
                  "CIDR whose X-Forwarded-For is believed (repeatable; replaces the config's list)");
  sub->add_option("--audit-dir", flags->audit_dir,
                  "decision log folder: every decision is appended (hash-chained) before it is answered");
  sub->add_option("--store", flags->store,
                  "store URL (sqlite:///path/eargate.db or postgresql://...): people, keys and admin "
                  "tokens come from it (replaces the people file), changes reach the gateway within "
                  "a second, and the admin API /admin/v1 is on");
  sub->add_option("--audit-durability", flags->audit_durability,
                  "sync (answer after the record is on disk; default) | async")
      ->check(CLI::IsMember({"sync", "async"}));
  sub->add_option("--audit-verify-interval-minutes", flags->audit_verify_interval_minutes,
                  "verify the whole decision log in the background a minute after start and then "
                  "this often (default 1440: daily); 0: only when asked (POST /admin/v1/audit/verify)")
      ->check(CLI::Range(0, 525600));
  sub->add_option("--log-level", flags->log_level, "debug | info | warn | error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  sub->add_option_function<uint32_t>(
      "--threads", [flags](uint32_t n) { flags->threads = n; flags->threads_set = true; },
      "I/O threads (0: one per core)");
  SetAction(sub, [flags] { return RunServe(*flags); });
});

}  // namespace eargate::cli
