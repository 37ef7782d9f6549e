// eargate decide: decisions as JSON (one request) or JSON lines (--batch).
#include <cstdio>
#include <iostream>

#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/core/csv.h"
#include "eargate/core/json.h"
#include "eargate/core/strings.h"
#include "eargate/core/time.h"
#include "eargate/decide/engine.h"
#include "eargate/wire/decision_json.h"
#include "eargate/wire/people_file.h"
#include "eargate/wire/request_json.h"

namespace eargate::cli {
namespace {

struct DecideOptions {
  std::string policy;
  std::string request;
  std::string batch;
  std::string people;
  std::string at;
};

// Reads `path` ("-" = stdin) in large chunks and calls fn(line, line_no) for each line.
template <typename Fn>
bool ForEachLine(const std::string& path, Fn fn) {
  FILE* in = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!in) {
    std::cerr << "eargate decide: cannot open " << path << "\n";
    return false;
  }
  std::string buf;
  std::vector<char> chunk(1 << 20);
  long line_no = 0;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), in)) > 0) {
    buf.append(chunk.data(), n);
    size_t start = 0, nl;
    while ((nl = buf.find('\n', start)) != std::string::npos) {
      fn(std::string_view(buf).substr(start, nl - start), ++line_no);
      start = nl + 1;
    }
    buf.erase(0, start);
  }
  if (!buf.empty()) fn(std::string_view(buf), ++line_no);
  if (in != stdin) std::fclose(in);
  return true;
}

int RunDecide(const DecideOptions& o) {
  if (o.request.empty() == o.batch.empty()) {
    std::cerr << "eargate decide: give either a request file or --batch FILE (- for stdin)\n";
    return kExitBadInput;
  }
  auto policy = LoadPolicyOrReport(o.policy);
  if (!policy) return kExitBadInput;
  std::unique_ptr<wire::PeopleFile> people;
  if (!o.people.empty()) {
    auto loaded = wire::PeopleFile::Load(o.people, policy->data());
    if (!loaded.ok()) {
      std::cerr << loaded.status().message() << "\n";
      return kExitBadInput;
    }
    people = std::move(*loaded);
  }
  core::Timestamp now = core::Clock::System().Now();
  if (!o.at.empty()) {
    auto t = core::ParseTime(o.at);
    if (!t) {
      std::cerr << "eargate decide: --at: not an RFC 3339 time such as 2026-06-13T12:00:00Z (got '"
                << o.at << "')\n";
      return kExitBadInput;
    }
    now = *t;
  }
  wire::RequestParser parser(policy->data(), people.get());
  core::Request req;
  decide::Decision decision;

  if (!o.request.empty()) {
    auto text = o.request == "-" ? absl::StatusOr<std::string>(std::string(
                                       std::istreambuf_iterator<char>(std::cin), {}))
                                 : core::ReadFile(o.request);
    if (!text.ok()) {
      std::cerr << "eargate decide: " << text.status().message() << "\n";
      return kExitBadInput;
    }
    if (auto st = parser.Parse(*text, now, &req); !st.ok()) {
      std::cerr << o.request << ": " << st.message() << "\n";
      return kExitBadInput;
    }
    decide::Decide(*policy, req, &decision);
    std::string out;
    wire::AppendDecisionJson(*policy, req, decision, wire::NewDecisionId(), &out);
    std::cout << out << "\n";
    return kExitOk;
  }

  // Batch: one output line per input line; a bad line yields an error object and the rest go on.
  std::string out;
  out.reserve(1 << 21);
  long bad = 0;
  bool ok = ForEachLine(o.batch, [&](std::string_view line, long line_no) {
    line = core::StripWhitespace(line);
    if (line.empty()) return;
    if (auto st = parser.Parse(line, now, &req); !st.ok()) {
      ++bad;
      out.append("{\"error\":{\"line\":");
      core::StrAppend(&out, line_no);
      out.append(",\"message\":");
      core::AppendJsonString(std::string(st.message()), &out);
      out.append("}}\n");
    } else {
      decide::Decide(*policy, req, &decision);
      wire::AppendDecisionJson(*policy, req, decision, wire::NewDecisionId(), &out);
      out.push_back('\n');
    }
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  });
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  if (!ok) return kExitBadInput;
  if (bad) {
    std::cerr << "eargate decide: " << bad << " line(s) could not be decided (see their error objects)\n";
    return kExitBadInput;
  }
  return kExitOk;
}

EG_REGISTER_COMMAND(decide, [](CLI::App& app) {
  auto o = std::make_shared<DecideOptions>();
  CLI::App* sub = app.add_subcommand(
      "decide",
      "Decide requests (SPEC §2) under a policy and print each decision as JSON.\n"
      "  eargate decide --policy examples/policies/letter.yaml examples/requests/foreign-in-us.json\n"
      "  eargate decide --policy P --batch requests.jsonl > decisions.jsonl\n"
      "Exit: 0 all decided, 2 bad input (a bad batch line gets an {\"error\":...} line; the rest go on).");
  sub->add_option("--policy,-p", o->policy, "policy file (YAML)")->required();
  sub->add_option("request", o->request, "a request JSON file (- for stdin)");
  sub->add_option("--batch,-b", o->batch, "JSON-lines file of requests (- for stdin)");
  sub->add_option("--people", o->people,
                  "people file (JSON lines, SPEC §3) for requests that give a person by id only");
  sub->add_option("--at", o->at, "time for requests without \"at\" (RFC 3339; default: now)");
  SetAction(sub, [o] { return RunDecide(*o); });
});

}  // namespace
}  // namespace eargate::cli
