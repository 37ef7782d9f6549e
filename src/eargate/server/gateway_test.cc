#include "eargate/server/gateway.h"
#include "eargate/store/log_reader.h"
#include "eargate/screen/lists.h"

#include <filesystem>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace eargate::server {
namespace {

std::string Src(const std::string& rel) { return std::string(EARGATE_SOURCE_DIR) + "/" + rel; }

class FixedClock : public core::Clock {
 public:
  core::Timestamp Now() const override { return *core::ParseTime("2026-07-01T12:00:00Z"); }
};

geoip::IpAddress Ip(const char* s) { return *geoip::IpAddress::Parse(s); }

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.policy = Src("examples/policies/letter.yaml");
    config_.people = Src("examples/people/sample.jsonl");
    config_.geoip.db = Src("third_party/geoip/geo-whois-asn-country.mmdb");
    config_.data_dir = Src("data");
    config_.trusted_proxies = {"127.0.0.1/32", "10.0.0.0/8"};
    ASSERT_TRUE(ValidateConfig(&config_).ok());
    auto gw = Gateway::Create(config_, &metrics_, &clock_);
    ASSERT_TRUE(gw.ok()) << gw.status();
    gw_ = std::move(*gw);
  }

  Access Ask(std::string_view key, const char* client_ip, std::string_view item = "mythos-5") {
    Caller c;
    auth_ = std::string("Bearer ") + std::string(key);
    c.authorization = auth_;
    c.peer = Ip("127.0.0.1");
    c.forwarded_for = client_ip;
    return gw_->Authorize(*gw_->state(), c, item, core::Layer::kApplication, core::Channel::kApi);
  }

  // A gateway on a changed copy of the fixture's config, with its own metrics.
  std::unique_ptr<Gateway> Make(Config cfg, Metrics* metrics) {
    EXPECT_TRUE(ValidateConfig(&cfg).ok());
    auto gw = Gateway::Create(cfg, metrics, &clock_);
    EXPECT_TRUE(gw.ok()) << gw.status();
    return gw.ok() ? std::move(*gw) : nullptr;
  }
  // A caller with `key` coming through the trusted loopback proxy from `client_ip`.
  Caller From(const std::string& key, std::string_view client_ip = "8.8.8.8") {
    keys_.push_back(std::make_unique<std::string>("Bearer " + key));
    Caller c;
    c.authorization = *keys_.back();
    c.peer = Ip("127.0.0.1");
    c.forwarded_for = client_ip;
    return c;
  }
  static Access AskOf(Gateway& gw, const Caller& c) {
    return gw.Authorize(*gw.state(), c, "mythos-5", core::Layer::kApplication, core::Channel::kApi);
  }
  static Access AskOf(Gateway& gw, const ServingState& state, const Caller& c) {
    return gw.Authorize(state, c, "mythos-5", core::Layer::kApplication, core::Channel::kApi);
  }

  std::vector<std::unique_ptr<std::string>> keys_;
  Config config_;
  Metrics metrics_;
  FixedClock clock_;
  std::unique_ptr<Gateway> gw_;
  std::string auth_;
};

// Test that only the Bearer scheme yields a token, case-insensitively.
TEST(BearerTokenTest, Schemes) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
}

// Test that X-Forwarded-For is believed only from trusted proxies, right to left.
TEST_F(GatewayTest, ClientAddressFromTrustedProxiesOnly) {
  Caller c;
  c.peer = Ip("203.0.113.5");  // not trusted: its header is ignored
  c.forwarded_for = "8.8.8.8";
  EXPECT_EQ(gw_->ClientAddress(c)->ToString(), "203.0.113.5");
  c.peer = Ip("127.0.0.1");
  EXPECT_EQ(gw_->ClientAddress(c)->ToString(), "8.8.8.8");
  // A client-forged left entry is skipped: the right-most untrusted hop is the client.
  c.forwarded_for = "1.2.3.4, 193.174.0.1, 10.1.1.1";
  EXPECT_EQ(gw_->ClientAddress(c)->ToString(), "193.174.0.1");
  c.forwarded_for = "10.0.0.1, 127.0.0.1";  // all trusted: the left-most
  EXPECT_EQ(gw_->ClientAddress(c)->ToString(), "10.0.0.1");
  c.forwarded_for = "8.8.8.8, not-an-ip";  // garbage: unknown (fail closed)
  EXPECT_FALSE(gw_->ClientAddress(c).has_value());
  c.forwarded_for = "";
  EXPECT_EQ(gw_->ClientAddress(c)->ToString(), "127.0.0.1");
}

