#include "eargate/impact/upcoming.h"

#include <algorithm>
#include <vector>

#include "eargate/core/strings.h"
#include "eargate/decide/engine.h"

namespace eargate::impact {

std::string UpcomingChange::HeaderValue() const {
  return core::StrCat(core::Name(to), " at ", core::FormatTime(at), "; ", because);
}

namespace {

struct Boundary {
  core::Timestamp t;
  std::string what;
};

}  // namespace

std::vector<core::Timestamp> PolicyBoundaries(const rules::PolicySnapshot& p) {
  std::vector<core::Timestamp> t;
  for (const auto& n : p.notices()) {
    t.push_back(n.effective);
    if (n.expires) t.push_back(*n.expires);
  }
  for (const auto& l : p.licenses()) {
    t.push_back(l.valid_from);
    if (l.valid_until) t.push_back(*l.valid_until);
  }
  for (const auto& g : p.programs()) {
    t.push_back(g.valid_from);
    if (g.valid_until) t.push_back(*g.valid_until);
  }
  for (const auto& o : p.operator_rules()) {
    t.push_back(o.effective);
    if (o.expires) t.push_back(*o.expires);
  }
  for (const auto& s : p.data().sanctions()) {
    t.push_back(s.in_force_from);
    if (s.in_force_until) t.push_back(s.in_force_until);
  }
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

std::optional<UpcomingChange> NextChange(const rules::PolicySnapshot& p, const core::Request& request,
                                         int64_t horizon_seconds) {
  const int item = p.FindItem(request.item);
  if (item < 0) return std::nullopt;
  const core::Timestamp now = request.at, end = request.at + horizon_seconds;
  std::vector<Boundary> b;
  auto add = [&](core::Timestamp t, std::string what) {
    if (t > now && t <= end) b.push_back({t, std::move(what)});
  };
  for (uint16_t k : p.NoticesFor(item)) {
    const auto& n = p.notices()[k];
    add(n.effective, core::StrCat("notice ", n.id, " takes effect"));
    if (n.expires) add(*n.expires, core::StrCat("notice ", n.id, " expires"));
  }
  for (uint16_t k : p.LicensesFor(item)) {
    const auto& l = p.licenses()[k];
    add(l.valid_from, core::StrCat("license ", l.id, " becomes valid"));
    if (l.valid_until) add(*l.valid_until, core::StrCat("license ", l.id, " expires"));
  }
  for (uint16_t k : p.ProgramsFor(item)) {
    const auto& g = p.programs()[k];
    add(g.valid_from, core::StrCat("program ", g.id, " takes effect"));
    if (g.valid_until) add(*g.valid_until, core::StrCat("program ", g.id, " ends"));
  }
  for (const auto& o : p.operator_rules()) {
    add(o.effective, core::StrCat("operator rule ", o.id, " takes effect"));
    if (o.expires) add(*o.expires, core::StrCat("operator rule ", o.id, " expires"));
  }
  for (const auto& s : p.data().sanctions()) {
    add(s.in_force_from, core::StrCat("OFAC program ", s.program, " starts"));
    if (s.in_force_until) add(s.in_force_until, core::StrCat("OFAC program ", s.program, " ends"));
  }
  if (b.empty()) return std::nullopt;
  std::stable_sort(b.begin(), b.end(), [](const Boundary& x, const Boundary& y) { return x.t < y.t; });
  decide::Decision d;
  decide::Decide(p, request, &d);
  const core::Outcome current = d.outcome;
  core::Request later = request;
  for (size_t i = 0; i < b.size();) {
    // Everything that happens at the same instant counts together.
    size_t j = i;
    std::vector<std::string> what;
    while (j < b.size() && b[j].t == b[i].t) what.push_back(b[j++].what);
    later.at = b[i].t;
    decide::Decide(p, later, &d);
    if (d.outcome != current) {
      UpcomingChange c;
      c.at = b[i].t;
      c.from = current;
      c.to = d.outcome;
      c.because = core::StrJoin(what, ", ");
      return c;
    }
    i = j;
  }
  return std::nullopt;
}

}  // namespace eargate::impact
