#include "eargate/server/people.h"

#include <openssl/sha.h>

#include <algorithm>
#include <thread>

#include "eargate/core/sha256.h"
#include "eargate/core/strings.h"
#include "eargate/screen/fingerprint.h"
#include "eargate/store/people_io.h"

namespace eargate::server {

// One hash per request on the hot path: OpenSSL's one-shot SHA256() avoids the EVP context
// allocation and algorithm fetch of core::Sha256 (measurably cheaper under load).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::string PeopleRegistry::KeyHash(std::string_view api_key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(api_key.data()), api_key.size(), digest);
  return core::HexEncode(digest, sizeof(digest));
}
#pragma GCC diagnostic pop

std::vector<screen::Match> ScreenPerson(const core::Person& p, const RegistryScreening& screening) {
  if (!screening.index || p.name.empty()) return {};
  screen::ScreenQuery q;
  q.name = p.name;
  q.type = p.kind == core::PersonKind::kOrganization ? screen::EntityType::kOrganization
                                                      : screen::EntityType::kPerson;
  if (!p.citizenships.empty()) q.country = p.citizenships.front().country;
  screen::ScreenOptions options;
  options.threshold = screening.bands.potential;
  return screening.index->Screen(q, options);
}

namespace {

std::string ScreenKey(const core::Person& p) {
  return core::StrCat(p.name, "\x1f", core::Name(p.kind), "\x1f",
                      p.citizenships.empty() ? "" : p.citizenships.front().country.code());
}

}  // namespace

std::vector<PeopleRegistry::EntryPtr> PeopleRegistry::MakeEntries(
    std::vector<wire::PersonRecord> records, const Screening& screening,
    const PeopleRegistry* reuse, size_t* screened_anew) {
  std::vector<std::shared_ptr<Entry>> made(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    made[i] = std::make_shared<Entry>();
    made[i]->record = std::move(records[i]);
  }
  if (screening.index) {
    if (reuse && reuse->index_ != screening.index) reuse = nullptr;
    // person id -> (list code, entry id) -> fingerprint the reviewer cleared.
    absl::flat_hash_map<std::string, std::vector<const store::ScreeningDisposition*>> cleared;
    for (const auto& d : screening.dispositions) cleared[d.person_id].push_back(&d);
    // Each person's screening key and matches: reused when the name, kind and first
    // citizenship are unchanged; otherwise screened anew (in parallel).
    std::vector<size_t> anew;
    for (size_t i = 0; i < made.size(); ++i) {
      Entry& e = *made[i];
      e.screen_key = ScreenKey(e.record.person);
      if (reuse) {
        auto it = reuse->by_id_.find(std::string_view(e.record.person.id));
        if (it != reuse->by_id_.end() && it->second->screen_key == e.screen_key) {
          e.matches = it->second->matches;
          continue;
        }
      }
      anew.push_back(i);
    }
    *screened_anew = anew.size();
    size_t workers = std::clamp<size_t>(screening.threads < 1 ? 1 : static_cast<size_t>(screening.threads), 1,
                                        std::max<size_t>(1, anew.size() / 256));
    auto screen_range = [&](size_t w) {
      for (size_t k = anew.size() * w / workers; k < anew.size() * (w + 1) / workers; ++k)
        made[anew[k]]->matches = ScreenPerson(made[anew[k]]->record.person, screening);
    };
    std::vector<std::thread> pool;
    for (size_t w = 1; w < workers; ++w) pool.emplace_back(screen_range, w);
    screen_range(0);
    for (auto& t : pool) t.join();
    for (auto& entry : made) {
      Entry& e = *entry;
      core::Person& p = e.record.person;
      if (e.matches.empty()) continue;
      std::vector<screen::Match> m = e.matches;
      if (auto it = cleared.find(p.id); it != cleared.end()) {
        std::erase_if(m, [&](const screen::Match& match) {
          for (const store::ScreeningDisposition* d : it->second) {
            if (d->list == match.entry->list && d->entry_id == match.entry->source_id &&
                d->entry_fingerprint == screen::EntryFingerprint(*match.entry)) {
              ++e.cleared;
              return true;
            }
          }
          return false;
        });
      }
      auto hits = screen::ToScreeningHits(m, screening.bands);
      if (hits.empty()) continue;
      for (auto& h : hits) p.screening.push_back(std::move(h));
      // The hits in the form the reload reports compare (screen::DiffHits).
      for (const screen::Match& match : m) {
        if (match.score < screening.bands.potential || match.entry == nullptr) continue;
        e.hits.push_back(screen::ToPartyHit(p.id, match, screening.bands));
      }
    }
  }
  return std::vector<EntryPtr>(made.begin(), made.end());
}

absl::Status PeopleRegistry::AddToMaps(const Entry* e) {
  const wire::PersonRecord& rec = e->record;
  if (!by_id_.emplace(std::string_view(rec.person.id), e).second)
    return absl::InvalidArgumentError(core::StrCat("id: duplicate person '", rec.person.id, "'"));
  for (const auto& k : rec.api_keys_sha256)
    if (!by_key_.emplace(std::string_view(k), e).second)
      return absl::InvalidArgumentError(
          core::StrCat("api_key_sha256: key of '", rec.person.id, "' already belongs to another person"));
  return absl::OkStatus();
}

