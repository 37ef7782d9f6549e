// Policy YAML -> PolicySnapshot. Every error is collected with its file:line:col; a policy
#include "absl/strings/ascii.h"
// with any error is refused whole.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "eargate/core/strings.h"
#include "eargate/core/csv.h"
#include "eargate/core/json.h"
#include "eargate/core/sha256.h"
#include "eargate/core/status.h"
#include "eargate/rules/policy.h"

namespace eargate::rules {

using core::Country;

namespace {

struct Error {
  std::string file;
  int line, col;
  std::string msg;
};

// A YAML node together with the file it came from.
struct Src {
  YAML::Node node;
  const std::string* file;
};

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  }
  return true;
}

}  // namespace

class PolicyCompiler {
 public:
  explicit PolicyCompiler(std::shared_ptr<const EarData> data) : data_(std::move(data)) {
    p_.reset(new PolicySnapshot());
    p_->data_ = data_;
  }

  absl::StatusOr<PolicyPtr> Compile(std::string_view root_text, const std::string& root_path) {
    p_->path_ = root_path;
    LoadFile(root_text, root_path, /*is_root=*/true, 0);
    if (!fatal_) CompileAll();
    if (!errors_.empty()) {
      auto file_rank = [&](const std::string& f) {
        for (size_t i = 0; i < p_->files_.size(); ++i)
          if (p_->files_[i] == f) return i;
        return p_->files_.size();
      };
      std::stable_sort(errors_.begin(), errors_.end(), [&](const Error& a, const Error& b) {
        return std::make_tuple(file_rank(a.file), a.line, a.col) <
               std::make_tuple(file_rank(b.file), b.line, b.col);
      });
      std::vector<std::string> lines;
      for (const auto& e : errors_)
        lines.push_back(e.line > 0 ? core::StrCat(e.file, ":", e.line, ":", e.col, ": ", e.msg)
                                   : core::StrCat(e.file, ": ", e.msg));
      return absl::InvalidArgumentError(core::StrJoin(lines, "\n"));
    }
    Canonicalize();
    return PolicyPtr(std::move(p_));
  }

 private:
  // ---- errors -----------------------------------------------------------------------------
  void Err(const Src& s, std::string msg) { Err(s.node.Mark(), *s.file, std::move(msg)); }
  void Err(const YAML::Mark& m, const std::string& file, std::string msg) {
    errors_.push_back({file, m.line + 1, m.column + 1, std::move(msg)});
  }

