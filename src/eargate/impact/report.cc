#include "eargate/impact/report.h"

#include <algorithm>
#include <cstdio>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"

namespace eargate::impact {

using core::StrAppend;
using core::StrCat;

namespace {

const char* kOutcomeColor[3] = {"#2e7d32", "#f9a825", "#c62828"};  // allow, review, deny

void TransitionsJson(const Transitions& t, std::string* o, bool traffic = false) {
  o->push_back('{');
  bool first = true;
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) {
      if (!t.count[b][a]) continue;
      if (!first) o->push_back(',');
      first = false;
      core::AppendJsonString(TransitionName(b, a), o);
      o->push_back(':');
      if (traffic) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", t.traffic[b][a]);
        o->append(buf);
      } else {
        StrAppend(o, t.count[b][a]);
      }
    }
  o->push_back('}');
}

void MapJson(const std::map<std::string, Transitions>& m, std::string* o) {
  o->push_back('{');
  bool first = true;
  for (const auto& [k, t] : m) {
    if (!first) o->push_back(',');
    first = false;
    core::AppendJsonString(k, o);
    o->push_back(':');
    TransitionsJson(t, o);
  }
  o->push_back('}');
}

std::string Pct(double part, double whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return buf;
}

// Keys sorted by the number of changed pairs, most first.
std::vector<std::pair<std::string, const Transitions*>> ByChanged(const std::map<std::string, Transitions>& m,
                                                                  size_t limit) {
  std::vector<std::pair<std::string, const Transitions*>> v;
  for (const auto& [k, t] : m) v.emplace_back(k, &t);
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second->Changed() > b.second->Changed();
  });
  if (v.size() > limit) v.resize(limit);
  return v;
}

uint64_t AfterCount(const Transitions& t, int a) {
  return t.count[0][a] + t.count[1][a] + t.count[2][a];
}
uint64_t BeforeCount(const Transitions& t, int b) {
  return t.count[b][0] + t.count[b][1] + t.count[b][2];
}

// A horizontal stacked bar chart: one row per key, segments allow->X colored by the after outcome
// for the pairs that changed, grey for unchanged.
void ChangeChart(const std::string& title, const std::vector<std::pair<std::string, const Transitions*>>& rows,
                 std::string* o) {
  const int row_h = 22, label_w = 260, bar_w = 520;
  const int h = 30 + row_h * static_cast<int>(rows.size()) + 10;
  uint64_t max_total = 1;
  for (const auto& r : rows) max_total = std::max(max_total, r.second->Total());
  StrAppend(o, "<figure><figcaption>", HtmlEscape(title), "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"",
            label_w + bar_w + 120, "\" height=\"", h, "\" role=\"img\">");
  int y = 20;
  for (const auto& [label, t] : rows) {
    StrAppend(o, "<text x=\"", label_w - 6, "\" y=\"", y + 15, "\" text-anchor=\"end\" font-size=\"12\">", HtmlEscape(label),
              "</text>");
    double x = label_w;
    auto seg = [&](uint64_t n, const char* color, const std::string& what) {
      if (!n) return;
      double w = static_cast<double>(bar_w) * static_cast<double>(n) / static_cast<double>(max_total);
      char buf[256];
      std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", x, y,
                    std::max(w, 0.5), row_h - 6, color);
      o->append(buf);
      StrAppend(o, HtmlEscape(what), ": ", n, "</title></rect>");
      x += w;
    };
    uint64_t unchanged = t->count[0][0] + t->count[1][1] + t->count[2][2];
    seg(unchanged, "#b0bec5", "unchanged");
    for (int b = 0; b < 3; ++b)
      for (int a = 0; a < 3; ++a)
        if (a != b) seg(t->count[b][a], kOutcomeColor[a], TransitionName(b, a));
    StrAppend(o, "<text x=\"", static_cast<int>(x) + 6, "\" y=\"", y + 15, "\" font-size=\"12\">", t->Changed(), " changed</text>");
    y += row_h;
  }
  o->append("</svg></figure>\n");
}

const char* kStyle =
    "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}"
    "th{background:#eceff1}.num{text-align:right}figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.4em}"
    ".allow{color:#2e7d32}.deny{color:#c62828}.review{color:#f57f17}code{font-size:12px}</style>";

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

