// `eargate screen`: restricted-party screening of names against the loaded lists (SPEC §3).
//
//   eargate screen NAME... [--country C] [--type T] [--threshold X] [--limit N] [--list FILE]...
//   eargate screen --batch FILE|-          (JSON lines or CSV with a `name` column)
//
// One JSON line per query on stdout, best match first. Bad input: a message naming the field
// (and line) on stderr, exit 2.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <simdjson.h>

#include "eargate/cli/command.h"
#include "eargate/screen/index.h"
#include "eargate/screen/report.h"
#include "eargate/screen/internal/delimited.h"
#include "eargate/screen/internal/strings.h"
#include "eargate/screen/lists.h"

namespace eargate::cli {
namespace {

using screen::internal::Cat;

struct ScreenArgs {
  std::vector<std::string> names;
  std::string country;
  std::string type;
  double threshold = screen::kDefaultThreshold;
  int limit = 10;
  std::vector<std::string> lists;
  std::string batch;
};

// Loads the lists named by --list, or every list file under <data>/screening.
absl::StatusOr<std::shared_ptr<const screen::Index>> LoadIndex(
    const std::vector<std::string>& files) {
  screen::ListSetBuilder builder;
  if (files.empty()) {
    absl::Status st = builder.AddDirectory(DataDir() + "/screening");
    if (!st.ok()) return st;
  } else {
    for (const std::string& f : files) {
      absl::Status st = builder.AddFile(f);
      if (!st.ok()) return st;
    }
  }
  return screen::Index::Build(std::move(builder).Finish());
}

// Reads batch queries: JSON lines, or CSV with a header naming a `name` column.
absl::StatusOr<std::vector<screen::ScreenQuery>> ReadBatch(const std::string& path) {
  std::string text;
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(Cat(path, ": cannot open file"));
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const std::string label = path == "-" ? "stdin" : path;
  std::vector<screen::ScreenQuery> out;
  std::string_view first = screen::internal::Trim(text);
  if (first.empty()) return out;
  if (first.front() == '{') {
    simdjson::dom::parser parser;
    int line_no = 0;
    for (std::string_view line : screen::internal::Split(text, "\n")) {
      ++line_no;
      line = screen::internal::Trim(line);
      if (line.empty()) continue;
      const std::string where = Cat(label, ":", line_no, ": ");
      simdjson::dom::element doc;
      simdjson::padded_string padded(line);
      if (auto err = parser.parse(padded).get(doc); err) {
        return absl::InvalidArgumentError(
            Cat(where, "not valid JSON (", simdjson::error_message(err), ")"));
      }
      if (!doc.is_object()) return absl::InvalidArgumentError(Cat(where, "expected an object"));
      auto str = [&](const char* key, std::string* value) -> absl::Status {
        simdjson::dom::element el;
        if (doc[key].get(el) != simdjson::SUCCESS || el.is_null()) return absl::OkStatus();
        if (!el.is_string()) {
          return absl::InvalidArgumentError(Cat(where, "field \"", key, "\" must be a string"));
        }
        *value = std::string(el.get_string().value_unsafe());
        return absl::OkStatus();
      };
      std::string name, country, type;
      for (auto [key, value] : {std::pair{"name", &name}, std::pair{"country", &country},
                                std::pair{"type", &type}}) {
        if (absl::Status st = str(key, value); !st.ok()) return st;
      }
      auto q = screen::MakeQuery(std::move(name), country, type, where);
      if (!q.ok()) return q.status();
      out.push_back(std::move(*q));
    }
    return out;
  }
  screen::internal::DelimitedText csv = screen::internal::ParseDelimited(text, ',');
  if (csv.truncated_line > 0) {
    return absl::InvalidArgumentError(
        Cat(label, ":", csv.truncated_line, ": unterminated quoted field"));
  }
  if (csv.rows.empty()) return out;
  const auto& header = csv.rows[0].fields;
  int name_col = -1, country_col = -1, type_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = screen::internal::Lower(screen::internal::Trim(header[i]));
    if (h == "name") name_col = static_cast<int>(i);
    if (h == "country") country_col = static_cast<int>(i);
    if (h == "type") type_col = static_cast<int>(i);
  }
  if (name_col < 0) {
    return absl::InvalidArgumentError(
        Cat(label, ":1: CSV header has no \"name\" column (batch input is JSON lines or CSV "
                   "with a name column)"));
  }
  for (size_t r = 1; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    const std::string where = Cat(label, ":", row.line, ": ");
    auto cell = [&](int col) -> std::string {
      return col >= 0 && col < static_cast<int>(row.fields.size())
                 ? std::string(screen::internal::Trim(row.fields[col]))
                 : std::string();
    };
    auto q = screen::MakeQuery(cell(name_col), cell(country_col), cell(type_col), where);
    if (!q.ok()) return q.status();
    out.push_back(std::move(*q));
  }
  return out;
}

int RunScreen(const ScreenArgs& args) {
  if (args.names.empty() && args.batch.empty()) {
    std::cerr << "eargate screen: give one or more NAMEs or --batch FILE\n";
    return kExitBadInput;
  }
  if (!args.names.empty() && !args.batch.empty()) {
    std::cerr << "eargate screen: give NAMEs or --batch, not both\n";
    return kExitBadInput;
  }
  if (!(args.threshold >= 0 && args.threshold <= 1)) {
    std::cerr << "eargate screen: --threshold must be in [0, 1]\n";
    return kExitBadInput;
  }
  if (args.limit < 1) {
    std::cerr << "eargate screen: --limit must be at least 1\n";
    return kExitBadInput;
  }
  std::vector<screen::ScreenQuery> queries;
  if (!args.batch.empty()) {
    auto batch = ReadBatch(args.batch);
    if (!batch.ok()) {
      std::cerr << "eargate screen: " << batch.status().message() << "\n";
      return kExitBadInput;
    }
    queries = std::move(*batch);
  } else {
    for (const std::string& n : args.names) {
      auto q = screen::MakeQuery(n, args.country, args.type, "");
      if (!q.ok()) {
        std::cerr << "eargate screen: " << q.status().message() << "\n";
        return kExitBadInput;
      }
      queries.push_back(std::move(*q));
    }
  }
  auto index = LoadIndex(args.lists);
  if (!index.ok()) {
    std::cerr << "eargate screen: " << index.status().message() << "\n";
    return kExitBadInput;
  }
  screen::ScreenOptions options;
  options.threshold = args.threshold;
  options.limit = args.limit;
  std::string out;
  for (const screen::ScreenQuery& q : queries) {
    out += screen::ResultLine(q, (*index)->Screen(q, options));
    out.push_back('\n');
    if (out.size() > (1 << 16)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  return kExitOk;
}

}  // namespace

EG_REGISTER_COMMAND(screen, [](CLI::App& app) {
  auto args = std::make_shared<ScreenArgs>();
  CLI::App* sub = app.add_subcommand(
      "screen",
      "Screen names against the restricted-party lists (Entity List, Denied Persons, OFAC SDN,\n"
      "Unverified, MEU and the other CSL lists). One JSON line per query, best match first:\n"
      "  {\"query\": {\"name\": ...}, \"matches\": [{\"list\", \"entity_id\", \"name\",\n"
      "   \"matched_name\", \"score\", \"cite\", ...}]}\n"
      "Lists: every list file under <data-dir>/screening, or the --list files (format\n"
      "recognised from content: OFAC sdn/alt/add/comments CSV, CSL CSV or JSON, BIS dpl.txt).");
  sub->add_option("names", args->names, "names to screen (each one query)");
  sub->add_option("--country", args->country,
                  "ISO 3166-1 alpha-2 country of the queried party (tie-breaker)");
  sub->add_option("--type", args->type, "person | organization | vessel | aircraft");
  sub->add_option("--threshold", args->threshold, "minimum score in [0, 1]")
      ->default_val(screen::kDefaultThreshold);
  sub->add_option("--limit", args->limit, "at most N matches per query")->default_val(10);
  sub->add_option("--list", args->lists,
                  "screen against this list file instead of the bundled lists (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--batch", args->batch,
                  "read queries from FILE (- for stdin): JSON lines {\"name\", \"country\", "
                  "\"type\"} or CSV with a name column");
  SetAction(sub, [args] { return RunScreen(*args); });
});

}  // namespace eargate::cli
