// eargate decide: decisions as JSON (one request) or JSON lines (--batch).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <deque>
#include <mutex>
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
#ifdef EARGATE_HAVE_STORE
#include "eargate/store/decision_log.h"
#endif

namespace eargate::cli {
namespace {

struct DecideOptions {
  std::string policy;
  std::string request;
  std::string batch;
  std::string people;
  std::string at;
  std::string audit_dir;                  // --audit-dir: append every decision to this log
  std::string audit_durability = "sync";  // --audit-durability
};

// A decision to append to the decision log (the record's fields, owned).
struct Record {
  std::string decision_id, person, item, payload;
  core::Timestamp at = 0;
  core::Outcome outcome = core::Outcome::kDeny;
};

#ifdef EARGATE_HAVE_STORE
using LogPtr = std::unique_ptr<store::DecisionLog>;
#else
struct NoLog {};
using LogPtr = std::unique_ptr<NoLog>;
#endif

// Appends `records` in order and waits until they are durable (per the log's durability); the
// caller prints the decisions only then, so no decision is shown that the log lacks.
bool RecordAll(const LogPtr& log, const std::vector<Record>& records) {
#ifdef EARGATE_HAVE_STORE
  if (!log || records.empty()) return true;
  // One waiter per record, read after Flush (it needs no queue).
  std::vector<store::AppendWaiter> waiters(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    store::LogEntry e;
    e.decision_id = r.decision_id;
    e.person_id = r.person;
    e.item = r.item;
    e.time = r.at;
    e.outcome = r.outcome;
    e.payload = r.payload;
    if (!log->AppendAsync(e, &waiters[i]) && !waiters[i].result.ok()) break;
  }
  absl::Status failed = log->Flush();
  for (const store::AppendWaiter& w : waiters) {
    if (!failed.ok()) break;
    failed = w.result.status();
  }
  if (failed.ok()) return true;
  std::cerr << "eargate decide: --audit-dir: the decisions could not be recorded ("
            << failed.message() << "); stopping\n";
  return false;
#else
  (void)log;
  (void)records;
  return true;
#endif
}

// A slice of the batch input: whole lines, decided by one worker into its own output.
struct Chunk {
  std::string in;
  long first_line = 0;
  std::string out;
  long bad = 0;
  std::vector<Record> records;  // filled when the batch is logged
};

void DecideChunk(const rules::PolicySnapshot& policy, const wire::PersonLookup* people,
                 core::Timestamp now, bool record, Chunk* c) {
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
    std::string id = wire::NewDecisionId(req.at);
    wire::AppendDecisionJson(policy, req, decision, id, &c->out);
    c->out.push_back('\n');
    if (record) {
      Record r;
      wire::AppendDecisionRecord(policy, req, decision, id, "cli", &r.payload);
      r.decision_id = std::move(id);
      r.person = req.person.id;
      r.item = decision.item >= 0 ? std::string(policy.items()[decision.item].id) : req.item;
      r.at = req.at;
      r.outcome = decision.outcome;
      c->records.push_back(std::move(r));
    }
  }
}

// Batch: read big slices of whole lines, decide them on every core, write in input order.
// Returns the number of bad lines, or -1 when the input cannot be read.
long RunBatch(const std::string& path, const rules::PolicySnapshot& policy,
              const wire::PersonLookup* people, core::Timestamp now, const LogPtr& log) {
  FILE* in = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!in) {
    std::cerr << "eargate decide: cannot open " << path << "\n";
    return -1;
  }
  const size_t workers = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  constexpr size_t kChunkBytes = 1 << 20;
  std::deque<std::future<Chunk>> inflight;
  long bad = 0;
  bool log_failed = false;
  auto write_front = [&] {
    Chunk c = inflight.front().get();
    inflight.pop_front();
    if (log_failed) return;
    if (!RecordAll(log, c.records)) {
      log_failed = true;
      return;
    }
    std::fwrite(c.out.data(), 1, c.out.size(), stdout);
    bad += c.bad;
  };
  const bool record = log != nullptr;
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
    inflight.push_back(std::async(std::launch::async, [&policy, people, now, record, c = std::move(c)]() mutable {
      DecideChunk(policy, people, now, record, &c);
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
  return log_failed ? -1 : bad;
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
  LogPtr log;
  if (!o.audit_dir.empty()) {
#ifdef EARGATE_HAVE_STORE
    store::LogOptions options;
    auto durability = store::ParseDurability(o.audit_durability);
    if (!durability) {
      std::cerr << "eargate decide: --audit-durability: must be sync or async (got '" << o.audit_durability << "')\n";
      return kExitBadInput;
    }
    options.durability = *durability;
    auto opened = store::DecisionLog::Open(o.audit_dir, options);
    if (!opened.ok()) {
      std::cerr << "eargate decide: --audit-dir: " << opened.status().message() << "\n";
      return kExitBadInput;
    }
    log = std::move(*opened);
#else
    std::cerr << "eargate decide: --audit-dir: this build has no store module\n";
    return kExitBadInput;
#endif
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
    std::string id = wire::NewDecisionId(req.at);
    std::string out;
    wire::AppendDecisionJson(*policy, req, decision, id, &out);
    if (log) {
      Record r;
      wire::AppendDecisionRecord(*policy, req, decision, id, "cli", &r.payload);
      r.decision_id = id;
      r.person = req.person.id;
      r.item = decision.item >= 0 ? std::string(policy->items()[decision.item].id) : req.item;
      r.at = req.at;
      r.outcome = decision.outcome;
      if (!RecordAll(log, {r})) return kExitBadInput;
    }
    std::cout << out << "\n";
    return kExitOk;
  }

  // Batch: one output line per input line; a bad line yields an error object and the rest go on.
  long bad = RunBatch(o.batch, *policy, people.get(), now, log);
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
  sub->add_option("--audit-dir", o->audit_dir,
                  "append every decision to the decision log in this directory (doc/audit_log_format.md); "
                  "a decision is printed only once its record is durable");
  sub->add_option("--audit-durability", o->audit_durability, "sync (default: on disk before printing) or async");
  SetAction(sub, [o] { return RunDecide(*o); });
});

}  // namespace
}  // namespace eargate::cli
