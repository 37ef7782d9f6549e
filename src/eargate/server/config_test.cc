#include "eargate/server/config.h"

#include <string>

#include "gtest/gtest.h"

namespace eargate::server {
namespace {

std::string Src(const std::string& rel) { return std::string(EARGATE_SOURCE_DIR) + "/" + rel; }

// Test that every documented setting parses and relative paths resolve against the file.
TEST(ConfigTest, ParsesEverySetting) {
  Config c;
  absl::Status s = ParseConfig(R"(
listen: 0.0.0.0:9090
threads: 4
policy: policies/letter.yaml
policy_watch_ms: 0
data_dir: /opt/data
people: people.jsonl
upstream:
  url: http://models.internal:8000/openai/
  connect_timeout_ms: 100
  timeout_ms: 5000
  authorization: Bearer upstream-secret
  max_idle_connections: 8
geoip:
  db: /var/lib/geo.mmdb
  anonymizer_ranges: anon.txt
trusted_proxies: [10.0.0.0/8, "::1/128"]
trust_person_header: true
limits:
  max_header_bytes: 8192
  max_body_bytes: 65536
  header_timeout_ms: 1000
  body_timeout_ms: 2000
  idle_timeout_ms: 3000
  write_timeout_ms: 4000
  max_connections: 100
  drain_timeout_ms: 500
log_level: debug
access_log: true
fail_open: false
)",
                               "/etc/eargate/eargate.yaml", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.listen.host, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 9090);
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.policy, "/etc/eargate/policies/letter.yaml");
  EXPECT_EQ(c.people, "/etc/eargate/people.jsonl");
  EXPECT_EQ(c.data_dir, "/opt/data");
  EXPECT_EQ(c.geoip.anonymizer_ranges, "/etc/eargate/anon.txt");
  EXPECT_EQ(c.upstream.timeout_ms, 5000u);
  EXPECT_EQ(c.upstream.authorization, "Bearer upstream-secret");
  EXPECT_EQ(c.trusted_proxies.size(), 2u);
  EXPECT_TRUE(c.trust_person_header);
  EXPECT_EQ(c.limits.max_body_bytes, 65536u);
  EXPECT_EQ(c.limits.drain_timeout_ms, 500u);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_TRUE(c.access_log);
  EXPECT_FALSE(c.fail_open);
  ASSERT_TRUE(ParseUpstreamUrl(c.upstream.url, &c.upstream).ok());
  EXPECT_EQ(c.upstream.host, "models.internal");
  EXPECT_EQ(c.upstream.port, 8000);
  EXPECT_EQ(c.upstream.path_prefix, "/openai");
}

// Test that defaults fail closed and an empty file keeps them.
TEST(ConfigTest, DefaultsFailClosed) {
  Config c;
  ASSERT_TRUE(ParseConfig("", "x.yaml", &c).ok());
  EXPECT_FALSE(c.fail_open);
  EXPECT_EQ(c.listen.host, "127.0.0.1");
  EXPECT_FALSE(c.trust_person_header);
  EXPECT_TRUE(c.trusted_proxies.empty());
}

