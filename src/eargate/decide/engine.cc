// The decision engine (DOMAIN.md §3-§6; doc/decision_model.md is the prose version).
//
// Hot path: no allocation beyond the Decision's inline capacity, no locks, no clock.
#include "eargate/decide/engine.h"

#include "eargate/rules/ear_data.h"

namespace eargate::decide {

using core::Activity;
using core::Country;
using core::Effect;
using core::Outcome;
using core::Source;
using core::Tristate;
using rules::PolicySnapshot;

namespace {

constexpr uint32_t Bit(Fact f) { return uint32_t{1} << static_cast<int>(f); }

bool IsDeemed(Activity a) { return a == Activity::kDeemedExport || a == Activity::kDeemedReexport; }

// Reasons for control, by the letters the CCL uses.
rules::Reasons R(const char* code) { return rules::ReasonBit(code); }

struct EmbargoReasons {
  rules::Reasons iraq, iran, un;
};
// The reason sets Part 746 names, computed once (15 CFR 746.3(a)(1), 746.7(a)(1), 746.1(b)(2)).
const EmbargoReasons& Part746Reasons() {
  static const EmbargoReasons r = {
      R("NS") | R("MT") | R("NP") | R("CW") | R("CB") | R("RS") | R("CC") | R("EI") | R("SI") |
          R("SL") | R("UN"),
      R("CB") | R("NP") | R("NS") | R("MT") | R("RS") | R("CC") | R("AT"),
      R("UN")};
  return r;
}

class Evaluator {
 public:
  Evaluator(const PolicySnapshot& p, const core::Request& r, Decision* out)
      : p_(p), data_(p.data()), r_(r), d_(*out) {}

  void Run() {
    d_.at = r_.at;
    d_.item = p_.FindItem(r_.item);
    if (d_.item < 0) {
      // Nothing can be decided about an item the policy does not know: fail closed.
      Flag(Fact::kItem, Doubt::kUnknown, Outcome::kDeny);
      Finish();
      return;
    }
    item_ = &p_.items()[d_.item];
    d_.served_from = r_.served_from.valid() ? r_.served_from : item_->served_from.front();
    us_ = core::UsPersonStatus(r_.person);
    nats_ = core::MostRecentNationalities(r_.person);
    knowledge_ = r_.person.end_uses | r_.person.end_user_categories;
    ResolveLocation();

    const bool weights = r_.layer == core::Layer::kWeights;
    const bool scoped = (p_.remote_access_scope() >> static_cast<int>(item_->service_level)) & 1;
    d_.is_export_reading =
        item_->subject_to_ear &&
        (weights || (p_.remote_access() == core::RemoteAccess::kRelease && scoped));
    if (d_.is_export_reading) Classify();

    for (int i = 0; i < static_cast<int>(d_.activities.size()); ++i) {
      const ActivityEntry& a = d_.activities[i];
      Country ear = data_.EarDestination(a.destination);
      if (!ear.valid()) {
        Flag(Fact::kDestination, Doubt::kUnmapped, p_.uncertain().destination_unmapped);
        continue;
      }
      CountryChart(i, a, ear);
      Embargoes(i, a, ear);
      CatchAlls(i, a, ear);
      Notices(i, a, ear);
    }
    RestrictedParties();
    Sanctions();
    OperatorRules();
    Authorize();
    Finish();
  }

 private:
  // ---- facts ------------------------------------------------------------------------------
  void ResolveLocation() {
    const core::Location& l = r_.location;
    if (!l.known()) {
      Flag(Fact::kLocation, Doubt::kUnknown, p_.uncertain().location_unknown);
      return;
    }
    // A known special region (Crimea) is the destination itself; Part 746.6 and OFAC part 589
    // look at it, the chart at its country.
    loc_ = l.region.valid() && data_.IsKnownCountry(l.region) ? l.region : l.country;
    loc_ear_ = data_.EarDestination(loc_);
    if (l.anonymizer) Flag(Fact::kLocation, Doubt::kAnonymizer, p_.uncertain().anonymizer);
    if (l.mismatch()) Flag(Fact::kLocation, Doubt::kMismatch, p_.uncertain().location_mismatch);
    if (!loc_ear_.valid())
      Flag(Fact::kDestination, Doubt::kUnmapped, p_.uncertain().destination_unmapped);
  }

