#include "eargate/impact/impact.h"

#include <algorithm>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "eargate/core/strings.h"
#include "eargate/decide/engine.h"
#include "eargate/wire/decision_json.h"

namespace eargate::impact {

using core::Country;
using core::Outcome;
using decide::Decision;

void Transitions::Merge(const Transitions& o) {
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) {
      count[b][a] += o.count[b][a];
      traffic[b][a] += o.traffic[b][a];
    }
}

uint64_t Transitions::Total() const {
  uint64_t n = 0;
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) n += count[b][a];
  return n;
}

uint64_t Transitions::Changed() const {
  uint64_t n = 0;
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a)
      if (a != b) n += count[b][a];
  return n;
}

std::string TransitionName(int before, int after) {
  return core::StrCat(core::Name(static_cast<Outcome>(before)), "->", core::Name(static_cast<Outcome>(after)));
}

namespace {

constexpr int kUnknownCountry = core::Country::kSlots;

std::string DriverLabelIn(const rules::PolicySnapshot& p, uint32_t key);

// What drives a decision: the first unauthorized finding that produces the outcome, else the
// doubt that does. Encoded as (kind << 24) | (source << 16) | rule; kind 1 = finding, 2 = fact.
uint32_t Driver(const Decision& d) {
  for (const auto& f : d.findings) {
    if (f.authorized()) continue;
    bool denies = f.effect != core::Effect::kReview;
    if ((d.outcome == Outcome::kDeny) == denies)
      return (1u << 24) | (static_cast<uint32_t>(f.source) << 16) | f.rule;
  }
  for (const auto& u : d.uncertain)
    if (u.yields == d.outcome) return (2u << 24) | static_cast<uint32_t>(u.fact);
  // Allowed: the authorization that lifts a finding, if any.
  for (const auto& f : d.findings)
    if (f.authorized()) return (3u << 24) | static_cast<uint32_t>(f.license >= 0 ? f.license : 0x8000 | f.program);
  return 0;
}

// Bit 31 of a driver key: the rule indices refer to the before policy.
constexpr uint32_t kFromBefore = 0x80000000u;


std::string DriverLabelIn(const rules::PolicySnapshot& p, uint32_t key) {
  uint32_t kind = key >> 24;
  if (kind == 0) return "no rule (no export or nothing binds)";
  if (kind == 2) return core::StrCat("missing fact: ", decide::Name(static_cast<decide::Fact>(key & 0xFF)));
  if (kind == 3) {
    uint32_t v = key & 0xFFFF;
    return v & 0x8000 ? core::StrCat("authorized by program ", p.programs()[v & 0x7FFF].id)
                      : core::StrCat("authorized by license ", p.licenses()[v].id);
  }
  auto source = static_cast<core::Source>((key >> 16) & 0xFF);
  uint32_t rule = key & 0xFFFF;
  const auto& data = p.data();
  switch (source) {
    case core::Source::kNotice: return core::StrCat("notice ", p.notices()[rule].id);
    case core::Source::kCountryChart: return core::StrCat("country chart: ", data.chart()[rule].ear_name);
    case core::Source::kEmbargo: return core::StrCat("embargo: 15 CFR ", data.embargoes()[rule].section);
    case core::Source::kSanctions: return core::StrCat("sanctions: ", data.sanctions()[rule].program);
    case core::Source::kCatchAll: return core::StrCat("catch-all: 15 CFR ", data.catch_alls()[rule].section);
    case core::Source::kRestrictedParty: return "restricted party";
    case core::Source::kOperator: return core::StrCat("operator rule ", p.operator_rules()[rule].id);
  }
  return "?";
}

std::string DriverLabel(const rules::PolicySnapshot& before, const rules::PolicySnapshot& after, uint32_t key) {
  const rules::PolicySnapshot& p = key & kFromBefore ? before : after;
  std::string prefix = key & kFromBefore ? "lifted: " : "";
  key &= ~kFromBefore;
  return prefix + DriverLabelIn(p, key);
}

std::string Restore(const rules::PolicySnapshot& p, const core::Request& r, const Decision& d) {
  if (d.outcome == Outcome::kAllow) return "";
  for (const auto& f : d.findings) {
    if (f.authorized()) continue;
    std::string where = f.destination.valid() ? f.destination.code() : std::string("?");
    switch (f.source) {
      case core::Source::kSanctions: return core::StrCat("none on eargate's side: OFAC prohibits services in ", where, " (an OFAC license)");
      case core::Source::kRestrictedParty: return "resolve the restricted-party hit (clear a false positive, or a license)";
      case core::Source::kOperator: return core::StrCat("operator rule ", p.operator_rules()[f.rule].id, " (the provider's own choice)");
      default:
        if (f.activity >= 0)
          return core::StrCat("a license or program covering ", core::Name(d.activities[f.activity].type), " of ",
                              p.items()[d.item].id, " to ", where);
        return "a license covering this access";
    }
  }
  for (const auto& u : d.uncertain) {
    switch (u.fact) {
      case decide::Fact::kUsPerson: return "verify US-person status";
      case decide::Fact::kNationality: return "record citizenship and permanent residency";
      case decide::Fact::kLocation: return u.doubt == decide::Doubt::kUnknown ? "establish the location"
                                                                               : "confirm the location (no anonymizer, declared and IP country agree)";
      case decide::Fact::kScreening: return "review the potential screening match";
      case decide::Fact::kDestination: return "map the location to an EAR destination";
      case decide::Fact::kItem: return core::StrCat("the item ", r.item, " is not in this policy");
      case decide::Fact::kServedFrom: return "record the hosting country";
    }
  }
  return "";
}

struct Partial {
  uint64_t people = 0, pairs = 0, people_with_uses = 0, uses_outside = 0;
  Transitions total;
  std::vector<Transitions> by_item;
  Transitions by_channel[core::kChannelCount];
  std::vector<Transitions> by_location, by_nationality;
  Transitions by_activity[core::kActivityCount + 1];
  absl::flat_hash_map<uint32_t, Transitions> by_driver;
  std::vector<std::pair<uint64_t, ChangedPair>> changed;
  uint64_t changed_total = 0;
};

}  // namespace

