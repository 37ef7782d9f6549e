#include "eargate/server/people.h"

#include <openssl/sha.h>

#include "eargate/core/sha256.h"

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

absl::StatusOr<std::shared_ptr<const PeopleRegistry>> PeopleRegistry::Load(
    const std::string& path, const rules::EarData& data, const Screening& screening) {
  auto file = wire::PeopleFile::Load(path, data);
  if (!file.ok()) return file.status();
  auto reg = std::make_shared<PeopleRegistry>();
  reg->path_ = path;
  if (screening.index) {
    std::vector<wire::PersonRecord> records = (*file)->records();
    std::vector<screen::Party> parties;
    parties.reserve(records.size());
    for (const auto& r : records) {
      const core::Person& p = r.person;
      screen::Party party;
      party.id = p.id;
      party.name = p.name;  // nameless records are skipped by ScreenParties
      party.type = p.kind == core::PersonKind::kOrganization ? screen::EntityType::kOrganization
                                                              : screen::EntityType::kPerson;
      if (!p.citizenships.empty()) party.country = p.citizenships.front().country;
      parties.push_back(std::move(party));
    }
    reg->hits_ = screen::ScreenParties(*screening.index, parties, screening.bands, screening.threads);
    // Hits are grouped by party in record order.
    size_t h = 0;
    for (size_t i = 0; i < records.size() && h < reg->hits_.size(); ++i) {
      if (reg->hits_[h].party_id != parties[i].id) continue;
      ++reg->screened_with_hits_;
      for (; h < reg->hits_.size() && reg->hits_[h].party_id == parties[i].id; ++h) {
        records[i].person.screening.push_back(screen::ToScreeningHit(reg->hits_[h]));
      }
    }
    auto screened = wire::PeopleFile::FromRecords(std::move(records));
    if (!screened.ok()) return screened.status();
    reg->file_ = std::move(*screened);
  } else {
    reg->file_ = std::move(*file);
  }
  return std::shared_ptr<const PeopleRegistry>(std::move(reg));
}

const core::Person* PeopleRegistry::FindByKey(std::string_view api_key) const {
  if (api_key.empty() || !file_) return nullptr;
  const wire::PersonRecord* r = file_->FindByKeyHash(KeyHash(api_key));
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