// Test that unknown keys, wrong types and bad values are each reported with file:line:col.
TEST(ConfigTest, ReportsEveryErrorWithPosition) {
  Config c;
  absl::Status s = ParseConfig(
      "listen: nope\nthreads: many\nfail_open: maybe\nlimits:\n  max_body: 1\nlog_level: loud\ncolour: red\n",
      "gw.yaml", &c);
  ASSERT_FALSE(s.ok());
  std::string m(s.message());
  EXPECT_NE(m.find("gw.yaml:1:9: listen: 'nope' is not HOST:PORT"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.yaml:2:10: threads: must be an integer"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.yaml:3:12: fail_open: must be true or false"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.yaml:5:3: limits.max_body: unknown setting"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.yaml:6:12: log_level: must be one of"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.yaml:7:1: colour: unknown setting"), std::string::npos) << m;
  EXPECT_FALSE(ParseConfig("listen: [unclosed", "bad.yaml", &c).ok());
}

// Test that audit.retention_days defaults to 1827 (five years), is read, and is range-checked.
TEST(ConfigTest, AuditRetentionDays) {
  Config c;
  ASSERT_TRUE(ParseConfig("", "x.yaml", &c).ok());
  EXPECT_EQ(c.audit.retention_days, 1827u);
  ASSERT_TRUE(ParseConfig("audit:\n  retention_days: 0\n", "x.yaml", &c).ok());
  EXPECT_EQ(c.audit.retention_days, 0u);
  absl::Status s = ParseConfig("audit:\n  retention_days: -5\n", "gw.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gw.yaml:2:19: audit.retention_days: must be an integer in [0, 36500] (got '-5')"),
            std::string::npos)
      << s.message();
}

// Test that audit.segment_mib defaults to 64, is read and range-checked (at least 1), and that
// audit.direct_io defaults to true and takes a boolean.
TEST(ConfigTest, AuditSegmentSizeAndDirectIo) {
  Config c;
  ASSERT_TRUE(ParseConfig("", "x.yaml", &c).ok());
  EXPECT_EQ(c.audit.segment_mib, 64u);
  EXPECT_TRUE(c.audit.direct_io);
  ASSERT_TRUE(ParseConfig("audit:\n  segment_mib: 1\n  direct_io: false\n", "x.yaml", &c).ok());
  EXPECT_EQ(c.audit.segment_mib, 1u);
  EXPECT_FALSE(c.audit.direct_io);
  for (const std::string bad : {"0", "4097", "x"}) {
    absl::Status s = ParseConfig("audit:\n  segment_mib: " + bad + "\n", "gw.yaml", &c);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("gw.yaml:2:16: audit.segment_mib: must be an integer in [1, 4096] (got '" +
                               bad + "')"),
              std::string::npos)
        << s.message();
  }
  absl::Status s = ParseConfig("audit:\n  direct_io: maybe\n", "gw.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("audit.direct_io"), std::string::npos) << s.message();
}

// Test that audit.verify_interval_minutes defaults to a day, takes 0 (only when asked) and is
// range-checked (at most a year).
TEST(ConfigTest, AuditVerifyInterval) {
  Config c;
  ASSERT_TRUE(ParseConfig("", "x.yaml", &c).ok());
  EXPECT_EQ(c.audit.verify_interval_minutes, 1440u);
  ASSERT_TRUE(ParseConfig("audit:\n  verify_interval_minutes: 0\n", "x.yaml", &c).ok());
  EXPECT_EQ(c.audit.verify_interval_minutes, 0u);
  for (const std::string bad : {"-1", "525601", "daily"}) {
    absl::Status s = ParseConfig("audit:\n  verify_interval_minutes: " + bad + "\n", "gw.yaml", &c);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("gw.yaml:2:28: audit.verify_interval_minutes: must be an integer in [0, 525600] (got '" +
                               bad + "')"),
              std::string::npos)
        << s.message();
  }
}

// Test that validation checks files, URLs, CIDRs and limits, listing every problem.
TEST(ConfigTest, ValidateListsEveryProblem) {
  Config c;
  c.policy = "/nonexistent/policy.yaml";
  c.people = "/nonexistent/people.jsonl";
  c.upstream.url = "https://secure.example";
  c.trusted_proxies = {"10.0.0.0/33"};
  c.limits.max_header_bytes = 10;
  c.limits.idle_timeout_ms = 0;
  absl::Status s = ValidateConfig(&c);
  ASSERT_FALSE(s.ok());
  std::string m(s.message());
  for (const char* want : {"policy: no such file", "people: no such file", "upstream.url: 'https://",
                           "trusted_proxies: entry 0", "limits.max_header_bytes", "limits.idle_timeout_ms"}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << " in " << m;
  }
  Config ok;
  ok.policy = Src("CMakeLists.txt");  // any existing file: content is checked by the loader
  ok.upstream.url = "http://127.0.0.1:8000";
  ok.trusted_proxies = {"127.0.0.1/32"};
  EXPECT_TRUE(ValidateConfig(&ok).ok());
  EXPECT_EQ(ok.upstream.port, 8000);
  EXPECT_EQ(ok.upstream.path_prefix, "");
}

