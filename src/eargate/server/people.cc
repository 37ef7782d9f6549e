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

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::Build(
    std::string path, std::vector<wire::PersonRecord> records, const Screening& screening) {
  auto reg = std::make_shared<PeopleRegistry>();
  reg->path_ = std::move(path);
  if (screening.index) {
    // person id -> (list code, entry id) -> fingerprint the reviewer cleared.
    absl::flat_hash_map<std::string, std::vector<const store::ScreeningDisposition*>> cleared;
    for (const auto& d : screening.dispositions) cleared[d.person_id].push_back(&d);
    const ScreenMemo* old = screening.previous ? screening.previous->memo_.get() : nullptr;
    if (old && old->index != screening.index) old = nullptr;
    auto memo = std::make_shared<ScreenMemo>();
    memo->index = screening.index;
    memo->by_id.reserve(records.size());
    // Each person's screening key and matches: reused from the previous registry when the
    // name, kind and first citizenship are unchanged; otherwise screened anew (in parallel).
    std::vector<std::string> keys(records.size());
    std::vector<std::vector<screen::Match>> matches(records.size());
    std::vector<size_t> anew;
    for (size_t i = 0; i < records.size(); ++i) {
      const core::Person& p = records[i].person;
      keys[i] = core::StrCat(p.name, "\x1f", core::Name(p.kind), "\x1f",
                             p.citizenships.empty() ? "" : p.citizenships.front().country.code());
      if (old) {
        auto it = old->by_id.find(p.id);
        if (it != old->by_id.end() && it->second.first == keys[i]) {
          matches[i] = it->second.second;
          continue;
        }
      }
      anew.push_back(i);
    }
    reg->screened_anew_ = anew.size();
    size_t workers = std::clamp<size_t>(screening.threads < 1 ? 1 : static_cast<size_t>(screening.threads), 1,
                                        std::max<size_t>(1, anew.size() / 256));
    auto screen_range = [&](size_t w) {
      for (size_t k = anew.size() * w / workers; k < anew.size() * (w + 1) / workers; ++k)
        matches[anew[k]] = ScreenPerson(records[anew[k]].person, screening);
    };
    std::vector<std::thread> pool;
    for (size_t w = 1; w < workers; ++w) pool.emplace_back(screen_range, w);
    screen_range(0);
    for (auto& t : pool) t.join();
    for (size_t i = 0; i < records.size(); ++i) {
      core::Person& p = records[i].person;
      memo->by_id.emplace(p.id, std::make_pair(std::move(keys[i]), matches[i]));
      std::vector<screen::Match>& m = matches[i];
      if (m.empty()) continue;
      if (auto it = cleared.find(p.id); it != cleared.end()) {
        std::erase_if(m, [&](const screen::Match& match) {
          for (const store::ScreeningDisposition* d : it->second) {
            if (d->list == match.entry->list && d->entry_id == match.entry->source_id &&
                d->entry_fingerprint == screen::EntryFingerprint(*match.entry)) {
              ++reg->hits_cleared_;
              return true;
            }
          }
          return false;
        });
      }
      auto hits = screen::ToScreeningHits(m, screening.bands);
      if (hits.empty()) continue;
      ++reg->screened_with_hits_;
      for (auto& h : hits) p.screening.push_back(std::move(h));
      // The hits in the form the reload reports compare (screen::DiffHits).
      for (const screen::Match& match : m) {
        if (match.score < screening.bands.potential || match.entry == nullptr) continue;
        reg->hits_.push_back(screen::ToPartyHit(p.id, match, screening.bands));
      }
    }
    reg->memo_ = std::move(memo);
  }
  auto file = wire::PeopleFile::FromRecords(std::move(records));
  if (!file.ok()) return file.status();
  reg->file_ = std::move(*file);
  return std::shared_ptr<const PeopleRegistry>(std::move(reg));
}

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::Load(
    const std::string& path, const rules::EarData& data, const Screening& screening) {
  auto file = wire::PeopleFile::Load(path, data);
  if (!file.ok()) return file.status();
  if (!screening.index) {
    auto reg = std::make_shared<PeopleRegistry>();
    reg->path_ = path;
    reg->file_ = std::move(*file);
    return std::shared_ptr<const PeopleRegistry>(std::move(reg));
  }
  return Build(path, (*file)->records(), screening);
}

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::FromStore(
    store::Store& st, const Screening& screening) {
  auto records = store::RegistryRecords(st);
  if (!records.ok()) return records.status();
  return Build("", std::move(*records), screening);
}

const core::Person* PeopleRegistry::FindByKey(std::string_view api_key) const {
  if (api_key.empty() || !file_) return nullptr;
  const wire::PersonRecord* r = file_->FindByKeyHash(KeyHash(api_key));
  return r ? &r->person : nullptr;
}

const core::Person* PeopleRegistry::FindByKeyHash(std::string_view sha256_hex) const {
  if (!file_) return nullptr;
  const wire::PersonRecord* r = file_->FindByKeyHash(sha256_hex);
  return r ? &r->person : nullptr;
}

const core::Person* PeopleRegistry::FindById(std::string_view id) const {
  if (!file_) return nullptr;
  const wire::PersonRecord* r = file_->FindRecord(id);
  return r ? &r->person : nullptr;
}

bool PeopleRegistry::Find(std::string_view id, core::Person* out) const {
  const core::Person* p = FindById(id);
  if (!p) return false;
  *out = *p;
  return true;
}

}  // namespace eargate::server
