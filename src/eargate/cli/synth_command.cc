// eargate people synth: a synthetic population (doc/synthetic_population.md) as a people file.
#include <cstdio>
#include <iostream>

#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/impact/synth.h"

namespace eargate::cli {
namespace {

int RunSynth(uint64_t count, uint64_t seed) {
  auto data = LoadDataOrReport();
  if (!data) return kExitBadInput;
  impact::Synthesizer synth(*data, seed);
  wire::PersonRecord rec;
  std::string out;
  for (uint64_t i = 0; i < count; ++i) {
    synth.Make(i, &rec);
    impact::AppendPersonJson(rec, &out);
    out.push_back('\n');
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

// Registered after the records module's "people" command (names sort), so it joins it.
EG_REGISTER_COMMAND(people_synth, [](CLI::App& app) {
  CLI::App* people = nullptr;
  try {
    people = app.get_subcommand("people");
  } catch (const CLI::OptionNotFound&) {
    people = app.add_subcommand("people", "The person registry: people files and synthetic populations.");
    people->require_subcommand(1);
  }
  auto count = std::make_shared<uint64_t>(1000);
  auto seed = std::make_shared<uint64_t>(1);
  CLI::App* sub = people->add_subcommand(
      "synth",
      "Write a synthetic population as a people file (JSON lines, SPEC §3): nationalities and\n"
      "locations from the documented distribution (doc/synthetic_population.md), dual nationals,\n"
      "permanent residents, unknown facts and anonymized traffic. Deterministic per seed.\n"
      "  eargate people synth --count 100000 --seed 7 > people.jsonl");
  sub->add_option("--count,-n", *count, "how many people (default 1000)")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--seed", *seed, "random seed (default 1)");
  SetAction(sub, [count, seed] { return RunSynth(*count, *seed); });
});

}  // namespace
}  // namespace eargate::cli
