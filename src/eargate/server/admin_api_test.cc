// Tests of the admin API (/admin/v1) on a real gateway over a SQLite store, a decision log and
// a small restricted-party list written by the test: the role matrix, authentication (no,
// unknown, expired, revoked tokens), bodies and queries, people and keys reaching the served
// registry, admin_change records, refusal when the log cannot record, and screening
// dispositions honoured until the listed entry changes.
#include "eargate/server/admin_api.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "eargate/core/sha256.h"
#include "eargate/core/strings.h"
#include "eargate/server/gateway.h"
#include "eargate/store/internal/sql_db.h"
#include "eargate/store/log_reader.h"
#include "eargate/store/record_shipper.h"
#include "gtest/gtest.h"

namespace eargate::server {
namespace {

std::string Src(const std::string& rel) { return std::string(EARGATE_SOURCE_DIR) + "/" + rel; }

class FixedClock : public core::Clock {
 public:
  core::Timestamp Now() const override { return *core::ParseTime("2026-07-01T12:00:00Z"); }
};

constexpr char kSdn[] =
    "9001,\"PETROVSKY, Ivan Sergeyevich\",\"individual\",\"UKRAINE-EO13661\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
constexpr char kSdnChanged[] =
    "9001,\"PETROVSKY, Ivan Sergeyevich\",\"individual\",\"UKRAINE-EO13661] [RUSSIA-EO14024\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";

constexpr char kIvan[] =
    R"({"id":"cust-7","kind":"natural","name":"Ivan Sergeyevich Petrovsky",)"
    R"("citizenships":[{"country":"DE","source":"onfido","verified_at":"2026-05-01T10:00:00Z"}],)"
    R"("permanent_residencies":[],"us_person":false,"end_user_categories":[],"end_uses":[],)"
    R"("organization":null,"kyc":{"source":"onfido","verified_at":"2026-05-01T10:00:00Z"}})";

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "eg_admin_XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    std::filesystem::create_directories(dir_ + "/lists");
    WriteFile(dir_ + "/lists/sdn.csv", kSdn);
    config_.policy = Src("examples/policies/letter.yaml");
    config_.data_dir = Src("data");
    config_.store.url = "sqlite://" + dir_ + "/eargate.db";
    config_.audit.dir = dir_ + "/audit";
    // The tests ship the log themselves (as node-a) and count what the store holds.
    config_.audit.ship_interval_ms = 0;
    config_.screening.lists = {dir_ + "/lists"};
    Start();
    // Tokens as `eargate admin token create` makes them: straight in the store.
    for (auto [name, role] : {std::pair{"vera", store::Role::kViewer},
                              {"anna", store::Role::kAnalyst},
                              {"otto", store::Role::kOfficer},
                              {"ada", store::Role::kAdmin}}) {
      std::string token = NewSecret("egadm-");
      ASSERT_TRUE(gw_->store()->CreateAdminToken(core::Sha256Hex(token), name, role).ok());
      tokens_[name] = token;
    }
  }
  void TearDown() override {
    gw_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    gw_.reset();
    Config c = config_;
    ASSERT_TRUE(ValidateConfig(&c).ok()) << ValidateConfig(&c);
    auto gw = Gateway::Create(c, &metrics_, &clock_);
    ASSERT_TRUE(gw.ok()) << gw.status();
    gw_ = std::move(*gw);
  }

  static void WriteFile(const std::string& path, std::string_view text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
  }

  struct Reply {
    int status = 0;
    std::string body;
    std::string message() const {
      simdjson::dom::parser p;
      simdjson::dom::element e;
      std::string_view m;
      if (p.parse(body).get(e) || e["error"]["message"].get_string().get(m)) return "";
      return std::string(m);
    }
  };
  Reply Call(std::string_view who, std::string_view method, std::string_view target,
             std::string_view body = "") {
    std::string auth = who.empty() ? "" : "Bearer " + (tokens_.count(std::string(who)) ? tokens_[std::string(who)] : std::string(who));
    Caller c;
    c.authorization = auth;
    Reply r;
    r.status = gw_->Admin(method, target, c, body, &r.body);
    return r;
  }

  // A field of a JSON object body.
  static std::string Field(const std::string& body, const char* key) {
    simdjson::dom::parser p;
    simdjson::dom::element e;
    std::string_view v;
    if (p.parse(body).get(e) || e[key].get_string().get(v)) return "";
    return std::string(v);
  }

  const core::Person* ByKey(const std::string& key) { return gw_->state()->people->FindByKey(key); }

