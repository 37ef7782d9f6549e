// Runs the known-answer cases in tests/cases/*.yaml through the whole decision path: request
// JSON -> RequestParser -> Decide -> decision JSON, then checks the JSON a user would read.
//
// Case file:
//   policy: ../../examples/policies/letter.yaml     # default policy, relative to the file
//   cases:
//     - name: us-person-at-home
//       source: DOMAIN.md §3 row 3                   # where the expected answer comes from
//       policy: policies/chart-5d002.yaml            # optional override
//       request: {item: mythos-5, ...}               # SPEC §2 request (YAML form of the JSON)
//       expect:
//         decision: allow                            # required
//         activities: [export:DE, deemed_reexport:CN]           # exact set, if given
//         findings: [notice:bis-2026-06-12:DE, sanctions:ofac:IR:IR]  # exact set, if given;
//                     # "source:rule:destination" with "@id" appended when authorized
//         missing_facts: [us_person]                 # exact set, if given
//         reason: "US-person status unverified"      # exact, if given
//         unverified: true                           # some finding rests on unverified data
#include <gtest/gtest.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "eargate/core/json.h"
#include "eargate/decide/engine.h"
#include "eargate/wire/decision_json.h"
#include "eargate/wire/request_json.h"

namespace eargate {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const rules::EarData> Data() {
  static std::shared_ptr<const rules::EarData> data = [] {
    auto d = rules::EarData::Load(EARGATE_SOURCE_DIR "/data");
    if (!d.ok()) {
      std::fprintf(stderr, "%s\n", std::string(d.status().message()).c_str());
      std::abort();
    }
    return *d;
  }();
  return data;
}

rules::PolicyPtr Policy(const std::string& path) {
  static std::map<std::string, rules::PolicyPtr> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  auto p = rules::LoadPolicy(path, Data());
  if (!p.ok()) {
    ADD_FAILURE() << path << ": " << p.status().message();
    return nullptr;
  }
  return cache[path] = *p;
}

// YAML -> JSON text: quoted scalars stay strings; true/false/null and numbers are literals.
void ToJson(const YAML::Node& n, std::string* out) {
  switch (n.Type()) {
    case YAML::NodeType::Null: out->append("null"); return;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      bool plain = n.Tag() != "!";
      if (plain && (s == "true" || s == "false" || s == "null")) {
        out->append(s);
        return;
      }
      if (plain && !s.empty() && s.find_first_not_of("0123456789.-") == std::string::npos &&
          s.find_first_of("0123456789") != std::string::npos && s.find('-', 1) == std::string::npos) {
        out->append(s);
        return;
      }
      core::AppendJsonString(s, out);
      return;
    }
    case YAML::NodeType::Sequence: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : n) {
        if (!first) out->push_back(',');
        first = false;
        ToJson(e, out);
      }
      out->push_back(']');
      return;
    }
    case YAML::NodeType::Map: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out->push_back(',');
        first = false;
        core::AppendJsonString(kv.first.Scalar(), out);
        out->push_back(':');
        ToJson(kv.second, out);
      }
      out->push_back('}');
      return;
    }
    default: return;
  }
}

std::set<std::string> StringSet(const YAML::Node& n) {
  std::set<std::string> s;
  for (const auto& e : n) s.insert(e.Scalar());
  return s;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return "[" + out + "]";
}

class CaseTest : public testing::Test {
 public:
  CaseTest(std::string policy, YAML::Node c) : policy_(std::move(policy)), case_(std::move(c)) {}

