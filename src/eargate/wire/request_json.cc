#include "eargate/wire/request_json.h"

#include <simdjson.h>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"

namespace eargate::wire {

using core::Country;
using core::StrCat;
namespace dom = simdjson::dom;

namespace {
// By value: ranging over get_object().value_unsafe() would bind a reference into a temporary.
dom::object Obj(dom::element e) {
  dom::object o;
  if (e.get_object().get(o)) return {};
  return o;
}
dom::array Arr(dom::element e) {
  dom::array a;
  if (e.get_array().get(a)) return {};
  return a;
}
}  // namespace

struct RequestParser::Impl {
  const rules::EarData& data;
  const PersonLookup* people;
  dom::parser parser;
  std::string path;  // the field being read, for messages

  absl::Status Bad(std::string_view field, std::string_view msg) {
    return absl::InvalidArgumentError(StrCat(field, ": ", msg));
  }

  static std::string_view TypeName(dom::element_type t) {
    switch (t) {
      case dom::element_type::ARRAY: return "a list";
      case dom::element_type::OBJECT: return "an object";
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE: return "a number";
      case dom::element_type::STRING: return "a string";
      case dom::element_type::BOOL: return "true/false";
      case dom::element_type::NULL_VALUE: return "null";
    }
    return "?";
  }

  absl::Status String(dom::element e, std::string_view field, std::string_view* out) {
    if (!e.is_string())
      return Bad(field, StrCat("must be a string (got ", TypeName(e.type()), ")"));
    *out = e.get_string().value_unsafe();
    return absl::OkStatus();
  }

  absl::Status CountryOf(dom::element e, std::string_view field, Country* out) {
    std::string_view s;
    if (auto st = String(e, field, &s); !st.ok()) return st;
    auto c = Country::Parse(s);
    if (!c || !data.IsKnownCountry(*c))
      return Bad(field, StrCat("unknown country '", s, "' (ISO 3166-1 alpha-2, upper case)"));
    *out = *c;
    return absl::OkStatus();
  }

  absl::Status Bool(dom::element e, std::string_view field, bool* out) {
    if (!e.is_bool()) return Bad(field, StrCat("must be true or false (got ", TypeName(e.type()), ")"));
    *out = e.get_bool().value_unsafe();
    return absl::OkStatus();
  }