void WriteImpactJson(const ImpactReport& r, std::string* o) {
  char at[32];
  core::WriteTime(r.at, at);
  StrAppend(o, "{\"before\":\"", r.before_version, "\",\"after\":\"", r.after_version, "\",\"at\":\"",
            std::string_view(at, 20), "\",\"people\":", r.people, ",\"pairs\":", r.pairs, ",\"transitions\":");
  TransitionsJson(r.total, o);
  o->append(",\"traffic_transitions\":");
  TransitionsJson(r.total, o, /*traffic=*/true);
  StrAppend(o, ",\"people_with_uses\":", r.people_with_uses, ",\"uses_outside\":", r.uses_outside);
  o->append(",\"by_item\":");
  MapJson(r.by_item, o);
  o->append(",\"by_location\":");
  MapJson(r.by_location, o);
  o->append(",\"by_nationality\":");
  MapJson(r.by_nationality, o);
  o->append(",\"by_activity\":");
  MapJson(r.by_activity, o);
  o->append(",\"by_driver\":");
  MapJson(r.by_driver, o);
  o->append(",\"by_channel\":");
  MapJson(r.by_channel, o);
  StrAppend(o, ",\"changed_total\":", r.changed_total, ",\"changed_truncated\":",
            r.changed.size() < r.changed_total ? "true" : "false", ",\"changed\":[");
  for (size_t i = 0; i < r.changed.size(); ++i) {
    const ChangedPair& c = r.changed[i];
    if (i) o->push_back(',');
    o->append("{\"person\":");
    core::AppendJsonString(c.person, o);
    o->append(",\"item\":");
    core::AppendJsonString(c.item, o);
    StrAppend(o, ",\"layer\":\"", core::Name(c.layer), "\",\"channel\":\"", core::Name(c.channel), "\"");
    StrAppend(o, ",\"before\":\"", core::Name(c.before), "\",\"after\":\"", core::Name(c.after), "\",\"reason\":");
    core::AppendJsonString(c.reason, o);
    StrAppend(o, ",\"findings\":", c.findings_json, ",\"missing_facts\":", c.missing_json, ",\"restore\":");
    core::AppendJsonString(c.restore, o);
    o->push_back('}');
  }
  o->append("]}\n");
}

void WriteImpactText(const ImpactReport& r, const std::string& before_path, const std::string& after_path,
                     std::string* o) {
  StrAppend(o, "Impact of ", after_path, " (", r.after_version.substr(0, 19), "...)\n       over ", before_path, " (",
            r.before_version.substr(0, 19), "...) at ", core::FormatTime(r.at), "\n\n");
  StrAppend(o, r.people, " people, ", r.pairs, " (person, item) pairs; ", r.total.Changed(), " change (",
            Pct(static_cast<double>(r.total.Changed()), static_cast<double>(r.pairs)), ")\n");
  if (r.people_with_uses)
    StrAppend(o, r.people_with_uses, " people decided on the items and channels they use", r.uses_outside ? StrCat(" (", r.uses_outside, " uses name items outside the after policy or --items, not decided)") : std::string(), "\n");
  o->append("\ntransition            pairs     share   traffic share\n");
  double traffic_total = 0;
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) traffic_total += r.total.traffic[b][a];
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) {
      if (!r.total.count[b][a]) continue;
      char line[160];
      std::snprintf(line, sizeof line, "%-18s %9llu  %8s  %8s\n", TransitionName(b, a).c_str(),
                    static_cast<unsigned long long>(r.total.count[b][a]),
                    Pct(static_cast<double>(r.total.count[b][a]), static_cast<double>(r.pairs)).c_str(),
                    Pct(r.total.traffic[b][a], traffic_total).c_str());
      o->append(line);
    }
  auto section = [&](const char* title, const std::map<std::string, Transitions>& m) {
    StrAppend(o, "\nChanges by ", title, " (most first):\n");
    for (const auto& [k, t] : ByChanged(m, 15)) {
      if (!t->Changed()) break;
      char line[200];
      std::snprintf(line, sizeof line, "  %-42s %8llu changed of %llu\n", k.c_str(),
                    static_cast<unsigned long long>(t->Changed()), static_cast<unsigned long long>(t->Total()));
      o->append(line);
    }
  };
  section("driving finding or fact", r.by_driver);
  section("item", r.by_item);
  section("location", r.by_location);
  section("nationality", r.by_nationality);
  section("activity", r.by_activity);
  section("channel", r.by_channel);
  StrAppend(o, "\nAffected people (", r.changed.size(), " of ", r.changed_total, " changed pairs listed):\n");
  for (size_t i = 0; i < r.changed.size() && i < 50; ++i) {
    const auto& c = r.changed[i];
    StrAppend(o, "  ", c.person, " ", c.item, c.channel == core::Channel::kApi && c.layer == core::Layer::kApplication ? std::string() : StrCat(" (", core::Name(c.channel), ", ", core::Name(c.layer), ")"), ": ", core::Name(c.before), " -> ", core::Name(c.after), ": ", c.reason);
    if (!c.restore.empty()) StrAppend(o, "\n      would restore: ", c.restore);
    o->push_back('\n');
  }
  if (r.changed.size() > 50) StrAppend(o, "  ... (use --format json for all)\n");
}