  void TestBody() override {
    if (case_["source"]) RecordProperty("source", case_["source"].Scalar());
    rules::PolicyPtr policy = Policy(policy_);
    ASSERT_NE(policy, nullptr);
    std::string json;
    ToJson(case_["request"], &json);
    wire::RequestParser parser(policy->data());
    core::Request req;
    auto st = parser.Parse(json, /*now=*/0, &req);
    ASSERT_TRUE(st.ok()) << st.message() << "\nrequest: " << json;
    decide::Decision d;
    decide::Decide(*policy, req, &d);
    std::string out;
    wire::AppendDecisionJson(*policy, req, d, "test", &out);

    simdjson::dom::parser jp;
    simdjson::dom::element doc;
    ASSERT_EQ(jp.parse(out).get(doc), simdjson::SUCCESS) << "decision JSON does not parse: " << out;
    const YAML::Node& e = case_["expect"];
    SCOPED_TRACE("decision: " + out);
    EXPECT_EQ(std::string(doc["decision"].get_string().value()), e["decision"].Scalar());
    EXPECT_EQ(std::string(doc["policy"].get_string().value()), policy->version());
    if (e["activities"]) {
      std::set<std::string> got;
      simdjson::dom::array activities = doc["activities"].get_array().value();
      for (auto a : activities)
        got.insert(std::string(a["type"].get_string().value()) + ":" +
                   std::string(a["destination"].get_string().value()));
      EXPECT_EQ(Join(got), Join(StringSet(e["activities"])));
    }
    bool any_unverified = false;
    std::set<std::string> findings;
    simdjson::dom::array found = doc["findings"].get_array().value();
    for (auto f : found) {
      std::string s = std::string(f["source"].get_string().value()) + ":" +
                      std::string(f["rule"].get_string().value()) + ":";
      std::string_view dest;
      if (f["destination"].get(dest) == simdjson::SUCCESS) s += std::string(dest);
      std::string_view by;
      if (f["authorized_by"].get(by) == simdjson::SUCCESS) s += "@" + std::string(by);
      findings.insert(s);
      // Every finding carries at least one citation and a text.
      EXPECT_GT(f["cite"].get_array().value().size(), 0u) << s;
      EXPECT_FALSE(f["text"].get_string().value().empty()) << s;
      bool u;
      if (f["unverified"].get(u) == simdjson::SUCCESS && u) any_unverified = true;
    }
    if (e["findings"]) {
      EXPECT_EQ(Join(findings), Join(StringSet(e["findings"])));
    }
    if (e["missing_facts"]) {
      std::set<std::string> got;
      simdjson::dom::array missing = doc["missing_facts"].get_array().value();
      for (auto m : missing) got.insert(std::string(m.get_string().value()));
      EXPECT_EQ(Join(got), Join(StringSet(e["missing_facts"])));
    }
    if (e["reason"]) {
      EXPECT_EQ(std::string(doc["reason"].get_string().value()), e["reason"].Scalar());
    }
    if (e["unverified"]) {
      EXPECT_EQ(any_unverified, e["unverified"].as<bool>());
    }
  }

 private:
  std::string policy_;
  YAML::Node case_;
};

int RegisterCases(const fs::path& dir) {
  int count = 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::set<std::string> names;
  for (const auto& file : files) {
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(file.string());
    } catch (const YAML::Exception& e) {
      std::fprintf(stderr, "%s: %s\n", file.c_str(), e.what());
      std::exit(2);
    }
    std::string default_policy = doc["policy"] ? (file.parent_path() / doc["policy"].Scalar()).string() : "";
    for (const auto& c : doc["cases"]) {
      std::string policy = c["policy"] ? (file.parent_path() / c["policy"].Scalar()).string() : default_policy;
      std::string suite = file.stem().string();
      std::string name = c["name"].Scalar();
      std::replace(suite.begin(), suite.end(), '-', '_');
      std::replace(name.begin(), name.end(), '-', '_');
      if (!names.insert(suite + "." + name).second) {
        std::fprintf(stderr, "%s: duplicate case name %s\n", file.c_str(), name.c_str());
        std::exit(2);
      }
      testing::RegisterTest(suite.c_str(), name.c_str(), nullptr, nullptr, file.c_str(), c.Mark().line + 1,
                            [policy, c]() -> testing::Test* { return new CaseTest(policy, c); });
      ++count;
    }
  }
  return count;
}

}  // namespace
}  // namespace eargate

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string dir = argc > 1 ? argv[1] : EARGATE_SOURCE_DIR "/tests/cases";
  int n = eargate::RegisterCases(dir);
  if (n == 0) {
    std::fprintf(stderr, "no cases found in %s\n", dir.c_str());
    return 1;
  }
  return RUN_ALL_TESTS();
}