  // ---- file loading and include: ------------------------------------------------------------
  void LoadFile(std::string_view text, const std::string& path, bool is_root, int depth) {
    files_.push_back(std::make_unique<std::string>(path));
    const std::string* file = files_.back().get();
    p_->files_.push_back(path);
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      errors_.push_back({path, e.mark.line + 1, e.mark.column + 1,
                         core::StrCat("YAML syntax error: ", e.msg)});
      fatal_ = true;
      return;
    }
    Src r{root, file};
    if (!root.IsMap()) {
      fatal_ = true;
      if (root.IsNull())
        errors_.push_back({path, 0, 0, "empty policy file"});
      else
        Err(r, "a policy file must be a mapping of keys (version, remote_access, items, ...)");
      return;
    }
    static const std::set<std::string> kRootKeys = {
        "version", "remote_access", "remote_access_scope", "uncertain", "items", "notices",
        "licenses", "programs", "operator_rules", "include", "description"};
    static const std::set<std::string> kIncludedKeys = {
        "version", "items", "notices", "licenses", "programs", "operator_rules", "include",
        "description"};
    std::set<std::string> seen;
    for (auto it = root.begin(); it != root.end(); ++it) {
      Src key{it->first, file};
      std::string k = it->first.Scalar();
      if (!seen.insert(k).second) {
        Err(key, core::StrCat("duplicate key '", k, "'"));
        continue;
      }
      const auto& allowed = is_root ? kRootKeys : kIncludedKeys;
      if (!allowed.count(k)) {
        if (!is_root && kRootKeys.count(k))
          Err(key, core::StrCat("'", k, "' may only be set in the root policy file"));
        else
          Err(key, core::StrCat("unknown key '", k, "'"));
        continue;
      }
      Src val{it->second, file};
      if (k == "version") {
        if (!val.node.IsScalar() || val.node.Scalar() != "1")
          Err(val, "version: must be 1");
        has_version_ |= is_root;
      } else if (k == "include") {
        Include(val, path, depth);
      } else if (k == "description") {
        if (!val.node.IsScalar()) Err(val, "description: must be text");
      } else if (k == "items" || k == "notices" || k == "licenses" || k == "programs" ||
                 k == "operator_rules") {
        if (!val.node.IsSequence()) {
          Err(val, core::StrCat(k, ": must be a list"));
          continue;
        }
        for (const auto& e : val.node) sections_[k].push_back({e, file});
        section_seen_.insert(k);
        if (k == "items" && is_root) items_src_ = val;
      } else {
        root_[k] = val;
      }
    }
    if (is_root && !has_version_)
      errors_.push_back({path, 1, 1, "version: required (version: 1)"});
  }

  void Include(const Src& val, const std::string& from, int depth) {
    std::vector<Src> entries;
    if (val.node.IsScalar()) {
      entries.push_back(val);
    } else if (val.node.IsSequence()) {
      for (const auto& e : val.node) entries.push_back({e, val.file});
    } else {
      Err(val, "include: must be a file name or a list of them");
      return;
    }
    if (depth >= 8) {
      Err(val, "include: nested more than 8 deep");
      return;
    }
    for (const auto& e : entries) {
      if (!e.node.IsScalar() || e.node.Scalar().empty()) {
        Err(e, "include: each entry must be a file name");
        continue;
      }
      std::filesystem::path p = std::filesystem::path(from).parent_path() / e.node.Scalar();
      std::string canonical = std::filesystem::weakly_canonical(p).string();
      if (std::find(include_stack_.begin(), include_stack_.end(), canonical) != include_stack_.end() ||
          canonical == std::filesystem::weakly_canonical(p_->path_).string()) {
        Err(e, core::StrCat("include: '", e.node.Scalar(), "' includes itself (cycle)"));
        continue;
      }
      auto text = core::ReadFile(p.string());
      if (!text.ok()) {
        Err(e, core::StrCat("include: cannot read '", p.string(), "'"));
        continue;
      }
      include_stack_.push_back(canonical);
      LoadFile(*text, p.string(), /*is_root=*/false, depth + 1);
      include_stack_.pop_back();
    }
  }

  // ---- typed field readers ------------------------------------------------------------------
  // Iterates a mapping, rejecting unknown and duplicate keys; fn(key, value) for known ones.
  template <typename Fn>
  bool ForFields(const Src& s, std::string_view what, const std::set<std::string>& allowed, Fn fn) {
    if (!s.node.IsMap()) {
      Err(s, core::StrCat(what, ": must be a mapping"));
      return false;
    }
    std::set<std::string> seen;
    for (auto it = s.node.begin(); it != s.node.end(); ++it) {
      std::string k = it->first.Scalar();
      Src key{it->first, s.file};
      if (!seen.insert(k).second) {
        Err(key, core::StrCat(what, ": duplicate key '", k, "'"));
        continue;
      }
      if (!allowed.count(k)) {
        Err(key, core::StrCat(what, ": unknown key '", k, "' (allowed: ",
                              core::StrJoin(allowed, ", "), ")"));
        continue;
      }
      fn(k, Src{it->second, s.file});
    }
    return true;
  }

  bool Scalar(const Src& s, std::string_view field, std::string* out) {
    if (!s.node.IsScalar()) {
      Err(s, core::StrCat(field, ": must be a single value"));
      return false;
    }
    *out = s.node.Scalar();
    return true;
  }

  bool Bool(const Src& s, std::string_view field, bool* out) {
    std::string v;
    if (!Scalar(s, field, &v)) return false;
    if (v == "true") *out = true;
    else if (v == "false") *out = false;
    else {
      Err(s, core::StrCat(field, ": must be true or false (got '", v, "')"));
      return false;
    }
    return true;
  }

  bool Time(const Src& s, std::string_view field, core::Timestamp* out) {
    std::string v;
    if (!Scalar(s, field, &v)) return false;
    auto t = core::ParseTime(v);
    if (!t) {
      Err(s, core::StrCat(field, ": not an RFC 3339 UTC time such as 2026-06-12T00:00:00Z (got '", v, "')"));
      return false;
    }
    *out = *t;
    return true;
  }

  // A non-empty list of scalars (a lone scalar is accepted as a one-element list).
  bool List(const Src& s, std::string_view field, std::vector<Src>* out, bool allow_empty = false) {
    out->clear();
    if (s.node.IsScalar()) {
      out->push_back(s);
    } else if (s.node.IsSequence()) {
      for (const auto& e : s.node) {
        if (!e.IsScalar()) {
          Err({e, s.file}, core::StrCat(field, ": each entry must be a single value"));
          return false;
        }
        out->push_back({e, s.file});
      }
    } else {
      Err(s, core::StrCat(field, ": must be a list"));
      return false;
    }
    if (out->empty() && !allow_empty) {
      Err(s, core::StrCat(field, ": must not be empty"));
      return false;
    }
    return true;
  }

  std::vector<std::string> Strings(const Src& s, std::string_view field, bool allow_empty) {
    std::vector<Src> l;
    std::vector<std::string> out;
    if (!List(s, field, &l, allow_empty)) return out;
    for (const auto& e : l) out.push_back(e.node.Scalar());
    return out;
  }

  template <typename E, typename ParseFn>
  uint32_t EnumMask(const Src& s, std::string_view field, ParseFn parse, std::string_view allowed) {
    std::vector<Src> l;
    if (!List(s, field, &l)) return 0;
    uint32_t mask = 0;
    for (const auto& e : l) {
      auto v = parse(e.node.Scalar());
      if (!v) {
        Err(e, core::StrCat(field, ": unknown value '", e.node.Scalar(), "' (allowed: ", allowed, ")"));
        continue;
      }
      mask |= MaskOf(*v);
    }
    return mask;
  }

  // worldwide | [country or group:X, ...]
  bool Dests(const Src& s, std::string_view field, Destinations* out, bool allow_worldwide = true) {
    if (s.node.IsScalar() && s.node.Scalar() == "worldwide") {
      if (!allow_worldwide) {
        Err(s, core::StrCat(field, ": 'worldwide' is not allowed here; list countries or groups"));
        return false;
      }
      out->worldwide = true;
      out->written = {"worldwide"};
      return true;
    }
    std::vector<Src> l;
    if (!List(s, field, &l)) return false;
    for (const auto& e : l) {
      const std::string& v = e.node.Scalar();
      out->written.push_back(v);
      if (v == "worldwide") {
        Err(e, core::StrCat(field, ": 'worldwide' must stand alone, not in a list"));
      } else if (v.rfind("group:", 0) == 0) {
        const core::CountrySet* g = data_->FindGroup(v);
        if (!g) {
          Err(e, core::StrCat(field, ": unknown country group '", v, "' (known: group:",
                              core::StrJoin(data_->GroupNames(), ", group:"), ")"));
          continue;
        }
        out->set.AddAll(*g);
      } else {
        Country c;
        if (CountryCode(e, field, &c)) out->set.Add(c);
      }
    }
    return true;
  }

  bool CountryCode(const Src& e, std::string_view field, Country* out) {
    const std::string& v = e.node.Scalar();
    auto c = Country::Parse(v);
    if (!c || !data_->IsKnownCountry(*c)) {
      if (data_->FindGroup(v))
        Err(e, core::StrCat(field, ": '", v, "' is a country group; write it as group:", v));
      else
        Err(e, core::StrCat(field, ": unknown country '", v,
                            "' (ISO 3166-1 alpha-2, upper case, or group:NAME)"));
      return false;
    }
    *out = *c;
    return true;
  }

  std::vector<int> ItemRefs(const Src& s, std::string_view field) {
    std::vector<Src> l;
    std::vector<int> out;
    if (!List(s, field, &l)) return out;
    for (const auto& e : l) {
      auto it = item_ids_.find(e.node.Scalar());
      if (it == item_ids_.end()) {
        Err(e, core::StrCat(field, ": unknown item '", e.node.Scalar(), "'"));
        continue;
      }
      if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
    }
    return out;
  }

  bool CheckId(const Src& s, std::string_view section, std::set<std::string>* ids, std::string* out) {
    if (!Scalar(s, "id", out)) return false;
    if (!ValidId(*out)) {
      Err(s, core::StrCat("id: '", *out, "' must be letters, digits, '-', '_', '.' or ':'"));
      out->clear();
      return false;
    }
    if (!ids->insert(*out).second) {
      Err(s, core::StrCat("id: duplicate ", section, " id '", *out, "'"));
      out->clear();
      return false;
    }
    return true;
  }

  void Missing(const Src& s, std::string_view what, const std::set<std::string>& present,
               std::initializer_list<std::string_view> required) {
    for (auto r : required)
      if (!present.count(std::string(r))) Err(s, core::StrCat(what, ": missing required key '", r, "'"));
  }

  // ---- sections -------------------------------------------------------------------------------
  void CompileAll() {
    CompileRoot();
    if (sections_["items"].empty()) {
      if (items_src_) Err(*items_src_, "items: at least one item is required");
      else errors_.push_back({p_->path_, 1, 1, "items: at least one item is required"});
    }
    for (const auto& s : sections_["items"]) CompileItem(s);
    // Programs before notices: notices may name programs in exceptions_allowed.
    for (const auto& s : sections_["programs"]) CompileProgram(s);
    for (const auto& s : sections_["notices"]) CompileNotice(s);
    for (const auto& s : sections_["licenses"]) CompileLicense(s);
    for (const auto& s : sections_["operator_rules"]) CompileOperatorRule(s);
    Index();
  }

  void CompileRoot() {
    auto ra = root_.find("remote_access");
    if (ra == root_.end()) {
      errors_.push_back({p_->path_, 1, 1, "remote_access: required (release or not_an_export)"});
    } else {
      std::string v;
      if (Scalar(ra->second, "remote_access", &v)) {
        auto r = core::ParseRemoteAccess(v);
        if (!r) Err(ra->second, core::StrCat("remote_access: must be release or not_an_export (got '", v, "')"));
        else p_->remote_access_ = *r;
      }
    }
    if (auto it = root_.find("remote_access_scope"); it != root_.end()) {
      p_->remote_access_scope_ = static_cast<LevelMask>(EnumMask<core::ServiceLevel>(
          it->second, "remote_access_scope", core::ParseServiceLevel, "iaas, paas, saas"));
    }
    if (auto it = root_.find("uncertain"); it != root_.end()) {
      auto& u = p_->uncertain_;
      const std::pair<const char*, core::Outcome*> fields[] = {
          {"us_person_unknown", &u.us_person_unknown},
          {"location_unknown", &u.location_unknown},
          {"anonymizer", &u.anonymizer},
          {"location_mismatch", &u.location_mismatch},
          {"screening_potential_match", &u.screening_potential_match},
          {"nationality_unknown", &u.nationality_unknown},
          {"destination_unmapped", &u.destination_unmapped},
      };
      std::set<std::string> allowed;
      for (auto& f : fields) allowed.insert(f.first);
      ForFields(it->second, "uncertain", allowed, [&](const std::string& k, const Src& v) {
        std::string s;
        if (!Scalar(v, core::StrCat("uncertain.", k), &s)) return;
        for (auto& f : fields) {
          if (k != f.first) continue;
          if (s == "deny") *f.second = core::Outcome::kDeny;
          else if (s == "review") *f.second = core::Outcome::kReview;
          else Err(v, core::StrCat("uncertain.", k, ": must be deny or review (got '", s, "')"));
        }
      });
    }
  }

  void CompileItem(const Src& s) {
    Item item;
    std::set<std::string> present;
    bool ok = ForFields(s, "items[]", {"id", "name", "kind", "classification", "served_from",
                                       "service_level", "aliases", "part744_supp2"},
                        [&](const std::string& k, const Src& v) {
      present.insert(k);
      std::string str;
      if (k == "id") {
        CheckId(v, "item", &item_id_set_, &item.id);
      } else if (k == "name") {
        Scalar(v, "name", &item.name);
      } else if (k == "kind") {
        if (Scalar(v, "kind", &str)) {
          auto kind = core::ParseItemKind(str);
          if (!kind) Err(v, core::StrCat("kind: must be model or compute (got '", str, "')"));
          else item.kind = *kind;
        }
      } else if (k == "classification") {
        if (Scalar(v, "classification", &str)) Classify(v, str, &item);
      } else if (k == "served_from") {
        std::vector<Src> l;
        if (List(v, "served_from", &l)) {
          for (const auto& e : l) {
            Country c;
            if (CountryCode(e, "served_from", &c)) {
              if (c.is_region()) Err(e, "served_from: must be a country, not a region");
              else item.served_from.push_back(c);
            }
          }
        }
      } else if (k == "service_level") {
        if (Scalar(v, "service_level", &str)) {
          auto l = core::ParseServiceLevel(str);
          if (!l) Err(v, core::StrCat("service_level: must be iaas, paas or saas (got '", str, "')"));
          else item.service_level = *l;
        }
      } else if (k == "aliases") {
        item.aliases = Strings(v, "aliases", /*allow_empty=*/true);
        aliases_src_[item.id.empty() ? "?" : item.id] = v;
      } else if (k == "part744_supp2") {
        Bool(v, "part744_supp2", &item.part744_supp2);
      }
    });
    if (!ok) return;
    Missing(s, "items[]", present, {"id", "kind", "classification", "served_from", "service_level"});
    if (item.id.empty()) return;
    if (item.name.empty()) item.name = item.id;
    int index = static_cast<int>(p_->items_.size());
    Name(s, item.id, index);
    for (const auto& a : item.aliases) {
      auto src = aliases_src_.count(item.id) ? aliases_src_[item.id] : s;
      if (a.empty()) Err(src, "aliases: an alias must not be empty");
      else Name(src, a, index);
    }
    item_ids_[item.id] = index;
    p_->items_.push_back(std::move(item));
  }

  void Name(const Src& s, const std::string& name, int index) {
    if (!p_->item_by_name_.emplace(name, index).second)
      Err(s, core::StrCat("items: the name '", name, "' is used by two items (ids and aliases must be unique)"));
  }

  void Classify(const Src& v, const std::string& c, Item* item) {
    item->classification = c;
    if (c == "EAR99") return;
    if (c == "not_subject") {
      item->subject_to_ear = false;
      return;
    }
    // An ECCN, optionally with its paragraph: 5D002, 5D002.c.1, 0A521.
    bool shape = c.size() >= 5 && absl::ascii_isdigit(c[0]) && c[1] >= 'A' && c[1] <= 'E' &&
                 absl::ascii_isdigit(c[2]) && absl::ascii_isdigit(c[3]) && absl::ascii_isdigit(c[4]) &&
                 (c.size() == 5 || c[5] == '.');
    if (!shape) {
      Err(v, core::StrCat("classification: must be EAR99, not_subject or an ECCN such as 4E091 (got '", c, "')"));
      return;
    }
    item->eccn = data_->FindEccn(c.substr(0, 5));
    if (!item->eccn)
      Err(v, core::StrCat("classification: ECCN ", c.substr(0, 5),
                          " is not in data/ear/eccns.csv (add its row with its source first)"));
  }

  void CompileNotice(const Src& s) {
    Notice n;
    std::set<std::string> present;
    bool ok = ForFields(s, "notices[]", {"id", "title", "effective", "expires", "authorities",
                                         "items", "layers", "channels", "destinations", "persons",
                                         "activities", "knowledge", "exceptions_allowed"},
                        [&](const std::string& k, const Src& v) {
      present.insert(k);
      std::string str;
      if (k == "id") CheckId(v, "notice", &notice_ids_, &n.id);
      else if (k == "title") Scalar(v, "title", &n.title);
      else if (k == "effective") Time(v, "effective", &n.effective);
      else if (k == "expires") {
        core::Timestamp t;
        if (Time(v, "expires", &t)) n.expires = t;
      } else if (k == "authorities") n.authorities = Strings(v, "authorities", false);
      else if (k == "items") n.items = ItemRefs(v, "items");
      else if (k == "layers") n.layers = static_cast<LayerMask>(EnumMask<core::Layer>(v, "layers", core::ParseLayer, core::AllowedLayers()));
      else if (k == "channels") n.channels = Channels(v);
      else if (k == "destinations") Dests(v, "destinations", &n.destinations);
      else if (k == "persons") n.persons = PersonsOf(v, "persons");
      else if (k == "activities") n.activities = static_cast<ActivityMask>(EnumMask<core::Activity>(v, "activities", core::ParseActivity, core::AllowedActivities()));
      else if (k == "knowledge") n.knowledge = KnowledgeOf(v, "knowledge");
      else if (k == "exceptions_allowed") {
        if (v.node.IsScalar()) {
          Bool(v, "exceptions_allowed", &n.exceptions_allowed);
        } else {
          std::vector<Src> l;
          if (List(v, "exceptions_allowed", &l)) {
            for (const auto& e : l) {
              auto it = program_ids_.find(e.node.Scalar());
              if (it == program_ids_.end())
                Err(e, core::StrCat("exceptions_allowed: unknown program '", e.node.Scalar(), "'"));
              else
                n.exception_programs.push_back(it->second);
            }
          }
        }
      }
    });
    if (!ok) return;
    Missing(s, "notices[]", present, {"id", "effective", "authorities", "items", "layers", "destinations"});
    if (n.expires && *n.expires <= n.effective) Err(s, "expires: must be after effective");
    p_->notices_.push_back(std::move(n));
  }

  void CompileLicense(const Src& s) {
    License l;
    std::set<std::string> present;
    bool ok = ForFields(s, "licenses[]", {"id", "issuer", "items", "layers", "activities",
                                          "destinations", "end_users", "valid_from", "valid_until",
                                          "conditions"},
                        [&](const std::string& k, const Src& v) {
      present.insert(k);
      if (k == "id") CheckId(v, "license", &license_ids_, &l.id);
      else if (k == "issuer") {
        if (Scalar(v, "issuer", &l.issuer) && l.issuer != "bis" && l.issuer != "ofac")
          Err(v, core::StrCat("issuer: must be bis or ofac (got '", l.issuer, "')"));
      } else if (k == "items") l.items = ItemRefs(v, "items");
      else if (k == "layers") l.layers = static_cast<LayerMask>(EnumMask<core::Layer>(v, "layers", core::ParseLayer, core::AllowedLayers()));
      else if (k == "activities") l.activities = static_cast<ActivityMask>(EnumMask<core::Activity>(v, "activities", core::ParseActivity, core::AllowedActivities()));
      else if (k == "destinations") Dests(v, "destinations", &l.destinations);
      else if (k == "end_users") l.end_users = Strings(v, "end_users", true);
      else if (k == "valid_from") Time(v, "valid_from", &l.valid_from);
      else if (k == "valid_until") {
        core::Timestamp t;
        if (Time(v, "valid_until", &t)) l.valid_until = t;
      } else if (k == "conditions") l.conditions = Strings(v, "conditions", true);
    });
    if (!ok) return;
    Missing(s, "licenses[]", present, {"id", "items", "destinations", "valid_from"});
    if (l.valid_until && *l.valid_until <= l.valid_from) Err(s, "valid_until: must be after valid_from");
    p_->licenses_.push_back(std::move(l));
  }

  void CompileProgram(const Src& s) {
    Program g;
    std::set<std::string> present;
    bool ok = ForFields(s, "programs[]", {"id", "name", "authorities", "items", "layers",
                                          "activities", "destinations", "persons", "valid_from",
                                          "valid_until"},
                        [&](const std::string& k, const Src& v) {
      present.insert(k);
      std::string str;
      if (k == "id") CheckId(v, "program", &program_id_set_, &g.id);
      else if (k == "name") Scalar(v, "name", &g.name);
      else if (k == "authorities") g.authorities = Strings(v, "authorities", false);
      else if (k == "items") g.items = ItemRefs(v, "items");
      else if (k == "layers") g.layers = static_cast<LayerMask>(EnumMask<core::Layer>(v, "layers", core::ParseLayer, core::AllowedLayers()));
      else if (k == "activities") g.activities = static_cast<ActivityMask>(EnumMask<core::Activity>(v, "activities", core::ParseActivity, core::AllowedActivities()));
      else if (k == "destinations") Dests(v, "destinations", &g.destinations);
      else if (k == "persons") {
        if (Scalar(v, "persons", &str)) {
          if (str == "any") g.persons = ProgramPersons::kAny;
          else if (str == "nationals_of_destinations") g.persons = ProgramPersons::kNationalsOfDestinations;
          else Err(v, core::StrCat("persons: must be any or nationals_of_destinations (got '", str, "')"));
        }
      } else if (k == "valid_from") Time(v, "valid_from", &g.valid_from);
      else if (k == "valid_until") {
        core::Timestamp t;
        if (Time(v, "valid_until", &t)) g.valid_until = t;
      }
    });
    if (!ok) return;
    Missing(s, "programs[]", present, {"id", "items", "destinations", "valid_from"});
    if (g.valid_until && *g.valid_until <= g.valid_from) Err(s, "valid_until: must be after valid_from");
    if (g.name.empty()) g.name = g.id;
    if (!g.id.empty()) program_ids_[g.id] = static_cast<int>(p_->programs_.size());
    p_->programs_.push_back(std::move(g));
  }

  void CompileOperatorRule(const Src& s) {
    OperatorRule o;
    std::set<std::string> present;
    bool ok = ForFields(s, "operator_rules[]", {"id", "text", "items", "layers", "channels",
                                                "destinations", "nationalities", "persons",
                                                "effective", "expires"},
                        [&](const std::string& k, const Src& v) {
      present.insert(k);
      if (k == "id") CheckId(v, "operator rule", &operator_ids_, &o.id);
      else if (k == "text") Scalar(v, "text", &o.text);
      else if (k == "items") o.items = ItemRefs(v, "items");
      else if (k == "layers") o.layers = static_cast<LayerMask>(EnumMask<core::Layer>(v, "layers", core::ParseLayer, core::AllowedLayers()));
      else if (k == "channels") o.channels = Channels(v);
      else if (k == "destinations") Dests(v, "destinations", &o.destinations);
      else if (k == "nationalities") {
        Destinations d;
        if (Dests(v, "nationalities", &d, /*allow_worldwide=*/false)) o.nationalities = d.set;
      } else if (k == "persons") o.persons = PersonsOf(v, "persons");
      else if (k == "effective") Time(v, "effective", &o.effective);
      else if (k == "expires") {
        core::Timestamp t;
        if (Time(v, "expires", &t)) o.expires = t;
      }
    });
    if (!ok) return;
    Missing(s, "operator_rules[]", present, {"id"});
    if (!present.count("destinations") && !present.count("nationalities"))
      Err(s, "operator_rules[]: needs destinations (where the person is) or nationalities");
    p_->operator_rules_.push_back(std::move(o));
  }

  ChannelMask Channels(const Src& v) {
    if (v.node.IsScalar() && v.node.Scalar() == "any") return kAllChannels;
    return static_cast<ChannelMask>(EnumMask<core::Channel>(v, "channels", core::ParseChannel,
                                                            core::StrCat("any, ", core::AllowedChannels())));
  }

  Persons PersonsOf(const Src& v, std::string_view field) {
    std::string s;
    if (!Scalar(v, field, &s)) return Persons::kAll;
    if (s == "all") return Persons::kAll;
    if (s == "foreign_persons") return Persons::kForeignPersons;
    Err(v, core::StrCat(field, ": must be all or foreign_persons (got '", s, "')"));
    return Persons::kAll;
  }

  core::KnowledgeSet KnowledgeOf(const Src& v, std::string_view field) {
    std::vector<Src> l;
    core::KnowledgeSet k = 0;
    if (!List(v, field, &l, /*allow_empty=*/true)) return 0;
    for (const auto& e : l) {
      auto kn = core::ParseKnowledge(e.node.Scalar());
      if (!kn) Err(e, core::StrCat(field, ": unknown knowledge '", e.node.Scalar(), "' (allowed: ", core::AllowedKnowledge(), ")"));
      else k |= core::Bit(*kn);
    }
    return k;
  }

  void Index() {
    size_t n = p_->items_.size();
    p_->notices_by_item_.assign(n, {});
    p_->licenses_by_item_.assign(n, {});
    p_->programs_by_item_.assign(n, {});
    for (size_t i = 0; i < p_->notices_.size(); ++i)
      for (int it : p_->notices_[i].items) p_->notices_by_item_[it].push_back(static_cast<uint16_t>(i));
    for (size_t i = 0; i < p_->licenses_.size(); ++i)
      for (int it : p_->licenses_[i].items) p_->licenses_by_item_[it].push_back(static_cast<uint16_t>(i));
    for (size_t i = 0; i < p_->programs_.size(); ++i)
      for (int it : p_->programs_[i].items) p_->programs_by_item_[it].push_back(static_cast<uint16_t>(i));
  }

  // ---- canonical form and version -------------------------------------------------------------
  void Canonicalize();

  std::shared_ptr<const EarData> data_;
  std::unique_ptr<PolicySnapshot> p_;
  std::vector<Error> errors_;
  std::vector<std::unique_ptr<std::string>> files_;
  std::vector<std::string> include_stack_;
  std::map<std::string, std::vector<Src>> sections_;
  std::set<std::string> section_seen_;
  std::map<std::string, Src> root_;
  std::map<std::string, Src> aliases_src_;
  std::map<std::string, int> item_ids_;
  std::map<std::string, int> program_ids_;
  std::set<std::string> item_id_set_, notice_ids_, license_ids_, program_id_set_, operator_ids_;
  bool has_version_ = false;
  bool fatal_ = false;
  std::optional<Src> items_src_;
};

