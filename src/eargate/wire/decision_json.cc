#include "eargate/wire/decision_json.h"

#include <chrono>
#include <random>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"

namespace eargate::wire {

using core::Source;
using core::StrAppend;
using core::StrCat;
using decide::Decision;
using decide::Finding;


namespace {

std::string_view Verb(core::Activity a) {
  switch (a) {
    case core::Activity::kExport: return "exported to";
    case core::Activity::kReexport: return "reexported to";
    case core::Activity::kInCountryTransfer: return "transferred within";
    case core::Activity::kDeemedExport: return "deemed exported to";
    case core::Activity::kDeemedReexport: return "deemed reexported to";
  }
  return "";
}

std::string_view ListName(core::RestrictedList l) {
  switch (l) {
    case core::RestrictedList::kEntityList: return "the Entity List";
    case core::RestrictedList::kDeniedPersons: return "the Denied Persons List";
    case core::RestrictedList::kSdn: return "OFAC's SDN list";
    case core::RestrictedList::kUnverified: return "the Unverified List";
    case core::RestrictedList::kMeu: return "the Military End-User List";
    case core::RestrictedList::kOther: return "a screening list";
  }
  return "";
}

std::string_view ListCite(core::RestrictedList l) {
  switch (l) {
    case core::RestrictedList::kEntityList: return "15 CFR 744.11; Supp. 4 to Part 744";
    case core::RestrictedList::kDeniedPersons: return "15 CFR 736.2(b)(4)";
    case core::RestrictedList::kSdn: return "31 CFR 501 (SDN)";
    case core::RestrictedList::kUnverified: return "15 CFR 744.15";
    case core::RestrictedList::kMeu: return "15 CFR 744.21; Supp. 7 to Part 744";
    // No citation we can vouch for: such a hit is held for review, not enforced by itself.
    case core::RestrictedList::kOther: return "no binding citation: a screening list hit held for review (see the list's own source)";
  }
  return "";
}

std::string_view EffectText(core::Effect e) {
  switch (e) {
    case core::Effect::kLicenseRequired: return "license required";
    case core::Effect::kProhibited: return "prohibited";
    case core::Effect::kReview: return "review required";
    case core::Effect::kRestricted: return "restricted by operator policy (not law)";
  }
  return "";
}

// Where a finding lands, in words: "exported to DE" / "exported to HK (decided as CN)".
std::string Where(const rules::PolicySnapshot& p, const Decision& d, const Finding& f) {
  if (f.activity < 0) return f.destination.valid() ? StrCat("in ", f.destination.code()) : "";
  const auto& a = d.activities[f.activity];
  std::string s = StrCat(Verb(a.type), " ", a.destination.code());
  core::Country ear = p.data().EarDestination(a.destination);
  if (ear.valid() && ear != a.destination) StrAppend(&s, " (decided as ", ear.code(), ")");
  return s;
}

std::string RuleId(const rules::PolicySnapshot& p, const core::Request& r, const Finding& f) {
  const auto& data = p.data();
  switch (f.source) {
    case Source::kCountryChart: return StrCat("738-supp1:", data.chart()[f.rule].country.code());
    case Source::kEmbargo: return data.embargoes()[f.rule].section;
    case Source::kSanctions: return StrCat("ofac:", data.sanctions()[f.rule].jurisdiction.code());
    case Source::kCatchAll: return data.catch_alls()[f.rule].section;
    case Source::kRestrictedParty: {
      const auto& h = r.person.screening[f.rule];
      return StrCat(core::Name(h.list), ":", h.entry_id);
    }
    case Source::kNotice: return p.notices()[f.rule].id;
    case Source::kOperator: return p.operator_rules()[f.rule].id;
  }
  return "";
}

void Cites(const rules::PolicySnapshot& p, const core::Request& r, const Finding& f,
           std::vector<std::string>* out) {
  const auto& data = p.data();
  switch (f.source) {
    case Source::kCountryChart:
      out->push_back("15 CFR 738.4");
      out->push_back("15 CFR 736.2(b)(1)");
      break;
    case Source::kEmbargo: out->push_back(StrCat("15 CFR ", data.embargoes()[f.rule].section)); break;
    case Source::kSanctions: out->push_back(data.sanctions()[f.rule].authority); break;
    case Source::kCatchAll: out->push_back(StrCat("15 CFR ", data.catch_alls()[f.rule].section)); break;
    case Source::kRestrictedParty: out->emplace_back(ListCite(r.person.screening[f.rule].list)); break;
    case Source::kNotice:
      for (const auto& a : p.notices()[f.rule].authorities) out->push_back(a);
      break;
    case Source::kOperator: out->push_back("operator policy (not law)"); break;
  }
}

std::string FactText(const rules::PolicySnapshot& p, const core::Request& r, const decide::Uncertainty& u) {
  using decide::Doubt;
  using decide::Fact;
  switch (u.fact) {
    case Fact::kItem: return StrCat("unknown item '", r.item, "'");
    case Fact::kUsPerson: return "US-person status unverified";
    case Fact::kNationality: return "citizenship or permanent residency unknown";
    case Fact::kServedFrom: return "hosting country unknown";
    case Fact::kScreening: return "potential restricted-party match awaits review";
    case Fact::kDestination: {
      const core::Location& l = r.location;
      return StrCat("location ", l.known() ? l.country.code() : "?",
                    " has no EAR destination mapping (data/ear/territories.csv)");
    }
    case Fact::kLocation:
      switch (u.doubt) {
        case Doubt::kAnonymizer: return "location hidden behind an anonymizer (VPN, Tor or hosting range)";
        case Doubt::kMismatch:
          return StrCat("declared country ", r.location.declared.code(), " disagrees with IP country ",
                        r.location.ip_country.code());
        default: return "location unknown";
      }
  }
  return "";
}

}  // namespace

std::string FindingText(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d,
                        const Finding& f) {
  const auto& data = p.data();
  const std::string& item = p.items()[d.item].id;
  std::string where = Where(p, d, f);
  std::string body;
  switch (f.source) {
    case Source::kCountryChart: {
      std::vector<std::string_view> cols;
      for (int c = 0; c < rules::kChartColumnCount; ++c)
        if (f.detail & (1u << c)) cols.push_back(rules::Name(static_cast<rules::ChartColumn>(c)));
      const auto& row = data.chart()[f.rule];
      body = StrCat("ECCN ", p.items()[d.item].classification, " of ", item, " is controlled for ",
                    core::StrJoin(cols, ", "), " and the Commerce Country Chart marks it for ",
                    row.ear_name, "; ", item, " ", core::Name(r.layer), " access ", where);
      break;
    }
    case Source::kEmbargo: {
      const auto& e = data.embargoes()[f.rule];
      body = StrCat("15 CFR ", e.section, " covers ", item, " (", p.items()[d.item].classification,
                    ") ", core::Name(r.layer), " access ", where);
      break;
    }
    case Source::kSanctions: {
      const auto& s = data.sanctions()[f.rule];
      body = StrCat(s.program, " (", s.authority, ") prohibit services to persons ", where);
      break;
    }
    case Source::kCatchAll: {
      const auto& c = data.catch_alls()[f.rule];
      body = StrCat("15 CFR ", c.section, " ", core::Name(c.knowledge),
                    " end use/end user known from the person's facts; ", item, " access ", where);
      break;
    }
    case Source::kRestrictedParty: {
      const auto& h = r.person.screening[f.rule];
      body = StrCat("the person matches ", ListName(h.list), " entry ", h.entry_id,
                    h.name.empty() ? "" : StrCat(" (", h.name, ")"));
      break;
    }
    case Source::kNotice:
      body = StrCat("notice ", p.notices()[f.rule].id, " covers ", item, " ", core::Name(r.layer),
                    " access ", where);
      break;
    case Source::kOperator: {
      const auto& o = p.operator_rules()[f.rule];
      body = StrCat("rule ", o.id, o.text.empty() ? "" : StrCat(" (", o.text, ")"), " applies ", where);
      break;
    }
  }
  std::string out;
  if (f.license >= 0) out = StrCat("authorized by license ", p.licenses()[f.license].id, ": ");
  else if (f.program >= 0) out = StrCat("authorized by program ", p.programs()[f.program].id, ": ");
  StrAppend(&out, EffectText(f.effect), ": ", body);
  if (f.unverified) out += " [rests on reference data marked unverified]";
  return out;
}

namespace {

// The reason, given the findings' texts (computed once by the caller).
template <typename Texts>
std::string ReasonWith(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d,
                       const Texts& texts) {
  if (d.item < 0) return StrCat("unknown item '", r.item, "'");
  // The finding that drives the answer, else the doubt that does.
  for (size_t i = 0; i < d.findings.size(); ++i) {
    const Finding& f = d.findings[i];
    if (f.authorized()) continue;
    bool denies = f.effect != core::Effect::kReview;
    if ((d.outcome == core::Outcome::kDeny) == denies) return texts[i];
  }
  for (const auto& u : d.uncertain)
    if (u.yields == d.outcome) return FactText(p, r, u);
  if (d.outcome != core::Outcome::kAllow) return "";
  if (d.activities.empty())
    return d.is_export_reading ? "allowed: this access is no export (US person in the US)"
                               : "allowed: under this policy, access of this kind is no export";
  for (size_t i = 0; i < d.findings.size(); ++i)
    if (d.findings[i].authorized()) return StrCat("allowed: ", texts[i]);
  return "allowed: no license requirement applies";
}

using Texts = absl::InlinedVector<std::string, 6>;

Texts AllTexts(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d) {
  Texts texts;
  for (const Finding& f : d.findings) texts.push_back(FindingText(p, r, d, f));
  return texts;
}

}  // namespace

std::string DecisionReason(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d) {
  return ReasonWith(p, r, d, AllTexts(p, r, d));
}

namespace {

void FindingsArray(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d,
                   const Texts& texts, std::string* o) {
  o->push_back('[');
  for (size_t i = 0; i < d.findings.size(); ++i) {
    const Finding& f = d.findings[i];
    if (i) o->push_back(',');
    StrAppend(o, "{\"source\":\"", core::Name(f.source), "\",\"rule\":");
    core::AppendJsonString(RuleId(p, r, f), o);
    o->append(",\"destination\":");
    if (f.destination.valid()) StrAppend(o, "\"", f.destination.code(), "\"");
    else o->append("null");
    o->append(",\"activity\":");
    if (f.activity >= 0) StrAppend(o, "\"", core::Name(d.activities[f.activity].type), "\"");
    else o->append("null");
    StrAppend(o, ",\"effect\":\"", core::Name(f.effect), "\",\"cite\":[");
    std::vector<std::string> cites;
    Cites(p, r, f, &cites);
    for (size_t c = 0; c < cites.size(); ++c) {
      if (c) o->push_back(',');
      core::AppendJsonString(cites[c], o);
    }
    o->append("],\"authorized_by\":");
    if (f.license >= 0) core::AppendJsonString(p.licenses()[f.license].id, o);
    else if (f.program >= 0) core::AppendJsonString(p.programs()[f.program].id, o);
    else o->append("null");
    o->append(",\"text\":");
    core::AppendJsonString(texts[i], o);
    if (f.unverified) o->append(",\"unverified\":true");
    o->push_back('}');
  }
  o->push_back(']');
}

}  // namespace

void AppendFindingsJson(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d,
                        std::string* out) {
  FindingsArray(p, r, d, AllTexts(p, r, d), out);
}

void AppendMissingFactsJson(const Decision& d, std::string* o) {
  o->push_back('[');
  bool first = true;
  for (int i = 0; i < decide::kFactCount; ++i) {
    if (!(d.missing_facts >> i & 1)) continue;
    if (!first) o->push_back(',');
    first = false;
    StrAppend(o, "\"", decide::Name(static_cast<decide::Fact>(i)), "\"");
  }
  o->push_back(']');
}

void AppendDecisionRecord(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d,
                          std::string_view decision_id, std::string_view endpoint, std::string* o) {
  AppendDecisionJson(p, r, d, decision_id, o);
  o->pop_back();  // the closing brace: add where the request came from
  o->append(",\"location\":{\"country\":");
  if (r.location.country.valid()) core::AppendJsonString(r.location.country.code(), o);
  else o->append("null");
  o->append(",\"ip\":");
  core::AppendJsonString(r.location.ip, o);
  StrAppend(o, ",\"anonymizer\":", r.location.anonymizer ? "true" : "false", "},\"endpoint\":");
  core::AppendJsonString(endpoint, o);
  o->push_back('}');
}

void AppendDecisionJson(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d,
                        std::string_view decision_id, std::string* o) {
  char buf[32];
  const Texts texts = AllTexts(p, r, d);
  o->append("{\"decision\":\"");
  o->append(core::Name(d.outcome));
  o->append("\",\"reason\":");
  core::AppendJsonString(ReasonWith(p, r, d, texts), o);
  o->append(",\"item\":");
  core::AppendJsonString(d.item >= 0 ? std::string_view(p.items()[d.item].id) : std::string_view(r.item), o);
  StrAppend(o, ",\"layer\":\"", core::Name(r.layer), "\",\"channel\":\"", core::Name(r.channel), "\"");
  if (d.served_from.valid()) StrAppend(o, ",\"served_from\":\"", d.served_from.code(), "\"");
  o->append(",\"person\":");
  core::AppendJsonString(r.person.id, o);
  o->append(",\"activities\":[");
  for (size_t i = 0; i < d.activities.size(); ++i) {
    const auto& a = d.activities[i];
    if (i) o->push_back(',');
    StrAppend(o, "{\"type\":\"", core::Name(a.type), "\",\"destination\":\"", a.destination.code(),
              "\",\"cite\":\"", decide::ActivityCite(a.type), "\"}");
  }
  o->append("],\"findings\":");
  FindingsArray(p, r, d, texts, o);
  o->append(",\"missing_facts\":");
  AppendMissingFactsJson(d, o);
  o->append(",\"uncertain\":[");
  for (size_t i = 0; i < d.uncertain.size(); ++i) {
    const auto& u = d.uncertain[i];
    if (i) o->push_back(',');
    StrAppend(o, "{\"fact\":\"", decide::Name(u.fact), "\",\"doubt\":\"", decide::Name(u.doubt),
              "\",\"yields\":\"", core::Name(u.yields), "\",\"text\":");
    core::AppendJsonString(FactText(p, r, u), o);
    o->push_back('}');
  }
  StrAppend(o, "],\"policy\":\"", p.version(), "\",\"decision_id\":");
  core::AppendJsonString(decision_id, o);
  o->append(",\"at\":\"");
  o->append(buf, core::WriteTime(d.at, buf));
  o->append("\"}");
}

std::string NewDecisionId(core::Timestamp at) {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const uint64_t ms = at > 0 ? static_cast<uint64_t>(at) * 1000 + static_cast<uint64_t>(now_ms % 1000) : 0;
  // unix_ts_ms (48 bits), version 7, rand_a (12 bits); variant 10, rand_b (62 bits).
  uint64_t hi = ((ms & 0xFFFFFFFFFFFFULL) << 16) | 0x7000ULL | (rng() & 0x0FFFULL);
  uint64_t lo = (rng() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  char s[37];
  static constexpr char kHex[] = "0123456789abcdef";
  int pos = 0;
  for (int i = 0; i < 16; ++i) {
    uint8_t b = static_cast<uint8_t>(i < 8 ? hi >> (56 - 8 * i) : lo >> (56 - 8 * (i - 8)));
    if (i == 4 || i == 6 || i == 8 || i == 10) s[pos++] = '-';
    s[pos++] = kHex[b >> 4];
    s[pos++] = kHex[b & 15];
  }
  return std::string(s, 36);
}

}  // namespace eargate::wire