  std::vector<std::string> AdminChanges() {
    std::vector<std::string> out;
    store::RecordFilter f;
    f.kind = store::RecordKind::kAdminChange;
    EXPECT_TRUE(store::ScanLog(config_.audit.dir, f, [&](const store::LogRecord& r) {
                  out.emplace_back(r.payload);
                  return true;
                }).ok());
    return out;
  }

  std::string dir_;
  Config config_;
  Metrics metrics_;
  FixedClock clock_;
  std::unique_ptr<Gateway> gw_;
  std::map<std::string, std::string> tokens_;
};

// Test that nothing under /admin/ answers without a valid token: none, another scheme, an
// unknown, an expired and a revoked token all get 401 with the reason, even for paths that
// are no endpoint.
TEST_F(AdminApiTest, NothingWithoutAValidToken) {
  EXPECT_EQ(Call("", "GET", "/admin/v1/people").status, 401);
  EXPECT_EQ(Call("", "GET", "/admin/v1/no-such-thing").status, 401);
  Caller basic;
  basic.authorization = "Basic dmVyYTpwdw==";
  std::string body;
  EXPECT_EQ(gw_->Admin("GET", "/admin/v1/people", basic, "", &body), 401);
  Reply unknown = Call("egadm-not-a-token", "GET", "/admin/v1/whoami");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.message(), "admin token: unknown");
  // An API key of the people registry is no admin token.
  EXPECT_EQ(Call("sk-demo-us-person", "GET", "/admin/v1/whoami").status, 401);

  std::string expired = NewSecret("egadm-");
  ASSERT_TRUE(gw_->store()
                  ->CreateAdminToken(core::Sha256Hex(expired), "old", store::Role::kAdmin,
                                     *core::ParseTime("2026-06-30T00:00:00Z"))
                  .ok());
  Reply e = Call(expired, "GET", "/admin/v1/whoami");
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(e.message(), "admin token: expired");

  Reply revoke = Call("ada", "DELETE", "/admin/v1/tokens/" + core::Sha256Hex(tokens_["otto"]));
  EXPECT_EQ(revoke.status, 200) << revoke.body;
  Reply r = Call("otto", "GET", "/admin/v1/whoami");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.message(), "admin token: revoked");

  Reply me = Call("vera", "GET", "/admin/v1/whoami");
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(Field(me.body, "name"), "vera");
  EXPECT_EQ(Field(me.body, "role"), "viewer");
}

// Test the role matrix: each endpoint answers 403 to every role below its own (naming both)
// and does not to its own role and above.
TEST_F(AdminApiTest, RoleMatrix) {
  ASSERT_EQ(Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan).status, 201);
  struct Case {
    const char* method;
    std::string target;
    std::string body;
    const char* min_role;
  };
  const std::vector<Case> cases = {
      {"GET", "/admin/v1/whoami", "", "viewer"},
      {"GET", "/admin/v1/people", "", "viewer"},
      {"GET", "/admin/v1/people/cust-7", "", "viewer"},
      {"GET", "/admin/v1/people/cust-7/keys", "", "viewer"},
      {"GET", "/admin/v1/screening/dispositions", "", "viewer"},
      {"GET", "/admin/v1/screening/hits", "", "viewer"},
      {"GET", "/admin/v1/decisions", "", "viewer"},
      {"GET", "/admin/v1/audit/verify", "", "viewer"},
      {"POST", "/admin/v1/audit/verify", "", "analyst"},  // 202, or 409 while one runs
      // Bodies that are bad on purpose: the role check comes first, then 400.
      {"POST", "/admin/v1/screening/dispositions", "{}", "analyst"},
      {"DELETE", "/admin/v1/screening/dispositions", "", "analyst"},
      {"POST", "/admin/v1/people", "{}", "officer"},
      {"PUT", "/admin/v1/people/cust-7", "{}", "officer"},
      {"DELETE", "/admin/v1/people/nobody", "", "officer"},
      {"POST", "/admin/v1/people/nobody/keys", "", "officer"},
      {"DELETE", "/admin/v1/keys/nothex", "", "officer"},
      {"GET", "/admin/v1/tokens", "", "admin"},
      {"POST", "/admin/v1/tokens", "{}", "admin"},
      {"DELETE", "/admin/v1/tokens/nothex", "", "admin"},
  };
  const std::vector<std::pair<std::string, std::string>> roles = {
      {"vera", "viewer"}, {"anna", "analyst"}, {"otto", "officer"}, {"ada", "admin"}};
  auto rank = [&](std::string_view role) {
    for (size_t i = 0; i < roles.size(); ++i)
      if (roles[i].second == role) return i;
    return roles.size();
  };
  for (const Case& c : cases) {
    for (const auto& [who, role] : roles) {
      Reply r = Call(who, c.method, c.target, c.body);
      SCOPED_TRACE(core::StrCat(c.method, " ", c.target, " as ", role, ": ", r.body));
      if (rank(role) < rank(c.min_role)) {
        EXPECT_EQ(r.status, 403);
        EXPECT_NE(r.message().find(core::StrCat("role ", role, " may not ")), std::string::npos);
        EXPECT_NE(r.message().find(core::StrCat("needs ", c.min_role, " or above")), std::string::npos);
      } else {
        EXPECT_NE(r.status, 403);
        EXPECT_NE(r.status, 401);
      }
    }
  }
  EXPECT_EQ(Call("ada", "GET", "/admin/v1/nothing").status, 404);
  Reply m = Call("ada", "PATCH", "/admin/v1/people/cust-7");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.message(), "use GET, PUT, DELETE");
}