  void Flag(Fact f, Doubt why, Outcome yields) {
    for (const auto& u : d_.uncertain)
      if (u.fact == f && u.doubt == why) return;
    d_.uncertain.push_back({f, why, yields});
  }

  void AddActivity(Activity type, Country dest) {
    for (const auto& a : d_.activities)
      if (a.type == type && a.destination == dest) return;
    d_.activities.push_back({type, dest});
  }

  // The person's nationality destinations for a deemed export/reexport; flags what is missing.
  // `skip`: a nationality equal to this EAR destination is no release to a foreign country.
  void DeemedTo(Activity type, Country skip) {
    if (us_ == Tristate::kYes) return;
    // Releases abroad are to natural persons; an organization abroad receives the export to
    // where it is (its incorporation is not a second destination). In the US a foreign
    // organization is a foreign person (15 CFR 772.1), so its release is a deemed export.
    if (r_.person.kind == core::PersonKind::kOrganization && type == Activity::kDeemedReexport) return;
    if (us_ == Tristate::kUnknown) {
      Flag(Fact::kUsPerson, Doubt::kUnknown, p_.uncertain().us_person_unknown);
      return;
    }
    if (nats_.empty()) {
      Flag(Fact::kNationality, Doubt::kUnknown, p_.uncertain().nationality_unknown);
      return;
    }
    for (Country n : nats_) {
      Country ear = data_.EarDestination(n);
      if (ear == core::kUnitedStates) continue;  // a US national is no foreign person
      if (skip.valid() && ear == skip) continue;
      AddActivity(type, n);
    }
  }

  // DOMAIN.md §3: which activities this access amounts to.
  void Classify() {
    if (!loc_.valid() || !loc_ear_.valid()) return;  // the location doubt already decides
    const Country s = d_.served_from;
    const bool in_us = loc_ear_ == core::kUnitedStates;
    const Country s_ear = data_.EarDestination(s);
    if (in_us) {
      // 734.13(a)(2), (b): a release in the US to a foreign person is a deemed export to the
      // most recent citizenship or permanent residency (a transmission into the US is none).
      DeemedTo(Activity::kDeemedExport, Country());
      return;
    }
    if (s_ear == core::kUnitedStates) {
      AddActivity(Activity::kExport, loc_);  // 734.13(a)(1)
      DeemedTo(Activity::kDeemedReexport, loc_ear_);  // 734.14(a)(2) for a third-country national
      return;
    }
    if (loc_ear_ != s_ear) {
      AddActivity(Activity::kReexport, loc_);  // 734.14(a)(1)
      DeemedTo(Activity::kDeemedReexport, loc_ear_);
      return;
    }
    // In the hosting country F itself.
    bool person_of_f = us_ == Tristate::kYes;
    for (Country n : nats_) person_of_f |= data_.EarDestination(n) == s_ear;
    if (person_of_f || us_ == Tristate::kUnknown) AddActivity(Activity::kInCountryTransfer, loc_);  // 734.16
    DeemedTo(Activity::kDeemedReexport, s_ear);  // 734.14(a)(2), (b)
  }

  // ---- rule sources -------------------------------------------------------------------------
  Finding& Add(Source s, Effect e, int activity, Country dest, int rule) {
    Finding f;
    f.source = s;
    f.effect = e;
    f.activity = static_cast<int8_t>(activity);
    f.destination = dest;
    f.rule = static_cast<uint16_t>(rule);
    d_.findings.push_back(f);
    return d_.findings.back();
  }

  // 15 CFR 738.4, 736.2(b)(1): an X in any of the ECCN's chart columns.
  void CountryChart(int i, const ActivityEntry& a, Country ear) {
    if (!item_->eccn) return;  // EAR99 or not subject: never by this path
    const rules::ChartRow* row = data_.ChartFor(ear);
    if (!row) return;
    rules::ChartColumns hit = row->columns & item_->eccn->chart_columns;
    if (!hit) return;
    Finding& f = Add(Source::kCountryChart, Effect::kLicenseRequired, i, a.destination,
                     static_cast<int>(row - data_.chart().data()));
    f.detail = hit;
    f.unverified = row->verified != rules::Verified::kYes ||
                   item_->eccn->verified != rules::Verified::kYes || MappingUnverified(a.destination);
  }

  bool MappingUnverified(Country dest) const {
    const rules::DestinationMapping* m = data_.FindMapping(dest);
    return m && m->verified == rules::Verified::kNo;
  }

