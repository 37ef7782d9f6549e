#include "eargate/server/admin_api.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "eargate/core/json.h"
#include "eargate/core/sha256.h"
#include "eargate/core/strings.h"
#include "eargate/screen/fingerprint.h"
#include "eargate/server/gateway.h"
#include "eargate/server/log.h"
#include "eargate/store/log_reader.h"
#include "eargate/store/record_shipper.h"
#include "eargate/store/admin_change.h"
#include "eargate/store/people_io.h"
#include "eargate/wire/decision_json.h"

namespace eargate::server {

using core::StrCat;
using store::Role;

std::string NewSecret(std::string_view prefix) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kB64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out(prefix);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 63]);
  return out;
}

namespace {

// --- Small JSON writing helpers


// Writes one JSON object field by field.
class Obj {
 public:
  explicit Obj(std::string* out) : out_(out) { out_->push_back('{'); }
  Obj& Str(std::string_view k, std::string_view v) {
    Key(k);
    core::AppendJsonString(v, out_);
    return *this;
  }
  Obj& StrOrNull(std::string_view k, std::string_view v) {
    if (v.empty()) return Raw(k, "null");
    return Str(k, v);
  }
  Obj& Time(std::string_view k, core::Timestamp t) {
    if (t == 0) return Raw(k, "null");
    return Str(k, core::FormatTime(t));
  }
  Obj& Int(std::string_view k, int64_t v) { return Raw(k, std::to_string(v)); }
  Obj& Num(std::string_view k, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return Raw(k, buf);
  }
  Obj& Bool(std::string_view k, bool v) { return Raw(k, v ? "true" : "false"); }
  Obj& Raw(std::string_view k, std::string_view json) {
    Key(k);
    out_->append(json);
    return *this;
  }
  void Close() { out_->push_back('}'); }

 private:
  void Key(std::string_view k) {
    if (!first_) out_->push_back(',');
    first_ = false;
    core::AppendJsonString(k, out_);
    out_->push_back(':');
  }
  std::string* out_;
  bool first_ = true;
};

// The record forms shared with the CLI (store/admin_change.h).
std::string PersonJson(const store::PersonRecord& r) { return store::PersonChangeJson(r); }
std::string TokenJson(const store::AdminToken& t) { return store::AdminTokenJson(t); }

std::string KeyJson(const store::ApiKey& k) {
  std::string s;
  Obj(&s)
      .Str("key_sha256", k.key_sha256)
      .Str("person_id", k.person_id)
      .Time("created_at", k.created_at)
      .Time("last_used_at", k.last_used_at)
      .Time("revoked_at", k.revoked_at)
      .Bool("active", k.revoked_at == 0)
      .Close();
  return s;
}

std::string DispositionJson(const store::ScreeningDisposition& d,
                            std::optional<bool> in_force = std::nullopt) {
  std::string s;
  Obj o(&s);
  o.Str("person_id", d.person_id)
      .Str("list", d.list)
      .Str("entry_id", d.entry_id)
      .Str("entry_name", d.entry_name)
      .Str("entry_fingerprint", d.entry_fingerprint)
      .Str("decided_by", d.decided_by)
      .Time("decided_at", d.decided_at)
      .Str("reason", d.reason);
  // in_force: the entry still reads as when it was cleared (null: lists not loaded / entry gone).
  if (in_force) o.Bool("in_force", *in_force);
  o.Close();
  return s;
}

// A JSON string.
std::string JsonStr(const std::string& s) {
  std::string out;
  core::AppendJsonString(s, &out);
  return out;
}

template <typename T, typename F>
std::string JsonArray(const std::vector<T>& v, F f) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s.push_back(',');
    s += f(v[i]);
  }
  s.push_back(']');
  return s;
}

// --- Request pieces

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = FromHex(s[i + 1]), lo = FromHex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Thrown by handlers for a 4xx/5xx answer; caught in Handle().
struct Fail {
  int status;
  std::string type, code, message;
};
[[noreturn]] void BadRequest(std::string message) {
  throw Fail{400, "invalid_request_error", "bad_request", std::move(message)};
}
[[noreturn]] void NotFound(std::string message) {
  throw Fail{404, "invalid_request_error", "not_found", std::move(message)};
}
[[noreturn]] void Conflict(std::string message) {
  throw Fail{409, "invalid_request_error", "conflict", std::move(message)};
}
// A store error as an answer: NotFound 404, AlreadyExists 409, InvalidArgument 400,
// Unavailable 503, anything else 500.
[[noreturn]] void StoreFailed(const absl::Status& s) {
  std::string m(s.message());
  switch (s.code()) {
    case absl::StatusCode::kNotFound: NotFound(m);
    case absl::StatusCode::kAlreadyExists: Conflict(m);
    case absl::StatusCode::kInvalidArgument: BadRequest(m);
    case absl::StatusCode::kUnavailable:
      throw Fail{503, "server_error", "store_unavailable", StrCat("store: ", m)};
    default:
      Log(LogLevel::kError, StrCat("admin API: store: ", m));
      throw Fail{500, "server_error", "store_error", StrCat("store: ", m)};
  }
}
template <typename T>
T Must(absl::StatusOr<T> v) {
  if (!v.ok()) StoreFailed(v.status());
  return std::move(*v);
}
void Must(const absl::Status& s) {
  if (!s.ok()) StoreFailed(s);
}

struct Request {
  std::string_view method;
  std::vector<std::string> segments;  // after /admin/v1/, decoded
  std::vector<std::pair<std::string, std::string>> query;
  std::string_view body;
  store::AdminToken who;