void WriteImpactHtml(const ImpactReport& r, const std::string& before_path, const std::string& after_path,
                     std::string* o) {
  double traffic_total = 0;
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) traffic_total += r.total.traffic[b][a];
  StrAppend(o, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>eargate impact report</title>", kStyle,
            "</head><body><h1>Impact of a policy change</h1>");
  StrAppend(o, "<p>Before: <code>", HtmlEscape(before_path), "</code> (<code>", r.before_version, "</code>)<br>After: <code>",
            HtmlEscape(after_path), "</code> (<code>", r.after_version, "</code>)<br>Decided at ", core::FormatTime(r.at),
            "</p>");
  StrAppend(o, "<table id=\"summary\"><tr><th>people</th><td class=\"num\" id=\"people\">", r.people,
            "</td></tr><tr><th>(person, item) pairs</th><td class=\"num\" id=\"pairs\">", r.pairs,
            "</td></tr><tr><th>pairs whose outcome changes</th><td class=\"num\" id=\"changed\">", r.total.Changed(),
            "</td></tr>");
  for (int b = 0; b < 3; ++b)
    for (int a = 0; a < 3; ++a) {
      if (!r.total.count[b][a] || a == b) continue;
      std::string name = TransitionName(b, a);
      StrAppend(o, "<tr><th>", name, "</th><td class=\"num\" id=\"t-", core::Name(static_cast<core::Outcome>(b)), "-", core::Name(static_cast<core::Outcome>(a)), "\">", r.total.count[b][a], "</td><td>",
                Pct(static_cast<double>(r.total.count[b][a]), static_cast<double>(r.pairs)), " of pairs, ",
                Pct(r.total.traffic[b][a], traffic_total), " of traffic</td></tr>");
    }
  o->append("</table>");
  // After-outcome share bars: before vs after.
  o->append("<figure><figcaption>Outcomes before and after</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"700\" height=\"80\">");
  for (int row = 0; row < 2; ++row) {
    double x = 80;
    StrAppend(o, "<text x=\"74\" y=\"", 25 + row * 30, "\" text-anchor=\"end\" font-size=\"12\">", row ? "after" : "before", "</text>");
    for (int k = 0; k < 3; ++k) {
      uint64_t n = row ? AfterCount(r.total, k) : BeforeCount(r.total, k);
      double w = r.pairs ? 600.0 * static_cast<double>(n) / static_cast<double>(r.pairs) : 0;
      char buf[200];
      std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"><title>%s: %llu</title></rect>",
                    x, 10 + row * 30, w, kOutcomeColor[k], std::string(core::Name(static_cast<core::Outcome>(k))).c_str(),
                    static_cast<unsigned long long>(n));
      o->append(buf);
      x += w;
    }
  }
  o->append("</svg></figure>");
  ChangeChart("Changes by the finding or fact that drives them", ByChanged(r.by_driver, 12), o);
  ChangeChart("Changes by item", ByChanged(r.by_item, 12), o);
  ChangeChart("Changes by location (top 15)", ByChanged(r.by_location, 15), o);
  ChangeChart("Changes by nationality (top 15)", ByChanged(r.by_nationality, 15), o);
  ChangeChart("Changes by activity", ByChanged(r.by_activity, 6), o);
  if (r.by_channel.size() > 1) ChangeChart("Changes by channel", ByChanged(r.by_channel, 6), o);
  StrAppend(o, "<h2>Affected people</h2><p>", r.changed_total, " changed pairs", r.changed.size() < r.changed_total ? StrCat(" (first ", std::min<size_t>(r.changed.size(), 1000), " shown)") : std::string(),
            ". Give affected customers notice before the rule binds; <em>would restore</em> names the fact or authorization that brings access back.</p>");
  o->append("<table id=\"changed-list\"><tr><th>person</th><th>item</th><th>channel</th><th>before</th><th>after</th><th>reason</th><th>would restore</th></tr>");
  for (size_t i = 0; i < r.changed.size() && i < 1000; ++i) {
    const auto& c = r.changed[i];
    StrAppend(o, "<tr><td>", HtmlEscape(c.person), "</td><td>", HtmlEscape(c.item), "</td><td>", core::Name(c.channel), "</td><td class=\"", core::Name(c.before), "\">",
              core::Name(c.before), "</td><td class=\"", core::Name(c.after), "\">", core::Name(c.after), "</td><td>",
              HtmlEscape(c.reason), "</td><td>", HtmlEscape(c.restore), "</td></tr>");
  }
  o->append("</table><p><small>Generated by eargate. Not legal advice.</small></p></body></html>\n");
}