  // Part 746: what each section covers is here; where it applies is data.
  void Embargoes(int i, const ActivityEntry& a, Country ear) {
    const auto& rules = data_.embargoes();
    const rules::Eccn* e = item_->eccn;
    const rules::Reasons reasons = e ? e->reasons : 0;
    for (size_t k = 0; k < rules.size(); ++k) {
      const rules::EmbargoRule& r = rules[k];
      if (!r.destinations.Contains(a.destination) && !r.destinations.Contains(ear)) continue;
      bool applies = false;
      switch (r.kind) {
        case rules::EmbargoKind::kCuba:  // 746.2(a); (a)(2): EAR99 releases to Cuban nationals
          applies = !(IsDeemed(a.type) && !e);
          break;
        case rules::EmbargoKind::kIraq:  // 746.3(a)(1)
          applies = reasons & Part746Reasons().iraq;
          break;
        case rules::EmbargoKind::kNorthKorea:  // 746.4(a): any item but EAR99 food/medicine
          applies = true;
          break;
        case rules::EmbargoKind::kCrimeaRegion:  // 746.6(a)(1)-(2); deemed: by nationality
          applies = !IsDeemed(a.type) && a.destination.is_region();
          break;
        case rules::EmbargoKind::kIran:  // 746.7(a)(1): CCL items with these reasons
          applies = reasons & Part746Reasons().iran;
          break;
        case rules::EmbargoKind::kRussiaBelarus:  // 746.8(a)(1); (a)(12)(i): not deemed
          applies = e != nullptr && !IsDeemed(a.type);
          break;
        case rules::EmbargoKind::kSyria:  // 746.9(a): EAR99 technology releases need none
          applies = !(IsDeemed(a.type) && !e);
          break;
        case rules::EmbargoKind::kUnArms:  // 746.1(b)(2): CCL items controlled for UN reasons
          applies = reasons & Part746Reasons().un;
          break;
      }
      if (!applies) continue;
      Finding& f = Add(Source::kEmbargo, Effect::kLicenseRequired, i, a.destination, static_cast<int>(k));
      f.unverified = r.verified != rules::Verified::kYes;
    }
  }

  // Part 744 end-use/end-user rules: bind only with knowledge.
  void CatchAlls(int i, const ActivityEntry& a, Country ear) {
    if (!knowledge_) return;
    const auto& rules = data_.catch_alls();
    for (size_t k = 0; k < rules.size(); ++k) {
      const rules::CatchAllRule& r = rules[k];
      if (!r.evaluated) continue;
      const core::KnowledgeSet bit = core::Bit(r.knowledge);
      if (!(knowledge_ & bit)) continue;
      if (r.section.rfind("744.21(a)(1)", 0) == 0 && !item_->part744_supp2) continue;
      const bool dest_in = r.destinations.Contains(a.destination) || r.destinations.Contains(ear);
      bool binds = (r_.person.end_uses & bit) && dest_in;
      if (!binds && (r_.person.end_user_categories & bit)) {
        binds = dest_in;
        if (!binds && r.basis == rules::CatchAllBasis::kDestinationOrEndUserNationality) {
          // "a military end user of that country, wherever located"
          for (const auto& c : r_.person.citizenships)
            binds |= r.destinations.Contains(c.country) ||
                     r.destinations.Contains(data_.EarDestination(c.country));
        }
      }
      if (!binds) continue;
      Finding& f = Add(Source::kCatchAll, Effect::kLicenseRequired, i, a.destination, static_cast<int>(k));
      f.unverified = r.verified != rules::Verified::kYes;
    }
  }

  // Specific notices ("is-informed" letters, interim controls).
  void Notices(int i, const ActivityEntry& a, Country ear) {
    for (uint16_t k : p_.NoticesFor(d_.item)) {
      const rules::Notice& n = p_.notices()[k];
      if (!n.InForce(r_.at)) continue;
      if (!((n.layers >> static_cast<int>(r_.layer)) & 1)) continue;
      if (!((n.channels >> static_cast<int>(r_.channel)) & 1)) continue;
      if (!((n.activities >> static_cast<int>(a.type)) & 1)) continue;
      if (!n.destinations.Contains(a.destination) && !n.destinations.Contains(ear)) continue;
      if (n.knowledge && !(knowledge_ & n.knowledge)) continue;
      if (n.persons == rules::Persons::kForeignPersons) {
        if (us_ == Tristate::kYes) continue;
        if (us_ == Tristate::kUnknown) {
          Flag(Fact::kUsPerson, Doubt::kUnknown, p_.uncertain().us_person_unknown);
          continue;
        }
      }
      Add(Source::kNotice, Effect::kLicenseRequired, i, a.destination, k);
    }
  }