  const std::string& Seg(size_t i) const { return segments.at(i); }
  // The query parameter `name` ("" when absent). Parameters not in `allowed` are errors.
  void AllowQuery(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [k, v] : query) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::vector<std::string_view> names(allowed);
        BadRequest(StrCat(k, ": unknown query parameter",
                          names.empty() ? std::string(" (none taken)")
                                        : StrCat(" (allowed: ", core::StrJoin(names, ", "), ")")));
      }
    }
  }
  std::string Param(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return "";
  }
};

// A JSON body of string fields (and nulls, for optional ones). Unknown fields are errors.
std::map<std::string, std::string> StringFields(std::string_view body,
                                                std::initializer_list<std::string_view> allowed,
                                                bool empty_ok = false) {
  std::map<std::string, std::string> out;
  if (core::StripWhitespace(body).empty()) {
    if (empty_ok) return out;
    BadRequest("body: must be a JSON object");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size(), true).get(doc)) BadRequest("body: not valid JSON");
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) BadRequest("body: must be a JSON object");
  for (auto field : obj) {
    std::string_view k = field.key;
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::vector<std::string_view> names(allowed);
      BadRequest(StrCat(k, ": unknown field (allowed: ", core::StrJoin(names, ", "), ")"));
    }
    if (field.value.is_null()) continue;
    std::string_view v;
    if (field.value.get_string().get(v)) BadRequest(StrCat(k, ": must be a string"));
    out[std::string(k)] = std::string(v);
  }
  return out;
}

std::string Required(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  if (it == f.end() || core::StripWhitespace(it->second).empty()) BadRequest(StrCat(name, ": required"));
  return it->second;
}

std::string Optional(const std::map<std::string, std::string>& f, const std::string& name) {
  auto it = f.find(name);
  return it == f.end() ? "" : it->second;
}