// Test the letter reading through the gateway: US person at home, abroad, foreign person.
TEST_F(GatewayTest, DecidesWhoFromWhere) {
  Access home = Ask("sk-demo-us-person", "8.8.8.8");
  ASSERT_EQ(home.status, Access::Status::kDecided);
  EXPECT_EQ(home.outcome, core::Outcome::kAllow) << home.reason;
  EXPECT_EQ(home.person_id, "cust-us-1");
  EXPECT_EQ(home.country, "US");
  EXPECT_FALSE(home.decision_id.empty());

  Access abroad = Ask("sk-demo-us-person", "193.174.0.1");
  EXPECT_EQ(abroad.outcome, core::Outcome::kDeny);
  EXPECT_EQ(abroad.country, "DE");

  Access foreign = Ask("sk-demo-foreign-person", "8.8.8.8");
  EXPECT_EQ(foreign.outcome, core::Outcome::kDeny);

  Access unknown = Ask("sk-demo-unknown-status", "8.8.8.8");
  EXPECT_EQ(unknown.outcome, core::Outcome::kDeny);
  EXPECT_NE(unknown.reason.find("US-person"), std::string::npos) << unknown.reason;

  // Loopback has no country: location unknown, denied under the letter's uncertain settings.
  Caller local;
  std::string auth = "Bearer sk-demo-us-person";
  local.authorization = auth;
  local.peer = Ip("127.0.0.1");
  Access nowhere = gw_->Authorize(*gw_->state(), local, "mythos-5", core::Layer::kApplication, core::Channel::kApi);
  EXPECT_EQ(nowhere.outcome, core::Outcome::kDeny);
  EXPECT_EQ(nowhere.country, "");
}

// Test that unknown keys and unknown items are told apart from decisions.
TEST_F(GatewayTest, UnknownKeyAndItem) {
  EXPECT_EQ(Ask("sk-wrong", "8.8.8.8").status, Access::Status::kUnauthenticated);
  EXPECT_EQ(Ask("", "8.8.8.8").status, Access::Status::kUnauthenticated);
  Access a = Ask("sk-demo-us-person", "8.8.8.8", "no-such-model");
  EXPECT_EQ(a.status, Access::Status::kUnknownItem);
  EXPECT_NE(a.outcome, core::Outcome::kAllow);
  EXPECT_GE(metrics_.failures(Failure::kGeoIpUnavailable), 0u);
}

// Test that a declared country that disagrees with the IP country is doubtful (review).
TEST_F(GatewayTest, DeclaredCountryMismatch) {
  Caller c;
  std::string auth = "Bearer sk-demo-us-person";
  c.authorization = auth;
  c.peer = Ip("127.0.0.1");
  c.forwarded_for = "8.8.8.8";
  c.declared_country = "DE";
  Access a = gw_->Authorize(*gw_->state(), c, "mythos-5", core::Layer::kApplication, core::Channel::kApi);
  EXPECT_NE(a.outcome, core::Outcome::kAllow) << a.reason;
  c.declared_country = "Germany";
  EXPECT_EQ(gw_->Authorize(*gw_->state(), c, "mythos-5", core::Layer::kApplication, core::Channel::kApi).status,
            Access::Status::kBadRequest);
}

