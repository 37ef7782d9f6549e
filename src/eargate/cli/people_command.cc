// `eargate people import|export|add-key|revoke-key`: the person registry in the store.
// Imports are all or nothing: every row error is printed ("file:line: field: problem") and
// nothing is written unless the whole file is good (exit 2 otherwise).
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/core/csv.h"
#include "eargate/store/people_io.h"
#include "eargate/store/store.h"

namespace eargate::cli {
namespace {

struct PeopleFlags {
  std::string store = DefaultStore();
  std::string file, format, output, person, key_sha256;
};

absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const PeopleFlags& f) {
  auto s = store::Store::Open(f.store);
  if (!s.ok()) std::cerr << "--store: " << s.status().message() << "\n";
  return s;
}

int Import(const PeopleFlags& f) {
  std::string fmt = f.format;
  if (fmt.empty()) fmt = absl::EndsWith(f.file, ".csv") ? "csv" : "jsonl";
  auto format = store::ParsePeopleFormat(fmt);
  if (!format) {
    std::cerr << "--format: must be one of jsonl, csv (got '" << fmt << "')\n";
    return kExitBadInput;
  }
  auto text = core::ReadFile(f.file);
  if (!text.ok()) {
    std::cerr << text.status().message() << "\n";
    return kExitBadInput;
  }
  auto data = LoadDataOrReport();
  if (!data) return kExitBadInput;
  store::ParsedPeople parsed = store::ParsePeople(*text, *format, f.file, *data);
  if (!parsed.errors.empty()) {
    for (const auto& e : parsed.errors) std::cerr << e << "\n";
    std::cerr << "people import: " << parsed.errors.size()
              << (parsed.errors.size() == 1 ? " error" : " errors") << "; nothing imported\n";
    return kExitBadInput;
  }
  auto st = OpenStore(f);
  if (!st.ok()) return kExitBadInput;
  absl::Status s = (*st)->ImportPeople(parsed.people);
  if (!s.ok()) {
    std::cerr << f.file << ": " << s.message() << "\npeople import: nothing imported\n";
    return kExitBadInput;
  }
  std::cout << "imported " << parsed.people.size() << " people\n";
  return kExitOk;
}

int Export(const PeopleFlags& f) {
  std::string fmt = f.format.empty() ? "jsonl" : f.format;
  auto format = store::ParsePeopleFormat(fmt);
  if (!format) {
    std::cerr << "--format: must be one of jsonl, csv (got '" << fmt << "')\n";
    return kExitBadInput;
  }
  auto st = OpenStore(f);
  if (!st.ok()) return kExitBadInput;
  std::string out = *format == store::PeopleFormat::kCsv ? store::PeopleCsvHeader() : "";
  absl::Status s = (*st)->ForEachPerson([&](const store::PersonRecord& r) {
    if (*format == store::PeopleFormat::kCsv)
      store::AppendPersonCsv(r, &out);
    else
      store::AppendPersonJsonl(r, &out);
  });
  if (!s.ok()) {
    std::cerr << "people export: " << s.message() << "\n";
    return kExitTampered;
  }
  if (f.output.empty() || f.output == "-") {
    std::cout << out;
  } else {
    std::ofstream file(f.output, std::ios::binary | std::ios::trunc);
    file << out;
    if (!file) {
      std::cerr << f.output << ": cannot write\n";
      return kExitBadInput;
    }
  }
  return kExitOk;
}

int KeyAction(const PeopleFlags& f, bool add) {
  if (!store::IsSha256Hex(f.key_sha256)) {
    std::cerr << "key: must be 64 lower-case hex digits (the SHA-256 of the API key)\n";
    return kExitBadInput;
  }
  auto st = OpenStore(f);
  if (!st.ok()) return kExitBadInput;
  absl::Status s =
      add ? (*st)->AddApiKey(f.person, f.key_sha256) : (*st)->RevokeApiKey(f.key_sha256);
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

void Register(CLI::App& app) {
  auto* people = app.add_subcommand("people", "the person registry: import, export, API keys");
  people->require_subcommand(1);
  auto flags = std::make_shared<PeopleFlags>();
  auto add_store = [&](CLI::App* sub) {
    sub->add_option("--store", flags->store,
                    "store URL (default $EARGATE_STORE or sqlite:///var/lib/eargate/eargate.db)");
  };
  auto* imp = people->add_subcommand("import", "import people (all or nothing)");
  add_store(imp);
  imp->add_option("file", flags->file, "people file (JSONL as SPEC §3, or CSV)")->required();
  imp->add_option("--format", flags->format, "jsonl or csv (default: from the file name)");
  SetAction(imp, [flags] { return Import(*flags); });

  auto* exp = people->add_subcommand("export", "write every person as JSONL or CSV");
  add_store(exp);
  exp->add_option("--format", flags->format, "jsonl (default) or csv");
  exp->add_option("--output,-o", flags->output, "file to write (default stdout)");
  SetAction(exp, [flags] { return Export(*flags); });

  auto* add = people->add_subcommand("add-key", "bind an API key (its SHA-256) to a person");
  add_store(add);
  add->add_option("person", flags->person, "person id")->required();
  add->add_option("key_sha256", flags->key_sha256, "SHA-256 hex of the key")->required();
  SetAction(add, [flags] { return KeyAction(*flags, true); });

  auto* revoke = people->add_subcommand("revoke-key", "revoke an API key (its SHA-256)");
  add_store(revoke);
  revoke->add_option("key_sha256", flags->key_sha256, "SHA-256 hex of the key")->required();
  SetAction(revoke, [flags] { return KeyAction(*flags, false); });
}

}  // namespace
}  // namespace eargate::cli

EG_REGISTER_COMMAND(people, eargate::cli::Register);