namespace {

using core::AppendJsonString;

void Key(std::string* o, std::string_view k) {
  if (o->back() != '{') o->push_back(',');
  AppendJsonString(k, o);
  o->push_back(':');
}
void Str(std::string* o, std::string_view k, std::string_view v) {
  Key(o, k);
  AppendJsonString(v, o);
}
void Strs(std::string* o, std::string_view k, const std::vector<std::string>& v) {
  Key(o, k);
  o->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) o->push_back(',');
    AppendJsonString(v[i], o);
  }
  o->push_back(']');
}
template <typename E>
void Mask(std::string* o, std::string_view k, uint32_t mask, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i)
    if (mask & (1u << i)) names.emplace_back(core::Name(static_cast<E>(i)));
  Strs(o, k, names);
}
void TimeField(std::string* o, std::string_view k, core::Timestamp t) { Str(o, k, core::FormatTime(t)); }
void Dest(std::string* o, std::string_view k, const Destinations& d) {
  std::vector<std::string> w = d.written;
  std::sort(w.begin(), w.end());
  w.erase(std::unique(w.begin(), w.end()), w.end());
  Strs(o, k, w);
}
std::vector<std::string> ItemIds(const PolicySnapshot& p, const std::vector<int>& items) {
  std::vector<std::string> ids;
  for (int i : items) ids.push_back(p.items()[i].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}
template <typename T>
std::vector<const T*> ById(const std::vector<T>& v) {
  std::vector<const T*> out;
  for (const auto& x : v) out.push_back(&x);
  std::sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->id < b->id; });
  return out;
}

}  // namespace

