// The facts of one access: who (Person), from where (Location), what (item, layer, channel),
// from which hosting country and when. SPEC.md §2 is the wire form; wire/request_json.h parses it.
//
// A Request is plain data. The engine reads it and never keeps a reference past Decide().
// Reuse one Request object across a batch: clear() keeps string and vector capacity, so a
// warmed-up parse allocates nothing.
#pragma once

#include <string>

#include "absl/container/inlined_vector.h"
#include "eargate/core/country.h"
#include "eargate/core/time.h"
#include "eargate/core/types.h"

namespace eargate::core {

// A citizenship or permanent residency, with the time it was acquired (DOMAIN §2: "most
// recent" decides the deemed-export destination).
struct Nationality {
  Country country;
  Timestamp since = 0;
  bool since_known = false;
};

enum class Tristate : uint8_t { kUnknown, kYes, kNo };

// A restricted-party screening result attached to a person or their organization (fed by
// the screening module, or given inline in the request).
struct ScreeningHit {
  RestrictedList list = RestrictedList::kOther;
  bool confirmed = false;  // false: a potential match awaiting review
  std::string entry_id;    // the source list's own identifier
  std::string name;        // the listed name that matched
  float score = 0;
};

// Where a KYC fact comes from: the vendor or process ("onfido", "manual-review") and when it
// was verified (0: unknown). Kept by the registry; the engine does not read it.
struct FactSource {
  std::string source;
  Timestamp verified_at = 0;
  bool empty() const { return source.empty() && verified_at == 0; }
  bool operator==(const FactSource&) const = default;
};

struct Person {
  std::string id;
  PersonKind kind = PersonKind::kNatural;
  std::string name;
  // For an organization: the country of incorporation is its (only) citizenship.
  absl::InlinedVector<Nationality, 3> citizenships;
  absl::InlinedVector<Nationality, 2> permanent_residencies;
  // As given; kUnknown when null or absent. See UsPersonStatus() for the derived value.
  Tristate us_person = Tristate::kUnknown;
  bool protected_individual = false;  // 8 U.S.C. 1324b(a)(3)
  KnowledgeSet end_user_categories = 0;
  KnowledgeSet end_uses = 0;
  std::string organization;
  absl::InlinedVector<ScreeningHit, 1> screening;

  void clear();
};

enum class LocationSource : uint8_t { kUnknown, kIp, kDeclared, kBoth };

struct Location {
  Country country;        // where the person is; invalid when unknown
  Country region;         // ISO 3166-2 region when known and special to the EAR (UA-43)
  LocationSource source = LocationSource::kUnknown;
  Country declared;       // what the person declared, when given
  Country ip_country;     // what geolocation said, when given
  bool anonymizer = false;  // VPN, Tor exit, hosting range
  std::string ip;

  bool known() const { return country.valid(); }
  bool mismatch() const {
    return declared.valid() && ip_country.valid() && declared.parent() != ip_country.parent();
  }
  void clear();
};

struct Request {
  std::string item;  // an item id or alias of the policy
  Layer layer = Layer::kApplication;
  Channel channel = Channel::kApi;
  Country served_from;  // invalid: the item's first hosting country
  Timestamp at = 0;     // REQUIRES: set by the caller (the engine reads no clock)
  Person person;
  Location location;

  void clear();
};

// Derives US-person status (15 CFR 772.1): given explicitly, or a US citizenship or US
// permanent residency, or a protected individual; a natural person with other citizenships
// and none of these is a foreign person; with no citizenship facts at all it is unknown.
Tristate UsPersonStatus(const Person& p);

// The person's most recent citizenship or permanent residency (15 CFR 734.13(b)): the one
// acquired last. When dates do not settle it (an undated fact could be the newest; two facts
// on the same day), every candidate is returned and the engine treats each as a destination,
// so that a requirement on any of them binds (fail closed). Empty when the person has none.
using Nationalities = absl::InlinedVector<Country, 3>;
Nationalities MostRecentNationalities(const Person& p);

}  // namespace eargate::core
