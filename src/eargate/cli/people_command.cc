// `eargate people import|export|add-key|revoke-key`: the person registry in the store.
// Imports are all or nothing: every row error is printed ("file:line: field: problem") and
// nothing is written unless the whole file is good (exit 2 otherwise).
// With --audit-dir DIR, each change (person.create / person.update per imported person,
// api_key.create, api_key.revoke) is first recorded in that decision log as an admin_change
// record (store/admin_change.h: the admin API's form; who = "cli:<OS user>", before and
// after); when the records cannot be written, nothing is changed (exit 2).
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/core/csv.h"
#include "eargate/store/admin_change.h"
#include "eargate/store/people_io.h"
#include "eargate/store/store.h"

namespace eargate::cli {
namespace {

struct PeopleFlags {
  std::string store = DefaultStore();
  std::string file, format, output, person, key_sha256;
  std::string audit_dir;  // --audit-dir: record each change here first
};

// Records the changes (--audit-dir) before they are applied; false (printed) when they cannot
// be written. Nothing to do without --audit-dir.
bool RecordChanges(const PeopleFlags& f, const std::vector<store::AdminChange>& changes,
                   std::string_view command) {
  if (f.audit_dir.empty()) return true;
  absl::Status s = store::RecordAdminChanges(f.audit_dir, store::CliActor(), changes,
                                             core::Clock::System().Now());
  if (s.ok()) return true;
  std::cerr << "--audit-dir: the changes could not be recorded (" << s.message() << "); "
            << command << ": nothing changed\n";
  return false;
}

// A change that failed after its record was written: recorded as "<what>.failed" (best effort).
void RecordFailure(const PeopleFlags& f, std::string_view what, std::string_view person,
                   std::string_view target, const absl::Status& error) {
  if (f.audit_dir.empty()) return;
  std::string w = std::string(what) + ".failed";
  std::string message(error.message());
  (void)store::RecordAdminChanges(f.audit_dir, store::CliActor(),
                                  {{w, person, target, "null", "null", message}},
                                  core::Clock::System().Now());
}

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
  if (!f.audit_dir.empty()) {
    // Each person's record as stored before (one read of the registry for a big import).
    absl::flat_hash_map<std::string, store::PersonRecord> before;
    absl::flat_hash_map<std::string, bool> wanted;
    for (const auto& r : parsed.people) wanted.emplace(r.person.id, true);
    absl::Status read;
    if (parsed.people.size() > 100) {
      read = (*st)->ForEachPerson([&](const store::PersonRecord& r) {
        if (wanted.contains(r.person.id)) before.emplace(r.person.id, r);
      });
    } else {
      std::vector<std::string> ids;
      for (const auto& r : parsed.people) ids.push_back(r.person.id);
      auto got = (*st)->GetPeople(ids);
      read = got.status();
      if (got.ok())
        for (auto& r : *got) before.emplace(r.person.id, std::move(r));
    }
    if (!read.ok()) {
      std::cerr << "people import: cannot read the registry: " << read.message() << "\n";
      return kExitBadInput;
    }
    // The JSON texts the changes point into (reserved: no reallocation).
    std::vector<std::string> texts;
    texts.reserve(parsed.people.size() * 2);
    std::vector<store::AdminChange> changes;
    for (const auto& r : parsed.people) {
      auto it = before.find(r.person.id);
      store::PersonRecord after = r;  // the import adds keys to the active ones
      if (it != before.end()) {
        std::vector<std::string> keys = it->second.api_keys_sha256;
        for (const auto& k : r.api_keys_sha256)
          if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
        after.api_keys_sha256 = std::move(keys);
        texts.push_back(store::PersonChangeJson(it->second));
      } else {
        texts.push_back("null");
      }
      const std::string& before_json = texts.back();
      texts.push_back(store::PersonChangeJson(after));
      changes.push_back({it != before.end() ? "person.update" : "person.create", r.person.id,
                         r.person.id, before_json, texts.back(), ""});
    }
    if (!RecordChanges(f, changes, "people import")) return kExitBadInput;
  }
  absl::Status s = (*st)->ImportPeople(parsed.people);
  if (!s.ok()) {
    RecordFailure(f, "people.import", "", f.file, s);
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
  std::string person = f.person;
  if (!add) {
    auto who = (*st)->PersonForApiKey(f.key_sha256);
    if (!who.ok() || !*who) {
      std::cerr << (who.ok() ? "api key: not found or already revoked" : who.status().message()) << "\n";
      return kExitBadInput;
    }
    person = **who;
  }
  const char* what = add ? "api_key.create" : "api_key.revoke";
  std::string before = add ? "null" : store::ApiKeyChangeJson(person, f.key_sha256, true);
  std::string after = add ? store::ApiKeyChangeJson(person, f.key_sha256)
                          : store::ApiKeyChangeJson(person, f.key_sha256, false);
  if (!RecordChanges(f, {{what, person, f.key_sha256, before, after, ""}},
                     add ? "people add-key" : "people revoke-key"))
    return kExitBadInput;
  absl::Status s =
      add ? (*st)->AddApiKey(f.person, f.key_sha256) : (*st)->RevokeApiKey(f.key_sha256);
  if (!s.ok()) {
    RecordFailure(f, what, person, f.key_sha256, s);
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
  auto add_audit = [&](CLI::App* sub) {
    sub->add_option("--audit-dir", flags->audit_dir,
                    "record each change first in the decision log in this directory, as an "
                    "admin_change record (who: cli:<OS user>, before, after); nothing is changed "
                    "when it cannot be recorded. Not a running gateway's audit.dir (one writer "
                    "per log): e.g. a log of its own, searched with `eargate audit search`");
  };
  auto* imp = people->add_subcommand("import", "import people (all or nothing)");
  add_store(imp);
  imp->add_option("file", flags->file, "people file (JSONL as SPEC §3, or CSV)")->required();
  imp->add_option("--format", flags->format, "jsonl or csv (default: from the file name)");
  add_audit(imp);
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
  add_audit(add);
  SetAction(add, [flags] { return KeyAction(*flags, true); });

  auto* revoke = people->add_subcommand("revoke-key", "revoke an API key (its SHA-256)");
  add_store(revoke);
  revoke->add_option("key_sha256", flags->key_sha256, "SHA-256 hex of the key")->required();
  add_audit(revoke);
  SetAction(revoke, [flags] { return KeyAction(*flags, false); });
}

}  // namespace
}  // namespace eargate::cli

EG_REGISTER_COMMAND(people, eargate::cli::Register);
