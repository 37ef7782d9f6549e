#include "eargate/core/request.h"

namespace eargate::core {

void Person::clear() {
  id.clear();
  kind = PersonKind::kNatural;
  name.clear();
  citizenships.clear();
  permanent_residencies.clear();
  us_person = Tristate::kUnknown;
  protected_individual = false;
  end_user_categories = 0;
  end_uses = 0;
  organization.clear();
  screening.clear();
}

void Location::clear() {
  country = Country();
  region = Country();
  source = LocationSource::kUnknown;
  declared = Country();
  ip_country = Country();
  anonymizer = false;
  ip.clear();
}

void Request::clear() {
  item.clear();
  layer = Layer::kApplication;
  channel = Channel::kApi;
  served_from = Country();
  at = 0;
  person.clear();
  location.clear();
}

Tristate UsPersonStatus(const Person& p) {
  if (p.us_person != Tristate::kUnknown) return p.us_person;
  if (p.protected_individual) return Tristate::kYes;
  for (const auto& n : p.citizenships)
    if (n.country == kUnitedStates) return Tristate::kYes;
  if (p.kind == PersonKind::kNatural) {
    for (const auto& n : p.permanent_residencies)
      if (n.country == kUnitedStates) return Tristate::kYes;
  }
  if (!p.citizenships.empty()) return Tristate::kNo;
  return Tristate::kUnknown;
}

Nationalities MostRecentNationalities(const Person& p) {
  bool any_known = false;
  Timestamp newest = 0;
  auto scan = [&](const auto& list) {
    for (const auto& n : list) {
      if (n.country.valid() && n.since_known && (!any_known || n.since > newest)) {
        newest = n.since;
        any_known = true;
      }
    }
  };
  scan(p.citizenships);
  scan(p.permanent_residencies);
  Nationalities out;
  auto add = [&](const auto& list) {
    for (const auto& n : list) {
      if (!n.country.valid()) continue;
      if (n.since_known && n.since != newest) continue;
      bool seen = false;
      for (Country c : out) seen |= (c == n.country);
      if (!seen) out.push_back(n.country);
    }
  };
  add(p.citizenships);
  add(p.permanent_residencies);
  return out;
}

}  // namespace eargate::core
