#include "eargate/server/config.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>

#include <yaml-cpp/yaml.h>

#include "eargate/core/strings.h"
#include "eargate/geoip/cidr.h"

namespace eargate::server {
namespace {

using core::StrCat;

std::string Where(const std::string& path, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return StrCat(path, ": ");
  return StrCat(path, ":", m.line + 1, ":", m.column + 1, ": ");
}

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || base_dir.empty() || p.front() == '/') return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

// sqlite:PATH is sqlite://PATH; a relative path is taken relative to the config file's folder.
std::string ResolveStoreUrl(const std::string& base_dir, const std::string& url) {
  std::string path;
  if (url.rfind("sqlite://", 0) == 0) path = url.substr(9);
  else if (url.rfind("sqlite:", 0) == 0) path = url.substr(7);
  else return url;
  return StrCat("sqlite://", Resolve(base_dir, path));
}

class Parser {
 public:
  Parser(std::string path) : path_(std::move(path)) {
    base_dir_ = std::filesystem::path(path_).parent_path().string();
    if (base_dir_.empty()) base_dir_ = ".";
  }

  void Error(const YAML::Node& node, const std::string& key, const std::string& msg) {
    errors_.push_back(StrCat(Where(path_, node), key, ": ", msg));
  }

  bool Scalar(const YAML::Node& n, const std::string& key, std::string* out) {
    if (!n.IsScalar()) {
      Error(n, key, "must be a string");
      return false;
    }
    *out = n.Scalar();
    return true;
  }
  void Path(const YAML::Node& n, const std::string& key, std::string* out) {
    std::string s;
    if (Scalar(n, key, &s)) *out = Resolve(base_dir_, s);
  }
  void Uint(const YAML::Node& n, const std::string& key, uint32_t* out, uint64_t max = UINT32_MAX,
            uint64_t min = 0) {
    std::string s;
    if (!Scalar(n, key, &s)) return;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > max || v < min) {
      Error(n, key, StrCat("must be an integer in [", min, ", ", max, "] (got '", s, "')"));
      return;
    }
    *out = static_cast<uint32_t>(v);
  }
  void Double(const YAML::Node& n, const std::string& key, double* out) {
    std::string s;
    if (!Scalar(n, key, &s)) return;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !(v >= 0 && v <= 1)) {
      Error(n, key, StrCat("must be a number in [0, 1] (got '", s, "')"));
      return;
    }
    *out = v;
  }
  void Bool(const YAML::Node& n, const std::string& key, bool* out) {
    std::string s;
    if (!Scalar(n, key, &s)) return;
    if (s == "true") *out = true;
    else if (s == "false") *out = false;
    else Error(n, key, StrCat("must be true or false (got '", s, "')"));
  }
  void StringList(const YAML::Node& n, const std::string& key, std::vector<std::string>* out) {
    if (n.IsNull()) {
      out->clear();
      return;
    }
    if (!n.IsSequence()) {
      Error(n, key, "must be a list");
      return;
    }
    out->clear();
    for (const auto& e : n) {
      std::string s;
      if (Scalar(e, key, &s)) out->push_back(s);
    }
  }

  using Handler = std::function<void(const YAML::Node&, const std::string&)>;
  void Map(const YAML::Node& n, const std::string& prefix,
           const std::map<std::string, Handler>& handlers) {
    if (!n.IsMap()) {
      Error(n, prefix.empty() ? "config" : prefix, "must be a mapping");
      return;
    }
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      std::string full = prefix.empty() ? key : StrCat(prefix, ".", key);
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        std::vector<std::string> known;
        for (const auto& [k, _] : handlers) known.push_back(k);
        Error(kv.first, full, StrCat("unknown setting (known: ", core::StrJoin(known, ", "), ")"));
        continue;
      }
      it->second(kv.second, full);
    }
  }

  void Parse(const YAML::Node& root, Config* c) {
    if (root.IsNull()) return;  // an empty file: all defaults
    Map(root, "",
        {
            {"listen",
             [&](const YAML::Node& n, const std::string& k) {
               std::string s;
               if (!Scalar(n, k, &s)) return;
               auto hp = ParseHostPort(s);
               if (!hp.ok()) Error(n, k, std::string(hp.status().message()));
               else c->listen = *hp;
             }},
            {"threads", [&](const YAML::Node& n, const std::string& k) { Uint(n, k, &c->threads, 256); }},
            {"policy", [&](const YAML::Node& n, const std::string& k) { Path(n, k, &c->policy); }},
            {"policy_watch_ms",
             [&](const YAML::Node& n, const std::string& k) { Uint(n, k, &c->policy_watch_ms); }},
            {"data_dir", [&](const YAML::Node& n, const std::string& k) { Path(n, k, &c->data_dir); }},
            {"people", [&](const YAML::Node& n, const std::string& k) { Path(n, k, &c->people); }},
            {"upstream",
             [&](const YAML::Node& n, const std::string& k) {
               Map(n, k,
                   {
                       {"url", [&](const YAML::Node& v, const std::string& kk) { Scalar(v, kk, &c->upstream.url); }},
                       {"connect_timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->upstream.connect_timeout_ms); }},
                       {"timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->upstream.timeout_ms); }},
                       {"authorization", [&](const YAML::Node& v, const std::string& kk) { Scalar(v, kk, &c->upstream.authorization); }},
                       {"max_idle_connections", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->upstream.max_idle_connections, 100000); }},
                   });
             }},
            {"geoip",
             [&](const YAML::Node& n, const std::string& k) {
               Map(n, k,
                   {
                       {"db", [&](const YAML::Node& v, const std::string& kk) { Path(v, kk, &c->geoip.db); }},
                       {"anonymizer_ranges", [&](const YAML::Node& v, const std::string& kk) { Path(v, kk, &c->geoip.anonymizer_ranges); }},
                   });
             }},
            {"screening",
             [&](const YAML::Node& n, const std::string& k) {
               Map(n, k,
                   {
                       {"lists", [&](const YAML::Node& v, const std::string& kk) {
                          StringList(v, kk, &c->screening.lists);
                          for (auto& path : c->screening.lists) path = Resolve(base_dir_, path);
                        }},
                       {"potential_score", [&](const YAML::Node& v, const std::string& kk) { Double(v, kk, &c->screening.potential_score); }},
                       {"confirmed_score", [&](const YAML::Node& v, const std::string& kk) { Double(v, kk, &c->screening.confirmed_score); }},
                   });
             }},
            {"audit",
             [&](const YAML::Node& n, const std::string& k) {
               Map(n, k,
                   {
                       {"dir", [&](const YAML::Node& v, const std::string& kk) { Path(v, kk, &c->audit.dir); }},
                       {"durability", [&](const YAML::Node& v, const std::string& kk) { Scalar(v, kk, &c->audit.durability); }},
                       {"retention_days", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->audit.retention_days, 36500); }},
                       {"segment_mib", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->audit.segment_mib, 4096, 1); }},
                       {"direct_io", [&](const YAML::Node& v, const std::string& kk) { Bool(v, kk, &c->audit.direct_io); }},
                       {"ship_interval_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->audit.ship_interval_ms, 86400000); }},
                       {"node", [&](const YAML::Node& v, const std::string& kk) { Scalar(v, kk, &c->audit.node); }},
                       {"verify_interval_minutes", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->audit.verify_interval_minutes, 525600); }},
                   });
             }},
            {"store",
             [&](const YAML::Node& n, const std::string& k) {
               Map(n, k,
                   {
                       {"url", [&](const YAML::Node& v, const std::string& kk) {
                          if (Scalar(v, kk, &c->store.url)) c->store.url = ResolveStoreUrl(base_dir_, c->store.url);
                        }},
                       {"watch_poll_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &c->store.watch_poll_ms, 60000); }},
                   });
             }},
            {"trusted_proxies",
             [&](const YAML::Node& n, const std::string& k) { StringList(n, k, &c->trusted_proxies); }},
            {"trust_person_header",
             [&](const YAML::Node& n, const std::string& k) { Bool(n, k, &c->trust_person_header); }},
            {"limits",
             [&](const YAML::Node& n, const std::string& k) {
               auto& l = c->limits;
               Map(n, k,
                   {
                       {"max_header_bytes", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.max_header_bytes); }},
                       {"max_body_bytes", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.max_body_bytes); }},
                       {"header_timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.header_timeout_ms); }},
                       {"body_timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.body_timeout_ms); }},
                       {"idle_timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.idle_timeout_ms); }},
                       {"write_timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.write_timeout_ms); }},
                       {"max_connections", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.max_connections); }},
                       {"drain_timeout_ms", [&](const YAML::Node& v, const std::string& kk) { Uint(v, kk, &l.drain_timeout_ms); }},
                   });
             }},
            {"log_level",
             [&](const YAML::Node& n, const std::string& k) {
               std::string s;
               if (!Scalar(n, k, &s)) return;
               if (s == "debug") c->log_level = LogLevel::kDebug;
               else if (s == "info") c->log_level = LogLevel::kInfo;
               else if (s == "warn") c->log_level = LogLevel::kWarn;
               else if (s == "error") c->log_level = LogLevel::kError;
               else Error(n, k, StrCat("must be one of debug, info, warn, error (got '", s, "')"));
             }},
            {"access_log", [&](const YAML::Node& n, const std::string& k) { Bool(n, k, &c->access_log); }},
            {"fail_open", [&](const YAML::Node& n, const std::string& k) { Bool(n, k, &c->fail_open); }},
        });
  }

  std::vector<std::string> errors_;

 private:
  std::string path_;
  std::string base_dir_;
};