  void RestrictedParties() {
    const auto& hits = r_.person.screening;
    const bool exports = !d_.activities.empty();
    for (size_t k = 0; k < hits.size(); ++k) {
      const core::ScreeningHit& h = hits[k];
      // The SDN list blocks dealings whether or not anything is exported (OFAC); the EAR
      // lists bind on exports, reexports and transfers.
      const bool binding = h.list == core::RestrictedList::kSdn || exports;
      if (!binding) continue;
      if (!h.confirmed) {
        Flag(Fact::kScreening, Doubt::kPotentialMatch, p_.uncertain().screening_potential_match);
        continue;
      }
      Effect e = Effect::kReview;
      switch (h.list) {
        case core::RestrictedList::kSdn:
        case core::RestrictedList::kDeniedPersons: e = Effect::kProhibited; break;
        case core::RestrictedList::kEntityList:
        case core::RestrictedList::kMeu: e = Effect::kLicenseRequired; break;
        case core::RestrictedList::kUnverified:
        case core::RestrictedList::kOther: e = Effect::kReview; break;
      }
      Add(Source::kRestrictedParty, e, exports ? 0 : -1,
          exports ? d_.activities[0].destination : Country(), static_cast<int>(k));
    }
  }

  // OFAC programs that prohibit services to a whole country or region: they bind even when
  // the EAR sees no export, on where the person is and where they ordinarily reside.
  void Sanctions() {
    const auto& programs = data_.sanctions();
    for (size_t k = 0; k < programs.size(); ++k) {
      const rules::SanctionsProgram& s = programs[k];
      if (!s.applies_automatically()) continue;
      if (r_.at < s.in_force_from || (s.in_force_until && r_.at >= s.in_force_until)) continue;
      const Country j = s.jurisdiction;
      bool hit = loc_.valid() && (loc_ == j || (!j.is_region() && loc_.parent() == j) ||
                                  loc_ear_ == j);
      for (const auto& pr : r_.person.permanent_residencies) hit |= pr.country == j;
      if (r_.person.kind == core::PersonKind::kOrganization)
        for (const auto& c : r_.person.citizenships) hit |= c.country == j;
      if (!hit) continue;
      Finding& f = Add(Source::kSanctions, Effect::kProhibited, -1, j, static_cast<int>(k));
      f.unverified = s.verified == rules::Verified::kNo;
    }
  }

  void OperatorRules() {
    const auto& rules = p_.operator_rules();
    for (size_t k = 0; k < rules.size(); ++k) {
      const rules::OperatorRule& o = rules[k];
      if (!o.InForce(r_.at)) continue;
      if (!o.items.empty()) {
        bool mine = false;
        for (int it : o.items) mine |= it == d_.item;
        if (!mine) continue;
      }
      if (!((o.layers >> static_cast<int>(r_.layer)) & 1)) continue;
      if (!((o.channels >> static_cast<int>(r_.channel)) & 1)) continue;
      if (o.persons == rules::Persons::kForeignPersons && us_ != Tristate::kNo) continue;
      bool hit = loc_.valid() && (o.destinations.Contains(loc_) || o.destinations.Contains(loc_ear_) ||
                                  o.destinations.Contains(r_.location.country));
      Country where = hit ? loc_ : Country();
      for (const auto& c : r_.person.citizenships) {
        if (o.nationalities.Contains(c.country)) {
          hit = true;
          if (!where.valid()) where = c.country;
        }
      }
      if (hit) Add(Source::kOperator, Effect::kRestricted, -1, where, static_cast<int>(k));
    }
  }