void PeopleRegistry::Tally() {
  hits_.clear();
  screened_with_hits_ = 0;
  hits_cleared_ = 0;
  for (const EntryPtr& e : entries_) {
    hits_cleared_ += e->cleared;
    if (e->record.person.screening.empty()) continue;
    ++screened_with_hits_;
    hits_.insert(hits_.end(), e->hits.begin(), e->hits.end());
  }
}

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::Build(
    std::string path, std::vector<wire::PersonRecord> records, const Screening& screening) {
  auto reg = std::make_shared<PeopleRegistry>();
  reg->path_ = std::move(path);
  reg->index_ = screening.index;
  reg->entries_ = MakeEntries(std::move(records), screening, screening.previous, &reg->screened_anew_);
  reg->by_id_.reserve(reg->entries_.size());
  reg->by_key_.reserve(reg->entries_.size());
  for (const EntryPtr& e : reg->entries_) {
    absl::Status s = reg->AddToMaps(e.get());
    if (!s.ok()) return s;
  }
  reg->Tally();
  return std::shared_ptr<const PeopleRegistry>(std::move(reg));
}

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::Update(
    const PeopleRegistry& base, std::vector<wire::PersonRecord> changed,
    const std::vector<std::string>& removed, const Screening& screening) {
  if (screening.index != base.index_)
    return absl::FailedPreconditionError("registry update: screened with other lists than the base");
  auto reg = std::make_shared<PeopleRegistry>();
  reg->path_ = base.path_;
  reg->index_ = base.index_;
  std::vector<EntryPtr> fresh = MakeEntries(std::move(changed), screening, &base, &reg->screened_anew_);
  // The base entries that leave (removed or replaced), found through base's id map; the one
  // pass over the shared entries below compares pointers only.
  absl::flat_hash_map<const Entry*, const EntryPtr*> leaving;  // base entry -> its replacement
  for (const EntryPtr& f : fresh) {
    auto it = base.by_id_.find(std::string_view(f->record.person.id));
    if (it != base.by_id_.end()) leaving[it->second] = &f;
  }
  for (const std::string& id : removed) {
    auto it = base.by_id_.find(std::string_view(id));
    if (it != base.by_id_.end()) leaving.emplace(it->second, nullptr);  // a replacement wins
  }
  reg->by_id_ = base.by_id_;
  reg->by_key_ = base.by_key_;
  for (const auto& [old, replacement] : leaving) {
    reg->by_id_.erase(std::string_view(old->record.person.id));
    for (const auto& k : old->record.api_keys_sha256) reg->by_key_.erase(std::string_view(k));
  }
  // Shared entries (a copy of pointers), replaced in place, dropped, or added in id order.
  reg->entries_.reserve(base.entries_.size() + fresh.size());
  absl::flat_hash_map<const Entry*, bool> placed;
  for (const EntryPtr& e : base.entries_) {
    auto it = leaving.empty() ? leaving.end() : leaving.find(e.get());
    if (it == leaving.end()) {
      reg->entries_.push_back(e);
    } else if (it->second != nullptr) {
      reg->entries_.push_back(*it->second);
      placed.emplace(it->second->get(), true);
    }
  }
  for (const EntryPtr& f : fresh) {
    if (placed.contains(f.get())) continue;
    auto at = std::lower_bound(reg->entries_.begin(), reg->entries_.end(), f->record.person.id,
                               [](const EntryPtr& a, const std::string& id) { return a->record.person.id < id; });
    reg->entries_.insert(at, f);
  }
  for (const EntryPtr& f : fresh) {
    absl::Status s = reg->AddToMaps(f.get());
    if (!s.ok()) return s;
  }
  // The hit tallies: base's, unless an entry that leaves or comes has hits or cleared ones.
  auto has_hits = [](const Entry& e) {
    return !e.record.person.screening.empty() || !e.hits.empty() || e.cleared > 0;
  };
  bool touched = false;
  for (const EntryPtr& f : fresh) touched = touched || has_hits(*f);
  for (const auto& [old, replacement] : leaving) touched = touched || has_hits(*old);
  if (touched) {
    reg->Tally();
  } else {
    reg->hits_ = base.hits_;
    reg->screened_with_hits_ = base.screened_with_hits_;
    reg->hits_cleared_ = base.hits_cleared_;
  }
  return std::shared_ptr<const PeopleRegistry>(std::move(reg));
}

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::Load(
    const std::string& path, const rules::EarData& data, const Screening& screening) {
  auto file = wire::PeopleFile::Load(path, data);
  if (!file.ok()) return file.status();
  return Build(path, (*file)->records(), screening);
}

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::FromStore(
    store::Store& st, const Screening& screening) {
  auto records = store::RegistryRecords(st);
  if (!records.ok()) return records.status();
  return Build("", std::move(*records), screening);
}

const core::Person* PeopleRegistry::FindByKey(std::string_view api_key) const {
  if (api_key.empty()) return nullptr;
  return FindByKeyHash(KeyHash(api_key));
}

const core::Person* PeopleRegistry::FindByKeyHash(std::string_view sha256_hex) const {
  auto it = by_key_.find(sha256_hex);
  return it == by_key_.end() ? nullptr : &it->second->record.person;
}

const core::Person* PeopleRegistry::FindById(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second->record.person;
}

bool PeopleRegistry::Find(std::string_view id, core::Person* out) const {
  const core::Person* p = FindById(id);
  if (!p) return false;
  *out = *p;
  return true;
}

}  // namespace eargate::server
