#include "eargate/store/admin_change.h"

#include <pwd.h>
#include <unistd.h>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"
#include "eargate/store/people_io.h"
#include "eargate/wire/decision_json.h"

namespace eargate::store {
namespace {

void Field(std::string_view k, std::string* out, bool first = false) {
  if (!first) out->push_back(',');
  core::AppendJsonString(k, out);
  out->push_back(':');
}
void StrField(std::string_view k, std::string_view v, std::string* out, bool first = false) {
  Field(k, out, first);
  core::AppendJsonString(v, out);
}

}  // namespace

std::string AdminChangePayload(const ChangeActor& who, const AdminChange& c,
                               std::string_view change_id, core::Timestamp at) {
  std::string o = "{";
  StrField("type", "admin_change", &o, /*first=*/true);
  StrField("change_id", change_id, &o);
  Field("at", &o);
  if (at == 0) o += "null";
  else core::AppendJsonString(core::FormatTime(at), &o);
  Field("who", &o);
  o.push_back('{');
  StrField("name", who.name, &o, /*first=*/true);
  StrField("role", who.role, &o);
  if (!who.token_sha256.empty()) StrField("token_sha256", who.token_sha256, &o);
  o.push_back('}');
  StrField("what", c.what, &o);
  StrField("target", c.target, &o);
  Field("before", &o);
  o += c.before.empty() ? "null" : c.before;
  Field("after", &o);
  o += c.after.empty() ? "null" : c.after;
  if (!c.error.empty()) StrField("error", c.error, &o);
  o.push_back('}');
  return o;
}

absl::StatusOr<std::string> AppendAdminChange(DecisionLog& log, const ChangeActor& who,
                                              const AdminChange& c, core::Timestamp at) {
  std::string id = wire::NewDecisionId(at);
  std::string payload = AdminChangePayload(who, c, id, at);
  LogEntry e;
  e.decision_id = id;
  e.person_id = c.person;
  e.item = c.what;
  e.time = at;
  e.kind = RecordKind::kAdminChange;
  e.payload = payload;
  auto seq = log.Append(e);
  if (!seq.ok()) return seq.status();
  return id;
}

absl::Status RecordAdminChanges(const std::string& dir, const ChangeActor& who,
                                const std::vector<AdminChange>& changes, core::Timestamp at) {
  if (changes.empty()) return absl::OkStatus();
  LogOptions options;
  options.durability = Durability::kAsync;  // chained in memory; Flush() below syncs them all
  auto log = DecisionLog::Open(dir, options);
  if (!log.ok()) return log.status();
  for (const AdminChange& c : changes) {
    auto id = AppendAdminChange(**log, who, c, at);
    if (!id.ok()) return id.status();
  }
  absl::Status flushed = (*log)->Flush();
  absl::Status closed = (*log)->Close();
  return flushed.ok() ? closed : flushed;
}

std::string PersonChangeJson(const PersonRecord& r) {
  std::string s;
  AppendPersonJsonl(r, &s);
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string AdminTokenJson(const AdminToken& t) {
  std::string o = "{";
  auto time = [&](std::string_view k, core::Timestamp v) {
    Field(k, &o);
    if (v == 0) o += "null";
    else core::AppendJsonString(core::FormatTime(v), &o);
  };
  StrField("token_sha256", t.token_sha256, &o, /*first=*/true);
  StrField("name", t.name, &o);
  StrField("role", Name(t.role), &o);
  time("created_at", t.created_at);
  time("expires_at", t.expires_at);
  time("revoked_at", t.revoked_at);
  time("last_used_at", t.last_used_at);
  o.push_back('}');
  return o;
}

std::string ApiKeyChangeJson(std::string_view person_id, std::string_view key_sha256,
                             std::optional<bool> active) {
  std::string o = "{";
  StrField("person_id", person_id, &o, /*first=*/true);
  StrField("key_sha256", key_sha256, &o);
  if (active) {
    Field("active", &o);
    o += *active ? "true" : "false";
  }
  o.push_back('}');
  return o;
}

ChangeActor CliActor() {
  ChangeActor a;
  uid_t uid = ::geteuid();
  std::string user = std::to_string(uid);
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found && found->pw_name)
    user = found->pw_name;
  a.name = core::StrCat("cli:", user);
  a.role = "cli";
  return a;
}

}  // namespace eargate::store