absl::StatusOr<ImpactReport> ComputeImpact(const rules::PolicySnapshot& before,
                                           const rules::PolicySnapshot& after, uint64_t count,
                                           const PersonSource& people, const ImpactOptions& options) {
  // Items: ids of the after policy; the before policy may not know them (decided as unknown).
  std::vector<int> after_items;
  std::vector<std::string> item_ids;
  if (options.items.empty()) {
    for (size_t i = 0; i < after.items().size(); ++i) after_items.push_back(static_cast<int>(i));
  } else {
    for (const auto& id : options.items) {
      int i = after.FindItem(id);
      if (i < 0) return absl::InvalidArgumentError(core::StrCat("--items: the after policy has no item '", id, "'"));
      after_items.push_back(i);
    }
  }
  for (int i : after_items) item_ids.push_back(after.items()[i].id);

  size_t threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<size_t>(threads, std::max<uint64_t>(1, count / 1024 + 1));
  std::vector<Partial> parts(threads);
  auto work = [&](size_t t) {
    Partial& part = parts[t];
    part.by_item.resize(item_ids.size());
    part.by_location.resize(kUnknownCountry + 1);
    part.by_nationality.resize(kUnknownCountry + 1);
    const uint64_t lo = count * t / threads, hi = count * (t + 1) / threads;
    wire::PersonRecord rec;
    core::Request req;
    Decision db, da;
    uint64_t i = lo;  // the person being decided
    // One (item, layer, channel) pair of this person, decided under both policies.
    auto decide_pair = [&](size_t k, core::Layer layer, core::Channel channel, double t, int loc, int nat) {
      req.item = item_ids[k];
      req.layer = layer;
      req.channel = channel;
      decide::Decide(before, req, &db);
      decide::Decide(after, req, &da);
      ++part.pairs;
      part.total.Add(db.outcome, da.outcome, t);
      part.by_item[k].Add(db.outcome, da.outcome, t);
      part.by_channel[static_cast<int>(channel)].Add(db.outcome, da.outcome, t);
      part.by_location[loc].Add(db.outcome, da.outcome, t);
      part.by_nationality[nat].Add(db.outcome, da.outcome, t);
      const Decision& shown = da.activities.empty() ? db : da;
      int act = shown.activities.empty() ? core::kActivityCount : static_cast<int>(shown.activities[0].type);
      part.by_activity[act].Add(db.outcome, da.outcome, t);
      if (db.outcome == da.outcome) return;
      // What drives the change: the new answer's reason, or for a newly allowed pair what
      // used to deny it.
      uint32_t driver = da.outcome == Outcome::kAllow ? (Driver(db) | kFromBefore) : Driver(da);
      part.by_driver[driver].Add(db.outcome, da.outcome, t);
      ++part.changed_total;
      if (part.changed.size() < options.max_changed) {
        ChangedPair c;
        c.person = rec.person.id;
        c.item = item_ids[k];
        c.layer = layer;
        c.channel = channel;
        c.before = db.outcome;
        c.after = da.outcome;
        c.reason = wire::DecisionReason(after, req, da);
        wire::AppendFindingsJson(after, req, da, &c.findings_json);
        wire::AppendMissingFactsJson(da, &c.missing_json);
        c.restore = Restore(after, req, da);
        part.changed.emplace_back(i, std::move(c));
      }
    };
    for (; i < hi; ++i) {
      people(i, &rec);
      ++part.people;
      req.person = rec.person;
      req.location = rec.location;
      req.at = options.at;
      const int loc = rec.location.known() ? rec.location.country.index() : kUnknownCountry;
      core::Nationalities nats = core::MostRecentNationalities(rec.person);
      const int nat = nats.empty() ? kUnknownCountry : nats.front().index();
      if (!options.all_items && !rec.uses.empty()) {
        ++part.people_with_uses;
        for (const auto& use : rec.uses) {
          int idx = after.FindItem(use.item);
          size_t k = 0;
          while (k < after_items.size() && after_items[k] != idx) ++k;
          if (idx < 0 || k == after_items.size()) {
            ++part.uses_outside;
            continue;
          }
          decide_pair(k, use.layer, use.channel, use.traffic, loc, nat);
        }
        continue;
      }
      for (size_t k = 0; k < item_ids.size(); ++k)
        decide_pair(k, core::Layer::kApplication, core::Channel::kApi, rec.traffic, loc, nat);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();

  ImpactReport r;
  r.before_version = before.version();
  r.after_version = after.version();
  r.at = options.at;
  std::vector<std::pair<uint64_t, ChangedPair>> changed;
  Transitions by_activity[core::kActivityCount + 1];
  for (auto& part : parts) {
    r.people += part.people;
    r.pairs += part.pairs;
    r.changed_total += part.changed_total;
    r.people_with_uses += part.people_with_uses;
    r.uses_outside += part.uses_outside;
    for (int c = 0; c < core::kChannelCount; ++c)
      if (part.by_channel[c].Total()) r.by_channel[std::string(core::Name(static_cast<core::Channel>(c)))].Merge(part.by_channel[c]);
    r.total.Merge(part.total);
    for (size_t k = 0; k < part.by_item.size(); ++k) r.by_item[item_ids[k]].Merge(part.by_item[k]);
    for (int c = 0; c <= kUnknownCountry && !part.by_location.empty(); ++c) {
      std::string label = c == kUnknownCountry ? "unknown" : Country::FromIndex(static_cast<uint16_t>(c)).code();
      if (part.by_location[c].Total()) r.by_location[label].Merge(part.by_location[c]);
      if (part.by_nationality[c].Total()) r.by_nationality[label].Merge(part.by_nationality[c]);
    }
    for (int a = 0; a <= core::kActivityCount; ++a) by_activity[a].Merge(part.by_activity[a]);
    for (const auto& [key, tr] : part.by_driver) r.by_driver[DriverLabel(before, after, key)].Merge(tr);
    for (auto& c : part.changed) changed.push_back(std::move(c));
  }
  for (int a = 0; a <= core::kActivityCount; ++a)
    if (by_activity[a].Total())
      r.by_activity[a == core::kActivityCount ? "none" : std::string(core::Name(static_cast<core::Activity>(a)))] = by_activity[a];
  std::sort(changed.begin(), changed.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  if (changed.size() > options.max_changed) changed.resize(options.max_changed);
  for (auto& c : changed) r.changed.push_back(std::move(c.second));
  return r;
}

}  // namespace eargate::impact