  // A {"source": ..., "verified_at": ...} object, or those keys of a larger object.
  absl::Status SourceField(std::string_view k, dom::element v, std::string_view f, core::FactSource* out) {
    std::string_view s;
    if (k == "source") {
      if (auto st = String(v, f, &s); !st.ok()) return st;
      out->source = s;
    } else {
      if (auto st = String(v, f, &s); !st.ok()) return st;
      auto t = core::ParseTime(s, /*allow_date=*/true);
      if (!t) return Bad(f, StrCat("must be an RFC 3339 time or a date (got '", s, "')"));
      out->verified_at = *t;
    }
    return absl::OkStatus();
  }
  absl::Status Source(dom::element e, std::string_view field, core::FactSource* out) {
    if (!e.is_object()) return Bad(field, "must be an object {\"source\": ..., \"verified_at\": ...}");
    for (auto [k, v] : Obj(e)) {
      std::string f = StrCat(field, ".", k);
      if (k != "source" && k != "verified_at") return Bad(f, "unknown field (allowed: source, verified_at)");
      if (auto st = SourceField(k, v, f, out); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  absl::Status Nationalities(dom::element e, std::string_view field,
                             absl::InlinedVector<core::Nationality, 3>* out3,
                             absl::InlinedVector<core::Nationality, 2>* out2,
                             std::vector<core::FactSource>* sources = nullptr) {
    if (!e.is_array()) return Bad(field, StrCat("must be a list (got ", TypeName(e.type()), ")"));
    size_t i = 0;
    bool any_source = false;
    if (sources) sources->clear();
    for (dom::element n : Arr(e)) {
      std::string f = StrCat(field, "[", i++, "]");
      core::Nationality nat;
      core::FactSource source;
      if (n.is_string()) {  // "DE" shorthand: undated
        if (auto st = CountryOf(n, f, &nat.country); !st.ok()) return st;
      } else if (n.is_object()) {
        bool has_country = false;
        for (auto [k, v] : Obj(n)) {
          if (k == "country") {
            if (auto st = CountryOf(v, StrCat(f, ".country"), &nat.country); !st.ok()) return st;
            if (nat.country.is_region()) return Bad(StrCat(f, ".country"), "must be a country, not a region");
            has_country = true;
          } else if (k == "since") {
            if (v.is_null()) continue;
            std::string_view s;
            if (auto st = String(v, StrCat(f, ".since"), &s); !st.ok()) return st;
            auto t = core::ParseTime(s, /*allow_date=*/true);
            if (!t) return Bad(StrCat(f, ".since"), StrCat("not a date such as 1990-01-01 (got '", s, "')"));
            nat.since = *t;
            nat.since_known = true;
          } else if (k == "source" || k == "verified_at") {
            // Provenance of the KYC fact: kept by the registry, not needed to decide.
            if (auto st = SourceField(k, v, StrCat(f, ".", k), &source); !st.ok()) return st;
            any_source = true;
          } else {
            return Bad(StrCat(f, ".", k), "unknown field (allowed: country, since, source, verified_at)");
          }
        }
        if (!has_country) return Bad(StrCat(f, ".country"), "required");
      } else {
        return Bad(f, "must be an object {\"country\": ..., \"since\": ...} or a country code");
      }
      if (out3) out3->push_back(nat);
      else out2->push_back(nat);
      if (sources) sources->push_back(std::move(source));
    }
    if (sources && !any_source) sources->clear();
    return absl::OkStatus();
  }

  absl::Status KnowledgeList(dom::element e, std::string_view field, core::KnowledgeSet* out) {
    if (!e.is_array()) return Bad(field, StrCat("must be a list (got ", TypeName(e.type()), ")"));
    size_t i = 0;
    for (dom::element v : Arr(e)) {
      std::string f = StrCat(field, "[", i++, "]");
      std::string_view s;
      if (auto st = String(v, f, &s); !st.ok()) return st;
      auto k = core::ParseKnowledge(s);
      if (!k) return Bad(f, StrCat("unknown value '", s, "' (allowed: ", core::AllowedKnowledge(), ")"));
      *out |= core::Bit(*k);
    }
    return absl::OkStatus();
  }

  absl::Status Screening(dom::element e, std::string_view field, core::Person* p) {
    if (!e.is_array()) return Bad(field, StrCat("must be a list (got ", TypeName(e.type()), ")"));
    size_t i = 0;
    for (dom::element h : Arr(e)) {
      std::string f = StrCat(field, "[", i++, "]");
      if (!h.is_object()) return Bad(f, "must be an object");
      core::ScreeningHit hit;
      bool has_list = false, has_status = false;
      for (auto [k, v] : Obj(h)) {
        std::string_view s;
        if (k == "list") {
          if (auto st = String(v, StrCat(f, ".list"), &s); !st.ok()) return st;
          auto l = core::ParseRestrictedList(s);
          if (!l) return Bad(StrCat(f, ".list"), StrCat("unknown list '", s, "' (allowed: ", core::AllowedRestrictedLists(), ")"));
          hit.list = *l;
          has_list = true;
        } else if (k == "status") {
          if (auto st = String(v, StrCat(f, ".status"), &s); !st.ok()) return st;
          if (s == "confirmed") hit.confirmed = true;
          else if (s == "potential") hit.confirmed = false;
          else return Bad(StrCat(f, ".status"), StrCat("must be confirmed or potential (got '", s, "')"));
          has_status = true;
        } else if (k == "entry_id" || k == "entity_id") {
          if (auto st = String(v, StrCat(f, ".", k), &s); !st.ok()) return st;
          hit.entry_id = s;
        } else if (k == "name") {
          if (auto st = String(v, StrCat(f, ".name"), &s); !st.ok()) return st;
          hit.name = s;
        } else if (k == "score") {
          if (!v.is_number()) return Bad(StrCat(f, ".score"), "must be a number in [0, 1]");
          double d = v.get_double().value_unsafe();
          if (d < 0 || d > 1) return Bad(StrCat(f, ".score"), "must be a number in [0, 1]");
          hit.score = static_cast<float>(d);
        } else {
          return Bad(StrCat(f, ".", k), "unknown field (allowed: list, entry_id, name, status, score)");
        }
      }
      if (!has_list) return Bad(StrCat(f, ".list"), "required");
      if (!has_status) return Bad(StrCat(f, ".status"), "required (confirmed or potential)");
      p->screening.push_back(std::move(hit));
    }
    return absl::OkStatus();
  }

  // Reads the person object. `extras` non-null: the people-file form (extra fields allowed).
  absl::Status Person(dom::element e, std::string_view field, core::Person* p, PersonExtras* extras,
                      bool* id_only) {
    if (!e.is_object()) return Bad(field, StrCat("must be an object (got ", TypeName(e.type()), ")"));
    p->clear();
    size_t fields = 0;
    bool has_id = false;
    for (auto [k, v] : Obj(e)) {
      ++fields;
      std::string f = StrCat(field, field.empty() ? "" : ".", k);
      std::string_view s;
      if (k == "id") {
        if (auto st = String(v, f, &s); !st.ok()) return st;
        if (s.empty()) return Bad(f, "must not be empty");
        p->id = s;
        has_id = true;
      } else if (k == "kind") {
        if (auto st = String(v, f, &s); !st.ok()) return st;
        auto kind = core::ParsePersonKind(s);
        if (!kind) return Bad(f, StrCat("must be natural or organization (got '", s, "')"));
        p->kind = *kind;
      } else if (k == "name") {
        if (v.is_null()) continue;
        if (auto st = String(v, f, &s); !st.ok()) return st;
        p->name = s;
      } else if (k == "citizenships") {
        if (auto st = Nationalities(v, f, &p->citizenships, nullptr, extras ? &extras->citizenship_sources : nullptr); !st.ok())
          return st;
      } else if (k == "permanent_residencies") {
        if (auto st = Nationalities(v, f, nullptr, &p->permanent_residencies, extras ? &extras->residency_sources : nullptr);
            !st.ok())
          return st;
      } else if (k == "incorporated_in") {
        core::Nationality n;
        if (auto st = CountryOf(v, f, &n.country); !st.ok()) return st;
        p->citizenships.push_back(n);
      } else if (k == "us_person") {
        if (v.is_null()) p->us_person = core::Tristate::kUnknown;
        else {
          bool b;
          if (auto st = Bool(v, f, &b); !st.ok()) return Bad(f, "must be true, false or null");
          p->us_person = b ? core::Tristate::kYes : core::Tristate::kNo;
        }
      } else if (k == "protected_individual") {
        if (auto st = Bool(v, f, &p->protected_individual); !st.ok()) return st;
      } else if (k == "end_user_categories") {
        if (auto st = KnowledgeList(v, f, &p->end_user_categories); !st.ok()) return st;
      } else if (k == "end_uses") {
        if (auto st = KnowledgeList(v, f, &p->end_uses); !st.ok()) return st;
      } else if (k == "organization") {
        if (v.is_null()) continue;
        if (auto st = String(v, f, &s); !st.ok()) return st;
        p->organization = s;
      } else if (k == "screening") {
        if (auto st = Screening(v, f, p); !st.ok()) return st;
      } else if (extras && k == "api_key_sha256") {
        if (auto st = KeyHash(v, f, extras); !st.ok()) return st;
      } else if (extras && k == "api_keys_sha256") {
        if (!v.is_array()) return Bad(f, "must be a list of SHA-256 hex strings");
        size_t i = 0;
        for (dom::element h : Arr(v))
          if (auto st = KeyHash(h, StrCat(f, "[", i++, "]"), extras); !st.ok()) return st;
      } else if (extras && k == "traffic") {
        if (!v.is_number()) return Bad(f, "must be a number >= 0 (relative request volume)");
        double t = v.get_double().value_unsafe();
        if (!(t >= 0)) return Bad(f, "must be a number >= 0 (relative request volume)");
        extras->traffic = t;
      } else if (extras && k == "location") {
        if (auto st = Location(v, f, &extras->location); !st.ok()) return st;
        extras->has_location = true;
      } else if (extras && k == "uses") {
        if (auto st = Uses(v, f, &extras->uses); !st.ok()) return st;
      } else if (extras && k == "kyc") {
        if (auto st = Source(v, f, &extras->kyc); !st.ok()) return st;
      } else if (extras && k == "us_person_source") {
        if (auto st = Source(v, f, &extras->us_person_source); !st.ok()) return st;
      } else if (extras && k == "end_user_categories_source") {
        if (auto st = Source(v, f, &extras->categories_source); !st.ok()) return st;
      } else if (extras && k == "end_uses_source") {
        if (auto st = Source(v, f, &extras->end_uses_source); !st.ok()) return st;
      } else {
        return Bad(f, "unknown field");
      }
    }
    if (!has_id && extras) return Bad(StrCat(field, field.empty() ? "" : ".", "id"), "required");
    if (extras && !extras->citizenship_sources.empty())  // incorporated_in adds an unsourced one
      extras->citizenship_sources.resize(p->citizenships.size());
    *id_only = has_id && fields == 1;
    return absl::OkStatus();
  }

  absl::Status Uses(dom::element v, std::string_view field, std::vector<Use>* out) {
    if (!v.is_array()) return Bad(field, "must be a list of {\"item\", \"channel\", \"layer\", \"traffic\"}");
    size_t i = 0;
    for (dom::element u : Arr(v)) {
      std::string f = StrCat(field, "[", i++, "]");
      if (!u.is_object()) return Bad(f, StrCat("must be an object (got ", TypeName(u.type()), ")"));
      Use use;
      bool has_item = false;
      for (auto [k, e] : Obj(u)) {
        std::string fk = StrCat(f, ".", k);
        std::string_view s;
        if (k == "item") {
          if (auto st = String(e, fk, &s); !st.ok()) return st;
          if (s.empty()) return Bad(fk, "must not be empty");
          use.item = s;
          has_item = true;
        } else if (k == "layer") {
          if (auto st = String(e, fk, &s); !st.ok()) return st;
          auto l = core::ParseLayer(s);
          if (!l) return Bad(fk, StrCat("must be one of ", core::AllowedLayers(), " (got '", s, "')"));
          use.layer = *l;
        } else if (k == "channel") {
          if (auto st = String(e, fk, &s); !st.ok()) return st;
          auto c = core::ParseChannel(s);
          if (!c) return Bad(fk, StrCat("must be one of ", core::AllowedChannels(), " (got '", s, "')"));
          use.channel = *c;
        } else if (k == "traffic") {
          double t = e.is_number() ? e.get_double().value_unsafe() : -1;
          if (!(t >= 0)) return Bad(fk, "must be a number >= 0 (relative request volume)");
          use.traffic = t;
        } else {
          return Bad(fk, "unknown field (allowed: item, channel, layer, traffic)");
        }
      }
      if (!has_item) return Bad(StrCat(f, ".item"), "required");
      out->push_back(std::move(use));
    }
    return absl::OkStatus();
  }

  absl::Status KeyHash(dom::element v, std::string_view f, PersonExtras* extras) {
    std::string_view s;
    if (auto st = String(v, f, &s); !st.ok()) return st;
    bool hex = s.size() == 64;
    for (char c : s) hex &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return Bad(f, "must be 64 lower-case hex characters (the SHA-256 of the API key)");
    extras->api_keys_sha256.emplace_back(s);
    return absl::OkStatus();
  }

  absl::Status Location(dom::element e, std::string_view field, core::Location* l) {
    if (!e.is_object()) return Bad(field, StrCat("must be an object (got ", TypeName(e.type()), ")"));
    l->clear();
    bool has_source = false;
    for (auto [k, v] : Obj(e)) {
      std::string f = StrCat(field, ".", k);
      std::string_view s;
      if (k == "country") {
        if (v.is_null()) continue;
        if (auto st = CountryOf(v, f, &l->country); !st.ok()) return st;
        if (l->country.is_region()) {  // "UA-43" given as the country: keep both
          l->region = l->country;
          l->country = l->country.parent();
        }
      } else if (k == "region") {
        if (v.is_null()) continue;
        if (auto st = String(v, f, &s); !st.ok()) return st;
        // Any ISO 3166-2 code is accepted; only the EAR's special regions change a decision.
        auto c = Country::Parse(s);
        if (c && c->is_region()) l->region = *c;
        else if (s.size() < 4 || s[2] != '-') return Bad(f, StrCat("not an ISO 3166-2 code such as UA-43 (got '", s, "')"));
      } else if (k == "source") {
        if (auto st = String(v, f, &s); !st.ok()) return st;
        if (s == "ip") l->source = core::LocationSource::kIp;
        else if (s == "declared") l->source = core::LocationSource::kDeclared;
        else if (s == "both") l->source = core::LocationSource::kBoth;
        else return Bad(f, StrCat("must be ip, declared or both (got '", s, "')"));
        has_source = true;
      } else if (k == "ip") {
        if (v.is_null()) continue;
        if (auto st = String(v, f, &s); !st.ok()) return st;
        l->ip = s;
      } else if (k == "declared_country") {
        if (v.is_null()) continue;
        if (auto st = CountryOf(v, f, &l->declared); !st.ok()) return st;
      } else if (k == "ip_country") {
        if (v.is_null()) continue;
        if (auto st = CountryOf(v, f, &l->ip_country); !st.ok()) return st;
      } else if (k == "anonymizer") {
        if (auto st = Bool(v, f, &l->anonymizer); !st.ok()) return st;
      } else {
        return Bad(f, "unknown field (allowed: country, region, source, ip, declared_country, ip_country, anonymizer)");
      }
    }
    if (!has_source && l->country.valid()) l->source = core::LocationSource::kDeclared;
    if (l->region.valid() && l->country.valid() && l->region.parent() != l->country)
      return Bad(StrCat(field, ".region"), StrCat(l->region.code(), " is not in ", l->country.code()));
    return absl::OkStatus();
  }

  absl::StatusOr<dom::element> ParseDoc(std::string_view json, std::string_view what = "request") {
    auto doc = parser.parse(json.data(), json.size(), /*realloc_if_needed=*/true);
    if (doc.error()) {
      switch (doc.error()) {
        case simdjson::UTF8_ERROR:
          return absl::InvalidArgumentError(StrCat(what, ": invalid UTF-8"));
        case simdjson::EMPTY:
          return absl::InvalidArgumentError(StrCat(what, ": empty input, expected a JSON object"));
        case simdjson::CAPACITY:
          return absl::InvalidArgumentError(StrCat(what, ": document too large"));
        default:
          return absl::InvalidArgumentError(StrCat(what, ": malformed JSON (", simdjson::error_message(doc.error()), ")"));
      }
    }
    dom::element root = doc.value_unsafe();
    if (!root.is_object()) return absl::InvalidArgumentError(StrCat(what, ": must be a JSON object"));
    return root;
  }
};

RequestParser::RequestParser(const rules::EarData& data, const PersonLookup* people)
    : impl_(new Impl{data, people, dom::parser(), {}}) {}
RequestParser::~RequestParser() = default;

absl::Status RequestParser::Parse(std::string_view json, core::Timestamp now, core::Request* out) {
  auto root = impl_->ParseDoc(json);
  if (!root.ok()) return root.status();
  out->clear();
  bool has_item = false, has_person = false, has_at = false, id_only = false;
  for (auto [k, v] : Obj(*root)) {
    std::string_view s;
    if (k == "item") {
      if (auto st = impl_->String(v, "item", &s); !st.ok()) return st;
      if (s.empty()) return impl_->Bad("item", "must not be empty");
      out->item = s;
      has_item = true;
    } else if (k == "layer") {
      if (auto st = impl_->String(v, "layer", &s); !st.ok()) return st;
      auto l = core::ParseLayer(s);
      if (!l) return impl_->Bad("layer", StrCat("must be one of ", core::AllowedLayers(), " (got '", s, "')"));
      out->layer = *l;
    } else if (k == "channel") {
      if (auto st = impl_->String(v, "channel", &s); !st.ok()) return st;
      auto c = core::ParseChannel(s);
      if (!c) return impl_->Bad("channel", StrCat("must be one of ", core::AllowedChannels(), " (got '", s, "')"));
      out->channel = *c;
    } else if (k == "served_from") {
      if (v.is_null()) continue;
      if (auto st = impl_->CountryOf(v, "served_from", &out->served_from); !st.ok()) return st;
    } else if (k == "at") {
      if (v.is_null()) continue;
      if (auto st = impl_->String(v, "at", &s); !st.ok()) return st;
      auto t = core::ParseTime(s);
      if (!t) return impl_->Bad("at", StrCat("not an RFC 3339 time such as 2026-06-13T12:00:00Z (got '", s, "')"));
      out->at = *t;
      has_at = true;
    } else if (k == "person") {
      if (auto st = impl_->Person(v, "person", &out->person, nullptr, &id_only); !st.ok()) return st;
      has_person = true;
    } else if (k == "location") {
      if (v.is_null()) continue;
      if (auto st = impl_->Location(v, "location", &out->location); !st.ok()) return st;
    } else {
      return impl_->Bad(k, "unknown field (allowed: item, layer, channel, served_from, at, person, location)");
    }
  }
  if (!has_item) return impl_->Bad("item", "required");
  if (!has_person) return impl_->Bad("person", "required");
  if (!has_at) out->at = now;
  if (id_only) {
    if (!impl_->people)
      return impl_->Bad("person", StrCat("only an id was given ('", out->person.id,
                                         "') and no people registry is configured (--people)"));
    std::string id = out->person.id;
    if (!impl_->people->Find(id, &out->person))
      return impl_->Bad("person.id", StrCat("no registered person '", id, "'"));
  }
  return absl::OkStatus();
}

absl::Status RequestParser::ParsePerson(std::string_view json, core::Person* out, PersonExtras* extras) {
  auto root = impl_->ParseDoc(json, "person");
  if (!root.ok()) return root.status();
  PersonExtras local;
  bool id_only = false;
  return impl_->Person(*root, "", out, extras ? extras : &local, &id_only);
}

}  // namespace eargate::wire