// Test that bad bodies and queries get 400 naming the field, and change nothing.
TEST_F(AdminApiTest, BadInputNamesTheField) {
  auto msg = [&](std::string_view who, std::string_view method, std::string_view target,
                 std::string_view body) {
    Reply r = Call(who, method, target, body);
    EXPECT_EQ(r.status, 400) << target << " " << body << ": " << r.body;
    return r.message();
  };
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens", R"({"name":"x","role":"root"})"),
            "role: unknown role 'root' (viewer, analyst, officer, admin)");
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens", R"({"name":"x","role":"viewer","colour":"red"})"),
            "colour: unknown field (allowed: name, role, expires_at)");
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens", R"({"role":"viewer"})"), "name: required");
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens", R"({"name":"x","role":"viewer","expires_at":"soon"})"),
            "expires_at: not an RFC 3339 time (got 'soon')");
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens",
                R"({"name":"x","role":"viewer","expires_at":"2020-01-01T00:00:00Z"})"),
            "expires_at: in the past (2020-01-01T00:00:00Z)");
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens", "[1,2"), "body: not valid JSON");
  EXPECT_EQ(msg("ada", "POST", "/admin/v1/tokens", R"({"name":7,"role":"viewer"})"), "name: must be a string");
  std::string bad_country = kIvan;
  bad_country.replace(bad_country.find("\"DE\""), 4, "\"Germany\"");
  EXPECT_EQ(msg("otto", "PUT", "/admin/v1/people/cust-7", bad_country),
            "citizenships[0].country: unknown country 'Germany' (ISO 3166-1 alpha-2, upper case)");
  EXPECT_EQ(msg("otto", "PUT", "/admin/v1/people/cust-8", kIvan),
            "id: 'cust-7' differs from the path's 'cust-8'");
  std::string extra = kIvan;
  extra.insert(1, R"("favourite_colour":"red",)");
  EXPECT_EQ(msg("otto", "PUT", "/admin/v1/people/cust-7", extra), "favourite_colour: unknown field");
  std::string with_key = kIvan;
  with_key.insert(1, "\"api_key_sha256\":\"" + core::Sha256Hex("k") + "\",");
  EXPECT_NE(msg("otto", "PUT", "/admin/v1/people/cust-7", with_key).find("api_keys_sha256: "),
            std::string::npos);
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/people?colour=red", ""),
            "colour: unknown query parameter (allowed: limit, after)");
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/decisions?outcome=maybe", ""),
            "outcome: must be allow, review or deny (got 'maybe')");
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/decisions?from=yesterday", ""),
            "from: not an RFC 3339 time or date (got 'yesterday')");
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/decisions?limit=0", ""),
            "limit: must be an integer in [1, 10000] (got '0')");
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/decisions?order=latest", ""),
            "order: must be newest or oldest (got 'latest')");
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/decisions?scope=world", ""),
            "scope: must be node or fleet (got 'world')");
  EXPECT_EQ(msg("vera", "GET", "/admin/v1/decisions?node=n1", ""), "node: only with scope=fleet");
  EXPECT_EQ(msg("otto", "DELETE", "/admin/v1/keys/abc", ""),
            "key_sha256: must be 64 lower-case hex digits (the SHA-256 of the key)");
  EXPECT_EQ(msg("anna", "POST", "/admin/v1/screening/dispositions", R"({"person_id":"cust-7","list":"us_ofac_sdn","entry_id":"9001"})"),
            "reason: required");
  // Nothing of the above reached the store or the log.
  EXPECT_EQ(Call("vera", "GET", "/admin/v1/people/cust-7").status, 404);
  EXPECT_EQ(AdminChanges().size(), 0u);
}