// Test /v1/decide (person by id, location.ip geolocated) and the /v1/models filter.
TEST_F(GatewayTest, DecideEndpointAndModels) {
  std::string out;
  EXPECT_EQ(gw_->Decide(R"({"item":"mythos-5","person":{"id":"cust-us-1"},"location":{"ip":"8.8.8.8"}})", &out), 200);
  EXPECT_NE(out.find("\"decision\":\"allow\""), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(gw_->Decide("{", &out), 400);
  EXPECT_NE(out.find("invalid_request_error"), std::string::npos);
  out.clear();
  Caller c;
  std::string auth = "Bearer sk-demo-foreign-person";
  c.authorization = auth;
  c.peer = Ip("127.0.0.1");
  c.forwarded_for = "8.8.8.8";
  EXPECT_EQ(gw_->Models(c, &out), 200);
  EXPECT_EQ(out.find("\"mythos-5\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"haiku-open\""), std::string::npos) << out;
}

// Test that a bad policy is refused on reload, the old state kept, and a good one swapped in.
TEST_F(GatewayTest, ReloadRefusesBadPolicy) {
  std::string dir = ::testing::TempDir() + "/gateway_test_policies";
  std::filesystem::remove_all(dir);
  std::filesystem::copy(Src("examples/policies"), dir, std::filesystem::copy_options::recursive);
  Config cfg = config_;
  cfg.policy = dir + "/letter.yaml";
  Metrics metrics;
  auto gw = Gateway::Create(cfg, &metrics, &clock_);
  ASSERT_TRUE(gw.ok()) << gw.status();
  StatePtr before = (*gw)->state();
  {
    std::ofstream out(cfg.policy);
    out << "version: 1\nremote_access: sometimes\n";
  }
  absl::Status s = (*gw)->Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ((*gw)->state(), before);
  EXPECT_EQ(metrics.failures(Failure::kReloadFailed), 1u);
  std::filesystem::copy_file(dir + "/advisory-opinions.yaml", cfg.policy,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE((*gw)->Reload().ok());
  EXPECT_NE((*gw)->state()->policy->version(), before->policy->version());
  EXPECT_EQ(before->policy->items().size(), 3u);  // the old snapshot is still whole
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eargate::server

namespace eargate::server {
namespace {

// Test that a caller whose outcome a pending program will change is told when and why
// (X-Eargate-Change), and that /metrics counts the distinct callers per pending change.
TEST_F(GatewayTest, AdvanceNoticeOfAPendingProgram) {
  Config cfg = config_;
  cfg.policy = Src("examples/policies/trusted-partners.yaml");
  Metrics metrics;
  auto gw = Make(cfg, &metrics);
  ASSERT_NE(gw, nullptr);
  Caller de = From("sk-demo-foreign-person");  // a German citizen in the US: a deemed export to DE
  Access a = AskOf(*gw, de);
  EXPECT_EQ(a.outcome, core::Outcome::kDeny);
  EXPECT_EQ(a.change, "allow at 2026-09-01T00:00:00Z; program g7-trusted-partners takes effect");
  AskOf(*gw, de);
  std::string text = metrics.Render("v", 1);
  EXPECT_NE(text.find("eargate_pending_change_callers{change=\"allow at 2026-09-01T00:00:00Z; program "
                      "g7-trusted-partners takes effect\"} 1\n"),
            std::string::npos)
      << text;
  // A US person in the US is not affected: no header.
  EXPECT_EQ(AskOf(*gw, From("sk-demo-us-person")).change, "");
}

// Test the copy-on-write update of a registry: the changed people are re-screened and
// swapped, the removed ones and their keys are gone, a new one takes its place in id order,
// every other entry is the very same object as in the base, and the base is untouched.
TEST(PeopleRegistryTest, UpdateSharesUnchangedEntriesAndRescreensChangedOnes) {
  auto data = rules::EarData::Load(Src("data"));
  ASSERT_TRUE(data.ok()) << data.status();
  screen::ListSetBuilder lists;
  ASSERT_TRUE(lists.AddDirectory(Src("data/screening/ofac_sdn_2021-07")).ok());
  std::shared_ptr<const screen::Index> index = screen::Index::Build(std::move(lists).Finish());
  std::string people = ::testing::TempDir() + "/cow_people.jsonl";
  std::ofstream(people)
      << R"({"id":"b-clean","name":"Ada Smith","citizenships":["US"],"us_person":true,"api_key_sha256":")"
      << PeopleRegistry::KeyHash("sk-b") << "\"}\n"
      << R"({"id":"d-gone","name":"Bob Jones","citizenships":["US"],"us_person":true,"api_key_sha256":")"
      << PeopleRegistry::KeyHash("sk-d") << "\"}\n"
      << R"({"id":"f-listed","name":"Manuel Antonio Noriega","citizenships":["US"],"us_person":true,"api_key_sha256":")"
      << PeopleRegistry::KeyHash("sk-f") << "\"}\n";
  RegistryScreening screening;
  screening.index = index.get();
  auto base = PeopleRegistry::Load(people, **data, screening);
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_EQ((*base)->screened_with_hits(), 1u);

  auto record = [&](const std::string& id, const std::string& name, const std::string& key) {
    wire::PersonRecord r;
    r.person.id = id;
    r.person.name = name;
    r.person.citizenships.push_back({*core::Country::Parse("US"), 0, false});
    r.person.us_person = core::Tristate::kYes;
    r.api_keys_sha256 = {PeopleRegistry::KeyHash(key)};
    return r;
  };
  // b-clean now carries a listed name; a-new is added; d-gone is deleted.
  auto next = PeopleRegistry::Update(**base,
                                     {record("b-clean", "Manuel Antonio Noriega", "sk-b"), record("a-new", "Grace Hopper", "sk-a")},
                                     {"d-gone"}, screening);
  ASSERT_TRUE(next.ok()) << next.status();
  const PeopleRegistry& n = **next;
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n.entries()[0]->record.person.id, "a-new");
  EXPECT_EQ(n.entries()[1]->record.person.id, "b-clean");
  EXPECT_EQ(n.entries()[2]->record.person.id, "f-listed");
  EXPECT_EQ(n.entries()[2].get(), (*base)->entries()[2].get());  // shared, not copied
  EXPECT_EQ(n.screened_anew(), 2u);
  EXPECT_EQ(n.screened_with_hits(), 2u);
  EXPECT_FALSE(n.FindById("b-clean")->screening.empty());
  EXPECT_EQ(n.FindByKey("sk-d"), nullptr);
  EXPECT_EQ(n.FindById("d-gone"), nullptr);
  ASSERT_NE(n.FindByKey("sk-a"), nullptr);
  EXPECT_EQ(n.FindByKey("sk-a")->id, "a-new");
  EXPECT_EQ(n.FindByKey("sk-f")->id, "f-listed");
  // The base still serves what it served (requests in flight keep their snapshot).
  EXPECT_EQ((*base)->FindByKey("sk-d")->id, "d-gone");
  EXPECT_TRUE((*base)->FindById("b-clean")->screening.empty());
  EXPECT_EQ((*base)->screened_with_hits(), 1u);
  // A changed person with another person's key is refused.
  auto clash = PeopleRegistry::Update(n, {record("a-new", "Grace Hopper", "sk-f")}, {}, screening);
  EXPECT_FALSE(clash.ok());
  // Another index than the base's: refused (the caller rebuilds).
  RegistryScreening other;
  EXPECT_FALSE(PeopleRegistry::Update(n, {}, {"a-new"}, other).ok());
}

// Test that the registry is screened at load: a customer whose name is on OFAC's SDN list is
// denied even where nothing is exported (a US person in the US), and a clean one is not.
TEST_F(GatewayTest, ScreensTheRegistryAtLoad) {
  std::string people = ::testing::TempDir() + "/screened_people.jsonl";
  {
    std::ofstream f(people);
    f << R"({"id":"listed","name":"Manuel Antonio Noriega","citizenships":["US"],"us_person":true,"api_key_sha256":")"
      << PeopleRegistry::KeyHash("sk-sdn") << "\"}\n"
      << R"({"id":"clean","name":"Ada Smith","citizenships":["US"],"us_person":true,"api_key_sha256":")"
      << PeopleRegistry::KeyHash("sk-clean") << "\"}\n";
  }
  Config cfg = config_;
  cfg.people = people;
  cfg.screening.lists = {Src("data/screening/ofac_sdn_2021-07")};
  Metrics metrics;
  auto gw = Make(cfg, &metrics);
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(gw->state()->people->screened_with_hits(), 1u);
  Access listed = AskOf(*gw, From("sk-sdn"));
  EXPECT_EQ(listed.outcome, core::Outcome::kDeny);
  EXPECT_NE(listed.reason.find("prohibited: the person matches OFAC's SDN list entry 1572"), std::string::npos)
      << listed.reason;
  EXPECT_EQ(AskOf(*gw, From("sk-clean")).outcome, core::Outcome::kAllow);
  // A bad list path is a configuration error, not a silent skip.
  Config bad = config_;
  bad.screening.lists = {Src("data/screening/nope")};
  EXPECT_FALSE(ValidateConfig(&bad).ok());
}