void WriteScenariosText(const ScenarioMatrix& m, std::string* o) {
  StrAppend(o, "Share allowed, by reading (rows) and population segment (columns); ", m.people, " people at ",
            core::FormatTime(m.at), "\n\n");
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-34s", "reading \\ segment (people)");
  o->append(buf);
  for (int s = 0; s <= kSegmentCount; ++s) {
    std::string name = s == kSegmentCount ? "all" : std::string(SegmentName(static_cast<Segment>(s)));
    std::snprintf(buf, sizeof buf, " | %s (%llu)", name.c_str(), static_cast<unsigned long long>(m.segment_people[s]));
    o->append(buf);
  }
  o->push_back('\n');
  for (size_t p = 0; p < m.cells.size(); ++p) {
    std::string name = m.policy_paths[p];
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    std::snprintf(buf, sizeof buf, "%-34s", name.c_str());
    o->append(buf);
    for (int s = 0; s <= kSegmentCount; ++s) {
      const ScenarioCell& c = m.cells[p][s];
      StrAppend(o, " | ", Pct(static_cast<double>(c.allowed), static_cast<double>(c.pairs)), " people, ",
                Pct(c.traffic_allowed, c.traffic), " traffic");
    }
    o->push_back('\n');
  }
}

void WriteScenariosCsv(const ScenarioMatrix& m, std::string* o) {
  o->append("policy,version,segment,people,allowed,review,share_people_allowed,share_traffic_allowed\n");
  for (size_t p = 0; p < m.cells.size(); ++p)
    for (int s = 0; s <= kSegmentCount; ++s) {
      const ScenarioCell& c = m.cells[p][s];
      std::string seg = s == kSegmentCount ? "all" : std::string(SegmentName(static_cast<Segment>(s)));
      char buf[128];
      std::snprintf(buf, sizeof buf, "%.4f,%.4f", c.pairs ? static_cast<double>(c.allowed) / static_cast<double>(c.pairs) : 0.0,
                    c.traffic > 0 ? c.traffic_allowed / c.traffic : 0.0);
      StrAppend(o, m.policy_paths[p], ",", m.policy_versions[p], ",", seg, ",", c.pairs, ",", c.allowed, ",", c.review, ",", buf,
                "\n");
    }
}

void WriteScenariosHtml(const ScenarioMatrix& m, std::string* o) {
  StrAppend(o, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>eargate scenarios</title>", kStyle,
            "</head><body><h1>What each reading means in practice</h1><p>Share of people allowed, by reading and by "
            "population segment (",
            m.people, " people, decided at ", core::FormatTime(m.at), ").</p><table id=\"matrix\"><tr><th>reading</th>");
  for (int s = 0; s <= kSegmentCount; ++s)
    StrAppend(o, "<th>", s == kSegmentCount ? std::string("all") : std::string(SegmentName(static_cast<Segment>(s))), " (",
              m.segment_people[s], ")</th>");
  o->append("</tr>");
  for (size_t p = 0; p < m.cells.size(); ++p) {
    StrAppend(o, "<tr><td><code>", HtmlEscape(m.policy_paths[p]), "</code></td>");
    for (int s = 0; s <= kSegmentCount; ++s) {
      const ScenarioCell& c = m.cells[p][s];
      StrAppend(o, "<td class=\"num\">", Pct(static_cast<double>(c.allowed), static_cast<double>(c.pairs)), "<br><small>",
                Pct(c.traffic_allowed, c.traffic), " of traffic</small></td>");
    }
    o->append("</tr>");
  }
  o->append("</table>");
  // Chart: share of all people allowed per reading.
  const int row_h = 24;
  StrAppend(o, "<figure><figcaption>Share of people allowed (all segments)</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"",
            20 + row_h * static_cast<int>(m.cells.size()), "\">");
  for (size_t p = 0; p < m.cells.size(); ++p) {
    const ScenarioCell& c = m.cells[p][kSegmentCount];
    double share = c.pairs ? static_cast<double>(c.allowed) / static_cast<double>(c.pairs) : 0;
    std::string name = m.policy_paths[p];
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    char buf[300];
    std::snprintf(buf, sizeof buf,
                  "<text x=\"250\" y=\"%d\" text-anchor=\"end\" font-size=\"12\">%s</text><rect x=\"256\" y=\"%d\" width=\"%.1f\" height=\"16\" fill=\"#2e7d32\"/><text x=\"%.1f\" y=\"%d\" font-size=\"12\">%.1f%%</text>",
                  static_cast<int>(p) * row_h + 22, HtmlEscape(name).c_str(), static_cast<int>(p) * row_h + 10, 500 * share,
                  262 + 500 * share, static_cast<int>(p) * row_h + 22, 100 * share);
    o->append(buf);
  }
  o->append("</svg></figure><p><small>Generated by eargate. Not legal advice.</small></p></body></html>\n");
}

}  // namespace eargate::impact