// Test the listen address forms.
TEST(ConfigTest, HostPort) {
  EXPECT_EQ(ParseHostPort("[::1]:80")->host, "::1");
  EXPECT_EQ(ParseHostPort(":8080")->host, "0.0.0.0");
  EXPECT_EQ(ParseHostPort("localhost:0")->port, 0);
  EXPECT_FALSE(ParseHostPort("localhost").ok());
  EXPECT_FALSE(ParseHostPort("h:65536").ok());
  EXPECT_FALSE(ParseHostPort("h:-1").ok());
  UpstreamConfig u;
  EXPECT_TRUE(ParseUpstreamUrl("http://[::1]:9000/v", &u).ok());
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 9000);
  EXPECT_TRUE(ParseUpstreamUrl("http://model-server", &u).ok());
  EXPECT_EQ(u.port, 80);
  EXPECT_FALSE(ParseUpstreamUrl("ftp://x", &u).ok());
  EXPECT_FALSE(ParseUpstreamUrl("http://", &u).ok());
}

}  // namespace
}  // namespace eargate::server

namespace eargate::server {
namespace {

// Test the store settings: a relative sqlite path resolves against the config file, a
// PostgreSQL URL is kept, and every bad combination is reported naming its key.
TEST(ConfigStoreTest, ParsesAndValidates) {
  Config c;
  ASSERT_TRUE(ParseConfig("store:\n  url: sqlite://var/eargate.db\n  watch_poll_ms: 50\n",
                          "/etc/eargate/eargate.yaml", &c)
                  .ok());
  EXPECT_EQ(c.store.url, "sqlite:///etc/eargate/var/eargate.db");
  EXPECT_EQ(c.store.watch_poll_ms, 50u);
  Config pg;
  ASSERT_TRUE(ParseConfig("store: {url: 'postgresql://eg@db:5432/eargate'}\n", "x.yaml", &pg).ok());
  EXPECT_EQ(pg.store.url, "postgresql://eg@db:5432/eargate");
  Config short_form;
  ASSERT_TRUE(ParseConfig("store: {url: 'sqlite:eargate.db'}\n", "/srv/eg/eargate.yaml", &short_form).ok());
  EXPECT_EQ(short_form.store.url, "sqlite:///srv/eg/eargate.db");

  absl::Status unknown = ParseConfig("store:\n  uri: x\n", "x.yaml", &c);
  EXPECT_EQ(unknown.message(), "x.yaml:2:3: store.uri: unknown setting (known: url, watch_poll_ms)");

  Config bad;
  bad.policy = Src("examples/policies/letter.yaml");
  bad.people = Src("examples/people/sample.jsonl");
  bad.store.url = "mysql://db/eargate";
  bad.store.watch_poll_ms = 0;
  absl::Status s = ValidateConfig(&bad);
  EXPECT_NE(s.message().find("store.url: 'mysql://db/eargate' must start with sqlite:// "), std::string::npos) << s;
  EXPECT_NE(s.message().find("people: must be \"\" when store.url is set"), std::string::npos) << s;
  EXPECT_NE(s.message().find("store.watch_poll_ms: must be > 0"), std::string::npos) << s;
  bad.people.clear();
  bad.store.watch_poll_ms = 200;
  bad.store.url = "sqlite:///no/such/folder/eargate.db";
  EXPECT_EQ(ValidateConfig(&bad).message(), "config: store.url: no such folder: /no/such/folder");
  bad.store.url = "sqlite://" + Src("build-nonexistent-dir-x/eargate.db");
  EXPECT_FALSE(ValidateConfig(&bad).ok());
  bad.store.url = "postgresql://eg@db/eargate";
  EXPECT_TRUE(ValidateConfig(&bad).ok());
}

}  // namespace
}  // namespace eargate::server