// Test that a new edition of a screening list is loaded while running: the registry is
// re-screened, a registered customer newly named on the list is denied without a restart, the
// new hit is counted, and a broken list file is refused while the previous lists keep serving.
TEST_F(GatewayTest, RescreensTheRegistryWhenAListChanges) {
  const std::string dir = ::testing::TempDir() + "/gw_rescreen_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string people = dir + "/people.jsonl";
  const std::string list = dir + "/sdn.csv";
  {
    std::ofstream f(people);
    f << R"({"id":"ada","name":"Ada Smithfield","citizenships":["US"],"us_person":true,"api_key_sha256":")"
      << PeopleRegistry::KeyHash("sk-ada") << "\"}\n";
  }
  auto write_list = [&](const std::string& text) {
    std::ofstream f(list + ".tmp", std::ios::binary);
    f << text;
    f.close();
    std::filesystem::rename(list + ".tmp", list);  // a new file, as a download would leave it
  };
  const std::string bank =
      "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
  write_list(bank);
  Config cfg = config_;
  cfg.people = people;
  cfg.screening.lists = {list};
  Metrics metrics;
  auto gw = Make(cfg, &metrics);
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(AskOf(*gw, From("sk-ada")).outcome, core::Outcome::kAllow);
  StatePtr before = gw->state();

  write_list(bank + "99001,\"SMITHFIELD, Ada\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n");
  ASSERT_TRUE(gw->Reload().ok());
  Access a = AskOf(*gw, From("sk-ada"));
  EXPECT_EQ(a.outcome, core::Outcome::kDeny);
  EXPECT_NE(a.reason.find("OFAC's SDN list entry 99001"), std::string::npos) << a.reason;
  EXPECT_EQ(AskOf(*gw, *before, From("sk-ada")).outcome, core::Outcome::kAllow);  // in flight: old state
  ASSERT_EQ(gw->state()->people->screening_hits().size(), 1u);
  EXPECT_EQ(gw->state()->people->screening_hits()[0].entry_id, "99001");
  std::string text = metrics.Render("v", 1);
  EXPECT_NE(text.find("eargate_screening_hits{list=\"us_ofac_sdn\",band=\"confirmed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("eargate_screening_hit_changes_total{change=\"new\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("eargate_screening_reloads_total{result=\"ok\"} 1\n"), std::string::npos);
  std::string out;
  EXPECT_EQ(gw->Screen(From("sk-ada"), R"({"name": "Ada Smithfield"})", &out), 200);
  EXPECT_NE(out.find("\"entity_id\": \"99001\""), std::string::npos) << out;

  // A broken file: refused, named in the error; the previous lists and registry keep serving.
  StatePtr good = gw->state();
  write_list("this is not a restricted-party list\n");
  absl::Status s = gw->Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("sdn.csv"), std::string::npos) << s;
  EXPECT_EQ(gw->state(), good);
  EXPECT_EQ(AskOf(*gw, From("sk-ada")).outcome, core::Outcome::kDeny);
  EXPECT_EQ(metrics.list_reloads(false), 1u);
  EXPECT_EQ(metrics.failures(Failure::kReloadFailed), 1u);

  // The entry leaves the list: the hit is removed and the customer is allowed again.
  write_list(bank);
  ASSERT_TRUE(gw->Reload().ok());
  EXPECT_EQ(AskOf(*gw, From("sk-ada")).outcome, core::Outcome::kAllow);
  text = metrics.Render("v", 1);
  EXPECT_NE(text.find("eargate_screening_hit_changes_total{change=\"removed\"} 1\n"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

// Test that POST /v1/screen answers in the `eargate screen` line form, needs a key, and
// names the field of a bad query.
TEST_F(GatewayTest, ScreenEndpoint) {
  Config cfg = config_;
  cfg.screening.lists = {Src("data/screening/ofac_sdn_2021-07")};
  Metrics metrics;
  auto gw = Make(cfg, &metrics);
  ASSERT_NE(gw, nullptr);
  Caller c = From("sk-demo-us-person");
  std::string out;
  EXPECT_EQ(gw->Screen(c, R"({"name": "Manuel Noriega", "type": "person"})", &out), 200);
  EXPECT_EQ(out.rfind("{\"query\": {\"name\": \"Manuel Noriega\", \"type\": \"person\"}, \"matches\": [{\"list\": \"us_ofac_sdn\", \"entity_id\": \"1572\"", 0), 0u) << out;
  out.clear();
  EXPECT_EQ(gw->Screen(c, R"({"name": "x", "country": "Narnia"})", &out), 400);
  EXPECT_NE(out.find("field \\\"country\\\": \\\"Narnia\\\" is not an ISO 3166-1 alpha-2 code"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(gw->Screen(c, R"({"nom": "x"})", &out), 400);
  EXPECT_NE(out.find("nom: unknown field"), std::string::npos) << out;
  Caller anonymous = c;
  anonymous.authorization = "";
  out.clear();
  EXPECT_EQ(gw->Screen(anonymous, R"({"name": "x"})", &out), 401);
  out.clear();
  EXPECT_EQ(gw_->Screen(c, R"({"name": "x"})", &out), 503);  // the fixture configures no lists
}

// Test that with audit.dir every decision is appended to the hash-chained log with its
// person, item, outcome and payload, and that the log verifies.
TEST_F(GatewayTest, RecordsDecisionsInTheAuditLog) {
  std::string dir = ::testing::TempDir() + "/gw_audit_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  Config cfg = config_;
  cfg.audit.dir = dir;
  Metrics metrics;
  auto gw = Make(cfg, &metrics);
  ASSERT_NE(gw, nullptr);
  Access a = AskOf(*gw, From("sk-demo-foreign-person"));
  ASSERT_FALSE(a.record.empty());
  EXPECT_TRUE(gw->AppendRecord(a));
  store::AppendWaiter waiter;  // no queue: read after Flush
  EXPECT_TRUE(gw->AppendRecordAsync(a, &waiter));
  ASSERT_TRUE(gw->audit_log()->Flush().ok());
  EXPECT_TRUE(gw->RecordOk(waiter));
  std::string body;
  EXPECT_EQ(gw->Decide(R"({"item":"mythos-5","person":{"id":"p9","citizenships":["FR"]},"location":{"country":"FR"}})", &body), 200);
  ASSERT_TRUE(gw->audit_log()->Flush().ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store::ScanLog(dir, {}, [&](const store::LogRecord& r) {
                seen.push_back(std::string(r.person_id) + "/" + std::string(r.item) + "/" +
                               std::string(core::Name(*r.outcome())));
                EXPECT_NE(r.payload.find("\"decision\":\"deny\""), std::string::npos);
                return true;
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"cust-de-1/mythos-5/deny", "cust-de-1/mythos-5/deny", "p9/mythos-5/deny"}));
  gw.reset();
  auto report = store::VerifyLog(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact());
  EXPECT_EQ(report->records, 3u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eargate::server

namespace eargate::server {
namespace {

// Test the lookups the server memoizes per connection: PersonForKey honours the state's revoked
// keys, and Authorize with the location memo answers as without it, also when the header changes.
TEST_F(GatewayTest, KeyLookupAndLocationMemo) {
  const StatePtr& state = gw_->state();
  const core::Person* p = gw_->PersonForKey(*state, "sk-demo-us-person");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(gw_->PersonForKey(*state, "sk-wrong"), nullptr);
  auto revoked = std::make_shared<ServingState>(*state);
  revoked->revoked_keys = std::make_shared<const absl::flat_hash_set<std::string>>(
      absl::flat_hash_set<std::string>{PeopleRegistry::KeyHash("sk-demo-us-person")});
  EXPECT_EQ(gw_->PersonForKey(*revoked, "sk-demo-us-person"), nullptr);
  EXPECT_EQ(AskOf(*gw_, *revoked, From("sk-demo-us-person")).status, Access::Status::kUnauthenticated);

  LocationMemo memo;
  for (const char* ip : {"8.8.8.8", "8.8.8.8", "193.174.0.1", "not an address", "8.8.8.8"}) {
    Caller plain = From("sk-demo-us-person", ip);
    Caller memoized = plain;
    memoized.location_memo = &memo;
    memoized.person = p;
    Access a = AskOf(*gw_, plain);
    Access b = AskOf(*gw_, memoized);
    EXPECT_EQ(a.outcome, b.outcome) << ip;
    EXPECT_EQ(a.client_ip, b.client_ip) << ip;
    EXPECT_EQ(a.country, b.country) << ip;
    EXPECT_EQ(a.person_id, b.person_id) << ip;
  }
}

}  // namespace
}  // namespace eargate::server