std::string OneLine(std::string_view body) {
  // JSON strings cannot hold raw line breaks, so a pretty-printed object becomes one line.
  std::string s(body);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

// The store's decision_records (every node's shipped records), searched for scope=fleet over
// a connection of its own, opened at the first such search and again after a failure.
struct FleetSearch {
  std::mutex mu;
  std::unique_ptr<store::RecordShipper> db;
};

// --- The endpoints

class AdminHandlers {
 public:
  AdminHandlers(Gateway* gw, FleetSearch* fleet) : gw_(gw), st_(*gw->store()), fleet_(*fleet) {}

  using Fn = int (AdminHandlers::*)(const Request&, std::string*);
  struct Route {
    std::string_view method;
    std::vector<std::string_view> pattern;  // "*" matches one segment
    Role role;
    std::string_view what;  // for 403 messages
    Fn fn;
  };
  static const std::vector<Route>& Routes();

  int WhoAmI(const Request& r, std::string* out) {
    r.AllowQuery({});
    Obj(out)
        .Str("name", r.who.name)
        .Str("role", store::Name(r.who.role))
        .Time("expires_at", r.who.expires_at)
        .Close();
    return 200;
  }

  // --- People

  int ListPeople(const Request& r, std::string* out) {
    r.AllowQuery({"limit", "after"});
    int64_t limit = Limit(r, 1000, 100000);
    std::string after = r.Param("after");
    std::vector<std::string> people;
    bool truncated = false;
    Must(st_.ForEachPerson([&](const store::PersonRecord& p) {
      if (!after.empty() && p.person.id <= after) return;
      if (static_cast<int64_t>(people.size()) >= limit) {
        truncated = true;
        return;
      }
      people.push_back(PersonJson(p));
    }));
    Obj(out)
        .Raw("people", JsonArray(people, [](const std::string& s) { return s; }))
        .Bool("truncated", truncated)
        .Close();
    return 200;
  }

  int GetPerson(const Request& r, std::string* out) {
    r.AllowQuery({});
    auto p = Must(st_.GetPerson(r.Seg(1)));
    if (!p) NotFound(StrCat("person ", r.Seg(1), ": not found"));
    *out = PersonJson(*p);
    return 200;
  }

  int CreatePerson(const Request& r, std::string* out) { return WritePerson(r, "", true, out); }
  int PutPerson(const Request& r, std::string* out) { return WritePerson(r, r.Seg(1), false, out); }

  int DeletePerson(const Request& r, std::string* out) {
    r.AllowQuery({});
    const std::string& id = r.Seg(1);
    auto before = Must(st_.GetPerson(id));
    if (!before) NotFound(StrCat("person ", id, ": not found"));
    std::string change = Record(r, "person.delete", id, id, PersonJson(*before), "null");
    Apply(r, change, "person.delete", id, st_.DeletePerson(id));
    Obj(out).Str("deleted", id).Str("change_id", change).Close();
    return 200;
  }

  // --- API keys

  int ListKeys(const Request& r, std::string* out) {
    r.AllowQuery({});
    RequirePerson(r.Seg(1));
    auto keys = Must(st_.ListApiKeys(r.Seg(1)));
    Obj(out).Raw("keys", JsonArray(keys, KeyJson)).Close();
    return 200;
  }

  int CreateKey(const Request& r, std::string* out) {
    r.AllowQuery({});
    StringFields(r.body, {}, /*empty_ok=*/true);
    const std::string& id = r.Seg(1);
    RequirePerson(id);
    std::string key = NewSecret("sk-eg-");
    std::string hash = core::Sha256Hex(key);
    std::string after = store::ApiKeyChangeJson(id, hash);
    std::string change = Record(r, "api_key.create", id, hash, "null", after);
    Apply(r, change, "api_key.create", id, st_.AddApiKey(id, hash));
    Obj(out)
        .Str("key", key)
        .Str("key_sha256", hash)
        .Str("person_id", id)
        .Str("change_id", change)
        .Str("note", "the key is shown once; only its SHA-256 is stored")
        .Close();
    return 201;
  }

  int RevokeKey(const Request& r, std::string* out) {
    r.AllowQuery({});
    const std::string& hash = r.Seg(1);
    if (!store::IsSha256Hex(hash))
      BadRequest("key_sha256: must be 64 lower-case hex digits (the SHA-256 of the key)");
    auto person = Must(st_.PersonForApiKey(hash));
    if (!person) NotFound("api key: not found or already revoked");
    std::string before = store::ApiKeyChangeJson(*person, hash, true);
    std::string after = store::ApiKeyChangeJson(*person, hash, false);
    std::string change = Record(r, "api_key.revoke", *person, hash, before, after);
    Apply(r, change, "api_key.revoke", *person, st_.RevokeApiKey(hash));
    Obj(out).Str("revoked", hash).Str("person_id", *person).Str("change_id", change).Close();
    return 200;
  }

  // --- Screening dispositions

  int ListDispositions(const Request& r, std::string* out) {
    r.AllowQuery({"person_id"});
    auto list = Must(st_.ListScreeningDispositions(r.Param("person_id")));
    std::shared_ptr<const screen::Index> index = gw_->screen_index();  // held for the request
    std::string items = "[";
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) items.push_back(',');
      std::optional<bool> in_force;
      if (index) {
        const screen::Entry* e = FindEntry(*index, list[i].list, list[i].entry_id);
        in_force = e && screen::EntryFingerprint(*e) == list[i].entry_fingerprint;
      }
      items += DispositionJson(list[i], in_force);
    }
    items.push_back(']');
    Obj(out).Raw("dispositions", items).Close();
    return 200;
  }

  int ClearHit(const Request& r, std::string* out) {
    r.AllowQuery({});
    auto f = StringFields(r.body, {"person_id", "list", "entry_id", "reason"});
    store::ScreeningDisposition d;
    d.person_id = Required(f, "person_id");
    d.list = Required(f, "list");
    d.entry_id = Required(f, "entry_id");
    d.reason = Required(f, "reason");
    std::shared_ptr<const screen::Index> index = gw_->screen_index();  // held for the request
    if (!index)
      throw Fail{503, "server_error", "screening_unavailable",
                 "no screening lists are configured (screening.lists)"};
    auto person = Must(st_.GetPerson(d.person_id));
    if (!person) NotFound(StrCat("person_id: person ", d.person_id, " not found"));
    const screen::Entry* entry = FindEntry(*index, d.list, d.entry_id);
    if (!entry)
      NotFound(StrCat("entry_id: no entry ", d.entry_id, " on list ", d.list,
                      " in the loaded screening lists"));
    // Only a hit the reviewer can see may be cleared.
    bool hit = false;
    for (const screen::Match& m : ScreenPerson(person->person, Screening(*index)))
      hit = hit || m.entry == entry;
    if (!hit)
      Conflict(StrCat("person ", d.person_id, " has no screening hit on ", d.list, " entry ",
                      d.entry_id, ": nothing to clear"));
    d.entry_fingerprint = screen::EntryFingerprint(*entry);
    d.entry_name = entry->name;
    d.decided_by = r.who.name;
    d.decided_at = gw_->clock()->Now();
    std::string before = "null";
    for (const auto& old : Must(st_.ListScreeningDispositions(d.person_id)))
      if (old.list == d.list && old.entry_id == d.entry_id) before = DispositionJson(old);
    std::string after = DispositionJson(d);
    std::string change =
        Record(r, "screening.clear", d.person_id, StrCat(d.list, "/", d.entry_id), before, after);
    Apply(r, change, "screening.clear", d.person_id, st_.RecordScreeningDisposition(d));
    std::string body = after;
    body.pop_back();
    body += ",\"change_id\":";
    core::AppendJsonString(change, &body);
    body += "}";
    *out = body;
    return 201;
  }

  int WithdrawClearance(const Request& r, std::string* out) {
    r.AllowQuery({"person_id", "list", "entry_id"});
    std::string person = r.Param("person_id"), list = r.Param("list"), entry = r.Param("entry_id");
    if (person.empty()) BadRequest("person_id: required");
    if (list.empty()) BadRequest("list: required");
    if (entry.empty()) BadRequest("entry_id: required");
    std::string before;
    for (const auto& old : Must(st_.ListScreeningDispositions(person)))
      if (old.list == list && old.entry_id == entry) before = DispositionJson(old);
    if (before.empty()) NotFound("screening disposition: not found");
    std::string change = Record(r, "screening.withdraw", person, StrCat(list, "/", entry), before, "null");
    Apply(r, change, "screening.withdraw", person, st_.DeleteScreeningDisposition(person, list, entry));
    Obj(out).Str("withdrawn", StrCat(list, "/", entry)).Str("person_id", person).Str("change_id", change).Close();
    return 200;
  }

  // Current hits: of one person (recomputed now, with `cleared`), or of everyone the served
  // registry holds hits for.
  int ListHits(const Request& r, std::string* out) {
    r.AllowQuery({"person_id"});
    std::shared_ptr<const screen::Index> index = gw_->screen_index();  // held for the request
    if (!index)
      throw Fail{503, "server_error", "screening_unavailable",
                 "no screening lists are configured (screening.lists)"};
    std::string person_id = r.Param("person_id");
    std::vector<core::Person> people;
    if (!person_id.empty()) {
      auto p = Must(st_.GetPerson(person_id));
      if (!p) NotFound(StrCat("person_id: person ", person_id, " not found"));
      people.push_back(p->person);
    } else {
      StatePtr state = gw_->state();
      for (const auto& e : state->people->entries())
        if (!e->record.person.screening.empty()) people.push_back(e->record.person);
    }
    auto dispositions = Must(st_.ListScreeningDispositions(person_id));
    std::string items = "[";
    bool first = true;
    RegistryScreening screening = Screening(*index);
    for (const core::Person& p : people) {
      for (const screen::Match& m : ScreenPerson(p, screening)) {
        std::string fp = screen::EntryFingerprint(*m.entry);
        bool cleared = std::any_of(dispositions.begin(), dispositions.end(), [&](const auto& d) {
          return d.person_id == p.id && d.list == m.entry->list &&
                 d.entry_id == m.entry->source_id && d.entry_fingerprint == fp;
        });
        if (!first) items.push_back(',');
        first = false;
        Obj(&items)
            .Str("person_id", p.id)
            .Str("person_name", p.name)
            .Str("list", m.entry->list)
            .Str("entry_id", m.entry->source_id)
            .Str("entry_name", m.entry->name)
            .Str("matched_name", m.matched_name)
            .Num("score", m.score)
            .Str("band", m.score >= screening.bands.confirmed ? "confirmed" : "potential")
            .Str("entry_fingerprint", fp)
            .Bool("cleared", cleared)
            .Close();
      }
    }
    items.push_back(']');
    Obj(out).Raw("hits", items).Close();
    return 200;
  }

  // --- Decision search: this node's decision log, or every node's records in the store

  // --- The decision log's background verification (store::LogWatch)

  // GET /admin/v1/audit/verify: whether one runs, and what the last one found; scope=fleet:
  // every node's last verification, as each stored it.
  int GetVerify(const Request& r, std::string* out) {
    r.AllowQuery({"scope"});
    if (OneOf(r, "scope", {"node", "fleet"}) == "fleet") {
      std::vector<store::Store::Verification> nodes = Must(st_.ListVerifications());
      Obj(out)
          .Str("scope", "fleet")
          .Raw("nodes", JsonArray(nodes, [](const store::Store::Verification& v) {
             std::string o;
             Obj(&o)
                 .Str("node", v.node)
                 .Time("started", v.started_at)
                 .Time("finished", v.finished_at)
                 .Bool("intact", v.intact)
                 .Int("records", static_cast<int64_t>(v.records))
                 .Int("last_seq", static_cast<int64_t>(v.last_seq))
                 .Int("problems", static_cast<int64_t>(v.problems))
                 .Raw("copy_differences", v.copy_differences ? std::to_string(*v.copy_differences) : "null")
                 .StrOrNull("error", v.error)
                 .Raw("findings", JsonArray(v.findings, JsonStr))
                 .Close();
             return o;
           }))
          .Close();
      return 200;
    }
    store::LogWatch& watch = Watch();
    const std::shared_ptr<const store::LogWatch::Run> run = watch.last();
    Obj o(out);
    o.Bool("running", watch.running()).Int("runs", static_cast<int64_t>(watch.runs()));
    o.Int("interval_minutes", gw_->config().audit.verify_interval_minutes);
    if (!run) {
      o.Raw("last", "null").Close();
      return 200;
    }
    std::string last;
    Obj l(&last);
    l.Time("started", absl::ToUnixSeconds(run->started))
        .Time("finished", absl::ToUnixSeconds(run->finished))
        .Num("seconds", absl::ToDoubleSeconds(run->finished - run->started))
        .Num("paused_seconds", absl::ToDoubleSeconds(run->paused))
        .Bool("intact", run->intact())
        .StrOrNull("error", std::string(run->status.message()));
    if (const store::VerifyReport* rep = run->report ? &*run->report : nullptr) {
      l.Int("records", static_cast<int64_t>(rep->records))
          .Int("segments", static_cast<int64_t>(rep->segments))
          .Int("last_seq", static_cast<int64_t>(rep->last_seq))
          .Str("head", core::StrCat("sha256:", core::HexEncode(rep->head)))
          .Int("checkpoints_checked", static_cast<int64_t>(rep->checkpoints_checked))
          .Int("indexes_checked", static_cast<int64_t>(rep->indexes_checked))
          .Int("indexes_written", static_cast<int64_t>(rep->indexes_written))
          .Int("problems_total", static_cast<int64_t>(rep->problems.size()));
      constexpr size_t kMaxProblems = 1000;  // the whole report: `eargate audit verify`
      const std::vector<store::VerifyProblem> shown(
          rep->problems.begin(), rep->problems.begin() + std::min(rep->problems.size(), kMaxProblems));
      l.Raw("problems", JsonArray(shown, [](const store::VerifyProblem& p) {
         std::string o;
         Obj(&o)
             .StrOrNull("segment", p.segment_file)
             .Int("offset", static_cast<int64_t>(p.offset))
             .Int("seq", static_cast<int64_t>(p.seq))
             .Str("message", p.message)
             .Str("text", store::FormatProblem(p))
             .Close();
         return o;
       })).Raw("notes", JsonArray(rep->notes, JsonStr));
    }
    if (run->copy) {
      const std::string differences = JsonArray(run->copy->differences, JsonStr);
      std::string copy;
      Obj(&copy)
          .Bool("faithful", run->copy->faithful())
          .Int("rows_checked", static_cast<int64_t>(run->copy->rows_checked))
          .Int("last_shipped", static_cast<int64_t>(run->copy->last_shipped))
          .Int("differing", static_cast<int64_t>(run->copy->differing))
          .Raw("differences", differences)
          .Close();
      l.Raw("store_copy", copy);
    } else if (!run->copy_status.ok()) {
      std::string copy;
      Obj(&copy).Str("error", std::string(run->copy_status.message())).Close();
      l.Raw("store_copy", copy);
    } else {
      l.Raw("store_copy", "null");
    }
    l.Close();
    o.Raw("last", last).Close();
    return 200;
  }

  // POST /admin/v1/audit/verify: starts a verification now (202); GET shows its result.
  int StartVerify(const Request& r, std::string* out) {
    r.AllowQuery({});
    store::LogWatch& watch = Watch();
    if (!watch.RunNow()) {
      throw Fail{409, "invalid_request_error", "verify_running",
                 "a verification of the decision log is running; GET /admin/v1/audit/verify shows it"};
    }
    Log(LogLevel::kInfo, StrCat("admin: ", r.who.name, " (", store::Name(r.who.role),
                                ") started a verification of the decision log"));
    Obj(out).Bool("started", true).Int("runs", static_cast<int64_t>(watch.runs())).Close();
    return 202;
  }

  store::LogWatch& Watch() {
    store::LogWatch* w = gw_->log_watch();
    if (w == nullptr)
      throw Fail{404, "invalid_request_error", "no_decision_log", "this gateway keeps no decision log (audit.dir)"};
    return *w;
  }

  int SearchDecisions(const Request& r, std::string* out) {
    r.AllowQuery({"person", "item", "outcome", "kind", "decision_id", "from", "to", "order",
                  "scope", "node", "limit", "after"});
    const std::string scope = OneOf(r, "scope", {"node", "fleet"});
    const bool newest = OneOf(r, "order", {"newest", "oldest"}) == "newest";
    if (!r.Param("node").empty() && scope != "fleet") BadRequest("node: only with scope=fleet");
    store::RecordFilter filter;
    filter.person = r.Param("person");
    filter.item = r.Param("item");
    filter.decision_id = r.Param("decision_id");
    if (std::string o = r.Param("outcome"); !o.empty()) {
      auto outcome = core::ParseOutcome(o);
      if (!outcome) BadRequest(StrCat("outcome: must be allow, review or deny (got '", o, "')"));
      filter.outcome = *outcome;
    }
    std::string kind = r.Param("kind");
    if (kind.empty() || kind == "decision") filter.kind = store::RecordKind::kDecision;
    else if (kind == "admin_change") filter.kind = store::RecordKind::kAdminChange;
    else if (kind != "all") BadRequest(StrCat("kind: must be decision, admin_change or all (got '", kind, "')"));
    for (auto [name, slot] : {std::pair{"from", &filter.from}, std::pair{"to", &filter.to}}) {
      std::string v = r.Param(name);
      if (v.empty()) continue;
      auto t = core::ParseTime(v, /*allow_date=*/true);
      if (!t) BadRequest(StrCat(name, ": not an RFC 3339 time or date (got '", v, "')"));
      *slot = *t;
    }
    if (filter.from && filter.to && *filter.from > *filter.to) BadRequest("from: after to");
    const int64_t limit = Limit(r, 100, 10000);
    // Paging: `after` is the `next` of the page before: on a node, the last record's seq; in
    // the fleet, "TIME,SEQ,NODE" of the last record (its place in the order of time, node, seq).
    const std::string after = r.Param("after");
    std::optional<store::ShippedKey> after_key;
    if (!after.empty()) {
      auto bad = [&] { BadRequest("after: not a cursor of this search (pass back its `next`)"); };
      // A whole decimal number from the front of v; the rest after it in *rest.
      auto number = [&](std::string_view v, auto* n, std::string_view* rest) {
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *n);
        if (ec != std::errc() || end == v.data()) bad();
        *rest = v.substr(static_cast<size_t>(end - v.data()));
      };
      std::string_view rest;
      if (scope == "node") {
        uint64_t seq = 0;
        number(after, &seq, &rest);
        if (!rest.empty() || seq == 0 || (newest && seq == 1)) bad();
        if (newest) filter.max_seq = seq - 1;
        else filter.min_seq = seq + 1;
      } else {
        store::ShippedKey key;
        number(after, &key.time, &rest);
        if (rest.empty() || rest[0] != ',') bad();
        number(rest.substr(1), &key.seq, &rest);
        if (rest.size() < 2 || rest[0] != ',') bad();
        key.node = std::string(rest.substr(1));
        after_key = std::move(key);
      }
    }
    std::string next;  // the cursor of the last record taken
    std::string items = "[";
    int64_t n = 0;
    bool truncated = false;
    // Takes one record's JSON (with newline) while fewer than `limit` are in; then notes that
    // more match and stops.
    auto take = [&](auto append) {
      if (n == limit) {
        truncated = true;
        return false;
      }
      if (n++) items.push_back(',');
      append();
      items.pop_back();  // newline
      return true;
    };
    store::ScanStats read;  // node scope
    if (scope == "fleet") {
      store::ShippedFilter f;
      f.records = filter;
      f.node = r.Param("node");
      f.limit = static_cast<size_t>(limit) + 1;
      f.newest_first = newest;
      f.after = after_key;
      std::lock_guard<std::mutex> lock(fleet_.mu);
      absl::Status s;
      if (!fleet_.db) {
        auto opened = store::RecordShipper::Open(gw_->config().store.url, "admin-search");
        if (opened.ok()) fleet_.db = std::move(*opened);
        else s = opened.status();
      }
      if (fleet_.db) {
        s = fleet_.db->Search(f, [&](const store::ShippedRecord& rec) {
          return take([&] {
            store::AppendShippedJson(rec, &items);
            next = StrCat(rec.time, ",", rec.seq, ",", rec.node);
          });
        });
      }
      if (!s.ok()) {
        fleet_.db.reset();  // reconnect at the next search
        StoreFailed(s);
      }
    } else {
      const std::string& dir = gw_->config().audit.dir;
      if (dir.empty())
        throw Fail{503, "server_error", "no_decision_log", "this node keeps no decision log (audit.dir)"};
      auto fn = [&](const store::LogRecord& rec) {
        return take([&] {
          store::AppendRecordJson(rec, &items);
          next = StrCat(rec.seq);
        });
      };
      absl::Status s = newest ? store::ScanLogNewestFirst(dir, filter, fn, &read)
                              : store::ScanLog(dir, filter, fn, &read);
      // InvalidArgument: no segment yet (nothing decided): no records.
      if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) StoreFailed(s);
    }
    items.push_back(']');
    Obj o(out);
    o.Str("scope", scope).Raw("records", items).Bool("truncated", truncated);
    if (truncated) o.Str("next", next);
    if (scope != "fleet") {
      // What the search read of the log: segments whose time range, or search index, ruled
      // them out were not (doc/audit_log_format.md §7, §10).
      std::string segments;
      Obj(&segments)
          .Int("read", static_cast<int64_t>(read.segments_read))
          .Int("skipped", static_cast<int64_t>(read.segments_skipped))
          .Close();
      o.Raw("segments", segments);
    }
    o.Close();
    return 200;
  }

  // The query parameter `name`: one of `values`, the first when absent.
  static std::string OneOf(const Request& r, std::string_view name,
                           std::initializer_list<std::string_view> values) {
    std::string v = r.Param(name);
    if (v.empty()) return std::string(*values.begin());
    if (std::find(values.begin(), values.end(), v) == values.end()) {
      std::vector<std::string_view> names(values);
      BadRequest(StrCat(name, ": must be ", core::StrJoin(names, " or "), " (got '", v, "')"));
    }
    return v;
  }

  // --- Admin tokens

  int ListTokens(const Request& r, std::string* out) {
    r.AllowQuery({});
    auto tokens = Must(st_.ListAdminTokens());
    Obj(out).Raw("tokens", JsonArray(tokens, TokenJson)).Close();
    return 200;
  }

  int CreateToken(const Request& r, std::string* out) {
    r.AllowQuery({});
    auto f = StringFields(r.body, {"name", "role", "expires_at"});
    std::string name = Required(f, "name");
    std::string role_text = Required(f, "role");
    auto role = store::ParseRole(role_text);
    if (!role)
      BadRequest(StrCat("role: unknown role '", role_text, "' (viewer, analyst, officer, admin)"));
    core::Timestamp expires = 0;
    if (std::string e = Optional(f, "expires_at"); !e.empty()) {
      auto t = core::ParseTime(e);
      if (!t) BadRequest(StrCat("expires_at: not an RFC 3339 time (got '", e, "')"));
      if (*t <= gw_->clock()->Now()) BadRequest(StrCat("expires_at: in the past (", e, ")"));
      expires = *t;
    }
    std::string token = NewSecret("egadm-");
    store::AdminToken t{core::Sha256Hex(token), name, *role, gw_->clock()->Now(), expires, 0, 0};
    std::string after = TokenJson(t);
    std::string change = Record(r, "admin_token.create", "", t.token_sha256, "null", after);
    Apply(r, change, "admin_token.create", "",
          st_.CreateAdminToken(t.token_sha256, name, *role, expires));
    Obj(out)
        .Str("token", token)
        .Str("token_sha256", t.token_sha256)
        .Str("name", name)
        .Str("role", store::Name(*role))
        .Time("expires_at", expires)
        .Str("change_id", change)
        .Str("note", "the token is shown once; only its SHA-256 is stored")
        .Close();
    return 201;
  }

  int RevokeToken(const Request& r, std::string* out) {
    r.AllowQuery({});
    const std::string& hash = r.Seg(1);
    if (!store::IsSha256Hex(hash))
      BadRequest("token_sha256: must be 64 lower-case hex digits (the SHA-256 of the token)");
    std::optional<store::AdminToken> before;
    for (const auto& t : Must(st_.ListAdminTokens()))
      if (t.token_sha256 == hash && t.revoked_at == 0) before = t;
    if (!before) NotFound("admin token: not found or already revoked");
    store::AdminToken after = *before;
    after.revoked_at = gw_->clock()->Now();
    std::string change =
        Record(r, "admin_token.revoke", "", hash, TokenJson(*before), TokenJson(after));
    Apply(r, change, "admin_token.revoke", "", st_.RevokeAdminToken(hash));
    Obj(out).Str("revoked", hash).Str("name", before->name).Str("change_id", change).Close();
    return 200;
  }

 private:
  // POST people (create only) or PUT people/{id} (create or replace).
  int WritePerson(const Request& r, const std::string& path_id, bool create_only, std::string* out) {
    r.AllowQuery({});
    if (core::StripWhitespace(r.body).empty()) BadRequest("body: must be a person JSON object (SPEC §3)");
    store::ParsedPeople parsed = store::ParsePeople(OneLine(r.body), store::PeopleFormat::kJsonl, "body", gw_->data());
    if (!parsed.errors.empty()) {
      std::vector<std::string> errors;
      for (std::string e : parsed.errors) {
        if (e.rfind("body:1: ", 0) == 0) e = e.substr(8);
        errors.push_back(std::move(e));
      }
      BadRequest(core::StrJoin(errors, "; "));
    }
    if (parsed.people.size() != 1) BadRequest("body: must be one person JSON object");
    store::PersonRecord rec = std::move(parsed.people[0]);
    const std::string id = rec.person.id;
    if (!path_id.empty() && id != path_id)
      BadRequest(StrCat("id: '", id, "' differs from the path's '", path_id, "'"));
    auto before = Must(st_.GetPerson(id));
    if (before && create_only)
      Conflict(StrCat("person ", id, ": already exists (PUT /admin/v1/people/", id, " replaces)"));
    // Keys are made and revoked at /people/{id}/keys; a body may repeat the active ones.
    for (const std::string& k : rec.api_keys_sha256) {
      bool active = before && std::find(before->api_keys_sha256.begin(),
                                        before->api_keys_sha256.end(), k) != before->api_keys_sha256.end();
      if (!active)
        BadRequest(StrCat("api_keys_sha256: ", k.substr(0, 12),
                          "... is no active key of this person; keys are created with POST "
                          "/admin/v1/people/{id}/keys"));
    }
    rec.api_keys_sha256.clear();
    std::string what = before ? "person.update" : "person.create";
    store::PersonRecord shown = rec;
    if (before) shown.api_keys_sha256 = before->api_keys_sha256;
    std::string after = PersonJson(shown);
    std::string change = Record(r, what, id, id, before ? PersonJson(*before) : "null", after);
    Apply(r, change, what, id, st_.ImportPeople({rec}));
    auto now = Must(st_.GetPerson(id));
    *out = now ? PersonJson(*now) : after;
    return before ? 200 : 201;
  }

  void RequirePerson(const std::string& id) {
    if (!Must(st_.GetPerson(id))) NotFound(StrCat("person ", id, ": not found"));
  }

  static int64_t Limit(const Request& r, int64_t def, int64_t max) {
    std::string v = r.Param("limit");
    if (v.empty()) return def;
    char* end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (*end || n < 1 || n > max) BadRequest(StrCat("limit: must be an integer in [1, ", max, "] (got '", v, "')"));
    return n;
  }

  // REQUIRES: the caller holds `index` for as long as it uses the result.
  RegistryScreening Screening(const screen::Index& index) const {
    RegistryScreening s;
    s.index = &index;
    s.bands.potential = gw_->config().screening.potential_score;
    s.bands.confirmed = gw_->config().screening.confirmed_score;
    return s;
  }

  const screen::Entry* FindEntry(const screen::Index& index, std::string_view list, std::string_view id) const {
    for (const screen::Entry& e : index.entries())
      if (e.list == list && e.source_id == id) return &e;
    return nullptr;
  }

  // Appends the admin_change record of a change about to be applied; returns its id. Throws
  // 503 when the record cannot be written (the change is then not applied).
  std::string Record(const Request& r, std::string_view what, std::string_view person,
                     std::string_view target, std::string_view before, std::string_view after,
                     std::string_view error = {}) {
    store::DecisionLog* log = gw_->audit_log();
    if (!log) return wire::NewDecisionId(gw_->clock()->Now());
    store::ChangeActor who{r.who.name, std::string(store::Name(r.who.role)), r.who.token_sha256};
    auto id = store::AppendAdminChange(*log, who, {what, person, target, before, after, error},
                                       gw_->clock()->Now());
    if (!id.ok()) {
      Log(LogLevel::kError, StrCat("admin API: ", what, " refused: the decision log cannot record it: ",
                                   std::string(id.status().message())));
      throw Fail{503, "server_error", "audit_log_unavailable",
                 "the change could not be recorded in the decision log; nothing was changed"};
    }
    return *id;
  }

  // Applies a recorded change's store result: on failure, records "<what>.failed" and answers.
  void Apply(const Request& r, const std::string& change, std::string_view what,
             std::string_view person, const absl::Status& s) {
    if (s.ok()) {
      Log(LogLevel::kInfo, StrCat("admin: ", r.who.name, " (", store::Name(r.who.role), ") ", what,
                                  person.empty() ? "" : StrCat(" person=", person), " change=", change));
      return;
    }
    try {
      Record(r, StrCat(what, ".failed"), person, change, "null", "null", std::string(s.message()));
    } catch (const Fail&) {
      // The failure itself is logged; the store error is the answer.
    }
    StoreFailed(s);
  }

  Gateway* gw_;
  store::Store& st_;
  FleetSearch& fleet_;
};

