// eargate impact / eargate scenarios: what a policy change does to every customer, and what
// each reading means for each population segment.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/core/strings.h"
#include "eargate/impact/impact.h"
#include "eargate/impact/report.h"
#include "eargate/impact/scenarios.h"
#include "eargate/impact/synth.h"
#include "eargate/store/people_io.h"
#include "eargate/store/store.h"
#include "eargate/store/usage.h"

namespace eargate::cli {
namespace {

// People from a file (SPEC §3 people file), from the registry in the store ("registry" with
// --store), or "synth:N[:SEED]" (a synthetic population made in memory,
// doc/synthetic_population.md). With a decision log (--usage DIR), each person's uses (items,
// channels, layers, counted decisions) come from the log.
struct People {
  std::vector<wire::PersonRecord> records;
  std::unique_ptr<impact::Synthesizer> synth;
  uint64_t count = 0;
  impact::PersonSource source;
};

struct PeopleArgs {
  std::string people, store, usage;
};

bool LoadRegistry(const std::string& url, std::vector<wire::PersonRecord>* out) {
  auto st = store::Store::Open(url);
  if (!st.ok()) {
    std::cerr << "--store: " << st.status().message() << "\n";
    return false;
  }
  auto records = store::RegistryRecords(**st);
  if (!records.ok()) {
    std::cerr << "--store: " << records.status().message() << "\n";
    return false;
  }
  *out = std::move(*records);
  return true;
}

bool AddUsage(const std::string& dir, std::vector<wire::PersonRecord>* people) {
  auto usage = store::ReadUsage(dir);
  if (!usage.ok()) {
    std::cerr << "--usage: " << usage.status().message() << "\n";
    return false;
  }
  size_t matched = 0;
  for (auto& p : *people) {
    auto it = usage->by_person.find(p.person.id);
    if (it == usage->by_person.end()) continue;
    ++matched;
    p.uses.clear();
    for (const auto& e : it->second) {
      wire::RequestParser::Use u;
      u.item = e.item;
      u.layer = e.layer;
      u.channel = e.channel;
      u.traffic = static_cast<double>(e.decisions);
      p.uses.push_back(std::move(u));
    }
  }
  std::cerr << "usage: " << usage->records << " decisions in " << dir << "; " << matched << " of " << people->size()
            << " people have some (the others are decided on every item)\n";
  return true;
}

bool LoadPeople(const PeopleArgs& a, const rules::EarData& data, People* out) {
  const std::string& spec = a.people;
  if (spec.rfind("synth:", 0) == 0) {
    if (!a.usage.empty()) {
      std::cerr << "--usage: a synthetic population has no decision log; use a people file or the registry\n";
      return false;
    }
    auto parts = core::Split(std::string_view(spec).substr(6), ':');
    char* end = nullptr;
    std::string n(parts[0]);
    out->count = std::strtoull(n.c_str(), &end, 10);
    uint64_t seed = parts.size() > 1 ? std::strtoull(std::string(parts[1]).c_str(), nullptr, 10) : 1;
    if (n.empty() || *end || out->count == 0) {
      std::cerr << "--people: synth:COUNT[:SEED] needs a positive count (got '" << spec << "')\n";
      return false;
    }
    out->synth = std::make_unique<impact::Synthesizer>(data, seed);
    const impact::Synthesizer* s = out->synth.get();
    out->source = [s](uint64_t i, wire::PersonRecord* r) { s->Make(i, r); };
    return true;
  }
  if (spec == "registry") {
    if (a.store.empty()) {
      std::cerr << "--people registry: needs --store URL (or $EARGATE_STORE)\n";
      return false;
    }
    if (!LoadRegistry(a.store, &out->records)) return false;
  } else {
    auto f = wire::PeopleFile::Load(spec, data);
    if (!f.ok()) {
      std::cerr << f.status().message() << "\n";
      return false;
    }
    out->records = (*f)->records();
  }
  if (!a.usage.empty() && !AddUsage(a.usage, &out->records)) return false;
  const std::vector<wire::PersonRecord>* records = &out->records;
  out->count = records->size();
  out->source = [records](uint64_t i, wire::PersonRecord* r) { *r = (*records)[i]; };
  return true;
}

bool ParseAt(const std::string& text, core::Timestamp* at) {
  *at = core::Clock::System().Now();
  if (text.empty()) return true;
  auto t = core::ParseTime(text);
  if (!t) {
    std::cerr << "--at: not an RFC 3339 time such as 2026-07-01T00:00:00Z (got '" << text << "')\n";
    return false;
  }
  *at = *t;
  return true;
}

bool Emit(const std::string& text, const std::string& out_path) {
  if (out_path.empty() || out_path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return true;
  }
  std::ofstream f(out_path, std::ios::binary);
  f << text;
  if (!f) {
    std::cerr << "--out: cannot write " << out_path << "\n";
    return false;
  }
  std::cerr << "wrote " << out_path << "\n";
  return true;
}

struct ImpactArgs {
  PeopleArgs people;
  std::string before, after, at, format = "text", out, items;
  size_t max_changed = SIZE_MAX;
  bool all_items = false;
};

int RunImpact(const ImpactArgs& a) {
  if (a.format != "text" && a.format != "json" && a.format != "html") {
    std::cerr << "--format: must be text, json or html (got '" << a.format << "')\n";
    return kExitBadInput;
  }
  auto before = LoadPolicyOrReport(a.before);
  if (!before) return kExitBadInput;
  auto after = rules::LoadPolicy(a.after, before->data_ptr());
  if (!after.ok()) {
    std::cerr << after.status().message() << "\n";
    return kExitBadInput;
  }
  People people;
  if (!LoadPeople(a.people, before->data(), &people)) return kExitBadInput;
  impact::ImpactOptions opt;
  if (!ParseAt(a.at, &opt.at)) return kExitBadInput;
  for (auto id : core::Split(a.items, ',', true)) opt.items.emplace_back(id);
  opt.max_changed = a.max_changed;
  opt.all_items = a.all_items;
  auto report = impact::ComputeImpact(*before, **after, people.count, people.source, opt);
  if (!report.ok()) {
    std::cerr << report.status().message() << "\n";
    return kExitBadInput;
  }
  std::string text;
  if (a.format == "json") impact::WriteImpactJson(*report, &text);
  else if (a.format == "html") impact::WriteImpactHtml(*report, a.before, a.after, &text);
  else impact::WriteImpactText(*report, a.before, a.after, &text);
  return Emit(text, a.out) ? kExitOk : kExitBadInput;
}

struct ScenarioArgs {
  std::vector<std::string> policies;
  PeopleArgs people;
  std::string at, format = "text", out, item = "mythos-5";
};

int RunScenarios(const ScenarioArgs& a) {
  if (a.format != "text" && a.format != "csv" && a.format != "html") {
    std::cerr << "--format: must be text, csv or html (got '" << a.format << "')\n";
    return kExitBadInput;
  }
  auto data = LoadDataOrReport();
  if (!data) return kExitBadInput;
  std::vector<rules::PolicyPtr> policies;
  for (const auto& p : a.policies) {
    auto pol = rules::LoadPolicy(p, data);
    if (!pol.ok()) {
      std::cerr << pol.status().message() << "\n";
      return kExitBadInput;
    }
    policies.push_back(*pol);
  }
  People people;
  if (!LoadPeople(a.people, *data, &people)) return kExitBadInput;
  core::Timestamp at;
  if (!ParseAt(a.at, &at)) return kExitBadInput;
  auto m = impact::ComputeScenarios(policies, a.policies, a.item, people.count, people.source, at);
  if (!m.ok()) {
    std::cerr << m.status().message() << "\n";
    return kExitBadInput;
  }
  std::string text;
  if (a.format == "csv") impact::WriteScenariosCsv(*m, &text);
  else if (a.format == "html") impact::WriteScenariosHtml(*m, &text);
  else impact::WriteScenariosText(*m, &text);
  return Emit(text, a.out) ? kExitOk : kExitBadInput;
}

EG_REGISTER_COMMAND(impact, [](CLI::App& app) {
  auto a = std::make_shared<ImpactArgs>();
  CLI::App* sub = app.add_subcommand(
      "impact",
      "Decide every person (and item) under a before and an after policy and report who changes\n"
      "outcome, why, and what would restore access - before the new rule binds.\n"
      "  eargate impact --before examples/policies/advisory-opinions.yaml \\\n"
      "                 --after examples/policies/letter.yaml --people examples/people/sample.jsonl\n"
      "  eargate impact ... --people synth:100000 --format html --out impact.html\n"
      "  eargate impact ... --people registry --store sqlite://var/eargate.db --usage var/audit\n"
      "A person is decided on the items and channels they use (the people file's \"uses\", or the\n"
      "decision log with --usage), weighted by that use's traffic; a person without uses on every\n"
      "item of the after policy (or --items) on the api channel.");
  sub->add_option("--before", a->before, "the policy in force now")->required();
  sub->add_option("--after", a->after, "the proposed policy")->required();
  auto add_people = [](CLI::App* c, PeopleArgs* p) {
    p->store = DefaultStore();
    c->add_option("--people", p->people,
                  "people file (JSON lines, SPEC §3), registry (the store's person registry) or synth:COUNT[:SEED]")
        ->required();
    c->add_option("--store", p->store, "store URL for --people registry (default $EARGATE_STORE or " + std::string(kDefaultStoreUrl) + ")");
    c->add_option("--usage", p->usage,
                  "decision log directory: each person's uses (items, channels, layers) and their counts come from it");
  };
  add_people(sub, &a->people);
  sub->add_option("--items", a->items, "comma-separated item ids of the after policy (default: all)");
  sub->add_flag("--all-items", a->all_items, "decide every person on every item (or --items), ignoring their uses");
  sub->add_option("--at", a->at, "decision time, RFC 3339 (default: now)");
  sub->add_option("--format", a->format, "text (default), json or html");
  sub->add_option("--out", a->out, "write the report to this file (default: stdout)");
  sub->add_option("--max-changed", a->max_changed, "list at most this many changed pairs (counts stay whole)");
  SetAction(sub, [a] { return RunImpact(*a); });

  auto s = std::make_shared<ScenarioArgs>();
  CLI::App* sc = app.add_subcommand(
      "scenarios",
      "The matrix of readings (policies) x population segments: the share of people and of traffic\n"
      "allowed under each reading.\n"
      "  eargate scenarios --policies examples/policies/*.yaml --people synth:100000 --format csv");
  sc->add_option("--policies", s->policies, "policy files, one per reading")->required()->expected(1, -1);
  add_people(sc, &s->people);
  sc->add_option("--item", s->item, "the item to decide (an id every policy has; default mythos-5)");
  sc->add_option("--at", s->at, "decision time, RFC 3339 (default: now)");
  sc->add_option("--format", s->format, "text (default), csv or html");
  sc->add_option("--out", s->out, "write to this file (default: stdout)");
  SetAction(sc, [s] { return RunScenarios(*s); });
});

}  // namespace
}  // namespace eargate::cli