// Test people and keys end to end: a person created, a key made (shown once, stored hashed)
// that the served registry accepts after the rebuild, the key revoked and refused, the person
// deleted; each change recorded as an admin_change with who and before/after, never the key.
TEST_F(AdminApiTest, PeopleAndKeys) {
  Reply created = Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Field(created.body, "name"), "Ivan Sergeyevich Petrovsky");
  EXPECT_EQ(Call("otto", "POST", "/admin/v1/people", kIvan).status, 409);
  Reply key = Call("otto", "POST", "/admin/v1/people/cust-7/keys");
  ASSERT_EQ(key.status, 201) << key.body;
  std::string secret = Field(key.body, "key");
  ASSERT_EQ(secret.rfind("sk-eg-", 0), 0u);
  EXPECT_EQ(Field(key.body, "key_sha256"), core::Sha256Hex(secret));
  Reply keys = Call("vera", "GET", "/admin/v1/people/cust-7/keys");
  EXPECT_EQ(keys.status, 200);
  EXPECT_EQ(keys.body.find(secret), std::string::npos);
  EXPECT_NE(keys.body.find(core::Sha256Hex(secret)), std::string::npos);

  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  const core::Person* p = ByKey(secret);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id, "cust-7");

  // An update keeps the keys; repeating the active key in the body is allowed.
  std::string update = kIvan;
  update.replace(update.find("\"DE\""), 4, "\"FR\"");
  update.insert(1, "\"api_keys_sha256\":[\"" + core::Sha256Hex(secret) + "\"],");
  Reply updated = Call("otto", "PUT", "/admin/v1/people/cust-7", update);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_NE(updated.body.find("\"FR\""), std::string::npos);
  EXPECT_NE(updated.body.find(core::Sha256Hex(secret)), std::string::npos);

  Reply revoked = Call("otto", "DELETE", "/admin/v1/keys/" + core::Sha256Hex(secret));
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Call("otto", "DELETE", "/admin/v1/keys/" + core::Sha256Hex(secret)).status, 404);
  // The fast path refuses the key before any rebuild; the rebuild then drops it and keeps
  // refusing it.
  Caller caller;
  std::string auth = "Bearer " + secret;
  caller.authorization = auth;
  auto ask = [&] {
    return gw_->Authorize(*gw_->state(), caller, "mythos-5", core::Layer::kApplication,
                          core::Channel::kApi).status;
  };
  EXPECT_EQ(ask(), Access::Status::kDecided);
  ASSERT_TRUE(gw_->ApplyRevocations().ok());
  EXPECT_NE(ByKey(secret), nullptr);  // still in the registry...
  EXPECT_EQ(ask(), Access::Status::kUnauthenticated);  // ...but refused
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  EXPECT_EQ(ByKey(secret), nullptr);
  EXPECT_EQ(ask(), Access::Status::kUnauthenticated);

  ASSERT_EQ(Call("otto", "DELETE", "/admin/v1/people/cust-7").status, 200);
  EXPECT_EQ(Call("vera", "GET", "/admin/v1/people/cust-7").status, 404);

  std::vector<std::string> changes = AdminChanges();
  ASSERT_EQ(changes.size(), 5u);
  const char* whats[] = {"person.create", "api_key.create", "person.update", "api_key.revoke",
                         "person.delete"};
  for (size_t i = 0; i < changes.size(); ++i) {
    SCOPED_TRACE(changes[i]);
    EXPECT_EQ(Field(changes[i], "what"), whats[i]);
    EXPECT_EQ(Field(changes[i], "at"), "2026-07-01T12:00:00Z");
    EXPECT_NE(changes[i].find(R"("who":{"name":"otto","role":"officer")"), std::string::npos);
    EXPECT_EQ(changes[i].find(secret), std::string::npos);  // never the key itself
  }
  EXPECT_NE(changes[0].find(R"("before":null,"after":{"id":"cust-7")"), std::string::npos);
  EXPECT_NE(changes[2].find(R"("before":{"id":"cust-7")"), std::string::npos);
  EXPECT_NE(changes[3].find(R"("before":{"person_id":"cust-7","key_sha256":")"), std::string::npos);
  EXPECT_NE(changes[4].find(R"("after":null)"), std::string::npos);

  // The decision search finds them by kind and person: the newest first, or the oldest.
  Reply found = Call("vera", "GET", "/admin/v1/decisions?kind=admin_change&person=cust-7&limit=2");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(found.body.rfind(R"({"scope":"node","records":[{"seq":)", 0), 0u) << found.body;
  EXPECT_NE(found.body.find("\"truncated\":true"), std::string::npos);
  EXPECT_LT(found.body.find("person.delete"), found.body.find("api_key.revoke")) << found.body;
  EXPECT_EQ(found.body.find("person.create"), std::string::npos);
  Reply oldest = Call("vera", "GET", "/admin/v1/decisions?kind=admin_change&person=cust-7&limit=2&order=oldest");
  ASSERT_EQ(oldest.status, 200) << oldest.body;
  EXPECT_LT(oldest.body.find("person.create"), oldest.body.find("api_key.create")) << oldest.body;
  EXPECT_EQ(oldest.body.find("api_key.revoke"), std::string::npos);
  Reply all = Call("vera", "GET", "/admin/v1/decisions?kind=admin_change&person=cust-7");
  EXPECT_NE(all.body.find("\"truncated\":false"), std::string::npos) << all.body;

  // scope=fleet: the records every node shipped to the store (none yet, then this node's).
  Reply none = Call("vera", "GET", "/admin/v1/decisions?scope=fleet&kind=admin_change");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.body, R"({"scope":"fleet","records":[],"truncated":false})");
  auto shipper = store::RecordShipper::Open(config_.store.url, "node-a");
  ASSERT_TRUE(shipper.ok()) << shipper.status();
  ASSERT_TRUE((*shipper)->ShipOnce(config_.audit.dir).ok());
  Reply fleet = Call("vera", "GET", "/admin/v1/decisions?scope=fleet&kind=admin_change&person=cust-7&limit=2");
  ASSERT_EQ(fleet.status, 200) << fleet.body;
  EXPECT_EQ(fleet.body.rfind(R"({"scope":"fleet","records":[{"node":"node-a","seq":)", 0), 0u) << fleet.body;
  EXPECT_NE(fleet.body.find("\"truncated\":true"), std::string::npos);
  EXPECT_NE(fleet.body.find("person.delete"), std::string::npos) << fleet.body;
  EXPECT_EQ(Call("vera", "GET", "/admin/v1/decisions?scope=fleet&node=node-b&kind=all").body,
            R"({"scope":"fleet","records":[],"truncated":false})");

  // Paged two at a time, each page after the `next` of the one before: the same five changes,
  // on the node's log and in the fleet's copy, in either order.
  for (const char* scope : {"node", "fleet"}) {
    for (const char* order : {"oldest", "newest"}) {
      SCOPED_TRACE(core::StrCat(scope, " ", order));
      std::vector<std::string> got;
      std::string after;
      for (int page = 0; page < 10; ++page) {
        Reply p = Call("vera", "GET", core::StrCat("/admin/v1/decisions?kind=admin_change&person=cust-7&limit=2&scope=",
                                                   scope, "&order=", order, after.empty() ? "" : "&after=", after));
        ASSERT_EQ(p.status, 200) << p.body;
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        ASSERT_FALSE(parser.parse(p.body).get(doc)) << p.body;
        for (simdjson::dom::element rec : doc["records"].get_array()) {
          std::string_view what;
          ASSERT_FALSE(rec["record"]["what"].get_string().get(what)) << p.body;
          got.emplace_back(what);
        }
        std::string_view next;
        if (doc["next"].get_string().get(next)) {
          bool truncated = true;
          ASSERT_FALSE(doc["truncated"].get_bool().get(truncated)) << p.body;
          EXPECT_FALSE(truncated) << p.body;
          break;
        }
        after = std::string(next);  // digits and commas, and here a node name of [a-z-]
      }
      std::vector<std::string> want(std::begin(whats), std::end(whats));
      if (std::string(order) == "newest") std::reverse(want.begin(), want.end());
      EXPECT_EQ(got, want);
    }
  }
  for (const char* bad : {"/admin/v1/decisions?after=x7", "/admin/v1/decisions?after=7x",
                          "/admin/v1/decisions?scope=fleet&after=17",
                          "/admin/v1/decisions?scope=fleet&after=17,3,"}) {
    Reply b = Call("vera", "GET", bad);
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_EQ(b.message(), "after: not a cursor of this search (pass back its `next`)") << bad;
  }
}

