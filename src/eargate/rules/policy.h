// The policy file (SPEC.md §1) compiled into an immutable, indexed snapshot.
//
// LoadPolicy() reads YAML (with include:), validates everything and reports every error as
// "file:line:col: message" in one InvalidArgument status (one line per error). It never
// returns half a policy. The snapshot's version is "sha256:<hex>" of its canonical form plus
// the reference data fingerprint.
//
// PolicySnapshot is immutable; share it as shared_ptr<const PolicySnapshot> and swap it
// atomically to reload. Thread-safe for concurrent reads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "eargate/core/country.h"
#include "eargate/core/time.h"
#include "eargate/core/types.h"
#include "eargate/rules/ear_data.h"

namespace eargate::rules {

using LayerMask = uint8_t;     // bit per core::Layer
using ChannelMask = uint8_t;   // bit per core::Channel
using ActivityMask = uint8_t;  // bit per core::Activity
using LevelMask = uint8_t;     // bit per core::ServiceLevel
inline constexpr LayerMask kAllLayers = 0x0F;
inline constexpr ChannelMask kAllChannels = 0x3F;
inline constexpr ActivityMask kAllActivities = 0x1F;
template <typename E>
constexpr uint32_t MaskOf(E e) {
  return uint32_t{1} << static_cast<int>(e);
}

// Where a rule applies: worldwide, or a set of countries (groups expanded at load).
struct Destinations {
  bool worldwide = false;
  core::CountrySet set;
  std::vector<std::string> written;  // as written, for display ("group:E:1", "CN")
  bool Contains(core::Country c) const { return worldwide || set.Contains(c); }
};

enum class Persons : uint8_t { kAll, kForeignPersons };
enum class ProgramPersons : uint8_t { kAny, kNationalsOfDestinations };

struct Item {
  std::string id;
  std::string name;
  core::ItemKind kind = core::ItemKind::kModel;
  std::string classification;  // "EAR99", "4E091", "5D002.c.1", or "not_subject"
  bool subject_to_ear = true;
  const Eccn* eccn = nullptr;  // nullptr for EAR99 / not subject
  std::vector<core::Country> served_from;
  core::ServiceLevel service_level = core::ServiceLevel::kSaas;
  std::vector<std::string> aliases;
  bool part744_supp2 = false;  // listed in Supp. 2 to Part 744 (744.21(a)(1) scope)
};

struct Notice {
  std::string id;
  std::string title;
  core::Timestamp effective = 0;
  std::optional<core::Timestamp> expires;
  std::vector<std::string> authorities;
  std::vector<int> items;
  LayerMask layers = kAllLayers;
  ChannelMask channels = kAllChannels;
  Destinations destinations;
  Persons persons = Persons::kAll;
  ActivityMask activities = kAllActivities;
  core::KnowledgeSet knowledge = 0;  // 0: binds without knowledge
  bool exceptions_allowed = false;   // any program may authorize
  std::vector<int> exception_programs;  // only these programs may (when listed)
  bool InForce(core::Timestamp t) const { return t >= effective && (!expires || t < *expires); }
};

struct License {
  std::string id;
  std::string issuer = "bis";  // bis | ofac (an OFAC license authorizes sanctions findings)
  std::vector<int> items;
  LayerMask layers = kAllLayers;
  ActivityMask activities = kAllActivities;
  Destinations destinations;
  std::vector<std::string> end_users;  // empty = any
  core::Timestamp valid_from = 0;
  std::optional<core::Timestamp> valid_until;
  std::vector<std::string> conditions;
  bool ValidAt(core::Timestamp t) const { return t >= valid_from && (!valid_until || t < *valid_until); }
};

struct Program {
  std::string id;
  std::string name;
  std::vector<std::string> authorities;
  std::vector<int> items;
  LayerMask layers = kAllLayers;
  ActivityMask activities = kAllActivities;
  Destinations destinations;
  ProgramPersons persons = ProgramPersons::kAny;
  core::Timestamp valid_from = 0;
  std::optional<core::Timestamp> valid_until;
  bool ValidAt(core::Timestamp t) const { return t >= valid_from && (!valid_until || t < *valid_until); }
};

struct OperatorRule {
  std::string id;
  std::string text;
  std::vector<int> items;  // empty = all
  LayerMask layers = kAllLayers;
  ChannelMask channels = kAllChannels;
  Destinations destinations;  // matched against the person's location
  core::CountrySet nationalities;  // matched against any citizenship (optional)
  Persons persons = Persons::kAll;
  core::Timestamp effective = 0;
  std::optional<core::Timestamp> expires;
  bool InForce(core::Timestamp t) const { return t >= effective && (!expires || t < *expires); }
};

struct UncertainSettings {
  core::Outcome us_person_unknown = core::Outcome::kDeny;
  core::Outcome location_unknown = core::Outcome::kDeny;
  core::Outcome anonymizer = core::Outcome::kReview;
  core::Outcome location_mismatch = core::Outcome::kReview;
  core::Outcome screening_potential_match = core::Outcome::kReview;
  core::Outcome nationality_unknown = core::Outcome::kDeny;
  core::Outcome destination_unmapped = core::Outcome::kDeny;
};

class PolicySnapshot {
 public:
  const std::string& version() const { return version_; }  // "sha256:<hex>"
  const std::string& path() const { return path_; }
  const std::vector<std::string>& files() const { return files_; }
  // Canonical JSON of the policy (sorted, defaults filled, includes resolved).
  const std::string& canonical() const { return canonical_; }

