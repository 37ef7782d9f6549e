// eargate policy check | show: validate a policy, and say in words what is in force.
#include <iostream>

#include "eargate/cli/command.h"
#include "eargate/cli/common.h"
#include "eargate/core/strings.h"
#include "eargate/core/time.h"

namespace eargate::cli {
namespace {

using core::StrCat;

std::string Names(const rules::PolicySnapshot& p, const std::vector<int>& items) {
  std::vector<std::string> ids;
  for (int i : items) ids.push_back(p.items()[i].id);
  return ids.empty() ? "all items" : core::StrJoin(ids, ", ");
}

template <typename E>
std::string MaskText(uint32_t mask, int count, std::string_view all) {
  if (mask == (1u << count) - 1) return std::string(all);
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i)
    if (mask >> i & 1) names.emplace_back(core::Name(static_cast<E>(i)));
  return core::StrJoin(names, ", ");
}

std::string DestText(const rules::Destinations& d) {
  return d.worldwide ? "worldwide" : core::StrJoin(d.written, ", ");
}

std::string Window(core::Timestamp from, const std::optional<core::Timestamp>& until) {
  return StrCat("from ", core::FormatTime(from), until ? StrCat(" until ", core::FormatTime(*until)) : " (no end)");
}

int RunCheck(const std::string& path) {
  auto p = LoadPolicyOrReport(path);
  if (!p) return kExitBadInput;
  std::cout << "ok: " << path << "\n"
            << "version: " << p->version() << "\n"
            << "files: " << core::StrJoin(p->files(), ", ") << "\n"
            << "items: " << p->items().size() << ", notices: " << p->notices().size()
            << ", licenses: " << p->licenses().size() << ", programs: " << p->programs().size()
            << ", operator rules: " << p->operator_rules().size() << "\n";
  return kExitOk;
}

int RunShow(const std::string& path, const std::string& at_text) {
  auto p = LoadPolicyOrReport(path);
  if (!p) return kExitBadInput;
  core::Timestamp at = core::Clock::System().Now();
  if (!at_text.empty()) {
    auto t = core::ParseTime(at_text);
    if (!t) {
      std::cerr << "eargate policy show: --at: not an RFC 3339 time (got '" << at_text << "')\n";
      return kExitBadInput;
    }
    at = *t;
  }
  std::ostream& o = std::cout;
  o << "Policy " << path << "\n  version " << p->version() << "\n  as of " << core::FormatTime(at) << "\n\n";
  o << "Reading: remote access is "
    << (p->remote_access() == core::RemoteAccess::kRelease
            ? "a release: reaching the running model counts as transmitting it (the June 12 letter's apparent reading)"
            : "not an export: running the model for a user transmits no item (BIS advisory opinions 2009/2014); weights still are")
    << ".\n  Service levels that count as remote access: "
    << MaskText<core::ServiceLevel>(p->remote_access_scope(), 3, "iaas, paas, saas") << ".\n";
  const auto& u = p->uncertain();
  o << "  When facts are missing or doubtful: US-person status unknown -> " << core::Name(u.us_person_unknown)
    << "; location unknown -> " << core::Name(u.location_unknown) << "; anonymizer -> "
    << core::Name(u.anonymizer) << "; declared/IP country mismatch -> " << core::Name(u.location_mismatch)
    << "; potential screening match -> " << core::Name(u.screening_potential_match)
    << "; nationality unknown -> " << core::Name(u.nationality_unknown)
    << "; unmapped destination -> " << core::Name(u.destination_unmapped) << ".\n\n";

  o << "Items (" << p->items().size() << "):\n";
  for (const auto& it : p->items()) {
    std::vector<std::string> sf;
    for (auto c : it.served_from) sf.push_back(c.code());
    o << "  - " << it.id << " (" << it.name << "): " << core::Name(it.kind) << ", "
      << (it.subject_to_ear ? StrCat("classified ", it.classification) : std::string("not subject to the EAR"))
      << ", " << core::Name(it.service_level) << ", served from " << core::StrJoin(sf, ", ");
    if (!it.aliases.empty()) o << "; API names " << core::StrJoin(it.aliases, ", ");
    o << "\n";
  }
  auto section = [&](std::string_view title, size_t in_force, size_t total) {
    o << "\n" << title << " in force (" << in_force << " of " << total << "):\n";
  };
  size_t n = 0;
  for (const auto& x : p->notices()) n += x.InForce(at);
  section("Notices", n, p->notices().size());
  for (const auto& x : p->notices()) {
    if (!x.InForce(at)) {
      o << "  (not in force: " << x.id << ", " << Window(x.effective, x.expires) << ")\n";
      continue;
    }
    o << "  - " << x.id << (x.title.empty() ? "" : StrCat(": ", x.title)) << "\n"
      << "    a license is required for " << MaskText<core::Activity>(x.activities, core::kActivityCount, "every export, reexport, transfer and release")
      << " of " << Names(*p, x.items) << " (" << MaskText<core::Layer>(x.layers, core::kLayerCount, "every layer")
      << " access, channels " << MaskText<core::Channel>(x.channels, core::kChannelCount, "any") << ") to "
      << DestText(x.destinations) << ", for "
      << (x.persons == rules::Persons::kAll ? "all persons" : "foreign persons only");
    if (x.knowledge) o << ", only with knowledge of " << MaskText<core::Knowledge>(x.knowledge, core::kKnowledgeCount, "any");
    o << "; license exceptions " << (x.exceptions_allowed ? "may be used" : x.exception_programs.empty() ? "may not be used" : "limited to listed programs")
      << ".\n    authorities: " << core::StrJoin(x.authorities, "; ") << "; " << Window(x.effective, x.expires) << "\n";
  }
  n = 0;
  for (const auto& x : p->licenses()) n += x.ValidAt(at);
  section("Licenses", n, p->licenses().size());
  for (const auto& x : p->licenses()) {
    o << (x.ValidAt(at) ? "  - " : "  (not valid now) ") << x.id << " (" << x.issuer << "): authorizes "
      << MaskText<core::Activity>(x.activities, core::kActivityCount, "any activity") << " of " << Names(*p, x.items)
      << " to " << DestText(x.destinations) << " for "
      << (x.end_users.empty() ? std::string("any end user") : core::StrJoin(x.end_users, ", ")) << ", "
      << Window(x.valid_from, x.valid_until) << "\n";
  }
  n = 0;
  for (const auto& x : p->programs()) n += x.ValidAt(at);
  section("Programs and license exceptions", n, p->programs().size());
  for (const auto& x : p->programs()) {
    o << (x.ValidAt(at) ? "  - " : "  (not valid now) ") << x.id << " (" << x.name << "): authorizes "
      << Names(*p, x.items) << " to " << DestText(x.destinations) << " for "
      << (x.persons == rules::ProgramPersons::kAny ? "any person" : "nationals of those destinations") << ", "
      << Window(x.valid_from, x.valid_until) << "\n";
  }
  n = 0;
  for (const auto& x : p->operator_rules()) n += x.InForce(at);
  section("Operator rules (not law)", n, p->operator_rules().size());
  for (const auto& x : p->operator_rules()) {
    o << (x.InForce(at) ? "  - " : "  (not in force) ") << x.id << ": " << (x.text.empty() ? "restricts" : x.text)
      << "; " << Names(*p, x.items) << " for persons in " << DestText(x.destinations) << "\n";
  }
  return kExitOk;
}

EG_REGISTER_COMMAND(policy, [](CLI::App& app) {
  CLI::App* policy = app.add_subcommand("policy", "Validate policy files and show what is in force.");
  policy->require_subcommand(1);
  auto check_path = std::make_shared<std::string>();
  CLI::App* check = policy->add_subcommand(
      "check",
      "Validate a policy completely; print its version (sha256 of the canonical form and the\n"
      "reference data). Every error is printed as file:line:col: message.\n"
      "Exit: 0 ok, 2 errors.");
  check->add_option("policy", *check_path, "policy file (YAML)")->required();
  SetAction(check, [check_path] { return RunCheck(*check_path); });

  auto show_path = std::make_shared<std::string>();
  auto show_at = std::make_shared<std::string>();
  CLI::App* show = policy->add_subcommand(
      "show", "Say in words what a policy puts in force at a time: items, notices, licenses,\n"
              "programs and operator rules.");
  show->add_option("policy", *show_path, "policy file (YAML)")->required();
  show->add_option("--at", *show_at, "RFC 3339 time (default: now)");
  SetAction(show, [show_path, show_at] { return RunShow(*show_path, *show_at); });
});

}  // namespace
}  // namespace eargate::cli