// Test that a decision is found by the id its answer carried (X-Eargate-Decision-Id), on this
// node's log and among the records shipped to the store.
TEST_F(AdminApiTest, DecisionFoundById) {
  ASSERT_EQ(Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan).status, 201);
  Reply key = Call("otto", "POST", "/admin/v1/people/cust-7/keys");
  ASSERT_EQ(key.status, 201) << key.body;
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  std::string auth = "Bearer " + Field(key.body, "key");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Caller caller;
    caller.authorization = auth;
    Access a = gw_->Authorize(*gw_->state(), caller, "mythos-5", core::Layer::kApplication,
                              core::Channel::kApi);
    ASSERT_EQ(a.status, Access::Status::kDecided);
    ASSERT_TRUE(gw_->AppendRecord(a));
    ids.push_back(a.decision_id);
  }
  ASSERT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3u);
  for (const char* scope : {"node", "fleet"}) {
    SCOPED_TRACE(scope);
    if (std::string(scope) == "fleet") {
      auto shipper = store::RecordShipper::Open(config_.store.url, "node-a");
      ASSERT_TRUE(shipper.ok()) << shipper.status();
      ASSERT_TRUE((*shipper)->ShipOnce(config_.audit.dir).ok());
    }
    Reply r = Call("vera", "GET", core::StrCat("/admin/v1/decisions?scope=", scope, "&decision_id=", ids[1]));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find(ids[0]), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(ids[2]), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(core::StrCat(R"("decision_id":")", ids[1], R"(","person":"cust-7")")),
              std::string::npos)
        << r.body;
  }
}

