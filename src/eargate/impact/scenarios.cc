#include "eargate/impact/scenarios.h"

#include <thread>

#include "eargate/core/strings.h"
#include "eargate/decide/engine.h"

namespace eargate::impact {

std::string_view SegmentName(Segment s) {
  static constexpr std::string_view kNames[] = {
      "US person in the US", "US person abroad", "foreign person in the US", "foreign person abroad",
      "dual national", "unknown facts", "anonymized traffic"};
  return kNames[static_cast<int>(s)];
}

Segment SegmentOf(const wire::PersonRecord& r) {
  if (r.location.anonymizer) return Segment::kAnonymized;
  core::Tristate us = core::UsPersonStatus(r.person);
  if (us == core::Tristate::kUnknown || !r.location.known()) return Segment::kUnknownFacts;
  const bool in_us = r.location.country == core::kUnitedStates;
  if (us == core::Tristate::kYes) return in_us ? Segment::kUsPersonInUs : Segment::kUsPersonAbroad;
  if (r.person.citizenships.size() > 1) return Segment::kDualNational;
  return in_us ? Segment::kForeignPersonInUs : Segment::kForeignPersonAbroad;
}

absl::StatusOr<ScenarioMatrix> ComputeScenarios(const std::vector<rules::PolicyPtr>& policies,
                                                const std::vector<std::string>& paths,
                                                const std::string& item, uint64_t count,
                                                const PersonSource& people, core::Timestamp at,
                                                size_t threads) {
  ScenarioMatrix m;
  m.at = at;
  m.policy_paths = paths;
  for (size_t i = 0; i < policies.size(); ++i) {
    if (policies[i]->FindItem(item) < 0)
      return absl::InvalidArgumentError(core::StrCat("--item: ", paths[i], " has no item '", item, "'"));
    m.policy_versions.push_back(policies[i]->version());
  }
  if (!threads) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<size_t>(threads, std::max<uint64_t>(1, count / 1024 + 1));
  struct Part {
    std::vector<std::array<ScenarioCell, kSegmentCount + 1>> cells;
    std::array<uint64_t, kSegmentCount + 1> seg{};
  };
  std::vector<Part> parts(threads);
  auto work = [&](size_t t) {
    Part& part = parts[t];
    part.cells.resize(policies.size());
    wire::PersonRecord rec;
    core::Request req;
    decide::Decision d;
    for (uint64_t i = count * t / threads; i < count * (t + 1) / threads; ++i) {
      people(i, &rec);
      int seg = static_cast<int>(SegmentOf(rec));
      ++part.seg[seg];
      ++part.seg[kSegmentCount];
      req.item = item;
      req.layer = core::Layer::kApplication;
      req.channel = core::Channel::kApi;
      req.at = at;
      req.person = rec.person;
      req.location = rec.location;
      for (size_t p = 0; p < policies.size(); ++p) {
        decide::Decide(*policies[p], req, &d);
        for (int s : {seg, kSegmentCount}) {
          ScenarioCell& c = part.cells[p][s];
          ++c.pairs;
          c.traffic += rec.traffic;
          if (d.outcome == core::Outcome::kAllow) {
            ++c.allowed;
            c.traffic_allowed += rec.traffic;
          } else if (d.outcome == core::Outcome::kReview) {
            ++c.review;
          }
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  m.cells.resize(policies.size());
  for (const auto& part : parts) {
    for (int s = 0; s <= kSegmentCount; ++s) m.segment_people[s] += part.seg[s];
    for (size_t p = 0; p < policies.size(); ++p)
      for (int s = 0; s <= kSegmentCount; ++s) {
        ScenarioCell& c = m.cells[p][s];
        const ScenarioCell& x = part.cells[p][s];
        c.pairs += x.pairs;
        c.allowed += x.allowed;
        c.review += x.review;
        c.traffic += x.traffic;
        c.traffic_allowed += x.traffic_allowed;
      }
  }
  m.people = m.segment_people[kSegmentCount];
  return m;
}

}  // namespace eargate::impact