bool IsFile(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool IsDir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string_view Name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

absl::StatusOr<HostPort> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not HOST:PORT"));
  }
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  std::string port = text.substr(colon + 1);
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc() || p != port.data() + port.size() || v > 65535) {
    return absl::InvalidArgumentError(StrCat("'", text, "': port must be 0-65535"));
  }
  hp.port = static_cast<uint16_t>(v);
  return hp;
}

absl::Status ParseUpstreamUrl(const std::string& url, UpstreamConfig* out) {
  constexpr std::string_view kHttp = "http://";
  if (url.rfind(kHttp, 0) != 0) {
    if (url.rfind("https://", 0) == 0) {
      return absl::InvalidArgumentError(StrCat(
          "'", url, "': https upstreams are not supported; terminate TLS in front of the model server "
          "or reach it over plain HTTP on a private network"));
    }
    return absl::InvalidArgumentError(StrCat("'", url, "' must start with http://"));
  }
  std::string rest = url.substr(kHttp.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (authority.empty()) return absl::InvalidArgumentError(StrCat("'", url, "' has no host"));
  UpstreamConfig u = *out;
  size_t colon = authority.rfind(':');
  bool bracketed = !authority.empty() && authority.front() == '[';
  if (colon != std::string::npos && (!bracketed || authority.find(']') < colon)) {
    auto hp = ParseHostPort(authority);
    if (!hp.ok() || hp->port == 0) {
      return absl::InvalidArgumentError(StrCat("'", url, "' has a bad port"));
    }
    u.host = hp->host;
    u.port = hp->port;
  } else {
    u.host = bracketed ? authority.substr(1, authority.size() - 2) : authority;
    u.port = 80;
  }
  u.path_prefix = prefix;
  u.url = url;
  *out = u;
  return absl::OkStatus();
}

absl::Status ValidateStoreUrl(const std::string& url) {
  if (url.empty()) return absl::OkStatus();
  if (url.rfind("sqlite://", 0) == 0) {
    std::string path = url.substr(9);
    if (path.empty()) return absl::InvalidArgumentError("sqlite:// needs a file path (sqlite:///var/lib/eargate/eargate.db)");
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (!dir.empty() && !IsDir(dir)) return absl::InvalidArgumentError(StrCat("no such folder: ", dir));
    return absl::OkStatus();
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat("'", url, "' must start with sqlite:// (sqlite:///path/eargate.db) or postgresql://"));
}

absl::Status ParseConfig(const std::string& yaml, const std::string& path, Config* config) {
  Parser parser(path);
  try {
    YAML::Node root = YAML::Load(yaml);
    parser.Parse(root, config);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (!parser.errors_.empty()) {
    return absl::InvalidArgumentError(core::StrJoin(parser.errors_, "\n"));
  }
  config->source = path;
  return absl::OkStatus();
}

absl::Status LoadConfigFile(const std::string& path, Config* config) {
  std::string text;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return absl::NotFoundError(StrCat(path, ": cannot open config file"));
    char buf[8192];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return ParseConfig(text, path, config);
}

absl::Status ValidateConfig(Config* c) {
  std::vector<std::string> errors;
  std::string where = c->source.empty() ? "config" : c->source;
  auto err = [&](const std::string& key, const std::string& msg) {
    errors.push_back(StrCat(where, ": ", key, ": ", msg));
  };
  if (c->policy.empty()) err("policy", "required (a policy YAML file)");
  else if (!IsFile(c->policy)) err("policy", StrCat("no such file: ", c->policy));
  if (!c->people.empty() && !IsFile(c->people)) err("people", StrCat("no such file: ", c->people));
  if (!c->data_dir.empty() && !IsDir(c->data_dir)) err("data_dir", StrCat("no such folder: ", c->data_dir));
  if (!c->geoip.db.empty() && !IsFile(c->geoip.db)) err("geoip.db", StrCat("no such file: ", c->geoip.db));
  if (!c->geoip.anonymizer_ranges.empty() && !IsFile(c->geoip.anonymizer_ranges)) {
    err("geoip.anonymizer_ranges", StrCat("no such file: ", c->geoip.anonymizer_ranges));
  }
  for (const auto& path : c->screening.lists) {
    if (!IsFile(path) && !IsDir(path)) err("screening.lists", StrCat("no such file or folder: ", path));
  }
  if (c->audit.durability != "sync" && c->audit.durability != "async") {
    err("audit.durability", StrCat("must be sync or async (got '", c->audit.durability, "')"));
  }
  if (auto s = ValidateStoreUrl(c->store.url); !s.ok()) err("store.url", std::string(s.message()));
  if (!c->store.url.empty() && !c->people.empty()) {
    err("people", "must be \"\" when store.url is set (the registry comes from the store)");
  }
  if (c->store.watch_poll_ms == 0) err("store.watch_poll_ms", "must be > 0");
  const auto& sc = c->screening;
  if (!(sc.potential_score > 0 && sc.potential_score <= sc.confirmed_score && sc.confirmed_score <= 1)) {
    err("screening", "need 0 < potential_score <= confirmed_score <= 1");
  }
  if (!c->upstream.url.empty()) {
    if (auto s = ParseUpstreamUrl(c->upstream.url, &c->upstream); !s.ok()) {
      err("upstream.url", std::string(s.message()));
    }
  }
  if (c->upstream.connect_timeout_ms == 0) err("upstream.connect_timeout_ms", "must be > 0");
  if (c->upstream.timeout_ms == 0) err("upstream.timeout_ms", "must be > 0");
  if (c->upstream.authorization.find_first_of("\r\n") != std::string::npos) {
    err("upstream.authorization", "must not contain line breaks");
  }
  if (auto set = geoip::CidrSet::Parse(c->trusted_proxies); !set.ok()) {
    err("trusted_proxies", std::string(set.status().message()));
  }
  const LimitsConfig& l = c->limits;
  if (l.max_header_bytes < 1024) err("limits.max_header_bytes", "must be at least 1024");
  if (l.max_body_bytes < 1024) err("limits.max_body_bytes", "must be at least 1024");
  for (auto [name, v] : {std::pair{"limits.header_timeout_ms", l.header_timeout_ms},
                         {"limits.body_timeout_ms", l.body_timeout_ms},
                         {"limits.idle_timeout_ms", l.idle_timeout_ms},
                         {"limits.write_timeout_ms", l.write_timeout_ms},
                         {"limits.max_connections", l.max_connections}}) {
    if (v == 0) err(name, "must be > 0");
  }
  if (!errors.empty()) return absl::InvalidArgumentError(core::StrJoin(errors, "\n"));
  return absl::OkStatus();
}

}  // namespace eargate::server