// Test the decision log's checkpoints in the store and its verification on request: the
// checkpoints reach the store (as this node's) and are checked with the log's own; an edited
// record is named by the next verification, through GET /admin/v1/audit/verify.
TEST_F(AdminApiTest, VerifiesTheLogAgainstTheStoresCheckpoints) {
  ASSERT_EQ(Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan).status, 201);
  ASSERT_EQ(Call("otto", "POST", "/admin/v1/people/cust-7/keys").status, 201);
  Start();  // closing the log takes a checkpoint, which the sink hands to the store
  const std::string node = gw_->node();
  EXPECT_NE(node.find(":" + config_.audit.dir), std::string::npos) << node;
  auto stored = gw_->store()->ListCheckpoints(node);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_FALSE(stored->empty()) << "no checkpoint of node " << node << " in the store";
  const size_t in_file = store::ReadCheckpoints(config_.audit.dir).size();
  ASSERT_GE(in_file, stored->size());

  Reply before = Call("vera", "GET", "/admin/v1/audit/verify");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_NE(before.body.find(R"("runs":0,"interval_minutes":1440,"last":null)"), std::string::npos) << before.body;
  auto verify = [&](uint64_t runs) {
    Reply started = Call("anna", "POST", "/admin/v1/audit/verify");
    EXPECT_EQ(started.status, 202) << started.body;
    for (int i = 0; i < 1000 && gw_->log_watch()->runs() <= runs; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(gw_->log_watch()->runs(), runs + 1);
    Reply r = Call("vera", "GET", "/admin/v1/audit/verify");
    EXPECT_EQ(r.status, 200);
    return r.body;
  };
  std::string body = verify(0);
  EXPECT_NE(body.find(R"("intact":true,"error":null)"), std::string::npos) << body;
  EXPECT_NE(body.find(core::StrCat(R"("checkpoints_checked":)", in_file + stored->size(), ",")), std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("problems_total":0,"problems":[])"), std::string::npos) << body;
  // Nothing shipped yet: the store's copy holds no row of this node, none differs.
  EXPECT_NE(body.find(R"("store_copy":{"faithful":true,"rows_checked":0,"last_shipped":0,"differing":0)"),
            std::string::npos)
      << body;
  // The fleet's view: each node's last run, as it stored it.
  Reply fleet = Call("vera", "GET", "/admin/v1/audit/verify?scope=fleet");
  ASSERT_EQ(fleet.status, 200) << fleet.body;
  EXPECT_NE(fleet.body.find(core::StrCat(R"({"scope":"fleet","nodes":[{"node":")", node, R"(",)")), std::string::npos)
      << fleet.body;
  EXPECT_NE(fleet.body.find(R"("intact":true,)"), std::string::npos) << fleet.body;
  EXPECT_NE(fleet.body.find(R"("copy_differences":0,"error":null,"findings":[]}]})"), std::string::npos) << fleet.body;
  Reply bad = Call("vera", "GET", "/admin/v1/audit/verify?scope=all");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.message().find("scope"), std::string::npos) << bad.body;

  // The copy fleet search reads, shipped and then edited in the store: named, the log intact.
  auto shipper = store::RecordShipper::Open(config_.store.url, node);
  ASSERT_TRUE(shipper.ok()) << shipper.status();
  ASSERT_TRUE((*shipper)->ShipOnce(config_.audit.dir).ok());
  // Edited the way an intruder would: in SQL, past the store's API (the store's own SQL access).
  auto db = store::internal::OpenSqlite(dir_ + "/eargate.db");
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("UPDATE decision_records SET person = 'cust-9' WHERE seq = 2").ok());
  body = verify(1);
  EXPECT_NE(body.find(R"("intact":false,"error":null)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("problems_total":0,"problems":[])"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("faithful":false,"rows_checked":)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("differing":1,"differences":["seq 2: person differs from the log"])"), std::string::npos)
      << body;
  fleet = Call("vera", "GET", "/admin/v1/audit/verify?scope=fleet");
  EXPECT_NE(fleet.body.find(R"("intact":false,)"), std::string::npos) << fleet.body;
  EXPECT_NE(fleet.body.find(R"("problems":0,"copy_differences":1,"error":null,"findings":["store copy seq 2: person differs from the log"]})"),
            std::string::npos)
      << fleet.body;
  ASSERT_TRUE((*db)->Exec("UPDATE decision_records SET person = 'cust-7' WHERE seq = 2").ok());

  // An edit of the first record (the person's creation) in the segment, in place.
  const std::string seg = config_.audit.dir + "/audit-0000000000000001.seg";
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = bytes.find("Ivan");
  ASSERT_NE(at, std::string::npos);
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(at));
    f.put('J');
  }
  body = verify(2);
  EXPECT_NE(body.find(R"("intact":false,"error":null)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("problems_total":1,)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("segment":"audit-0000000000000001.seg")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"x("seq":1,"message":"contents do not match the stored hash (record edited)")x"),
            std::string::npos)
      << body;
}

