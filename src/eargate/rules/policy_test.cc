#include "eargate/rules/policy.h"

#include <gtest/gtest.h>

namespace eargate::rules {
namespace {

std::shared_ptr<const EarData> Data() {
  static auto data = EarData::Load(EARGATE_SOURCE_DIR "/data");
  EXPECT_TRUE(data.ok()) << data.status();
  return *data;
}

constexpr char kMinimal[] = R"yaml(version: 1
remote_access: release
items:
  - id: mythos-5
    kind: model
    classification: EAR99
    served_from: [US]
    service_level: saas
    aliases: [claude-mythos-5]
notices:
  - id: bis-2026-06-12
    effective: 2026-06-12T00:00:00Z
    authorities: ["50 U.S.C. 4817(b)(1)"]
    items: [mythos-5]
    layers: [weights, application]
    destinations: worldwide
)yaml";

TEST(PolicyTest, LoadsAndIndexes) {
  auto p = LoadPolicyFromString(kMinimal, "p.yaml", Data());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->FindItem("claude-mythos-5"), 0);
  EXPECT_EQ((*p)->FindItem("nope"), -1);
  EXPECT_EQ((*p)->NoticesFor(0).size(), 1u);
  EXPECT_EQ((*p)->version().size(), 7u + 64u);
  EXPECT_EQ((*p)->notices()[0].channels, kAllChannels);
}

// Test that the version is a function of meaning, not of spelling.
TEST(PolicyTest, CanonicalFormIgnoresOrderAndComments) {
  std::string reordered = R"yaml(# a comment
remote_access: release
version: 1
notices:
  - destinations: worldwide
    layers: [application, weights]
    items: [mythos-5]
    authorities: ["50 U.S.C. 4817(b)(1)"]
    effective: 2026-06-12T02:00:00+02:00
    id: bis-2026-06-12
items:
  - {id: mythos-5, kind: model, classification: EAR99, served_from: [US], service_level: saas, aliases: [claude-mythos-5]}
)yaml";
  auto a = LoadPolicyFromString(kMinimal, "a.yaml", Data());
  auto b = LoadPolicyFromString(reordered, "b.yaml", Data());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->version(), (*b)->version());
  std::string changed = kMinimal;
  changed.replace(changed.find("worldwide"), 9, "[CN]");
  auto c = LoadPolicyFromString(changed, "c.yaml", Data());
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*a)->version(), (*c)->version());
}

// Test that every error is reported, each with file:line:col, and nothing is returned.
TEST(PolicyTest, ReportsEveryErrorWithPosition) {
  constexpr char kBad[] = R"yaml(version: 1
remote_access: releases
colour: blue
items:
  - id: m
    kind: model
    classification: 9Z999
    served_from: [XX]
    service_level: saas
  - id: m
    kind: robot
    classification: EAR99
    served_from: []
    service_level: saas
notices:
  - id: n1
    effective: yesterday
    authorities: []
    items: [ghost]
    layers: [weight]
    destinations: [group:Z:9, E:1]
)yaml";
  auto p = LoadPolicyFromString(kBad, "bad.yaml", Data());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "bad.yaml:2:16: remote_access: must be release or not_an_export (got 'releases')\n"
            "bad.yaml:3:1: unknown key 'colour'\n"
            "bad.yaml:7:21: classification: must be EAR99, not_subject or an ECCN such as 4E091 (got '9Z999')\n"
            "bad.yaml:8:19: served_from: unknown country 'XX' (ISO 3166-1 alpha-2, upper case, or group:NAME)\n"
            "bad.yaml:10:9: id: duplicate item id 'm'\n"
            "bad.yaml:11:11: kind: must be model or compute (got 'robot')\n"
            "bad.yaml:13:18: served_from: must not be empty\n"
            "bad.yaml:17:16: effective: not an RFC 3339 UTC time such as 2026-06-12T00:00:00Z (got 'yesterday')\n"
            "bad.yaml:18:18: authorities: must not be empty\n"
            "bad.yaml:19:13: items: unknown item 'ghost'\n"
            "bad.yaml:20:14: layers: unknown value 'weight' (allowed: weights, application, outputs, infrastructure)\n"
            "bad.yaml:21:20: destinations: unknown country group 'group:Z:9' (known: group:A:1, group:A:2, group:A:3, group:A:4, group:A:5, group:A:6, group:B, group:D:1, group:D:2, group:D:3, group:D:4, group:D:5, group:E:1, group:E:2)\n"
            "bad.yaml:21:31: destinations: 'E:1' is a country group; write it as group:E:1");
}

TEST(PolicyTest, YamlSyntaxErrorHasPosition) {
  auto p = LoadPolicyFromString("version: 1\nitems: [\n", "s.yaml", Data());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().substr(0, 7), "s.yaml:");
  EXPECT_NE(p.status().message().find("YAML syntax error"), std::string::npos);
}

}  // namespace
}  // namespace eargate::rules
