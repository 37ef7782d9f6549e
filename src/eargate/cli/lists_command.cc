// `eargate lists load FILE...`: parses restricted-party list files given by the user, checks
// them and reports what they hold (SPEC §3). Nothing is downloaded. Exit 0 when every file
// parses, 2 otherwise (the message names file:line).
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eargate/cli/command.h"
#include "eargate/screen/index.h"
#include "eargate/screen/lists.h"

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
});

}  // namespace eargate::cli
