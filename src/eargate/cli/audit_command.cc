// `eargate audit verify|export|search|ship`: the decision log for an auditor (SPEC §3,
// doc/audit_log_format.md). verify exits 0 when the log is intact, 1 when it found tampering
// (each problem printed with segment, offset and sequence number), 2 on bad input.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "eargate/cli/command.h"
#include "eargate/core/time.h"
#include "eargate/store/log_reader.h"
#include "eargate/store/record_shipper.h"
#include "eargate/store/store.h"

namespace eargate::cli {
namespace {

std::string DefaultAuditDir() {
  if (const char* env = std::getenv("EARGATE_AUDIT_DIR"); env && *env) return env;
  return "/var/lib/eargate/audit";
}

struct AuditFlags {
  std::string dir = DefaultAuditDir();
  std::string from, to, person, item, outcome, format = "jsonl", output, store, node = "local";
  std::string decision_id;
  std::string order = "oldest";
  size_t limit = 0;
  bool follow = false;
  bool shipped = false;
  bool index = false;
  double interval = 1.0;
};

// Builds the filter; prints the problem and returns false on bad input.
bool MakeFilter(const AuditFlags& f, store::RecordFilter* filter) {
  if (!f.from.empty()) {
    filter->from = core::ParseTime(f.from, true);
    if (!filter->from) {
      std::cerr << "--from: must be an RFC 3339 time or a date (got '" << f.from << "')\n";
      return false;
    }
  }
  if (!f.to.empty()) {
    filter->to = core::ParseTime(f.to, true);
    if (!filter->to) {
      std::cerr << "--to: must be an RFC 3339 time or a date (got '" << f.to << "')\n";
      return false;
    }
  }
  if (!f.outcome.empty()) {
    filter->outcome = core::ParseOutcome(f.outcome);
    if (!filter->outcome) {
      std::cerr << "--outcome: must be one of allow, review, deny (got '" << f.outcome << "')\n";
      return false;
    }
  }
  if (f.order != "oldest" && f.order != "newest") {
    std::cerr << "--order: must be one of oldest, newest (got '" << f.order << "')\n";
    return false;
  }
  filter->person = f.person;
  filter->item = f.item;
  filter->decision_id = f.decision_id;
  return true;
}

int Dump(const AuditFlags& f, bool is_search) {
  if (f.format != "jsonl" && f.format != "csv") {
    std::cerr << "--format: must be one of jsonl, csv (got '" << f.format << "')\n";
    return kExitBadInput;
  }
  store::RecordFilter filter;
  if (!MakeFilter(f, &filter)) return kExitBadInput;
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!f.output.empty() && f.output != "-") {
    file.open(f.output, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << f.output << ": cannot write\n";
      return kExitBadInput;
    }
    out = &file;
  }
  std::string buf;
  if (f.format == "csv") buf = store::RecordCsvHeader();
  size_t n = 0;
  const auto scan = is_search && f.order == "newest" ? store::ScanLogNewestFirst : store::ScanLog;
  absl::Status s = scan(f.dir, filter, [&](const store::LogRecord& r) {
    if (f.format == "csv")
      store::AppendRecordCsv(r, &buf);
    else
      store::AppendRecordJson(r, &buf);
    if (buf.size() > (1 << 20)) {
      out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
    ++n;
    return !(is_search && f.limit > 0 && n >= f.limit);
  }, /*stats=*/nullptr);
  out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out->flush();
  if (!s.ok()) {
    std::cerr << "audit: " << s.message() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

// `audit search --store`: records shipped by every node (or --node) from the store.
int SearchStore(const AuditFlags& f, bool node_given) {
  if (f.format != "jsonl") {
    std::cerr << "--format: only jsonl with --store (got '" << f.format << "')\n";
    return kExitBadInput;
  }
  store::ShippedFilter filter;
  if (!MakeFilter(f, &filter.records)) return kExitBadInput;
  if (node_given) filter.node = f.node;
  filter.limit = f.limit;
  filter.newest_first = f.order == "newest";
  auto shipper = store::RecordShipper::Open(f.store, "search");
  if (!shipper.ok()) {
    std::cerr << "audit search: --store: " << shipper.status().message() << "\n";
    return kExitBadInput;
  }
  std::string buf;
  absl::Status s = (*shipper)->Search(filter, [&](const store::ShippedRecord& r) {
    store::AppendShippedJson(r, &buf);
    if (buf.size() > (1 << 20)) {
      std::cout.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
    return true;
  });
  std::cout.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  std::cout.flush();
  if (!s.ok()) {
    std::cerr << "audit search: " << s.message() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

volatile sig_atomic_t g_stop = 0;

// `audit ship`: copies the node's log records to the store, once or (--follow) until stopped.
int Ship(const AuditFlags& f) {
  if (f.store.empty()) {
    std::cerr << "--store: required (sqlite:///path/file.db or postgresql://...)\n";
    return kExitBadInput;
  }
  if (f.interval <= 0) {
    std::cerr << "--interval: must be positive seconds\n";
    return kExitBadInput;
  }
  auto shipper = store::RecordShipper::Open(f.store, f.node);
  if (!shipper.ok()) {
    std::cerr << "audit ship: " << shipper.status().message() << "\n";
    return kExitBadInput;
  }
  if (f.follow) {
    ::signal(SIGINT, [](int) { g_stop = 1; });
    ::signal(SIGTERM, [](int) { g_stop = 1; });
  }
  uint64_t total = 0;
  do {
    auto r = (*shipper)->ShipOnce(f.dir);
    if (!r.ok()) {
      std::cerr << "audit ship: " << r.status().message() << "\n";
      return r.status().code() == absl::StatusCode::kFailedPrecondition ? kExitTampered
                                                                        : kExitBadInput;
    }
    total += r->shipped;
    if (!f.follow || r->shipped > 0)
      std::cout << "shipped " << r->shipped << " records of node " << f.node << " (store has up to seq "
                << r->last_seq << ")" << std::endl;
    for (double waited = 0; f.follow && !g_stop && waited < f.interval; waited += 0.1)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (f.follow && !g_stop);
  if (f.follow) std::cout << "stopped; shipped " << total << " records" << std::endl;
  return kExitOk;
}

// `verify --shipped`: the store's copy of the node's records against the log. Prints each
// difference; returns whether the copy is faithful, or nullopt when it could not be read.
std::optional<bool> CheckShipped(const AuditFlags& f) {
  auto shipper = store::RecordShipper::Open(f.store, f.node);
  absl::StatusOr<store::RecordShipper::CopyReport> copy =
      shipper.ok() ? (*shipper)->CheckCopy(f.dir) : shipper.status();
  if (!copy.ok()) {
    std::cerr << "audit verify: --shipped: " << copy.status().message() << "\n";
    return std::nullopt;
  }
  if (copy->last_shipped == 0) {
    std::cout << "store copy of node " << f.node << ": the store holds no records of this node "
              << "(a gateway's node name is its audit.node, by default <host name>:<audit.dir>)\n";
    return true;
  }
  for (const auto& d : copy->differences)
    std::cout << "TAMPERED store copy (node " << f.node << ") " << d << "\n";
  if (copy->differing > copy->differences.size())
    std::cout << "TAMPERED store copy (node " << f.node << "): "
              << copy->differing - copy->differences.size() << " more differences\n";
  std::cout << "store copy of node " << f.node << ": "
            << (copy->faithful() ? "faithful: " : "differs: ") << copy->rows_checked
            << " rows compared with the log, shipped up to seq " << copy->last_shipped
            << " (the log's last " << copy->last_in_log << ")";
  if (copy->older > 0) std::cout << ", " << copy->older << " rows older than the log not checked";
  if (!copy->faithful()) std::cout << ", " << copy->differing << " differences";
  std::cout << "\n";
  return copy->faithful();
}

int Verify(const AuditFlags& f) {
  if (f.shipped && f.store.empty()) {
    std::cerr << "--shipped needs --store\n";
    return kExitBadInput;
  }
  store::VerifyOptions opt;
  opt.write_indexes = f.index;
  if (!f.store.empty()) {
    auto st = store::Store::Open(f.store);
    if (!st.ok()) {
      std::cerr << "audit verify: --store: " << st.status().message() << "\n";
      return kExitBadInput;
    }
    auto cps = (*st)->ListCheckpoints(f.node);
    if (!cps.ok()) {
      std::cerr << "audit verify: " << cps.status().message() << "\n";
      return kExitBadInput;
    }
    opt.extra_checkpoints = std::move(*cps);
    opt.extra_checkpoints_name = absl::StrCat("store checkpoints (node ", f.node, ")");
  }
  auto report = store::VerifyLog(f.dir, opt);
  if (!report.ok()) {
    std::cerr << "audit verify: " << report.status().message() << "\n";
    return kExitBadInput;
  }
  for (const auto& p : report->problems)
    std::cout << "TAMPERED " << store::FormatProblem(p) << "\n";
  for (const auto& note : report->notes) std::cout << "note: " << note << "\n";
  std::cout << (report->intact() ? "intact: " : "tampered: ") << report->records << " records in "
            << report->segments << " segments, last seq " << report->last_seq
            << ", head sha256:" << core::HexEncode(report->head) << ", "
            << report->checkpoints_checked << " checkpoints checked, " << report->indexes_checked
            << " segment indexes checked";
  if (f.index) std::cout << ", " << report->indexes_written << " written";
  if (!report->intact()) std::cout << ", " << report->problems.size() << " problems";
  std::cout << "\n";
  bool faithful = true;
  if (f.shipped) {
    std::optional<bool> copy = CheckShipped(f);
    if (!copy) return kExitBadInput;
    faithful = *copy;
  }
  return report->intact() && faithful ? kExitOk : kExitTampered;
}

void Register(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "check, export and search the decision log");
  audit->require_subcommand(1);
  auto flags = std::make_shared<AuditFlags>();
  auto add_dir = [&](CLI::App* sub) {
    sub->add_option("--dir", flags->dir,
                    "the log directory (default $EARGATE_AUDIT_DIR or /var/lib/eargate/audit)");
  };
  auto* verify = audit->add_subcommand(
      "verify",
      "find edited, removed or reordered records; exit 0 intact, 1 tampered, 2 bad input");
  add_dir(verify);
  verify->add_option(
      "--store", flags->store,
      "also check the checkpoints kept in this store (sqlite://..., postgresql://...)");
  verify->add_option("--node", flags->node,
                     "the node whose checkpoints (and with --shipped, records) to read from the "
                     "store (default local)");
  verify->add_flag("--shipped", flags->shipped,
                   "with --store: also compare the node's records shipped to the store (the "
                   "copy `audit search --store` and the admin API's fleet search read) with the "
                   "log, field by field; a difference exits 1");
  verify->add_flag("--index", flags->index,
                   "also write the search index of each closed segment verified intact that has "
                   "none (audit-N.idx: the people and items of its records, by which `audit "
                   "search --person/--item` and the admin API skip segments; the gateway writes "
                   "them in its background verification)");
  SetAction(verify, [flags] { return Verify(*flags); });

  auto* exp = audit->add_subcommand("export", "write records as JSONL or CSV for an auditor");
  add_dir(exp);
  exp->add_option("--from", flags->from, "first time (RFC 3339 or date), inclusive");
  exp->add_option("--to", flags->to, "last time (RFC 3339 or date), inclusive");
  exp->add_option("--format", flags->format, "jsonl (default) or csv");
  exp->add_option("--output,-o", flags->output, "file to write (default stdout)");
  SetAction(exp, [flags] { return Dump(*flags, false); });

  auto* search = audit->add_subcommand("search", "find records by person, item, outcome, time or decision id");
  add_dir(search);
  search->add_option("--person", flags->person, "person or organization id");
  search->add_option("--item", flags->item, "item id");
  search->add_option("--outcome", flags->outcome, "allow, review or deny");
  search->add_option("--from", flags->from, "first time, inclusive");
  search->add_option("--to", flags->to, "last time, inclusive");
  search->add_option("--format", flags->format, "jsonl (default) or csv");
  search->add_option("--decision-id", flags->decision_id,
                     "one decision (the id a 451 answer or X-Eargate-Decision-Id names)");
  search->add_option("--order", flags->order,
                     "oldest (default: log order; with --store, by time) or newest first");
  search->add_option("--limit", flags->limit, "at most this many records (default all)");
  search->add_option("--store", flags->store,
                     "search the records shipped to this store (`audit ship`) by every node "
                     "instead of --dir");
  auto* search_node = search->add_option("--node", flags->node, "with --store: only this node");
  SetAction(search, [flags, search_node] {
    if (!flags->store.empty()) return SearchStore(*flags, search_node->count() > 0);
    if (search_node->count() > 0) {
      std::cerr << "--node needs --store\n";
      return kExitBadInput;
    }
    return Dump(*flags, true);
  });

  auto* ship = audit->add_subcommand(
      "ship", "copy this node's log records to the store for search across nodes (idempotent; "
              "resumes after the highest seq shipped)");
  add_dir(ship);
  ship->add_option("--store", flags->store, "the store: sqlite:///path/file.db or postgresql://...")
      ->required();
  ship->add_option("--node", flags->node, "this node's name in the store (default local)");
  ship->add_flag("--follow", flags->follow, "keep shipping new records until SIGINT/SIGTERM");
  ship->add_option("--interval", flags->interval, "with --follow: seconds between passes (default 1)");
  SetAction(ship, [flags] { return Ship(*flags); });
}

}  // namespace
}  // namespace eargate::cli

EG_REGISTER_COMMAND(audit, eargate::cli::Register);
