#include "eargate/core/types.h"

#include <array>

namespace eargate::core {
namespace {

template <typename E, size_t N>
std::optional<E> Find(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

constexpr std::array<std::string_view, 4> kLayers = {"weights", "application", "outputs",
                                                     "infrastructure"};
constexpr std::array<std::string_view, 6> kChannels = {"api", "web", "app", "desktop", "mobile",
                                                       "batch"};
constexpr std::array<std::string_view, 5> kActivities = {
    "export", "reexport", "in_country_transfer", "deemed_export", "deemed_reexport"};
constexpr std::array<std::string_view, 7> kSources = {
    "country_chart", "embargo", "sanctions", "catch_all", "restricted_party", "notice", "operator"};
constexpr std::array<std::string_view, 3> kOutcomes = {"allow", "review", "deny"};
constexpr std::array<std::string_view, 2> kItemKinds = {"model", "compute"};
constexpr std::array<std::string_view, 3> kServiceLevels = {"iaas", "paas", "saas"};
constexpr std::array<std::string_view, 2> kPersonKinds = {"natural", "organization"};
constexpr std::array<std::string_view, 2> kRemoteAccess = {"not_an_export", "release"};
constexpr std::array<std::string_view, 4> kEffects = {"license_required", "prohibited", "review",
                                                     "restricted"};
constexpr std::array<std::string_view, 8> kKnowledge = {
    "military",      "military_intelligence", "government", "supercomputer",
    "advanced_node_ic", "nuclear",            "missile",    "chemical_biological"};
constexpr std::array<std::string_view, 6> kLists = {"entity_list", "denied_persons", "sdn",
                                                    "unverified",  "meu",            "other"};

}  // namespace

std::string_view Name(Layer v) { return kLayers[static_cast<int>(v)]; }
std::string_view Name(Channel v) { return kChannels[static_cast<int>(v)]; }
std::string_view Name(Activity v) { return kActivities[static_cast<int>(v)]; }
std::string_view Name(Source v) { return kSources[static_cast<int>(v)]; }
std::string_view Name(Outcome v) { return kOutcomes[static_cast<int>(v)]; }
std::string_view Name(ItemKind v) { return kItemKinds[static_cast<int>(v)]; }
std::string_view Name(ServiceLevel v) { return kServiceLevels[static_cast<int>(v)]; }
std::string_view Name(PersonKind v) { return kPersonKinds[static_cast<int>(v)]; }
std::string_view Name(RemoteAccess v) { return kRemoteAccess[static_cast<int>(v)]; }
std::string_view Name(Effect v) { return kEffects[static_cast<int>(v)]; }
std::string_view Name(Knowledge v) { return kKnowledge[static_cast<int>(v)]; }
std::string_view Name(RestrictedList v) { return kLists[static_cast<int>(v)]; }

std::optional<Layer> ParseLayer(std::string_view s) { return Find<Layer>(kLayers, s); }
std::optional<Channel> ParseChannel(std::string_view s) { return Find<Channel>(kChannels, s); }
std::optional<Activity> ParseActivity(std::string_view s) { return Find<Activity>(kActivities, s); }
std::optional<Source> ParseSource(std::string_view s) { return Find<Source>(kSources, s); }
std::optional<Outcome> ParseOutcome(std::string_view s) { return Find<Outcome>(kOutcomes, s); }
std::optional<ItemKind> ParseItemKind(std::string_view s) { return Find<ItemKind>(kItemKinds, s); }
std::optional<ServiceLevel> ParseServiceLevel(std::string_view s) {
  return Find<ServiceLevel>(kServiceLevels, s);
}
std::optional<PersonKind> ParsePersonKind(std::string_view s) {
  return Find<PersonKind>(kPersonKinds, s);
}
std::optional<RemoteAccess> ParseRemoteAccess(std::string_view s) {
  return Find<RemoteAccess>(kRemoteAccess, s);
}
std::optional<Knowledge> ParseKnowledge(std::string_view s) {
  return Find<Knowledge>(kKnowledge, s);
}
std::optional<RestrictedList> ParseRestrictedList(std::string_view s) {
  return Find<RestrictedList>(kLists, s);
}

std::string_view AllowedLayers() { return "weights, application, outputs, infrastructure"; }
std::string_view AllowedChannels() { return "api, web, app, desktop, mobile, batch"; }
std::string_view AllowedActivities() {
  return "export, reexport, in_country_transfer, deemed_export, deemed_reexport";
}
std::string_view AllowedKnowledge() {
  return "military, military_intelligence, government, supercomputer, advanced_node_ic, nuclear, "
         "missile, chemical_biological";
}
std::string_view AllowedRestrictedLists() {
  return "entity_list, denied_persons, sdn, unverified, meu, other";
}

}  // namespace eargate::core
