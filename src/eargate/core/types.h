// The vocabulary of the domain (DOMAIN.md §2): layers, channels, activities, rule sources,
// outcomes, and the knowledge categories that end-use/end-user rules bind on. Each enum has a
// stable wire name (the strings of SPEC.md) and a parser that rejects anything else.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace eargate::core {

enum class Layer : uint8_t { kWeights, kApplication, kOutputs, kInfrastructure };
enum class Channel : uint8_t { kApi, kWeb, kApp, kDesktop, kMobile, kBatch };
enum class Activity : uint8_t {
  kExport,
  kReexport,
  kInCountryTransfer,
  kDeemedExport,
  kDeemedReexport,
};
enum class Source : uint8_t {
  kCountryChart,
  kEmbargo,
  kSanctions,
  kCatchAll,
  kRestrictedParty,
  kNotice,
  kOperator,
};
enum class Outcome : uint8_t { kAllow, kReview, kDeny };  // ordered: worse is larger
enum class ItemKind : uint8_t { kModel, kCompute };
enum class ServiceLevel : uint8_t { kIaas, kPaas, kSaas };
enum class PersonKind : uint8_t { kNatural, kOrganization };
enum class RemoteAccess : uint8_t { kNotAnExport, kRelease };
// What a finding does when unauthorized.
enum class Effect : uint8_t { kLicenseRequired, kProhibited, kReview, kRestricted };

// Knowledge categories: what a person's end-user categories or declared end uses can say.
// Part 744 catch-alls and notices with `knowledge:` bind only when one of theirs is present.
enum class Knowledge : uint8_t {
  kMilitary,              // 15 CFR 744.21 military end use / end user
  kMilitaryIntelligence,  // 15 CFR 744.22
  kGovernment,
  kSupercomputer,         // 15 CFR 744.23(a)(1)
  kAdvancedNodeIc,        // 15 CFR 744.23(a)(2)
  kNuclear,               // 15 CFR 744.2
  kMissile,               // 15 CFR 744.3
  kChemicalBiological,    // 15 CFR 744.4
};
using KnowledgeSet = uint32_t;
constexpr KnowledgeSet Bit(Knowledge k) { return KnowledgeSet{1} << static_cast<int>(k); }

// Restricted-party lists (DOMAIN §4 source 4).
enum class RestrictedList : uint8_t {
  kEntityList,      // Supp. 4 to Part 744
  kDeniedPersons,   // General Prohibition Four, 15 CFR 736.2(b)(4)
  kSdn,             // OFAC SDN, 31 CFR 501
  kUnverified,      // 15 CFR 744.15
  kMeu,             // Supp. 7 to Part 744
  kOther,           // other CSL lists: looked at, not binding by themselves
};

inline constexpr int kLayerCount = 4;
inline constexpr int kChannelCount = 6;
inline constexpr int kActivityCount = 5;
inline constexpr int kSourceCount = 7;
inline constexpr int kKnowledgeCount = 8;
inline constexpr int kRestrictedListCount = 6;

std::string_view Name(Layer v);
std::string_view Name(Channel v);
std::string_view Name(Activity v);
std::string_view Name(Source v);
std::string_view Name(Outcome v);
std::string_view Name(ItemKind v);
std::string_view Name(ServiceLevel v);
std::string_view Name(PersonKind v);
std::string_view Name(RemoteAccess v);
std::string_view Name(Effect v);
std::string_view Name(Knowledge v);
std::string_view Name(RestrictedList v);

std::optional<Layer> ParseLayer(std::string_view s);
std::optional<Channel> ParseChannel(std::string_view s);
std::optional<Activity> ParseActivity(std::string_view s);
std::optional<Source> ParseSource(std::string_view s);
std::optional<Outcome> ParseOutcome(std::string_view s);
std::optional<ItemKind> ParseItemKind(std::string_view s);
std::optional<ServiceLevel> ParseServiceLevel(std::string_view s);
std::optional<PersonKind> ParsePersonKind(std::string_view s);
std::optional<RemoteAccess> ParseRemoteAccess(std::string_view s);
std::optional<Knowledge> ParseKnowledge(std::string_view s);
std::optional<RestrictedList> ParseRestrictedList(std::string_view s);

// "a, b, c" of all wire names, for error messages that list what is allowed.
std::string_view AllowedLayers();
std::string_view AllowedChannels();
std::string_view AllowedActivities();
std::string_view AllowedKnowledge();
std::string_view AllowedRestrictedLists();

}  // namespace eargate::core