const std::vector<AdminHandlers::Route>& AdminHandlers::Routes() {
  using H = AdminHandlers;
  static const std::vector<Route> kRoutes = {
      {"GET", {"whoami"}, Role::kViewer, "see its own token", &H::WhoAmI},
      {"GET", {"people"}, Role::kViewer, "list people", &H::ListPeople},
      {"POST", {"people"}, Role::kOfficer, "create people", &H::CreatePerson},
      {"GET", {"people", "*"}, Role::kViewer, "read people", &H::GetPerson},
      {"PUT", {"people", "*"}, Role::kOfficer, "create or update people", &H::PutPerson},
      {"DELETE", {"people", "*"}, Role::kOfficer, "delete people", &H::DeletePerson},
      {"GET", {"people", "*", "keys"}, Role::kViewer, "list API keys", &H::ListKeys},
      {"POST", {"people", "*", "keys"}, Role::kOfficer, "create API keys", &H::CreateKey},
      {"DELETE", {"keys", "*"}, Role::kOfficer, "revoke API keys", &H::RevokeKey},
      {"GET", {"screening", "dispositions"}, Role::kViewer, "list screening dispositions", &H::ListDispositions},
      {"POST", {"screening", "dispositions"}, Role::kAnalyst, "clear screening hits", &H::ClearHit},
      {"DELETE", {"screening", "dispositions"}, Role::kAnalyst, "withdraw clearances", &H::WithdrawClearance},
      {"GET", {"screening", "hits"}, Role::kViewer, "list screening hits", &H::ListHits},
      {"GET", {"decisions"}, Role::kViewer, "search decisions", &H::SearchDecisions},
      {"GET", {"audit", "verify"}, Role::kViewer, "read the decision log's last verification", &H::GetVerify},
      {"POST", {"audit", "verify"}, Role::kAnalyst, "start a verification of the decision log", &H::StartVerify},
      {"GET", {"tokens"}, Role::kAdmin, "list admin tokens", &H::ListTokens},
      {"POST", {"tokens"}, Role::kAdmin, "create admin tokens", &H::CreateToken},
      {"DELETE", {"tokens", "*"}, Role::kAdmin, "revoke admin tokens", &H::RevokeToken},
  };
  return kRoutes;
}