  core::RemoteAccess remote_access() const { return remote_access_; }
  LevelMask remote_access_scope() const { return remote_access_scope_; }
  const UncertainSettings& uncertain() const { return uncertain_; }

  const std::vector<Item>& items() const { return items_; }
  const std::vector<Notice>& notices() const { return notices_; }
  const std::vector<License>& licenses() const { return licenses_; }
  const std::vector<Program>& programs() const { return programs_; }
  const std::vector<OperatorRule>& operator_rules() const { return operator_rules_; }
  const EarData& data() const { return *data_; }
  std::shared_ptr<const EarData> data_ptr() const { return data_; }

  // Item index by id or alias; -1 when none.
  int FindItem(std::string_view id_or_alias) const;
  // Indices of the notices / licenses / programs naming item i.
  const std::vector<uint16_t>& NoticesFor(int item) const { return notices_by_item_[item]; }
  const std::vector<uint16_t>& LicensesFor(int item) const { return licenses_by_item_[item]; }
  const std::vector<uint16_t>& ProgramsFor(int item) const { return programs_by_item_[item]; }

 private:
  friend class PolicyCompiler;
  std::string version_;
  std::string path_;
  std::vector<std::string> files_;
  std::string canonical_;
  core::RemoteAccess remote_access_ = core::RemoteAccess::kRelease;
  LevelMask remote_access_scope_ = 0x07;
  UncertainSettings uncertain_;
  std::vector<Item> items_;
  std::vector<Notice> notices_;
  std::vector<License> licenses_;
  std::vector<Program> programs_;
  std::vector<OperatorRule> operator_rules_;
  absl::flat_hash_map<std::string, int> item_by_name_;
  std::vector<std::vector<uint16_t>> notices_by_item_;
  std::vector<std::vector<uint16_t>> licenses_by_item_;
  std::vector<std::vector<uint16_t>> programs_by_item_;
  std::shared_ptr<const EarData> data_;
};

using PolicyPtr = std::shared_ptr<const PolicySnapshot>;

// Loads, validates and compiles a policy file. Errors: InvalidArgument, message is every
// error as "file:line:col: message", one per line, in file order.
absl::StatusOr<PolicyPtr> LoadPolicy(const std::string& path, std::shared_ptr<const EarData> data);
// The same from text (path used in messages and for resolving include:).
absl::StatusOr<PolicyPtr> LoadPolicyFromString(std::string_view yaml, const std::string& path,
                                               std::shared_ptr<const EarData> data);

}  // namespace eargate::rules