  // ---- authorization (DOMAIN §5) -----------------------------------------------------------
  void Authorize() {
    for (Finding& f : d_.findings) {
      if (f.effect == Effect::kReview || f.effect == Effect::kRestricted) continue;
      if (f.source == Source::kRestrictedParty &&
          r_.person.screening[f.rule].list == core::RestrictedList::kDeniedPersons)
        continue;  // General Prohibition Four: no license in the operator's data lifts it
      const bool ofac = f.source == Source::kSanctions ||
                        (f.source == Source::kRestrictedParty &&
                         r_.person.screening[f.rule].list == core::RestrictedList::kSdn);
      for (uint16_t k : p_.LicensesFor(d_.item)) {
        if (LicenseCovers(p_.licenses()[k], f, ofac)) {
          f.license = static_cast<int16_t>(k);
          break;
        }
      }
      if (f.authorized() || !ExceptionsAllowed(f)) continue;
      for (uint16_t k : p_.ProgramsFor(d_.item)) {
        if (ProgramCovers(k, f)) {
          f.program = static_cast<int16_t>(k);
          break;
        }
      }
    }
  }

  bool LicenseCovers(const rules::License& l, const Finding& f, bool ofac) const {
    if ((l.issuer == "ofac") != ofac) return false;
    if (!l.ValidAt(r_.at)) return false;
    if (!((l.layers >> static_cast<int>(r_.layer)) & 1)) return false;
    if (f.activity >= 0 && !((l.activities >> static_cast<int>(d_.activities[f.activity].type)) & 1))
      return false;
    if (f.destination.valid()) {
      if (!l.destinations.Contains(f.destination) &&
          !l.destinations.Contains(data_.EarDestination(f.destination)))
        return false;
    } else if (!l.destinations.worldwide) {
      return false;
    }
    if (l.end_users.empty()) return true;
    for (const auto& u : l.end_users)
      if (u == r_.person.id || (!r_.person.organization.empty() && u == r_.person.organization))
        return true;
    return false;
  }

  // A license exception or program may be used only where the rule allows exceptions.
  bool ExceptionsAllowed(const Finding& f) const {
    if (f.source == Source::kCountryChart) return true;
    if (f.source != Source::kNotice) return false;  // embargo, catch-all, lists, sanctions: no
    const rules::Notice& n = p_.notices()[f.rule];
    return n.exceptions_allowed || !n.exception_programs.empty();
  }

  bool ProgramCovers(int k, const Finding& f) const {
    const rules::Program& g = p_.programs()[k];
    if (f.source == Source::kNotice) {
      const rules::Notice& n = p_.notices()[f.rule];
      if (!n.exceptions_allowed) {
        bool listed = false;
        for (int e : n.exception_programs) listed |= e == k;
        if (!listed) return false;
      }
    }
    if (!g.ValidAt(r_.at)) return false;
    if (!((g.layers >> static_cast<int>(r_.layer)) & 1)) return false;
    if (f.activity < 0) return false;
    if (!((g.activities >> static_cast<int>(d_.activities[f.activity].type)) & 1)) return false;
    if (!g.destinations.Contains(f.destination) &&
        !g.destinations.Contains(data_.EarDestination(f.destination)))
      return false;
    if (g.persons == rules::ProgramPersons::kNationalsOfDestinations) {
      if (nats_.empty()) return false;
      for (Country n : nats_)
        if (!g.destinations.Contains(n) && !g.destinations.Contains(data_.EarDestination(n))) return false;
    }
    return true;
  }

  // ---- the answer (DOMAIN §6) -------------------------------------------------------------
  void Finish() {
    Outcome worst = Outcome::kAllow;
    for (const Finding& f : d_.findings) {
      if (f.authorized()) continue;
      Outcome o = f.effect == Effect::kReview ? Outcome::kReview : Outcome::kDeny;
      if (o > worst) worst = o;
    }
    for (const Uncertainty& u : d_.uncertain) {
      d_.missing_facts |= Bit(u.fact);
      if (u.yields > worst) worst = u.yields;
    }
    d_.outcome = worst;
  }

  const PolicySnapshot& p_;
  const rules::EarData& data_;
  const core::Request& r_;
  Decision& d_;
  const rules::Item* item_ = nullptr;
  Tristate us_ = Tristate::kUnknown;
  core::Nationalities nats_;
  core::KnowledgeSet knowledge_ = 0;
  Country loc_;      // where the person is (a special region when known)
  Country loc_ear_;  // the EAR destination that location decides as
};

}  // namespace

void Decide(const PolicySnapshot& policy, const core::Request& request, Decision* out) {
  out->clear();
  Evaluator(policy, request, out).Run();
}

}  // namespace eargate::decide