// The canonical form: JSON, keys in fixed order, list sections sorted by id, defaults filled
// in, includes resolved. Two policy files that mean the same thing have the same form.
void PolicyCompiler::Canonicalize() {
  const PolicySnapshot& p = *p_;
  std::string o = "{";
  Str(&o, "version", "1");
  Str(&o, "remote_access", core::Name(p.remote_access_));
  Mask<core::ServiceLevel>(&o, "remote_access_scope", p.remote_access_scope_, 3);
  Key(&o, "uncertain");
  o += "{";
  const auto& u = p.uncertain_;
  Str(&o, "anonymizer", core::Name(u.anonymizer));
  Str(&o, "destination_unmapped", core::Name(u.destination_unmapped));
  Str(&o, "location_mismatch", core::Name(u.location_mismatch));
  Str(&o, "location_unknown", core::Name(u.location_unknown));
  Str(&o, "nationality_unknown", core::Name(u.nationality_unknown));
  Str(&o, "screening_potential_match", core::Name(u.screening_potential_match));
  Str(&o, "us_person_unknown", core::Name(u.us_person_unknown));
  o += "}";
  Key(&o, "items");
  o += "[";
  for (const Item* it : ById(p.items_)) {
    if (o.back() != '[') o += ",";
    o += "{";
    Str(&o, "id", it->id);
    Str(&o, "name", it->name);
    Str(&o, "kind", core::Name(it->kind));
    Str(&o, "classification", it->classification);
    std::vector<std::string> sf;
    for (Country c : it->served_from) sf.push_back(c.code());
    Strs(&o, "served_from", sf);
    Str(&o, "service_level", core::Name(it->service_level));
    std::vector<std::string> al = it->aliases;
    std::sort(al.begin(), al.end());
    Strs(&o, "aliases", al);
    Str(&o, "part744_supp2", it->part744_supp2 ? "true" : "false");
    o += "}";
  }
  o += "]";
  Key(&o, "notices");
  o += "[";
  for (const Notice* n : ById(p.notices_)) {
    if (o.back() != '[') o += ",";
    o += "{";
    Str(&o, "id", n->id);
    Str(&o, "title", n->title);
    TimeField(&o, "effective", n->effective);
    if (n->expires) TimeField(&o, "expires", *n->expires);
    Strs(&o, "authorities", n->authorities);
    Strs(&o, "items", ItemIds(p, n->items));
    Mask<core::Layer>(&o, "layers", n->layers, core::kLayerCount);
    Mask<core::Channel>(&o, "channels", n->channels, core::kChannelCount);
    Dest(&o, "destinations", n->destinations);
    Str(&o, "persons", n->persons == Persons::kAll ? "all" : "foreign_persons");
    Mask<core::Activity>(&o, "activities", n->activities, core::kActivityCount);
    Mask<core::Knowledge>(&o, "knowledge", n->knowledge, core::kKnowledgeCount);
    if (!n->exception_programs.empty()) {
      std::vector<std::string> ids;
      for (int g : n->exception_programs) ids.push_back(p.programs_[g].id);
      std::sort(ids.begin(), ids.end());
      Strs(&o, "exceptions_allowed", ids);
    } else {
      Str(&o, "exceptions_allowed", n->exceptions_allowed ? "true" : "false");
    }
    o += "}";
  }
  o += "]";
  Key(&o, "licenses");
  o += "[";
  for (const License* l : ById(p.licenses_)) {
    if (o.back() != '[') o += ",";
    o += "{";
    Str(&o, "id", l->id);
    Str(&o, "issuer", l->issuer);
    Strs(&o, "items", ItemIds(p, l->items));
    Mask<core::Layer>(&o, "layers", l->layers, core::kLayerCount);
    Mask<core::Activity>(&o, "activities", l->activities, core::kActivityCount);
    Dest(&o, "destinations", l->destinations);
    std::vector<std::string> eu = l->end_users;
    std::sort(eu.begin(), eu.end());
    Strs(&o, "end_users", eu);
    TimeField(&o, "valid_from", l->valid_from);
    if (l->valid_until) TimeField(&o, "valid_until", *l->valid_until);
    Strs(&o, "conditions", l->conditions);
    o += "}";
  }
  o += "]";
  Key(&o, "programs");
  o += "[";
  for (const Program* g : ById(p.programs_)) {
    if (o.back() != '[') o += ",";
    o += "{";
    Str(&o, "id", g->id);
    Str(&o, "name", g->name);
    Strs(&o, "authorities", g->authorities);
    Strs(&o, "items", ItemIds(p, g->items));
    Mask<core::Layer>(&o, "layers", g->layers, core::kLayerCount);
    Mask<core::Activity>(&o, "activities", g->activities, core::kActivityCount);
    Dest(&o, "destinations", g->destinations);
    Str(&o, "persons", g->persons == ProgramPersons::kAny ? "any" : "nationals_of_destinations");
    TimeField(&o, "valid_from", g->valid_from);
    if (g->valid_until) TimeField(&o, "valid_until", *g->valid_until);
    o += "}";
  }
  o += "]";
  Key(&o, "operator_rules");
  o += "[";
  for (const OperatorRule* r : ById(p.operator_rules_)) {
    if (o.back() != '[') o += ",";
    o += "{";
    Str(&o, "id", r->id);
    Str(&o, "text", r->text);
    Strs(&o, "items", ItemIds(p, r->items));
    Mask<core::Layer>(&o, "layers", r->layers, core::kLayerCount);
    Mask<core::Channel>(&o, "channels", r->channels, core::kChannelCount);
    Dest(&o, "destinations", r->destinations);
    std::vector<std::string> nat;
    r->nationalities.ForEach([&](Country c) { nat.push_back(c.code()); });
    Strs(&o, "nationalities", nat);
    Str(&o, "persons", r->persons == Persons::kAll ? "all" : "foreign_persons");
    TimeField(&o, "effective", r->effective);
    if (r->expires) TimeField(&o, "expires", *r->expires);
    o += "}";
  }
  o += "]}";
  p_->canonical_ = std::move(o);
  core::Sha256 h;
  h.Update(p_->canonical_);
  h.Update("\n");
  h.Update(data_->fingerprint());
  p_->version_ = "sha256:" + core::HexEncode(h.Finish());
}

int PolicySnapshot::FindItem(std::string_view id_or_alias) const {
  auto it = item_by_name_.find(absl::string_view(id_or_alias.data(), id_or_alias.size()));
  return it == item_by_name_.end() ? -1 : it->second;
}

absl::StatusOr<PolicyPtr> LoadPolicyFromString(std::string_view yaml, const std::string& path,
                                               std::shared_ptr<const EarData> data) {
  return PolicyCompiler(std::move(data)).Compile(yaml, path);
}

absl::StatusOr<PolicyPtr> LoadPolicy(const std::string& path, std::shared_ptr<const EarData> data) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return absl::InvalidArgumentError(std::string(text.status().message()));
  return LoadPolicyFromString(*text, path, std::move(data));
}

}  // namespace eargate::rules