// Test that a key's last use reaches the store (api_keys.last_used_at): noted when the gateway
// looks the key up, written by the watcher thread (here: on its way out).
TEST_F(AdminApiTest, KeyLastUseIsRecorded) {
  ASSERT_EQ(Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan).status, 201);
  Reply key = Call("otto", "POST", "/admin/v1/people/cust-7/keys");
  ASSERT_EQ(key.status, 201) << key.body;
  std::string secret = Field(key.body, "key");
  EXPECT_NE(Call("vera", "GET", "/admin/v1/people/cust-7/keys").body.find("\"last_used_at\":null"), std::string::npos);
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  Caller caller;
  std::string auth = "Bearer " + secret;
  caller.authorization = auth;
  ASSERT_EQ(gw_->Authorize(*gw_->state(), caller, "mythos-5", core::Layer::kApplication, core::Channel::kApi).status,
            Access::Status::kDecided);
  gw_->StartWatcher();
  gw_->StopWatcher();  // flushes the noted uses
  Reply keys = Call("vera", "GET", "/admin/v1/people/cust-7/keys");
  EXPECT_NE(keys.body.find("\"last_used_at\":\"2026-07-01T12:00:00Z\""), std::string::npos) << keys.body;
}

// Test that a change the decision log cannot record is refused with 503 and not applied.
TEST_F(AdminApiTest, RefusedWhenTheLogCannotRecord) {
  ASSERT_TRUE(gw_->audit_log()->Close().ok());
  Reply r = Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.message(), "the change could not be recorded in the decision log; nothing was changed");
  EXPECT_EQ(Call("vera", "GET", "/admin/v1/people/cust-7").status, 404);
  // Reads still work.
  EXPECT_EQ(Call("vera", "GET", "/admin/v1/people").status, 200);
}