AdminApi::AdminApi(Gateway* gateway) : gw_(gateway), fleet_(std::make_unique<FleetSearch>()) {}
AdminApi::~AdminApi() = default;

bool AdminApi::IsDecisionSearch(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return method == "GET" && (path == "/admin/v1/decisions" || path == "/admin/v1/decisions/");
}

int AdminApi::Handle(std::string_view method, std::string_view target,
                     std::string_view authorization, std::string_view body, std::string* out) {
  out->clear();
  try {
    // Who: nothing below is reachable without a valid token.
    std::string_view token = BearerToken(authorization);
    if (token.empty())
      throw Fail{401, "authentication_error", "invalid_admin_token",
                 "admin token required (Authorization: Bearer <token>)"};
    auto who = gw_->store()->AuthenticateAdminToken(core::Sha256Hex(token));
    if (!who.ok()) {
      if (who.status().code() == absl::StatusCode::kUnauthenticated)
        throw Fail{401, "authentication_error", "invalid_admin_token", std::string(who.status().message())};
      StoreFailed(who.status());
    }
    Request req;
    req.method = method;
    req.body = body;
    req.who = *who;
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
    constexpr std::string_view kPrefix = "/admin/v1/";
    if (path.rfind(kPrefix, 0) != 0) NotFound(StrCat("no such endpoint: ", path.substr(0, 200)));
    for (std::string_view seg : core::Split(path.substr(kPrefix.size()), '/', /*skip_empty=*/false)) {
      auto d = PercentDecode(seg, false);
      if (!d) BadRequest("path: bad percent-encoding");
      req.segments.push_back(std::move(*d));
    }
    if (!req.segments.empty() && req.segments.back().empty()) req.segments.pop_back();  // trailing /
    for (std::string_view kv : core::Split(query, '&', /*skip_empty=*/true)) {
      size_t eq = kv.find('=');
      auto k = PercentDecode(kv.substr(0, eq), true);
      auto v = PercentDecode(eq == std::string_view::npos ? "" : kv.substr(eq + 1), true);
      if (!k || !v) BadRequest("query: bad percent-encoding");
      req.query.emplace_back(std::move(*k), std::move(*v));
    }
    // Which endpoint.
    const AdminHandlers::Route* route = nullptr;
    std::vector<std::string_view> allow;
    for (const auto& rt : AdminHandlers::Routes()) {
      if (rt.pattern.size() != req.segments.size()) continue;
      bool match = true;
      for (size_t i = 0; i < rt.pattern.size() && match; ++i)
        match = rt.pattern[i] == "*" ? !req.segments[i].empty() : rt.pattern[i] == req.segments[i];
      if (!match) continue;
      allow.push_back(rt.method);
      if (rt.method == method) route = &rt;
    }
    if (allow.empty()) NotFound(StrCat("no such endpoint: ", path.substr(0, 200)));
    if (!route)
      throw Fail{405, "invalid_request_error", "method_not_allowed",
                 StrCat("use ", core::StrJoin(allow, ", "))};
    if (req.who.role < route->role)
      throw Fail{403, "permission_error", "forbidden",
                 StrCat("role ", store::Name(req.who.role), " may not ", route->what, "; needs ",
                        store::Name(route->role), " or above")};
    AdminHandlers h(gw_, fleet_.get());
    return (h.*(route->fn))(req, out);
  } catch (const Fail& f) {
    out->clear();
    AppendError(f.type, f.code, f.message, out);
    return f.status;
  }
}

}  // namespace eargate::server
