// `eargate admin token create|list|revoke`: admin tokens of the admin API (/admin/v1), minted
// straight in the store (the first token cannot come from the API). A new token is printed
// once; the store keeps only its SHA-256. With --audit-dir DIR, create and revoke are first
// recorded in that decision log as admin_change records (admin_token.create / .revoke, who =
// "cli:<OS user>", before and after as the admin API records them); nothing is changed when
// the record cannot be written.
#include <cstdlib>
#include <iostream>

#include "eargate/cli/command.h"
#include "eargate/core/sha256.h"
#include "eargate/core/time.h"
#include "eargate/server/admin_api.h"
#include "eargate/store/admin_change.h"
#include "eargate/store/store.h"

namespace eargate::cli {
namespace {

std::string DefaultStore() {
  if (const char* env = std::getenv("EARGATE_STORE"); env && *env) return env;
  return "sqlite:///var/lib/eargate/eargate.db";
}

struct TokenFlags {
  std::string store = DefaultStore();
  std::string name, role, expires, token_sha256;
  std::string audit_dir;  // --audit-dir: record each change here first
};

// Records a change (--audit-dir) before it is applied; false (printed) when it cannot be
// written. Nothing to do without --audit-dir.
bool RecordChange(const TokenFlags& f, const store::AdminChange& change, std::string_view command) {
  if (f.audit_dir.empty()) return true;
  absl::Status s = store::RecordAdminChanges(f.audit_dir, store::CliActor(), {change},
                                             core::Clock::System().Now());
  if (s.ok()) return true;
  std::cerr << "--audit-dir: the change could not be recorded (" << s.message() << "); " << command
            << ": nothing changed\n";
  return false;
}

void RecordFailure(const TokenFlags& f, std::string_view what, std::string_view target,
                   const absl::Status& error) {
  if (f.audit_dir.empty()) return;
  std::string w = std::string(what) + ".failed";
  std::string message(error.message());
  (void)store::RecordAdminChanges(f.audit_dir, store::CliActor(),
                                  {{w, "", target, "null", "null", message}}, core::Clock::System().Now());
}

std::unique_ptr<store::Store> OpenStore(const TokenFlags& f) {
  auto s = store::Store::Open(f.store);
  if (!s.ok()) {
    std::cerr << "--store: " << s.status().message() << "\n";
    return nullptr;
  }
  return std::move(*s);
}

int Create(const TokenFlags& f) {
  if (f.name.empty()) {
    std::cerr << "--name: required\n";
    return kExitBadInput;
  }
  auto role = store::ParseRole(f.role);
  if (!role) {
    std::cerr << "--role: unknown role '" << f.role << "' (viewer, analyst, officer, admin)\n";
    return kExitBadInput;
  }
  core::Timestamp expires = 0;
  if (!f.expires.empty()) {
    auto t = core::ParseTime(f.expires, /*allow_date=*/true);
    if (!t) {
      std::cerr << "--expires: not an RFC 3339 time or date (got '" << f.expires << "')\n";
      return kExitBadInput;
    }
    if (*t <= core::Clock::System().Now()) {
      std::cerr << "--expires: in the past (" << f.expires << ")\n";
      return kExitBadInput;
    }
    expires = *t;
  }
  auto st = OpenStore(f);
  if (!st) return kExitBadInput;
  std::string token = server::NewSecret("egadm-");
  store::AdminToken made{core::Sha256Hex(token), f.name, *role, core::Clock::System().Now(), expires, 0, 0};
  std::string after = store::AdminTokenJson(made);
  if (!RecordChange(f, {"admin_token.create", "", made.token_sha256, "null", after, ""}, "admin token create"))
    return kExitBadInput;
  absl::Status s = st->CreateAdminToken(made.token_sha256, f.name, *role, expires);
  if (!s.ok()) {
    RecordFailure(f, "admin_token.create", made.token_sha256, s);
    std::cerr << "admin token create: " << s.message() << "\n";
    return kExitBadInput;
  }
  std::cerr << "admin token '" << f.name << "' (" << store::Name(*role) << ")"
            << (expires ? ", expires " + core::FormatTime(expires) : std::string())
            << ": shown once, only its SHA-256 is stored\n";
  std::cout << token << "\n";
  return kExitOk;
}

int List(const TokenFlags& f) {
  auto st = OpenStore(f);
  if (!st) return kExitBadInput;
  auto tokens = st->ListAdminTokens();
  if (!tokens.ok()) {
    std::cerr << "admin token list: " << tokens.status().message() << "\n";
    return kExitTampered;
  }
  auto t = [](core::Timestamp v) { return v ? core::FormatTime(v) : std::string("-"); };
  std::cout << "token_sha256\tname\trole\tcreated\texpires\trevoked\tlast_used\n";
  for (const auto& k : *tokens) {
    std::cout << k.token_sha256 << "\t" << k.name << "\t" << store::Name(k.role) << "\t"
              << t(k.created_at) << "\t" << t(k.expires_at) << "\t" << t(k.revoked_at) << "\t"
              << t(k.last_used_at) << "\n";
  }
  return kExitOk;
}

int Revoke(const TokenFlags& f) {
  if (!store::IsSha256Hex(f.token_sha256)) {
    std::cerr << "token_sha256: must be 64 lower-case hex digits (see `eargate admin token list`)\n";
    return kExitBadInput;
  }
  auto st = OpenStore(f);
  if (!st) return kExitBadInput;
  if (!f.audit_dir.empty()) {
    auto tokens = st->ListAdminTokens();
    if (!tokens.ok()) {
      std::cerr << "admin token revoke: " << tokens.status().message() << "\n";
      return kExitBadInput;
    }
    std::optional<store::AdminToken> before;
    for (const auto& t : *tokens)
      if (t.token_sha256 == f.token_sha256 && t.revoked_at == 0) before = t;
    if (!before) {
      std::cerr << "admin token revoke: admin token: not found or already revoked\n";
      return kExitBadInput;
    }
    store::AdminToken after = *before;
    after.revoked_at = core::Clock::System().Now();
    std::string b = store::AdminTokenJson(*before), a = store::AdminTokenJson(after);
    if (!RecordChange(f, {"admin_token.revoke", "", f.token_sha256, b, a, ""}, "admin token revoke"))
      return kExitBadInput;
  }
  absl::Status s = st->RevokeAdminToken(f.token_sha256);
  if (!s.ok()) {
    RecordFailure(f, "admin_token.revoke", f.token_sha256, s);
    std::cerr << "admin token revoke: " << s.message() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

void Register(CLI::App& app) {
  auto* admin = app.add_subcommand("admin", "admin API tokens (eargate serve --store: /admin/v1)");
  admin->require_subcommand(1);
  auto* token = admin->add_subcommand("token", "create, list or revoke admin tokens");
  token->require_subcommand(1);
  auto flags = std::make_shared<TokenFlags>();
  auto add_store = [&](CLI::App* sub) {
    sub->add_option("--store", flags->store,
                    "store URL (default $EARGATE_STORE or sqlite:///var/lib/eargate/eargate.db)");
  };
  auto* create = token->add_subcommand(
      "create", "mint a token and print it once (roles: viewer < analyst < officer < admin)");
  add_store(create);
  create->add_option("--name", flags->name, "who holds the token (recorded with each change)")->required();
  create->add_option("--role", flags->role, "viewer | analyst | officer | admin")->required();
  create->add_option("--expires", flags->expires, "RFC 3339 time or date (default: never)");
  auto add_audit = [&](CLI::App* sub) {
    sub->add_option("--audit-dir", flags->audit_dir,
                    "record the change first in the decision log in this directory, as an "
                    "admin_change record (who: cli:<OS user>, before, after); nothing is changed "
                    "when it cannot be recorded. Not a running gateway's audit.dir (one writer per log)");
  };
  add_audit(create);
  SetAction(create, [flags] { return Create(*flags); });

  auto* list = token->add_subcommand("list", "list tokens (their SHA-256, never the token)");
  add_store(list);
  SetAction(list, [flags] { return List(*flags); });

  auto* revoke = token->add_subcommand("revoke", "revoke a token by its SHA-256");
  add_store(revoke);
  revoke->add_option("token_sha256", flags->token_sha256, "SHA-256 hex of the token")->required();
  add_audit(revoke);
  SetAction(revoke, [flags] { return Revoke(*flags); });
}

}  // namespace
}  // namespace eargate::cli

EG_REGISTER_COMMAND(admin, eargate::cli::Register);
