// `eargate lists load FILE...`: parses restricted-party list files given by the user, checks
// them and reports what they hold (SPEC §3). Nothing is downloaded. Exit 0 when every file
// parses, 2 otherwise (the message names file:line).
//
// `eargate lists rescreen --people FILE --lists NEW... [--previous OLD...]`: screens every
// person of a people file against the new lists (and the previous ones) and prints one JSON
// line per hit marked new / unchanged / band_changed / removed; a summary goes to stderr.
// This is what the gateway does when a list file changes while it runs.
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/screen/index.h"
#include "eargate/screen/lists.h"
#include "eargate/screen/rescreen.h"
#include "eargate/wire/people_file.h"

namespace eargate::cli {
namespace {

int RunListsLoad(const std::vector<std::string>& files) {
  screen::ListSetBuilder builder;
  for (const std::string& f : files) {
    absl::Status st = builder.AddFile(f);
    if (!st.ok()) {
      std::cerr << "eargate lists load: " << st.message() << "\n";
      return kExitBadInput;
    }
  }
  screen::ListSet lists = std::move(builder).Finish();
  for (const screen::FileReport& r : lists.files) {
    std::cout << r.path << ": " << screen::Name(r.format) << ", " << r.rows << " rows\n";
    for (const std::string& w : r.warnings) std::cout << "  warning: " << w << "\n";
  }
  std::map<std::string, std::pair<size_t, size_t>> per_list;  // entries, aliases
  for (const screen::Entry& e : lists.entries) {
    auto& [n, a] = per_list[e.list];
    ++n;
    a += e.aliases.size();
  }
  for (const auto& [list, counts] : per_list) {
    std::cout << list << ": " << counts.first << " entries, " << counts.second << " aliases\n";
  }
  if (lists.orphan_aliases > 0 || lists.orphan_addresses > 0) {
    std::cout << "unmatched OFAC rows (ent_num in no loaded sdn/cons file): "
              << lists.orphan_aliases << " aliases, " << lists.orphan_addresses
              << " addresses\n";
  }
  auto index = screen::Index::Build(std::move(lists));
  const screen::IndexStats& s = index->stats();
  std::cout << "index: " << s.entries << " entries, " << s.names << " names, " << s.tokens
            << " tokens, ~" << (s.memory_bytes >> 10) << " KiB, built in "
            << static_cast<int>(s.build_seconds * 1000) << " ms\n";
  return kExitOk;
}

struct RescreenArgs {
  std::string people;
  std::vector<std::string> lists;
  std::vector<std::string> previous;
  double potential = screen::kDefaultThreshold;
  double confirmed = screen::HitBands().confirmed;
  bool changes_only = false;
  int threads = 1;
};

// Loads list files and folders (every list file under a folder) into an index.
absl::StatusOr<std::shared_ptr<const screen::Index>> LoadLists(const std::vector<std::string>& paths) {
  screen::ListSetBuilder builder;
  for (const std::string& p : paths) {
    std::error_code ec;
    absl::Status st = std::filesystem::is_directory(p, ec) ? builder.AddDirectory(p) : builder.AddFile(p);
    if (!st.ok()) return st;
  }
  return screen::Index::Build(std::move(builder).Finish());
}

int RunRescreen(const RescreenArgs& a) {
  if (!(a.potential > 0 && a.potential <= a.confirmed && a.confirmed <= 1)) {
    std::cerr << "eargate lists rescreen: need 0 < --potential <= --confirmed <= 1\n";
    return kExitBadInput;
  }
  if (a.threads < 1 || a.threads > 256) {
    std::cerr << "eargate lists rescreen: --threads must be in [1, 256]\n";
    return kExitBadInput;
  }
  auto data = LoadDataOrReport();
  if (!data) return kExitBadInput;
  auto people = wire::PeopleFile::Load(a.people, *data);
  if (!people.ok()) {
    std::cerr << "eargate lists rescreen: --people: " << people.status().message() << "\n";
    return kExitBadInput;
  }
  std::vector<screen::Party> parties;
  parties.reserve((*people)->records().size());
  for (const wire::PersonRecord& r : (*people)->records()) {
    const core::Person& p = r.person;
    screen::Party party{p.id, p.name,
                        p.kind == core::PersonKind::kOrganization ? screen::EntityType::kOrganization
                                                                  : screen::EntityType::kPerson,
                        std::nullopt};
    if (!p.citizenships.empty()) party.country = p.citizenships.front().country;
    parties.push_back(std::move(party));
  }
  const screen::HitBands bands{.potential = a.potential, .confirmed = a.confirmed};
  std::vector<screen::PartyHit> before;
  if (!a.previous.empty()) {
    auto old_index = LoadLists(a.previous);
    if (!old_index.ok()) {
      std::cerr << "eargate lists rescreen: --previous: " << old_index.status().message() << "\n";
      return kExitBadInput;
    }
    before = screen::ScreenParties(**old_index, parties, bands, a.threads);
  }
  auto index = LoadLists(a.lists);
  if (!index.ok()) {
    std::cerr << "eargate lists rescreen: --lists: " << index.status().message() << "\n";
    return kExitBadInput;
  }
  std::vector<screen::PartyHit> after = screen::ScreenParties(**index, parties, bands, a.threads);
  size_t counts[4] = {0, 0, 0, 0};
  std::string out;
  for (const screen::HitDiff& d : screen::DiffHits(before, after)) {
    ++counts[static_cast<int>(d.change)];
    if (a.changes_only && d.change == screen::HitChange::kUnchanged) continue;
    out += screen::HitDiffJson(d);
    out.push_back('\n');
    if (out.size() > (1 << 16)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  std::cerr << parties.size() << " people screened against " << (*index)->stats().entries
            << " list entries: " << counts[0] << " new, " << counts[1] << " unchanged, " << counts[2]
            << " band_changed, " << counts[3] << " removed hits\n";
  return kExitOk;
}

}  // namespace

EG_REGISTER_COMMAND(lists, [](CLI::App& app) {
  CLI::App* lists = app.add_subcommand("lists", "Restricted-party list files");
  lists->require_subcommand(1);
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* load = lists->add_subcommand(
      "load",
      "Parse and check list files (OFAC sdn/alt/add/comments and cons_* CSV, CSL CSV or JSON,\n"
      "BIS dpl.txt; format recognised from content) and report entries per list. Nothing is\n"
      "downloaded: get current files from treasury.gov / trade.gov / bis.gov yourself.");
  load->add_option("files", *files, "list files")->required();
  SetAction(load, [files] { return RunListsLoad(*files); });

  auto args = std::make_shared<RescreenArgs>();
  CLI::App* rescreen = lists->add_subcommand(
      "rescreen",
      "Screen everyone in a people file against new list files and report the hits, each\n"
      "marked against the previous lists: one JSON line per hit\n"
      "  {\"change\": \"new\"|\"unchanged\"|\"band_changed\"|\"removed\", \"party\", \"list\",\n"
      "   \"entry_id\", \"listed_name\", \"score\", \"band\": \"potential\"|\"confirmed\", ...}\n"
      "Without --previous every hit is new. A summary goes to stderr. The gateway does the same\n"
      "when a screening.lists file changes while it runs (and logs the changed hits).");
  rescreen->add_option("--people", args->people, "people file (JSON lines, SPEC §3)")->required();
  rescreen->add_option("--lists", args->lists, "the new list files or folders")->required();
  rescreen->add_option("--previous", args->previous, "the list files or folders screened with before");
  rescreen->add_option("--potential", args->potential, "score at or above which a match is a hit (review)")
      ->default_val(args->potential);
  rescreen->add_option("--confirmed", args->confirmed, "score at or above which a hit is confirmed")
      ->default_val(args->confirmed);
  rescreen->add_flag("--changes-only", args->changes_only, "omit the unchanged hits");
  rescreen->add_option("--threads", args->threads, "screening threads")->default_val(1);
  SetAction(rescreen, [args] { return RunRescreen(*args); });
});

}  // namespace eargate::cli
