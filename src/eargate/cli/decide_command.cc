// eargate decide: decisions as JSON (one request) or JSON lines (--batch).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <thread>
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

// A slice of the batch input: whole lines, decided by one worker into its own output.
struct Chunk {
  std::string in;
  long first_line = 0;
  std::string out;
  long bad = 0;
};

void DecideChunk(const rules::PolicySnapshot& policy, const wire::PersonLookup* people,
                 core::Timestamp now, Chunk* c) {
  wire::RequestParser parser(policy.data(), people);
  core::Request req;
  decide::Decision decision;
  c->out.reserve(c->in.size() * 4);
  std::string_view in(c->in);
  long line_no = c->first_line;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t nl = in.find('\n', pos);
    if (nl == std::string_view::npos) nl = in.size();
    std::string_view line = core::StripWhitespace(in.substr(pos, nl - pos));
    pos = nl + 1;
    long this_line = line_no++;
    if (line.empty()) continue;
    if (auto st = parser.Parse(line, now, &req); !st.ok()) {
      ++c->bad;
      c->out.append("{\"error\":{\"line\":");
      core::StrAppend(&c->out, this_line);
      c->out.append(",\"message\":");
      core::AppendJsonString(std::string(st.message()), &c->out);
      c->out.append("}}\n");
      continue;
    }
    decide::Decide(policy, req, &decision);
    wire::AppendDecisionJson(policy, req, decision, wire::NewDecisionId(), &c->out);
    c->out.push_back('\n');
  }
}

// Batch: read big slices of whole lines, decide them on every core, write in input order.
// Returns the number of bad lines, or -1 when the input cannot be read.
long RunBatch(const std::string& path, const rules::PolicySnapshot& policy,
              const wire::PersonLookup* people, core::Timestamp now) {
  FILE* in = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!in) {
    std::cerr << "eargate decide: cannot open " << path << "\n";
    return -1;
  }
  const size_t workers = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  constexpr size_t kChunkBytes = 1 << 20;
  std::deque<std::future<Chunk>> inflight;
  long bad = 0;
  auto write_front = [&] {
    Chunk c = inflight.front().get();
    inflight.pop_front();
    std::fwrite(c.out.data(), 1, c.out.size(), stdout);
    bad += c.bad;
  };
  std::string carry;
  std::vector<char> buf(kChunkBytes);
  long next_line = 1;
  auto submit = [&](std::string text) {
    long lines = 0;
    for (const char* q = text.data(); (q = static_cast<const char*>(std::memchr(q, '\n', text.data() + text.size() - q)));
         ++q)
      ++lines;
    Chunk c;
    c.in = std::move(text);
    c.first_line = next_line;
    next_line += lines;
    inflight.push_back(std::async(std::launch::async, [&policy, people, now, c = std::move(c)]() mutable {
      DecideChunk(policy, people, now, &c);
      c.in.clear();
      return std::move(c);
    }));
    if (inflight.size() >= 2 * workers) write_front();
  };
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    carry.append(buf.data(), n);
    size_t last_nl = carry.rfind('\n');
    if (last_nl == std::string::npos || carry.size() < kChunkBytes) continue;
    std::string rest = carry.substr(last_nl + 1);
    carry.resize(last_nl + 1);
    submit(std::move(carry));
    carry = std::move(rest);
  }
  if (in != stdin) std::fclose(in);
  if (!carry.empty()) submit(std::move(carry));
  while (!inflight.empty()) write_front();
  std::fflush(stdout);
  return bad;
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
  long bad = RunBatch(o.batch, *policy, people.get(), now);
  if (bad < 0) return kExitBadInput;
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