// Test a screening disposition: the hit is listed, cleared by an analyst (who, when, why),
// honoured by the registry while the entry is unchanged, and back once the list publishes the
// entry changed (a new program); withdrawing a clearance brings the hit back too.
TEST_F(AdminApiTest, DispositionHonouredUntilTheEntryChanges) {
  ASSERT_EQ(Call("otto", "PUT", "/admin/v1/people/cust-7", kIvan).status, 201);
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  const core::Person* p = gw_->state()->people->FindById("cust-7");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->screening.size(), 1u);
  EXPECT_EQ(p->screening[0].entry_id, "9001");

  Reply hits = Call("vera", "GET", "/admin/v1/screening/hits");
  ASSERT_EQ(hits.status, 200);
  EXPECT_NE(hits.body.find(R"("person_id":"cust-7")"), std::string::npos) << hits.body;
  EXPECT_NE(hits.body.find(R"("list":"us_ofac_sdn","entry_id":"9001")"), std::string::npos) << hits.body;
  EXPECT_NE(hits.body.find(R"("cleared":false)"), std::string::npos);

  EXPECT_EQ(Call("anna", "POST", "/admin/v1/screening/dispositions",
                 R"({"person_id":"cust-7","list":"us_ofac_sdn","entry_id":"1234","reason":"x"})")
                .status,
            404);
  Reply cleared = Call("anna", "POST", "/admin/v1/screening/dispositions",
                       R"({"person_id":"cust-7","list":"us_ofac_sdn","entry_id":"9001",)"
                       R"("reason":"different date of birth, passport checked"})");
  ASSERT_EQ(cleared.status, 201) << cleared.body;
  EXPECT_EQ(Field(cleared.body, "decided_by"), "anna");
  EXPECT_EQ(Field(cleared.body, "decided_at"), "2026-07-01T12:00:00Z");
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  EXPECT_TRUE(gw_->state()->people->FindById("cust-7")->screening.empty());
  EXPECT_EQ(gw_->state()->people->hits_cleared(), 1u);
  Reply list = Call("vera", "GET", "/admin/v1/screening/dispositions?person_id=cust-7");
  EXPECT_NE(list.body.find(R"("in_force":true)"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find(R"("reason":"different date of birth, passport checked")"), std::string::npos);

  // The list publishes the entry with a new program: the hit comes back (after a restart,
  // which reloads the lists), the disposition is kept but no longer in force.
  WriteFile(dir_ + "/lists/sdn.csv", kSdnChanged);
  Start();
  ASSERT_EQ(gw_->state()->people->FindById("cust-7")->screening.size(), 1u);
  EXPECT_EQ(gw_->state()->people->hits_cleared(), 0u);
  list = Call("vera", "GET", "/admin/v1/screening/dispositions?person_id=cust-7");
  EXPECT_NE(list.body.find(R"("in_force":false)"), std::string::npos) << list.body;

  // Cleared again against the new entry, then withdrawn: the hit is back.
  ASSERT_EQ(Call("anna", "POST", "/admin/v1/screening/dispositions",
                 R"({"person_id":"cust-7","list":"us_ofac_sdn","entry_id":"9001","reason":"rechecked"})")
                .status,
            201);
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  EXPECT_TRUE(gw_->state()->people->FindById("cust-7")->screening.empty());
  Reply withdrawn = Call("anna", "DELETE",
                         "/admin/v1/screening/dispositions?person_id=cust-7&list=us_ofac_sdn&entry_id=9001");
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.body;
  ASSERT_TRUE(gw_->ReloadRegistry().ok());
  EXPECT_EQ(gw_->state()->people->FindById("cust-7")->screening.size(), 1u);

  std::vector<std::string> changes = AdminChanges();
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(Field(changes[1], "what"), "screening.clear");
  EXPECT_NE(changes[1].find(R"("who":{"name":"anna","role":"analyst")"), std::string::npos);
  EXPECT_NE(changes[1].find(R"("reason":"different date of birth, passport checked")"), std::string::npos);
  EXPECT_EQ(Field(changes[3], "what"), "screening.withdraw");
}

// Test that a clearance needs a current hit: a person who does not match the entry cannot be
// cleared against it (409).
TEST_F(AdminApiTest, ClearingNeedsAHit) {
  std::string ada = kIvan;
  ada.replace(ada.find("Ivan Sergeyevich Petrovsky"), 26, "Ada Lovelace");
  ASSERT_EQ(Call("otto", "PUT", "/admin/v1/people/cust-7", ada).status, 201);
  Reply r = Call("anna", "POST", "/admin/v1/screening/dispositions",
                 R"({"person_id":"cust-7","list":"us_ofac_sdn","entry_id":"9001","reason":"x"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.message(), "person cust-7 has no screening hit on us_ofac_sdn entry 9001: nothing to clear");
}

// Test admin tokens through the API: created (shown once), listed by hash, usable, revoked.
TEST_F(AdminApiTest, Tokens) {
  Reply t = Call("ada", "POST", "/admin/v1/tokens",
                 R"({"name":"carol","role":"analyst","expires_at":"2026-12-31T00:00:00Z"})");
  ASSERT_EQ(t.status, 201) << t.body;
  std::string token = Field(t.body, "token");
  ASSERT_EQ(token.rfind("egadm-", 0), 0u);
  Reply me = Call(token, "GET", "/admin/v1/whoami");
  EXPECT_EQ(Field(me.body, "role"), "analyst");
  EXPECT_EQ(Field(me.body, "expires_at"), "2026-12-31T00:00:00Z");
  Reply list = Call("ada", "GET", "/admin/v1/tokens");
  EXPECT_EQ(list.body.find(token), std::string::npos);
  EXPECT_NE(list.body.find(core::Sha256Hex(token)), std::string::npos);
  EXPECT_EQ(Call("ada", "DELETE", "/admin/v1/tokens/" + core::Sha256Hex(token)).status, 200);
  EXPECT_EQ(Call(token, "GET", "/admin/v1/whoami").status, 401);
  std::vector<std::string> changes = AdminChanges();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].find(token), std::string::npos);
}

}  // namespace
}  // namespace eargate::server
